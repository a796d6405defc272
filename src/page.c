/* page: HTML rendering for the page responder. See page.h. */
#include "page.h"

#include <string.h>

#include "html.h"

/* Scripts come from our own origin (copied from the pinned npm packages at
 * build time), so the page works with no internet access. */
static const char page_head_start[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<link rel=\"stylesheet\" href=\"/assets/style.css\">\n"
    "<script src=\"/vendor/htmx.min.js\"></script>\n"
    "<script src=\"/vendor/sse.min.js\"></script>\n";

/* The div's attributes are exactly the seed's Example 1. */
static const char page_index_body[] =
    "<title>Intro SSE Example · sselight</title>\n"
    "</head>\n"
    "<body>\n"
    "<main>\n"
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
    "</div>\n"
    "</main>\n"
    "</body>\n"
    "</html>\n";

/* Appends the head of an HTML response; returns 1 when a body should follow
 * (not for HEAD), having started it with the document head's shared part. */
static int page_begin(struct buf *out, enum http_method method, int status,
                      const char *cache_control)
{
    http_begin_head(out, status, "text/html; charset=utf-8");
    buf_appendf(out, "Cache-Control: %s\r\n", cache_control);
    http_end_head(out);
    if (method == HTTP_HEAD)
        return 0;
    buf_append_str(out, page_head_start);
    return 1;
}

static void page_append_index(struct buf *out, enum http_method method)
{
    if (!page_begin(out, method, 200, "no-cache"))
        return;
    buf_append_str(out, page_index_body);
}

static void page_append_not_found(struct buf *out, enum http_method method,
                                  const char *path)
{
    if (!page_begin(out, method, 404, "no-store"))
        return;
    buf_append_str(out, "<title>Not found · sselight</title>\n"
                        "</head>\n<body>\n<main>\n<h1>Not found</h1>\n"
                        "<p>There is no page at <code>");
    html_append_escaped_str(out, path);
    buf_append_str(out, "</code>.</p>\n"
                        "<p><a href=\"/\">Back to the Example 1 page</a></p>\n"
                        "</main>\n</body>\n</html>\n");
}

int page_respond(struct buf *out, enum http_method method, const char *path)
{
    if (!path) {
        http_append_error(out, method, 400, "bad request: no usable REQUEST_URI");
        return 400;
    }
    if (strcmp(path, "/") != 0) {
        page_append_not_found(out, method, path);
        return 404;
    }
    if (method != HTTP_GET && method != HTTP_HEAD) {
        http_append_error(out, method, 405,
                          "method not allowed: this page takes GET or HEAD");
        return 405;
    }
    page_append_index(out, method);
    return 200;
}
