/* loop: an epoll event loop with millisecond timers. It knows nothing about
 * FastCGI or SSE: callers embed a loop_io or loop_timer in their own
 * structs and get a callback with that pointer. Single-threaded. */
#ifndef SSELIGHT_LOOP_H
#define SSELIGHT_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;

typedef void loop_io_fn(struct loop *loop, struct loop_io *io,
                        uint32_t events);
typedef void loop_timer_fn(struct loop *loop, struct loop_timer *timer);

struct loop_io {
    int fd;
    uint32_t events;   /* EPOLL* mask currently registered */
    loop_io_fn *fn;
};

struct loop_timer {
    uint64_t when_ms;  /* monotonic deadline */
    uint64_t round;    /* loop round in which it was armed */
    size_t heap_index; /* position in the heap; (size_t)-1 when not armed */
    loop_timer_fn *fn;
};

/* Creates a loop. Returns NULL with errno set on failure. */
struct loop *loop_new(void);

/* Frees the loop. Registered fds are not closed. */
void loop_free(struct loop *loop);

/* Registers io->fd for events (EPOLLIN, EPOLLOUT, EPOLLRDHUP ...) with
 * callback fn. io must stay valid until loop_io_del. Returns 0 or -1/errno. */
int loop_io_add(struct loop *loop, struct loop_io *io, int fd,
                uint32_t events, loop_io_fn *fn);

/* Changes the events of a registered io. Returns 0 or -1/errno. */
int loop_io_mod(struct loop *loop, struct loop_io *io, uint32_t events);

/* Unregisters io (before its fd is closed). After this no callback for io
 * runs, even one already collected in the current round, so the caller may
 * free io at once. Returns 0 or -1/errno. */
int loop_io_del(struct loop *loop, struct loop_io *io);

/* Prepares a timer that is not armed. */
void loop_timer_init(struct loop_timer *timer, loop_timer_fn *fn);

/* Arms (or re-arms) timer to fire once after delay_ms. A timer armed from
 * a timer callback fires in a later round even with delay 0, so a timer
 * that re-arms itself cannot starve fd callbacks. */
void loop_timer_start(struct loop *loop, struct loop_timer *timer,
                      uint64_t delay_ms);

/* Disarms timer if armed; safe on an unarmed one. */
void loop_timer_stop(struct loop *loop, struct loop_timer *timer);

/* 1 if timer is armed. */
int loop_timer_armed(const struct loop_timer *timer);

/* The loop's clock (CLOCK_MONOTONIC, milliseconds), updated once per round. */
uint64_t loop_now_ms(const struct loop *loop);

/* CLOCK_MONOTONIC now, in milliseconds, read at each call (not the loop's
 * cached round time); safe from any thread. */
uint64_t loop_clock_ms(void);

/* Runs until loop_stop is called. Returns 0, or -1/errno if epoll_wait
 * fails for a reason other than EINTR. */
int loop_run(struct loop *loop);

/* Makes loop_run return after the current round. */
void loop_stop(struct loop *loop);

#endif
