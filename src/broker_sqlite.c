/* broker_sqlite: the embedded broker, one SQLite file in WAL mode shared by
 * the processes of one machine; notify wakes them after each commit. See
 * broker.h for the contract. */
#include "broker_impl.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "buf.h"
#include "mem.h"
#include "loop.h"
#include "notify.h"

struct broker_sqlite {
    struct broker base; /* first: see broker_impl.h */
    sqlite3 *db;
    char dir[256];
    unsigned history;
    struct notify_listener watch;
    struct loop *loop;  /* set by the watch */
    struct loop_io watch_io;
    broker_wake_fn *wake;
    void *wake_arg;
    unsigned wait_ms;   /* how long a write waits for another's lock */
    uint64_t busy_since_ms; /* when the current wait began */
};

static const struct broker_ops broker_sqlite_ops;
static void broker_sqlite_close(struct broker *base);

/* SQLite's own busy handler sleeps up to 100 ms between tries, so a write
 * that waited for another process's lock went on up to 100 ms after the
 * lock was released. This one tries again every BROKER_BUSY_STEP_MS and
 * gives up after wait_ms. */
#define BROKER_BUSY_STEP_MS 2

static int broker_sqlite_busy(void *arg, int tries)
{
    struct broker_sqlite *b = arg;
    uint64_t now = loop_clock_ms();
    if (tries == 0)
        b->busy_since_ms = now;
    if (now - b->busy_since_ms >= b->wait_ms)
        return 0;
    sqlite3_sleep(BROKER_BUSY_STEP_MS);
    return 1;
}

static const char broker_schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  channel TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  data BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS events_by_channel ON events(channel, id);"
    "CREATE TABLE IF NOT EXISTS channels ("
    "  name TEXT PRIMARY KEY,"
    "  pruned_upto INTEGER NOT NULL DEFAULT 0);"
    /* Idempotency keys: a publish with a key already here is answered with
     * the stored ids instead of being stored again. A key lives as long as
     * the first event of its publish is kept. */
    "CREATE TABLE IF NOT EXISTS publish_keys ("
    "  channel TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  first_id INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (channel, key)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS publish_keys_by_id "
    "  ON publish_keys(channel, first_id);";

static int broker_fail(struct broker_sqlite *b, const char *what)
{
    return broker_fail_text(&b->base, "%s: %s", what, sqlite3_errmsg(b->db));
}

/* Creates the tables. Switching a new file to WAL answers SQLITE_BUSY at
 * once, without the busy handler, when another process does the same at
 * that moment (two responders starting on a fresh data dir): retry. */
static int broker_setup_schema(struct broker_sqlite *b)
{
    int rc = SQLITE_BUSY;
    for (int waited = 0; waited <= BROKER_BUSY_MS; waited += 10) {
        rc = sqlite3_exec(b->db, broker_schema, NULL, NULL, NULL);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        (void)nanosleep(&ts, NULL);
    }
    return rc;
}

struct broker *broker_sqlite_open(const char *dir, unsigned history,
                                  char *err, size_t errlen)
{
    struct broker_sqlite *b = mem_calloc(1, sizeof *b);
    b->base.ops = &broker_sqlite_ops;
    char path[512];
    b->watch.fd = -1;
    b->history = history ? history : BROKER_HISTORY_DEFAULT;
    if (snprintf(b->dir, sizeof b->dir, "%s", dir) >= (int)sizeof b->dir) {
        snprintf(err, errlen, "data dir path too long: %s", dir);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/broker.db", dir);
    if (sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 b->db ? sqlite3_errmsg(b->db) : "out of memory");
        goto fail;
    }
    /* NORMAL (the default): in WAL mode a commit survives the crash of any
     * process; only a power loss or OS crash can take back the last ones.
     * SSELIGHT_SYNC=full: each commit is fsynced before publish returns. */
    const char *sync = getenv("SSELIGHT_SYNC");
    const char *pragma = sync && strcmp(sync, "full") == 0
                             ? "PRAGMA synchronous=FULL;"
                             : "PRAGMA synchronous=NORMAL;";
    if (sync && *sync && strcmp(sync, "full") != 0 &&
        strcmp(sync, "normal") != 0) {
        snprintf(err, errlen, "SSELIGHT_SYNC must be full or normal, not '%s'",
                 sync);
        goto fail;
    }
    b->wait_ms = BROKER_BUSY_MS;
    if (sqlite3_busy_handler(b->db, broker_sqlite_busy, b) != SQLITE_OK ||
        broker_setup_schema(b) != SQLITE_OK ||
        sqlite3_exec(b->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up %s: %s", path,
                 sqlite3_errmsg(b->db));
        goto fail;
    }
    return &b->base;
fail:
    broker_sqlite_close(&b->base);
    return NULL;
}

