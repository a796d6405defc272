/* broker: picks the backend and passes calls on to it. See broker.h. */
#include "broker.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker_impl.h"
#include "buf.h"
#include "redis_url.h"

struct broker *broker_open(const char *url, const char *dir, unsigned history,
                           char *err, size_t errlen)
{
    if (!url || !*url)
        return broker_sqlite_open(dir, history, err, errlen);
    struct redis_url u;
    const char *why;
    if (redis_url_parse(url, &u, &why) != 0) {
        snprintf(err, errlen, "SSELIGHT_BROKER is not a Redis address: %s",
                 why);
        return NULL;
    }
    return broker_redis_open(&u, history, err, errlen);
}

void broker_close(struct broker *b)
{
    if (b)
        b->ops->close(b);
}

const char *broker_error(const struct broker *b)
{
    return b->error;
}

long long broker_wall_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int broker_fail_text(struct broker *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->error, sizeof b->error, fmt, ap);
    va_end(ap);
    return -1;
}

int broker_publish_many(struct broker *b, const char *channel,
                        const struct broker_new_event *evs, size_t n,
                        const char *key, long long *first_id,
                        size_t *n_stored)
{
    return b->ops->publish_many(b, channel, evs, n, key, first_id, n_stored);
}

size_t broker_publish_group(struct broker *b, struct broker_publish *items,
                            size_t n)
{
    if (b->ops->publish_group)
        return b->ops->publish_group(b, items, n);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        struct broker_publish *p = &items[i];
        p->rc = b->ops->publish_many(b, p->channel, p->evs, p->n, p->key,
                                     &p->first_id, &p->n_stored);
        ok += p->rc >= 0;
    }
    return ok;
}

int broker_feed_in_memory(const struct broker *b)
{
    return b->ops->feed_in_memory;
}

int broker_publish(struct broker *b, const char *channel, const char *event,
                   const char *data, size_t len, const char *key,
                   long long *id)
{
    struct broker_new_event ev = { event, data, len };
    size_t stored;
    return b->ops->publish_many(b, channel, &ev, 1, key, id, &stored);
}

long broker_read_since(struct broker *b, long long after,
                       const char *const *channels, size_t nch, size_t limit,
                       broker_event_fn *fn, void *arg)
{
    if (nch > BROKER_CHANNELS_MAX)
        return broker_fail_text(b, "too many channels (%zu)", nch);
    return b->ops->read_since(b, after, channels, nch, limit, fn, arg);
}

int broker_history_start(struct broker *b, const char *const *channels,
                         size_t nch, unsigned n, long long *after)
{
    if (nch > BROKER_CHANNELS_MAX || nch == 0)
        return broker_fail_text(b, "bad channel count (%zu)", nch);
    if (n == 0)
        return b->ops->last_id(b, after);
    return b->ops->history_start(b, channels, nch, n, after);
}

int broker_last_id(struct broker *b, long long *id)
{
    return b->ops->last_id(b, id);
}

int broker_pruned_upto(struct broker *b, const char *channel, long long *id)
{
    return b->ops->pruned_upto(b, channel, id);
}

int broker_key_id(struct broker *b, const char *channel, const char *key,
                  long long *id)
{
    return b->ops->key_id(b, channel, key, id);
}

int broker_watch(struct broker *b, struct loop *loop, broker_wake_fn *fn,
                 void *arg)
{
    return b->ops->watch(b, loop, fn, arg);
}

void broker_set_wait_ms(struct broker *b, unsigned ms)
{
    b->ops->set_wait_ms(b, ms);
}

const char *broker_kind(const struct broker *b)
{
    return b->ops->kind;
}

void broker_health(const struct broker *b, int *up, uint64_t *reconnects)
{
    *up = 1;
    *reconnects = 0;
    if (b->ops->health)
        b->ops->health(b, up, reconnects);
}

void broker_append_stats_json(const struct broker *b, struct buf *out)
{
    buf_appendf(out, "\"broker\":{\"kind\":\"%s\"", b->ops->kind);
    b->ops->append_health_json(b, out);
    buf_append_byte(out, '}');
}
