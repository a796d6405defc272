/* stream_monitor: /metrics, the whole-instance /stats and the /status
 * stream. See stream_monitor.h. */
#include "stream_monitor.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "mem.h"
#include "metrics.h"
#include "prom.h"
#include "sse.h"
#include "status_view.h"
#include "stream_reply.h"
#include "stream_slot.h"

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define MONITOR_TOKEN_MAX 256
#define MONITOR_P99_WINDOW 60      /* samples the status page's p99 spans */
#define MONITOR_RATE_WINDOW 5      /* samples the per-second rates span */
#define MONITOR_FDS_EVERY_MS 10000 /* the tick counts open descriptors */

/* One second of the instance, for the charts and the rates. */
struct monitor_sample {
    uint64_t subscribers, delivered, published;
    struct metrics_hist fanout;
};

/* A /streams/status viewer. */
struct monitor_viewer {
    struct stream_slot slot;       /* first member: see stream_slot.h */
    struct stream_monitor *m;
    struct stream_conn *conn;
    struct monitor_viewer *prev, *next;
};

struct stream_monitor {
    struct loop *loop;
    struct loop_timer tick;
    struct metrics_slots *slots;   /* NULL: this process only */
    stream_monitor_fill_fn *fill;
    void *fill_arg;
    struct stream_monitor_config c;
    char token[MONITOR_TOKEN_MAX]; /* "" when none */
    char broker_kind[16];
    struct metrics_slot mine;      /* scratch: this process's numbers */
    struct metrics_instance inst;
    long long fds;                 /* open descriptors, last counted */
    uint64_t fds_at_ms;            /* when (loop clock; 0: never) */
    struct monitor_sample hist[MONITOR_HISTORY]; /* ring */
    size_t hist_n, hist_next;
    struct monitor_viewer *viewers;
};

void stream_monitor_proc_usage(long long *rss_bytes, long long *fds)
{
    *rss_bytes = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        long long total, resident;
        int n = fscanf(f, "%lld %lld", &total, &resident);
        if (fclose(f) == 0 && n == 2)
            *rss_bytes = resident * sysconf(_SC_PAGESIZE);
    }
    if (!fds)
        return;
    *fds = -1;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    long long count = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            count++;
    if (closedir(d) == 0)
        *fds = count - 1; /* the directory's own descriptor */
}

/* ---- reading the instance ---------------------------------------------- */

static size_t monitor_count_viewers(const struct stream_monitor *m);

/* Fills this process's numbers into m->mine and writes them to its slot
 * (fresh: count the open descriptors now). Returns 0, or -1 when there is
 * no slot or the write failed. */
static int monitor_write_mine(struct stream_monitor *m, int fresh)
{
    struct metrics_slot *mine = &m->mine;
    memset(mine, 0, sizeof *mine);
    m->fill(m->fill_arg, mine);
    mine->c.g.status_viewers = monitor_count_viewers(m);
    mine->cgi = (uint32_t)m->c.cgi;
    mine->pid = getpid();
    /* Counting descriptors lists /proc/self/fd: about 2 ms of the loop at
     * 10,000 streams, so the tick does it every MONITOR_FDS_EVERY_MS, and
     * an answer to /metrics or /stats every time. */
    uint64_t now = loop_now_ms(m->loop);
    int count_fds = fresh || m->fds_at_ms == 0 ||
                    now - m->fds_at_ms >= MONITOR_FDS_EVERY_MS;
    long long rss, fds;
    stream_monitor_proc_usage(&rss, count_fds ? &fds : NULL);
    if (count_fds) {
        m->fds = fds;
        m->fds_at_ms = now ? now : 1;
    }
    mine->rss_bytes = rss;
    mine->fds = m->fds;
    return m->slots ? metrics_slots_update(m->slots, mine) : -1;
}

