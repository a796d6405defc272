/* broker: durable channels of events, shared by every process that uses the
 * same store. Two backends behind one interface:
 *   - embedded (the default): SQLite in WAL mode, one file DIR/broker.db,
 *     wake-ups between processes through notify. One machine.
 *   - Redis (SSELIGHT_BROKER=redis://...): one Redis Stream per channel,
 *     shared by every sselight instance that names the same server, with
 *     live events over Redis Pub/Sub. See broker_redis.c.
 * Ids are global and increasing across channels (in Redis too: a counter
 * assigns them), so one Last-Event-ID resumes a connection that follows
 * several channels, on any instance. Calls block briefly on the store: a
 * SQLite writer waits at most BROKER_BUSY_MS for another's lock, a Redis
 * command at most BROKER_REDIS_TIMEOUT_MS. */
#ifndef SSELIGHT_BROKER_H
#define SSELIGHT_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "loop.h"

#define BROKER_BUSY_MS 2000
#define BROKER_REDIS_TIMEOUT_MS 1000 /* connect or command, Redis backend */
#define BROKER_GAP (-2) /* broker_read_since: see there */
#define BROKER_HISTORY_DEFAULT 1000 /* events kept per channel */
#define BROKER_CHANNELS_MAX 16      /* channels one read can name */

struct broker;

struct broker_event {
    long long id;
    const char *channel;
    const char *event;
    const char *data;  /* not NUL-terminated inside; data_len bytes */
    size_t data_len;
    long long created_ms;
};

/* Called once per event, in id order. Pointers are valid during the call.
 * Return 0 to go on, non-zero to stop the read. */
typedef int broker_event_fn(const struct broker_event *ev, void *arg);

/* Opens the broker. url NULL or "": the embedded one, DIR/broker.db
 * (created if needed). Otherwise a Redis address (see redis_url.h); dir is
 * not used, and a Redis that cannot be reached yet is not an error (calls
 * fail until it can). history = events kept per channel (0:
 * BROKER_HISTORY_DEFAULT; approximate in Redis, which trims whole nodes).
 * SSELIGHT_SYNC in the environment picks the embedded broker's durability:
 * "normal" (default: a published event survives the crash of any process)
 * or "full" (also a power loss: fsync per publish); Redis' durability is
 * its own appendonly/appendfsync setting. Returns NULL with a reason in
 * err (for a bad url, starting "SSELIGHT_BROKER"). */
struct broker *broker_open(const char *url, const char *dir, unsigned history,
                           char *err, size_t errlen);
void broker_close(struct broker *b);

/* The last error text of b (for logs). */
const char *broker_error(const struct broker *b);

struct broker_new_event {
    const char *event;      /* a valid event name */
    const char *data;
    size_t len;
};

/* Publishes n events to channel in one transaction, in order: appends them
 * with consecutive ids (the first in *first_id, *n_stored = n), drops what
 * is past the history bound, commits durably, then wakes every subscriber
 * process. Returns 0, or -1 with nothing stored (see broker_error).
 * key (NULL: none) is an idempotency key, so a publisher that did not get
 * its answer can send again without storing twice: when key was used in
 * channel by a publish whose first event is still kept, nothing is stored,
 * *first_id and *n_stored are that publish's, and the return is 1. key must
 * be valid text (callers validate it). */
int broker_publish_many(struct broker *b, const char *channel,
                        const struct broker_new_event *evs, size_t n,
                        const char *key, long long *first_id,
                        size_t *n_stored);

/* One publish of a group: the inputs of broker_publish_many, and its
 * results. */
struct broker_publish {
    const char *channel;
    const struct broker_new_event *evs;
    size_t n;
    const char *key;        /* NULL: none */
    int rc;                 /* out: broker_publish_many's return */
    long long first_id;     /* out, when rc >= 0 */
    size_t n_stored;        /* out, when rc >= 0 */
};

