/* stream_app: routes and Example 1 streams. See stream_app.h. */
#include "stream_app.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "demo.h"
#include "http.h"
#include "mem.h"
#include "stream_slot.h"

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct stream_app {
    struct loop *loop;
    struct stream_events *events;
    struct stream_app_stats stats;
};

/* One open demonstration stream (Example 1 and the other example pages). */
struct demo_stream {
    struct stream_slot slot;  /* first member: see stream_slot.h */
    struct loop_timer timer;
    struct stream_app *app;
    struct fcgi_conn *conn;
    enum demo_kind kind;
    unsigned step;            /* next step of demo_step to send */
    int ended;                /* the server ended the response itself */
};

static void stream_app_demo_step(struct loop *loop, struct loop_timer *t)
{
    struct demo_stream *s = container_of(t, struct demo_stream, timer);
    struct buf ev = BUF_INIT;
    long delay = demo_step(s->kind, s->step++, (long long)time(NULL), &ev);
    int rc = fcgi_conn_write(s->conn, buf_head(&ev), buf_pending(&ev));
    buf_free(&ev);
    if (rc != 0)
        return; /* closing: the closed callback frees s */
    if (delay != DEMO_STREAM_END) {
        loop_timer_start(loop, &s->timer, (uint64_t)delay);
        return;
    }
    /* Like the seed's generator running out: end the response. For
     * Example 1 the browser reconnects and the stream starts over. */
    s->app->stats.streams_done++;
    s->ended = 1;
    (void)fcgi_conn_end(s->conn);
}

static void stream_app_demo_closed(struct stream_slot *slot, const char *why)
{
    struct demo_stream *s = (struct demo_stream *)(void *)slot;
    struct stream_app *app = s->app;
    app->stats.streams_open--;
    if (!s->ended) {
        app->stats.streams_gone++;
        fprintf(stderr, "stream: %s closed after %u steps: %s\n",
                demo_path(s->kind), s->step,
                why ? why : "ended early by shutdown");
    }
    loop_timer_stop(app->loop, &s->timer);
    free(s);
}

static void stream_app_start_demo(struct stream_app *app,
                                  struct fcgi_conn *conn,
                                  enum http_method method,
                                  enum demo_kind kind)
{
    struct buf head = BUF_INIT;
    http_append_sse_head(&head);
    int rc = fcgi_conn_write(conn, buf_head(&head), buf_pending(&head));
    buf_free(&head);
    if (rc != 0)
        return;
    if (method == HTTP_HEAD) {
        (void)fcgi_conn_end(conn);
        return;
    }
    struct demo_stream *s = mem_calloc(1, sizeof *s);
    s->slot.closed = stream_app_demo_closed;
    s->app = app;
    s->conn = conn;
    s->kind = kind;
    loop_timer_init(&s->timer, stream_app_demo_step);
    fcgi_conn_set_data(conn, s);
    app->stats.streams_opened++;
    app->stats.streams_open++;
    /* Step 0 goes out with the head, as the seed's generator yields before
     * its first sleep. */
    stream_app_demo_step(app->loop, &s->timer);
}

static void stream_app_reply_error(struct fcgi_conn *conn,
                                   enum http_method method, int status,
                                   const char *text, const char *uri)
{
    struct buf out = BUF_INIT;
    http_append_error(&out, method, status, text);
    fprintf(stderr, "stream: %d for %s %s\n", status,
            fcgi_conn_param(conn, "REQUEST_METHOD") ?
                fcgi_conn_param(conn, "REQUEST_METHOD") : "-",
            uri ? uri : "-");
    (void)fcgi_conn_reply(conn, &out);
    buf_free(&out);
}

static void stream_app_on_request(struct fcgi_conn *conn, void *app_data)
{
    struct stream_app *app = app_data;
    enum http_method method =
        http_method_parse(fcgi_conn_param(conn, "REQUEST_METHOD"));
    const char *uri = fcgi_conn_param(conn, "REQUEST_URI");
    char path[HTTP_PATH_MAX];

    if (uri && strlen(uri) >= HTTP_PATH_MAX) {
        stream_app_reply_error(conn, method, 414, "request URI too long", NULL);
        return;
    }
    if (http_path_from_uri(uri, path) != 0) {
        stream_app_reply_error(conn, method, 400,
                               "bad request: no usable REQUEST_URI", uri);
        return;
    }
    if (stream_events_match(path)) {
        const char *q = strchr(uri, '?');
        stream_events_handle(app->events, conn, method, path, q ? q + 1 : NULL);
        return;
    }
    int demo = demo_lookup(path);
    if (demo < 0) {
        stream_app_reply_error(conn, method, 404,
                               "not found: no event stream at this path", uri);
        return;
    }
    if (method != HTTP_GET && method != HTTP_HEAD) {
        stream_app_reply_error(conn, method, 405,
                               "method not allowed: use GET or HEAD", uri);
        return;
    }
    stream_app_start_demo(app, conn, method, (enum demo_kind)demo);
}

static void stream_app_on_closed(struct fcgi_conn *conn, const char *why)
{
    struct stream_slot *slot = fcgi_conn_data(conn);
    if (slot)
        slot->closed(slot, why);
}

struct stream_app *stream_app_new(struct loop *loop,
                                  const struct stream_events_config *events,
                                  char *err, size_t errlen)
{
    struct stream_app *app = mem_calloc(1, sizeof *app);
    app->loop = loop;
    app->events = stream_events_new(loop, events, err, errlen);
    if (!app->events) {
        free(app);
        return NULL;
    }
    return app;
}

void stream_app_free(struct stream_app *app)
{
    stream_events_free(app->events);
    free(app);
}

struct fcgi_app stream_app_callbacks(struct stream_app *app)
{
    struct fcgi_app cb = {
        .request = stream_app_on_request,
        .closed = stream_app_on_closed,
        .app_data = app,
    };
    return cb;
}

struct stream_app_stats stream_app_stats(const struct stream_app *app)
{
    return app->stats;
}
