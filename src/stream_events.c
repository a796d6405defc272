/* stream_events: subscribe, publish and fan-out. See stream_events.h. */
#include "stream_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "auth.h"
#include "broker.h"
#include "chan_index.h"
#include "buf.h"
#include "mem.h"
#include "mercure.h"
#include "page.h"
#include "query.h"
#include "sse.h"
#include "stream_reply.h"
#include "stream_slot.h"
#include "store.h"
#include "subtoken.h"
#include "utf8.h"

#define EVENTS_FANOUT_BATCH 512
#define EVENTS_TOKEN_MAX 256

struct events_sub {
    struct stream_slot slot;       /* first member: see stream_slot.h */
    struct stream_events *ev;
    struct stream_conn *conn;      /* NULL once gone */
    struct chan_member *members;   /* nch, one per channel, in ev->index */
    size_t nch;
    long long last_id;             /* highest id written to this client */
    enum http_method method;
    int started;                   /* its head is sent: heartbeats go out */
    int catching_up;               /* reads of its own run: fan-out skips it */
    long long target;              /* catching up: fanned_upto at the read */
    struct store_job *job;         /* its store job in flight, or NULL */
    int gone;                      /* closed while job was in flight */
    char *line;                    /* "METHOD URI" until it starts (logs) */
    struct mercure_sub *mercure;   /* a Mercure subscription, or NULL */
    struct events_sub *prev, *next;
};

/* A publish waiting for its commit on the store thread. */
struct events_pub {
    struct stream_slot slot;       /* first member: see stream_slot.h */
    struct stream_events *ev;
    struct stream_conn *conn;      /* NULL once gone */
    enum http_method method;
    size_t n;
    uint64_t since_us;             /* when the publish was received */
    char *line;                    /* "METHOD URI" for the log */
    char *mercure_id;              /* a Mercure update's id, or NULL */
};

/* The channels a subscription asks for, before it is admitted. */
struct events_request {
    char names[BROKER_CHANNELS_MAX][QUERY_CHANNEL_MAX + 1];
    const char *channels[BROKER_CHANNELS_MAX];
    size_t nch;
};

struct stream_events {
    struct loop *loop;
    struct broker *broker;         /* wake-ups (and Redis' live feed) only */
    struct store *store;           /* every call that may wait */
    struct chan_index *index;      /* channel -> subscribers */
    struct loop_timer heartbeat;
    struct loop_timer feed_retry;  /* retries a failed live-feed read */
    unsigned heartbeat_ms;
    size_t max_subscribers, max_channel_subscribers;
    char token[EVENTS_TOKEN_MAX];  /* "" when none is configured */
    char secret[EVENTS_TOKEN_MAX]; /* private-channel secret, "" if none */
    long long fanned_upto;         /* highest id fanned out */
    int feed_busy;                 /* a live-feed read is on the store */
    int feed_again;                /* woken meanwhile: read again after */
    struct events_sub *subs;       /* all, for heartbeats */
    struct stream_events_stats stats;
};

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static void events_append_sse(struct buf *out, const struct broker_event *e)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", e->id);
    /* Names were validated before they were stored. */
    if (sse_append_event(out, e->event, id, e->data, e->data_len) != 0)
        fprintf(stderr, "stream: stored event %lld has an invalid name\n",
                e->id);
}

/* One event on its way to subscribers: its SSE text, formatted once for
 * all, and for a Mercure update the update, to ask each subscriber whether
 * it is for it. */
struct events_item {
    const struct broker_event *e;
    int mercure;                   /* 1: u is decoded, -1: not decodable */
    struct mercure_update u;
    struct buf out;
};

static void events_item_init(struct events_item *it,
                             const struct broker_event *e)
{
    memset(it, 0, sizeof *it);
    it->e = e;
    if (strcmp(e->channel, MERCURE_CHANNEL) != 0)
        return;
    it->mercure = mercure_update_decode(e->data, e->data_len, &it->u) == 0
                  ? 1 : -1;
    if (it->mercure < 0)
        fprintf(stderr, "stream: event %lld of %s is not a Mercure update; "
                "skipped\n", e->id, MERCURE_CHANNEL);
}

/* 1 if s gets the item (its text is then in it->out), 0 if it is not for
 * s: a Mercure update its selectors or its claim do not select. */
static int events_item_for(struct events_item *it, const struct events_sub *s)
{
    if (it->mercure < 0 || (it->mercure && s->mercure &&
                            !mercure_sub_wants(s->mercure, &it->u)))
        return 0;
    if (buf_pending(&it->out) == 0) {
        if (it->mercure)
            mercure_update_append_sse(&it->u, &it->out);
        else
            events_append_sse(&it->out, it->e);
    }
    return 1;
}

static void events_item_free(struct events_item *it)
{
    if (it->mercure > 0)
        mercure_update_free(&it->u);
    buf_free(&it->out);
}

/* Writes one event to every subscriber of its channel that has not had it:
 * formatted once, shared by all. */
static int events_fanout_one(const struct broker_event *e, void *arg)
{
    struct stream_events *ev = arg;
    struct events_item it;
    events_item_init(&it, e);
    for (struct chan_member *m = chan_index_members(ev->index, e->channel); m;
         m = m->next) {
        struct events_sub *s = m->sub;
        if (s->catching_up || s->last_id >= e->id)
            continue;
        s->last_id = e->id;
        if (events_item_for(&it, s) &&
            stream_conn_write(s->conn, buf_head(&it.out),
                              buf_pending(&it.out)) == 0)
            ev->stats.delivered++;
    }
    ev->fanned_upto = e->id;
    events_item_free(&it);
    return 0;
}

