/* loop: epoll + binary-heap timers. See loop.h. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

#define LOOP_BATCH 256
#define LOOP_NOT_ARMED ((size_t)-1)

struct loop {
    int epfd;
    int stopping;
    uint64_t now_ms;
    uint64_t round;           /* counts loop rounds */
    struct loop_timer **heap; /* min-heap on when_ms */
    size_t heap_len, heap_cap;
    struct epoll_event ready[LOOP_BATCH];
    int nready, next_ready;   /* the round being dispatched */
};

uint64_t loop_clock_ms(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
    struct loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int e = errno;
        free(loop);
        errno = e;
        return NULL;
    }
    loop->now_ms = loop_clock_ms();
    return loop;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    if (close(loop->epfd) != 0 && errno != EINTR)
        abort(); /* EBADF here is a bug: the fd was closed twice */
    free(loop->heap);
    free(loop);
}

int loop_io_add(struct loop *loop, struct loop_io *io, int fd,
                uint32_t events, loop_io_fn *fn)
{
    io->fd = fd;
    io->events = events;
    io->fn = fn;
    struct epoll_event ev = { .events = events, .data.ptr = io };
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int loop_io_mod(struct loop *loop, struct loop_io *io, uint32_t events)
{
    if (io->events == events)
        return 0;
    struct epoll_event ev = { .events = events, .data.ptr = io };
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0)
        return -1;
    io->events = events;
    return 0;
}

int loop_io_del(struct loop *loop, struct loop_io *io)
{
    /* Forget events already collected for io in this round, so a callback
     * that frees another object's io cannot have it called afterwards. */
    for (int i = loop->next_ready; i < loop->nready; i++)
        if (loop->ready[i].data.ptr == io)
            loop->ready[i].data.ptr = NULL;
    return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* Heap helpers: parent of i is (i-1)/2. */
static void loop_heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void loop_heap_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (loop->heap[parent]->when_ms <= t->when_ms)
            break;
        loop_heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    loop_heap_set(loop, i, t);
}

static void loop_heap_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len &&
            loop->heap[child + 1]->when_ms < loop->heap[child]->when_ms)
            child++;
        if (t->when_ms <= loop->heap[child]->when_ms)
            break;
        loop_heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    loop_heap_set(loop, i, t);
}

void loop_timer_init(struct loop_timer *timer, loop_timer_fn *fn)
{
    timer->when_ms = 0;
    timer->heap_index = LOOP_NOT_ARMED;
    timer->fn = fn;
}

int loop_timer_armed(const struct loop_timer *timer)
{
    return timer->heap_index != LOOP_NOT_ARMED;
}

void loop_timer_stop(struct loop *loop, struct loop_timer *timer)
{
    size_t i = timer->heap_index;
    if (i == LOOP_NOT_ARMED)
        return;
    timer->heap_index = LOOP_NOT_ARMED;
    struct loop_timer *last = loop->heap[--loop->heap_len];
    if (i == loop->heap_len)
        return;
    loop_heap_set(loop, i, last);
    loop_heap_down(loop, i);
    loop_heap_up(loop, last->heap_index);
}

void loop_timer_start(struct loop *loop, struct loop_timer *timer,
                      uint64_t delay_ms)
{
    loop_timer_stop(loop, timer);
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        loop->heap = mem_realloc(loop->heap, cap * sizeof *loop->heap);
        loop->heap_cap = cap;
    }
    timer->when_ms = loop->now_ms + delay_ms;
    timer->round = loop->round;
    loop_heap_set(loop, loop->heap_len++, timer);
    loop_heap_up(loop, timer->heap_index);
}

uint64_t loop_now_ms(const struct loop *loop)
{
    return loop->now_ms;
}

void loop_stop(struct loop *loop)
{
    loop->stopping = 1;
}

static void loop_run_timers(struct loop *loop)
{
    /* Timers armed from here on belong to the next round (see loop.h). */
    uint64_t this_round = loop->round++;
    while (loop->heap_len > 0 && loop->heap[0]->when_ms <= loop->now_ms) {
        struct loop_timer *t = loop->heap[0];
        if (t->round > this_round)
            break; /* armed by a callback just now; the next round runs it */
        loop_timer_stop(loop, t);
        t->fn(loop, t); /* may re-arm t, or free it */
    }
}

int loop_run(struct loop *loop)
{
    loop->stopping = 0;
    while (!loop->stopping) {
        int timeout = -1;
        if (loop->heap_len > 0) {
            uint64_t when = loop->heap[0]->when_ms;
            uint64_t now = loop_clock_ms();
            timeout = when <= now ? 0 : (int)(when - now < 60000 ? when - now : 60000);
        }
        int n = epoll_wait(loop->epfd, loop->ready, LOOP_BATCH, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        loop->now_ms = loop_clock_ms();
        loop->nready = n;
        for (loop->next_ready = 0; loop->next_ready < n;) {
            struct epoll_event *ev = &loop->ready[loop->next_ready++];
            struct loop_io *io = ev->data.ptr;
            if (io)
                io->fn(loop, io, ev->events);
        }
        loop->nready = loop->next_ready = 0;
        loop_run_timers(loop);
    }
    return 0;
}
