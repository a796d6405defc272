/* check_broker: the contract of broker.h, for both backends: the tcases
 * "store" and "processes" run on the embedded SQLite broker, "redis" and
 * "redis-processes" run the same tests (but those only SQLite has: the file,
 * reopening, and nch == 0 as "every channel") on a real redis-server, and
 * "redis-live" checks its live feed. broker_open creates DIR/broker.db;
 * ids are global and increasing across channels; broker_read_since passes
 * the events after an id, of the named channels (all for nch == 0), in id
 * order with their exact bytes, at most limit of them, and stops when the
 * callback says so; the history bound keeps the newest events of each
 * channel and remembers the highest id it dropped; broker_history_start
 * finds where the last n events begin; broker_last_id is the highest id ever
 * assigned. Events survive close and reopen, two processes can publish to
 * the same channel at once without losing or reordering events, and a
 * publish from another process wakes broker_watch's fd.
 *
 * Each test runs in its own directory: the tcase's unchecked setup (in the
 * runner's process) makes a base directory, every test makes a fresh one
 * inside it, and the unchecked teardown removes the base with everything in
 * it, even when a test failed in its forked process. */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include "broker.h"
#include "buf.h"
#include "check_redis.h"
#include "check_suites.h"
#include "check_tmpdir.h"
#include "loop.h"

#define S(lit) lit, sizeof(lit) - 1 /* a literal and its length (NULs ok) */

/* ------------------------------------------------------------------------
 * Directories */


/* Which backend the running tcase tests: set by its unchecked fixture, in
 * the runner, so every forked test (and its children) sees it. */
static int on_redis;
static void use_sqlite(void) { on_redis = 0; }
static void use_redis(void) { on_redis = 1; }

/* broker_open on the tcase's backend (dir d for SQLite). */
static struct broker *open_backend(const char *d, unsigned history, char *err,
                                   size_t errlen)
{
    return broker_open(on_redis ? redis_test_url : NULL, d, history, err,
                       errlen);
}

static struct broker *open_ok(const char *d, unsigned history)
{
    char err[256] = "";
    struct broker *b = open_backend(d, history, err, sizeof err);
    ck_assert_msg(b != NULL, "broker_open(%s): %s", d, err);
    return b;
}

static long long publish_ok(struct broker *b, const char *channel,
                            const char *event, const char *data, size_t len)
{
    long long id = -1;
    ck_assert_msg(broker_publish(b, channel, event, data, len, NULL, &id) == 0,
                  "publish: %s", broker_error(b));
    return id;
}

/* ------------------------------------------------------------------------
 * Collecting what a read passes */

struct got_event {
    long long id, created_ms;
    char *channel, *event;
    char *data;
    size_t data_len;
};

struct got {
    struct got_event ev[512];
    int n;
    int stop_at; /* return non-zero when the stop_at-th event arrives */
};

static int collect(const struct broker_event *e, void *arg)
{
    struct got *g = arg;
    ck_assert_int_lt(g->n, 512);
    struct got_event *c = &g->ev[g->n++];
    c->id = e->id;
    c->created_ms = e->created_ms;
    ck_assert_ptr_nonnull(e->channel);
    ck_assert_ptr_nonnull(e->event);
    c->channel = strdup(e->channel);
    c->event = strdup(e->event);
    c->data = malloc(e->data_len + 1);
    ck_assert(c->channel && c->event && c->data);
    if (e->data_len)
        memcpy(c->data, e->data, e->data_len);
    c->data[e->data_len] = '\0';
    c->data_len = e->data_len;
    return g->stop_at && g->n == g->stop_at;
}

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n; i++) {
        free(g->ev[i].channel);
        free(g->ev[i].event);
        free(g->ev[i].data);
    }
    g->n = 0;
}

/* Reads and checks the count returned equals the count passed. */
static long read_into(struct broker *b, long long after,
                      const char *const *ch, size_t nch, size_t limit,
                      struct got *g)
{
    got_free(g);
    long n = broker_read_since(b, after, ch, nch, limit, collect, g);
    ck_assert_msg(n >= 0, "read_since: %s", broker_error(b));
    ck_assert_int_eq(n, g->n);
    return n;
}

static void check_event(const struct got_event *e, long long id,
                        const char *channel, const char *event,
                        const char *data, size_t len)
{
    ck_assert_int_eq(e->id, id);
    ck_assert_str_eq(e->channel, channel);
    ck_assert_str_eq(e->event, event);
    ck_assert_uint_eq(e->data_len, len);
    ck_assert_mem_eq(e->data, data, len);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------
 * Open, publish, read */

START_TEST(test_open_creates_db)
{
    char path[160];
    struct stat st;
    snprintf(path, sizeof path, "%s/broker.db", tmpdir_test);
    ck_assert_int_eq(stat(path, &st), -1);

    struct broker *b = open_ok(tmpdir_test, 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISREG(st.st_mode));

    long long id = -1;
    ck_assert_int_eq(broker_last_id(b, &id), 0);
    ck_assert_int_eq(id, 0);
    id = -1;
    ck_assert_int_eq(broker_pruned_upto(b, "a", &id), 0);
    ck_assert_int_eq(id, 0);
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, 0, NULL, 0, 100, &g), 0);
    broker_close(b);
    ck_assert_int_eq(stat(path, &st), 0); /* still there */
}
END_TEST

START_TEST(test_open_fails)
{
    char missing[160], err[256] = "";
    snprintf(missing, sizeof missing, "%s/no/such/dir", tmpdir_test);
    struct broker *b = broker_open(NULL, missing, 0, err, sizeof err);
    ck_assert_ptr_null(b);
    ck_assert_msg(err[0] != '\0', "no reason given");
}
END_TEST

START_TEST(test_ids_increase_across_channels)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    ck_assert_int_eq(publish_ok(b, "a", "e", S("1")), 1);
    ck_assert_int_eq(publish_ok(b, "b", "e", S("2")), 2);
    ck_assert_int_eq(publish_ok(b, "a", "e", S("3")), 3);
    ck_assert_int_eq(publish_ok(b, "c.d-e_f", "x:y", S("4")), 4);
    long long last = -1;
    ck_assert_int_eq(broker_last_id(b, &last), 0);
    ck_assert_int_eq(last, 4);
    broker_close(b);
}
END_TEST