/* monitor_write_mine, then every slot into m->inst. */
static void monitor_refresh(struct stream_monitor *m, int fresh)
{
    struct metrics_instance *in = &m->inst;
    if (monitor_write_mine(m, fresh) == 0 &&
        metrics_instance_read(m->slots, in) == 0)
        return;
    if (m->slots)
        fprintf(stderr, "stream: reading %s: %m; showing this process only\n",
                METRICS_SLOTS_FILE);
    metrics_instance_reset(in);
    metrics_instance_add(in, &m->mine);
}

static const struct monitor_sample *monitor_sample_back(
    const struct stream_monitor *m, size_t back)
{
    if (back >= m->hist_n)
        back = m->hist_n - 1;
    size_t i = (m->hist_next + MONITOR_HISTORY - 1 - back) % MONITOR_HISTORY;
    return &m->hist[i];
}

static void monitor_push_sample(struct stream_monitor *m)
{
    struct monitor_sample *s = &m->hist[m->hist_next];
    s->subscribers = m->inst.sum.g.subscribers;
    s->delivered = m->inst.sum.t.delivered;
    s->published = m->inst.sum.t.published;
    s->fanout = m->inst.sum.t.fanout;
    m->hist_next = (m->hist_next + 1) % MONITOR_HISTORY;
    if (m->hist_n < MONITOR_HISTORY)
        m->hist_n++;
}

/* ---- the status stream ------------------------------------------------- */

/* Counters go down when a process's totals move to "retired" between
 * reads by another process: never show a negative rate. */
static double monitor_delta(uint64_t now, uint64_t before)
{
    return now > before ? (double)(now - before) : 0;
}

static void monitor_render_status(struct stream_monitor *m, struct buf *out)
{
    const struct metrics_instance *in = &m->inst;
    const struct monitor_sample *now = monitor_sample_back(m, 0);
    size_t span = m->hist_n > MONITOR_RATE_WINDOW ? MONITOR_RATE_WINDOW
                                                  : m->hist_n - 1;
    const struct monitor_sample *then = monitor_sample_back(m, span);
    const struct monitor_sample *p99_from =
        monitor_sample_back(m, MONITOR_P99_WINDOW);
    struct status_numbers num = {
        .processes = in->n,
        .connections = in->sum.g.connections,
        .subscribers = in->sum.g.subscribers,
        .demo_streams = in->sum.g.demo_streams,
        .store_pending = in->sum.g.store_pending,
        .deliveries_per_s = span ? monitor_delta(now->delivered, then->delivered) /
                                       (double)span : 0,
        .publishes_per_s = span ? monitor_delta(now->published, then->published) /
                                      (double)span : 0,
        .fanout_p99_us = metrics_hist_quantile_us(
            &now->fanout, p99_from == now ? NULL : &p99_from->fanout, 0.99),
        .broker_kind = m->broker_kind,
        .broker_up = in->broker_up,
        .delivered_total = in->sum.t.delivered,
        .published_total = in->sum.t.published,
    };
    struct status_process *procs = mem_calloc(in->n ? in->n : 1, sizeof *procs);
    for (size_t i = 0; i < in->n; i++) {
        procs[i].pid = in->procs[i].pid;
        procs[i].cgi = (int)in->procs[i].cgi;
        procs[i].connections = in->procs[i].c.g.connections;
        procs[i].subscribers = in->procs[i].c.g.subscribers;
        procs[i].rss_bytes = in->procs[i].rss_bytes;
    }
    size_t n = m->hist_n;
    double *subs = mem_calloc(n, sizeof *subs);
    double *dels = mem_calloc(n, sizeof *dels);
    for (size_t i = 0; i < n; i++) {
        const struct monitor_sample *s = monitor_sample_back(m, n - 1 - i);
        subs[i] = (double)s->subscribers;
        dels[i] = i ? monitor_delta(s->delivered,
                                    monitor_sample_back(m, n - i)->delivered)
                    : 0;
    }
    struct buf html = BUF_INIT;
    status_view_render(&html, &num, procs, in->n, subs, dels, n,
                       MONITOR_TICK_MS / 1000);
    if (sse_append_event(out, MONITOR_STATUS_EVENT, NULL, buf_head(&html),
                         buf_pending(&html)) != 0)
        fprintf(stderr, "stream: status fragment not sendable as SSE\n");
    buf_free(&html);
    free(subs);
    free(dels);
    free(procs);
}

