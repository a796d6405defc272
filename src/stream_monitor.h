/* stream_monitor: the stream responder's operations view of the whole
 * instance (every stream process sharing the data directory, through
 * metrics_slots):
 *   GET /metrics         Prometheus text format, summed over processes
 *   GET /stats           JSON (the caller's own members, then these)
 *   GET /streams/status  SSE: the /status page's live fragment, each second
 * They reveal channel names, so they answer only to loopback, or to
 * "Authorization: Bearer" with SSELIGHT_METRICS_TOKEN. Every second each
 * process copies its counters into its slot and keeps a sample of the
 * instance's totals for the status charts. */
#ifndef SSELIGHT_STREAM_MONITOR_H
#define SSELIGHT_STREAM_MONITOR_H

#include <stddef.h>

#include "buf.h"
#include "http.h"
#include "loop.h"
#include "metrics_slots.h"
#include "stream_conn.h"

#define MONITOR_TICK_MS 1000
#define MONITOR_HISTORY 300          /* samples: five minutes */
#define MONITOR_STATUS_EVENT "status"

struct stream_monitor_config {
    const char *data_dir;     /* where metrics.slots lives */
    const char *token;        /* SSELIGHT_METRICS_TOKEN; NULL: loopback only */
    unsigned top_channels;    /* channels labelled in /metrics (0: none) */
    int cgi;                  /* this process serves one CGI request */
    const char *broker_kind;  /* for the info metric and the page */
};

/* Fills this process's numbers into mine (pid, started_ms and updated_ms
 * are set by metrics_slots; top holds at most top_channels entries). */
typedef void stream_monitor_fill_fn(void *arg, struct metrics_slot *mine);

struct stream_monitor;

/* Takes a metrics slot (without one, logged, the view covers this process
 * only) and starts the one-second tick. */
struct stream_monitor *stream_monitor_new(struct loop *loop,
                                          const struct stream_monitor_config *c,
                                          stream_monitor_fill_fn *fill,
                                          void *fill_arg);

/* Gives the slot back (its totals stay in the instance's) and frees. */
void stream_monitor_free(struct stream_monitor *m);

/* 1 if path is /metrics or /streams/status: answered here (after the
 * access check). 0: not ours. */
int stream_monitor_handle(struct stream_monitor *m, struct stream_conn *conn,
                          enum http_method method, const char *path);

/* 0 if conn may see the monitoring routes; else answers it (401 or 403,
 * and a log line) and returns -1. */
int stream_monitor_allow(const struct stream_monitor *m,
                         struct stream_conn *conn, enum http_method method);

/* Appends ",\"processes\":[...],\"totals\":{...}" for the whole instance. */
void stream_monitor_append_json(struct stream_monitor *m, struct buf *out);

/* Resident memory and open descriptors of this process; -1 for what
 * cannot be read. fds may be NULL: not counted. */
void stream_monitor_proc_usage(long long *rss_bytes, long long *fds);

#endif
