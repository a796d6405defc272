/* redis_live: the Redis broker's live feed. See redis_live.h. */
#include "redis_live.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "mem.h"
#include "redis_loop.h"
#include "thread.h"


enum redis_live_state { LIVE_OFF, LIVE_CONNECTING, LIVE_CONNECTED, LIVE_WAITING };

static const char *const redis_live_names[] = {
    [LIVE_OFF] = "off", [LIVE_CONNECTING] = "connecting",
    [LIVE_CONNECTED] = "connected", [LIVE_WAITING] = "down",
};

/* One live event: one allocation, the strings after the struct. */
struct redis_live_event {
    struct redis_live_event *next;
    struct broker_event ev;
};

struct redis_live {
    struct redis_url url;
    char target[REDIS_URL_HOST_MAX + 32];
    char channel[48];
    struct loop *loop;
    void (*wake)(void *arg);
    void (*connected)(void *arg);
    void *arg;
    struct redis_loop conn;       /* conn.ac: the Pub/Sub connection */
    int resolve_fd;               /* the resolver thread's answer, -1: none */
    unsigned resolve_turn;        /* failed attempts: picks the address */
    struct loop_io resolve_io;
    enum redis_live_state state;
    struct loop_timer timer;      /* reconnect, or connect deadline */
    unsigned backoff_ms;
    uint64_t reconnects;          /* connections made after the first */
    int ever_connected;
    char error[512];

    struct redis_live_event *q_head, *q_tail;
    size_t q_count;
    long long q_last_id;          /* last id on this connection, 0: none */
    int gap;                      /* the feed may have missed events */
    int wake_pending;
};

void redis_live_channel(int db, char *out, size_t outsz)
{
    snprintf(out, outsz, "sselight:live:%d", db);
}

long long redis_live_parse_id(const char *s, size_t len)
{
    long long v = 0;
    size_t i = 0;
    if (len == 0)
        return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0 || (i < len && s[i] != '-'))
        return -1;
    return v;
}

unsigned redis_live_next_backoff(unsigned ms)
{
    if (ms == 0)
        return REDIS_LIVE_BACKOFF_FIRST_MS;
    return ms * 2 > REDIS_LIVE_BACKOFF_MAX_MS ? REDIS_LIVE_BACKOFF_MAX_MS
                                              : ms * 2;
}

static void redis_live_connect(struct redis_live *r);
static void redis_live_resolve_cancel(struct redis_live *r);

static void redis_queue_clear(struct redis_live *r)
{
    while (r->q_head) {
        struct redis_live_event *e = r->q_head;
        r->q_head = e->next;
        free(e);
    }
    r->q_tail = NULL;
    r->q_count = 0;
}

/* The live connection is gone (or never came): try again after a backoff.
 * Idempotent: hiredis may report one loss through two callbacks. */
static void redis_live_lost(struct redis_live *r, const char *why)
{
    if (r->state == LIVE_WAITING || r->state == LIVE_OFF)
        return;
    if (why)
        snprintf(r->error, sizeof r->error, "%s", why);
    r->resolve_turn++;
    /* One line when it goes, not one per failed retry. */
    if (r->state == LIVE_CONNECTED || !r->backoff_ms)
        fprintf(stderr, "broker: redis at %s: live feed lost (%s); "
                "reconnecting\n", r->target, r->error);
    r->state = LIVE_WAITING;
    r->backoff_ms = redis_live_next_backoff(r->backoff_ms);
    loop_timer_start(r->loop, &r->timer, r->backoff_ms);
}

static void redis_live_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_live *r = ac->data;
    (void)status;
    redis_live_lost(r, ac->errstr[0] ? ac->errstr : "disconnected");
}

static void redis_live_on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_live *r = ac->data;
    if (status != REDIS_OK)
        redis_live_lost(r, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void redis_live_on_auth(redisAsyncContext *ac, void *reply, void *p)
{
    struct redis_live *r = p;
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->error, sizeof r->error, "AUTH refused: %.*s",
                 (int)rep->len, rep->str);
        redisAsyncDisconnect(ac);
    }
}