START_TEST(test_read_channel)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    long long t0 = now_ms();
    long long a1 = publish_ok(b, "a", "first", S("hello"));
    long long b1 = publish_ok(b, "b", "other", S("not for a"));
    long long a2 = publish_ok(b, "a", "lines", S("l1\nl2\n"));
    long long a3 = publish_ok(b, "a", "crlf", S("l1\r\nl2\r\n"));
    long long b2 = publish_ok(b, "b", "other", S("x"));
    long long a4 = publish_ok(b, "a", "empty", "", 0);
    long long a5 = publish_ok(b, "a", "nul", S("x\0y\xff"));
    long long a6 = publish_ok(b, "a", "utf8", S("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    long long t1 = now_ms();
    ck_assert(a1 < b1 && b1 < a2 && a2 < a3 && a3 < b2 && b2 < a4 &&
              a4 < a5 && a5 < a6);

    const char *const only_a[] = { "a" };
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, 0, only_a, 1, 100, &g), 6);
    check_event(&g.ev[0], a1, "a", "first", S("hello"));
    check_event(&g.ev[1], a2, "a", "lines", S("l1\nl2\n"));
    check_event(&g.ev[2], a3, "a", "crlf", S("l1\r\nl2\r\n"));
    check_event(&g.ev[3], a4, "a", "empty", "", 0);
    check_event(&g.ev[4], a5, "a", "nul", S("x\0y\xff"));
    check_event(&g.ev[5], a6, "a", "utf8", S("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    for (int i = 0; i < g.n; i++)
        ck_assert_msg(g.ev[i].created_ms >= t0 - 1000 &&
                      g.ev[i].created_ms <= t1 + 1000,
                      "created_ms %lld not in [%lld, %lld]",
                      g.ev[i].created_ms, t0, t1);

    /* After an id: only what comes later. */
    ck_assert_int_eq(read_into(b, a3, only_a, 1, 100, &g), 3);
    ck_assert_int_eq(g.ev[0].id, a4);
    ck_assert_int_eq(g.ev[2].id, a6);
    ck_assert_int_eq(read_into(b, b1, only_a, 1, 100, &g), 5); /* b's id */
    ck_assert_int_eq(g.ev[0].id, a2);
    ck_assert_int_eq(g.ev[4].id, a6);
    ck_assert_int_eq(read_into(b, a6, only_a, 1, 100, &g), 0);

    const char *const only_b[] = { "b" };
    ck_assert_int_eq(read_into(b, 0, only_b, 1, 100, &g), 2);
    check_event(&g.ev[0], b1, "b", "other", S("not for a"));
    check_event(&g.ev[1], b2, "b", "other", S("x"));

    const char *const none[] = { "zzz" };
    ck_assert_int_eq(read_into(b, 0, none, 1, 100, &g), 0);
    /* A prefix of a name is another channel. */
    const char *const prefix[] = { "" };
    ck_assert_int_eq(read_into(b, 0, prefix, 1, 100, &g), 0);
    got_free(&g);
    broker_close(b);
}
END_TEST

START_TEST(test_read_all_and_several)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    const char *chans[] = { "a", "b", "c", "a", "c", "b" };
    long long ids[6];
    for (int i = 0; i < 6; i++) {
        char data[16];
        snprintf(data, sizeof data, "d%d", i);
        ids[i] = publish_ok(b, chans[i], "e", data, strlen(data));
    }
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, 0, NULL, 0, 100, &g), 6);
    for (int i = 0; i < 6; i++) {
        char data[16];
        snprintf(data, sizeof data, "d%d", i);
        check_event(&g.ev[i], ids[i], chans[i], "e", data, strlen(data));
    }
    ck_assert_int_eq(read_into(b, ids[3], NULL, 0, 100, &g), 2);
    ck_assert_int_eq(g.ev[0].id, ids[4]);

    const char *const ac[] = { "c", "a" }; /* order of names is irrelevant */
    ck_assert_int_eq(read_into(b, 0, ac, 2, 100, &g), 4);
    ck_assert_int_eq(g.ev[0].id, ids[0]);
    ck_assert_int_eq(g.ev[1].id, ids[2]);
    ck_assert_int_eq(g.ev[2].id, ids[3]);
    ck_assert_int_eq(g.ev[3].id, ids[4]);

    const char *const dup[] = { "b", "b", "nope" };
    ck_assert_int_eq(read_into(b, 0, dup, 3, 100, &g), 2);
    ck_assert_int_eq(g.ev[0].id, ids[1]);
    ck_assert_int_eq(g.ev[1].id, ids[5]);
    got_free(&g);
    broker_close(b);
}
END_TEST

START_TEST(test_read_channels_max)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    char names[BROKER_CHANNELS_MAX + 1][16];
    const char *list[BROKER_CHANNELS_MAX + 1];
    ck_assert_int_eq(BROKER_CHANNELS_MAX, 16);
    for (int i = 0; i <= BROKER_CHANNELS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "ch%d", i);
        list[i] = names[i];
        publish_ok(b, names[i], "e", S("x"));
    }
    struct got g = { .n = 0 };
    /* 16 names: the events of exactly those 16. */
    ck_assert_int_eq(read_into(b, 0, list, BROKER_CHANNELS_MAX, 100, &g), 16);
    for (int i = 0; i < 16; i++)
        ck_assert_str_eq(g.ev[i].channel, names[i]);
    got_free(&g);
    /* 17: more than one read can name. */
    ck_assert_int_eq(broker_read_since(b, 0, list, BROKER_CHANNELS_MAX + 1,
                                       100, collect, &g), -1);
    ck_assert_int_eq(g.n, 0);
    got_free(&g);
    broker_close(b);
}
END_TEST

START_TEST(test_read_limit)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    long long ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = publish_ok(b, "a", "e", S("x"));
    const char *const a[] = { "a" };
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, 0, a, 1, 2, &g), 2);
    ck_assert_int_eq(g.ev[0].id, ids[0]);
    ck_assert_int_eq(g.ev[1].id, ids[1]);
    ck_assert_int_eq(read_into(b, ids[1], a, 1, 2, &g), 2);
    ck_assert_int_eq(g.ev[0].id, ids[2]);
    ck_assert_int_eq(g.ev[1].id, ids[3]);
    ck_assert_int_eq(read_into(b, ids[3], a, 1, 2, &g), 1);
    ck_assert_int_eq(g.ev[0].id, ids[4]);
    if (!on_redis) /* every channel: SQLite only (see broker.h) */
        ck_assert_int_eq(read_into(b, 0, NULL, 0, 3, &g), 3);
    ck_assert_int_eq(read_into(b, 0, a, 1, 1, &g), 1);
    ck_assert_int_eq(read_into(b, 0, a, 1, 5, &g), 5);
    ck_assert_int_eq(read_into(b, 0, a, 1, 0, &g), 0); /* at most 0 */
    got_free(&g);
    broker_close(b);
}
END_TEST

