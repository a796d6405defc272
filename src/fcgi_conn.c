/* fcgi_conn: FastCGI connections on non-blocking sockets. See fcgi_conn.h. */
#include "fcgi_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "fcgi_proto.h"
#include "fcgi_reader.h"
#include "mem.h"

#define FCGI_CONN_READ_CHUNK 16384
#define FCGI_ACCEPT_PAUSE_MS 1000 /* after EMFILE, before accepting again */
#define FCGI_CONN_OUT_KEEP 512    /* output buffer kept while empty */

enum fcgi_conn_state {
    FCGI_CONN_READING,  /* no complete request yet */
    FCGI_CONN_ACTIVE,   /* request delivered, the app is answering */
    FCGI_CONN_ENDING,   /* response ended, flushing, then close */
    FCGI_CONN_DEAD      /* closed; waiting for the reaper */
};

struct fcgi_conn {
    struct stream_conn base;  /* what the application sees */
    struct loop_io io;        /* the loop hands us &io */
    struct loop_timer reaper; /* zero-delay timer: deferred close */
    struct fcgi_listener *listener;
    struct fcgi_reader reader;
    struct buf out;           /* FastCGI records waiting for the socket */
    struct buf staged;        /* response bytes written this round, not yet
                                 in records (see fcgi_conn_write) */
    enum fcgi_conn_state state;
    const char *close_why;
    uint64_t stalled_since_ms; /* output waiting and none taken since; 0: not */
    struct fcgi_conn *prev, *next;
    struct fcgi_conn *dirty_prev, *dirty_next; /* on the listener's list of
                                                  connections with staged bytes */
    int dirty;
};

struct fcgi_listener {
    struct loop_io io;
    struct loop_timer resume; /* re-enables accept after EMFILE */
    struct loop_timer sweep;  /* closes connections past the write timeout */
    struct loop *loop;
    struct stream_handler app;
    struct fcgi_limits limits;
    struct fcgi_conn *conns;  /* every connection not yet freed */
    struct fcgi_conn *dirty;  /* connections with staged bytes */
    struct loop_timer flush;  /* zero-delay: flushes them once a round */
    size_t nconns;
    int listening;
    struct fcgi_listener_stats stats;
};

#define FCGI_SWEEP_MS 1000

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static void fcgi_conn_on_io(struct loop *loop, struct loop_io *io,
                            uint32_t events);

/* Marks conn dead, unregisters and closes its socket now, and leaves the
 * rest (app callback, free) to the reaper, which runs after the current
 * callback: callers up the stack may still hold conn. */
static void fcgi_conn_kill(struct fcgi_conn *conn, int closed, const char *why)
{
    if (conn->state == FCGI_CONN_DEAD)
        return;
    struct loop *loop = conn->listener->loop;
    if (closed >= 0 && closed < METRICS_CLOSED_N) /* -1: the response ended */
        conn->listener->stats.closed[closed]++;
    conn->state = FCGI_CONN_DEAD;
    conn->close_why = why;
    if (loop_io_del(loop, &conn->io) != 0)
        fprintf(stderr, "stream: epoll_ctl(DEL, fd %d): %s\n", conn->io.fd,
                strerror(errno));
    if (close(conn->io.fd) != 0 && errno != EINTR)
        fprintf(stderr, "stream: close(fd %d): %s\n", conn->io.fd,
                strerror(errno));
    conn->io.fd = -1;
    loop_timer_start(loop, &conn->reaper, 0);
}

static void fcgi_conn_undirty(struct fcgi_conn *conn)
{
    if (!conn->dirty)
        return;
    struct fcgi_listener *l = conn->listener;
    if (conn->dirty_prev)
        conn->dirty_prev->dirty_next = conn->dirty_next;
    else
        l->dirty = conn->dirty_next;
    if (conn->dirty_next)
        conn->dirty_next->dirty_prev = conn->dirty_prev;
    conn->dirty_prev = conn->dirty_next = NULL;
    conn->dirty = 0;
}

