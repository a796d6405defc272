/* check_metrics: the monitoring modules.
 * - prom: label values escaped (backslash, quote, newline), HELP escaped,
 *   histogram buckets cumulative with +Inf equal to _count;
 * - metrics: observations land in the right bucket (bounds inclusive),
 *   quantiles, sums of totals;
 * - metrics_slots: processes get distinct slots and see each other; a slot
 *   freed by a clean close keeps its totals in "retired"; a process killed
 *   by a signal leaves a slot that the next reader reclaims, its totals
 *   kept; a file of another layout is set up anew;
 * - auth_monitor_check: loopback, token, no token;
 * - status_view: the chart's points and the fragment's numbers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "check_suites.h"
#include "check_tmpdir.h"
#include "metrics.h"
#include "metrics_slots.h"
#include "prom.h"
#include "status_view.h"

static char *out_str(struct buf *b)
{
    buf_append_byte(b, '\0');
    return (char *)buf_head(b);
}

START_TEST(test_prom_label_escaping)
{
    struct buf b = BUF_INIT;
    const char *labels[] = { "channel", "a\\b\"c\nd", "kind", "x", NULL };
    prom_sample(&b, "m", labels, 7);
    ck_assert_str_eq(out_str(&b), "m{channel=\"a\\\\b\\\"c\\nd\",kind=\"x\"} 7\n");
    buf_reset(&b);
    prom_sample(&b, "plain", NULL, 0);
    ck_assert_str_eq(out_str(&b), "plain 0\n");
    buf_reset(&b);
    /* HELP escapes backslash and newline, not quotes. */
    prom_family(&b, "m", "gauge", "say \"hi\"\\\nnext");
    ck_assert_str_eq(out_str(&b), "# HELP m say \"hi\"\\\\\\nnext\n"
                                  "# TYPE m gauge\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_prom_histogram_cumulative)
{
    struct buf b = BUF_INIT;
    const double le[] = { 0.001, 0.01, 1 };
    const uint64_t per[] = { 2, 0, 5, 3 }; /* last: above 1 s */
    prom_histogram(&b, "h_seconds", "help", le, 3, per, 12.5);
    ck_assert_str_eq(out_str(&b),
        "# HELP h_seconds help\n"
        "# TYPE h_seconds histogram\n"
        "h_seconds_bucket{le=\"0.001\"} 2\n"
        "h_seconds_bucket{le=\"0.01\"} 2\n"
        "h_seconds_bucket{le=\"1\"} 7\n"
        "h_seconds_bucket{le=\"+Inf\"} 10\n"
        "h_seconds_sum 12.5\n"
        "h_seconds_count 10\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_metrics_observe_buckets)
{
    struct metrics_hist h = { 0 };
    metrics_observe(&h, 500);        /* = 0.0005 s: the first bucket */
    metrics_observe(&h, 501);        /* just above: the second */
    metrics_observe(&h, 0);
    metrics_observe(&h, 10000000);   /* = 10 s: the last bound */
    metrics_observe(&h, 10000001);   /* +Inf */
    ck_assert_uint_eq(h.bucket[0], 2);
    ck_assert_uint_eq(h.bucket[1], 1);
    ck_assert_uint_eq(h.bucket[METRICS_BUCKETS - 1], 1);
    ck_assert_uint_eq(h.bucket[METRICS_BUCKETS], 1);
    ck_assert_uint_eq(h.count, 5);
    ck_assert_uint_eq(h.sum_us, 500 + 501 + 10000000 + 10000001);
}
END_TEST

START_TEST(test_metrics_quantile)
{
    struct metrics_hist before = { 0 }, now = { 0 };
    ck_assert_uint_eq(metrics_hist_quantile_us(&now, NULL, 0.99), 0);
    for (int i = 0; i < 98; i++)
        metrics_observe(&now, 400);      /* <= 0.5 ms */
    metrics_observe(&now, 20000);        /* <= 25 ms */
    metrics_observe(&now, 20000);
    ck_assert_uint_eq(metrics_hist_quantile_us(&now, NULL, 0.5), 500);
    ck_assert_uint_eq(metrics_hist_quantile_us(&now, NULL, 0.99), 25000);
    /* Only what happened since "before" counts. */
    before = now;
    metrics_observe(&now, 3000000);      /* <= 5 s */
    ck_assert_uint_eq(metrics_hist_quantile_us(&now, &before, 0.99), 5000000);
    metrics_observe(&now, 99000000);     /* +Inf: reported as the last bound */
    ck_assert_uint_eq(metrics_hist_quantile_us(&now, &before, 1), 10000000);
}
END_TEST

START_TEST(test_metrics_totals_add)
{
    struct metrics_totals a = { 0 }, b = { 0 };
    a.delivered = 5;
    a.closed[METRICS_CLOSED_SLOW] = 1;
    a.fanout.bucket[3] = 2;
    b.delivered = 7;
    b.refused[METRICS_REFUSED_N - 1] = 4;
    b.fanout.bucket[3] = 1;
    b.commit.count = 9;
    metrics_totals_add(&a, &b);
    ck_assert_uint_eq(a.delivered, 12);
    ck_assert_uint_eq(a.closed[METRICS_CLOSED_SLOW], 1);
    ck_assert_uint_eq(a.refused[METRICS_REFUSED_N - 1], 4);
    ck_assert_uint_eq(a.fanout.bucket[3], 3);
    ck_assert_uint_eq(a.commit.count, 9);
    ck_assert_int_eq(metrics_refused_index(503), METRICS_REFUSED_N - 1);
    ck_assert_int_eq(metrics_refused_index(200), -1);
}
END_TEST

/* ---- shared slots, across processes ---------------------------------- */

struct seen {
    int n, mine;
    uint64_t delivered;
    int64_t pids[8];
};

static void count_slot(const struct metrics_slot *slot, int mine, void *arg)
{
    struct seen *s = arg;
    if (s->n < 8)
        s->pids[s->n] = slot->pid;
    s->n++;
    s->mine += mine;
    s->delivered += slot->c.t.delivered;
}

/* A child that takes a slot, publishes delivered = value, says 'y' on the
 * pipe, then waits for a byte on go (then it closes its slot and exits) or
 * for a signal to end it. */
static pid_t start_holder(uint64_t value, int ready_w, int go_r)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid != 0)
        return pid;
    if (signal(SIGTERM, SIG_DFL) == SIG_ERR)
        _exit(1);
    char err[200];
    struct metrics_slots *s = metrics_slots_open(tmpdir_test, err, sizeof err);
    struct metrics_slot mine = { 0 };
    mine.c.t.delivered = value;
    mine.c.g.subscribers = 1;
    char ok = s && metrics_slots_update(s, &mine) == 0 ? 'y' : 'n';
    if (write(ready_w, &ok, 1) != 1)
        _exit(1);
    char c;
    if (read(go_r, &c, 1) != 1)
        pause();
    metrics_slots_close(s);
    _exit(0);
}

START_TEST(test_slots_shared_and_reclaimed)
{
    int ready[2], go[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid_t a = start_holder(100, ready[1], go[0]);
    char got = 0;
    ck_assert_int_eq(read(ready[0], &got, 1), 1);
    ck_assert_int_eq(got, 'y');
    pid_t b = start_holder(20, ready[1], go[0]);
    ck_assert_int_eq(read(ready[0], &got, 1), 1);
    ck_assert_int_eq(got, 'y');

    char err[200];
    struct metrics_slots *s = metrics_slots_open(tmpdir_test, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct metrics_slot me = { 0 };
    me.c.t.delivered = 3;
    ck_assert_int_eq(metrics_slots_update(s, &me), 0);
    struct seen seen = { 0 };
    struct metrics_totals retired;
    ck_assert_int_eq(metrics_slots_read(s, &retired, count_slot, &seen), 3);
    ck_assert_int_eq(seen.mine, 1);
    ck_assert_uint_eq(seen.delivered, 123);
    ck_assert_uint_eq(retired.delivered, 0);

    /* a dies by a signal, running none of its own code: its slot is
     * reclaimed, its totals kept. SIGTERM's default action does what
     * SIGKILL does here, and lets valgrind (t_valgrind) write the child's
     * summary; t_metrics kills a real stream process with kill -9. */
    ck_assert_int_eq(kill(a, SIGTERM), 0);
    int status;
    ck_assert_int_eq(waitpid(a, &status, 0), a);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(metrics_slots_read(s, &retired, count_slot, &seen), 2);
    ck_assert_uint_eq(retired.delivered, 100);
    ck_assert_uint_eq(seen.delivered, 23);
    for (int i = 0; i < seen.n && i < 8; i++)
        ck_assert_int_ne(seen.pids[i], a);

    /* b closes cleanly: its totals go to retired at once. */
    ck_assert_int_eq(write(go[1], "x", 1), 1);
    ck_assert_int_eq(waitpid(b, &status, 0), b);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(metrics_slots_read(s, &retired, count_slot, &seen), 1);
    ck_assert_uint_eq(retired.delivered, 120);
    ck_assert_uint_eq(seen.delivered, 3);

    /* A new process takes a freed slot and sees the retired totals. */
    pid_t c = start_holder(1, ready[1], go[0]);
    ck_assert_int_eq(read(ready[0], &got, 1), 1);
    ck_assert_int_eq(got, 'y');
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(metrics_slots_read(s, &retired, count_slot, &seen), 2);
    ck_assert_uint_eq(seen.delivered, 4);
    ck_assert_uint_eq(retired.delivered, 120);
    ck_assert_int_eq(write(go[1], "x", 1), 1);
    ck_assert_int_eq(waitpid(c, &status, 0), c);
    metrics_slots_close(s);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(close(ready[i]), 0);
        ck_assert_int_eq(close(go[i]), 0);
    }
}
END_TEST

START_TEST(test_slots_other_layout)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir_test, METRICS_SLOTS_FILE);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "garbage", 7), 7);
    ck_assert_int_eq(close(fd), 0);
    char err[200];
    struct metrics_slots *s = metrics_slots_open(tmpdir_test, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    struct metrics_totals retired;
    ck_assert_int_eq(metrics_slots_read(s, &retired, NULL, NULL), 1);
    ck_assert_uint_eq(retired.delivered, 0);
    metrics_slots_close(s);
    snprintf(path, sizeof path, "%s/missing", tmpdir_test);
    ck_assert_ptr_null(metrics_slots_open(path, err, sizeof err));
    ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

START_TEST(test_monitor_access)
{
    const char *why;
    ck_assert_int_eq(auth_monitor_check("127.0.0.1", NULL, NULL, &why), 0);
    ck_assert_int_eq(auth_monitor_check("::1", "Bearer x", "t", &why), 0);
    ck_assert_int_eq(auth_monitor_check("192.0.2.7", NULL, NULL, &why), 403);
    ck_assert_ptr_nonnull(strstr(why, "SSELIGHT_METRICS_TOKEN"));
    ck_assert_int_eq(auth_monitor_check("192.0.2.7", NULL, "", &why), 403);
    ck_assert_int_eq(auth_monitor_check("192.0.2.7", NULL, "tok", &why), 401);
    ck_assert_int_eq(auth_monitor_check("192.0.2.7", "Basic dG9r", "tok", &why),
                     401);
    ck_assert_int_eq(auth_monitor_check("192.0.2.7", "Bearer to", "tok", &why),
                     403);
    ck_assert_int_eq(auth_monitor_check("192.0.2.7", "Bearer tok", "tok", &why),
                     0);
    ck_assert_int_eq(auth_monitor_check("192.0.2.7", "bearer tok", "tok", &why),
                     0);
    ck_assert_int_eq(auth_monitor_check(NULL, "Bearer tok", "tok", &why), 0);
    ck_assert_int_eq(auth_monitor_check(NULL, NULL, NULL, &why), 403);
}
END_TEST

START_TEST(test_status_chart)
{
    struct buf b = BUF_INIT;
    const double v[] = { 0, 5, 10 };
    status_view_chart(&b, "c", "T", v, 3);
    const char *s = out_str(&b);
    /* x spreads over the width; the largest value is 10 units from the
     * top, zero sits on the axis. */
    ck_assert_ptr_nonnull(strstr(s, "points=\"0.0,78.0 150.0,44.0 300.0,10.0\""));
    ck_assert_ptr_nonnull(strstr(s, ">max 10</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<svg id=\"c\""));
    buf_reset(&b);
    status_view_chart(&b, "c", "T", v, 0);
    ck_assert_ptr_null(strstr(out_str(&b), "polyline"));
    buf_free(&b);
}
END_TEST

START_TEST(test_status_fragment)
{
    struct buf b = BUF_INIT;
    struct status_numbers num = {
        .processes = 2, .connections = 9, .subscribers = 7,
        .deliveries_per_s = 12.25, .fanout_p99_us = 2500,
        .broker_kind = "redis", .broker_up = 0,
        .delivered_total = 40, .published_total = 6,
    };
    struct status_process p[] = { { 41, 0, 4, 3, 2 * 1024 * 1024 },
                                  { 42, 1, 1, 1, -1 } };
    const double subs[] = { 1, 7 }, dels[] = { 0, 3 };
    status_view_render(&b, &num, p, 2, subs, dels, 2, 1);
    const char *s = out_str(&b);
    ck_assert_ptr_nonnull(strstr(s, "<dd id=\"st-subscribers\">7</dd>"));
    ck_assert_ptr_nonnull(strstr(s, "<dd id=\"st-deliveries\">12.2</dd>") ?
                          strstr(s, "<dd id=\"st-deliveries\">12.2</dd>") :
                          strstr(s, "<dd id=\"st-deliveries\">12.3</dd>"));
    ck_assert_ptr_nonnull(strstr(s, "&le; 2.5 ms"));
    ck_assert_ptr_nonnull(strstr(s, "redis, DOWN"));
    ck_assert_ptr_nonnull(strstr(s, "<td>41</td><td>FastCGI</td><td>4</td>"
                                    "<td>3</td><td>2.0 MiB</td>"));
    ck_assert_ptr_nonnull(strstr(s, "<td>42</td><td>CGI</td><td>1</td>"
                                    "<td>1</td><td>?</td>"));
    ck_assert_ptr_nonnull(strstr(s, "40 / 6"));
    ck_assert_int_eq(s[strlen(s) - 1], '>'); /* no newline: SSE data */
    buf_free(&b);
}
END_TEST

Suite *make_metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_prom_label_escaping);
    tcase_add_test(tc, test_prom_histogram_cumulative);
    tcase_add_test(tc, test_metrics_observe_buckets);
    tcase_add_test(tc, test_metrics_quantile);
    tcase_add_test(tc, test_metrics_totals_add);
    tcase_add_test(tc, test_monitor_access);
    tcase_add_test(tc, test_status_chart);
    tcase_add_test(tc, test_status_fragment);
    suite_add_tcase(s, tc);
    TCase *slots = tcase_create("slots");
    tmpdir_add_fixtures(slots);
    tcase_add_test(slots, test_slots_shared_and_reclaimed);
    tcase_add_test(slots, test_slots_other_layout);
    suite_add_tcase(s, slots);
    return s;
}