static void monitor_send_status(struct stream_monitor *m,
                                struct monitor_viewer *only)
{
    struct buf ev = BUF_INIT;
    monitor_render_status(m, &ev);
    for (struct monitor_viewer *v = only ? only : m->viewers; v;
         v = only ? NULL : v->next)
        (void)stream_conn_write(v->conn, buf_head(&ev), buf_pending(&ev));
    buf_free(&ev);
}

static void monitor_on_tick(struct loop *loop, struct loop_timer *t)
{
    struct stream_monitor *m = container_of(t, struct stream_monitor, tick);
    monitor_refresh(m, 0);
    monitor_push_sample(m);
    if (m->viewers)
        monitor_send_status(m, NULL);
    loop_timer_start(loop, t, MONITOR_TICK_MS);
}

static void monitor_viewer_closed(struct stream_slot *slot, const char *why)
{
    (void)why;
    struct monitor_viewer *v = (struct monitor_viewer *)(void *)slot;
    if (v->prev)
        v->prev->next = v->next;
    else
        v->m->viewers = v->next;
    if (v->next)
        v->next->prev = v->prev;
    free(v);
}

static size_t monitor_count_viewers(const struct stream_monitor *m)
{
    size_t n = 0;
    for (const struct monitor_viewer *v = m->viewers; v; v = v->next)
        n++;
    return n;
}

static void monitor_open_status(struct stream_monitor *m,
                                struct stream_conn *conn,
                                enum http_method method)
{
    if (stream_reply_sse_head(conn, method, MONITOR_TICK_MS * 3) != 0)
        return;
    struct monitor_viewer *v = mem_calloc(1, sizeof *v);
    v->slot.closed = monitor_viewer_closed;
    v->m = m;
    v->conn = conn;
    v->next = m->viewers;
    if (m->viewers)
        m->viewers->prev = v;
    m->viewers = v;
    stream_conn_set_data(conn, &v->slot);
    /* The page shows numbers at once, not after the next tick. */
    if (m->hist_n == 0) {
        monitor_refresh(m, 0);
        monitor_push_sample(m);
    }
    monitor_send_status(m, v);
}

/* ---- /metrics ---------------------------------------------------------- */

static void monitor_gauge(struct buf *out, const char *name, const char *help,
                          uint64_t v)
{
    prom_family(out, name, "gauge", help);
    prom_sample(out, name, NULL, v);
}

static void monitor_counter(struct buf *out, const char *name,
                            const char *help, uint64_t v)
{
    prom_family(out, name, "counter", help);
    prom_sample(out, name, NULL, v);
}

static int monitor_channel_cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct metrics_channel *)a)->name,
                  ((const struct metrics_channel *)b)->name);
}

static int monitor_channel_cmp_count(const void *a, const void *b)
{
    uint64_t x = ((const struct metrics_channel *)a)->subscribers;
    uint64_t y = ((const struct metrics_channel *)b)->subscribers;
    if (x != y)
        return x > y ? -1 : 1;
    return monitor_channel_cmp_name(a, b);
}

/* The top channels of every process, summed by name, largest first.
 * Returns how many (at most top). */
static size_t monitor_top_channels(const struct metrics_instance *in,
                                   size_t top, struct metrics_channel **out)
{
    size_t all = 0;
    for (size_t i = 0; i < in->n; i++)
        all += in->procs[i].nchannels;
    struct metrics_channel *ch = mem_calloc(all ? all : 1, sizeof *ch);
    size_t k = 0;
    for (size_t i = 0; i < in->n; i++)
        for (uint32_t j = 0; j < in->procs[i].nchannels && j < METRICS_TOP_MAX;
             j++)
            ch[k++] = in->procs[i].top[j];
    qsort(ch, k, sizeof *ch, monitor_channel_cmp_name);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u && strcmp(ch[u - 1].name, ch[i].name) == 0)
            ch[u - 1].subscribers += ch[i].subscribers;
        else
            ch[u++] = ch[i];
    }
    qsort(ch, u, sizeof *ch, monitor_channel_cmp_count);
    *out = ch;
    return u < top ? u : top;
}

