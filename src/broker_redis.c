/* broker_redis: the broker on a Redis server shared by several sselight
 * instances (SSELIGHT_BROKER=redis://...). See broker.h for the contract.
 *
 * Layout in the selected database:
 *   sselight:ch:CHANNEL    a Redis Stream per channel; entry id "N-0" where
 *                          N is the event id, fields e (event), d (data),
 *                          t (created, ms). Trimmed to the history bound
 *                          in batches (below).
 *   sselight:last-id       the counter that assigns ids (INCRBY), so ids
 *                          are global across channels, as in SQLite.
 *   sselight:keys:CHANNEL  sorted set: idempotency key -> first id;
 *   sselight:keyn:CHANNEL  hash: idempotency key -> events stored.
 *   sselight:pruned        hash: channel -> highest id trimmed away, so a
 *                          client resuming below it is told it missed some.
 * Trimming: XADD's approximate MAXLEN ~ would be cheapest, but Redis does
 * not say which ids it dropped, and the missed-events notice needs the
 * highest. So the script lets a stream grow to history + slack (a tenth,
 * at most 100; none below 100), then cuts it back to history with one
 * XTRIM MINID after finding the cut with XRANGE: whole nodes go at once,
 * as with MAXLEN ~, and the bound is exact for small histories.
 * Pub/Sub channel sselight:live:DB carries every event as it is stored
 * ("ID\nCHANNEL\nEVENT\nDATA"), so each process needs one subscription in
 * all, not one per subscriber.
 *
 * A publish is one Lua script, so the key check, the id assignment, the
 * appends, the trim and the Pub/Sub message are one atomic step; it
 * returns after Redis ran it. Commands go over a blocking connection with
 * a timeout (BROKER_REDIS_TIMEOUT_MS), reconnected with the same backoff
 * as the live feed; reads with nch == 0 come from the live feed
 * (redis_live.c), which answers BROKER_GAP when the caller must catch up
 * from the streams themselves. */
#include "broker_impl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "buf.h"
#include "loop.h"
#include "mem.h"
#include "redis_live.h"

#define REDIS_IDLE_PING_MS 10000   /* check an idle command connection */
#define REDIS_KEY_MAX 160

/* KEYS: stream, key zset, key hash, id counter, pruned hash.
 * ARGV: channel, maxlen, idempotency key or "", live channel, now ms,
 *       then event name and data for each event.
 * Returns {replayed (0/1), first id, count}. */
static const char redis_publish_lua[] =
    "local stream, kz, kh, ctr = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
    "local channel, maxlen, ikey = ARGV[1], tonumber(ARGV[2]), ARGV[3]\n"
    "local live, now = ARGV[4], ARGV[5]\n"
    "if ikey ~= '' then\n"
    "  local seen = redis.call('ZSCORE', kz, ikey)\n"
    "  if seen then\n"
    "    return {1, seen, redis.call('HGET', kh, ikey) or '0'}\n"
    "  end\n"
    "end\n"
    "local n = (#ARGV - 5) / 2\n"
    "local first = redis.call('INCRBY', ctr, n) - n + 1\n"
    "for i = 0, n - 1 do\n"
    "  local id = string.format('%d', first + i)\n"
    "  local ev, data = ARGV[6 + 2 * i], ARGV[7 + 2 * i]\n"
    "  redis.call('XADD', stream, id .. '-0', 'e', ev, 'd', data, 't', now)\n"
    "  redis.call('PUBLISH', live, id .. '\\n' .. channel .. '\\n' .. ev ..\n"
    "             '\\n' .. data)\n"
    "end\n"
    "if ikey ~= '' then\n"
    "  redis.call('ZADD', kz, first, ikey)\n"
    "  redis.call('HSET', kh, ikey, n)\n"
    "end\n"
    "local slack = 0\n"
    "if maxlen >= 100 then slack = math.min(100, math.floor(maxlen / 10)) end\n"
    "local len = redis.call('XLEN', stream)\n"
    "if len > maxlen + slack then\n"
    "  local cut = redis.call('XRANGE', stream, '-', '+', 'COUNT', len - maxlen)\n"
    "  local last = tonumber(string.match(cut[#cut][1], '^%d+'))\n"
    "  redis.call('XTRIM', stream, 'MINID', string.format('%d-0', last + 1))\n"
    "  redis.call('HSET', KEYS[5], channel, string.format('%d', last))\n"
    "end\n"
    /* A key lives as long as the first event of its publish is kept. */
    "if redis.call('EXISTS', kz) == 1 then\n"
    "  local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)\n"
    "  local oldest = string.match(head[1][1], '^%d+')\n"
    "  local gone = redis.call('ZRANGEBYSCORE', kz, '-inf', '(' .. oldest)\n"
    "  if #gone > 0 then\n"
    "    redis.call('ZREMRANGEBYSCORE', kz, '-inf', '(' .. oldest)\n"
    "    redis.call('HDEL', kh, unpack(gone))\n"
    "  end\n"
    "end\n"
    "return {0, string.format('%d', first), string.format('%d', n)}\n";