static void events_sub_free(struct events_sub *s)
{
    if (s->mercure) {
        mercure_sub_free(s->mercure);
        free(s->mercure);
    }
    free(s->line);
    free(s->members);
    free(s);
}

/* Writes the events job read to s, skipping what it already has. A
 * Mercure subscriber that resumes skips up to its Last-Event-ID too. */
static void events_sub_write_read(struct events_sub *s,
                                  const struct store_job *job)
{
    struct buf out = BUF_INIT;
    uint64_t count = 0;
    for (size_t i = 0; i < job->nev; i++) {
        struct broker_event e;
        store_job_event(job, i, &e);
        if (e.id <= s->last_id)
            continue;
        s->last_id = e.id;
        struct events_item it;
        events_item_init(&it, &e);
        struct mercure_sub *m = s->mercure;
        if (m && m->resume) {
            if (it.mercure > 0 && strcmp(it.u.id, m->resume) == 0) {
                free(m->resume);
                m->resume = NULL; /* found: what follows is new to it */
            }
        } else if (events_item_for(&it, s)) {
            buf_append(&out, buf_head(&it.out), buf_pending(&it.out));
            count++;
        }
        events_item_free(&it);
    }
    if (count && stream_conn_write(s->conn, buf_head(&out),
                                   buf_pending(&out)) == 0)
        s->ev->stats.delivered += count;
    buf_free(&out);
}

static void events_sub_read_done(struct store_job *job, void *arg);

/* A subscriber the fan-out skipped (it was starting, or the live feed had
 * a gap) gets what its channels stored up to what the fan-out has reached,
 * from its own last id, then rejoins the fan-out. force: read even when it
 * is level with the fan-out (after a gap, the missed events come after). */
static void events_sub_catch_up(struct events_sub *s, int force)
{
    struct stream_events *ev = s->ev;
    if (!force && s->last_id >= ev->fanned_upto) {
        s->catching_up = 0;
        return;
    }
    s->catching_up = 1;
    s->target = ev->fanned_upto;
    struct store_job *job = store_job_new(STORE_READ);
    const char *names[BROKER_CHANNELS_MAX];
    for (size_t i = 0; i < s->nch; i++)
        names[i] = chan_member_name(&s->members[i]);
    store_job_set_channels(job, names, s->nch);
    job->after = s->last_id;
    s->job = job;
    (void)store_submit(ev->store, job, 0, events_sub_read_done, s);
}

static void events_sub_read_done(struct store_job *job, void *arg)
{
    struct events_sub *s = arg;
    s->job = NULL;
    if (s->gone || job->cancelled) {
        if (s->gone)
            events_sub_free(s);
        store_job_free(job);
        return;
    }
    if (job->rc != 0) {
        fprintf(stderr, "stream: catching up a subscriber of %s: %s; "
                "retrying in 1 s\n", chan_member_name(&s->members[0]),
                job->error);
        store_job_free(job);
        /* The fan-out keeps skipping it; the retry timer reads again. */
        loop_timer_start(s->ev->loop, &s->ev->feed_retry, 1000);
        return;
    }
    events_sub_write_read(s, job);
    store_job_free(job);
    if (s->target > s->last_id)
        s->last_id = s->target; /* all of its channels' events up to it */
    events_sub_catch_up(s, 0);
}

static void events_feed_done(struct store_job *job, void *arg);

/* Fans out everything committed since the last round. The embedded
 * broker's feed is read on the store thread; the Redis backend's is in
 * memory, read here. */
static void events_catch_up(struct stream_events *ev)
{
    if (ev->feed_busy) {
        ev->feed_again = 1;
        return;
    }
    if (broker_feed_in_memory(ev->broker)) {
        long n;
        uint64_t t0 = metrics_now_us();
        long long before = ev->fanned_upto;
        do {
            n = broker_read_since(ev->broker, ev->fanned_upto, NULL, 0,
                                  EVENTS_FANOUT_BATCH, events_fanout_one, ev);
            if (n == BROKER_GAP) {
                /* The live feed may have missed events: every subscriber
                 * catches up from its own last id, off the loop. */
                size_t subs = 0;
                for (struct events_sub *s = ev->subs; s; s = s->next)
                    if (s->started && !s->job) {
                        events_sub_catch_up(s, 1);
                        subs += s->catching_up;
                    }
                fprintf(stderr, "stream: gap in the live feed: %zu "
                        "subscribers catch up from their last ids\n", subs);
                n = EVENTS_FANOUT_BATCH;
            }
        } while (n == EVENTS_FANOUT_BATCH);
        if (ev->fanned_upto != before)
            metrics_observe(&ev->stats.fanout, metrics_now_us() - t0);
        if (n == -1)
            fprintf(stderr, "stream: reading new events: %s\n",
                    broker_error(ev->broker));
        return;
    }
    struct store_job *job = store_job_new(STORE_READ);
    job->after = ev->fanned_upto;
    job->limit = EVENTS_FANOUT_BATCH;
    ev->feed_busy = 1;
    ev->feed_again = 0;
    (void)store_submit(ev->store, job, 0, events_feed_done, ev);
}

