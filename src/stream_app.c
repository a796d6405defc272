/* stream_app: routes and Example 1 streams. See stream_app.h. */
#include "stream_app.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "demo.h"
#include "http.h"
#include "mem.h"
#include "stream_monitor.h"
#include "stream_reply.h"
#include "stream_slot.h"

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct stream_app {
    struct loop *loop;
    struct stream_events *events;
    struct stream_mercure *mercure; /* NULL until started */
    const struct fcgi_listener *listener; /* for /stats; may be NULL */
    char prefix[HTTP_PREFIX_MAX];         /* mount point, "" for the root */
    const char *derive_from;              /* program name, or NULL: see
                                             stream_app_derive_prefix */
    struct stream_monitor *monitor;       /* NULL until started */
    unsigned top_channels;                /* for the monitor's fill */
    struct stream_app_stats stats;
};

/* One open demonstration stream (Example 1 and the other example pages). */
struct demo_stream {
    struct stream_slot slot;  /* first member: see stream_slot.h */
    struct loop_timer timer;
    struct stream_app *app;
    struct stream_conn *conn;
    enum demo_kind kind;
    unsigned step;            /* next step of demo_step to send */
    int ended;                /* the server ended the response itself */
};

static void stream_app_demo_step(struct loop *loop, struct loop_timer *t)
{
    struct demo_stream *s = container_of(t, struct demo_stream, timer);
    struct buf ev = BUF_INIT;
    long delay = demo_step(s->kind, s->step++, (long long)time(NULL), &ev);
    int rc = stream_conn_write(s->conn, buf_head(&ev), buf_pending(&ev));
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
    (void)stream_conn_end(s->conn);
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
                                  struct stream_conn *conn,
                                  enum http_method method,
                                  enum demo_kind kind)
{
    if (stream_reply_sse_head(conn, method, 0) != 0)
        return;
    struct demo_stream *s = mem_calloc(1, sizeof *s);
    s->slot.closed = stream_app_demo_closed;
    s->app = app;
    s->conn = conn;
    s->kind = kind;
    loop_timer_init(&s->timer, stream_app_demo_step);
    stream_conn_set_data(conn, s);
    app->stats.streams_opened++;
    app->stats.streams_open++;
    /* Step 0 goes out with the head, as the seed's generator yields before
     * its first sleep. */
    stream_app_demo_step(app->loop, &s->timer);
}

/* GET /stats: this process's counters as JSON (one process of possibly
 * several: "pid" says which). */
static void stream_app_reply_stats(struct stream_app *app,
                                   struct stream_conn *conn,
                                   enum http_method method)
{
    struct buf out = BUF_INIT;
    if (method != HTTP_GET && method != HTTP_HEAD) {
        stream_reply_error(conn, method, 405, NULL,
                           "method not allowed: use GET");
        return;
    }
    if (app->monitor && stream_monitor_allow(app->monitor, conn, method) != 0)
        return;
    long long rss;
    stream_monitor_proc_usage(&rss, NULL);
    struct stream_events_stats ev = stream_events_stats(app->events);
    struct fcgi_listener_stats ls = { 0 };
    if (app->listener)
        ls = fcgi_listener_stats(app->listener);
    http_begin_head(&out, 200, "application/json");
    buf_append_str(&out, "Cache-Control: no-store\r\n");
    http_end_head(&out);
    if (method == HTTP_GET) {
        buf_appendf(&out,
            "{\"pid\":%ld,\"rss_bytes\":%lld,\"connections\":%zu,"
            "\"streams_open\":%zu,\"demo_streams_open\":%zu,"
            "\"subscribers\":%zu,",
            (long)getpid(), rss, ls.open,
            app->stats.streams_open + ev.subscribers, app->stats.streams_open,
            ev.subscribers);
        stream_events_append_channels_json(app->events, &out);
        buf_append_byte(&out, ',');
        stream_events_append_broker_json(app->events, &out);
        buf_appendf(&out,
            ",\"published\":%llu,\"delivered\":%llu,\"heartbeats\":%llu,"
            "\"refused_cap\":%llu,\"refused_busy\":%llu,"
            "\"closed_slow\":%llu,\"closed_cap\":%llu,\"accepted\":%llu,"
            "\"sends\":%llu",
            (unsigned long long)ev.published, (unsigned long long)ev.delivered,
            (unsigned long long)ev.heartbeats,
            (unsigned long long)ev.refused_cap,
            (unsigned long long)ev.refused_busy,
            ls.closed[METRICS_CLOSED_SLOW], ls.closed[METRICS_CLOSED_CAP],
            ls.accepted, ls.sends);
        if (app->monitor)
            stream_monitor_append_json(app->monitor, &out);
        buf_append_str(&out, "}\n");
    }
    (void)stream_conn_reply(conn, &out);
    buf_free(&out);
}