/* KEYS: streams. ARGV: how many of the newest ids to return per stream.
 * Returns the ids (numbers as strings), without the data. */
static const char redis_newest_ids_lua[] =
    "local out = {}\n"
    "for _, k in ipairs(KEYS) do\n"
    "  for _, e in ipairs(redis.call('XREVRANGE', k, '+', '-', 'COUNT',\n"
    "                               ARGV[1])) do\n"
    "    out[#out + 1] = string.match(e[1], '^%d+')\n"
    "  end\n"
    "end\n"
    "return out\n";

struct broker_redis {
    struct broker base; /* first: see broker_impl.h */
    struct redis_url url;
    char target[REDIS_URL_HOST_MAX + 32]; /* for logs and /stats */
    char live_channel[48];
    unsigned history;

    redisContext *cmd;          /* NULL while down */
    uint64_t cmd_retry_at_ms;   /* no new connect before this */
    unsigned cmd_backoff_ms;
    uint64_t cmd_used_ms;
    unsigned cmd_timeout_ms;    /* a command's answer; connecting: 1 s */
    char cmd_error[512];        /* why it is down */

    struct redis_live *live;    /* the live feed (started by the watch) */
    int watching;
    broker_wake_fn *wake;
    void *wake_arg;
};

static const struct broker_ops broker_redis_ops;

static void redis_key(char *out, const char *kind, const char *channel)
{
    snprintf(out, REDIS_KEY_MAX, "sselight:%s:%s", kind, channel);
}

/* --- the command connection ------------------------------------------- */

static void redis_cmd_drop(struct broker_redis *r, const char *what)
{
    snprintf(r->cmd_error, sizeof r->cmd_error, "redis at %s: %s: %s",
             r->target, what, r->cmd && r->cmd->errstr[0] ? r->cmd->errstr
                                                          : "out of memory");
    broker_fail_text(&r->base, "%s", r->cmd_error);
    if (r->cmd)
        redisFree(r->cmd);
    r->cmd = NULL;
    r->cmd_backoff_ms = redis_live_next_backoff(r->cmd_backoff_ms);
    r->cmd_retry_at_ms = loop_clock_ms() + r->cmd_backoff_ms;
}

/* AUTH and SELECT on a new connection. 0; -1 with err set when the server
 * refused (fatal: misconfiguration); -2 when the connection failed. */
