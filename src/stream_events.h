/* stream_events: the channels API of the stream responder. GET
 * /events/<channel> (or /events?channel=a&channel=b) subscribes with SSE,
 * resuming after Last-Event-ID or starting with ?history=N; POST
 * /events/<channel>?event=NAME publishes the raw body. Events come from the
 * broker; this module fans them out to its subscribers as they commit. */
#ifndef SSELIGHT_STREAM_EVENTS_H
#define SSELIGHT_STREAM_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "stream_conn.h"
#include "http.h"
#include "loop.h"
#include "metrics.h"
#include "metrics_slots.h"

#define EVENTS_BODY_MAX (64 * 1024)  /* publish body limit: 413 past it */
#define EVENTS_HISTORY_MAX 100       /* ?history=N upper bound */
#define EVENTS_RETRY_MS 3000         /* retry: hint at the start of a stream */
#define EVENTS_HEARTBEAT_MS 15000    /* default: comment line to every subscriber */
#define EVENTS_MISSED_EVENT "sselight-missed"
#define EVENTS_BATCH_MAX 1000        /* events in one batch publish */

struct stream_events_config {
    const char *broker_url;     /* SSELIGHT_BROKER; NULL: embedded broker */
    const char *data_dir;       /* where the embedded broker lives */
    const char *publish_token;  /* NULL: publishing only from loopback */
    const char *subscribe_secret; /* signs private-* tokens; NULL: none */
    unsigned history;           /* events kept per channel (0: default) */
    unsigned heartbeat_ms;      /* 0: EVENTS_HEARTBEAT_MS */
    size_t max_subscribers;     /* in this process; past it 503 (0: no cap) */
    size_t max_channel_subscribers; /* per channel; past it 503 (0: no cap) */
    size_t store_queue;         /* publishes pending; past it 503 (0: default) */
};

struct stream_events_stats {
    uint64_t published;     /* through this process */
    uint64_t delivered;     /* events written to subscribers */
    uint64_t heartbeats;    /* heartbeat comments written */
    uint64_t refused_cap;   /* subscriptions refused by a subscriber cap */
    uint64_t refused_busy;  /* publishes refused: the store queue was full */
    uint64_t subscriptions; /* subscriptions opened */
    size_t subscribers;     /* open right now */
    struct metrics_hist commit; /* publish received -> answered committed */
    struct metrics_hist fanout; /* one fan-out round on the loop */
};

struct stream_events;

/* Opens the broker and starts watching it. Returns NULL with err set. */
struct stream_events *stream_events_new(struct loop *loop,
                                        const struct stream_events_config *c,
                                        char *err, size_t errlen);
void stream_events_free(struct stream_events *ev);

/* 1 if path belongs to the channels API ("/events" or "/events/..."). */
int stream_events_match(const char *path);

/* Answers one request on the channels API. query may be NULL. */
void stream_events_handle(struct stream_events *ev, struct stream_conn *conn,
                          enum http_method method, const char *path,
                          const char *query);

struct mercure_sub;
struct mercure_update;

/* Subscribes conn to the Mercure updates that m (taken over) selects, from
 * now, or after m->resume, or (m->earliest) every kept one. As a channels
 * subscription: the same caps (the updates are the channel
 * MERCURE_CHANNEL), heartbeats and fan-out. */
void stream_events_subscribe_mercure(struct stream_events *ev,
                                     struct stream_conn *conn,
                                     enum http_method method,
                                     struct mercure_sub *m);

/* Stores u (checked, with its id) and answers once committed: 200 with
 * the id as text/plain, 409 when an update with that id is still kept,
 * 503 when the store failed or was busy. */
void stream_events_publish_mercure(struct stream_events *ev,
                                   struct stream_conn *conn,
                                   enum http_method method,
                                   const struct mercure_update *u);

struct stream_events_stats stream_events_stats(const struct stream_events *ev);

/* Appends "\"channels\":{\"name\":subscribers,...}" (JSON member, no braces
 * around it) for the channels this process serves. */
void stream_events_append_channels_json(const struct stream_events *ev,
                                        struct buf *out);

/* Fills top with the (at most max) channels of this process that have the
 * most subscribers, most first; returns how many. */
size_t stream_events_top_channels(const struct stream_events *ev,
                                  struct metrics_channel *top, size_t max);

/* "sqlite" or "redis". */
const char *stream_events_broker_kind(const struct stream_events *ev);

/* The broker's health (broker_health) and the store jobs waiting. */
void stream_events_health(const struct stream_events *ev, int *up,
                          uint64_t *reconnects, size_t *store_pending);

/* Appends "\"broker\":{...},\"store\":{...}": the backend and its
 * health, and the store thread's queue and group commits. */
void stream_events_append_broker_json(const struct stream_events *ev,
                                      struct buf *out);

#endif
