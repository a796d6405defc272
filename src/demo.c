/* demo: Example 1 events. See demo.h. */
#include "demo.h"

#include <stdio.h>

#include "html.h"
#include "sse.h"

void demo_append_event(struct buf *out, unsigned i)
{
    char text[32];
    if (i < DEMO_MESSAGES)
        snprintf(text, sizeof text, "message number %u", i);
    else
        snprintf(text, sizeof text, "DONE");

    struct buf html = BUF_INIT;
    buf_append_str(&html, "<div>\n  <p>");
    html_append_escaped_str(&html, text);
    buf_append_str(&html, "</p>\n</div>");
    /* The event name is a valid constant, so this cannot fail. */
    (void)sse_append_event(out, DEMO_EVENT_NAME, NULL, buf_head(&html),
                           buf_pending(&html));
    buf_free(&html);
}