static int redis_login(struct broker_redis *r, redisContext *c, char *err,
                       size_t errlen)
{
    const char *argv[3];
    int argc = 0;
    char db[8];
    for (int step = 0; step < 2; step++) {
        if (step == 0) {
            if (!r->url.password[0])
                continue;
            argv[argc = 0] = "AUTH";
            if (r->url.user[0])
                argv[++argc] = r->url.user;
            argv[++argc] = r->url.password;
            argc++;
        } else {
            if (r->url.db == 0)
                continue;
            snprintf(db, sizeof db, "%d", r->url.db);
            argv[0] = "SELECT";
            argv[1] = db;
            argc = 2;
        }
        redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
        if (!rep)
            return -2;
        int bad = rep->type == REDIS_REPLY_ERROR;
        if (bad)
            snprintf(err, errlen, "%s refused: %.*s", argv[0],
                     (int)rep->len, rep->str);
        freeReplyObject(rep);
        if (bad)
            return -1;
    }
    return 0;
}

/* The command connection, connecting if needed (not before the backoff
 * allows). NULL with the error in r->base.error. fatal (may be NULL) is
 * set when the server refused AUTH or SELECT. */
static redisContext *redis_cmd(struct broker_redis *r, int *fatal)
{
    uint64_t now = loop_clock_ms();
    if (r->cmd && now - r->cmd_used_ms > REDIS_IDLE_PING_MS) {
        /* Idle for a while: a server-side timeout or a restart may have
         * closed it, and a publish must not fail on a stale connection. */
        redisReply *rep = redisCommand(r->cmd, "PING");
        if (!rep)
            redis_cmd_drop(r, "PING");
        else
            freeReplyObject(rep);
        r->cmd_backoff_ms = 0;
        r->cmd_retry_at_ms = 0;
    }
    if (r->cmd) {
        r->cmd_used_ms = now;
        return r->cmd;
    }
    if (now < r->cmd_retry_at_ms) {
        broker_fail_text(&r->base, "%s (next try in %llu ms)", r->cmd_error,
                         (unsigned long long)(r->cmd_retry_at_ms - now));
        return NULL;
    }
    struct timeval tv = { BROKER_REDIS_TIMEOUT_MS / 1000,
                          (BROKER_REDIS_TIMEOUT_MS % 1000) * 1000 };
    redisContext *c = r->url.path[0]
                          ? redisConnectUnixWithTimeout(r->url.path, tv)
                          : redisConnectWithTimeout(r->url.host, r->url.port,
                                                    tv);
    r->cmd = c;
    if (!c || c->err) {
        redis_cmd_drop(r, "cannot connect");
        return NULL;
    }
    char why[200];
    struct timeval cmd_tv = { r->cmd_timeout_ms / 1000,
                              (r->cmd_timeout_ms % 1000) * 1000 };
    if (redisSetTimeout(c, cmd_tv) != REDIS_OK) {
        redis_cmd_drop(r, "setting the timeout");
        return NULL;
    }
    /* TCP only: on a unix socket hiredis records the failed TCP option as
     * the connection's error, and every command after it would fail. */
    if (!r->url.path[0])
        (void)redisEnableKeepAlive(c);
    int rc = redis_login(r, c, why, sizeof why);
    if (rc == -2) {
        redis_cmd_drop(r, "logging in");
        return NULL;
    }
    if (rc == -1) {
        if (fatal)
            *fatal = 1;
        broker_fail_text(&r->base, "redis at %s: %s", r->target, why);
        redisFree(c);
        r->cmd = NULL;
        r->cmd_backoff_ms = REDIS_LIVE_BACKOFF_MAX_MS;
        r->cmd_retry_at_ms = now + r->cmd_backoff_ms;
        return NULL;
    }
    r->cmd_backoff_ms = 0;
    r->cmd_used_ms = now;
    return c;
}

/* Sends the commands and collects their replies (pipelined): rep[i] for
 * argv[i]. Returns 0, or -1 with the error recorded and no replies left. */