/* A gauge per process, labelled by pid: its RSS (rss = 1) or open
 * descriptors; a process whose value is unknown (-1) is left out. */
static void monitor_per_process(struct buf *out,
                                const struct metrics_instance *in,
                                const char *name, const char *help, int rss)
{
    prom_family(out, name, "gauge", help);
    for (size_t i = 0; i < in->n; i++) {
        const struct metrics_slot *p = &in->procs[i];
        long long v = rss ? p->rss_bytes : p->fds;
        char pid[24];
        snprintf(pid, sizeof pid, "%lld", (long long)p->pid);
        const char *l[] = { "pid", pid, NULL };
        if (v >= 0)
            prom_sample(out, name, l, (uint64_t)v);
    }
}

static void monitor_write_prom(struct stream_monitor *m, struct buf *out)
{
    const struct metrics_instance *in = &m->inst;
    const struct metrics_counts *c = &in->sum;
    monitor_gauge(out, "sselight_processes",
                  "Stream processes counted (sharing this data directory).",
                  in->n);
    monitor_gauge(out, "sselight_connections",
                  "FastCGI connections open (a CGI stream process counts 1).",
                  c->g.connections);
    prom_family(out, "sselight_streams", "gauge",
                "Event streams open, by kind.");
    const char *subl[] = { "kind", "subscriber", NULL };
    const char *deml[] = { "kind", "demo", NULL };
    const char *stal[] = { "kind", "status", NULL };
    prom_sample(out, "sselight_streams", subl, c->g.subscribers);
    prom_sample(out, "sselight_streams", deml, c->g.demo_streams);
    prom_sample(out, "sselight_streams", stal, c->g.status_viewers);
    monitor_gauge(out, "sselight_subscribers",
                  "Channel subscribers open.", c->g.subscribers);
    struct metrics_channel *top;
    size_t ntop = monitor_top_channels(in, m->c.top_channels, &top);
    prom_family(out, "sselight_channel_subscribers", "gauge",
                "Subscribers of the channels with the most "
                "(SSELIGHT_METRICS_TOP_CHANNELS of them, per process).");
    for (size_t i = 0; i < ntop; i++) {
        const char *l[] = { "channel", top[i].name, NULL };
        prom_sample(out, "sselight_channel_subscribers", l, top[i].subscribers);
    }
    free(top);
    monitor_counter(out, "sselight_events_published_total",
                    "Events stored by publishes.", c->t.published);
    monitor_counter(out, "sselight_events_delivered_total",
                    "Events written to subscribers.", c->t.delivered);
    monitor_counter(out, "sselight_heartbeats_total",
                    "Heartbeat comments written to subscribers.",
                    c->t.heartbeats);
    prom_family(out, "sselight_streams_opened_total", "counter",
                "Event streams opened, by kind.");
    prom_sample(out, "sselight_streams_opened_total", subl, c->t.subscriptions);
    prom_sample(out, "sselight_streams_opened_total", deml, c->t.demo_streams);
    monitor_counter(out, "sselight_connections_accepted_total",
                    "FastCGI connections accepted.", c->t.accepted);
    monitor_counter(out, "sselight_sends_total",
                    "send() calls that wrote bytes to the web server.",
                    c->t.sends);
    prom_family(out, "sselight_connections_closed_total", "counter",
                "Connections closed before their response ended, by reason.");
    for (int i = 0; i < METRICS_CLOSED_N; i++) {
        const char *l[] = { "reason", metrics_closed_name[i], NULL };
        prom_sample(out, "sselight_connections_closed_total", l,
                    c->t.closed[i]);
    }
    prom_family(out, "sselight_requests_refused_total", "counter",
                "Requests answered with an error, by status and reason.");
    for (int i = 0; i < METRICS_REFUSED_N; i++) {
        char status[8];
        snprintf(status, sizeof status, "%d", metrics_refused_status[i]);
        uint64_t v = c->t.refused[i];
        if (metrics_refused_status[i] == 503) {
            uint64_t cap = c->t.refused_cap, busy = c->t.refused_busy;
            const char *lc[] = { "status", status, "reason", "subscriber_cap",
                                 NULL };
            const char *lb[] = { "status", status, "reason", "store_busy",
                                 NULL };
            prom_sample(out, "sselight_requests_refused_total", lc, cap);
            prom_sample(out, "sselight_requests_refused_total", lb, busy);
            v = v > cap + busy ? v - cap - busy : 0;
        }
        const char *l[] = { "status", status, "reason",
                            metrics_refused_reason[i], NULL };
        prom_sample(out, "sselight_requests_refused_total", l, v);
    }
    prom_family(out, "sselight_broker_info", "gauge",
                "The broker this instance uses (value always 1).");
    const char *bl[] = { "kind", m->broker_kind, NULL };
    prom_sample(out, "sselight_broker_info", bl, 1);
    monitor_gauge(out, "sselight_broker_up",
                  "1 when every process's broker can wake subscribers "
                  "(Redis: the live connection is up).", in->broker_up);
    monitor_counter(out, "sselight_broker_reconnects_total",
                    "Reconnects of the broker's live connection.",
                    c->t.broker_reconnects);
    monitor_gauge(out, "sselight_store_pending",
                  "Store jobs waiting for the store thread.",
                  c->g.store_pending);
    prom_histogram(out, "sselight_publish_commit_seconds",
                   "Time from a publish's arrival to its commit.",
                   metrics_bucket_le, METRICS_BUCKETS, c->t.commit.bucket,
                   (double)c->t.commit.sum_us / 1e6);
    prom_histogram(out, "sselight_fanout_duration_seconds",
                   "Time one fan-out round takes to hand new events to "
                   "every subscriber.",
                   metrics_bucket_le, METRICS_BUCKETS, c->t.fanout.bucket,
                   (double)c->t.fanout.sum_us / 1e6);
    monitor_per_process(out, in, "sselight_process_resident_memory_bytes",
                        "Resident memory of each stream process.", 1);
    monitor_per_process(out, in, "sselight_process_open_fds",
                        "Open file descriptors of each stream process.", 0);
}