static void broker_sqlite_close(struct broker *base)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    if (b->loop && loop_io_del(b->loop, &b->watch_io) != 0)
        fprintf(stderr, "broker: epoll_ctl(DEL, notify): %s\n",
                strerror(errno));
    notify_close(&b->watch);
    if (b->db && sqlite3_close(b->db) != SQLITE_OK)
        fprintf(stderr, "broker: sqlite3_close: %s\n", sqlite3_errmsg(b->db));
    free(b);
}

/* Prepares sql; on failure records the error and returns NULL. */
static sqlite3_stmt *broker_prepare(struct broker_sqlite *b, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK) {
        broker_fail(b, "prepare");
        return NULL;
    }
    return st;
}

/* Runs a statement that returns no rows (or whose rows we ignore). */
static int broker_step_done(struct broker_sqlite *b, sqlite3_stmt *st,
                            const char *what)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        broker_fail(b, what);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

/* Runs sql, which takes a channel as ?1 and an id as ?2 and returns no
 * rows. Returns 0, or -1 with the error recorded. */
static int broker_exec_channel_id(struct broker_sqlite *b, const char *sql,
                                  const char *channel, long long id)
{
    sqlite3_stmt *st = broker_prepare(b, sql);
    if (!st)
        return -1;
    if (sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, id) != SQLITE_OK) {
        broker_fail(b, "bind");
        sqlite3_finalize(st);
        return -1;
    }
    return broker_step_done(b, st, "prune");
}

/* Drops the events of channel older than the newest b->history, and
 * remembers the highest id dropped. Inside the publish transaction. */
static int broker_prune(struct broker_sqlite *b, const char *channel)
{
    sqlite3_stmt *st = broker_prepare(b,
        "SELECT id FROM events WHERE channel = ?1 ORDER BY id DESC "
        "LIMIT 1 OFFSET ?2");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, b->history);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return broker_fail(b, "prune");
    }
    long long cutoff = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);

    static const char *const steps[] = {
        "DELETE FROM events WHERE channel = ?1 AND id <= ?2",
        "DELETE FROM publish_keys WHERE channel = ?1 AND first_id <= ?2",
        "INSERT INTO channels(name, pruned_upto) VALUES (?1, ?2) "
        "ON CONFLICT(name) DO UPDATE SET "
        "pruned_upto = max(pruned_upto, excluded.pruned_upto)",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (broker_exec_channel_id(b, steps[i], channel, cutoff) != 0)
            return -1;
    return 0;
}

/* Looks key up in channel: 1 and the earlier publish's ids when it is
 * there, 0 when not, -1 on error. Inside the publish transaction, or on
 * its own for a resume by key. */