static int redis_pipeline(struct broker_redis *r, size_t n, const int *argc,
                          const char **const *argv,
                          const size_t *const *lens, redisReply **rep)
{
    redisContext *c = redis_cmd(r, NULL);
    if (!c)
        return -1;
    for (size_t i = 0; i < n; i++) {
        rep[i] = NULL;
        if (redisAppendCommandArgv(c, argc[i], argv[i], lens[i]) !=
            REDIS_OK) {
            redis_cmd_drop(r, "sending");
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        void *p = NULL;
        if (redisGetReply(c, &p) != REDIS_OK || !p) {
            for (size_t j = 0; j < i; j++)
                freeReplyObject(rep[j]);
            redis_cmd_drop(r, "reading a reply");
            return -1;
        }
        rep[i] = p;
    }
    return 0;
}

static void redis_free_replies(redisReply **rep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rep[i])
            freeReplyObject(rep[i]);
}

/* 0 when rep is not an error reply; else records it and returns -1. */
static int redis_reply_ok(struct broker_redis *r, const redisReply *rep,
                          const char *what)
{
    if (rep->type != REDIS_REPLY_ERROR)
        return 0;
    return broker_fail_text(&r->base, "redis at %s: %s: %.*s", r->target,
                            what, (int)rep->len, rep->str);
}

/* Runs one EVAL (script, keys, args); the reply or NULL (error recorded). */
static redisReply *redis_eval(struct broker_redis *r, const char *script,
                              size_t nkeys, const char **argv, size_t *lens,
                              size_t argc, const char *what)
{
    /* argv[0..3) are ours to fill: EVAL, the script, nkeys. */
    char nk[16];
    snprintf(nk, sizeof nk, "%zu", nkeys);
    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = script;
    lens[1] = strlen(script);
    argv[2] = nk;
    lens[2] = strlen(nk);
    int ac = (int)argc;
    const char **const av = argv;
    const size_t *const ln = lens;
    redisReply *rep;
    if (redis_pipeline(r, 1, &ac, &av, &ln, &rep) != 0)
        return NULL;
    if (redis_reply_ok(r, rep, what) != 0) {
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* --- publishing and reading --------------------------------------------- */

static long long redis_reply_int(const redisReply *e)
{
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
        return redis_live_parse_id(e->str, e->len);
    return -1;
}

static int broker_redis_publish_many(struct broker *base, const char *channel,
                                     const struct broker_new_event *evs,
                                     size_t n, const char *key,
                                     long long *first_id, size_t *n_stored)
{
    struct broker_redis *r = (struct broker_redis *)base;
    char kstream[REDIS_KEY_MAX], kz[REDIS_KEY_MAX], kh[REDIS_KEY_MAX];
    char maxlen[16], now[24];
    size_t argc = 3 + 5 + 5 + 2 * n;
    const char **argv = mem_calloc(argc, sizeof *argv);
    size_t *lens = mem_calloc(argc, sizeof *lens);
    size_t a = 3;

    redis_key(kstream, "ch", channel);
    redis_key(kz, "keys", channel);
    redis_key(kh, "keyn", channel);
    snprintf(maxlen, sizeof maxlen, "%u", r->history);
    snprintf(now, sizeof now, "%lld", broker_wall_ms());
    const char *fixed[] = { kstream, kz, kh, "sselight:last-id",
                            "sselight:pruned", channel,
                            maxlen, key ? key : "", r->live_channel, now };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, a++) {
        argv[a] = fixed[i];
        lens[a] = strlen(fixed[i]);
    }
    for (size_t i = 0; i < n; i++) {
        argv[a] = evs[i].event;
        lens[a++] = strlen(evs[i].event);
        argv[a] = evs[i].len ? evs[i].data : "";
        lens[a++] = evs[i].len;
    }
    redisReply *rep = redis_eval(r, redis_publish_lua, 5, argv, lens, argc,
                                 "publish");
    free(argv);
    free(lens);
    if (!rep)
        return -1;
    int rc = -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3) {
        long long replayed = redis_reply_int(rep->element[0]);
        long long first = redis_reply_int(rep->element[1]);
        long long count = redis_reply_int(rep->element[2]);
        if (first > 0 && count >= 0 && (replayed == 0 || replayed == 1)) {
            *first_id = first;
            *n_stored = (size_t)count;
            rc = (int)replayed;
        }
    }
    if (rc < 0)
        broker_fail_text(base, "redis at %s: publish: unexpected reply",
                         r->target);
    freeReplyObject(rep);
    return rc;
}

