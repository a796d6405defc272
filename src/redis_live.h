/* redis_live: the Redis broker's live feed. One hiredis asynchronous
 * connection per process, run in our event loop (redis_loop), subscribed to
 * the Pub/Sub channel every publish also writes to. Each message carries
 * one stored event ("ID\nCHANNEL\nEVENT\nDATA"); they queue here, in id
 * order, until read. Ids are consecutive, so a hole shows: after one, and
 * after every (re)connect, the next read reports a gap and the reader
 * catches up from the streams. A lost connection is retried after 100 ms,
 * doubling up to 2 s. */
#ifndef SSELIGHT_REDIS_LIVE_H
#define SSELIGHT_REDIS_LIVE_H

#include <stddef.h>

#include "broker.h"
#include "buf.h"
#include "loop.h"
#include "redis_url.h"

#define REDIS_LIVE_QUEUE_MAX 20000 /* events held unread; past it: a gap */
#define REDIS_LIVE_BACKOFF_FIRST_MS 100
#define REDIS_LIVE_BACKOFF_MAX_MS 2000

/* The wait before the next connect attempt after one of ms failed (0: the
 * first failure). The command connection uses it too. */
unsigned redis_live_next_backoff(unsigned ms);

struct redis_live;

/* The Pub/Sub channel of database db ("sselight:live:DB"): Pub/Sub is
 * shared by all databases of a server, so the name carries it. */
void redis_live_channel(int db, char *out, size_t outsz);

/* "N-0" or "N" -> N; -1 when s is not an id of ours. */
long long redis_live_parse_id(const char *s, size_t len);

/* A feed for url (target: how logs name it). Not connected yet. */
struct redis_live *redis_live_new(const struct redis_url *url,
                                  const char *target);

/* Connects in loop and keeps connected. wake(arg) runs after messages were
 * queued or the connection came (back); connected(arg) when it did. */
void redis_live_start(struct redis_live *lv, struct loop *loop,
                      void (*wake)(void *arg), void (*connected)(void *arg),
                      void *arg);

/* Passes queued events after `after` to fn (at most limit), dropping them
 * from the queue; BROKER_GAP instead, once, when the feed may have missed
 * some. Returns how many were passed. */
long redis_live_read(struct redis_live *lv, long long after, size_t limit,
                     broker_event_fn *fn, void *arg);

/* Records why the server could not be reached (before the first connect). */
void redis_live_note_error(struct redis_live *lv, const char *why);

/* Appends ",\"live\":...,\"reconnects\":N,\"queued\":N,\"error\":\"...\"". */
void redis_live_health_json(const struct redis_live *lv, struct buf *out);

/* *up: 1 while connected and subscribed; *reconnects: as in the JSON. */
void redis_live_health(const struct redis_live *lv, int *up,
                       uint64_t *reconnects);

/* Closes the connection (no callback after this) and frees lv. */
void redis_live_free(struct redis_live *lv);

#endif
