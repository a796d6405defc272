/* status_view: the live part of the /status page as an HTML fragment: the
 * instance's numbers, one row per stream process, and two small inline
 * SVG charts of the last minutes, drawn here (no chart library, no inline
 * style: it fits the pages' Content-Security-Policy). Pure. */
#ifndef SSELIGHT_STATUS_VIEW_H
#define SSELIGHT_STATUS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define STATUS_CHART_W 300   /* SVG user units */
#define STATUS_CHART_H 80

struct status_process {
    long long pid;
    int cgi;
    uint64_t connections, subscribers;
    long long rss_bytes;   /* -1: unknown */
};

struct status_numbers {
    size_t processes;
    uint64_t connections, subscribers, demo_streams, store_pending;
    double deliveries_per_s, publishes_per_s;
    uint64_t fanout_p99_us;    /* 0: no fan-out in the window */
    const char *broker_kind;   /* "sqlite", "redis" */
    int broker_up;             /* every process's broker is up */
    uint64_t delivered_total, published_total;
};

/* Appends the fragment: <div id="status-live"> ... </div>, no newline at
 * the end (it is SSE data as it is). subscribers and deliveries hold n
 * points each, oldest first, one per sample_s seconds. */
void status_view_render(struct buf *out, const struct status_numbers *num,
                        const struct status_process *procs, size_t nprocs,
                        const double *subscribers, const double *deliveries,
                        size_t n, unsigned sample_s);

/* Appends an SVG line chart of the n values (oldest first) scaled to the
 * largest: <svg class="chart" viewBox=...><title>...</title><polyline .../>
 * </svg>. title is trusted text. */
void status_view_chart(struct buf *out, const char *id, const char *title,
                       const double *v, size_t n);

#endif
