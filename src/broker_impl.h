/* broker_impl: what a broker backend provides. broker.c holds the public
 * functions of broker.h and passes each call to the backend's ops; a
 * backend's struct starts with a struct broker. Not for other modules. */
#ifndef SSELIGHT_BROKER_IMPL_H
#define SSELIGHT_BROKER_IMPL_H

#include "broker.h"
#include "redis_url.h"

struct broker_ops {
    const char *kind; /* "sqlite", "redis": for /stats and logs */
    int feed_in_memory; /* read_since with nch == 0 makes no store call */
    void (*close)(struct broker *b);
    int (*publish_many)(struct broker *b, const char *channel,
                        const struct broker_new_event *evs, size_t n,
                        const char *key, long long *first_id,
                        size_t *n_stored);
    /* NULL: broker_publish_group calls publish_many for each. */
    size_t (*publish_group)(struct broker *b, struct broker_publish *items,
                            size_t n);
    long (*read_since)(struct broker *b, long long after,
                       const char *const *channels, size_t nch, size_t limit,
                       broker_event_fn *fn, void *arg);
    int (*history_start)(struct broker *b, const char *const *channels,
                         size_t nch, unsigned n, long long *after);
    int (*last_id)(struct broker *b, long long *id);
    int (*pruned_upto)(struct broker *b, const char *channel, long long *id);
    int (*key_id)(struct broker *b, const char *channel, const char *key,
                  long long *id);
    void (*set_wait_ms)(struct broker *b, unsigned ms);
    int (*watch)(struct broker *b, struct loop *loop, broker_wake_fn *fn,
                 void *arg);
    /* NULL: always up, no reconnects. */
    void (*health)(const struct broker *b, int *up, uint64_t *reconnects);
    /* Appends the members of the "broker" object after "kind". */
    void (*append_health_json)(const struct broker *b, struct buf *out);
};

struct broker {
    const struct broker_ops *ops;
    char error[256];
};

/* Wall-clock time in ms: an event's created_ms. */
long long broker_wall_ms(void);

/* Records a formatted error in b->error; returns -1. */
int broker_fail_text(struct broker *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The backends' constructors; NULL with a reason in err. */
struct broker *broker_sqlite_open(const char *dir, unsigned history,
                                  char *err, size_t errlen);
struct broker *broker_redis_open(const struct redis_url *url, unsigned history,
                                 char *err, size_t errlen);

#endif