static void monitor_reply_metrics(struct stream_monitor *m,
                                  struct stream_conn *conn,
                                  enum http_method method)
{
    struct buf out = BUF_INIT;
    monitor_refresh(m, 1);
    http_begin_head(&out, 200, PROM_CONTENT_TYPE);
    buf_append_str(&out, "Cache-Control: no-store\r\n");
    http_end_head(&out);
    if (method == HTTP_GET)
        monitor_write_prom(m, &out);
    (void)stream_conn_reply(conn, &out);
    buf_free(&out);
}

/* ---- /stats ------------------------------------------------------------ */

void stream_monitor_append_json(struct stream_monitor *m, struct buf *out)
{
    monitor_refresh(m, 1);
    const struct metrics_instance *in = &m->inst;
    buf_append_str(out, ",\"processes\":[");
    for (size_t i = 0; i < in->n; i++) {
        const struct metrics_slot *p = &in->procs[i];
        buf_appendf(out, "%s{\"pid\":%lld,\"kind\":\"%s\",\"rss_bytes\":%lld,"
                    "\"fds\":%lld,\"connections\":%llu,\"subscribers\":%llu,"
                    "\"demo_streams_open\":%llu,\"delivered\":%llu,"
                    "\"published\":%llu,\"updated_ms\":%lld}", i ? "," : "",
                    (long long)p->pid, p->cgi ? "cgi" : "fastcgi",
                    (long long)p->rss_bytes, (long long)p->fds,
                    (unsigned long long)p->c.g.connections,
                    (unsigned long long)p->c.g.subscribers,
                    (unsigned long long)p->c.g.demo_streams,
                    (unsigned long long)p->c.t.delivered,
                    (unsigned long long)p->c.t.published,
                    (long long)p->updated_ms);
    }
    const struct metrics_counts *c = &in->sum;
    buf_appendf(out, "],\"totals\":{\"processes\":%zu,\"connections\":%llu,"
                "\"subscribers\":%llu,\"demo_streams_open\":%llu,"
                "\"published\":%llu,\"delivered\":%llu,\"heartbeats\":%llu,"
                "\"refused_cap\":%llu,\"refused_busy\":%llu,"
                "\"broker_up\":%s}", in->n,
                (unsigned long long)c->g.connections,
                (unsigned long long)c->g.subscribers,
                (unsigned long long)c->g.demo_streams,
                (unsigned long long)c->t.published,
                (unsigned long long)c->t.delivered,
                (unsigned long long)c->t.heartbeats,
                (unsigned long long)c->t.refused_cap,
                (unsigned long long)c->t.refused_busy,
                in->broker_up ? "true" : "false");
}