/* The limit is a size_t: the largest one means "no limit" in practice. */
START_TEST(test_read_limit_huge)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    for (int i = 0; i < 3; i++)
        publish_ok(b, "a", "e", S("x"));
    const char *const a[] = { "a" };
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, 0, a, 1, (size_t)-1 / 2, &g), 3);
    got_free(&g);
    long n = broker_read_since(b, 0, a, 1, SIZE_MAX, collect, &g);
    char why[256];
    snprintf(why, sizeof why, "%s", broker_error(b));
    int passed = g.n;
    got_free(&g);
    broker_close(b); /* before the checks: nothing leaks when they fail */
    ck_assert_msg(n == 3, "limit SIZE_MAX: got %ld (%s)", n, why);
    ck_assert_int_eq(passed, 3);
}
END_TEST

START_TEST(test_read_stop)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    long long ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = publish_ok(b, "a", "e", S("x"));
    struct got g = { .n = 0, .stop_at = 2 };
    const char *const a[] = { "a" };
    long n = broker_read_since(b, 0, a, 1, 100, collect, &g);
    ck_assert_int_eq(g.n, 2); /* no call after the one that said stop */
    ck_assert_int_eq(n, 2);   /* both were passed to fn */
    ck_assert_int_eq(g.ev[1].id, ids[1]);
    got_free(&g);
    g.stop_at = 1;
    ck_assert_int_eq(broker_read_since(b, ids[2], a, 1, 100, collect, &g),
                     1);
    ck_assert_int_eq(g.ev[0].id, ids[3]);
    got_free(&g);
    broker_close(b);
}
END_TEST

/* ------------------------------------------------------------------------
 * The history bound */

/* Publishes a1 a2 b1 a3 a4 b2 a5 with history 3. */
struct hist {
    struct broker *b;
    long long a[5], bb[2];
};

static void hist_fill(struct hist *h)
{
    h->b = open_ok(tmpdir_test, 3);
    h->a[0] = publish_ok(h->b, "a", "e", S("a1"));
    h->a[1] = publish_ok(h->b, "a", "e", S("a2"));
    h->bb[0] = publish_ok(h->b, "b", "e", S("b1"));
    h->a[2] = publish_ok(h->b, "a", "e", S("a3"));
    h->a[3] = publish_ok(h->b, "a", "e", S("a4"));
    h->bb[1] = publish_ok(h->b, "b", "e", S("b2"));
    h->a[4] = publish_ok(h->b, "a", "e", S("a5"));
}

START_TEST(test_history_bound)
{
    struct hist h;
    hist_fill(&h);
    const char *const a[] = { "a" }, *const b[] = { "b" };
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(h.b, 0, a, 1, 100, &g), 3);
    check_event(&g.ev[0], h.a[2], "a", "e", S("a3"));
    check_event(&g.ev[1], h.a[3], "a", "e", S("a4"));
    check_event(&g.ev[2], h.a[4], "a", "e", S("a5"));
    ck_assert_int_eq(read_into(h.b, 0, b, 1, 100, &g), 2);
    check_event(&g.ev[0], h.bb[0], "b", "e", S("b1"));
    check_event(&g.ev[1], h.bb[1], "b", "e", S("b2"));
    const char *const ab[] = { "a", "b" };
    ck_assert_int_eq(read_into(h.b, 0, ab, 2, 100, &g), 5);
    got_free(&g);

    long long p = -1;
    ck_assert_int_eq(broker_pruned_upto(h.b, "a", &p), 0);
    ck_assert_int_eq(p, h.a[1]);
    p = -1;
    ck_assert_int_eq(broker_pruned_upto(h.b, "b", &p), 0);
    ck_assert_int_eq(p, 0);
    p = -1;
    ck_assert_int_eq(broker_pruned_upto(h.b, "never", &p), 0);
    ck_assert_int_eq(p, 0);

    long long last = -1;
    ck_assert_int_eq(broker_last_id(h.b, &last), 0);
    ck_assert_int_eq(last, h.a[4]);
    broker_close(h.b);
}
END_TEST

/* Events with id > after, in chans: exactly want[0..n). */
static void check_after(struct broker *b, long long after,
                        const char *const *chans, size_t nch,
                        const long long *want, int n)
{
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, after, chans, nch, 100, &g), n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(g.ev[i].id, want[i]);
    got_free(&g);
}

START_TEST(test_history_start)
{
    struct hist h;
    hist_fill(&h);
    const char *const a[] = { "a" }, *const b[] = { "b" };
    const char *const ab[] = { "a", "b" };
    long long after = -1;

    /* a keeps a3 a4 a5; the last 2 start after a3, before a4. */
    ck_assert_int_eq(broker_history_start(h.b, a, 1, 2, &after), 0);
    ck_assert_int_eq(after, h.a[3] - 1);
    check_after(h.b, after, a, 1, &h.a[3], 2);

    ck_assert_int_eq(broker_history_start(h.b, a, 1, 1, &after), 0);
    ck_assert(after >= h.a[3] && after < h.a[4]);
    check_after(h.b, after, a, 1, &h.a[4], 1);

    /* b holds b1 b2; the last 1 starts after an id in [b1, b2). */
    ck_assert_int_eq(broker_history_start(h.b, b, 1, 1, &after), 0);
    ck_assert(after >= h.bb[0] && after < h.bb[1]);
    check_after(h.b, after, b, 1, &h.bb[1], 1);

    /* Both: kept are a3 a4 b2 a5 (and b1); the last 4 are a3 a4 b2 a5. */
    ck_assert_int_eq(broker_history_start(h.b, ab, 2, 4, &after), 0);
    ck_assert(after >= h.bb[0] && after < h.a[2]);
    long long want4[] = { h.a[2], h.a[3], h.bb[1], h.a[4] };
    check_after(h.b, after, ab, 2, want4, 4);

    /* More than kept: 0. */
    after = -1;
    ck_assert_int_eq(broker_history_start(h.b, a, 1, 4, &after), 0);
    ck_assert_int_eq(after, 0);
    after = -1;
    ck_assert_int_eq(broker_history_start(h.b, a, 1, 100, &after), 0);
    ck_assert_int_eq(after, 0);
    after = -1;
    ck_assert_int_eq(broker_history_start(h.b, ab, 2, 6, &after), 0);
    ck_assert_int_eq(after, 0);
    const char *const none[] = { "none" };
    after = -1;
    ck_assert_int_eq(broker_history_start(h.b, none, 1, 1, &after), 0);
    ck_assert_int_eq(after, 0);
    broker_close(h.b);
}
END_TEST

