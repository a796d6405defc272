/* redis_loop: hiredis async hooks on our epoll loop. See redis_loop.h. */
#include "redis_loop.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include <hiredis/async.h>

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static void redis_loop_on_io(struct loop *loop, struct loop_io *io,
                             uint32_t events)
{
    (void)loop;
    struct redis_loop *rl = container_of(io, struct redis_loop, io);
    int failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
    /* hiredis may clean the context up inside either call (rl->ac = NULL);
     * rl itself stays valid. A connect in progress waits for writable. */
    if (rl->ac && (rl->want & EPOLLOUT) && ((events & EPOLLOUT) || failed))
        redisAsyncHandleWrite(rl->ac);
    if (rl->ac && (rl->want & EPOLLIN) &&
        ((events & (EPOLLIN | EPOLLRDHUP)) || failed)) {
        redisAsyncHandleRead(rl->ac);
        if (rl->after_read)
            rl->after_read(rl->arg);
    }
}

static void redis_loop_update(struct redis_loop *rl)
{
    int rc;
    if (!rl->ac)
        return;
    if (!rl->registered) {
        rc = loop_io_add(rl->loop, &rl->io, rl->ac->c.fd, rl->want,
                         redis_loop_on_io);
        rl->registered = rc == 0;
    } else {
        rc = loop_io_mod(rl->loop, &rl->io, rl->want);
    }
    if (rc != 0)
        fprintf(stderr, "broker: epoll_ctl(redis): %s\n", strerror(errno));
}

/* hiredis' four hooks: it starts or stops waiting to read or to write. */
static void redis_loop_want(void *p, uint32_t bit, int on)
{
    struct redis_loop *rl = p;
    rl->want = on ? rl->want | bit : rl->want & ~bit;
    redis_loop_update(rl);
}

static void redis_loop_add_read(void *p) { redis_loop_want(p, EPOLLIN, 1); }
static void redis_loop_del_read(void *p) { redis_loop_want(p, EPOLLIN, 0); }
static void redis_loop_add_write(void *p) { redis_loop_want(p, EPOLLOUT, 1); }
static void redis_loop_del_write(void *p) { redis_loop_want(p, EPOLLOUT, 0); }

/* hiredis is about to close the fd and free the context. */
static void redis_loop_cleanup(void *p)
{
    struct redis_loop *rl = p;
    if (rl->registered && loop_io_del(rl->loop, &rl->io) != 0)
        fprintf(stderr, "broker: epoll_ctl(DEL, redis): %s\n",
                strerror(errno));
    rl->registered = 0;
    rl->want = 0;
    rl->ac = NULL;
}

int redis_loop_attach(struct redis_loop *rl, struct loop *loop,
                      struct redisAsyncContext *ac)
{
    if (ac->ev.data)
        return -1;
    rl->loop = loop;
    rl->ac = ac;
    rl->want = 0;
    rl->registered = 0;
    ac->ev.addRead = redis_loop_add_read;
    ac->ev.delRead = redis_loop_del_read;
    ac->ev.addWrite = redis_loop_add_write;
    ac->ev.delWrite = redis_loop_del_write;
    ac->ev.cleanup = redis_loop_cleanup;
    ac->ev.data = rl;
    return 0;
}