static int broker_key_lookup(struct broker_sqlite *b, const char *channel,
                             const char *key, long long *first_id,
                             size_t *count)
{
    sqlite3_stmt *st = broker_prepare(b,
        "SELECT first_id, count FROM publish_keys "
        "WHERE channel = ?1 AND key = ?2");
    if (!st)
        return -1;
    int rc = SQLITE_MISUSE;
    if (sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *first_id = sqlite3_column_int64(st, 0);
        *count = (size_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return broker_fail(b, "key lookup");
    return rc == SQLITE_ROW;
}

static int broker_key_store(struct broker_sqlite *b, const char *channel,
                            const char *key, long long first_id, size_t count)
{
    sqlite3_stmt *st = broker_prepare(b,
        "INSERT INTO publish_keys(channel, key, first_id, count) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        return -1;
    if (sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, first_id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, (long long)count) != SQLITE_OK) {
        broker_fail(b, "bind");
        sqlite3_finalize(st);
        return -1;
    }
    return broker_step_done(b, st, "key store");
}

/* Stores one publish of a group inside the open transaction, under a
 * savepoint so that its failure undoes only its own writes. Sets p->rc
 * (0 stored, 1 key already used, -1 failed) and its ids. */
static void broker_sqlite_publish_one(struct broker_sqlite *b,
                                      struct broker_publish *p, long long now)
{
    p->rc = -1;
    p->n_stored = 0;
    if (sqlite3_exec(b->db, "SAVEPOINT one", NULL, NULL, NULL) != SQLITE_OK) {
        broker_fail(b, "savepoint");
        return;
    }
    if (p->key) {
        int seen = broker_key_lookup(b, p->channel, p->key, &p->first_id,
                                     &p->n_stored);
        if (seen < 0)
            goto undo;
        if (seen) {
            p->rc = 1;
            goto release;
        }
    }
    sqlite3_stmt *st = broker_prepare(b,
        "INSERT INTO events(channel, event, data, created_ms) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        goto undo;
    for (size_t i = 0; i < p->n; i++) {
        const struct broker_new_event *e = &p->evs[i];
        if (sqlite3_reset(st) != SQLITE_OK ||
            sqlite3_bind_text(st, 1, p->channel, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, e->event, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_blob(st, 3, e->len ? e->data : "", (int)e->len,
                              SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 4, now) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE) {
            broker_fail(b, "insert");
            sqlite3_finalize(st);
            goto undo;
        }
        if (i == 0)
            p->first_id = sqlite3_last_insert_rowid(b->db);
    }
    sqlite3_finalize(st);
    if (p->key && broker_key_store(b, p->channel, p->key, p->first_id,
                                   p->n) != 0)
        goto undo;
    if (broker_prune(b, p->channel) != 0)
        goto undo;
    p->rc = 0;
    p->n_stored = p->n;
release:
    if (sqlite3_exec(b->db, "RELEASE one", NULL, NULL, NULL) == SQLITE_OK)
        return;
    broker_fail(b, "release");
undo:
    p->rc = -1;
    p->n_stored = 0;
    (void)sqlite3_exec(b->db, "ROLLBACK TO one", NULL, NULL, NULL);
    (void)sqlite3_exec(b->db, "RELEASE one", NULL, NULL, NULL);
}

/* Group commit: every publish of items in one transaction, so one commit
 * (one fsync with SSELIGHT_SYNC=full) and one wake-up serve them all. */
static size_t broker_sqlite_publish_group(struct broker *base,
                                          struct broker_publish *items,
                                          size_t n)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    for (size_t i = 0; i < n; i++)
        items[i].rc = -1;
    if (sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        broker_fail(b, "begin");
        (void)sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    long long now = broker_wall_ms();
    size_t ok = 0, stored = 0;
    for (size_t i = 0; i < n; i++) {
        broker_sqlite_publish_one(b, &items[i], now);
        ok += items[i].rc >= 0;
        stored += items[i].rc == 0;
    }
    if (stored == 0) {
        /* Nothing new (all failed or all repeats): nothing to commit. */
        (void)sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        return ok;
    }
    if (sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        broker_fail(b, "commit");
        (void)sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        for (size_t i = 0; i < n; i++)
            if (items[i].rc == 0) {
                items[i].rc = -1;
                items[i].n_stored = 0;
                ok--;
            }
        return ok;
    }
    /* After the commit, so a woken reader sees the events. A failed wake-up
     * does not undo the publish: readers also catch up on their next one. */
    if (notify_all(b->dir) < 0)
        fprintf(stderr, "broker: waking subscribers: %s\n", strerror(errno));
    return ok;
}

static void broker_sqlite_set_wait_ms(struct broker *base, unsigned ms)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    b->wait_ms = ms;
}

static int broker_sqlite_publish_many(struct broker *base,
                                      const char *channel,
                                      const struct broker_new_event *evs,
                                      size_t n, const char *key,
                                      long long *first_id, size_t *n_stored)
{
    struct broker_publish p = { .channel = channel, .evs = evs, .n = n,
                                .key = key };
    (void)broker_sqlite_publish_group(base, &p, 1);
    if (p.rc >= 0) {
        *first_id = p.first_id;
        *n_stored = p.n_stored;
    }
    return p.rc;
}

/* Binds channels[0..nch) to parameters ?2.. of st. */
static void broker_bind_channels(sqlite3_stmt *st, const char *const *channels,
                                 size_t nch)
{
    for (size_t i = 0; i < nch; i++)
        sqlite3_bind_text(st, (int)i + 2, channels[i], -1, SQLITE_STATIC);
}

/* "channel IN (?2, ?3, ...)" for nch channels, or "1" for all. */
static void broker_channel_filter(char *out, size_t outsz, size_t nch)
{
    size_t o = 0;
    if (nch == 0) {
        snprintf(out, outsz, "1");
        return;
    }
    o += (size_t)snprintf(out + o, outsz - o, "channel IN (");
    for (size_t i = 0; i < nch && o < outsz; i++)
        o += (size_t)snprintf(out + o, outsz - o, "%s?%zu", i ? ", " : "",
                              i + 2);
    if (o < outsz)
        snprintf(out + o, outsz - o, ")");
}

static long broker_sqlite_read_since(struct broker *base, long long after,
                                     const char *const *channels, size_t nch,
                                     size_t limit, broker_event_fn *fn,
                                     void *arg)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    char filter[256], sql[512];
    broker_channel_filter(filter, sizeof filter, nch);
    /* SQLite's LIMIT is a signed 64-bit integer. */
    long long lim = limit > (size_t)INT64_MAX ? INT64_MAX : (long long)limit;
    snprintf(sql, sizeof sql,
             "SELECT id, channel, event, data, created_ms FROM events "
             "WHERE id > ?1 AND %s ORDER BY id LIMIT %lld", filter, lim);
    sqlite3_stmt *st = broker_prepare(b, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    broker_bind_channels(st, channels, nch);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct broker_event ev = {
            .id = sqlite3_column_int64(st, 0),
            .channel = (const char *)sqlite3_column_text(st, 1),
            .event = (const char *)sqlite3_column_text(st, 2),
            .data = sqlite3_column_blob(st, 3),
            .data_len = (size_t)sqlite3_column_bytes(st, 3),
            .created_ms = sqlite3_column_int64(st, 4),
        };
        if (!ev.channel || !ev.event) {
            rc = SQLITE_NOMEM;
            break;
        }
        if (!ev.data)
            ev.data = "";
        n++;
        if (fn(&ev, arg) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        broker_fail(b, "read");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return n;
}

/* Runs a query that yields one integer (or none: *out = 0). */
static int broker_query_int(struct broker_sqlite *b, sqlite3_stmt *st,
                            long long *out)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return broker_fail(b, "query");
    return 0;
}

/* broker.c checks nch and handles n == 0. */
static int broker_sqlite_history_start(struct broker *base,
                                       const char *const *channels,
                                       size_t nch, unsigned n,
                                       long long *after)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    char filter[256], sql[512];
    broker_channel_filter(filter, sizeof filter, nch);
    /* The newest event that is not among the last n: the last n are the
     * ones after it. No such event: the channels hold n or fewer. */
    snprintf(sql, sizeof sql,
             "SELECT id FROM events WHERE %s ORDER BY id DESC "
             "LIMIT 1 OFFSET %u", filter, n);
    sqlite3_stmt *st = broker_prepare(b, sql);
    if (st)
        broker_bind_channels(st, channels, nch);
    return broker_query_int(b, st, after);
}

static int broker_sqlite_last_id(struct broker *base, long long *id)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    return broker_query_int(b, broker_prepare(b,
        "SELECT seq FROM sqlite_sequence WHERE name = 'events'"), id);
}

static int broker_sqlite_pruned_upto(struct broker *base,
                                     const char *channel, long long *id)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    sqlite3_stmt *st = broker_prepare(b,
        "SELECT pruned_upto FROM channels WHERE name = ?1");
    if (st)
        sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    return broker_query_int(b, st, id);
}