static void fcgi_conn_reap(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct fcgi_conn *conn = container_of(t, struct fcgi_conn, reaper);
    struct fcgi_listener *l = conn->listener;
    fcgi_conn_undirty(conn);
    l->app.closed(&conn->base, conn->close_why);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        l->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    l->nconns--;
    fcgi_reader_free(&conn->reader);
    buf_free(&conn->out);
    buf_free(&conn->staged);
    free(conn);
}

/* Writes queued output. Watches EPOLLOUT only while something is left. */
static void fcgi_conn_flush(struct fcgi_conn *conn)
{
    while (buf_pending(&conn->out) > 0) {
        ssize_t n = send(conn->io.fd, buf_head(&conn->out),
                         buf_pending(&conn->out), MSG_NOSIGNAL);
        if (n > 0) {
            conn->listener->stats.sends++;
            buf_consume(&conn->out, (size_t)n);
            conn->stalled_since_ms = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (conn->stalled_since_ms == 0)
                conn->stalled_since_ms = loop_now_ms(conn->listener->loop);
            break;
        }
        int gone = n < 0 && (errno == EPIPE || errno == ECONNRESET);
        fcgi_conn_kill(conn, gone ? METRICS_CLOSED_CLIENT : METRICS_CLOSED_ERROR,
                       gone ? "web server closed the connection"
                            : "write error");
        return;
    }
    if (buf_pending(&conn->out) == 0 && conn->state == FCGI_CONN_ENDING) {
        fcgi_conn_kill(conn, -1, NULL);
        return;
    }
    /* An idle stream need not keep the memory of its largest event. */
    if (buf_pending(&conn->out) == 0 && conn->out.cap > FCGI_CONN_OUT_KEEP)
        buf_free(&conn->out);
    uint32_t want = EPOLLIN | EPOLLRDHUP |
                    (buf_pending(&conn->out) ? EPOLLOUT : 0);
    if (loop_io_mod(conn->listener->loop, &conn->io, want) != 0)
        fcgi_conn_kill(conn, METRICS_CLOSED_ERROR, "epoll_ctl failed");
}

/* Past the output cap the client is not reading: drop it rather than let
 * one slow reader take unbounded memory. */
static int fcgi_conn_check_cap(struct fcgi_conn *conn)
{
    if (buf_pending(&conn->out) <= conn->listener->limits.out_max)
        return 0;
    fcgi_conn_kill(conn, METRICS_CLOSED_CAP, "output cap reached (client not reading)");
    return -1;
}

#define fcgi_conn_of(c) container_of(c, struct fcgi_conn, base)

/* Moves the staged bytes into STDOUT records (each up to 64 KiB). */
static void fcgi_conn_stage_out(struct fcgi_conn *conn)
{
    if (buf_pending(&conn->staged) == 0)
        return;
    fcgi_append_stream(&conn->out, FCGI_STDOUT, conn->reader.request_id,
                       buf_head(&conn->staged), buf_pending(&conn->staged));
    /* Freed, not kept: thousands of idle streams would each hold it. */
    buf_free(&conn->staged);
}

/* Sends what is staged and queued. Write first: the cap is on what the
 * peer leaves unread, not on the size of one round's output. Returns 0, or
 * -1 when the connection is no longer answering. */
static int fcgi_conn_send_staged(struct fcgi_conn *conn)
{
    fcgi_conn_undirty(conn);
    fcgi_conn_stage_out(conn);
    fcgi_conn_flush(conn);
    if (conn->state != FCGI_CONN_ACTIVE || fcgi_conn_check_cap(conn) != 0)
        return -1;
    return 0;
}

/* Once a round, after every callback of the round: each connection written
 * to gets its bytes as one run of records and one send(), however many
 * events it was given. A lone event waits for nothing but the end of the
 * round it was written in. */