/* "0 when they hold n or fewer": exactly n held gives 0 too. */
START_TEST(test_history_start_exactly_n)
{
    struct hist h;
    hist_fill(&h);
    const char *const a[] = { "a" }, *const ab[] = { "a", "b" };
    long long after_a = -1, after_ab = -1;
    int rc_a = broker_history_start(h.b, a, 1, 3, &after_a);
    int rc_ab = broker_history_start(h.b, ab, 2, 5, &after_ab);
    broker_close(h.b); /* before the checks: nothing leaks when they fail */
    ck_assert_int_eq(rc_a, 0);
    ck_assert_int_eq(rc_ab, 0);
    ck_assert_msg(after_a == 0, "a holds 3, n = 3: after = %lld, want 0",
                  after_a);
    ck_assert_msg(after_ab == 0, "a+b hold 5, n = 5: after = %lld, want 0",
                  after_ab);
}
END_TEST

START_TEST(test_last_id_after_pruning)
{
    struct broker *b = open_ok(tmpdir_test, 1);
    long long ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = publish_ok(b, "a", "e", S("x"));
    long long last = -1, p = -1;
    ck_assert_int_eq(broker_last_id(b, &last), 0);
    ck_assert_int_eq(last, ids[2]);
    ck_assert_int_eq(broker_pruned_upto(b, "a", &p), 0);
    ck_assert_int_eq(p, ids[1]);
    const char *const a[] = { "a" };
    check_after(b, 0, a, 1, &ids[2], 1);
    /* A new channel prunes nothing of its own, and ids go on. */
    long long c = publish_ok(b, "c", "e", S("y"));
    ck_assert_int_gt(c, ids[2]);
    ck_assert_int_eq(broker_last_id(b, &last), 0);
    ck_assert_int_eq(last, c);
    ck_assert_int_eq(broker_pruned_upto(b, "c", &p), 0);
    ck_assert_int_eq(p, 0);
    broker_close(b);
}
END_TEST

/* ------------------------------------------------------------------------
 * Durability */

START_TEST(test_reopen)
{
    struct broker *b = open_ok(tmpdir_test, 2);
    long long a1 = publish_ok(b, "a", "one", S("first\n"));
    long long a2 = publish_ok(b, "a", "two", S("second"));
    long long a3 = publish_ok(b, "a", "three", S("third"));
    broker_close(b);

    b = open_ok(tmpdir_test, 2);
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, 0, NULL, 0, 100, &g), 2);
    check_event(&g.ev[0], a2, "a", "two", S("second"));
    check_event(&g.ev[1], a3, "a", "three", S("third"));
    got_free(&g);
    long long last = -1, p = -1;
    ck_assert_int_eq(broker_last_id(b, &last), 0);
    ck_assert_int_eq(last, a3);
    ck_assert_int_eq(broker_pruned_upto(b, "a", &p), 0);
    ck_assert_int_eq(p, a1);
    long long b1 = publish_ok(b, "b", "e", S("x"));
    ck_assert_int_eq(b1, 4);
    ck_assert_int_gt(b1, a3);
    broker_close(b);

    /* Two brokers on one dir at once see each other's events. */
    struct broker *x = open_ok(tmpdir_test, 0), *y = open_ok(tmpdir_test, 0);
    long long c1 = publish_ok(x, "c", "e", S("from x"));
    long long c2 = publish_ok(y, "c", "e", S("from y"));
    ck_assert_int_gt(c1, b1);
    ck_assert_int_gt(c2, c1);
    const char *const c[] = { "c" };
    ck_assert_int_eq(read_into(y, 0, c, 1, 100, &g), 2);
    check_event(&g.ev[0], c1, "c", "e", S("from x"));
    ck_assert_int_eq(read_into(x, c1, c, 1, 100, &g), 1);
    check_event(&g.ev[0], c2, "c", "e", S("from y"));
    got_free(&g);
    broker_close(x);
    broker_close(y);
}
END_TEST

/* ------------------------------------------------------------------------
 * Two processes */

#define PER_CHILD 200

/* A child process: waits until go_fd reaches end of file, then publishes
 * PER_CHILD events "childN:i" to channel "w" through its own broker. Exit
 * status 0 on success. Never returns. */
static void writer_child(int n, int go_fd)
{
    char c, err[256] = "";
    if (read(go_fd, &c, 1) != 0)
        _exit(2);
    struct broker *b = open_backend(tmpdir_test, 0, err, sizeof err);
    if (!b) {
        fprintf(stderr, "child%d: open: %s\n", n, err);
        _exit(3);
    }
    long long prev = 0;
    for (int i = 0; i < PER_CHILD; i++) {
        char data[32];
        long long id;
        snprintf(data, sizeof data, "child%d:%d", n, i);
        if (broker_publish(b, "w", "seq", data, strlen(data), NULL, &id) != 0) {
            fprintf(stderr, "child%d: publish %d: %s\n", n, i,
                    broker_error(b));
            _exit(4);
        }
        if (id <= prev) {
            fprintf(stderr, "child%d: id %lld after %lld\n", n, id, prev);
            _exit(5);
        }
        prev = id;
    }
    broker_close(b);
    _exit(0);
}

static void wait_child_ok(pid_t pid, const char *what)
{
    int status;
    pid_t r;
    do
        r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    ck_assert_int_eq(r, pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "%s: status 0x%x", what, status);
}

static void concurrent_writers(void)
{
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid[2];
    for (int n = 0; n < 2; n++) {
        pid[n] = fork();
        ck_assert_int_ge(pid[n], 0);
        if (pid[n] == 0) {
            close(go[1]);
            writer_child(n, go[0]);
        }
    }
    close(go[0]);
    close(go[1]); /* both start now */
    wait_child_ok(pid[0], "child0");
    wait_child_ok(pid[1], "child1");

    struct broker *b = open_ok(tmpdir_test, 0);
    const char *const w[] = { "w" };
    struct got g = { .n = 0 };
    ck_assert_int_eq(read_into(b, 0, w, 1, 1000, &g), 2 * PER_CHILD);
    int next[2] = { 0, 0 };
    for (int i = 0; i < g.n; i++) {
        if (i > 0)
            ck_assert_msg(g.ev[i].id > g.ev[i - 1].id, "id %lld after %lld",
                          g.ev[i].id, g.ev[i - 1].id);
        int child, seq;
        char tail;
        ck_assert_msg(sscanf(g.ev[i].data, "child%d:%d%c", &child, &seq,
                             &tail) == 2, "data \"%s\"", g.ev[i].data);
        ck_assert(child == 0 || child == 1);
        ck_assert_msg(seq == next[child], "child%d: %d where %d expected",
                      child, seq, next[child]);
        next[child]++;
        ck_assert_str_eq(g.ev[i].event, "seq");
    }
    ck_assert_int_eq(next[0], PER_CHILD);
    ck_assert_int_eq(next[1], PER_CHILD);
    long long last = -1;
    ck_assert_int_eq(broker_last_id(b, &last), 0);
    ck_assert_int_eq(last, g.ev[g.n - 1].id);
    got_free(&g);
    broker_close(b);
}