/* Queues "ID\nCHANNEL\nEVENT\nDATA". */
static void redis_live_message(struct redis_live *r, const char *s,
                               size_t len)
{
    const char *end = s + len, *nl[3], *p = s;
    for (int i = 0; i < 3; i++) {
        nl[i] = memchr(p, '\n', (size_t)(end - p));
        if (!nl[i]) {
            fprintf(stderr, "broker: redis at %s: a live message that is "
                    "not ours; ignored\n", r->target);
            return;
        }
        p = nl[i] + 1;
    }
    long long id = redis_live_parse_id(s, (size_t)(nl[0] - s));
    if (id <= 0)
        return;
    if (r->q_last_id && id != r->q_last_id + 1)
        r->gap = 1; /* ids are consecutive: some did not reach us */
    r->q_last_id = id;
    if (r->q_count >= REDIS_LIVE_QUEUE_MAX) {
        /* Nobody reads them: drop them and catch up from the streams. */
        redis_queue_clear(r);
        r->gap = 1;
    }
    size_t clen = (size_t)(nl[1] - nl[0] - 1);
    size_t elen = (size_t)(nl[2] - nl[1] - 1);
    size_t dlen = (size_t)(end - nl[2] - 1);
    struct redis_live_event *e =
        mem_calloc(1, sizeof *e + clen + 1 + elen + 1 + dlen + 1);
    char *q = (char *)(e + 1);
    memset(&e->ev, 0, sizeof e->ev);
    e->next = NULL;
    e->ev.id = id;
    e->ev.channel = q;
    memcpy(q, nl[0] + 1, clen);
    q[clen] = '\0';
    q += clen + 1;
    e->ev.event = q;
    memcpy(q, nl[1] + 1, elen);
    q[elen] = '\0';
    q += elen + 1;
    e->ev.data = q;
    e->ev.data_len = dlen;
    memcpy(q, nl[2] + 1, dlen);
    q[dlen] = '\0';
    if (r->q_tail)
        r->q_tail->next = e;
    else
        r->q_head = e;
    r->q_tail = e;
    r->q_count++;
    r->wake_pending = 1;
}

static void redis_live_on_reply(redisAsyncContext *ac, void *reply, void *p)
{
    (void)ac;
    struct redis_live *r = p;
    redisReply *rep = reply;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return;
    const redisReply *kind = rep->element[0];
    if (strcmp(kind->str, "subscribe") == 0) {
        loop_timer_stop(r->loop, &r->timer);
        if (r->ever_connected)
            r->reconnects++;
        r->ever_connected = 1;
        r->state = LIVE_CONNECTED;
        r->backoff_ms = 0;
        r->error[0] = '\0';
        /* What was published while we were away is in the streams. */
        r->gap = 1;
        r->q_last_id = 0;
        r->wake_pending = 1;
        if (r->connected)
            r->connected(r->arg);
        fprintf(stderr, "broker: redis at %s: live feed connected\n",
                r->target);
    } else if (strcmp(kind->str, "message") == 0 &&
               rep->element[2]->type == REDIS_REPLY_STRING) {
        redis_live_message(r, rep->element[2]->str, rep->element[2]->len);
    }
}

static void redis_live_after_read(void *arg)
{
    struct redis_live *r = arg;
    if (r->wake_pending && r->wake) {
        r->wake_pending = 0;
        r->wake(r->arg);
    }
}

static void redis_live_on_timer(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct redis_live *r = (struct redis_live *)(void *)(
        (char *)t - offsetof(struct redis_live, timer));
    if (r->state == LIVE_WAITING) {
        redis_live_connect(r);
        return;
    }
    if (r->state == LIVE_CONNECTING) {
        /* No subscription within the deadline: give up on this one. */
        snprintf(r->error, sizeof r->error,
                 "no answer within %d ms", BROKER_REDIS_TIMEOUT_MS);
        redis_live_resolve_cancel(r);
        if (r->conn.ac)
            redisAsyncFree(r->conn.ac);
        redis_live_lost(r, NULL);
    }
}

/* ---- host names: resolved on a thread, never on the loop ----
 * getaddrinfo can wait seconds for a DNS server, and hiredis calls it in
 * redisAsyncConnect. So a host name is resolved on a short-lived detached
 * thread that sends the address as text (or "!" and the reason) over a
 * socketpair and ends; the loop then connects to that numeric address,
 * which getaddrinfo turns into a sockaddr without asking anyone. When the
 * connect deadline passes first, the loop closes its end and the thread's
 * answer goes nowhere. */

struct redis_resolve_job {
    int fd;
    unsigned turn;  /* which of the name's addresses: turn mod their count */
    char host[REDIS_URL_HOST_MAX + 1];
};