static void fcgi_listener_on_flush(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct fcgi_listener *l = container_of(t, struct fcgi_listener, flush);
    while (l->dirty) {
        struct fcgi_conn *conn = l->dirty;
        if (conn->state == FCGI_CONN_ACTIVE)
            (void)fcgi_conn_send_staged(conn);
        else
            fcgi_conn_undirty(conn);
    }
}

/* Stages the bytes; they are sent at the end of this loop round, together
 * with whatever else this connection gets in the round. Past the output cap
 * they are sent at once, and the connection is closed if the peer leaves
 * more than the cap unread. */
static int fcgi_conn_write(struct stream_conn *c, const void *data, size_t len)
{
    struct fcgi_conn *conn = fcgi_conn_of(c);
    struct fcgi_listener *l = conn->listener;
    if (conn->state != FCGI_CONN_ACTIVE)
        return -1;
    buf_append(&conn->staged, data, len);
    if (buf_pending(&conn->staged) + buf_pending(&conn->out) >
        l->limits.out_max)
        return fcgi_conn_send_staged(conn);
    if (!conn->dirty) {
        conn->dirty = 1;
        conn->dirty_prev = NULL;
        conn->dirty_next = l->dirty;
        if (l->dirty)
            l->dirty->dirty_prev = conn;
        l->dirty = conn;
        if (!loop_timer_armed(&l->flush))
            loop_timer_start(l->loop, &l->flush, 0);
    }
    return 0;
}

static void fcgi_conn_append_end(struct fcgi_conn *conn)
{
    fcgi_conn_undirty(conn);
    fcgi_conn_stage_out(conn);
    fcgi_append_stream_end(&conn->out, FCGI_STDOUT, conn->reader.request_id);
    fcgi_append_end_request(&conn->out, conn->reader.request_id, 0,
                            FCGI_REQUEST_COMPLETE);
    conn->state = FCGI_CONN_ENDING;
}

/* Empty STDOUT and END_REQUEST(app_status 0); the connection closes once
 * they are written (lighttpd never keeps a FastCGI connection). */
static int fcgi_conn_end(struct stream_conn *c)
{
    struct fcgi_conn *conn = fcgi_conn_of(c);
    if (conn->state != FCGI_CONN_ACTIVE)
        return -1;
    fcgi_conn_append_end(conn);
    fcgi_conn_flush(conn);
    return conn->state == FCGI_CONN_DEAD ? -1 : 0;
}

static void fcgi_conn_abort(struct stream_conn *c, const char *why)
{
    fcgi_conn_kill(fcgi_conn_of(c), METRICS_CLOSED_ERROR, why);
}

static const char *fcgi_conn_param(const struct stream_conn *c,
                                   const char *name)
{
    const struct fcgi_conn *conn = container_of(c, const struct fcgi_conn,
                                                base);
    return fcgi_reader_param(&conn->reader, name);
}

static const char *fcgi_conn_body(const struct stream_conn *c, size_t *len,
                                  int *too_large)
{
    const struct fcgi_conn *conn = container_of(c, const struct fcgi_conn,
                                                base);
    *len = buf_pending(&conn->reader.body);
    *too_large = conn->reader.body_too_large;
    return buf_head(&conn->reader.body);
}

static const struct stream_conn_ops fcgi_conn_ops = {
    .param = fcgi_conn_param,
    .body = fcgi_conn_body,
    .write = fcgi_conn_write,
    .end = fcgi_conn_end,
    .abort = fcgi_conn_abort,
};