static void events_feed_done(struct store_job *job, void *arg)
{
    struct stream_events *ev = arg;
    ev->feed_busy = 0;
    if (job->cancelled) {
        store_job_free(job);
        return;
    }
    if (job->rc != 0) {
        fprintf(stderr, "stream: reading new events: %s; retrying in 1 s\n",
                job->error);
        store_job_free(job);
        loop_timer_start(ev->loop, &ev->feed_retry, 1000);
        return;
    }
    uint64_t t0 = metrics_now_us();
    for (size_t i = 0; i < job->nev; i++) {
        struct broker_event e;
        store_job_event(job, i, &e);
        if (e.id > ev->fanned_upto)
            (void)events_fanout_one(&e, ev);
    }
    if (job->nev)
        metrics_observe(&ev->stats.fanout, metrics_now_us() - t0);
    int more = job->nread == EVENTS_FANOUT_BATCH || ev->feed_again;
    store_job_free(job);
    if (more)
        events_catch_up(ev);
}

static void events_on_wake(void *arg)
{
    events_catch_up(arg);
}

/* After a failed read: the live feed again, and every subscriber whose
 * own catch-up failed. */
static void events_on_feed_retry(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct stream_events *ev = container_of(t, struct stream_events,
                                            feed_retry);
    for (struct events_sub *s = ev->subs; s; s = s->next)
        if (s->started && s->catching_up && !s->job)
            events_sub_catch_up(s, 1);
    events_catch_up(ev);
}

/* Proxies and lighttpd's max-write-idle drop silent streams; a comment
 * every EVENTS_HEARTBEAT_MS keeps them, and finds clients that left. */
static void events_on_heartbeat(struct loop *loop, struct loop_timer *t)
{
    struct stream_events *ev = container_of(t, struct stream_events, heartbeat);
    static const char beat[] = ": heartbeat\n\n";
    for (struct events_sub *s = ev->subs; s; s = s->next)
        if (s->started &&
            stream_conn_write(s->conn, beat, sizeof beat - 1) == 0)
            ev->stats.heartbeats++;
    loop_timer_start(loop, t, ev->heartbeat_ms);
}

/* Takes s out of the fan-out, the heartbeats and the counts. */
static void events_sub_unlink(struct events_sub *s)
{
    struct stream_events *ev = s->ev;
    if (s->prev)
        s->prev->next = s->next;
    else
        ev->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    ev->stats.subscribers--;
    for (size_t i = 0; i < s->nch; i++)
        chan_index_remove(ev->index, &s->members[i]);
}

static void events_sub_closed(struct stream_slot *slot, const char *why)
{
    struct events_sub *s = (struct events_sub *)(void *)slot;
    if (why && s->started)
        fprintf(stderr, "stream: subscriber of %s closed after id %lld: %s\n",
                chan_member_name(&s->members[0]), s->last_id, why);
    events_sub_unlink(s);
    s->conn = NULL;
    if (s->job)
        s->gone = 1; /* freed when the job comes back */
    else
        events_sub_free(s);
}

static void events_pub_closed(struct stream_slot *slot, const char *why)
{
    struct events_pub *p = (struct events_pub *)(void *)slot;
    if (why)
        fprintf(stderr, "stream: publisher gone before its commit: %s\n",
                why);
    p->conn = NULL; /* freed when the job comes back */
}

/* Errors of the channels API: 405 lists all three methods. */
static void events_reply_error(struct stream_conn *conn, enum http_method method,
                               int status, const char *text)
{
    stream_reply_error(conn, method, status, "GET, HEAD, POST", text);
}

static int events_request_has(const struct events_request *r, const char *name)
{
    for (size_t i = 0; i < r->nch; i++)
        if (strcmp(r->channels[i], name) == 0)
            return 1;
    return 0;
}

/* Adds channel name (decoded, validated) to r unless it is there already.
 * Returns 0, or -1 with *why set. */
static int events_request_add(struct events_request *r, const char *raw,
                              size_t n, const char **why)
{
    char name[QUERY_CHANNEL_MAX + 1];
    if (query_decode(raw, n, 0, name, sizeof name) < 0 ||
        !query_channel_valid(name)) {
        *why = "bad channel name: use 1-64 of A-Z a-z 0-9 _ - .";
        return -1;
    }
    if (events_request_has(r, name))
        return 0;
    if (r->nch == BROKER_CHANNELS_MAX) {
        *why = "too many channels: at most 16 in one subscription";
        return -1;
    }
    memcpy(r->names[r->nch], name, strlen(name) + 1);
    r->channels[r->nch] = r->names[r->nch];
    r->nch++;
    return 0;
}

/* Fills r from /events/<name> or /events?channel=a&channel=b. */
static int events_parse_channels(struct events_request *r, const char *path,
                                 const char *query, const char **why)
{
    if (strncmp(path, "/events/", 8) == 0)
        return events_request_add(r, path + 8, strlen(path + 8), why);
    size_t pos = 0, kn, vn;
    const char *k, *v;
    while (query_next(query, &pos, &k, &kn, &v, &vn))
        if (kn == 7 && memcmp(k, "channel", 7) == 0 &&
            events_request_add(r, v, vn, why) != 0)
            return -1;
    if (r->nch == 0) {
        *why = "no channel: use /events/<channel> or /events?channel=a&channel=b";
        return -1;
    }
    return 0;
}

/* NULL when every private channel of r is covered by one of the request's
 * token= parameters; otherwise the reason for a 403. */