/* The database exists (made and closed before the fork), as when the
 * responders start on a data dir used before. */
START_TEST(test_concurrent_writers)
{
    broker_close(open_ok(tmpdir_test, 0));
    concurrent_writers();
}
END_TEST

#define FIRST_OPEN_ROUNDS 30
#define FIRST_OPENERS 3

/* Several processes open a data dir that has no database yet at the same
 * moment (responders starting together on a new dir): every broker_open
 * succeeds (a writer waits up to BROKER_BUSY_MS for another's lock) and
 * every one can publish. A race shows up in some rounds only, so there are
 * many rounds, each in a fresh subdirectory. */
START_TEST(test_concurrent_first_open)
{
    char top[64];
    ck_assert_uint_lt(strlen(tmpdir_test), sizeof top);
    strcpy(top, tmpdir_test);
    int failed_rounds = 0;
    char first_err[300] = "";
    for (int round = 0; round < FIRST_OPEN_ROUNDS; round++) {
        snprintf(tmpdir_test, sizeof tmpdir_test, "%s/r%d", top, round);
        ck_assert_int_eq(mkdir(tmpdir_test, 0700), 0);
        int go[2], errp[2];
        ck_assert_int_eq(pipe(go), 0);
        ck_assert_int_eq(pipe(errp), 0);
        pid_t pid[FIRST_OPENERS];
        for (int n = 0; n < FIRST_OPENERS; n++) {
            pid[n] = fork();
            ck_assert_int_ge(pid[n], 0);
            if (pid[n] == 0) {
                char c, err[256] = "", msg[300];
                long long id;
                close(go[1]);
                close(errp[0]);
                if (read(go[0], &c, 1) != 0)
                    _exit(2);
                struct broker *b = broker_open(NULL, tmpdir_test, 0, err,
                                               sizeof err);
                if (!b) {
                    int len = snprintf(msg, sizeof msg, "open: %s\n", err);
                    (void)!write(errp[1], msg, (size_t)len);
                    _exit(3);
                }
                if (broker_publish(b, "x", "e", "y", 1, NULL, &id) != 0) {
                    int len = snprintf(msg, sizeof msg, "publish: %s\n",
                                       broker_error(b));
                    (void)!write(errp[1], msg, (size_t)len);
                    _exit(4);
                }
                broker_close(b);
                _exit(0);
            }
        }
        close(go[0]);
        close(errp[1]);
        close(go[1]); /* all start now */
        int bad = 0;
        for (int n = 0; n < FIRST_OPENERS; n++) {
            int status;
            ck_assert_int_eq(waitpid(pid[n], &status, 0), pid[n]);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                bad = 1;
        }
        if (bad && !first_err[0]) {
            ssize_t r = read(errp[0], first_err, sizeof first_err - 1);
            first_err[r > 0 ? r : 0] = '\0';
            first_err[strcspn(first_err, "\n")] = '\0'; /* the first one */
        }
        close(errp[0]);
        failed_rounds += bad;
        if (!bad) {
            struct broker *b = open_ok(tmpdir_test, 0);
            struct got g = { .n = 0 };
            ck_assert_int_eq(read_into(b, 0, NULL, 0, 100, &g), FIRST_OPENERS);
            got_free(&g);
            broker_close(b);
        }
    }
    strcpy(tmpdir_test, top);
    ck_assert_msg(failed_rounds == 0, "%d of %d rounds had a process fail; "
                  "first: %s", failed_rounds, FIRST_OPEN_ROUNDS, first_err);
}
END_TEST

/* A child process holds SQLite's write lock for hold_ms (from the moment
 * this returns) and exits. Returns its pid. */
static pid_t hold_write_lock(const char *dir, int hold_ms)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char path[600];
        sqlite3 *db;
        close(ready[0]);
        snprintf(path, sizeof path, "%s/broker.db", dir);
        if (sqlite3_open(path, &db) != SQLITE_OK ||
            sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) != SQLITE_OK)
            _exit(3);
        if (write(ready[1], "r", 1) != 1)
            _exit(4);
        struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        _exit(sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_close(db) == SQLITE_OK ? 0 : 5);
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

static void reap_ok(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A publish waits for another process's write lock: it is stored once the
 * lock goes (within broker_set_wait_ms), and fails when the lock outlasts
 * the wait, after about that long. */
START_TEST(test_wait_for_lock)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    long long id;
    ck_assert_int_eq(broker_publish(b, "w", "e", "0", 1, NULL, &id), 0);

    broker_set_wait_ms(b, 3000);
    long long t0 = now_ms();
    pid_t pid = hold_write_lock(tmpdir_test, 300);
    ck_assert_int_eq(broker_publish(b, "w", "e", "1", 1, NULL, &id), 0);
    long long took = now_ms() - t0;
    reap_ok(pid);
    ck_assert_msg(took >= 250 && took < 2500, "publish took %lld ms", took);
    ck_assert_int_eq(id, 2);

    broker_set_wait_ms(b, 300);
    pid = hold_write_lock(tmpdir_test, 1000);
    t0 = now_ms();
    ck_assert_int_ne(broker_publish(b, "w", "e", "2", 1, NULL, &id), 0);
    took = now_ms() - t0;
    ck_assert_msg(took >= 290 && took < 950, "gave up after %lld ms", took);
    reap_ok(pid);
    ck_assert_int_eq(broker_publish(b, "w", "e", "3", 1, NULL, &id), 0);
    ck_assert_int_eq(id, 3);
    broker_close(b);
}
END_TEST

/* ------------------------------------------------------------------------
 * Watching: wake-ups in an event loop, then reads of the live feed */

struct wake_state {
    struct loop *loop;
    int woken;
};

static void on_wake(void *arg)
{
    struct wake_state *w = arg;
    w->woken++;
    loop_stop(w->loop);
}

static void on_deadline(struct loop *loop, struct loop_timer *t)
{
    (void)t;
    loop_stop(loop);
}

