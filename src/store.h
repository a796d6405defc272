/* store: the stream responder's store thread. Every broker call that can
 * wait (for another process's SQLite write lock, a slow or absent Redis, a
 * disk) runs on one thread with its own broker connection. The event loop
 * hands a job over and gets it back, done, through an eventfd: it never
 * waits, so one slow store call no longer holds every stream of the
 * process. Publishes that queue up while a commit is in flight are
 * committed together in the next transaction (broker_publish_group).
 *
 * Jobs submitted as bounded (publishes) count against a bound; past it
 * store_submit refuses and the caller answers 503. The rest are not: a
 * subscription's start is bounded by the subscriber caps, and the reads the
 * responder makes for its own subscribers (the live feed, catching one up)
 * cannot be refused without losing events.
 *
 * Two threads, each with its own broker connection: a writer for
 * publishes and a reader for the rest, so subscribers still start while a
 * publish waits for another process's write lock.
 *
 * Thread contract: a submitted job belongs to the store until its done
 * callback runs, on the loop thread. Everything else is loop-thread only. */
#ifndef SSELIGHT_STORE_H
#define SSELIGHT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "buf.h"
#include "loop.h"
#include "query.h"

#define STORE_QUEUE_DEFAULT 1024 /* client jobs waiting or running */
#define STORE_GROUP_MAX 256      /* publishes in one transaction */
#define STORE_KEY_MAX 255        /* bytes of an idempotency key (a Mercure
                                  * update id is one) */
#define STORE_WAIT_MS 10000      /* a store call waits this long for a lock
                                  * or a Redis answer, then fails (503) */

enum store_op {
    /* Stores evs[0..n) in channels[0] under key. Results: rc (as
     * broker_publish_many returns), first_id, n_stored. */
    STORE_PUBLISH,
    /* Where a subscription starts. Inputs: channels, after (the resume id,
     * -1 for none), history. Results: last (the store's last id), start
     * (the id the client starts after: resume clamped to last, else the
     * history start, else last), pruned[i] (with a resume: the highest id
     * the history bound dropped from channel i), and the events after
     * start, all of them. rc 0 or -1. With a key (a Mercure resume), the
     * resume id is the first id of the kept publish with that key in
     * channels[0] (key_found 1); when none is kept (key_found 0) the job
     * reads the last event alone, and the caller starts live. */
    STORE_SUBSCRIBE,
    /* Events after `after` in channels (nch 0: every channel), at most
     * limit (0: no bound). Results: nread (count, BROKER_GAP or -1), the
     * events. rc 0 or -1. */
    STORE_READ,
};

/* One event a job read; its strings are in the job's text buffer. */
struct store_event {
    long long id, created_ms;
    size_t channel, event, data, len; /* offsets into text; len of data */
};

struct store_job;
typedef void store_done_fn(struct store_job *job, void *arg);

struct store_job {
    enum store_op op;
    /* inputs */
    char channels[BROKER_CHANNELS_MAX][QUERY_CHANNEL_MAX + 1];
    size_t nch;
    long long after;
    unsigned history;
    size_t limit;
    struct buf in;                  /* PUBLISH: names and data, see add */
    struct { size_t event, data, len; } *in_ev;
    size_t n;                       /* PUBLISH: events */
    char key[STORE_KEY_MAX + 1];    /* PUBLISH, SUBSCRIBE: "" for none */
    /* results */
    int rc;
    long long first_id, last, start;
    int key_found;                  /* SUBSCRIBE with a key: it is kept */
    size_t n_stored;
    long long pruned[BROKER_CHANNELS_MAX];
    long nread;
    struct store_event *ev;         /* nev events read, in id order */
    size_t nev, ev_cap;
    struct buf text;
    char error[256];                /* why, when rc is -1 */
    int cancelled;                  /* the store closed before it ran */
    /* the store's */
    int bounded;
    store_done_fn *done;
    void *arg;
    struct store_job *next;
};

struct store;

/* Opens the broker the thread uses (broker_open's arguments) and starts
 * the thread; done callbacks run from loop. queue_max bounds client jobs
 * (0: STORE_QUEUE_DEFAULT). Returns NULL with err set. */
struct store *store_open(struct loop *loop, const char *url, const char *dir,
                         unsigned history, size_t queue_max, char *err,
                         size_t errlen);

/* Lets the thread finish what is queued (publishes are committed), joins
 * it, then runs the done callback of every job not yet delivered with
 * cancelled set: free your state, touch no connection. */
void store_close(struct store *s);

/* A new job of kind op, inputs empty. */
struct store_job *store_job_new(enum store_op op);
void store_job_free(struct store_job *job);

/* Adds the i-th event to a PUBLISH job (name and data are copied). */
void store_job_add(struct store_job *job, const char *event, const char *data,
                   size_t len);

/* Sets a job's channels (copied; each at most QUERY_CHANNEL_MAX bytes). */
void store_job_set_channels(struct store_job *job, const char *const *names,
                            size_t nch);

/* The i-th event a job read, as the broker gives it. */
void store_job_event(const struct store_job *job, size_t i,
                     struct broker_event *out);

/* Queues job; done(job, arg) runs on the loop when it is done. bounded: a
 * client's job, refused when queue_max of them are pending. Returns 0, or
 * -1 (queue full; the job is still the caller's). */
int store_submit(struct store *s, struct store_job *job, int bounded,
                 store_done_fn *done, void *arg);

struct store_stats {
    size_t pending;          /* client jobs queued or running now */
    size_t queue_max;        /* their bound */
    uint64_t publishes;      /* publish jobs run */
    uint64_t groups;         /* transactions they were committed in */
    size_t largest_group;    /* most publishes in one transaction */
};
struct store_stats store_stats(const struct store *s);

/* The bound on client jobs. */
size_t store_queue_max(const struct store *s);

/* The kind of broker ("sqlite", "redis"). */
const char *store_kind(const struct store *s);

#endif
