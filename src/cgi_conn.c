/* cgi_conn: the CGI transport of the stream responder. See cgi_conn.h. */
#include "cgi_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "buf.h"
#include "cgi_request.h"
#include "http.h"
#include "mem.h"

#define CGI_CONN_SWEEP_MS 1000

enum cgi_conn_state {
    CGI_CONN_ACTIVE,   /* the app is answering */
    CGI_CONN_ENDING,   /* response ended; writing what is left */
    CGI_CONN_DEAD      /* gone; the reaper tells the app, then done */
};

struct cgi_conn {
    struct stream_conn base;
    struct loop_io io;         /* out_fd; registered unless it is a file */
    struct loop_timer reaper;  /* zero-delay: closed + done from the loop */
    struct loop_timer sweep;   /* write timeout */
    struct loop *loop;
    struct stream_handler handler;
    struct fcgi_limits limits;
    cgi_conn_done_fn *done;
    void *done_arg;
    int watched;               /* out_fd is on the loop (not a plain file) */
    enum cgi_conn_state state;
    const char *close_why;
    uint64_t stalled_since_ms;
    struct buf body;
    int body_too_large;
    struct buf out;
};

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define cgi_conn_of(c) container_of(c, struct cgi_conn, base)

static void cgi_conn_kill(struct cgi_conn *c, const char *why)
{
    if (c->state == CGI_CONN_DEAD)
        return;
    c->state = CGI_CONN_DEAD;
    c->close_why = why;
    if (c->watched && loop_io_del(c->loop, &c->io) != 0)
        fprintf(stderr, "stream: epoll_ctl(DEL, stdout): %s\n",
                strerror(errno));
    c->watched = 0;
    loop_timer_stop(c->loop, &c->sweep);
    loop_timer_start(c->loop, &c->reaper, 0);
}

static void cgi_conn_reap(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct cgi_conn *c = container_of(t, struct cgi_conn, reaper);
    c->handler.closed(&c->base, c->close_why);
    c->base.data = NULL;
    c->done(c->done_arg);
}

/* Writes what the fd takes now; watches EPOLLOUT while output waits. */
static void cgi_conn_flush(struct cgi_conn *c)
{
    while (buf_pending(&c->out) > 0) {
        ssize_t n = write(c->io.fd, buf_head(&c->out), buf_pending(&c->out));
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            c->stalled_since_ms = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->stalled_since_ms == 0)
                c->stalled_since_ms = loop_now_ms(c->loop);
            break;
        }
        cgi_conn_kill(c, n < 0 && (errno == EPIPE || errno == ECONNRESET)
                             ? "web server closed the connection"
                             : "write error");
        return;
    }
    if (buf_pending(&c->out) == 0 && c->state == CGI_CONN_ENDING) {
        cgi_conn_kill(c, NULL);
        return;
    }
    /* EPOLLERR and EPOLLHUP are always reported: the web server closing
     * its end is seen without a write. EPOLLRDHUP is not asked for: under
     * mod_cgid stdin and stdout are one socket, and the server shutting
     * down its sending side after the body is no sign of a client gone. */
    if (c->watched &&
        loop_io_mod(c->loop, &c->io, buf_pending(&c->out) ? EPOLLOUT : 0) != 0)
        cgi_conn_kill(c, "epoll_ctl failed");
}

static void cgi_conn_on_io(struct loop *loop, struct loop_io *io,
                           uint32_t events)
{
    (void)loop;
    struct cgi_conn *c = container_of(io, struct cgi_conn, io);
    if (events & (EPOLLERR | EPOLLHUP)) {
        cgi_conn_kill(c, "web server closed the connection");
        return;
    }
    if (events & EPOLLOUT)
        cgi_conn_flush(c);
}

static void cgi_conn_on_sweep(struct loop *loop, struct loop_timer *t)
{
    struct cgi_conn *c = container_of(t, struct cgi_conn, sweep);
    if (c->stalled_since_ms != 0 &&
        loop_now_ms(loop) - c->stalled_since_ms >= c->limits.write_timeout_ms) {
        cgi_conn_kill(c, "write timeout (client not reading)");
        return;
    }
    loop_timer_start(loop, t, CGI_CONN_SWEEP_MS);
}

static int cgi_conn_write(struct stream_conn *base, const void *data,
                          size_t len)
{
    struct cgi_conn *c = cgi_conn_of(base);
    if (c->state != CGI_CONN_ACTIVE)
        return -1;
    buf_append(&c->out, data, len);
    cgi_conn_flush(c);
    if (c->state != CGI_CONN_ACTIVE)
        return -1;
    if (buf_pending(&c->out) > c->limits.out_max) {
        cgi_conn_kill(c, "output cap reached (client not reading)");
        return -1;
    }
    return 0;
}