static void stream_app_on_request(struct stream_conn *conn, void *app_data)
{
    struct stream_app *app = app_data;
    enum http_method method =
        http_method_parse(stream_conn_param(conn, "REQUEST_METHOD"));
    const char *uri = stream_conn_param(conn, "REQUEST_URI");
    char path[HTTP_PATH_MAX];

    if (uri && strlen(uri) >= HTTP_PATH_MAX) {
        stream_reply_error(conn, method, 414, NULL, "request URI too long");
        return;
    }
    if (http_path_from_uri(uri, path) != 0) {
        stream_reply_error(conn, method, 400, NULL,
                           "bad request: no usable REQUEST_URI");
        return;
    }
    char derived[HTTP_PREFIX_MAX];
    const char *prefix = app->prefix;
    if (app->derive_from) {
        (void)http_prefix_from_script(stream_conn_param(conn, "SCRIPT_NAME"),
                                      app->derive_from, path, derived);
        prefix = derived;
    }
    if (http_path_strip_prefix(path, prefix) != 0) {
        stream_reply_error(conn, method, 404, NULL,
                           "not found: outside this server's URL prefix");
        return;
    }
    if (strcmp(path, "/stats") == 0) {
        stream_app_reply_stats(app, conn, method);
        return;
    }
    if (app->monitor && stream_monitor_handle(app->monitor, conn, method, path))
        return;
    if (app->mercure && stream_mercure_match(path)) {
        const char *q = strchr(uri, '?');
        stream_mercure_handle(app->mercure, conn, method, q ? q + 1 : NULL);
        return;
    }
    if (stream_events_match(path)) {
        const char *q = strchr(uri, '?');
        stream_events_handle(app->events, conn, method, path, q ? q + 1 : NULL);
        return;
    }
    int demo = demo_lookup(path);
    if (demo < 0) {
        stream_reply_error(conn, method, 404, NULL,
                           "not found: no event stream at this path");
        return;
    }
    if (method != HTTP_GET && method != HTTP_HEAD) {
        stream_reply_error(conn, method, 405, NULL,
                           "method not allowed: use GET or HEAD");
        return;
    }
    stream_app_start_demo(app, conn, method, (enum demo_kind)demo);
}

static void stream_app_on_closed(struct stream_conn *conn, const char *why)
{
    struct stream_slot *slot = stream_conn_data(conn);
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

int stream_app_start_mercure(struct stream_app *app,
                             const struct stream_mercure_config *c,
                             char *err, size_t errlen)
{
    app->mercure = stream_mercure_new(app->events, c, err, errlen);
    return app->mercure ? 0 : -1;
}

void stream_app_free(struct stream_app *app)
{
    stream_app_stop_monitor(app);
    stream_mercure_free(app->mercure);
    stream_events_free(app->events);
    free(app);
}

int stream_app_set_prefix(struct stream_app *app, const char *prefix)
{
    if (!http_prefix_valid(prefix))
        return -1;
    strcpy(app->prefix, prefix);
    return 0;
}

void stream_app_derive_prefix(struct stream_app *app, const char *program)
{
    app->derive_from = program;
}

struct stream_handler stream_app_callbacks(struct stream_app *app)
{
    struct stream_handler cb = {
        .request = stream_app_on_request,
        .closed = stream_app_on_closed,
        .app_data = app,
    };
    return cb;
}

void stream_app_set_listener(struct stream_app *app,
                             const struct fcgi_listener *listener)
{
    app->listener = listener;
}

struct stream_app_stats stream_app_stats(const struct stream_app *app)
{
    return app->stats;
}

/* This process's numbers for the monitor (see stream_monitor_fill_fn). */
static void stream_app_fill_metrics(void *arg, struct metrics_slot *mine)
{
    struct stream_app *app = arg;
    struct stream_events_stats ev = stream_events_stats(app->events);
    struct metrics_counts *c = &mine->c;
    if (app->listener) {
        struct fcgi_listener_stats ls = fcgi_listener_stats(app->listener);
        c->g.connections = ls.open;
        c->t.accepted = ls.accepted;
        c->t.sends = ls.sends;
        for (int i = 0; i < METRICS_CLOSED_N; i++)
            c->t.closed[i] = ls.closed[i];
    } else {
        c->g.connections = 1; /* CGI: this process's one request */
    }
    c->g.demo_streams = app->stats.streams_open;
    c->g.subscribers = ev.subscribers;
    int up;
    size_t pending;
    stream_events_health(app->events, &up, &c->t.broker_reconnects, &pending);
    c->g.broker_up = (uint64_t)up;
    c->g.store_pending = pending;
    c->t.published = ev.published;
    c->t.delivered = ev.delivered;
    c->t.heartbeats = ev.heartbeats;
    c->t.demo_streams = app->stats.streams_opened;
    c->t.subscriptions = ev.subscriptions;
    c->t.refused_cap = ev.refused_cap;
    c->t.refused_busy = ev.refused_busy;
    stream_reply_refused_counts(c->t.refused);
    c->t.commit = ev.commit;
    c->t.fanout = ev.fanout;
    mine->nchannels = (uint32_t)stream_events_top_channels(
        app->events, mine->top, app->top_channels);
}

void stream_app_start_monitor(struct stream_app *app,
                              const struct stream_monitor_config *c)
{
    struct stream_monitor_config mc = *c;
    mc.broker_kind = stream_events_broker_kind(app->events);
    app->top_channels = c->top_channels;
    app->monitor = stream_monitor_new(app->loop, &mc, stream_app_fill_metrics,
                                      app);
}

void stream_app_stop_monitor(struct stream_app *app)
{
    stream_monitor_free(app->monitor);
    app->monitor = NULL;
}
