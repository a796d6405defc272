/* broker: SQLite-backed channels. See broker.h. */
#include "broker.h"

#include <errno.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "notify.h"

struct broker {
    sqlite3 *db;
    char dir[256];
    unsigned history;
    char error[256];
    struct notify_listener watch;
};

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

static int broker_fail(struct broker *b, const char *what)
{
    snprintf(b->error, sizeof b->error, "%s: %s", what, sqlite3_errmsg(b->db));
    return -1;
}

/* Creates the tables. Switching a new file to WAL answers SQLITE_BUSY at
 * once, without the busy handler, when another process does the same at
 * that moment (two responders starting on a fresh data dir): retry. */
static int broker_setup_schema(struct broker *b)
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

struct broker *broker_open(const char *dir, unsigned history, char *err,
                           size_t errlen)
{
    struct broker *b = mem_calloc(1, sizeof *b);
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
    if (sqlite3_busy_timeout(b->db, BROKER_BUSY_MS) != SQLITE_OK ||
        broker_setup_schema(b) != SQLITE_OK ||
        sqlite3_exec(b->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up %s: %s", path,
                 sqlite3_errmsg(b->db));
        goto fail;
    }
    return b;
fail:
    broker_close(b);
    return NULL;
}

void broker_close(struct broker *b)
{
    if (!b)
        return;
    notify_close(&b->watch);
    if (b->db && sqlite3_close(b->db) != SQLITE_OK)
        fprintf(stderr, "broker: sqlite3_close: %s\n", sqlite3_errmsg(b->db));
    free(b);
}

const char *broker_error(const struct broker *b)
{
    return b->error;
}

static long long broker_now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prepares sql; on failure records the error and returns NULL. */
static sqlite3_stmt *broker_prepare(struct broker *b, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) != SQLITE_OK) {
        broker_fail(b, "prepare");
        return NULL;
    }
    return st;
}

/* Runs a statement that returns no rows (or whose rows we ignore). */
static int broker_step_done(struct broker *b, sqlite3_stmt *st,
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
static int broker_exec_channel_id(struct broker *b, const char *sql,
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
static int broker_prune(struct broker *b, const char *channel)
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
 * there, 0 when not, -1 on error. Inside the publish transaction. */
static int broker_key_lookup(struct broker *b, const char *channel,
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

static int broker_key_store(struct broker *b, const char *channel,
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

int broker_publish_many(struct broker *b, const char *channel,
                        const struct broker_new_event *evs, size_t n,
                        const char *key, long long *first_id,
                        size_t *n_stored)
{
    if (sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return broker_fail(b, "begin");
    if (key) {
        int seen = broker_key_lookup(b, channel, key, first_id, n_stored);
        if (seen < 0)
            goto rollback;
        if (seen) {
            (void)sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
            return 1;
        }
    }
    sqlite3_stmt *st = broker_prepare(b,
        "INSERT INTO events(channel, event, data, created_ms) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!st)
        goto rollback;
    long long now = broker_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (sqlite3_reset(st) != SQLITE_OK ||
            sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, evs[i].event, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_blob(st, 3, evs[i].len ? evs[i].data : "",
                              (int)evs[i].len, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 4, now) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE) {
            broker_fail(b, "insert");
            sqlite3_finalize(st);
            goto rollback;
        }
        if (i == 0)
            *first_id = sqlite3_last_insert_rowid(b->db);
    }
    sqlite3_finalize(st);
    if (key && broker_key_store(b, channel, key, *first_id, n) != 0)
        goto rollback;
    if (broker_prune(b, channel) != 0)
        goto rollback;
    if (sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        broker_fail(b, "commit");
        goto rollback;
    }
    *n_stored = n;
    /* After the commit, so a woken reader sees the events. A failed wake-up
     * does not undo the publish: readers also catch up on their next one. */
    if (notify_all(b->dir) < 0)
        fprintf(stderr, "broker: waking subscribers: %s\n", strerror(errno));
    return 0;
rollback:
    (void)sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int broker_publish(struct broker *b, const char *channel, const char *event,
                   const char *data, size_t len, const char *key,
                   long long *id)
{
    struct broker_new_event ev = { event, data, len };
    size_t stored;
    return broker_publish_many(b, channel, &ev, 1, key, id, &stored);
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

long broker_read_since(struct broker *b, long long after,
                       const char *const *channels, size_t nch, size_t limit,
                       broker_event_fn *fn, void *arg)
{
    char filter[256], sql[512];
    if (nch > BROKER_CHANNELS_MAX) {
        snprintf(b->error, sizeof b->error, "too many channels (%zu)", nch);
        return -1;
    }
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
static int broker_query_int(struct broker *b, sqlite3_stmt *st,
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

int broker_history_start(struct broker *b, const char *const *channels,
                         size_t nch, unsigned n, long long *after)
{
    char filter[256], sql[512];
    if (nch > BROKER_CHANNELS_MAX || nch == 0) {
        snprintf(b->error, sizeof b->error, "bad channel count (%zu)", nch);
        return -1;
    }
    if (n == 0)
        return broker_last_id(b, after);
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

int broker_last_id(struct broker *b, long long *id)
{
    return broker_query_int(b, broker_prepare(b,
        "SELECT seq FROM sqlite_sequence WHERE name = 'events'"), id);
}

int broker_pruned_upto(struct broker *b, const char *channel, long long *id)
{
    sqlite3_stmt *st = broker_prepare(b,
        "SELECT pruned_upto FROM channels WHERE name = ?1");
    if (st)
        sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    return broker_query_int(b, st, id);
}

int broker_watch(struct broker *b)
{
    if (b->watch.fd < 0 && notify_listen(&b->watch, b->dir) != 0)
        return -1;
    return b->watch.fd;
}

void broker_watch_drain(struct broker *b)
{
    notify_drain(&b->watch);
}