static const char *events_check_private(const struct stream_events *ev,
                                        const struct events_request *r,
                                        const char *query)
{
    for (size_t i = 0; i < r->nch; i++) {
        if (!subtoken_channel_private(r->channels[i]))
            continue;
        if (ev->secret[0] == '\0')
            return "forbidden: private channels are not enabled on this "
                   "server (SSELIGHT_SUBSCRIBE_SECRET)";
        enum subtoken_result best = SUBTOKEN_MALFORMED;
        int tokens = 0;
        size_t pos = 0, kn, vn;
        const char *k, *v;
        char token[SUBTOKEN_MAX];
        while (best != SUBTOKEN_OK &&
               query_next(query, &pos, &k, &kn, &v, &vn)) {
            if (kn != 5 || memcmp(k, "token", 5) != 0)
                continue;
            tokens++;
            if (query_decode(v, vn, 0, token, sizeof token) < 0)
                continue;
            enum subtoken_result got = subtoken_check(ev->secret,
                                                      r->channels[i], token,
                                                      time(NULL));
            /* Report the most telling failure: expired beats wrong beats
             * malformed. */
            if (got == SUBTOKEN_OK || got == SUBTOKEN_EXPIRED ||
                (got == SUBTOKEN_WRONG && best == SUBTOKEN_MALFORMED))
                best = got;
        }
        if (tokens == 0)
            return "forbidden: a private- channel needs ?token= (see "
                   "docs/api.md, Private channels)";
        if (best != SUBTOKEN_OK)
            return best == SUBTOKEN_EXPIRED ? "forbidden: token expired"
                 : best == SUBTOKEN_WRONG ? "forbidden: token not valid for "
                                            "this channel"
                 : "forbidden: malformed token: expected EXPIRES.HMAC";
    }
    return NULL;
}

/* 0 when the subscription fits the caps; otherwise the reason. */
static const char *events_check_caps(const struct stream_events *ev,
                                     const struct events_request *r)
{
    if (ev->max_subscribers && ev->stats.subscribers >= ev->max_subscribers)
        return "too many subscribers on this server; try again later";
    for (size_t i = 0; ev->max_channel_subscribers && i < r->nch; i++)
        if (chan_index_count(ev->index, r->channels[i]) >=
            ev->max_channel_subscribers)
            return "too many subscribers on this channel; try again later";
    return NULL;
}

/* Tells a resuming client, per channel, that events it has not seen were
 * dropped by the history bound. Documented in docs/api.md. */
static void events_send_missed(struct events_sub *s,
                               const struct store_job *job, long long resume)
{
    for (size_t i = 0; i < job->nch; i++) {
        long long pruned = job->pruned[i];
        if (pruned <= resume)
            continue;
        char data[200];
        struct buf out = BUF_INIT;
        snprintf(data, sizeof data,
                 "{\"channel\":\"%s\",\"last_event_id\":%lld,"
                 "\"missed_through\":%lld}", job->channels[i], resume, pruned);
        (void)sse_append_event(&out, EVENTS_MISSED_EVENT, NULL, data,
                               strlen(data));
        (void)stream_conn_write(s->conn, buf_head(&out), buf_pending(&out));
        buf_free(&out);
    }
}

/* A subscription the store could not start, or a HEAD: answered, and
 * taken out before its stream began. */
static void events_sub_drop(struct events_sub *s, int status, const char *text,
                            struct buf *head)
{
    struct stream_conn *conn = s->conn;
    events_sub_unlink(s);
    stream_conn_set_data(conn, NULL);
    if (head)
        (void)stream_conn_reply(conn, head);
    else
        stream_reply_error_later(conn, s->method, status, "GET, HEAD, POST",
                                 text, s->line);
    events_sub_free(s);
}

/* For a Mercure subscription that resumes: the header lines that tell it
 * the id of the last update kept when it connected ("earliest" when none
 * is), so it can tell whether it missed any. Both names: Last-Event-ID,
 * as the protocol first named it, and Mercure-Last-Event-ID, its newer
 * name. The job read every kept update. A new string. */
static char *events_mercure_last_event_id(const struct store_job *job,
                                          const char *resume)
{
    struct buf out = BUF_INIT;
    /* Found and nothing after it: the resume id is the last. */
    const char *id = job->key_found && resume ? resume : MERCURE_EARLIEST;
    struct mercure_update u = { 0 };
    for (size_t i = job->nev; i-- > 0;) {
        struct broker_event e;
        store_job_event(job, i, &e);
        if (mercure_update_decode(e.data, e.data_len, &u) == 0) {
            id = u.id; /* checked when it was published: no CR or LF */
            break;
        }
    }
    buf_appendf(&out, "Last-Event-ID: %s\r\nMercure-Last-Event-ID: %s\r\n",
                id, id);
    mercure_update_free(&u);
    buf_append_byte(&out, '\0');
    char *text = mem_strdup(buf_head(&out));
    buf_free(&out);
    return text;
}