/* One entry of an XRANGE reply, ready for a broker_event. */
struct redis_entry {
    long long id;
    const char *channel;
    const redisReply *fields;
};

static int redis_entry_cmp(const void *a, const void *b)
{
    long long x = ((const struct redis_entry *)a)->id;
    long long y = ((const struct redis_entry *)b)->id;
    return (x > y) - (x < y);
}

/* Fills ev from an entry's fields (e, d, t). -1 if they are not ours. */
static int redis_entry_event(const struct redis_entry *en,
                             struct broker_event *ev)
{
    const redisReply *f = en->fields;
    memset(ev, 0, sizeof *ev);
    ev->id = en->id;
    ev->channel = en->channel;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            k->len != 1)
            continue;
        if (k->str[0] == 'e')
            ev->event = v->str;
        else if (k->str[0] == 'd') {
            ev->data = v->str;
            ev->data_len = v->len;
        } else if (k->str[0] == 't')
            ev->created_ms = strtoll(v->str, NULL, 10);
    }
    return ev->event && ev->data ? 0 : -1;
}

/* Reads channels after `after` from the streams (a pipelined XRANGE per
 * channel), merges them in id order and passes at most limit to fn. */
static long redis_read_streams(struct broker_redis *r, long long after,
                               const char *const *channels, size_t nch,
                               size_t limit, broker_event_fn *fn, void *arg)
{
    char keys[BROKER_CHANNELS_MAX][REDIS_KEY_MAX], start[32], count[24];
    const char *argvs[BROKER_CHANNELS_MAX][6];
    const char **av[BROKER_CHANNELS_MAX] = { 0 };
    const size_t *lv[BROKER_CHANNELS_MAX] = { 0 };
    int ac[BROKER_CHANNELS_MAX] = { 0 };
    redisReply *rep[BROKER_CHANNELS_MAX];

    if (limit == 0)
        return 0; /* XRANGE's COUNT 0 would mean "no limit" */
    snprintf(start, sizeof start, "%lld-0", after + 1);
    snprintf(count, sizeof count, "%zu", limit);
    for (size_t i = 0; i < nch; i++) {
        redis_key(keys[i], "ch", channels[i]);
        const char *cmd[] = { "XRANGE", keys[i], start, "+", "COUNT", count };
        memcpy(argvs[i], cmd, sizeof cmd);
        av[i] = argvs[i];
        ac[i] = limit == (size_t)-1 ? 4 : 6;
    }
    if (redis_pipeline(r, nch, ac, av, lv, rep) != 0)
        return -1;
    size_t total = 0;
    for (size_t i = 0; i < nch; i++) {
        if (redis_reply_ok(r, rep[i], "read") != 0 ||
            rep[i]->type != REDIS_REPLY_ARRAY) {
            redis_free_replies(rep, nch);
            return -1;
        }
        total += rep[i]->elements;
    }
    struct redis_entry *all = mem_calloc(total ? total : 1, sizeof *all);
    size_t m = 0;
    for (size_t i = 0; i < nch; i++)
        for (size_t j = 0; j < rep[i]->elements; j++) {
            const redisReply *e = rep[i]->element[j];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            long long id = redis_live_parse_id(e->element[0]->str,
                                          e->element[0]->len);
            if (id <= after)
                continue;
            all[m++] = (struct redis_entry){ id, channels[i],
                                             e->element[1] };
        }
    qsort(all, m, sizeof *all, redis_entry_cmp);
    long n = 0;
    for (size_t i = 0; i < m && (size_t)n < limit; i++) {
        struct broker_event ev;
        if (redis_entry_event(&all[i], &ev) != 0) {
            fprintf(stderr, "broker: redis entry %lld of %s is not an "
                    "sselight event; skipped\n", all[i].id, all[i].channel);
            continue;
        }
        n++;
        if (fn(&ev, arg) != 0)
            break;
    }
    free(all);
    redis_free_replies(rep, nch);
    return n;
}

