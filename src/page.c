/* page: HTML rendering for the page responder. See page.h. */
#include "page.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "html.h"

/* ---- the document frame ------------------------------------------------ */

/* Scripts come from our own origin (copied from the pinned npm packages at
 * build time), so the pages work with no internet access. No page has an
 * inline script or an hx-on attribute. */
static const char page_head_start[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";

static const char page_head_assets[] =
    "<link rel=\"stylesheet\" href=\"/assets/style.css\">\n"
    "<script src=\"/vendor/htmx.min.js\"></script>\n"
    /* Before the extension, which then uses its htmx.createEventSource:
     * pages resume by event id after the extension reconnects. */
    "<script src=\"/assets/sse-resume.js\"></script>\n"
    "<script src=\"/vendor/sse.min.js\"></script>\n";

/* htmx settings every page carries, so it runs under the pages' Content-
 * Security-Policy (script-src 'self', style-src 'self', see http.h): no
 * inline <style> for indicators, no eval, no <script> run from swapped
 * content, requests to this origin only. htmx reads the meta tag when the
 * document is ready. The single-quoted attribute value holds the JSON's
 * double quotes as they are. */
#define PAGE_HTMX_SAFE \
    "\"includeIndicatorStyles\":false,\"allowEval\":false," \
    "\"allowScriptTags\":false,\"selfRequestsOnly\":true"

static const char page_config[] =
    "<meta name=\"htmx-config\" content='{" PAGE_HTMX_SAFE "}'>\n";

/* htmx 2 does not swap 4xx responses by default. The live room's form
 * handler answers 422 with the form and its error, so /room also tells htmx
 * to swap 422; the other entries are htmx 2.0's defaults. */
static const char page_room_config[] =
    "<meta name=\"htmx-config\" content='{" PAGE_HTMX_SAFE ","
    "\"responseHandling\":["
    "{\"code\":\"204\",\"swap\":false},"
    "{\"code\":\"[23]..\",\"swap\":true},"
    "{\"code\":\"422\",\"swap\":true},"
    "{\"code\":\"[45]..\",\"swap\":false,\"error\":true}]}'>\n";

static const struct page_nav_item {
    const char *href;
    const char *label;
} page_nav[] = {
    { "/",          "Example 1" },
    { "/example2",  "Example 2" },
    { "/trigger",   "hx-trigger" },
    { "/close",     "sse-close" },
    { "/dashboard", "Dashboard" },
    { "/room",      "Live room" },
};

static void page_append_nav(struct buf *out, const char *current)
{
    buf_append_str(out, "<nav class=\"site-nav\" aria-label=\"Examples\">\n"
                        "<ul>\n");
    for (size_t i = 0; i < sizeof page_nav / sizeof page_nav[0]; i++) {
        int here = current && strcmp(current, page_nav[i].href) == 0;
        buf_appendf(out, "<li><a href=\"%s\"%s>%s</a></li>\n", page_nav[i].href,
                    here ? " aria-current=\"page\"" : "", page_nav[i].label);
    }
    buf_append_str(out, "</ul>\n</nav>\n");
}

/* Appends the head of an HTML response; returns 1 when a body should follow
 * (not for HEAD). */
static int page_begin_response(struct buf *out, enum http_method method,
                               int status, const char *cache_control)
{
    http_begin_html_head(out, status);
    buf_appendf(out, "Cache-Control: %s\r\n", cache_control);
    http_end_head(out);
    return method != HTTP_HEAD;
}

/* Appends the response head and, unless HEAD, the document up to and
 * including "<main>\n": head, title, nav. title is trusted text (a literal).
 * htmx_config is the page's htmx-config meta tag, NULL for page_config.
 * Returns 1 when the caller should append the main content and then
 * page_end_document. */
static int page_begin_document(struct buf *out, enum http_method method,
                               int status, const char *cache_control,
                               const char *title, const char *htmx_config,
                               const char *nav_current)
{
    if (!page_begin_response(out, method, status, cache_control))
        return 0;
    buf_append_str(out, page_head_start);
    /* Every document has one htmx config, so htmx keeps inside the CSP. */
    buf_append_str(out, htmx_config ? htmx_config : page_config);
    buf_append_str(out, page_head_assets);
    buf_appendf(out, "<title>%s · sselight</title>\n</head>\n<body>\n", title);
    page_append_nav(out, nav_current);
    buf_append_str(out, "<main>\n");
    return 1;
}

static void page_end_document(struct buf *out)
{
    buf_append_str(out, "</main>\n</body>\n</html>\n");
}

/* ---- the pages ---------------------------------------------------------- */

/* The div's attributes are exactly the seed's Example 1. */
static const char page_index_main[] =
    "<h1>Intro SSE Example</h1>\n"
    "<p class=\"note\">This page opens a Server-Sent Events stream to "
    "<code>/sse-stream</code> as it loads. The server sends ten messages, "
    "half a second apart, then <q>DONE</q>, and ends the response. An "
    "ended stream looks to the browser like a dropped connection, so about "
    "three seconds later it reconnects and the stream starts over: the "
    "messages below repeat until you leave the page. A server that wants the "
    "stream to stay closed sends an event named in <code>sse-close</code> "
    "instead.</p>\n"
    "<div hx-ext=\"sse\" sse-connect=\"/sse-stream\" sse-swap=\"EventName\" "
    "hx-swap=\"beforeend show:bottom\" id=\"sse-content\">\n"
    "<p>The contents of this &lt;div&gt; will be updated in real time with "
    "each SSE message received.</p>\n"
    "</div>\n";

static const char page_example2_main[] =
    "<h1>Example 2: start from a button</h1>\n"
    "<p class=\"note\">Nothing connects when this page loads. The button "
    "fetches a fragment from <code>/example2/start</code>, and htmx swaps it "
    "into the box below. The fragment's <code>sse-connect</code> opens the "
    "stream only then. The server sends Example 1's eleven messages, then an "
    "event named <code>close</code>. The fragment says "
    "<code>sse-close=\"close\"</code>, so the extension closes the "
    "EventSource for good: unlike Example 1, the messages do not start over. "
    "Press the button again for a new run. The new fragment replaces the "
    "old one, and htmx's clean-up of the old element closes its EventSource, "
    "so there is never more than one stream open.</p>\n"
    "<p><button type=\"button\" id=\"example2-start\" "
    "hx-get=\"/example2/start\" hx-target=\"#example2-stream\" "
    "hx-swap=\"innerHTML\" hx-disabled-elt=\"this\">Start the stream</button>"
    "</p>\n"
    "<div id=\"example2-stream\" class=\"stream-box\">\n"
    "<p class=\"placeholder\">No stream yet: press the button.</p>\n"
    "</div>\n";

static const char page_example2_fragment[] =
    "<div hx-ext=\"sse\" sse-connect=\"/streams/example2\" "
    "sse-swap=\"EventName\" sse-close=\"close\" "
    "hx-swap=\"beforeend show:bottom\" id=\"example2-content\">\n"
    "<p class=\"placeholder\">Stream opened. The messages arrive below, half "
    "a second apart.</p>\n"
    "</div>\n";

static const char page_trigger_main[] =
    "<h1>hx-trigger: an SSE event starts a request</h1>\n"
    "<p class=\"note\">The outer element holds a stream to "
    "<code>/streams/ticks</code>, which sends an event named "
    "<code>tick</code> every second. The inner element says "
    "<code>hx-trigger=\"sse:tick\"</code>: the event's data (just a number) "
    "is not swapped anywhere. Each tick only triggers the element's own "
    "<code>hx-get</code> to <code>/trigger/fragment</code>, and what the page "
    "responder answers replaces the element's content. The request count is "
    "per process, and lighttpd runs two page responders, so it may jump "
    "between two sequences.</p>\n"
    "<div hx-ext=\"sse\" sse-connect=\"/streams/ticks\">\n"
    "<div id=\"tick-target\" hx-get=\"/trigger/fragment\" "
    "hx-trigger=\"sse:tick\" hx-swap=\"innerHTML\">\n"
    "<p class=\"placeholder\">Waiting for the first tick…</p>\n"
    "</div>\n"
    "</div>\n";

static const char page_close_main[] =
    "<h1>sse-close: a countdown that ends its stream</h1>\n"
    "<p class=\"note\">The stream <code>/streams/countdown</code> sends "
    "<code>count</code> events 5, 4, 3, 2, 1, a second apart, then an event "
    "named <code>done</code>, and ends. The element with "
    "<code>sse-connect</code> says <code>sse-close=\"done\"</code>, so the "
    "extension closes the EventSource when <code>done</code> arrives and the "
    "browser does not reconnect. The extension adds its close listener when "
    "it opens the connection, before the child below registers "
    "<code>sse-swap=\"done\"</code>. So on <code>done</code> it first closes "
    "the connection, then the child still swaps in the event's data: closing "
    "stops the events after it, not the one being delivered.</p>\n"
    "<div hx-ext=\"sse\" sse-connect=\"/streams/countdown\" sse-close=\"done\" "
    "id=\"countdown\" class=\"countdown\">\n"
    "<div id=\"countdown-count\" class=\"countdown-count\" sse-swap=\"count\" "
    "hx-swap=\"innerHTML\"><p class=\"placeholder\">Connecting…</p></div>\n"
    "<div id=\"countdown-done\" class=\"countdown-done\" sse-swap=\"done\" "
    "hx-swap=\"innerHTML\"></div>\n"
    "</div>\n"
    "<p><a href=\"/close\">Run the countdown again</a> (loads the page "
    "anew).</p>\n";

static const char page_dashboard_main[] =
    "<h1>Dashboard: several event names on one connection</h1>\n"
    "<p class=\"note\">Three widgets, one stream. The element with "
    "<code>sse-connect=\"/streams/dashboard\"</code> opens a single "
    "EventSource, and each widget picks its own event name with "
    "<code>sse-swap</code>: <code>clock</code> and <code>counter</code> "
    "replace the widget's content every second, and <code>log</code> adds a "
    "line every three seconds. Browsers allow about six HTTP/1.1 connections "
    "per host, and an open stream holds one for as long as the page is open. "
    "A stream per widget would use three of them on this page alone, and a "
    "few such tabs would leave none for ordinary requests. Naming the events "
    "lets one connection feed them all.</p>\n"
    "<div hx-ext=\"sse\" sse-connect=\"/streams/dashboard\" id=\"dashboard\" "
    "class=\"dashboard\">\n"
    "<section class=\"widget\">\n<h2>Clock</h2>\n"
    "<div id=\"dash-clock\" class=\"widget-value\" sse-swap=\"clock\" "
    "hx-swap=\"innerHTML\">…</div>\n</section>\n"
    "<section class=\"widget\">\n<h2>Counter</h2>\n"
    "<div id=\"dash-counter\" class=\"widget-value\" sse-swap=\"counter\" "
    "hx-swap=\"innerHTML\">…</div>\n</section>\n"
    "<section class=\"widget widget-log\">\n<h2>Log</h2>\n"
    "<ul id=\"dash-log\" sse-swap=\"log\" hx-swap=\"beforeend\"></ul>\n"
    "</section>\n"
    "</div>\n";

/* The operations page: live numbers of the whole instance, sent each
 * second by the stream responder as one fragment (see status_view.h). */
static const char page_status_main[] =
    "<h1>Status</h1>\n"
    "<p class=\"note\">This page watches this sselight instance with its own "
    "product: the element below opens <code>/streams/status</code> and swaps "
    "in the numbers and charts the stream responder sends every second, "
    "summed over every stream process. Prometheus reads the same numbers at "
    "<a href=\"/metrics\">/metrics</a>, the JSON view is at "
    "<a href=\"/stats\">/stats</a>.</p>\n"
    "<div hx-ext=\"sse\" sse-connect=\"/streams/status\" sse-swap=\"status\" "
    "id=\"status\" class=\"status\">\n<p>Connecting…</p>\n</div>\n";

static const char page_room_main_start[] =
    "<h1>Live room</h1>\n"
    "<p class=\"note\">Everyone on this page shares one room. The form posts "
    "to <code>/room/messages</code>; the server publishes the message on the "
    "channel <code>room</code>, and every open page receives it over its "
    "stream <code>/events/room</code> as an event named <code>message</code>, "
    "which htmx appends below. A page that opens later first gets the last "
    "twenty messages. Messages are shown as text: markup in them is not "
    "interpreted.</p>\n"
    "<div hx-ext=\"sse\" sse-connect=\"/events/room?history=20\" "
    "sse-swap=\"message\" hx-swap=\"beforeend show:bottom\" "
    "id=\"room-log\"></div>\n";

static void page_append_not_found(struct buf *out, enum http_method method,
                                  const char *path)
{
    if (!page_begin_document(out, method, 404, "no-store", "Not found", NULL,
                             NULL))
        return;
    buf_append_str(out, "<h1>Not found</h1>\n<p>There is no page at <code>");
    html_append_escaped_str(out, path);
    buf_append_str(out, "</code>.</p>\n"
                        "<p><a href=\"/\">Back to the Example 1 page</a></p>\n");
    page_end_document(out);
}

/* ---- fragments and forms ------------------------------------------------ */

void page_append_trigger_fragment(struct buf *out, time_t now, unsigned long n)
{
    struct tm tm;
    if (!gmtime_r(&now, &tm))
        memset(&tm, 0, sizeof tm);
    buf_appendf(out, "<p>Fetched from the page responder at %02d:%02d:%02d "
                     "UTC (request #%lu of this process)</p>\n",
                tm.tm_hour, tm.tm_min, tm.tm_sec, n);
}

void page_prefix_urls(struct buf *out, const char *prefix)
{
    static const char *const attrs[] = {
        " href", " src", " action", " hx-get", " hx-post", " sse-connect",
    };
    if (!prefix || !*prefix)
        return;
    const char *s = buf_head(out);
    size_t n = buf_pending(out), done = 0;
    struct buf res = BUF_INIT;
    for (const char *at = memmem(s, n, "=\"/", 3); at;
         at = memmem(at + 3, n - (size_t)(at + 3 - s), "=\"/", 3)) {
        size_t pos = (size_t)(at - s);
        for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
            size_t len = strlen(attrs[i]);
            if (pos >= len && memcmp(at - len, attrs[i], len) == 0) {
                buf_append(&res, s + done, pos + 2 - done);
                buf_append_str(&res, prefix);
                done = pos + 2;
                break;
            }
        }
    }
    buf_append(&res, s + done, n - done);
    buf_reset(out);
    buf_append(out, buf_head(&res), buf_pending(&res));
    buf_free(&res);
}