/* Runs the loop until a wake-up or ms pass; returns the wake-ups seen. */
static int wait_wake(struct wake_state *w, uint64_t ms)
{
    struct loop_timer t;
    int before = w->woken;
    loop_timer_init(&t, on_deadline);
    loop_timer_start(w->loop, &t, ms);
    ck_assert_int_eq(loop_run(w->loop), 0);
    loop_timer_stop(w->loop, &t);
    return w->woken - before;
}

/* Reads the live feed (nch == 0) after `after`. A Redis feed may first
 * answer BROKER_GAP once (it has just connected); *gaps counts those. */
static long read_live(struct broker *b, long long after, struct got *g,
                      int *gaps)
{
    got_free(g);
    long n = broker_read_since(b, after, NULL, 0, 100, collect, g);
    if (n == BROKER_GAP) {
        (*gaps)++;
        n = broker_read_since(b, after, NULL, 0, 100, collect, g);
    }
    ck_assert_msg(n >= 0, "read_since(nch 0): %ld %s", n, broker_error(b));
    ck_assert_int_eq(n, g->n);
    return n;
}

START_TEST(test_watch_wakeup)
{
    /* Fork before any broker exists in this process: the child publishes
     * once go_fd gets a byte, through its own broker. */
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char c, err[256];
        long long id;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2); /* the parent gave up */
        struct broker *b = open_backend(tmpdir_test, 0, err, sizeof err);
        if (!b)
            _exit(3);
        if (broker_publish(b, "a", "e", "wake", 4, NULL, &id) != 0)
            _exit(4);
        broker_close(b);
        _exit(0);
    }
    close(go[0]);

    struct broker *b = open_ok(tmpdir_test, 0);
    struct wake_state w = { loop_new(), 0 };
    ck_assert_ptr_nonnull(w.loop);
    ck_assert_int_eq(broker_watch(b, w.loop, on_wake, &w), 0);
    ck_assert_int_eq(broker_watch(b, w.loop, on_wake, &w), -1); /* once */
    char sock[160];
    struct stat st;
    snprintf(sock, sizeof sock, "%s/notify/%ld.sock", tmpdir_test, (long)getpid());
    struct got g = { .n = 0 };
    int gaps = 0;
    if (on_redis) {
        /* The live connection comes up and says so: a wake-up, then a gap
         * (what was published before it is only in the streams). */
        ck_assert_msg(wait_wake(&w, 3000) >= 1, "no wake-up on connect");
        ck_assert_int_eq(read_live(b, 0, &g, &gaps), 0);
        ck_assert_int_eq(gaps, 1);
    } else {
        ck_assert_msg(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode), "no %s",
                      sock);
        ck_assert_int_eq(wait_wake(&w, 100), 0); /* nothing yet */
    }

    ck_assert_int_eq(write(go[1], "!", 1), 1);
    close(go[1]);
    ck_assert_msg(wait_wake(&w, 3000) >= 1, "no wake-up within 3 s");
    wait_child_ok(pid, "publisher");
    /* The wake-up came after the commit: the event is there. */
    ck_assert_int_eq(read_live(b, 0, &g, &gaps), 1);
    check_event(&g.ev[0], 1, "a", "e", S("wake"));

    /* A publish in this process wakes its own watch too. */
    long long id2 = publish_ok(b, "a", "e", S("again"));
    ck_assert_msg(wait_wake(&w, 3000) >= 1, "no wake-up for our publish");
    ck_assert_int_eq(read_live(b, 1, &g, &gaps), 1);
    check_event(&g.ev[0], id2, "a", "e", S("again"));
    ck_assert_int_eq(gaps, on_redis); /* no gap but the first */
    got_free(&g);

    broker_close(b);
    loop_free(w.loop);
    if (!on_redis)
        ck_assert_int_eq(stat(sock, &st), -1); /* close removed the socket */
}
END_TEST

/* Redis only: the live feed notices a hole in the ids and a lost
 * connection, reconnects by itself, and reports its health. */
START_TEST(test_redis_live_gaps)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    struct wake_state w = { loop_new(), 0 };
    struct got g = { .n = 0 };
    int gaps = 0;
    ck_assert_int_eq(broker_watch(b, w.loop, on_wake, &w), 0);
    ck_assert(wait_wake(&w, 3000) >= 1);
    ck_assert_int_eq(read_live(b, 0, &g, &gaps), 0);
    long long id1 = publish_ok(b, "a", "e", S("one"));
    ck_assert(wait_wake(&w, 3000) >= 1);
    ck_assert_int_eq(read_live(b, 0, &g, &gaps), 1);
    ck_assert_int_eq(gaps, 1);

    /* An id that skips some: the feed missed events, so a gap. */
    redis_test_command("PUBLISH sselight:live:0 %s", "9\na\ne\nnine");
    ck_assert(wait_wake(&w, 3000) >= 1);
    ck_assert_int_eq(read_live(b, id1, &g, &gaps), 1);
    ck_assert_int_eq(gaps, 2);
    check_event(&g.ev[0], 9, "a", "e", S("nine"));

    /* The server drops the live connection: it comes back by itself, with
     * a gap, and /stats counts the reconnect. */
    ck_assert_str_eq(redis_test_command("CLIENT KILL TYPE pubsub"), "1");
    ck_assert_msg(wait_wake(&w, 3000) >= 1, "no reconnect within 3 s");
    ck_assert_int_eq(read_live(b, 9, &g, &gaps), 0);
    ck_assert_int_eq(gaps, 3);
    struct buf out = BUF_INIT;
    broker_append_stats_json(b, &out);
    buf_append_byte(&out, '\0');
    ck_assert_msg(strstr(buf_head(&out), "\"kind\":\"redis\"") &&
                  strstr(buf_head(&out), "\"live\":\"connected\"") &&
                  strstr(buf_head(&out), "\"reconnects\":1,"),
                  "stats: %s", buf_head(&out));
    buf_free(&out);
    got_free(&g);
    broker_close(b);
    loop_free(w.loop);
}
END_TEST

/* Redis only: a host name in the URL is resolved off the loop (on a
 * resolver thread) and the live feed connects to its address. */
