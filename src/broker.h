/* broker: durable channels of events, shared by every process on the
 * machine. The embedded backend is SQLite in WAL mode (one file,
 * DIR/broker.db); wake-ups go through notify. Ids are global and
 * increasing across channels, so one Last-Event-ID resumes a connection
 * that follows several channels. Calls block briefly on the database; a
 * writer waits at most BROKER_BUSY_MS for another writer's lock. */
#ifndef SSELIGHT_BROKER_H
#define SSELIGHT_BROKER_H

#include <stddef.h>

#define BROKER_BUSY_MS 2000
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

/* Opens (creating if needed) DIR/broker.db. history = events kept per
 * channel (0: BROKER_HISTORY_DEFAULT). SSELIGHT_SYNC in the environment
 * picks the durability: "normal" (default: a published event survives the
 * crash of any process) or "full" (also a power loss: fsync per publish).
 * Returns NULL with a reason in err. */
struct broker *broker_open(const char *dir, unsigned history, char *err,
                           size_t errlen);
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

/* broker_publish_many of one event; *id is its id (or, returning 1, the
 * first id of the earlier publish with key). */
int broker_publish(struct broker *b, const char *channel, const char *event,
                   const char *data, size_t len, const char *key,
                   long long *id);

/* Calls fn for events with id > after, in the given channels (nch == 0: all
 * channels), in id order, at most limit of them. Returns how many were
 * passed to fn, or -1. */
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

/* Starts receiving wake-ups; returns the fd to watch for EPOLLIN (then call
 * broker_watch_drain and read), or -1 with errno. */
int broker_watch(struct broker *b);
void broker_watch_drain(struct broker *b);

#endif