/* The store has worked out where s starts and read what it has missed. */
static void events_sub_start_done(struct store_job *job, void *arg)
{
    struct events_sub *s = arg;
    s->job = NULL;
    if (s->gone || job->cancelled) {
        if (s->gone)
            events_sub_free(s);
        else
            events_sub_drop(s, 503, "the server is shutting down", NULL);
        store_job_free(job);
        return;
    }
    if (job->rc != 0) {
        fprintf(stderr, "stream: subscribe: %s\n", job->error);
        store_job_free(job);
        events_sub_drop(s, 503, "the event store is not available; try "
                        "again later", NULL);
        return;
    }
    long long resume = job->after;
    if (resume > job->last) {
        /* An id this store never gave out (a store that was reset, or a
         * made-up id): waiting for ids to pass it would hide every new
         * event from this client, so it gets the live ones from here. */
        fprintf(stderr, "stream: Last-Event-ID %lld is past the last id %lld "
                "of this store: resuming from %lld\n", resume, job->last,
                job->last);
        resume = job->last;
    }
    struct buf head = BUF_INIT;
    char *extra = s->mercure && (s->mercure->resume || s->mercure->earliest)
                  ? events_mercure_last_event_id(job, s->mercure->resume)
                  : NULL;
    http_append_sse_head_extra(&head, extra);
    free(extra);
    if (s->method == HTTP_HEAD) {
        store_job_free(job);
        events_sub_drop(s, 0, NULL, &head);
        buf_free(&head);
        return;
    }
    sse_append_retry(&head, EVENTS_RETRY_MS);
    int rc = stream_conn_write(s->conn, buf_head(&head), buf_pending(&head));
    buf_free(&head);
    s->started = 1;
    free(s->line);
    s->line = NULL;
    if (rc != 0) {
        store_job_free(job); /* closing: the closed callback frees s */
        return;
    }
    if (resume >= 0 && !s->mercure)
        events_send_missed(s, job, resume);
    /* What the store held after start when the job ran; what committed
     * since reaches this client through its own catch-up, then the
     * fan-out, which skips ids it already has. */
    s->last_id = job->start;
    if (s->mercure && s->mercure->resume && job->key_found) {
        /* The store started the read right after it. */
        free(s->mercure->resume);
        s->mercure->resume = NULL;
    }
    events_sub_write_read(s, job);
    if (s->mercure && s->mercure->resume) {
        /* Mercure: an id the hub does not keep (any more) resumes live. The
         * job read the last update alone (for the head), skipped above. */
        fprintf(stderr, "stream: Mercure Last-Event-ID is not among the "
                "updates kept: live updates only\n");
        free(s->mercure->resume);
        s->mercure->resume = NULL;
    }
    if (job->last > s->last_id)
        s->last_id = job->last;
    store_job_free(job);
    events_sub_catch_up(s, 0);
}

/* Admits a subscription to r's channels (503 past a cap) and asks the
 * store where it starts: after resume (-1: none), or history events
 * back. m (taken over, NULL for the channels API) filters a Mercure one;
 * one that resumes starts after the kept update with its id. */
static void events_sub_open(struct stream_events *ev, struct stream_conn *conn,
                            enum http_method method,
                            const struct events_request *r, long long resume,
                            unsigned history, struct mercure_sub *m)
{
    const char *why;
    if ((why = events_check_caps(ev, r)) != NULL) {
        ev->stats.refused_cap++;
        events_reply_error(conn, method, 503, why);
        if (m) {
            mercure_sub_free(m);
            free(m);
        }
        return;
    }

    /* In the index at once, so the caps count it, but skipped by the
     * fan-out until the store has said where it starts. */
    struct events_sub *s = mem_calloc(1, sizeof *s);
    s->slot.closed = events_sub_closed;
    s->ev = ev;
    s->conn = conn;
    s->method = method;
    s->mercure = m;
    s->line = stream_reply_request_line(conn);
    s->catching_up = 1;
    s->nch = r->nch;
    s->members = mem_calloc(r->nch, sizeof *s->members);
    for (size_t i = 0; i < r->nch; i++) {
        s->members[i].sub = s;
        chan_index_add(ev->index, r->channels[i], &s->members[i]);
    }
    s->next = ev->subs;
    if (ev->subs)
        ev->subs->prev = s;
    ev->subs = s;
    ev->stats.subscribers++;
    ev->stats.subscriptions++;
    stream_conn_set_data(conn, &s->slot);

    struct store_job *job = store_job_new(STORE_SUBSCRIBE);
    store_job_set_channels(job, r->channels, r->nch);
    job->after = resume;
    job->history = history;
    if (m && m->resume)
        snprintf(job->key, sizeof job->key, "%s", m->resume);
    /* Not bounded by the store queue: the subscriber caps bound these. */
    (void)store_submit(ev->store, job, 0, events_sub_start_done, s);
    s->job = job;
}

void stream_events_subscribe_mercure(struct stream_events *ev,
                                     struct stream_conn *conn,
                                     enum http_method method,
                                     struct mercure_sub *m)
{
    struct events_request r;
    strcpy(r.names[0], MERCURE_CHANNEL);
    r.channels[0] = r.names[0];
    r.nch = 1;
    /* earliest reads every kept update; a resume by id starts after the
     * update the broker keeps with that id as its key. */
    events_sub_open(ev, conn, method, &r, m->earliest ? 0 : -1, 0, m);
}

static void events_subscribe(struct stream_events *ev, struct stream_conn *conn,
                             enum http_method method, const char *path,
                             const char *query)
{
    struct events_request r;
    const char *why = NULL;
    char value[32];
    long long resume = -1;
    unsigned history = 0;

    r.nch = 0;
    if (events_parse_channels(&r, path, query, &why) != 0) {
        events_reply_error(conn, method, 400, why);
        return;
    }
    const char *hdr = stream_conn_param(conn, "HTTP_LAST_EVENT_ID");
    int have = hdr != NULL;
    if (!have) {
        have = query_get(query, "lastEventId", value, sizeof value);
        hdr = value;
    }
    if (have != 0 && (have < 0 || query_parse_id(hdr, &resume) != 0)) {
        events_reply_error(conn, method, 400, "bad Last-Event-ID: expected "
                           "an event id (digits) from this server");
        return;
    }
    int hq = query_get(query, "history", value, sizeof value);
    if (hq != 0) {
        long long h;
        if (hq < 0 || query_parse_id(value, &h) != 0 || h > EVENTS_HISTORY_MAX) {
            events_reply_error(conn, method, 400,
                               "bad history: expected a number from 0 to 100");
            return;
        }
        history = (unsigned)h;
    }
    if ((why = events_check_private(ev, &r, query)) != NULL) {
        events_reply_error(conn, method, 403, why);
        return;
    }
    events_sub_open(ev, conn, method, &r, resume, history, NULL);
}

