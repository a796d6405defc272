/* check_loop: the contract of loop.h. Timers fire once, in deadline order,
 * not before their delay; a stopped timer never fires; re-arming from the
 * callback repeats it; loop_timer_armed follows start/stop/fire. An fd
 * callback runs for the registered events with the events that happened;
 * loop_io_mod changes them; after loop_io_del no callback for that io runs,
 * even one already collected in the same round. Every run has a 2 s safety
 * timer that stops the loop and fails the test, so a broken loop cannot
 * hang. */
#include <stddef.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "check_suites.h"
#include "loop.h"

#define container_of(p, type, member) \
    ((type *)(void *)((char *)(p) - offsetof(type, member)))

#define SAFETY_MS 2000

struct ctx {
    struct loop *loop;
    struct loop_timer safety;
    int timed_out;
    int order[16];       /* ids of timers, in firing order */
    int norder;
    int stop_after;      /* loop_stop once this many timers fired */
};

struct test_timer {
    struct loop_timer timer;
    struct ctx *ctx;
    int id;
    int fired;
    uint64_t started_ms; /* loop_now_ms when started */
    uint64_t delay_ms;
    uint64_t fired_ms;   /* loop_now_ms in the callback */
};

static void safety_fn(struct loop *loop, struct loop_timer *t)
{
    struct ctx *c = container_of(t, struct ctx, safety);
    c->timed_out = 1;
    loop_stop(loop);
}

static void ctx_init(struct ctx *c)
{
    *c = (struct ctx){ 0 };
    c->loop = loop_new();
    ck_assert_ptr_nonnull(c->loop);
    loop_timer_init(&c->safety, safety_fn);
    loop_timer_start(c->loop, &c->safety, SAFETY_MS);
}

/* Runs the loop; fails if the safety timer had to stop it. */
static void ctx_run(struct ctx *c)
{
    ck_assert_int_eq(loop_run(c->loop), 0);
    ck_assert_msg(!c->timed_out, "loop still running after %d ms", SAFETY_MS);
}

static void ctx_free(struct ctx *c)
{
    loop_timer_stop(c->loop, &c->safety);
    loop_free(c->loop);
}

/* Records the firing; stops the loop once stop_after timers fired. */
static void record_fn(struct loop *loop, struct loop_timer *t)
{
    struct test_timer *tt = container_of(t, struct test_timer, timer);
    struct ctx *c = tt->ctx;
    tt->fired++;
    tt->fired_ms = loop_now_ms(loop);
    ck_assert_int_lt(c->norder, 16);
    c->order[c->norder++] = tt->id;
    if (c->norder == c->stop_after)
        loop_stop(loop);
}

static void tt_start(struct ctx *c, struct test_timer *tt, int id,
                     uint64_t delay)
{
    tt->ctx = c;
    tt->id = id;
    tt->fired = 0;
    tt->delay_ms = delay;
    tt->started_ms = loop_now_ms(c->loop);
    loop_timer_init(&tt->timer, record_fn);
    loop_timer_start(c->loop, &tt->timer, delay);
}

/* ------------------------------------------------------------------------
 * Timers. */

START_TEST(test_timer_order)
{
    struct ctx c;
    struct test_timer a, b, d;
    ctx_init(&c);
    c.stop_after = 3;
    tt_start(&c, &a, 30, 30);
    tt_start(&c, &b, 10, 10);
    tt_start(&c, &d, 20, 20);
    ctx_run(&c);
    ck_assert_int_eq(c.norder, 3);
    ck_assert_int_eq(c.order[0], 10);
    ck_assert_int_eq(c.order[1], 20);
    ck_assert_int_eq(c.order[2], 30);
    struct test_timer *all[] = { &a, &b, &d };
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(all[i]->fired, 1);
        ck_assert_uint_ge(all[i]->fired_ms,
                          all[i]->started_ms + all[i]->delay_ms);
        ck_assert(!loop_timer_armed(&all[i]->timer));
    }
    ctx_free(&c);
}
END_TEST

/* Removing timers from the middle and the top of the heap keeps the rest in
 * order; a stopped timer never fires. */