static int cgi_conn_end(struct stream_conn *base)
{
    struct cgi_conn *c = cgi_conn_of(base);
    if (c->state != CGI_CONN_ACTIVE)
        return -1;
    c->state = CGI_CONN_ENDING;
    cgi_conn_flush(c);
    return c->state == CGI_CONN_DEAD && c->close_why ? -1 : 0;
}

static void cgi_conn_abort(struct stream_conn *base, const char *why)
{
    cgi_conn_kill(cgi_conn_of(base), why);
}

static const char *cgi_conn_param(const struct stream_conn *base,
                                  const char *name)
{
    (void)base;
    return cgi_request_param(name);
}

static const char *cgi_conn_body(const struct stream_conn *base, size_t *len,
                                 int *too_large)
{
    const struct cgi_conn *c = container_of(base, const struct cgi_conn,
                                            base);
    *len = buf_pending(&c->body);
    *too_large = c->body_too_large;
    return buf_head(&c->body);
}

static const struct stream_conn_ops cgi_conn_ops = {
    .param = cgi_conn_param,
    .body = cgi_conn_body,
    .write = cgi_conn_write,
    .end = cgi_conn_end,
    .abort = cgi_conn_abort,
};

/* Reads the body. A request without CONTENT_LENGTH has a body only when
 * it is a POST (sent chunked: read to the end); a GET's stdin may never
 * reach end of file. Returns 0, or -1 after logging. */
static int cgi_conn_read_body(struct cgi_conn *c, int in_fd)
{
    const char *cl = cgi_request_param("CONTENT_LENGTH");
    const char *method = cgi_request_param("REQUEST_METHOD");
    if ((!cl || !*cl) && !(method && strcmp(method, "POST") == 0))
        return 0;
    if (cgi_request_read_body(in_fd, cl, c->limits.body_max, &c->body,
                              &c->body_too_large) == 0)
        return 0;
    fprintf(stderr, "stream: reading the request body (CONTENT_LENGTH %s): "
            "%s\n", cl ? cl : "unset",
            errno == EINVAL ? "not a number" : strerror(errno));
    return -1;
}

struct cgi_conn *cgi_conn_start(struct loop *loop, int in_fd, int out_fd,
                                const struct stream_handler *h,
                                const struct fcgi_limits *limits,
                                cgi_conn_done_fn *done, void *arg)
{
    int flags = fcntl(out_fd, F_GETFL);
    if (flags < 0 || fcntl(out_fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return NULL;
    struct cgi_conn *c = mem_calloc(1, sizeof *c);
    c->base.ops = &cgi_conn_ops;
    c->loop = loop;
    c->handler = *h;
    c->limits = *limits;
    c->done = done;
    c->done_arg = arg;
    c->state = CGI_CONN_ACTIVE;
    loop_timer_init(&c->reaper, cgi_conn_reap);
    loop_timer_init(&c->sweep, cgi_conn_on_sweep);
    if (loop_io_add(loop, &c->io, out_fd, 0, cgi_conn_on_io) == 0) {
        c->watched = 1;
    } else if (errno == EPERM) {
        /* A plain file (output redirected by hand): it never blocks, and
         * epoll cannot watch it. */
        c->io.fd = out_fd;
    } else {
        int e = errno;
        free(c);
        errno = e;
        return NULL;
    }
    if (c->limits.write_timeout_ms > 0)
        loop_timer_start(loop, &c->sweep, CGI_CONN_SWEEP_MS);
    if (cgi_conn_read_body(c, in_fd) != 0) {
        struct buf out = BUF_INIT;
        http_append_error(&out, http_method_parse(
                          cgi_request_param("REQUEST_METHOD")), 400,
                          "bad request: the body could not be read");
        (void)stream_conn_reply(&c->base, &out);
        buf_free(&out);
        return c;
    }
    c->handler.request(&c->base, c->handler.app_data);
    /* The body is not needed past the request callback (as with FastCGI). */
    buf_free(&c->body);
    return c;
}

void cgi_conn_end_now(struct cgi_conn *c)
{
    (void)cgi_conn_end(&c->base);
}

void cgi_conn_free(struct cgi_conn *c)
{
    if (!c)
        return;
    if (c->watched && loop_io_del(c->loop, &c->io) != 0)
        fprintf(stderr, "stream: epoll_ctl(DEL, stdout): %s\n",
                strerror(errno));
    loop_timer_stop(c->loop, &c->reaper);
    loop_timer_stop(c->loop, &c->sweep);
    buf_free(&c->body);
    buf_free(&c->out);
    free(c);
}