/* 0 when the request may publish; otherwise answers it and returns -1. */
static int events_authorise(struct stream_events *ev, struct stream_conn *conn,
                            enum http_method method)
{
    if (ev->token[0] == '\0') {
        if (auth_addr_is_loopback(stream_conn_param(conn, "REMOTE_ADDR")))
            return 0;
        events_reply_error(conn, method, 403, "forbidden: without "
                           "SSELIGHT_PUBLISH_TOKEN, publishing is allowed "
                           "only from this machine (loopback)");
        return -1;
    }
    int status = auth_bearer_check(
        stream_conn_param(conn, "HTTP_AUTHORIZATION"), ev->token);
    if (status == 401)
        events_reply_error(conn, method, 401, "unauthorized: send "
                           "Authorization: Bearer <token>");
    else if (status == 403)
        events_reply_error(conn, method, 403, "forbidden: wrong token");
    return status == 0 ? 0 : -1;
}

/* A batch being collected from a text/event-stream body, straight into
 * the publish job that will store it. */
struct events_batch {
    struct store_job *job;
    const char *why;
};

static int events_batch_add(const char *name, const char *data, size_t len,
                            void *arg)
{
    struct events_batch *b = arg;
    if (b->job->n == EVENTS_BATCH_MAX) {
        b->why = "too many events in one batch: at most 1000";
        return -1;
    }
    if (!query_event_valid(name)) {
        b->why = "bad event name in the batch: use 1-64 of A-Z a-z 0-9 _ - . :";
        return -1;
    }
    store_job_add(b->job, name, data, len);
    return 0;
}

static void events_store_done(struct store_job *job, void *arg);

/* Stores the events of job (a STORE_PUBLISH job, taken over) in channel
 * under the request's idempotency key (if any), on the store thread, and
 * answers once committed (returns the publish, or NULL when refused): 200 with the ids, one per line (X-Event-Id: the first; Idempotent-Replayed: true when
 * the key had been used and nothing new was stored), or 503 when the
 * broker failed or too many store jobs are pending. */
static struct events_pub *events_store(struct stream_events *ev,
                                       struct stream_conn *conn,
                                       enum http_method method,
                                       const char *channel,
                                       struct store_job *job, const char *key)
{
    size_t n = job->n;
    store_job_set_channels(job, &channel, 1);
    if (key)
        snprintf(job->key, sizeof job->key, "%s", key);
    struct events_pub *p = mem_calloc(1, sizeof *p);
    p->slot.closed = events_pub_closed;
    p->ev = ev;
    p->conn = conn;
    p->method = method;
    p->n = n;
    p->since_us = metrics_now_us();
    p->line = stream_reply_request_line(conn);
    if (store_submit(ev->store, job, 1, events_store_done, p) != 0) {
        store_job_free(job);
        free(p->line);
        free(p);
        ev->stats.refused_busy++;
        fprintf(stderr, "stream: publish of %zu event(s) to %s refused: %zu "
                "store jobs pending (SSELIGHT_STORE_QUEUE)\n", n, channel,
                store_queue_max(ev->store));
        events_reply_error(conn, method, 503, "not stored: the event store is "
                           "busy; try again");
        return NULL;
    }
    stream_conn_set_data(conn, &p->slot);
    return p;
}

static void events_store_done(struct store_job *job, void *arg)
{
    struct events_pub *p = arg;
    struct stream_events *ev = p->ev;
    struct stream_conn *conn = p->conn;
    const char *channel = job->channels[0];
    if (job->rc == 0) {
        ev->stats.published += p->n;
        metrics_observe(&ev->stats.commit, metrics_now_us() - p->since_us);
    }
    if (job->rc < 0)
        fprintf(stderr, "stream: publish of %zu event(s) to %s failed: %s\n",
                p->n, channel, job->error);
    else if (job->rc == 1 && p->mercure_id)
        fprintf(stderr, "stream: Mercure update id %s is already kept: "
                "refused (409)\n", p->mercure_id);
    else if (job->rc == 1)
        fprintf(stderr, "stream: publish to %s repeated with a used "
                "Idempotency-Key: answered event %lld, stored nothing\n",
                channel, job->first_id);
    if (conn && !job->cancelled) {
        stream_conn_set_data(conn, NULL);
        if (job->rc < 0) {
            char why[80];
            snprintf(why, sizeof why, "not stored: the broker (%s) failed; "
                     "try again", store_kind(ev->store));
            stream_reply_error_later(conn, p->method, 503, "GET, HEAD, POST",
                                     why, p->line);
        } else if (p->mercure_id && job->rc == 1) {
            stream_reply_error_later(conn, p->method, 409, "GET, HEAD, POST",
                                     "conflict: an update with this id is "
                                     "already kept; ids must be unique",
                                     p->line);
        } else if (p->mercure_id) {
            struct buf out = BUF_INIT;
            http_begin_head(&out, 200, "text/plain; charset=utf-8");
            buf_append_str(&out, "Cache-Control: no-store\r\n");
            http_end_head(&out);
            buf_append_str(&out, p->mercure_id);
            (void)stream_conn_reply(conn, &out);
            buf_free(&out);
        } else {
            struct buf out = BUF_INIT;
            http_begin_head(&out, 200, "text/plain; charset=utf-8");
            buf_appendf(&out, "Cache-Control: no-store\r\nX-Event-Id: "
                        "%lld\r\n%s", job->first_id, job->rc == 1 ?
                        "Idempotent-Replayed: true\r\n" : "");
            http_end_head(&out);
            for (size_t i = 0; i < job->n_stored; i++)
                buf_appendf(&out, "%lld\n", job->first_id + (long long)i);
            (void)stream_conn_reply(conn, &out);
            buf_free(&out);
        }
    } else if (conn) {
        stream_conn_set_data(conn, NULL); /* shutting down: no answer */
    }
    int stored = job->rc == 0 && !job->cancelled;
    store_job_free(job);
    free(p->mercure_id);
    free(p->line);
    free(p);
    if (stored)
        events_catch_up(ev);
}