START_TEST(test_timer_stop)
{
    struct ctx c;
    struct test_timer t[6];
    static const int delays[6] = { 50, 10, 40, 30, 20, 60 };
    ctx_init(&c);
    c.stop_after = 4;
    for (int i = 0; i < 6; i++)
        tt_start(&c, &t[i], delays[i], (uint64_t)delays[i]);
    loop_timer_stop(c.loop, &t[3].timer);   /* 30: middle */
    loop_timer_stop(c.loop, &t[1].timer);   /* 10: the earliest */
    loop_timer_stop(c.loop, &t[1].timer);   /* twice is safe */
    ck_assert(!loop_timer_armed(&t[3].timer));
    ck_assert(!loop_timer_armed(&t[1].timer));
    ctx_run(&c);
    ck_assert_int_eq(c.norder, 4);
    ck_assert_int_eq(c.order[0], 20);
    ck_assert_int_eq(c.order[1], 40);
    ck_assert_int_eq(c.order[2], 50);
    ck_assert_int_eq(c.order[3], 60);
    ck_assert_int_eq(t[1].fired, 0);
    ck_assert_int_eq(t[3].fired, 0);
    ctx_free(&c);
}
END_TEST

/* A timer stopped by another timer's callback before its deadline. */
struct stopper {
    struct loop_timer timer;
    struct loop_timer *victim;
    struct loop_timer *end;
};

static void stopper_fn(struct loop *loop, struct loop_timer *t)
{
    struct stopper *s = container_of(t, struct stopper, timer);
    loop_timer_stop(loop, s->victim);
    loop_timer_start(loop, s->end, 60);
}

START_TEST(test_timer_stopped_from_callback)
{
    struct ctx c;
    struct test_timer victim, end;
    struct stopper s;
    ctx_init(&c);
    c.stop_after = 1;
    tt_start(&c, &victim, 1, 40);
    tt_start(&c, &end, 2, 1000);            /* re-armed by the stopper */
    s.victim = &victim.timer;
    s.end = &end.timer;
    loop_timer_init(&s.timer, stopper_fn);
    loop_timer_start(c.loop, &s.timer, 10);
    ctx_run(&c);
    ck_assert_int_eq(victim.fired, 0);
    ck_assert_int_eq(end.fired, 1);
    ck_assert_int_eq(c.order[0], 2);
    ctx_free(&c);
}
END_TEST

struct repeater {
    struct loop_timer timer;
    int count;
    int armed_after_rearm;
};

static void repeat_fn(struct loop *loop, struct loop_timer *t)
{
    struct repeater *r = container_of(t, struct repeater, timer);
    r->count++;
    if (r->count < 3) {
        loop_timer_start(loop, t, 10);
        r->armed_after_rearm += loop_timer_armed(t);
    } else {
        loop_stop(loop);
    }
}

START_TEST(test_timer_repeat)
{
    struct ctx c;
    struct repeater r = { .count = 0 };
    ctx_init(&c);
    loop_timer_init(&r.timer, repeat_fn);
    loop_timer_start(c.loop, &r.timer, 10);
    ctx_run(&c);
    ck_assert_int_eq(r.count, 3);
    ck_assert_int_eq(r.armed_after_rearm, 2);
    ck_assert(!loop_timer_armed(&r.timer));
    ctx_free(&c);
}
END_TEST

/* armed follows init/start/stop; re-arming an armed timer replaces its
 * deadline, so it fires once. */
START_TEST(test_timer_armed)
{
    struct ctx c;
    struct test_timer t, end;
    ctx_init(&c);
    c.stop_after = 2;
    loop_timer_init(&t.timer, record_fn);
    ck_assert_int_eq(loop_timer_armed(&t.timer), 0);
    loop_timer_stop(c.loop, &t.timer);      /* safe on an unarmed timer */
    ck_assert_int_eq(loop_timer_armed(&t.timer), 0);
    tt_start(&c, &t, 1, 10);
    ck_assert_int_eq(loop_timer_armed(&t.timer), 1);
    loop_timer_stop(c.loop, &t.timer);
    ck_assert_int_eq(loop_timer_armed(&t.timer), 0);
    loop_timer_start(c.loop, &t.timer, 10);
    loop_timer_start(c.loop, &t.timer, 30); /* re-arm: replaces */
    ck_assert_int_eq(loop_timer_armed(&t.timer), 1);
    tt_start(&c, &end, 2, 100);
    ctx_run(&c);
    ck_assert_int_eq(t.fired, 1);
    ck_assert_uint_ge(t.fired_ms, t.started_ms + 30);
    ck_assert_int_eq(c.order[0], 1);
    ck_assert_int_eq(c.order[1], 2);
    ck_assert_int_eq(loop_timer_armed(&t.timer), 0);
    ctx_free(&c);
}
END_TEST

