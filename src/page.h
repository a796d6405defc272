/* page: the HTML pages the page responder serves, routed by method and path.
 * No I/O: the result is a complete CGI response (head and body) in a buf. */
#ifndef SSELIGHT_PAGE_H
#define SSELIGHT_PAGE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "http.h"

/* Appends the whole response for a request. Pages (full HTML documents,
 * each with the site's <nav>):
 *   /            Example 1 (the seed's page)
 *   /example2    Example 2: a button starts the stream
 *   /trigger     hx-trigger="sse:tick" makes an element GET /trigger/fragment
 *   /close       sse-close: a countdown that closes its stream
 *   /dashboard   several event names on one connection
 *   /room        live room: messages from /events/room, a form that posts
 *   /status      the instance's live numbers (the caller checks access)
 * Fragments (no <html>, text/html, Cache-Control: no-store):
 *   /example2/start     the SSE element Example 2's button swaps in
 *   /trigger/fragment   what /trigger's tick-triggered GET fetches
 * Unknown paths get a 404 HTML page (POST /room/messages is the caller's, and
 * is not routed here). A method other than GET or HEAD on a known path gets
 * 405 with Allow. HEAD gets the head only. path may be NULL (no usable
 * REQUEST_URI): 400. Returns the status code. /trigger/fragment reads the
 * clock and counts its requests in a per-process counter. */
int page_respond(struct buf *out, enum http_method method, const char *path);

/* The body of /trigger/fragment (no head): "<p>Fetched from the page
 * responder at HH:MM:SS UTC (request #n of this process)</p>\n", with the
 * time of day of now in UTC. */
void page_append_trigger_fragment(struct buf *out, time_t now, unsigned long n);

/* Puts prefix (valid by http_prefix_valid; "" does nothing) in front of
 * every root-relative URL of the HTML in out: the values of href, src,
 * action, hx-get, hx-post and sse-connect that start with '/'. Text that
 * came from users is escaped (no '"' in it), so only our markup matches. */
void page_prefix_urls(struct buf *out, const char *prefix);

#define PAGE_FORM_KEY_LEN 32 /* hex digits of a room form's key */

/* The live room's channel. Its events are HTML fragments that the room page
 * swaps in as they are, so only the page responder (which escapes the text)
 * writes it: POST /events/room is refused. */
#define PAGE_ROOM_CHANNEL "room"

/* The live room's form, as HTML (no head): <form id="room-form"
 * hx-post="/room/messages" hx-target="this" hx-swap="outerHTML"> with an
 * input named "text" (maxlength 500, required), a hidden input "key" and a
 * submit button. error (NULL for none) is shown above the input; text (NULL
 * or "" for none) is the input's value. key is the idempotency key the post
 * carries (a form sent twice is published once): NULL for a new random one,
 * or the key of the post being answered, when it was not published and
 * may be sent again. All three are HTML-escaped. */
void page_append_room_form(struct buf *out, const char *error, const char *text,
                           const char *key);

/* One live-room message, as HTML (no head): <div class="room-msg"><time>
 * HH:MM:SS</time> <span>TEXT</span></div>. text (len bytes) and
 * when_utc_hhmmss are HTML-escaped. No newline at the end, so the result can
 * be used as SSE data as it is. */
void page_append_room_message(struct buf *out, const char *text, size_t len,
                              const char *when_utc_hhmmss);

#endif