/* ---- access and routing ------------------------------------------------ */

int stream_monitor_allow(const struct stream_monitor *m,
                         struct stream_conn *conn, enum http_method method)
{
    const char *why;
    int status = auth_monitor_check(
        stream_conn_param(conn, "REMOTE_ADDR"),
        stream_conn_param(conn, "HTTP_AUTHORIZATION"), m->token, &why);
    if (status == 0)
        return 0;
    stream_reply_error(conn, method, status, NULL, why);
    return -1;
}

int stream_monitor_handle(struct stream_monitor *m, struct stream_conn *conn,
                          enum http_method method, const char *path)
{
    int metrics = strcmp(path, "/metrics") == 0;
    if (!metrics && strcmp(path, "/streams/status") != 0)
        return 0;
    if (method != HTTP_GET && method != HTTP_HEAD) {
        stream_reply_error(conn, method, 405, NULL,
                           "method not allowed: use GET or HEAD");
        return 1;
    }
    if (stream_monitor_allow(m, conn, method) != 0)
        return 1;
    if (metrics)
        monitor_reply_metrics(m, conn, method);
    else
        monitor_open_status(m, conn, method);
    return 1;
}

struct stream_monitor *stream_monitor_new(struct loop *loop,
                                          const struct stream_monitor_config *c,
                                          stream_monitor_fill_fn *fill,
                                          void *fill_arg)
{
    struct stream_monitor *m = mem_calloc(1, sizeof *m);
    m->loop = loop;
    m->c = *c;
    m->fill = fill;
    m->fill_arg = fill_arg;
    if (m->c.top_channels > METRICS_TOP_MAX)
        m->c.top_channels = METRICS_TOP_MAX;
    snprintf(m->token, sizeof m->token, "%s", c->token ? c->token : "");
    snprintf(m->broker_kind, sizeof m->broker_kind, "%s",
             c->broker_kind ? c->broker_kind : "sqlite");
    m->c.token = NULL;
    m->c.broker_kind = NULL;
    char err[300];
    m->slots = metrics_slots_open(c->data_dir, err, sizeof err);
    if (!m->slots)
        fprintf(stderr, "stream: metrics: %s; /metrics and /stats count this "
                "process only\n", err);
    loop_timer_init(&m->tick, monitor_on_tick);
    loop_timer_start(loop, &m->tick, c->cgi ? MONITOR_TICK_MS : 0);
    return m;
}

void stream_monitor_free(struct stream_monitor *m)
{
    if (!m)
        return;
    loop_timer_stop(m->loop, &m->tick);
    if (m->slots) {
        /* The final totals go to the slot, then to the retired totals. */
        if (monitor_write_mine(m, 0) != 0)
            fprintf(stderr, "stream: metrics: writing the last numbers: "
                    "%m; the totals of the last second are lost\n");
        metrics_slots_close(m->slots);
    }
    metrics_instance_free(&m->inst);
    free(m);
}
