/* redis_loop: runs a hiredis asynchronous connection in our event loop
 * (hiredis calls its hooks to say which of read/write it waits for; this
 * module keeps the loop's registration in step and calls hiredis back). */
#ifndef SSELIGHT_REDIS_LOOP_H
#define SSELIGHT_REDIS_LOOP_H

#include <stdint.h>

#include "loop.h"

struct redisAsyncContext;

struct redis_loop {
    struct loop *loop;
    struct loop_io io;
    struct redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    uint32_t want;                /* EPOLLIN / EPOLLOUT hiredis asked for */
    int registered;
    /* Called after each batch of replies read, if set (may be NULL). */
    void (*after_read)(void *arg);
    void *arg;
};

/* Hooks ac into loop through rl, which must stay valid (and not move) until
 * hiredis has cleaned up (rl->ac == NULL). Returns 0, or -1 when ac is
 * already hooked elsewhere. */
int redis_loop_attach(struct redis_loop *rl, struct loop *loop,
                      struct redisAsyncContext *ac);

#endif