/* ------------------------------------------------------------------------
 * File descriptors. */

struct test_io {
    struct loop_io io;
    struct ctx *ctx;
    int calls;
    uint32_t events;
    char got;
    struct test_io *other;  /* for the delete test */
    int deleted;            /* loop_io_del was called for io */
};

static void read_fn(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct test_io *ti = container_of(io, struct test_io, io);
    (void)loop;
    ti->calls++;
    ti->events = events;
    if (events & EPOLLIN)
        ck_assert_int_eq(read(io->fd, &ti->got, 1), 1);
}

static void end_fn(struct loop *loop, struct loop_timer *t)
{
    (void)t;
    loop_stop(loop);
}

START_TEST(test_io_read)
{
    struct ctx c;
    struct test_io ti = { .calls = 0 };
    struct loop_timer end;
    int fds[2];
    ctx_init(&c);
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], "k", 1), 1);
    ck_assert_int_eq(loop_io_add(c.loop, &ti.io, fds[0], EPOLLIN, read_fn), 0);
    ck_assert_int_eq(ti.io.fd, fds[0]);
    /* let the loop go round a few more times after the byte is read */
    loop_timer_init(&end, end_fn);
    loop_timer_start(c.loop, &end, 100);
    ctx_run(&c);
    ck_assert_int_eq(ti.calls, 1);
    ck_assert_uint_eq(ti.events, EPOLLIN);
    ck_assert_int_eq(ti.got, 'k');
    ck_assert_int_eq(loop_io_del(c.loop, &ti.io), 0);
    ck_assert_int_eq(close(fds[0]), 0);
    ck_assert_int_eq(close(fds[1]), 0);
    ctx_free(&c);
}
END_TEST

/* A timer that re-arms itself with delay 0 must not starve fd callbacks:
 * it fires once per round, and the readable pipe's callback still runs. */
struct spinner {
    struct loop_timer timer;
    int fired;
    int write_fd;           /* made readable on the first firing */
    struct test_io *watch;  /* stop once this io has been called */
};

static void spin_fn(struct loop *loop, struct loop_timer *t)
{
    struct spinner *sp = container_of(t, struct spinner, timer);
    if (sp->fired++ == 0)
        ck_assert_int_eq(write(sp->write_fd, "z", 1), 1);
    if (sp->watch->calls > 0 || sp->fired > 1000000) {
        loop_stop(loop);
        return;
    }
    loop_timer_start(loop, t, 0);
}

START_TEST(test_timer_zero_delay_no_starvation)
{
    struct ctx c;
    struct test_io ti = { .calls = 0 };
    struct spinner sp = { .fired = 0, .watch = &ti };
    int fds[2];
    ctx_init(&c);
    ck_assert_int_eq(pipe(fds), 0);
    sp.write_fd = fds[1];
    loop_timer_init(&sp.timer, spin_fn);
    loop_timer_start(c.loop, &sp.timer, 0);
    ck_assert_int_eq(loop_io_add(c.loop, &ti.io, fds[0], EPOLLIN, read_fn), 0);
    ctx_run(&c);
    ck_assert_int_eq(ti.calls, 1);
    ck_assert_int_le(sp.fired, 3);
    loop_timer_stop(c.loop, &sp.timer);
    ck_assert_int_eq(loop_io_del(c.loop, &ti.io), 0);
    ck_assert_int_eq(close(fds[0]), 0);
    ck_assert_int_eq(close(fds[1]), 0);
    ctx_free(&c);
}
END_TEST

