/* metrics: counters of one process and the arithmetic over them. See
 * metrics.h. */
#include "metrics.h"

#include <time.h>

/* From half a millisecond (a commit with SSELIGHT_SYNC=normal on a quiet
 * disk) to ten seconds (a stalled store). */
const double metrics_bucket_le[METRICS_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

const char *const metrics_closed_name[METRICS_CLOSED_N] = {
    "client_left", "slow", "output_cap", "shutdown", "error",
};

const int metrics_refused_status[METRICS_REFUSED_N] = {
    400, 401, 403, 404, 405, 413, 414, 503,
};

const char *const metrics_refused_reason[METRICS_REFUSED_N] = {
    "bad_request", "unauthorized", "forbidden", "not_found",
    "method_not_allowed", "body_too_large", "uri_too_long", "unavailable",
};

_Static_assert(sizeof(struct metrics_totals) % sizeof(uint64_t) == 0,
               "metrics_totals holds only uint64_t");
_Static_assert(sizeof(struct metrics_gauges) % sizeof(uint64_t) == 0,
               "metrics_gauges holds only uint64_t");

int metrics_refused_index(int status)
{
    for (int i = 0; i < METRICS_REFUSED_N; i++)
        if (metrics_refused_status[i] == status)
            return i;
    return -1;
}

void metrics_observe(struct metrics_hist *h, uint64_t us)
{
    size_t i = 0;
    while (i < METRICS_BUCKETS && (double)us > metrics_bucket_le[i] * 1e6)
        i++;
    h->bucket[i]++;
    h->sum_us += us;
    h->count++;
}

static void metrics_add_words(uint64_t *to, const uint64_t *from, size_t n)
{
    for (size_t i = 0; i < n; i++)
        to[i] += from[i];
}

void metrics_totals_add(struct metrics_totals *to,
                        const struct metrics_totals *from)
{
    metrics_add_words((uint64_t *)(void *)to, (const uint64_t *)(const void *)from,
                      sizeof *to / sizeof(uint64_t));
}

void metrics_gauges_add(struct metrics_gauges *to,
                        const struct metrics_gauges *from)
{
    metrics_add_words((uint64_t *)(void *)to, (const uint64_t *)(const void *)from,
                      sizeof *to / sizeof(uint64_t));
}

uint64_t metrics_hist_quantile_us(const struct metrics_hist *now,
                                  const struct metrics_hist *before, double q)
{
    uint64_t counts[METRICS_BUCKETS + 1], total = 0;
    for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
        counts[i] = now->bucket[i] - (before ? before->bucket[i] : 0);
        total += counts[i];
    }
    if (total == 0)
        return 0;
    double want = q * (double)total, seen = 0;
    for (size_t i = 0; i < METRICS_BUCKETS; i++) {
        seen += (double)counts[i];
        if (seen >= want)
            return (uint64_t)(metrics_bucket_le[i] * 1e6 + 0.5);
    }
    return (uint64_t)(metrics_bucket_le[METRICS_BUCKETS - 1] * 1e6 + 0.5);
}

uint64_t metrics_now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
