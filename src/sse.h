/* sse: Server-Sent Events framing into a buf (WHATWG HTML, "Server-sent
 * events"). No I/O. Callers decide what the fields mean. */
#ifndef SSELIGHT_SSE_H
#define SSELIGHT_SSE_H

#include <stddef.h>

#include "buf.h"

/* 1 if s (n bytes) can be an event: or id: value: no CR, LF or NUL, which
 * would end the field early and let the rest inject new fields. */
int sse_field_valid(const char *s, size_t n);

/* Appends one event: "event: NAME\n" (omitted when event is NULL or ""),
 * "id: ID\n" (omitted when id is NULL), one "data: LINE\n" per line of data
 * (lines split at CRLF, CR or LF, so the client joins them back with LF),
 * then the blank line that dispatches it. Empty data still gives one
 * "data: \n" line, so the event is dispatched with empty data.
 * Returns 0, or -1 with nothing appended when event or id is not valid. */
int sse_append_event(struct buf *out, const char *event, const char *id,
                     const char *data, size_t len);

/* Appends a comment (": text\n", one per line of text) and a blank line.
 * Clients ignore it; it keeps proxies and idle timers from closing. */
void sse_append_comment(struct buf *out, const char *text);

/* Appends "retry: MS\n\n": the client's reconnection delay. */
void sse_append_retry(struct buf *out, unsigned ms);

/* Called by sse_parse for each event: name ("message" when the event had
 * no event: line) and the data (lines joined with LF). Return 0 to go on. */
typedef int sse_event_fn(const char *name, const char *data, size_t len,
                         void *arg);

/* Reads text in the event-stream format (the body of a batch publish):
 * lines end in CRLF, CR or LF; "event:" names the event, "data:" lines are
 * joined with LF, ":" lines are comments, other fields are ignored, one
 * space after the colon is dropped, a blank line ends an event. An event
 * without data: lines is skipped; the last event needs no blank line.
 * A name longer than 64 bytes is passed as its first 65, so a check for
 * "at most 64" refuses it instead of accepting a cut name; a NUL ends a
 * name (callers refuse NUL bytes in the text before parsing it).
 * Returns the number of events passed to fn, or -1 if fn stopped it. */
long sse_parse(const char *s, size_t n, sse_event_fn *fn, void *arg);

#endif