static void write_ready_fn(struct loop *loop, struct loop_io *io,
                           uint32_t events)
{
    struct test_io *ti = container_of(io, struct test_io, io);
    ti->calls++;
    ti->events = events;
    loop_stop(loop);
}

/* An fd registered for EPOLLIN on a pipe's write end never fires; switched
 * to EPOLLOUT with loop_io_mod, it does. */
START_TEST(test_io_mod)
{
    struct ctx c;
    struct test_io ti = { .calls = 0 };
    struct loop_timer end;
    int fds[2];
    ctx_init(&c);
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(loop_io_add(c.loop, &ti.io, fds[1], EPOLLIN,
                                 write_ready_fn), 0);
    loop_timer_init(&end, end_fn);
    loop_timer_start(c.loop, &end, 50);
    ctx_run(&c);
    ck_assert_int_eq(ti.calls, 0);

    ck_assert_int_eq(loop_io_mod(c.loop, &ti.io, EPOLLOUT), 0);
    ck_assert_uint_eq(ti.io.events, EPOLLOUT);
    ctx_run(&c);
    ck_assert_int_eq(ti.calls, 1);
    ck_assert_uint_eq(ti.events, EPOLLOUT);
    ck_assert_int_eq(loop_io_del(c.loop, &ti.io), 0);
    ck_assert_int_eq(close(fds[0]), 0);
    ck_assert_int_eq(close(fds[1]), 0);
    loop_timer_stop(c.loop, &end);
    ctx_free(&c);
}
END_TEST

/* The first of two ready fds to run deletes the other's io (and its own)
 * and stops the loop: the other's event, collected in the same round, must
 * not be delivered. */
static void delete_other_fn(struct loop *loop, struct loop_io *io,
                            uint32_t events)
{
    struct test_io *ti = container_of(io, struct test_io, io);
    ti->calls++;
    ti->events = events;
    if (ti->deleted)
        return; /* a callback after loop_io_del: the test fails on calls */
    ti->other->deleted = 1;
    ck_assert_int_eq(loop_io_del(loop, &ti->other->io), 0);
    ti->deleted = 1;
    ck_assert_int_eq(loop_io_del(loop, io), 0);
    loop_stop(loop);
}

START_TEST(test_io_del_same_round)
{
    struct ctx c;
    struct test_io a = { .calls = 0 }, b = { .calls = 0 };
    int pa[2], pb[2];
    ctx_init(&c);
    ck_assert_int_eq(pipe(pa), 0);
    ck_assert_int_eq(pipe(pb), 0);
    ck_assert_int_eq(write(pa[1], "a", 1), 1);
    ck_assert_int_eq(write(pb[1], "b", 1), 1);
    a.other = &b;
    b.other = &a;
    ck_assert_int_eq(loop_io_add(c.loop, &a.io, pa[0], EPOLLIN,
                                 delete_other_fn), 0);
    ck_assert_int_eq(loop_io_add(c.loop, &b.io, pb[0], EPOLLIN,
                                 delete_other_fn), 0);
    ctx_run(&c);
    ck_assert_int_eq(a.calls + b.calls, 1);
    struct test_io *first = a.calls ? &a : &b;
    ck_assert_int_eq(first->other->calls, 0);
    ck_assert_uint_eq(first->events, EPOLLIN);
    int *fds[] = { pa, pb };
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(close(fds[i][0]), 0);
        ck_assert_int_eq(close(fds[i][1]), 0);
    }
    ctx_free(&c);
}
END_TEST

Suite *make_loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *timers = tcase_create("timers");
    tcase_set_timeout(timers, 10);
    tcase_add_test(timers, test_timer_order);
    tcase_add_test(timers, test_timer_stop);
    tcase_add_test(timers, test_timer_stopped_from_callback);
    tcase_add_test(timers, test_timer_repeat);
    tcase_add_test(timers, test_timer_armed);
    suite_add_tcase(s, timers);

    TCase *io = tcase_create("io");
    tcase_set_timeout(io, 10);
    tcase_add_test(io, test_io_read);
    tcase_add_test(io, test_io_mod);
    tcase_add_test(io, test_io_del_same_round);
    tcase_add_test(io, test_timer_zero_delay_no_starvation);
    suite_add_tcase(s, io);
    return s;
}
