/* metrics: one stream process's counters in a fixed layout of 64-bit
 * numbers, so they can live in shared memory (metrics_slots) and be summed
 * over processes. Gauges say how things are now; totals only grow, and the
 * totals of a process that exits are kept for the instance. Pure: no I/O
 * except the clock in metrics_now_us. */
#ifndef SSELIGHT_METRICS_H
#define SSELIGHT_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Histogram bucket bounds in seconds, ascending. An observation above the
 * largest goes to one more bucket (+Inf). */
#define METRICS_BUCKETS 14
extern const double metrics_bucket_le[METRICS_BUCKETS];

struct metrics_hist {
    uint64_t bucket[METRICS_BUCKETS + 1]; /* per bucket, not cumulative */
    uint64_t sum_us;                      /* sum of observations */
    uint64_t count;
};

/* Why a FastCGI connection was closed by something other than the end of
 * its response. */
enum metrics_closed {
    METRICS_CLOSED_CLIENT,    /* the client or the web server went away */
    METRICS_CLOSED_SLOW,      /* no byte taken for SSELIGHT_WRITE_TIMEOUT_MS */
    METRICS_CLOSED_CAP,       /* output queue past SSELIGHT_STREAM_OUT_MAX */
    METRICS_CLOSED_SHUTDOWN,  /* the process was stopped */
    METRICS_CLOSED_ERROR,     /* protocol or system error */
    METRICS_CLOSED_N
};
extern const char *const metrics_closed_name[METRICS_CLOSED_N];

/* Statuses the stream responder refuses requests with, by index. */
#define METRICS_REFUSED_N 8
extern const int metrics_refused_status[METRICS_REFUSED_N];
extern const char *const metrics_refused_reason[METRICS_REFUSED_N];

/* The index of status in metrics_refused_status, or -1. */
int metrics_refused_index(int status);

struct metrics_gauges {
    uint64_t connections;   /* FastCGI connections open (CGI: 1) */
    uint64_t demo_streams;  /* demonstration streams open */
    uint64_t subscribers;   /* channel subscribers open */
    uint64_t status_viewers;/* /streams/status streams open */
    uint64_t store_pending; /* store jobs waiting */
    uint64_t broker_up;     /* 1: the broker's live feed is connected */
};

/* Only uint64_t members: metrics_totals_add adds them as an array. */
struct metrics_totals {
    uint64_t published;        /* events stored through this process */
    uint64_t delivered;        /* events written to subscribers */
    uint64_t heartbeats;       /* heartbeat comments written */
    uint64_t accepted;         /* FastCGI connections accepted */
    uint64_t sends;            /* send() calls that took bytes */
    uint64_t demo_streams;     /* demonstration streams opened */
    uint64_t subscriptions;    /* channel subscriptions opened */
    uint64_t broker_reconnects;
    uint64_t refused_cap;      /* 503: a subscriber cap was reached */
    uint64_t refused_busy;     /* 503: the store queue was full */
    uint64_t closed[METRICS_CLOSED_N];
    uint64_t refused[METRICS_REFUSED_N]; /* by metrics_refused_status */
    struct metrics_hist commit; /* publish received -> committed */
    struct metrics_hist fanout; /* one fan-out round on the loop */
};

struct metrics_counts {
    struct metrics_gauges g;
    struct metrics_totals t;
};

/* Adds us microseconds as one observation. */
void metrics_observe(struct metrics_hist *h, uint64_t us);

/* to += from, member by member. */
void metrics_totals_add(struct metrics_totals *to,
                        const struct metrics_totals *from);
void metrics_gauges_add(struct metrics_gauges *to,
                        const struct metrics_gauges *from);

/* The upper bound in microseconds of the bucket that holds quantile q
 * (0 < q <= 1) of the observations in h, the largest bound when it lies
 * in +Inf, 0 when h is empty. now - before (before may be NULL) limits it
 * to the observations made in between. */
uint64_t metrics_hist_quantile_us(const struct metrics_hist *now,
                                  const struct metrics_hist *before, double q);

/* Monotonic clock in microseconds. */
uint64_t metrics_now_us(void);

#endif