/* Parses what arrived and hands complete requests to the app. */
static void fcgi_conn_process(struct fcgi_conn *conn)
{
    struct fcgi_listener *l = conn->listener;
    for (;;) {
        enum fcgi_reader_event ev = fcgi_reader_next(&conn->reader, &conn->out);
        switch (ev) {
        case FCGI_READER_MORE:
            fcgi_conn_flush(conn); /* management replies, if any */
            return;
        case FCGI_READER_READY:
            conn->state = FCGI_CONN_ACTIVE;
            l->app.request(&conn->base, l->app.app_data);
            if (conn->state != FCGI_CONN_ACTIVE)
                return;
            fcgi_reader_release(&conn->reader);
            break;
        case FCGI_READER_ABORT:
            fcgi_conn_kill(conn, METRICS_CLOSED_CLIENT, "request aborted by the web server");
            return;
        case FCGI_READER_ERROR:
            fprintf(stderr, "stream: FastCGI protocol error on fd %d: %s\n",
                    conn->io.fd, conn->reader.error);
            fcgi_conn_kill(conn, METRICS_CLOSED_ERROR, "FastCGI protocol error");
            return;
        }
    }
}

static void fcgi_conn_read(struct fcgi_conn *conn)
{
    char chunk[FCGI_CONN_READ_CHUNK];
    for (;;) {
        ssize_t n = recv(conn->io.fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            fcgi_reader_feed(&conn->reader, chunk, (size_t)n);
            if (buf_pending(&conn->reader.in) > FCGI_READER_PARAMS_MAX +
                                                 2 * FCGI_CONN_READ_CHUNK) {
                fcgi_conn_process(conn);
                if (conn->state == FCGI_CONN_DEAD)
                    return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* EOF: lighttpd closes the connection when its client went away;
         * a reset is the same news, sent harder. */
        fcgi_conn_kill(conn, n == 0 || errno == ECONNRESET
                                 ? METRICS_CLOSED_CLIENT : METRICS_CLOSED_ERROR,
                       n == 0 ? "web server closed the connection"
                             : errno == ECONNRESET ? "web server reset the connection"
                             : "read error");
        return;
    }
    fcgi_conn_process(conn);
}

static void fcgi_conn_on_io(struct loop *loop, struct loop_io *io,
                            uint32_t events)
{
    (void)loop;
    struct fcgi_conn *conn = container_of(io, struct fcgi_conn, io);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        fcgi_conn_read(conn);
    if (conn->state != FCGI_CONN_DEAD && (events & EPOLLOUT))
        fcgi_conn_flush(conn);
}

static void fcgi_listener_on_accept(struct loop *loop, struct loop_io *io,
                                    uint32_t events)
{
    (void)events;
    struct fcgi_listener *l = container_of(io, struct fcgi_listener, io);
    for (;;) {
        int fd = accept4(l->io.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* Out of fds or memory: stop accepting for a moment instead of
             * spinning on a listener that stays readable. */
            fprintf(stderr, "stream: accept: %s (%zu open); pausing accept "
                            "for %d ms\n", strerror(errno), l->nconns,
                    FCGI_ACCEPT_PAUSE_MS);
            if (loop_io_mod(loop, &l->io, 0) != 0)
                fprintf(stderr, "stream: epoll_ctl: %s\n", strerror(errno));
            loop_timer_start(loop, &l->resume, FCGI_ACCEPT_PAUSE_MS);
            return;
        }
        struct fcgi_conn *conn = mem_calloc(1, sizeof *conn);
        conn->base.ops = &fcgi_conn_ops;
        conn->listener = l;
        conn->state = FCGI_CONN_READING;
        fcgi_reader_init(&conn->reader, l->limits.body_max);
        loop_timer_init(&conn->reaper, fcgi_conn_reap);
        conn->next = l->conns;
        if (l->conns)
            l->conns->prev = conn;
        l->conns = conn;
        l->nconns++;
        l->stats.accepted++;
        if (loop_io_add(loop, &conn->io, fd, EPOLLIN | EPOLLRDHUP,
                        fcgi_conn_on_io) != 0) {
            fprintf(stderr, "stream: epoll_ctl(ADD, fd %d): %s\n", fd,
                    strerror(errno));
            conn->io.fd = fd;
            conn->state = FCGI_CONN_DEAD;
            conn->close_why = "epoll_ctl failed";
            if (close(fd) != 0)
                fprintf(stderr, "stream: close: %s\n", strerror(errno));
            loop_timer_start(loop, &conn->reaper, 0);
        }
    }
}

/* A peer that takes no byte for write_timeout_ms is not reading: its
 * stream is closed (the client resumes later by Last-Event-ID). */
static void fcgi_listener_on_sweep(struct loop *loop, struct loop_timer *t)
{
    struct fcgi_listener *l = container_of(t, struct fcgi_listener, sweep);
    uint64_t now = loop_now_ms(loop);
    for (struct fcgi_conn *c = l->conns; c; c = c->next) {
        if (c->state == FCGI_CONN_DEAD || c->stalled_since_ms == 0 ||
            now - c->stalled_since_ms < l->limits.write_timeout_ms)
            continue;
        fcgi_conn_kill(c, METRICS_CLOSED_SLOW, "write timeout (client not reading)");
    }
    loop_timer_start(loop, t, FCGI_SWEEP_MS);
}

static void fcgi_listener_on_resume(struct loop *loop, struct loop_timer *t)
{
    struct fcgi_listener *l = container_of(t, struct fcgi_listener, resume);
    if (l->listening && loop_io_mod(loop, &l->io, EPOLLIN) != 0)
        fprintf(stderr, "stream: epoll_ctl: %s\n", strerror(errno));
}

struct fcgi_listener *fcgi_listener_start(struct loop *loop, int listen_fd,
                                          const struct stream_handler *app,
                                          const struct fcgi_limits *limits)
{
    int flags = fcntl(listen_fd, F_GETFL);
    if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return NULL;
    struct fcgi_listener *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->loop = loop;
    l->app = *app;
    l->limits = *limits;
    loop_timer_init(&l->resume, fcgi_listener_on_resume);
    loop_timer_init(&l->sweep, fcgi_listener_on_sweep);
    loop_timer_init(&l->flush, fcgi_listener_on_flush);
    if (l->limits.write_timeout_ms > 0)
        loop_timer_start(loop, &l->sweep, FCGI_SWEEP_MS);
    if (loop_io_add(loop, &l->io, listen_fd, EPOLLIN,
                    fcgi_listener_on_accept) != 0) {
        int e = errno;
        free(l);
        errno = e;
        return NULL;
    }
    l->listening = 1;
    return l;
}

void fcgi_listener_stop(struct fcgi_listener *l)
{
    if (!l->listening)
        return;
    l->listening = 0;
    loop_timer_stop(l->loop, &l->resume);
    loop_timer_stop(l->loop, &l->sweep);
    if (loop_io_del(l->loop, &l->io) != 0)
        fprintf(stderr, "stream: epoll_ctl(DEL, listener): %s\n",
                strerror(errno));
    if (close(l->io.fd) != 0)
        fprintf(stderr, "stream: close(listener): %s\n", strerror(errno));
}

void fcgi_listener_end_all(struct fcgi_listener *l)
{
    for (struct fcgi_conn *c = l->conns; c; c = c->next) {
        if (c->state == FCGI_CONN_ACTIVE) {
            l->stats.closed[METRICS_CLOSED_SHUTDOWN]++;
            fcgi_conn_append_end(c);
            fcgi_conn_flush(c);
        } else if (c->state == FCGI_CONN_READING) {
            fcgi_conn_kill(c, METRICS_CLOSED_SHUTDOWN, "shutting down");
        }
    }
}

size_t fcgi_listener_open_conns(const struct fcgi_listener *l)
{
    return l->nconns;
}

struct fcgi_listener_stats fcgi_listener_stats(const struct fcgi_listener *l)
{
    struct fcgi_listener_stats st = l->stats;
    st.open = l->nconns;
    return st;
}

void fcgi_listener_free(struct fcgi_listener *l)
{
    loop_timer_stop(l->loop, &l->flush);
    free(l);
}