static void *redis_live_resolve_main(void *arg)
{
    struct redis_resolve_job *job = arg;
    char msg[REDIS_URL_HOST_MAX + 128];
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(job->host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(msg, sizeof msg, "!cannot resolve %s: %s", job->host,
                 rc ? gai_strerror(rc) : "no address");
    } else {
        /* Like hiredis, which tries the addresses in turn: each failed
         * attempt moves on to the next one ("localhost" may give ::1 for
         * a server that listens on 127.0.0.1 only). */
        unsigned n = 0;
        for (const struct addrinfo *a = res; a; a = a->ai_next)
            n++;
        const struct addrinfo *pick = res;
        for (unsigned i = job->turn % n; i > 0; i--)
            pick = pick->ai_next;
        const void *addr = pick->ai_family == AF_INET6
            ? (const void *)&((const struct sockaddr_in6 *)(const void *)
                                  pick->ai_addr)->sin6_addr
            : (const void *)&((const struct sockaddr_in *)(const void *)
                                  pick->ai_addr)->sin_addr;
        if (!inet_ntop(pick->ai_family, addr, msg, sizeof msg))
            snprintf(msg, sizeof msg, "!cannot resolve %s: %s", job->host,
                     strerror(errno));
    }
    if (res)
        freeaddrinfo(res);
    /* A failed send means the loop gave up on this attempt. */
    (void)!send(job->fd, msg, strlen(msg), MSG_NOSIGNAL);
    (void)close(job->fd);
    free(job);
    return NULL;
}

