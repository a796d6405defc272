/* demo: Example 1 events. See demo.h. */
#include "demo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* Appends an event whose data is a format string's output. */
static void demo_append_named(struct buf *out, const char *event,
                              const char *data)
{
    /* Event names here are constants without CR/LF: cannot fail. */
    (void)sse_append_event(out, event, NULL, data, strlen(data));
}

static const char *const demo_log_lines[] = {
    "Disk check passed", "Cache warmed", "New subscriber joined",
    "Backup finished", "Queue drained", "Config reloaded",
};

static long demo_dashboard_step(unsigned step, long long now,
                                struct buf *out)
{
    char data[160];
    time_t t = (time_t)now;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    snprintf(data, sizeof data, "<time>%02d:%02d:%02d</time> UTC",
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    demo_append_named(out, "clock", data);
    snprintf(data, sizeof data, "%u", step + 1);
    demo_append_named(out, "counter", data);
    if (step % 3 == 0) {
        size_t n = sizeof demo_log_lines / sizeof demo_log_lines[0];
        snprintf(data, sizeof data, "<li>%02d:%02d:%02d %s</li>", tm.tm_hour,
                 tm.tm_min, tm.tm_sec, demo_log_lines[(step / 3) % n]);
        demo_append_named(out, "log", data);
    }
    return 1000;
}

long demo_step(enum demo_kind kind, unsigned step, long long now,
               struct buf *out)
{
    char data[128];
    switch (kind) {
    case DEMO_EXAMPLE1:
        demo_append_event(out, step);
        return step + 1 < DEMO_EVENTS ? DEMO_INTERVAL_MS : DEMO_STREAM_END;
    case DEMO_EXAMPLE2:
        demo_append_event(out, step);
        if (step + 1 < DEMO_EVENTS)
            return DEMO_INTERVAL_MS;
        /* The page names "close" in sse-close: the extension then closes
         * the EventSource for good instead of reconnecting. */
        demo_append_named(out, "close", "closed");
        return DEMO_STREAM_END;
    case DEMO_TICKS:
        snprintf(data, sizeof data, "%u", step + 1);
        demo_append_named(out, "tick", data);
        return 1000;
    case DEMO_COUNTDOWN:
        if (step < 5) {
            snprintf(data, sizeof data, "<p>%u</p>", 5 - step);
            demo_append_named(out, "count", data);
            return 1000;
        }
        demo_append_named(out, "done",
                          "<p>Liftoff. The server sent \"done\"; the page "
                          "closed the stream and will not reconnect.</p>");
        return DEMO_STREAM_END;
    case DEMO_DASHBOARD:
        return demo_dashboard_step(step, now, out);
    }
    return DEMO_STREAM_END;
}

static const struct {
    const char *path;
    enum demo_kind kind;
} demo_routes[] = {
    { "/sse-stream", DEMO_EXAMPLE1 },
    { "/streams/example2", DEMO_EXAMPLE2 },
    { "/streams/ticks", DEMO_TICKS },
    { "/streams/countdown", DEMO_COUNTDOWN },
    { "/streams/dashboard", DEMO_DASHBOARD },
};

#define DEMO_NROUTES (sizeof demo_routes / sizeof demo_routes[0])

int demo_lookup(const char *path)
{
    for (size_t i = 0; i < DEMO_NROUTES; i++)
        if (strcmp(path, demo_routes[i].path) == 0)
            return (int)demo_routes[i].kind;
    return -1;
}

const char *demo_path(enum demo_kind kind)
{
    for (size_t i = 0; i < DEMO_NROUTES; i++)
        if (demo_routes[i].kind == kind)
            return demo_routes[i].path;
    return "?";
}