static long broker_redis_read_since(struct broker *base, long long after,
                                    const char *const *channels, size_t nch,
                                    size_t limit, broker_event_fn *fn,
                                    void *arg)
{
    struct broker_redis *r = (struct broker_redis *)base;
    if (nch == 0)
        return redis_live_read(r->live, after, limit, fn, arg);
    return redis_read_streams(r, after, channels, nch, limit, fn, arg);
}

static int broker_redis_history_start(struct broker *base,
                                      const char *const *channels,
                                      size_t nch, unsigned n,
                                      long long *after)
{
    struct broker_redis *r = (struct broker_redis *)base;
    char keys[BROKER_CHANNELS_MAX][REDIS_KEY_MAX], count[16];
    const char *argv[3 + BROKER_CHANNELS_MAX + 1];
    size_t lens[3 + BROKER_CHANNELS_MAX + 1];
    size_t a = 3;
    for (size_t i = 0; i < nch; i++, a++) {
        redis_key(keys[i], "ch", channels[i]);
        argv[a] = keys[i];
        lens[a] = strlen(keys[i]);
    }
    snprintf(count, sizeof count, "%u", n + 1);
    argv[a] = count;
    lens[a++] = strlen(count);
    redisReply *rep = redis_eval(r, redis_newest_ids_lua, nch, argv, lens, a,
                                 "history");
    if (!rep)
        return -1;
    if (rep->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return broker_fail_text(base, "redis at %s: history: unexpected "
                                "reply", r->target);
    }
    struct redis_entry *e = mem_calloc(rep->elements + 1, sizeof *e);
    size_t m = 0;
    for (size_t i = 0; i < rep->elements; i++)
        if ((e[m].id = redis_reply_int(rep->element[i])) > 0)
            m++;
    freeReplyObject(rep);
    /* The newest event that is not among the last n: the last n are the
     * ones after it (none: the channels hold n or fewer). */
    qsort(e, m, sizeof *e, redis_entry_cmp);
    *after = m > n ? e[m - 1 - n].id : 0;
    free(e);
    return 0;
}

/* Runs a command that answers one number (nil: 0) into *out. */
static int redis_get_number(struct broker_redis *r, const char *what,
                            long long *out, int argc, const char **argv)
{
    redisReply *rep;
    const size_t *lens = NULL;
    if (redis_pipeline(r, 1, &argc, &argv, &lens, &rep) != 0)
        return -1;
    int rc = redis_reply_ok(r, rep, what);
    if (rc == 0) {
        *out = rep->type == REDIS_REPLY_NIL ? 0 : redis_reply_int(rep);
        if (*out < 0)
            rc = broker_fail_text(&r->base, "redis at %s: %s: not a number",
                                  r->target, what);
    }
    freeReplyObject(rep);
    return rc;
}

static int broker_redis_last_id(struct broker *base, long long *id)
{
    const char *argv[] = { "GET", "sselight:last-id" };
    return redis_get_number((struct broker_redis *)base, "last id", id, 2,
                            argv);
}

static int broker_redis_pruned_upto(struct broker *base, const char *channel,
                                    long long *id)
{
    const char *argv[] = { "HGET", "sselight:pruned", channel };
    return redis_get_number((struct broker_redis *)base, "pruned", id, 3,
                            argv);
}

/* The key's score in the channel's key set is its publish's first id (ids
 * start at 1, and a missing member reads as 0). */