/* A new random form key: PAGE_FORM_KEY_LEN hex digits. Returns 0, or -1
 * when the kernel has no randomness to give (the form then has no key and a
 * repeated post is published twice, which is all that is lost). */
static int page_new_form_key(char key[PAGE_FORM_KEY_LEN + 1])
{
    unsigned char raw[PAGE_FORM_KEY_LEN / 2];
    if (getrandom(raw, sizeof raw, GRND_NONBLOCK) != (ssize_t)sizeof raw)
        return -1;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

void page_append_room_form(struct buf *out, const char *error, const char *text,
                           const char *key)
{
    char fresh[PAGE_FORM_KEY_LEN + 1];
    if (!key)
        key = page_new_form_key(fresh) == 0 ? fresh : NULL;
    buf_append_str(out, "<form id=\"room-form\" hx-post=\"/room/messages\" "
                        "hx-target=\"this\" hx-swap=\"outerHTML\">\n");
    if (error) {
        buf_append_str(out, "<p class=\"form-error\" id=\"room-error\" "
                            "role=\"alert\">");
        html_append_escaped_str(out, error);
        buf_append_str(out, "</p>\n");
    }
    buf_append_str(out, "<label for=\"room-text\">Message</label>\n"
                        "<input name=\"text\" maxlength=\"500\" required "
                        "autocomplete=\"off\" id=\"room-text\"");
    if (error)
        buf_append_str(out, " aria-invalid=\"true\" "
                            "aria-describedby=\"room-error\"");
    if (text && text[0]) {
        buf_append_str(out, " value=\"");
        html_append_escaped_str(out, text);
        buf_append_byte(out, '"');
    }
    buf_append_str(out, ">\n");
    if (key) {
        buf_append_str(out, "<input type=\"hidden\" name=\"key\" value=\"");
        html_append_escaped_str(out, key);
        buf_append_str(out, "\">\n");
    }
    buf_append_str(out, "<button type=\"submit\">Send</button>\n</form>\n");
}

void page_append_room_message(struct buf *out, const char *text, size_t len,
                              const char *when_utc_hhmmss)
{
    buf_append_str(out, "<div class=\"room-msg\"><time>");
    html_append_escaped_str(out, when_utc_hhmmss ? when_utc_hhmmss : "");
    buf_append_str(out, "</time> <span>");
    html_append_escaped(out, text, len);
    buf_append_str(out, "</span></div>");
}

/* ---- routing ------------------------------------------------------------ */

enum page_kind {
    PAGE_INDEX,
    PAGE_EXAMPLE2,
    PAGE_EXAMPLE2_START,
    PAGE_TRIGGER,
    PAGE_TRIGGER_FRAGMENT,
    PAGE_CLOSE,
    PAGE_DASHBOARD,
    PAGE_ROOM,
    PAGE_STATUS,
};

static const struct page_route {
    const char *path;
    enum page_kind kind;
    const char *title; /* NULL: a fragment */
    const char *main;  /* the static content of <main>, or of the fragment */
} page_routes[] = {
    { "/",                 PAGE_INDEX,            "Intro SSE Example", page_index_main },
    { "/example2",         PAGE_EXAMPLE2,         "Example 2: start from a button", page_example2_main },
    { "/example2/start",   PAGE_EXAMPLE2_START,   NULL, page_example2_fragment },
    { "/trigger",          PAGE_TRIGGER,          "hx-trigger on an SSE event", page_trigger_main },
    { "/trigger/fragment", PAGE_TRIGGER_FRAGMENT, NULL, NULL },
    { "/close",            PAGE_CLOSE,            "sse-close countdown", page_close_main },
    { "/dashboard",        PAGE_DASHBOARD,        "Dashboard", page_dashboard_main },
    { "/room",             PAGE_ROOM,             "Live room", page_room_main_start },
    { "/status",           PAGE_STATUS,           "Status", page_status_main },
};

static const struct page_route *page_find_route(const char *path)
{
    for (size_t i = 0; i < sizeof page_routes / sizeof page_routes[0]; i++)
        if (strcmp(path, page_routes[i].path) == 0)
            return &page_routes[i];
    return NULL;
}

/* Requests for /trigger/fragment this process has answered. */
static unsigned long page_trigger_count;

static void page_append_route(struct buf *out, enum http_method method,
                              const struct page_route *r)
{
    if (!r->title) { /* a fragment */
        if (!page_begin_response(out, method, 200, "no-store"))
            return;
        if (r->kind == PAGE_TRIGGER_FRAGMENT)
            page_append_trigger_fragment(out, time(NULL), page_trigger_count);
        else
            buf_append_str(out, r->main);
        return;
    }
    if (!page_begin_document(out, method, 200, "no-cache", r->title,
                             r->kind == PAGE_ROOM ? page_room_config : NULL,
                             r->path))
        return;
    buf_append_str(out, r->main);
    if (r->kind == PAGE_ROOM)
        page_append_room_form(out, NULL, "", NULL);
    page_end_document(out);
}

int page_respond(struct buf *out, enum http_method method, const char *path)
{
    if (!path) {
        http_append_error(out, method, 400, "bad request: no usable REQUEST_URI");
        return 400;
    }
    const struct page_route *r = page_find_route(path);
    if (!r) {
        page_append_not_found(out, method, path);
        return 404;
    }
    if (method != HTTP_GET && method != HTTP_HEAD) {
        http_append_error(out, method, 405,
                          "method not allowed: this page takes GET or HEAD");
        return 405;
    }
    if (r->kind == PAGE_TRIGGER_FRAGMENT)
        page_trigger_count++;
    page_append_route(out, method, r);
    return 200;
}
