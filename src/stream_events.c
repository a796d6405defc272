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
#include "page.h"
#include "query.h"
#include "sse.h"
#include "stream_reply.h"
#include "stream_slot.h"
#include "subtoken.h"
#include "utf8.h"

#define EVENTS_FANOUT_BATCH 512
#define EVENTS_TOKEN_MAX 256

struct events_sub {
    struct stream_slot slot;       /* first member: see stream_slot.h */
    struct stream_events *ev;
    struct stream_conn *conn;
    struct chan_member *members;   /* nch, one per channel, in ev->index */
    size_t nch;
    long long last_id;             /* highest id written to this client */
    struct events_sub *prev, *next;
};

/* The channels a subscription asks for, before it is admitted. */
struct events_request {
    char names[BROKER_CHANNELS_MAX][QUERY_CHANNEL_MAX + 1];
    const char *channels[BROKER_CHANNELS_MAX];
    size_t nch;
};

struct stream_events {
    struct loop *loop;
    struct broker *broker;
    struct chan_index *index;      /* channel -> subscribers */
    struct loop_timer heartbeat;
    struct loop_timer resync;      /* retries a failed catch-up */
    unsigned heartbeat_ms;
    size_t max_subscribers, max_channel_subscribers;
    char token[EVENTS_TOKEN_MAX];  /* "" when none is configured */
    char secret[EVENTS_TOKEN_MAX]; /* private-channel secret, "" if none */
    long long fanned_upto;         /* highest id fanned out */
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

/* Writes one event to every subscriber of its channel that has not had it:
 * formatted once, shared by all. */
static int events_fanout_one(const struct broker_event *e, void *arg)
{
    struct stream_events *ev = arg;
    struct buf out = BUF_INIT;
    for (struct chan_member *m = chan_index_members(ev->index, e->channel); m;
         m = m->next) {
        struct events_sub *s = m->sub;
        if (s->last_id >= e->id)
            continue;
        if (buf_pending(&out) == 0)
            events_append_sse(&out, e);
        s->last_id = e->id;
        if (stream_conn_write(s->conn, buf_head(&out), buf_pending(&out)) == 0)
            ev->stats.delivered++;
    }
    ev->fanned_upto = e->id;
    buf_free(&out);
    return 0;
}

/* One catch-up read, kept for the next subscriber that needs the same:
 * the subscribers of a channel are mostly at the same id, so a resync of
 * thousands costs a few reads, not one each. */
struct events_memo {
    int valid;
    long long from, upto;          /* events after from, up to upto */
    size_t nch;
    const char *names[BROKER_CHANNELS_MAX];
    struct buf sse;                /* those events, formatted */
    uint64_t count;
    size_t reads;                  /* reads made (for the log) */
};

static int events_memo_add(const struct broker_event *e, void *arg)
{
    struct events_memo *m = arg;
    events_append_sse(&m->sse, e);
    m->upto = e->id;
    m->count++;
    return 0;
}

/* Makes m hold the events of names after from, reading only when it holds
 * something else. Returns 0, or -1 (m is then empty). */
static int events_memo_get(struct stream_events *ev, struct events_memo *m,
                           long long from, const char *const *names,
                           size_t nch)
{
    int same = m->valid && m->from == from && m->nch == nch;
    for (size_t i = 0; same && i < nch; i++)
        same = strcmp(m->names[i], names[i]) == 0;
    if (same)
        return 0;
    m->reads++;
    buf_reset(&m->sse);
    m->from = m->upto = from;
    m->nch = nch;
    m->count = 0;
    for (size_t i = 0; i < nch; i++)
        m->names[i] = names[i];
    long n;
    do {
        n = broker_read_since(ev->broker, m->upto, names, nch,
                              EVENTS_FANOUT_BATCH, events_memo_add, m);
    } while (n == EVENTS_FANOUT_BATCH);
    m->valid = n >= 0;
    return m->valid ? 0 : -1;
}

/* The live feed may have missed events (the Redis backend reconnected):
 * every subscriber gets what its own channels stored after its own last
 * id, then the fan-out goes on from the highest id seen. On failure (the
 * store is still away) it tries again in a second; subscribers keep their
 * heartbeats meanwhile. Names stay valid: closing is deferred. */
static int events_resync(struct stream_events *ev)
{
    struct events_memo memo = { .sse = BUF_INIT };
    int rc = 0;
    size_t subs = 0;
    struct timespec t0, t1;
    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    for (struct events_sub *s = ev->subs; s; s = s->next, subs++) {
        const char *names[BROKER_CHANNELS_MAX];
        for (size_t i = 0; i < s->nch; i++)
            names[i] = chan_member_name(&s->members[i]);
        if (events_memo_get(ev, &memo, s->last_id, names, s->nch) != 0) {
            fprintf(stderr, "stream: catching up after a gap in the live "
                    "feed: %s; retrying in 1 s\n", broker_error(ev->broker));
            loop_timer_start(ev->loop, &ev->resync, 1000);
            rc = -1;
            break;
        }
        if (memo.count && stream_conn_write(s->conn, buf_head(&memo.sse),
                                          buf_pending(&memo.sse)) == 0)
            ev->stats.delivered += memo.count;
        if (memo.upto > s->last_id)
            s->last_id = memo.upto;
        if (s->last_id > ev->fanned_upto)
            ev->fanned_upto = s->last_id;
    }
    buf_free(&memo.sse);
    (void)clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0 && subs)
        fprintf(stderr, "stream: caught up %zu subscribers after a gap in the "
                "live feed: %zu reads, %.1f ms\n", subs, memo.reads,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    return rc;
}

/* Fans out everything committed since the last round. */
static void events_catch_up(struct stream_events *ev)
{
    long n;
    if (loop_timer_armed(&ev->resync))
        return; /* a resync is due; it runs first */
    do {
        n = broker_read_since(ev->broker, ev->fanned_upto, NULL, 0,
                              EVENTS_FANOUT_BATCH, events_fanout_one, ev);
        if (n == BROKER_GAP && events_resync(ev) == 0)
            n = EVENTS_FANOUT_BATCH; /* then what is queued */
    } while (n == EVENTS_FANOUT_BATCH);
    if (n == -1)
        fprintf(stderr, "stream: reading new events: %s\n",
                broker_error(ev->broker));
}

static void events_on_wake(void *arg)
{
    events_catch_up(arg);
}

static void events_on_resync(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct stream_events *ev = container_of(t, struct stream_events, resync);
    if (events_resync(ev) == 0)
        events_catch_up(ev);
}

/* Proxies and lighttpd's max-write-idle drop silent streams; a comment
 * every EVENTS_HEARTBEAT_MS keeps them, and finds clients that left. */
static void events_on_heartbeat(struct loop *loop, struct loop_timer *t)
{
    struct stream_events *ev = container_of(t, struct stream_events, heartbeat);
    static const char beat[] = ": heartbeat\n\n";
    for (struct events_sub *s = ev->subs; s; s = s->next)
        if (stream_conn_write(s->conn, beat, sizeof beat - 1) == 0)
            ev->stats.heartbeats++;
    loop_timer_start(loop, t, ev->heartbeat_ms);
}

static void events_sub_closed(struct stream_slot *slot, const char *why)
{
    struct events_sub *s = (struct events_sub *)(void *)slot;
    struct stream_events *ev = s->ev;
    if (s->prev)
        s->prev->next = s->next;
    else
        ev->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ev->stats.subscribers--;
    if (why)
        fprintf(stderr, "stream: subscriber of %s closed after id %lld: %s\n",
                chan_member_name(&s->members[0]), s->last_id, why);
    for (size_t i = 0; i < s->nch; i++)
        chan_index_remove(ev->index, &s->members[i]);
    free(s->members);
    free(s);
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
            return "forbidden: a private- channel needs ?token= (see README, "
                   "Private channels)";
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

/* Writes one stored event to one subscriber (resume and history). */
static int events_send_to_sub(const struct broker_event *e, void *arg)
{
    struct events_sub *s = arg;
    struct buf out = BUF_INIT;
    events_append_sse(&out, e);
    s->last_id = e->id;
    int rc = stream_conn_write(s->conn, buf_head(&out), buf_pending(&out));
    buf_free(&out);
    if (rc == 0)
        s->ev->stats.delivered++;
    return rc; /* stop reading once the connection is closing */
}

/* Tells a resuming client, per channel, that events it has not seen were
 * dropped by the history bound. Documented in README. */
static void events_send_missed(struct events_sub *s,
                               const struct events_request *r,
                               long long resume)
{
    for (size_t i = 0; i < r->nch; i++) {
        long long pruned;
        if (broker_pruned_upto(s->ev->broker, r->channels[i], &pruned) != 0 ||
            pruned <= resume)
            continue;
        char data[200];
        struct buf out = BUF_INIT;
        snprintf(data, sizeof data,
                 "{\"channel\":\"%s\",\"last_event_id\":%lld,"
                 "\"missed_through\":%lld}", r->channels[i], resume, pruned);
        (void)sse_append_event(&out, EVENTS_MISSED_EVENT, NULL, data,
                               strlen(data));
        (void)stream_conn_write(s->conn, buf_head(&out), buf_pending(&out));
        buf_free(&out);
    }
}

static void events_subscribe(struct stream_events *ev, struct stream_conn *conn,
                             enum http_method method, const char *path,
                             const char *query)
{
    struct events_request r;
    const char *why = NULL;
    char value[32];
    long long resume = -1, start;
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
    if ((why = events_check_caps(ev, &r)) != NULL) {
        ev->stats.refused_cap++;
        events_reply_error(conn, method, 503, why);
        return;
    }

    /* Where this client starts, before anything is sent: a store that
     * cannot answer gets a 503 the client retries, not a dead stream. */
    long long last;
    if (broker_last_id(ev->broker, &last) != 0) {
        fprintf(stderr, "stream: subscribe: %s\n", broker_error(ev->broker));
        events_reply_error(conn, method, 503, "the event store is not "
                           "available; try again later");
        return;
    }
    if (resume > last) {
        /* An id this store never gave out (a store that was reset, or a
         * made-up id): waiting for ids to pass it would hide every new
         * event from this client, so it gets the live ones from here. */
        fprintf(stderr, "stream: Last-Event-ID %lld is past the last id %lld "
                "of this store: resuming from %lld\n", resume, last, last);
        resume = last;
    }
    if (resume >= 0) {
        start = resume;
    } else if (history == 0) {
        start = last; /* live events only */
    } else if (broker_history_start(ev->broker, r.channels, r.nch, history,
                                    &start) != 0) {
        fprintf(stderr, "stream: subscribe: %s\n", broker_error(ev->broker));
        events_reply_error(conn, method, 503, "the event store is not "
                           "available; try again later");
        return;
    }

    struct buf head = BUF_INIT;
    http_append_sse_head(&head);
    if (method == HTTP_HEAD) {
        (void)stream_conn_reply(conn, &head);
        buf_free(&head);
        return;
    }
    sse_append_retry(&head, EVENTS_RETRY_MS);
    int rc = stream_conn_write(conn, buf_head(&head), buf_pending(&head));
    buf_free(&head);
    if (rc != 0)
        return;

    struct events_sub *s = mem_calloc(1, sizeof *s);
    s->slot.closed = events_sub_closed;
    s->ev = ev;
    s->conn = conn;
    s->nch = r.nch;
    s->members = mem_calloc(r.nch, sizeof *s->members);
    for (size_t i = 0; i < r.nch; i++) {
        s->members[i].sub = s;
        chan_index_add(ev->index, r.channels[i], &s->members[i]);
    }
    stream_conn_set_data(conn, &s->slot);
    s->next = ev->subs;
    if (ev->subs)
        ev->subs->prev = s;
    ev->subs = s;
    ev->stats.subscribers++;

    if (resume >= 0)
        events_send_missed(s, &r, resume);
    s->last_id = start;
    /* Everything after start that is stored now; what commits later comes
     * through the fan-out, which skips ids this client already has. From
     * the last id (a live-only subscription) there is nothing to read:
     * what commits after it reaches the fan-out after this subscriber is
     * in the index. */
    if (start < last &&
        broker_read_since(ev->broker, start, r.channels, r.nch,
                          (size_t)-1, events_send_to_sub, s) < 0) {
        fprintf(stderr, "stream: catch-up: %s\n", broker_error(ev->broker));
        stream_conn_abort(conn, "broker error");
    }
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
    const char *auth = stream_conn_param(conn, "HTTP_AUTHORIZATION");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0) {
        events_reply_error(conn, method, 401, "unauthorized: send "
                           "Authorization: Bearer <token>");
        return -1;
    }
    if (!auth_token_equal(auth + 7, ev->token)) {
        events_reply_error(conn, method, 403, "forbidden: wrong token");
        return -1;
    }
    return 0;
}

/* A batch being collected from a text/event-stream body: names and data
 * are copied into one buffer, offsets resolved once parsing is done. */
struct events_batch {
    struct buf text;
    struct {
        size_t name, data, len;
    } items[EVENTS_BATCH_MAX];
    size_t n;
    const char *why;
};

static int events_batch_add(const char *name, const char *data, size_t len,
                            void *arg)
{
    struct events_batch *b = arg;
    if (b->n == EVENTS_BATCH_MAX) {
        b->why = "too many events in one batch: at most 1000";
        return -1;
    }
    if (!query_event_valid(name)) {
        b->why = "bad event name in the batch: use 1-64 of A-Z a-z 0-9 _ - . :";
        return -1;
    }
    b->items[b->n].name = buf_pending(&b->text);
    buf_append(&b->text, name, strlen(name) + 1);
    b->items[b->n].data = buf_pending(&b->text);
    b->items[b->n].len = len;
    buf_append(&b->text, data, len);
    b->n++;
    return 0;
}

/* Stores evs[0..n) in channel under the request's idempotency key (if
 * any) and answers: 200 with the ids, one per line (X-Event-Id: the first;
 * Idempotent-Replayed: true when the key had been used and nothing new was
 * stored), or 503 when the broker failed. */
static void events_store(struct stream_events *ev, struct stream_conn *conn,
                         enum http_method method, const char *channel,
                         const struct broker_new_event *evs, size_t n,
                         const char *key)
{
    long long first;
    size_t stored;
    int rc = broker_publish_many(ev->broker, channel, evs, n, key, &first,
                                  &stored);
    if (rc < 0) {
        fprintf(stderr, "stream: publish of %zu event(s) to %s failed: %s\n",
                n, channel, broker_error(ev->broker));
        char why[80];
        snprintf(why, sizeof why, "not stored: the broker (%s) failed; "
                 "try again", broker_kind(ev->broker));
        events_reply_error(conn, method, 503, why);
        return;
    }
    if (rc == 0)
        ev->stats.published += n;
    else
        fprintf(stderr, "stream: publish to %s repeated with a used "
                "Idempotency-Key: answered event %lld, stored nothing\n",
                channel, first);
    struct buf out = BUF_INIT;
    http_begin_head(&out, 200, "text/plain; charset=utf-8");
    buf_appendf(&out, "Cache-Control: no-store\r\nX-Event-Id: %lld\r\n%s",
                first, rc == 1 ? "Idempotent-Replayed: true\r\n" : "");
    http_end_head(&out);
    for (size_t i = 0; i < stored; i++)
        buf_appendf(&out, "%lld\n", first + (long long)i);
    (void)stream_conn_reply(conn, &out);
    buf_free(&out);
    if (rc == 0)
        events_catch_up(ev);
}

/* POST with Content-Type: text/event-stream: every event in the body is
 * published, in order, in one transaction. */
static void events_publish_batch(struct stream_events *ev,
                                 struct stream_conn *conn,
                                 enum http_method method, const char *channel,
                                 const char *body, size_t len, const char *key)
{
    struct events_batch *b = mem_calloc(1, sizeof *b);
    struct broker_new_event *evs = NULL;
    if (sse_parse(body, len, events_batch_add, b) < 0 || b->n == 0) {
        events_reply_error(conn, method, 400, b->why ? b->why :
                           "empty batch: no event with a data: line");
        goto done;
    }
    evs = mem_calloc(b->n, sizeof *evs);
    for (size_t i = 0; i < b->n; i++) {
        evs[i].event = buf_head(&b->text) + b->items[i].name;
        evs[i].data = buf_head(&b->text) + b->items[i].data;
        evs[i].len = b->items[i].len;
    }
    events_store(ev, conn, method, channel, evs, b->n, key);
done:
    free(evs);
    buf_free(&b->text);
    free(b);
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
    struct broker_new_event one = { event, body, len };
    events_store(ev, conn, method, channel, &one, 1, key);
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
        broker_close(ev->broker);
        free(ev);
        return NULL;
    }
    loop_timer_init(&ev->resync, events_on_resync);
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
    loop_timer_stop(ev->loop, &ev->resync);
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
}