static int redis_live_is_numeric(const char *host)
{
    unsigned char a[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static void redis_live_resolve_cancel(struct redis_live *r)
{
    if (r->resolve_fd < 0)
        return;
    if (loop_io_del(r->loop, &r->resolve_io) != 0)
        fprintf(stderr, "broker: redis at %s: loop_io_del: %s\n", r->target,
                strerror(errno));
    if (close(r->resolve_fd) != 0)
        fprintf(stderr, "broker: redis at %s: close: %s\n", r->target,
                strerror(errno));
    r->resolve_fd = -1;
}

static void redis_live_connect_to(struct redis_live *r, const char *addr);

static void redis_live_on_resolved(struct loop *loop, struct loop_io *io,
                                   uint32_t events)
{
    (void)loop;
    (void)events;
    struct redis_live *r = (struct redis_live *)(void *)(
        (char *)io - offsetof(struct redis_live, resolve_io));
    char msg[REDIS_URL_HOST_MAX + 128];
    ssize_t n = recv(r->resolve_fd, msg, sizeof msg - 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    redis_live_resolve_cancel(r);
    if (n <= 0) {
        redis_live_lost(r, "the resolver thread gave no answer");
        return;
    }
    msg[n] = '\0';
    if (msg[0] == '!') {
        redis_live_lost(r, msg + 1);
        return;
    }
    redis_live_connect_to(r, msg);
}

/* Starts resolving the URL's host name; the connect follows from
 * redis_live_on_resolved. */
static void redis_live_resolve(struct redis_live *r)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(r->error, sizeof r->error, "socketpair: %s", strerror(errno));
        redis_live_lost(r, NULL);
        return;
    }
    struct redis_resolve_job *job = mem_calloc(1, sizeof *job);
    job->fd = sv[1];
    job->turn = r->resolve_turn;
    snprintf(job->host, sizeof job->host, "%s", r->url.host);
    r->resolve_fd = sv[0];
    if (loop_io_add(r->loop, &r->resolve_io, sv[0], EPOLLIN,
                    redis_live_on_resolved) != 0) {
        snprintf(r->error, sizeof r->error, "loop_io_add: %s", strerror(errno));
        (void)close(sv[0]);
        (void)close(sv[1]);
        free(job);
        r->resolve_fd = -1;
        redis_live_lost(r, NULL);
        return;
    }
    int rc = thread_start_quiet(NULL, 1, redis_live_resolve_main, job);
    if (rc != 0) {
        snprintf(r->error, sizeof r->error, "cannot start a resolver thread: %s",
                 strerror(rc));
        (void)close(sv[1]);
        free(job);
        redis_live_resolve_cancel(r);
        redis_live_lost(r, NULL);
    }
}

static void redis_live_connect(struct redis_live *r)
{
    r->state = LIVE_CONNECTING;
    loop_timer_start(r->loop, &r->timer, BROKER_REDIS_TIMEOUT_MS);
    if (r->url.path[0] || redis_live_is_numeric(r->url.host))
        redis_live_connect_to(r, r->url.path[0] ? NULL : r->url.host);
    else
        redis_live_resolve(r);
}

/* Connects to addr (a numeric address; NULL: the URL's unix socket) and
 * subscribes. */
static void redis_live_connect_to(struct redis_live *r, const char *addr)
{
    redisAsyncContext *ac = !addr ? redisAsyncConnectUnix(r->url.path)
                                  : redisAsyncConnect(addr, r->url.port);
    if (!ac || ac->err) {
        snprintf(r->error, sizeof r->error, "%s",
                 ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        redis_live_lost(r, NULL);
        return;
    }
    ac->data = r;
    r->conn.after_read = redis_live_after_read;
    r->conn.arg = r;
    if (redis_loop_attach(&r->conn, r->loop, ac) != 0 ||
        redisAsyncSetConnectCallback(ac, redis_live_on_connect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, redis_live_on_disconnect) !=
            REDIS_OK) {
        redisAsyncFree(ac);
        redis_live_lost(r, "cannot set up the connection");
        return;
    }
    if (!r->url.path[0])
        (void)redisEnableKeepAlive(&ac->c);
    int rc = REDIS_OK;
    if (r->url.password[0])
        rc = r->url.user[0]
                 ? redisAsyncCommand(ac, redis_live_on_auth, r, "AUTH %s %s",
                                     r->url.user, r->url.password)
                 : redisAsyncCommand(ac, redis_live_on_auth, r, "AUTH %s",
                                     r->url.password);
    if (rc == REDIS_OK)
        rc = redisAsyncCommand(ac, redis_live_on_reply, r, "SUBSCRIBE %s",
                               r->channel);
    if (rc != REDIS_OK) {
        redisAsyncFree(ac);
        redis_live_lost(r, "cannot queue SUBSCRIBE");
    }
}


void redis_live_start(struct redis_live *r, struct loop *loop,
                      void (*wake)(void *arg), void (*connected)(void *arg),
                      void *arg)
{
    r->loop = loop;
    r->wake = wake;
    r->connected = connected;
    r->arg = arg;
    loop_timer_init(&r->timer, redis_live_on_timer);
    redis_live_connect(r);
}

long redis_live_read(struct redis_live *r, long long after, size_t limit,
                     broker_event_fn *fn, void *arg)
{
    if (r->gap) {
        r->gap = 0;
        return BROKER_GAP;
    }
    long n = 0;
    while (r->q_head && (size_t)n < limit) {
        struct redis_live_event *e = r->q_head;
        r->q_head = e->next;
        if (!r->q_head)
            r->q_tail = NULL;
        r->q_count--;
        int stop = 0;
        if (e->ev.id > after) {
            n++;
            stop = fn(&e->ev, arg) != 0;
        }
        free(e);
        if (stop)
            break;
    }
    return n;
}

struct redis_live *redis_live_new(const struct redis_url *url,
                                  const char *target)
{
    struct redis_live *r = mem_calloc(1, sizeof *r);
    r->resolve_fd = -1;
    r->url = *url;
    snprintf(r->target, sizeof r->target, "%s", target);
    redis_live_channel(url->db, r->channel, sizeof r->channel);
    return r;
}

void redis_live_note_error(struct redis_live *r, const char *why)
{
    snprintf(r->error, sizeof r->error, "%s", why);
}

/* Appends s as a JSON string. A socket path or a server's error text may
 * hold anything; URL parsing already refused control characters. */
static void redis_live_json_string(struct buf *out, const char *s)
{
    buf_append_byte(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
            buf_appendf(out, "\\u%04x", c);
        else
            buf_append_byte(out, (char)c);
    }
    buf_append_byte(out, '"');
}

void redis_live_health_json(const struct redis_live *r, struct buf *out)
{
    buf_append_str(out, ",\"target\":");
    redis_live_json_string(out, r->target);
    buf_appendf(out, ",\"live\":\"%s\",\"reconnects\":%llu,\"queued\":%zu,"
                "\"error\":", redis_live_names[r->state],
                (unsigned long long)r->reconnects, r->q_count);
    redis_live_json_string(out, r->state == LIVE_CONNECTED ? "" : r->error);
}

void redis_live_health(const struct redis_live *r, int *up,
                       uint64_t *reconnects)
{
    *up = r->state == LIVE_CONNECTED;
    *reconnects = r->reconnects;
}

void redis_live_free(struct redis_live *r)
{
    if (!r)
        return;
    if (r->loop)
        loop_timer_stop(r->loop, &r->timer);
    r->state = LIVE_OFF; /* no reconnect from the callbacks below */
    if (r->loop)
        redis_live_resolve_cancel(r);
    if (r->conn.ac)
        redisAsyncFree(r->conn.ac);
    redis_queue_clear(r);
    free(r);
}