/* Group commit: stores items[0..n) as broker_publish_many would each, in
 * order, but in one transaction of the embedded broker: one commit (one
 * fsync with SSELIGHT_SYNC=full) and one wake-up for all. Each item keeps
 * its own consecutive ids and its own key (a key repeated later in the
 * group is a repeat of the earlier item). An item that fails stores
 * nothing and the others go on; when the commit fails, every item that
 * would have stored gets -1. Sets each item's rc; returns how many have
 * rc >= 0. broker_error tells the last failure. */
size_t broker_publish_group(struct broker *b, struct broker_publish *items,
                            size_t n);

/* 1 when broker_read_since with nch == 0 reads only memory (the Redis
 * backend's live feed) and so may run on an event loop; 0 when it reads
 * the store. */
int broker_feed_in_memory(const struct broker *b);

/* broker_publish_many of one event; *id is its id (or, returning 1, the
 * first id of the earlier publish with key). */
int broker_publish(struct broker *b, const char *channel, const char *event,
                   const char *data, size_t len, const char *key,
                   long long *id);

/* Calls fn for events with id > after, in the given channels, in id order,
 * at most limit of them. Returns how many were passed to fn, or -1.
 * nch == 0 reads every channel: the live feed the watch wakes you for.
 * The embedded broker reads it from its file; the Redis backend from what
 * its live connection received, and when that may have missed some (after
 * a reconnect) it returns BROKER_GAP once: read each subscriber's channels
 * from its last id instead, then go on with nch == 0. */
long broker_read_since(struct broker *b, long long after,
                       const char *const *channels, size_t nch, size_t limit,
                       broker_event_fn *fn, void *arg);

/* The id after which the last n events of the channels start (0 when they
 * hold n or fewer). Returns 0 and sets *after, or -1. */
int broker_history_start(struct broker *b, const char *const *channels,
                         size_t nch, unsigned n, long long *after);

/* The highest id ever assigned (0 when none). Returns 0, or -1. */
int broker_last_id(struct broker *b, long long *id);

/* The highest id dropped from channel by the history bound (0 if none):
 * a client resuming after an id below it has missed events. 0 or -1. */
int broker_pruned_upto(struct broker *b, const char *channel, long long *id);

/* The first id of the kept publish to channel that used key (an
 * idempotency key; a Mercure update's id is one): 1 and *id when there is
 * one, 0 when no publish whose first event is still kept used it, -1 on
 * error. A resume by such a key reads from here instead of scanning. */
int broker_key_id(struct broker *b, const char *channel, const char *key,
                  long long *id);

/* Called when events may have been published (read them with nch == 0). */
typedef void broker_wake_fn(void *arg);

/* Starts watching for new events in loop: fn(arg) runs after publishes by
 * any process (any instance, with Redis) and after the Redis backend gets
 * its live connection back. Once per broker. Returns 0, or -1 with the
 * error in broker_error. */
int broker_watch(struct broker *b, struct loop *loop, broker_wake_fn *fn,
                 void *arg);

/* How long one call may wait for the store: for another process's write
 * lock (embedded), for a command's answer (Redis; connecting keeps
 * BROKER_REDIS_TIMEOUT_MS). The default, BROKER_BUSY_MS or
 * BROKER_REDIS_TIMEOUT_MS, suits a caller that must not wait long; the
 * stream responder's store thread, which holds no client while it waits,
 * sets more. */
void broker_set_wait_ms(struct broker *b, unsigned ms);

/* "sqlite" or "redis". */
const char *broker_kind(const struct broker *b);

/* Appends "\"broker\":{\"kind\":...,...}" (a JSON member) with the backend's
 * health: for Redis, where it points, whether the live connection is up,
 * how often it reconnected and the last error. */
void broker_append_stats_json(const struct broker *b, struct buf *out);

/* For metrics: *up is 1 while the backend can wake subscribers (always for
 * SQLite; for Redis while the live connection is up), *reconnects counts
 * the live connection's reconnects. */
void broker_health(const struct broker *b, int *up, uint64_t *reconnects);

#endif