/* POST with Content-Type: text/event-stream: every event in the body is
 * published, in order, in one transaction. */
static void events_publish_batch(struct stream_events *ev,
                                 struct stream_conn *conn,
                                 enum http_method method, const char *channel,
                                 const char *body, size_t len, const char *key)
{
    struct events_batch b = { .job = store_job_new(STORE_PUBLISH) };
    if (sse_parse(body, len, events_batch_add, &b) < 0 || b.job->n == 0) {
        events_reply_error(conn, method, 400, b.why ? b.why :
                           "empty batch: no event with a data: line");
        store_job_free(b.job);
        return;
    }
    events_store(ev, conn, method, channel, b.job, key);
}

void stream_events_publish_mercure(struct stream_events *ev,
                                   struct stream_conn *conn,
                                   enum http_method method,
                                   const struct mercure_update *u)
{
    struct buf text = BUF_INIT;
    mercure_update_encode(u, &text);
    struct store_job *job = store_job_new(STORE_PUBLISH);
    store_job_add(job, "mercure", buf_head(&text), buf_pending(&text));
    buf_free(&text);
    /* The id is the idempotency key: a second update with the same id
     * stores nothing and is answered 409. */
    struct events_pub *p = events_store(ev, conn, method, MERCURE_CHANNEL,
                                        job, u->id);
    if (p)
        p->mercure_id = mem_strdup(u->id);
}

static void events_publish(struct stream_events *ev, struct stream_conn *conn,
                           enum http_method method, const char *path,
                           const char *query)
{
    char channel[QUERY_CHANNEL_MAX + 1], event[QUERY_EVENT_MAX + 1];
    if (strncmp(path, "/events/", 8) != 0) {
        events_reply_error(conn, method, 400,
                           "publish to /events/<channel>");
        return;
    }
    if (query_decode(path + 8, strlen(path + 8), 0, channel,
                     sizeof channel) < 0 || !query_channel_valid(channel)) {
        events_reply_error(conn, method, 400,
                           "bad channel name: use 1-64 of A-Z a-z 0-9 _ - .");
        return;
    }
    if (strcmp(channel, PAGE_ROOM_CHANNEL) == 0) {
        events_reply_error(conn, method, 403, "forbidden: the room channel "
                           "takes HTML from the room form only; post to "
                           "/room/messages");
        return;
    }
    if (events_authorise(ev, conn, method) != 0)
        return;
    int q = query_get(query, "event", event, sizeof event);
    if (q == 0)
        strcpy(event, "message");
    if (q < 0 || !query_event_valid(event)) {
        events_reply_error(conn, method, 400,
                           "bad event name: use 1-64 of A-Z a-z 0-9 _ - . :");
        return;
    }
    /* Same characters as an event name: nothing to escape in logs. */
    const char *key = stream_conn_param(conn, "HTTP_IDEMPOTENCY_KEY");
    if (key && !query_event_valid(key)) {
        events_reply_error(conn, method, 400, "bad Idempotency-Key: use "
                           "1-64 of A-Z a-z 0-9 _ - . :");
        return;
    }
    size_t len;
    int too_large;
    const char *body = stream_conn_body(conn, &len, &too_large);
    if (too_large) {
        events_reply_error(conn, method, 413,
                           "body too large: at most 65536 bytes");
        return;
    }
    if (utf8_count(body, len) < 0) {
        events_reply_error(conn, method, 400,
                           "body must be UTF-8 text without NUL bytes");
        return;
    }
    const char *type = stream_conn_param(conn, "CONTENT_TYPE");
    if (type && strncmp(type, "text/event-stream", 17) == 0) {
        events_publish_batch(ev, conn, method, channel, body, len, key);
        return;
    }
    struct store_job *job = store_job_new(STORE_PUBLISH);
    store_job_add(job, event, body, len);
    events_store(ev, conn, method, channel, job, key);
}

int stream_events_match(const char *path)
{
    return strcmp(path, "/events") == 0 || strncmp(path, "/events/", 8) == 0;
}

void stream_events_handle(struct stream_events *ev, struct stream_conn *conn,
                          enum http_method method, const char *path,
                          const char *query)
{
    if (method == HTTP_GET || method == HTTP_HEAD)
        events_subscribe(ev, conn, method, path, query);
    else if (method == HTTP_POST)
        events_publish(ev, conn, method, path, query);
    else
        events_reply_error(conn, method, 405, "method not allowed: GET or "
                           "HEAD subscribes, POST publishes");
}