START_TEST(test_redis_live_by_name)
{
    char err[256], url[96];
    snprintf(url, sizeof url, "redis://localhost:%d/0", redis_test_port);
    struct broker *b = broker_open(url, tmpdir_test, 0, err, sizeof err);
    ck_assert_msg(b != NULL, "open: %s", err);
    struct wake_state w = { loop_new(), 0 };
    struct got g = { .n = 0 };
    int gaps = 0;
    ck_assert_ptr_nonnull(w.loop);
    ck_assert_int_eq(broker_watch(b, w.loop, on_wake, &w), 0);
    ck_assert_msg(wait_wake(&w, 3000) >= 1, "no live feed via localhost");
    ck_assert_int_eq(read_live(b, 0, &g, &gaps), 0);
    long long id = publish_ok(b, "n", "e", S("named"));
    ck_assert(wait_wake(&w, 3000) >= 1);
    ck_assert_int_eq(read_live(b, id - 1, &g, &gaps), 1);
    check_event(&g.ev[0], id, "n", "e", S("named"));
    struct buf out = BUF_INIT;
    broker_append_stats_json(b, &out);
    buf_append_byte(&out, '\0');
    ck_assert_msg(strstr(buf_head(&out), "\"live\":\"connected\""),
                  "stats: %s", buf_head(&out));
    buf_free(&out);
    got_free(&g);
    broker_close(b);
    loop_free(w.loop);
}
END_TEST

/* Redis only: a server that is down is not an error at open (calls fail
 * with the reason until it answers); a refused password is. */
START_TEST(test_redis_unreachable_and_auth)
{
    char err[256] = "", url[96];
    /* A port nobody listens on: the test server's, plus one, is not sure
     * to be free, so use a port this process has just closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", ntohs(a.sin_port));
    struct broker *b = broker_open(url, tmpdir_test, 0, err, sizeof err);
    ck_assert_msg(b != NULL, "open of a down server: %s", err);
    long long id;
    ck_assert_int_eq(broker_publish(b, "a", "e", "x", 1, NULL, &id), -1);
    ck_assert_msg(strstr(broker_error(b), "redis at 127.0.0.1:") &&
                  strstr(broker_error(b), "refused"),
                  "error: %s", broker_error(b));
    ck_assert_int_eq(broker_last_id(b, &id), -1);
    broker_close(b);

    /* A password the server refuses stops the start. */
    ck_assert_str_eq(redis_test_command("CONFIG SET requirepass %s",
                                        "sesame-0123"), "OK");
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d", redis_test_port);
    struct broker *bad = broker_open(url, tmpdir_test, 0, err, sizeof err);
    char bad_err[256];
    snprintf(bad_err, sizeof bad_err, "%s", err);
    snprintf(url, sizeof url, "redis://:sesame-0123@127.0.0.1:%d/2",
             redis_test_port);
    struct broker *good = broker_open(url, tmpdir_test, 0, err, sizeof err);
    int good_rc = good ? broker_publish(good, "a", "e", "x", 1, NULL, &id) : -9;
    if (good)
        broker_close(good);
    if (bad)
        broker_close(bad);
    /* Undo before the checks, so later tests find an open server. */
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_test_port, tv);
    ck_assert(c && !c->err);
    redisReply *r = redisCommand(c, "AUTH sesame-0123");
    ck_assert(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(c, "CONFIG SET requirepass %s", "");
    ck_assert(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(c);

    ck_assert_ptr_null(bad);
    ck_assert_msg(strncmp(bad_err, "SSELIGHT_BROKER: ", 17) == 0 &&
                  strstr(bad_err, "AUTH refused"), "err: %s", bad_err);
    ck_assert_msg(strstr(bad_err, "wrong") == NULL, "password in: %s",
                  bad_err);
    ck_assert_int_eq(good_rc, 0);
    ck_assert_int_eq(id, 1);
    /* Database 2, as the URL said. */
    ck_assert_str_eq(redis_test_command("SELECT 2"), "OK");
}
END_TEST

/* A batch: one transaction, consecutive ids, order and names kept. */
START_TEST(test_publish_many)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    long long before = publish_ok(b, "other", "e", S("x"));
    const struct broker_new_event evs[3] = {
        { "first", "one", 3 }, { "second", "two\nlines", 9 }, { "third", "", 0 },
    };
    long long first = -1;
    size_t stored = 0;
    ck_assert_int_eq(broker_publish_many(b, "batch", evs, 3, NULL, &first, &stored), 0);
    ck_assert_uint_eq(stored, 3);
    ck_assert_int_eq(first, before + 1);
    static struct got g;
    const char *const ch[] = { "batch" };
    ck_assert_int_eq(read_into(b, 0, ch, 1, 100, &g), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(g.ev[i].id, first + i);
        ck_assert_str_eq(g.ev[i].event, evs[i].event);
        ck_assert_uint_eq(g.ev[i].data_len, evs[i].len);
        ck_assert_mem_eq(g.ev[i].data, evs[i].data, evs[i].len);
    }
    long long last;
    ck_assert_int_eq(broker_last_id(b, &last), 0);
    ck_assert_int_eq(last, first + 2);
    got_free(&g);
    broker_close(b);
}
END_TEST

/* Idempotency keys: a publish repeated with its key stores nothing and
 * answers the first publish's ids; keys are per channel; a key is
 * forgotten once its event has been dropped by the history bound.
 * broker_key_id finds a kept key's first id (a Mercure resume). */