static int broker_redis_key_id(struct broker *base, const char *channel,
                               const char *key, long long *id)
{
    char kz[REDIS_KEY_MAX];
    redis_key(kz, "keys", channel);
    const char *argv[] = { "ZSCORE", kz, key };
    if (redis_get_number((struct broker_redis *)base, "key", id, 3, argv) != 0)
        return -1;
    return *id > 0;
}

static void redis_on_live_wake(void *arg)
{
    struct broker_redis *r = arg;
    r->wake(r->wake_arg);
}

/* The live feed is back: Redis answers, so the next command connects at
 * once instead of waiting out its backoff. */
static void redis_on_live_connected(void *arg)
{
    struct broker_redis *r = arg;
    r->cmd_retry_at_ms = 0;
}

static int broker_redis_watch(struct broker *base, struct loop *loop,
                              broker_wake_fn *fn, void *arg)
{
    struct broker_redis *r = (struct broker_redis *)base;
    if (r->watching)
        return broker_fail_text(base, "already watching");
    r->watching = 1;
    /* wake and connected take one argument each: wake gets the caller's. */
    r->wake = fn;
    r->wake_arg = arg;
    redis_live_start(r->live, loop, redis_on_live_wake, redis_on_live_connected,
                     r);
    return 0;
}

static void broker_redis_health_json(const struct broker *base,
                                     struct buf *out)
{
    redis_live_health_json(((const struct broker_redis *)base)->live, out);
}

static void broker_redis_health(const struct broker *base, int *up,
                                uint64_t *reconnects)
{
    redis_live_health(((const struct broker_redis *)base)->live, up,
                      reconnects);
}

static void broker_redis_close(struct broker *base)
{
    struct broker_redis *r = (struct broker_redis *)base;
    redis_live_free(r->live);
    if (r->cmd)
        redisFree(r->cmd);
    free(r);
}

static void broker_redis_set_wait_ms(struct broker *base, unsigned ms)
{
    struct broker_redis *r = (struct broker_redis *)base;
    r->cmd_timeout_ms = ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (r->cmd && redisSetTimeout(r->cmd, tv) != REDIS_OK)
        redis_cmd_drop(r, "setting the timeout"); /* the next call reconnects */
}

struct broker *broker_redis_open(const struct redis_url *url, unsigned history,
                                 char *err, size_t errlen)
{
    struct broker_redis *r = mem_calloc(1, sizeof *r);
    r->base.ops = &broker_redis_ops;
    r->url = *url;
    r->history = history ? history : BROKER_HISTORY_DEFAULT;
    r->cmd_timeout_ms = BROKER_REDIS_TIMEOUT_MS;
    redis_url_describe(url, r->target, sizeof r->target);
    redis_live_channel(url->db, r->live_channel, sizeof r->live_channel);
    r->live = redis_live_new(url, r->target);
    /* Try now so that a refused password or database stops the start; a
     * server that is merely down is retried by every call. */
    int fatal = 0;
    if (!redis_cmd(r, &fatal)) {
        if (fatal) {
            snprintf(err, errlen, "SSELIGHT_BROKER: %s", r->base.error);
            broker_redis_close(&r->base);
            return NULL;
        }
        fprintf(stderr, "broker: %s; will retry\n", r->base.error);
        redis_live_note_error(r->live, r->base.error);
    }
    return &r->base;
}

static const struct broker_ops broker_redis_ops = {
    .kind = "redis",
    .feed_in_memory = 1,
    .set_wait_ms = broker_redis_set_wait_ms,
    .close = broker_redis_close,
    .publish_many = broker_redis_publish_many,
    .read_since = broker_redis_read_since,
    .history_start = broker_redis_history_start,
    .last_id = broker_redis_last_id,
    .pruned_upto = broker_redis_pruned_upto,
    .key_id = broker_redis_key_id,
    .watch = broker_redis_watch,
    .append_health_json = broker_redis_health_json,
    .health = broker_redis_health,
};