static int broker_sqlite_key_id(struct broker *base, const char *channel,
                                const char *key, long long *id)
{
    size_t count;
    *id = 0;
    return broker_key_lookup((struct broker_sqlite *)base, channel, key, id,
                             &count);
}

static void broker_sqlite_on_notify(struct loop *loop, struct loop_io *io,
                                    uint32_t events)
{
    (void)loop;
    (void)events;
    struct broker_sqlite *b = (struct broker_sqlite *)(void *)(
        (char *)io - offsetof(struct broker_sqlite, watch_io));
    /* Drain first: a publish after this point sends a new wake-up. */
    notify_drain(&b->watch);
    b->wake(b->wake_arg);
}

static int broker_sqlite_watch(struct broker *base, struct loop *loop,
                               broker_wake_fn *fn, void *arg)
{
    struct broker_sqlite *b = (struct broker_sqlite *)base;
    if (b->loop)
        return broker_fail_text(base, "already watching");
    if (notify_listen(&b->watch, b->dir) != 0)
        return broker_fail_text(base, "cannot listen in %s/notify: %s",
                                b->dir, strerror(errno));
    b->wake = fn;
    b->wake_arg = arg;
    if (loop_io_add(loop, &b->watch_io, b->watch.fd, EPOLLIN,
                    broker_sqlite_on_notify) != 0) {
        int e = errno;
        notify_close(&b->watch);
        return broker_fail_text(base, "epoll_ctl(ADD, notify): %s",
                                strerror(e));
    }
    b->loop = loop;
    return 0;
}

static void broker_sqlite_health_json(const struct broker *base,
                                      struct buf *out)
{
    (void)base;
    (void)out; /* a file: nothing to report beyond the kind */
}

static const struct broker_ops broker_sqlite_ops = {
    .kind = "sqlite",
    .close = broker_sqlite_close,
    .publish_many = broker_sqlite_publish_many,
    .publish_group = broker_sqlite_publish_group,
    .set_wait_ms = broker_sqlite_set_wait_ms,
    .read_since = broker_sqlite_read_since,
    .history_start = broker_sqlite_history_start,
    .last_id = broker_sqlite_last_id,
    .pruned_upto = broker_sqlite_pruned_upto,
    .key_id = broker_sqlite_key_id,
    .watch = broker_sqlite_watch,
    .append_health_json = broker_sqlite_health_json,
};