struct stream_events *stream_events_new(struct loop *loop,
                                        const struct stream_events_config *c,
                                        char *err, size_t errlen)
{
    struct stream_events *ev = mem_calloc(1, sizeof *ev);
    ev->loop = loop;
    ev->heartbeat_ms = c->heartbeat_ms ? c->heartbeat_ms : EVENTS_HEARTBEAT_MS;
    ev->max_subscribers = c->max_subscribers;
    ev->max_channel_subscribers = c->max_channel_subscribers;
    if (c->publish_token) {
        if (strlen(c->publish_token) >= sizeof ev->token ||
            strlen(c->publish_token) < 16) {
            snprintf(err, errlen, "SSELIGHT_PUBLISH_TOKEN must be 16 to %zu "
                     "characters", sizeof ev->token - 1);
            free(ev);
            return NULL;
        }
        strcpy(ev->token, c->publish_token);
    }
    if (c->subscribe_secret) {
        if (strlen(c->subscribe_secret) >= sizeof ev->secret ||
            strlen(c->subscribe_secret) < SUBTOKEN_SECRET_MIN) {
            snprintf(err, errlen, "SSELIGHT_SUBSCRIBE_SECRET must be %d to "
                     "%zu characters", SUBTOKEN_SECRET_MIN,
                     sizeof ev->secret - 1);
            free(ev);
            return NULL;
        }
        strcpy(ev->secret, c->subscribe_secret);
    }
    ev->broker = broker_open(c->broker_url, c->data_dir, c->history, err,
                             errlen);
    if (!ev->broker) {
        free(ev);
        return NULL;
    }
    ev->store = store_open(loop, c->broker_url, c->data_dir, c->history,
                           c->store_queue, err, errlen);
    if (!ev->store) {
        broker_close(ev->broker);
        free(ev);
        return NULL;
    }
    /* Fan out from the store's last id. A store that cannot answer yet (a
     * Redis that is down) is not fatal: the fan-out then starts from 0,
     * and subscribers, which all come later, skip what they have not
     * asked for. */
    if (broker_last_id(ev->broker, &ev->fanned_upto) != 0) {
        fprintf(stderr, "stream: %s; fanning out from id 0\n",
                broker_error(ev->broker));
        ev->fanned_upto = 0;
    }
    if (broker_watch(ev->broker, loop, events_on_wake, ev) != 0) {
        snprintf(err, errlen, "cannot watch the broker: %s",
                 broker_error(ev->broker));
        store_close(ev->store);
        broker_close(ev->broker);
        free(ev);
        return NULL;
    }
    loop_timer_init(&ev->feed_retry, events_on_feed_retry);
    ev->index = chan_index_new();
    loop_timer_init(&ev->heartbeat, events_on_heartbeat);
    loop_timer_start(loop, &ev->heartbeat, ev->heartbeat_ms);
    return ev;
}

void stream_events_free(struct stream_events *ev)
{
    if (!ev)
        return;
    loop_timer_stop(ev->loop, &ev->heartbeat);
    loop_timer_stop(ev->loop, &ev->feed_retry);
    store_close(ev->store);
    broker_close(ev->broker);
    chan_index_free(ev->index);
    free(ev);
}

struct stream_events_stats stream_events_stats(const struct stream_events *ev)
{
    return ev->stats;
}

static void events_channel_json(const char *name, size_t members, void *arg)
{
    struct buf *out = arg;
    const char *h = buf_head(out);
    size_t n = buf_pending(out);
    /* Channel names are [A-Za-z0-9_.-]: nothing to escape in JSON. */
    buf_appendf(out, "%s\"%s\":%zu", n && h[n - 1] == '{' ? "" : ",", name,
                members);
}

void stream_events_append_channels_json(const struct stream_events *ev,
                                        struct buf *out)
{
    buf_append_str(out, "\"channels\":{");
    chan_index_foreach(ev->index, events_channel_json, out);
    buf_append_byte(out, '}');
}

void stream_events_append_broker_json(const struct stream_events *ev,
                                      struct buf *out)
{
    broker_append_stats_json(ev->broker, out);
    struct store_stats st = store_stats(ev->store);
    buf_appendf(out, ",\"store\":{\"pending\":%zu,\"queue_max\":%zu,"
                "\"publishes\":%llu,\"transactions\":%llu,\"largest_group\":%zu}",
                st.pending, st.queue_max, (unsigned long long)st.publishes,
                (unsigned long long)st.groups, st.largest_group);
}

struct events_top {
    struct metrics_channel *top;
    size_t n, max;
};

/* Keeps the max largest channels, most subscribers first (insertion: max
 * is small). */
static void events_top_add(const char *name, size_t members, void *arg)
{
    struct events_top *t = arg;
    size_t i = t->n;
    if (i == t->max && (i == 0 || t->top[i - 1].subscribers >= members))
        return;
    if (i == t->max)
        i--;
    else
        t->n++;
    while (i > 0 && t->top[i - 1].subscribers < members) {
        t->top[i] = t->top[i - 1];
        i--;
    }
    snprintf(t->top[i].name, sizeof t->top[i].name, "%s", name);
    t->top[i].subscribers = members;
}

size_t stream_events_top_channels(const struct stream_events *ev,
                                  struct metrics_channel *top, size_t max)
{
    struct events_top t = { top, 0, max };
    chan_index_foreach(ev->index, events_top_add, &t);
    return t.n;
}

void stream_events_health(const struct stream_events *ev, int *up,
                          uint64_t *reconnects, size_t *store_pending)
{
    broker_health(ev->broker, up, reconnects);
    *store_pending = store_stats(ev->store).pending;
}

const char *stream_events_broker_kind(const struct stream_events *ev)
{
    return broker_kind(ev->broker);
}