START_TEST(test_publish_keyed)
{
    struct broker *b = open_ok(tmpdir_test, 3);
    const struct broker_new_event one = { "e", "first", 5 };
    const struct broker_new_event again = { "e", "other data", 10 };
    long long id = -1, id2 = -1;
    size_t n = 99;
    ck_assert_int_eq(broker_publish_many(b, "k", &one, 1, "key-1", &id, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(broker_publish_many(b, "k", &again, 1, "key-1", &id2, &n), 1);
    ck_assert_int_eq(id2, id);
    ck_assert_uint_eq(n, 1);
    long long kid = -1;
    ck_assert_int_eq(broker_key_id(b, "k", "key-1", &kid), 1);
    ck_assert_int_eq(kid, id);
    ck_assert_int_eq(broker_key_id(b, "k", "key-2", &kid), 0);
    ck_assert_int_eq(broker_key_id(b, "k2", "key-1", &kid), 0);
    static struct got g;
    const char *const ch[] = { "k" };
    ck_assert_int_eq(read_into(b, 0, ch, 1, 100, &g), 1);
    ck_assert_str_eq(g.ev[0].data, "first");
    /* The same key in another channel is another publish. */
    long long other = -1;
    ck_assert_int_eq(broker_publish_many(b, "k2", &one, 1, "key-1", &other, &n), 0);
    ck_assert_int_gt(other, id);
    /* Without a key, nothing is deduplicated. */
    long long a, c;
    ck_assert_int_eq(broker_publish_many(b, "k", &one, 1, NULL, &a, &n), 0);
    ck_assert_int_eq(broker_publish_many(b, "k", &one, 1, NULL, &c, &n), 0);
    ck_assert_int_eq(c, a + 1);
    /* A keyed batch: the replay answers all of its ids. */
    const struct broker_new_event two[2] = { { "x", "1", 1 }, { "y", "2", 1 } };
    long long first = -1, first2 = -1;
    ck_assert_int_eq(broker_publish_many(b, "k", two, 2, "batch", &first, &n), 0);
    ck_assert_int_eq(broker_publish_many(b, "k", two, 1, "batch", &first2, &n), 1);
    ck_assert_int_eq(first2, first);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(broker_key_id(b, "k", "batch", &kid), 1);
    ck_assert_int_eq(kid, first);
    ck_assert_int_eq(broker_key_id(b, "k2", "key-1", &kid), 1);
    ck_assert_int_eq(kid, other);
    /* key-1's event is past the history bound now: forgotten. */
    ck_assert_int_eq(broker_key_id(b, "k", "key-1", &kid), 0);
    /* History 3: "k" now holds a, c and the batch minus the oldest; the
     * event of key-1 is gone, so key-1 stores again. */
    long long id3 = -1;
    ck_assert_int_eq(broker_publish_many(b, "k", &again, 1, "key-1", &id3, &n), 0);
    ck_assert_int_gt(id3, first + 1);
    ck_assert_int_eq(broker_key_id(b, "k", "key-1", &kid), 1);
    ck_assert_int_eq(kid, id3);
    ck_assert_int_eq(read_into(b, 0, ch, 1, 100, &g), 3);
    ck_assert_str_eq(g.ev[2].data, "other data");
    got_free(&g);
    broker_close(b);
}
END_TEST

/* Group commit: each publish of the group keeps its own consecutive ids
 * in group order, its own key (a key repeated later in the group answers
 * the earlier publish's ids and stores nothing), and what it stored. */
START_TEST(test_publish_group)
{
    struct broker *b = open_ok(tmpdir_test, 0);
    long long before = publish_ok(b, "other", "e", S("x"));
    const struct broker_new_event two[2] = { { "a", "1", 1 }, { "b", "2", 1 } };
    const struct broker_new_event one = { "c", "3", 1 };
    struct broker_publish g[4] = {
        { .channel = "gx", .evs = two, .n = 2, .key = "k1" },
        { .channel = "gy", .evs = &one, .n = 1 },
        { .channel = "gx", .evs = &one, .n = 1, .key = "k1" },
        { .channel = "gx", .evs = &one, .n = 1, .key = "k2" },
    };
    ck_assert_uint_eq(broker_publish_group(b, g, 4), 4);
    ck_assert_int_eq(g[0].rc, 0);
    ck_assert_int_eq(g[0].first_id, before + 1);
    ck_assert_uint_eq(g[0].n_stored, 2);
    ck_assert_int_eq(g[1].rc, 0);
    ck_assert_int_eq(g[1].first_id, before + 3);
    ck_assert_int_eq(g[2].rc, 1);
    ck_assert_int_eq(g[2].first_id, g[0].first_id);
    ck_assert_uint_eq(g[2].n_stored, 2);
    ck_assert_int_eq(g[3].rc, 0);
    ck_assert_int_eq(g[3].first_id, before + 4);
    static struct got got;
    const char *const ch[] = { "gx" };
    ck_assert_int_eq(read_into(b, before, ch, 1, 100, &got), 3);
    ck_assert_str_eq(got.ev[0].event, "a");
    ck_assert_str_eq(got.ev[1].event, "b");
    ck_assert_str_eq(got.ev[2].event, "c");
    ck_assert_int_eq(got.ev[2].id, before + 4);
    /* A group of repeats only stores nothing and answers every one. */
    struct broker_publish again[2] = {
        { .channel = "gx", .evs = &one, .n = 1, .key = "k2" },
        { .channel = "gx", .evs = two, .n = 2, .key = "k1" },
    };
    ck_assert_uint_eq(broker_publish_group(b, again, 2), 2);
    ck_assert_int_eq(again[0].rc, 1);
    ck_assert_int_eq(again[0].first_id, before + 4);
    ck_assert_int_eq(again[1].rc, 1);
    ck_assert_int_eq(again[1].first_id, before + 1);
    long long last;
    ck_assert_int_eq(broker_last_id(b, &last), 0);
    ck_assert_int_eq(last, before + 4);
    got_free(&got);
    broker_close(b);
}
END_TEST

/* The contract tests both backends share. */
static void add_store_tests(TCase *tc)
{
    tcase_add_test(tc, test_ids_increase_across_channels);
    tcase_add_test(tc, test_read_channel);
    tcase_add_test(tc, test_read_channels_max);
    tcase_add_test(tc, test_read_limit);
    tcase_add_test(tc, test_read_limit_huge);
    tcase_add_test(tc, test_read_stop);
    tcase_add_test(tc, test_history_bound);
    tcase_add_test(tc, test_history_start);
    tcase_add_test(tc, test_history_start_exactly_n);
    tcase_add_test(tc, test_last_id_after_pruning);
    tcase_add_test(tc, test_publish_many);
    tcase_add_test(tc, test_publish_keyed);
    tcase_add_test(tc, test_publish_group);
    tcase_add_test(tc, test_concurrent_writers);
    tcase_add_test(tc, test_watch_wakeup);
}

Suite *make_broker_suite(void)
{
    Suite *s = suite_create("broker");
    TCase *tc = tcase_create("store");
    tcase_add_unchecked_fixture(tc, use_sqlite, NULL);
    tmpdir_add_fixtures(tc);
    tcase_set_timeout(tc, 30);
    tcase_set_timeout(tc, 60);
    add_store_tests(tc);
    /* What only the embedded broker has: a file, reopening it, several
     * first opens at once, and nch == 0 read from the store. */
    tcase_add_test(tc, test_open_creates_db);
    tcase_add_test(tc, test_open_fails);
    tcase_add_test(tc, test_read_all_and_several);
    tcase_add_test(tc, test_reopen);
    tcase_add_test(tc, test_concurrent_first_open);
    tcase_add_test(tc, test_wait_for_lock);
    suite_add_tcase(s, tc);

    TCase *rc = tcase_create("redis");
    tcase_add_unchecked_fixture(rc, use_redis, NULL);
    redis_add_fixtures(rc);
    tmpdir_add_fixtures(rc);
    tcase_set_timeout(rc, 60);
    add_store_tests(rc);
    tcase_add_test(rc, test_redis_live_gaps);
    tcase_add_test(rc, test_redis_live_by_name);
    tcase_add_test(rc, test_redis_unreachable_and_auth);
    suite_add_tcase(s, rc);
    return s;
}
