/*
 * sse_load: a load client for SSE servers (loopback only).
 *
 *   sse_load --port P --sub-path /events/CH --pub-path /events/CH
 *            -n N -m M -r R [--timeout S] [--drain D] [--connect-rate C]
 *            [--sub-header 'Accept: text/event-stream']
 *            [--publishers K] [--events-out FILE] [--channels K]
 *
 * Opens N subscriber connections to 127.0.0.1:P (at most C new connections
 * per second, default 2000), each sending an HTTP/1.0 GET for --sub-path.
 * Once all are established (status 200 and the end of the headers), or
 * 10 s after the last connect for stragglers (which are then closed and
 * counted in sub_errors), it publishes M messages at R per second, each a
 * POST to --pub-path on a new connection whose body is
 * "<CLOCK_REALTIME microseconds> <sequence number>". Subscribers parse the
 * SSE stream; each event whose data parses that way is a delivery with
 * latency = receive time - send time. It stops when every established
 * subscriber still open has every successful publish, --drain D seconds
 * (default 5) after the last publish, or at --timeout S (default 120)
 * overall, and prints one JSON line on stdout. Progress goes to stderr.
 *
 * --sub-header H (repeatable) gives the subscriber request's header lines
 * besides Host; the default is the one line "Accept: text/event-stream".
 *
 * --pub-header H adds one header line to every POST (an Authorization
 * header, say). --pub-form PREFIX sends the body as a form instead:
 * PREFIX followed by the stamp with '+' for its space ("topic=t&data=" for
 * a Mercure hub), Content-Type application/x-www-form-urlencoded.
 *
 * --publishers K: instead of one new connection per publish at R per
 * second, K keep-alive HTTP/1.1 connections publish the M messages between
 * them, each sending its next POST as soon as the answer to its previous
 * one is complete (as fast as the server answers; -r is then not needed).
 * The JSON adds the round trip of each POST (rtt_p50_ms, rtt_p99_ms,
 * rtt_max_ms) and pub_per_s, the publishes answered 2xx per second from the
 * first POST sent to the last answer.
 *
 * --events-out FILE writes one line per event a subscriber receives:
 * "d SUB SEQ SEND_US RECV_US" for a message of this run (a delivery, first
 * copy only) and "e SUB RECV_US" for any other event (the ticks of
 * /streams/ticks, say), times in CLOCK_REALTIME microseconds. With -m 0
 * nothing is published and the run lasts --drain seconds after every
 * subscriber is established: a way to record a demo stream's timing.
 *
 * --channels K: subscriber i asks for --sub-path with "i mod K" appended
 * (--sub-path /events/c gives /events/c0 ... /events/cK-1): K channels, for
 * load spread over many channels. Messages still go to --pub-path only.
 *
 * --port may be given up to 8 times, for several server instances that
 * share a broker: subscriber i connects to port i mod P and publish k goes
 * to port k mod P (so publishes alternate between the instances), and the
 * JSON adds per_port counts and the latency of deliveries on the instance
 * that took the publish (local_*) and on the others (cross_*).
 *
 * A subscriber that gets the same message twice counts it once in
 * "delivered" and once in "duplicates" (when N x M fits a 64 MiB bitmap);
 * "out_of_order" counts messages received after a later-numbered one (the
 * POSTs do not wait for each other, so this is arrival order against send
 * order); "orders" is how many different arrival orders the subscribers
 * that got every message saw (1: all saw the same order). "client_cpu_s"
 * is this process's user + system time.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 \
 *            -o sse_load bench/sse_load.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SUB_LINE_CAP 1024   /* carry-over of a partial line, per subscriber */
#define PUB_LINE_CAP 128    /* a publisher only parses the status line */
#define DATA_CAP 64         /* "<usec> <seq>" is about 25 bytes */
#define MAX_EVENTS 1024
#define STRAGGLER_US 10000000LL
#define MAX_SUB_HEADERS 16
#define ERROR_REPORTS 5     /* error messages printed per kind, then quiet */
#define MAX_PORTS 8
#define SEEN_MAX_BYTES (64u << 20)

enum ctype { C_SUB, C_PUB, C_KPUB };
enum cstate { S_CONNECTING, S_SENDING, S_STATUS, S_HEADERS, S_BODY, S_CLOSED };
enum dstate { D_NONE, D_OK, D_BAD };
/* how a keep-alive publisher reads the body of an answer */
enum bmode { B_LENGTH, B_CHUNK_SIZE, B_CHUNK_DATA, B_CHUNK_END, B_TRAILER };

struct conn {
    int fd;
    uint8_t type;
    uint8_t state;
    uint8_t line_over;      /* the current line is longer than the carry buffer */
    uint8_t data_state;     /* enum dstate, for the event being collected */
    uint8_t data_len;
    uint8_t pub_result;     /* publisher: result already counted */
    uint8_t port_ix;        /* index into opt_ports */
    uint16_t line_len;
    uint16_t line_cap;
    uint32_t id;            /* subscriber index or publish sequence number */
    uint32_t count;         /* subscriber: deliveries (distinct messages) */
    uint32_t max_seq1;      /* subscriber: highest sequence number seen + 1 */
    uint64_t order_hash;    /* subscriber: hash of the arrival order */
    uint8_t body_mode;      /* keep-alive publisher: enum bmode */
    uint8_t close_after;    /* keep-alive publisher: "Connection: close" seen */
    int status;             /* keep-alive publisher: status of this answer */
    int64_t body_left;      /* keep-alive publisher: bytes of body or chunk left */
    int64_t sent_mono;      /* keep-alive publisher: when this POST was sent */
    size_t out_off;
    size_t out_len;
    char *out;              /* request bytes (shared for subscribers) */
    char *line;
    char data[DATA_CAP];
};

/* options */
static int opt_ports[MAX_PORTS];
static int opt_nports;
static const char *opt_sub_path;
static const char *opt_pub_path;
static const char *opt_pub_header;   /* --pub-header, or NULL */
static const char *opt_pub_form;     /* --pub-form prefix, or NULL */
static long opt_n = -1;
static long opt_m = -1;
static double opt_rate = -1;
static double opt_timeout = 120;
static double opt_connect_rate = 2000;
static double opt_drain = 5;
static const char *opt_sub_headers[MAX_SUB_HEADERS];
static int opt_sub_header_count;
static long opt_publishers;         /* 0: one connection per publish at -r */
static const char *opt_events_out;
static long opt_channels;           /* 0: every subscriber on --sub-path */

/* state */
static int epfd = -1;
static struct sockaddr_in server_addrs[MAX_PORTS];
static char rbuf[65536];
static struct conn *subs;
static char *sub_lines;
static char *sub_request;
static size_t sub_request_len;
static struct conn **pubs;
static struct conn **kpubs;         /* --publishers: the keep-alive connections */
static FILE *events_out;
static int64_t last_answer_mono = -1;
static int64_t run_start_real;

static long subs_started, established, sub_errors, subs_open_est, subs_pending;
static long pubs_started, pubs_done, published, publish_errors;
static long delivered;
static int publishing;     /* the publish phase has begun */
static int64_t first_sent_mono = -1, last_sent_mono = -1;

struct latv {
    uint32_t *v;
    size_t len, cap;
};
static struct latv lat, lat_local, lat_cross;   /* microseconds */
static struct latv lat_rtt;         /* --publishers: POST round trips, microseconds */
static uint8_t *seen;       /* N x M bits: subscriber i has message seq */
static long duplicates, out_of_order;
static long port_est[MAX_PORTS], port_sub_errors[MAX_PORTS];
static long port_published[MAX_PORTS], port_delivered[MAX_PORTS];

static long reports_sub, reports_pub;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sse_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        die("clock_gettime: %s", strerror(errno));
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static int64_t mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
static int64_t real_us(void) { return clock_us(CLOCK_REALTIME); }

static void report(long *counter, const char *fmt, ...)
{
    if (++*counter > ERROR_REPORTS)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("sse_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    if (*counter == ERROR_REPORTS)
        fputs(" (further errors of this kind not shown)", stderr);
    fputc('\n', stderr);
    va_end(ap);
}

static void close_fd(int fd)
{
    /* Linux closes the fd even when close() fails (EINTR included), so a
     * failure is reported and never retried. */
    if (close(fd) != 0)
        fprintf(stderr, "sse_load: close: %s\n", strerror(errno));
}

static void lat_push(struct latv *l, int64_t us)
{
    if (us < 0)
        us = 0;
    if (us > (int64_t)UINT32_MAX)
        us = UINT32_MAX;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 65536;
        uint32_t *p = realloc(l->v, cap * sizeof *p);
        if (!p)
            die("out of memory for %zu latencies", cap);
        l->v = p;
        l->cap = cap;
    }
    l->v[l->len++] = (uint32_t)us;
}

/* ---- connection lifecycle ---- */

static void sub_fail(struct conn *c, const char *what, int err)
{
    if (c->state == S_CLOSED)
        return;
    report(&reports_sub, "subscriber %" PRIu32 ": %s%s%s", c->id, what,
           err ? ": " : "", err ? strerror(err) : "");
    int was_est = c->state == S_BODY;
    close_fd(c->fd);
    c->fd = -1;
    c->state = S_CLOSED;
    sub_errors++;
    port_sub_errors[c->port_ix]++;
    if (was_est)
        subs_open_est--;
    else
        subs_pending--;
}

static void pub_count(struct conn *c, int ok)
{
    if (c->pub_result)
        return;
    c->pub_result = 1;
    pubs_done++;
    if (ok) {
        published++;
        port_published[c->port_ix]++;
    } else {
        publish_errors++;
    }
}

static void pub_close(struct conn *c, int ok, const char *what, int err)
{
    if (!c->pub_result && !ok)
        report(&reports_pub, "publish %" PRIu32 ": %s%s%s", c->id, what,
               err ? ": " : "", err ? strerror(err) : "");
    pub_count(c, ok);
    if (c->fd >= 0)
        close_fd(c->fd);
    pubs[c->id] = NULL;
    free(c->out);
    free(c);
}

static void kpub_close(struct conn *c, const char *what, int err);
static char *build_sub_request(const char *suffix, size_t *out_len);
static int kpub_answered(struct conn *c);
static int kpub_line(struct conn *c, const char *s, size_t len);

static void conn_fail(struct conn *c, const char *what, int err)
{
    if (c->type == C_SUB)
        sub_fail(c, what, err);
    else if (c->type == C_KPUB)
        kpub_close(c, what, err);
    else
        pub_close(c, 0, what, err);
}

/* Starts a non-blocking connect; returns 0, or an errno value. */
static int start_connect(struct conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    const struct sockaddr_in *sa = &server_addrs[c->port_ix];
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 &&
        errno != EINPROGRESS && errno != EINTR) {
        int e = errno;
        close_fd(fd);
        return e;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int e = errno;
        close_fd(fd);
        return e;
    }
    c->fd = fd;
    c->state = S_CONNECTING;
    return 0;
}

static void start_sub(long i)
{
    struct conn *c = &subs[i];
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->type = C_SUB;
    c->id = (uint32_t)i;
    c->port_ix = (uint8_t)(i % opt_nports);
    c->line = sub_lines + (size_t)i * SUB_LINE_CAP;
    c->line_cap = SUB_LINE_CAP;
    if (opt_channels > 0) {
        char suffix[24];
        snprintf(suffix, sizeof suffix, "%ld", i % opt_channels);
        c->out = build_sub_request(suffix, &c->out_len);
    } else {
        c->out = sub_request;
        c->out_len = sub_request_len;
    }
    subs_started++;
    subs_pending++;
    int e = start_connect(c);
    if (e) {
        report(&reports_sub, "subscriber %ld: connect: %s", i, strerror(e));
        c->state = S_CLOSED;
        sub_errors++;
        subs_pending--;
    }
}

static void start_pub(long seq)
{
    struct conn *c = calloc(1, sizeof *c + PUB_LINE_CAP);
    if (!c)
        die("out of memory");
    c->fd = -1;
    c->type = C_PUB;
    c->id = (uint32_t)seq;
    c->port_ix = (uint8_t)(seq % opt_nports);
    c->line = (char *)(c + 1);
    c->line_cap = PUB_LINE_CAP;
    pubs[seq] = c;
    pubs_started++;
    int e = start_connect(c);
    if (e)
        pub_close(c, 0, "connect", e);
}

/* The publish request, stamped with the time it is written: HTTP/1.0 for a
 * connection of its own, HTTP/1.1 (kept alive) for --publishers. */
static int build_pub_request(struct conn *c)
{
    char body[4200];
    int bl = snprintf(body, sizeof body, "%s%" PRId64 "%s%" PRIu32,
                      opt_pub_form ? opt_pub_form : "", real_us(),
                      opt_pub_form ? "+" : " ", c->id);
    if (bl < 0 || (size_t)bl >= sizeof body)
        return -1;
    size_t cap = strlen(opt_pub_path) + (size_t)bl + 256 +
                 (opt_pub_header ? strlen(opt_pub_header) + 2 : 0);
    c->out = malloc(cap);
    if (!c->out)
        die("out of memory");
    int n = snprintf(c->out, cap,
                     "POST %s HTTP/1.%d\r\nHost: 127.0.0.1\r\n%s%s"
                     "Content-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
                     opt_pub_path, c->type == C_KPUB,
                     opt_pub_header ? opt_pub_header : "",
                     opt_pub_header ? "\r\n" : "",
                     opt_pub_form ? "application/x-www-form-urlencoded"
                                  : "text/plain", bl, body);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    c->out_len = (size_t)n;
    int64_t now = mono_us();
    if (first_sent_mono < 0)
        first_sent_mono = now;
    last_sent_mono = now;
    c->sent_mono = now;
    return 0;
}

/* ---- parsing ---- */

static int parse_status(const char *s, size_t len)
{
    /* "HTTP/1.x NNN ..." */
    if (len < 12 || memcmp(s, "HTTP/", 5) != 0)
        return -1;
    const char *sp = memchr(s, ' ', len);
    if (!sp || (size_t)(sp - s) + 4 > len)
        return -1;
    int code = 0;
    for (int i = 1; i <= 3; i++) {
        char ch = sp[i];
        if (ch < '0' || ch > '9')
            return -1;
        code = code * 10 + (ch - '0');
    }
    return code;
}

/* "<usec> <seq>" with usec within the run and seq below M. */
static int parse_payload(const char *s, size_t len, int64_t *usec, long *seq)
{
    size_t i = 0;
    uint64_t u = 0, q = 0;
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 18)
        u = u * 10 + (uint64_t)(s[i++] - '0');
    if (i == start || i >= len || s[i] != ' ')
        return -1;
    start = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 18)
        q = q * 10 + (uint64_t)(s[i++] - '0');
    if (i == start || i != len)
        return -1;
    if ((int64_t)u < run_start_real || q >= (uint64_t)opt_m)
        return -1;
    *usec = (int64_t)u;
    *seq = (long)q;
    return 0;
}

/* Marks message seq as received by subscriber c; 1 when it already was. */
static int seen_before(const struct conn *c, long seq)
{
    if (!seen)
        return 0;
    size_t bit = (size_t)c->id * (size_t)opt_m + (size_t)seq;
    uint8_t mask = (uint8_t)(1u << (bit % 8));
    if (seen[bit / 8] & mask)
        return 1;
    seen[bit / 8] |= mask;
    return 0;
}

static void dispatch_event(struct conn *c, int64_t now_real)
{
    int64_t usec;
    long seq;
    if (c->data_state == D_OK && parse_payload(c->data, c->data_len, &usec, &seq) == 0) {
        if (seen_before(c, seq)) {
            duplicates++;
            c->data_state = D_NONE;
            c->data_len = 0;
            return;
        }
        c->order_hash = (c->order_hash ^ (uint64_t)(seq + 1)) * 0x100000001b3ULL;
        if ((uint32_t)seq + 1 < c->max_seq1)
            out_of_order++;
        else
            c->max_seq1 = (uint32_t)seq + 1;
        lat_push(&lat, now_real - usec);
        if (events_out)
            fprintf(events_out, "d %" PRIu32 " %ld %" PRId64 " %" PRId64 "\n",
                    c->id, seq, usec, now_real);
        if (opt_nports > 1)
            lat_push(seq % opt_nports == c->port_ix ? &lat_local : &lat_cross, now_real - usec);
        c->count++;
        delivered++;
        port_delivered[c->port_ix]++;
    } else if (events_out && c->data_state != D_NONE) {
        fprintf(events_out, "e %" PRIu32 " %" PRId64 "\n", c->id, now_real);
    }
    c->data_state = D_NONE;
    c->data_len = 0;
}

/* One SSE line of an established subscriber (CR already removed). */
static void sse_line(struct conn *c, const char *s, size_t len, int over, int64_t now_real)
{
    if (len == 0 && !over) {
        dispatch_event(c, now_real);
        return;
    }
    if (s[0] == ':')
        return;
    const char *colon = memchr(s, ':', len);
    size_t nlen = colon ? (size_t)(colon - s) : len;
    if (nlen != 4 || memcmp(s, "data", 4) != 0)
        return;     /* event:, id:, retry: and unknown fields */
    const char *v = colon ? colon + 1 : s + len;
    size_t vlen = len - (size_t)(v - s);
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }
    if (over || c->data_state != D_NONE || vlen > DATA_CAP) {
        c->data_state = D_BAD;   /* several data lines or a long one: not ours */
        return;
    }
    memcpy(c->data, v, vlen);
    c->data_len = (uint8_t)vlen;
    c->data_state = D_OK;
}

/* One complete line; returns -1 when the connection was closed. */
static int handle_line(struct conn *c, const char *s, size_t len, int over, int64_t now_real)
{
    if (!over && len && s[len - 1] == '\r')
        len--;
    if (c->type == C_KPUB)
        return kpub_line(c, s, len);
    switch (c->state) {
    case S_STATUS: {
        int code = parse_status(s, len);
        if (c->type == C_PUB) {
            pub_count(c, code >= 200 && code <= 299);
            if (!(code >= 200 && code <= 299))
                report(&reports_pub, "publish %" PRIu32 ": status %d", c->id, code);
            c->state = S_BODY;   /* the rest is read and discarded */
            return 0;
        }
        if (code != 200) {
            char what[48];
            snprintf(what, sizeof what, "status %d", code);
            sub_fail(c, what, 0);
            return -1;
        }
        c->state = S_HEADERS;
        return 0;
    }
    case S_HEADERS:
        if (len == 0 && !over) {
            c->state = S_BODY;
            established++;
            port_est[c->port_ix]++;
            subs_pending--;
            subs_open_est++;
        }
        return 0;
    case S_BODY:
        sse_line(c, s, len, over, now_real);
        return 0;
    default:
        return 0;
    }
}

/* Splits bytes into lines, carrying a partial line over (at most line_cap
 * bytes of it are kept). Returns -1 when the connection was closed. */
static int feed(struct conn *c, const char *p, size_t n, int64_t now_real)
{
    while (n > 0) {
        if (c->type == C_PUB && c->state == S_BODY)
            return 0;    /* publisher: status seen, discard */
        if (c->type == C_KPUB && c->state == S_BODY &&
            (c->body_mode == B_LENGTH || c->body_mode == B_CHUNK_DATA)) {
            size_t take = (uint64_t)c->body_left < n ? (size_t)c->body_left : n;
            c->body_left -= (int64_t)take;
            p += take;
            n -= take;
            if (c->body_left == 0) {
                if (c->body_mode == B_LENGTH)
                    return kpub_answered(c);   /* bytes after it are not ours */
                c->body_mode = B_CHUNK_END;
            }
            continue;
        }
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        if (nl && c->line_len == 0 && !c->line_over) {
            if (handle_line(c, p, seg, 0, now_real) < 0)
                return -1;
        } else {
            size_t room = c->line_cap - c->line_len;
            size_t take = seg < room ? seg : room;
            memcpy(c->line + c->line_len, p, take);
            c->line_len = (uint16_t)(c->line_len + take);
            if (take < seg)
                c->line_over = 1;
            if (nl) {
                int r = handle_line(c, c->line, c->line_len, c->line_over, now_real);
                c->line_len = 0;
                c->line_over = 0;
                if (r < 0)
                    return -1;
            }
        }
        if (!nl)
            break;
        p += seg + 1;
        n -= seg + 1;
    }
    return 0;
}

/* ---- keep-alive publishers (--publishers) ---- */

static void start_kpub(long i)
{
    struct conn *c = calloc(1, sizeof *c + PUB_LINE_CAP);
    if (!c)
        die("out of memory");
    c->fd = -1;
    c->type = C_KPUB;
    c->line = (char *)(c + 1);
    c->line_cap = PUB_LINE_CAP;
    kpubs[i] = c;
    int e = start_connect(c);
    if (e)
        kpub_close(c, "connect", e);
}

/* Closes a keep-alive publisher for good; the POST in flight, if any, is
 * an error. */
static void kpub_close(struct conn *c, const char *what, int err)
{
    if (c->state == S_CLOSED)
        return;
    if (c->out) {
        report(&reports_pub, "publish %" PRIu32 ": %s%s%s", c->id, what,
               err ? ": " : "", err ? strerror(err) : "");
        pubs_done++;
        publish_errors++;
        free(c->out);
        c->out = NULL;
    }
    if (c->fd >= 0)
        close_fd(c->fd);
    c->fd = -1;
    c->state = S_CLOSED;
}

/* Takes the next message for a keep-alive publisher and builds its POST;
 * -1 (connection closed) when all M are taken. */
static int kpub_next(struct conn *c)
{
    if (pubs_started >= opt_m) {
        kpub_close(c, NULL, 0);
        return -1;
    }
    c->id = (uint32_t)pubs_started++;
    c->out_off = c->out_len = 0;
    c->status = 0;
    c->body_mode = B_LENGTH;
    c->body_left = 0;
    c->close_after = 0;
    c->data_state = 0;      /* here: 1 when the answer has Content-Length */
    c->line_len = 0;
    c->line_over = 0;
    if (build_pub_request(c) != 0) {
        kpub_close(c, "request too long", 0);
        return -1;
    }
    return 0;
}

static int do_send(struct conn *c);

/* The answer to a keep-alive POST is complete: counts it and sends the
 * next one on the same connection (or a new one after "Connection:
 * close"). Returns -1 when the connection was closed or replaced. */
static int kpub_answered(struct conn *c)
{
    int64_t now = mono_us();
    pubs_done++;
    if (c->status >= 200 && c->status <= 299) {
        published++;
        port_published[c->port_ix]++;
    } else {
        publish_errors++;
        report(&reports_pub, "publish %" PRIu32 ": status %d", c->id, c->status);
    }
    lat_push(&lat_rtt, now - c->sent_mono);
    last_answer_mono = now;
    free(c->out);
    c->out = NULL;
    if (c->close_after) {
        close_fd(c->fd);
        c->fd = -1;
        c->state = S_CLOSED;
        if (pubs_started >= opt_m)
            return -1;
        int e = start_connect(c);
        if (e) {
            report(&reports_pub, "publisher reconnect: %s", strerror(e));
            c->state = S_CLOSED;
        }
        return -1;
    }
    c->state = S_SENDING;
    do_send(c);
    return -1;
}

/* The value of header line s when its name is name (any case), else NULL. */
static const char *header_value(const char *s, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    if (len <= nl || s[nl] != ':' || strncasecmp(s, name, nl) != 0)
        return NULL;
    const char *v = s + nl + 1, *end = s + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    *vlen = (size_t)(end - v);
    return v;
}

/* One line of a keep-alive publisher's answer: the status line, a header,
 * a chunk size, the end of a chunk or a trailer. Returns -1 when the
 * connection was closed or moved on to its next POST. */
static int kpub_line(struct conn *c, const char *s, size_t len)
{
    size_t vl;
    const char *v;
    switch (c->state) {
    case S_STATUS:
        c->status = parse_status(s, len);
        if (c->status < 0) {
            kpub_close(c, "bad status line", 0);
            return -1;
        }
        c->state = S_HEADERS;
        return 0;
    case S_HEADERS:
        if (len == 0) {
            if (c->status < 200) {   /* 1xx: the real answer follows */
                c->state = S_STATUS;
                return 0;
            }
            c->state = S_BODY;
            if (c->body_mode == B_LENGTH && !c->data_state) {
                c->body_left = INT64_MAX;   /* until the server closes */
                c->close_after = 1;
            }
            if (c->body_mode == B_LENGTH && c->body_left == 0)
                return kpub_answered(c);
            return 0;
        }
        if ((v = header_value(s, len, "content-length", &vl))) {
            char num[24], *end;
            long long cl = -1;
            if (vl > 0 && vl < sizeof num) {
                memcpy(num, v, vl);
                num[vl] = 0;
                errno = 0;
                cl = strtoll(num, &end, 10);
                if (errno || end == num || *end)
                    cl = -1;
            }
            if (cl < 0) {
                kpub_close(c, "bad Content-Length", 0);
                return -1;
            }
            c->body_left = cl;
            c->data_state = 1;
        } else if ((v = header_value(s, len, "transfer-encoding", &vl))) {
            if (memmem(v, vl, "chunked", 7))
                c->body_mode = B_CHUNK_SIZE;
        } else if ((v = header_value(s, len, "connection", &vl))) {
            if (memmem(v, vl, "close", 5))
                c->close_after = 1;
        }
        return 0;
    case S_BODY:
        switch (c->body_mode) {
        case B_CHUNK_SIZE: {
            char *end;
            char num[24];
            size_t n = len < sizeof num - 1 ? len : sizeof num - 1;
            memcpy(num, s, n);
            num[n] = 0;
            errno = 0;
            long long size = strtoll(num, &end, 16);
            if (errno || end == num || size < 0) {
                kpub_close(c, "bad chunk size", 0);
                return -1;
            }
            if (size == 0) {
                c->body_mode = B_TRAILER;
            } else {
                c->body_mode = B_CHUNK_DATA;
                c->body_left = size;
            }
            return 0;
        }
        case B_CHUNK_END:
            c->body_mode = B_CHUNK_SIZE;
            return 0;
        case B_TRAILER:
            return len == 0 ? kpub_answered(c) : 0;
        default:
            return 0;
        }
    default:
        kpub_close(c, "bytes before the request was sent", 0);
        return -1;
    }
}

/* ---- I/O ---- */

/* Returns -1 when the connection was closed. */
static int do_send(struct conn *c)
{
    if (c->type == C_PUB && !c->out && build_pub_request(c) != 0) {
        pub_close(c, 0, "request too long", 0);
        return -1;
    }
    if (c->type == C_KPUB && !c->out && kpub_next(c) != 0)
        return -1;
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;    /* EPOLLOUT (edge) comes when there is room */
        conn_fail(c, "send", w < 0 ? errno : EPIPE);
        return -1;
    }
    c->state = S_STATUS;
    return 0;
}

/* Edge triggered: reads until EAGAIN, or until a short read when no
 * FIN/error was signalled (later data or a later FIN raises a new edge),
 * which saves one read() per event on each subscriber. */
static void do_read(struct conn *c, uint32_t ev)
{
    for (;;) {
        ssize_t r = read(c->fd, rbuf, sizeof rbuf);
        if (r > 0) {
            int64_t now_real = c->type == C_SUB ? real_us() : 0;
            if (feed(c, rbuf, (size_t)r, now_real) < 0)
                return;
            if ((size_t)r < sizeof rbuf && !(ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                return;
            continue;
        }
        if (r == 0) {
            if (c->type == C_KPUB) {
                if (c->state == S_BODY && c->body_mode == B_LENGTH && !c->data_state) {
                    kpub_answered(c);     /* the body ran until the close */
                } else if (!c->out) {
                    close_fd(c->fd);      /* an idle connection closed: a new one */
                    c->fd = -1;
                    c->state = S_CLOSED;
                    if (pubs_started < opt_m && start_connect(c) != 0)
                        c->state = S_CLOSED;
                } else {
                    kpub_close(c, "closed before the answer ended", 0);
                }
                return;
            }
            if (c->type == C_PUB) {
                if (c->pub_result)
                    pub_close(c, 1, NULL, 0);
                else
                    pub_close(c, 0, "closed before a status line", 0);
            } else {
                sub_fail(c, c->state == S_BODY ? "stream ended" : "closed before the headers ended", 0);
            }
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        conn_fail(c, "read", errno);
        return;
    }
}

static void on_event(struct conn *c, uint32_t ev)
{
    if (c->state == S_CONNECTING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            conn_fail(c, "getsockopt", errno);
            return;
        }
        if (err == EINPROGRESS || err == EINTR)
            return;
        if (err) {
            conn_fail(c, "connect", err);
            return;
        }
        if (!(ev & EPOLLOUT))
            return;
        c->state = S_SENDING;
    }
    if (c->state == S_SENDING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (do_send(c) < 0 || c->state == S_SENDING)
            return;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        do_read(c, ev);
}

/* ---- options ---- */

static void usage(void)
{
    fputs("usage: sse_load --port P [--port P2]... --sub-path PATH --pub-path PATH -n N -m M -r R\n"
          "                [--timeout S] [--drain D] [--connect-rate C] [--sub-header 'Name: value']...\n"
          "                [--publishers K] [--events-out FILE] [--channels K]\n",
          stderr);
    exit(2);
}

static long parse_long(const char *s, const char *name, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        die("%s: expected an integer in %ld..%ld, got '%s'", name, lo, hi, s);
    return v;
}

static double parse_double(const char *s, const char *name, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        die("%s: expected a number in %g..%g, got '%s'", name, lo, hi, s);
    return v;
}

static void check_path(const char *p, const char *name)
{
    if (p[0] != '/')
        die("%s must start with '/'", name);
    for (const char *q = p; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            die("%s must not hold spaces or control characters", name);
    if (strlen(p) > 4096)
        die("%s is too long", name);
}

static void parse_args(int argc, char **argv)
{
    enum { O_PORT = 256, O_SUB, O_PUB, O_TIMEOUT, O_CRATE, O_HDR, O_DRAIN, O_PUBLISHERS,
           O_EVENTS_OUT, O_CHANNELS, O_PUB_HDR, O_PUB_FORM };
    static const struct option lo[] = {
        { "port", required_argument, NULL, O_PORT },
        { "sub-path", required_argument, NULL, O_SUB },
        { "pub-path", required_argument, NULL, O_PUB },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "connect-rate", required_argument, NULL, O_CRATE },
        { "sub-header", required_argument, NULL, O_HDR },
        { "drain", required_argument, NULL, O_DRAIN },
        { "publishers", required_argument, NULL, O_PUBLISHERS },
        { "events-out", required_argument, NULL, O_EVENTS_OUT },
        { "channels", required_argument, NULL, O_CHANNELS },
        { "pub-header", required_argument, NULL, O_PUB_HDR },
        { "pub-form", required_argument, NULL, O_PUB_FORM },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "n:m:r:h", lo, NULL)) != -1) {
        switch (o) {
        case O_PORT:
            if (opt_nports == MAX_PORTS)
                die("at most %d --port options", MAX_PORTS);
            opt_ports[opt_nports++] = (int)parse_long(optarg, "--port", 1, 65535);
            break;
        case O_SUB: opt_sub_path = optarg; break;
        case O_PUB: opt_pub_path = optarg; break;
        case O_PUB_HDR:
            if (strpbrk(optarg, "\r\n") || strlen(optarg) > 8192)
                die("--pub-header must be one line of at most 8192 bytes");
            opt_pub_header = optarg;
            break;
        case O_PUB_FORM:
            if (strpbrk(optarg, "\r\n") || strlen(optarg) > 4096)
                die("--pub-form must be one line of at most 4096 bytes");
            opt_pub_form = optarg;
            break;
        case O_TIMEOUT: opt_timeout = parse_double(optarg, "--timeout", 0.001, 1e7); break;
        case O_CRATE: opt_connect_rate = parse_double(optarg, "--connect-rate", 0.001, 1e9); break;
        case O_DRAIN: opt_drain = parse_double(optarg, "--drain", 0, 1e6); break;
        case O_PUBLISHERS: opt_publishers = parse_long(optarg, "--publishers", 1, 1000); break;
        case O_EVENTS_OUT: opt_events_out = optarg; break;
        case O_CHANNELS: opt_channels = parse_long(optarg, "--channels", 1, 1000000); break;
        case O_HDR:
            if (opt_sub_header_count == MAX_SUB_HEADERS)
                die("at most %d --sub-header options", MAX_SUB_HEADERS);
            for (const char *q = optarg; *q; q++)
                if (*q == '\r' || *q == '\n')
                    die("--sub-header must not hold CR or LF");
            if (strlen(optarg) > 1024)
                die("--sub-header is too long");
            opt_sub_headers[opt_sub_header_count++] = optarg;
            break;
        case 'n': opt_n = parse_long(optarg, "-n", 1, 1000000); break;
        case 'm': opt_m = parse_long(optarg, "-m", 0, 10000000); break;
        case 'r': opt_rate = parse_double(optarg, "-r", 0.001, 1e6); break;
        default: usage();
        }
    }
    if ((opt_publishers > 0 || opt_m == 0) && opt_rate < 0)
        opt_rate = 1;    /* not used: nothing to publish, or as fast as answers come */
    if (optind != argc || opt_nports == 0 || !opt_sub_path || !opt_pub_path ||
        opt_n < 0 || opt_m < 0 || opt_rate < 0)
        usage();
    check_path(opt_sub_path, "--sub-path");
    check_path(opt_pub_path, "--pub-path");
}

/* The subscriber request for the path opt_sub_path + suffix; *len set. */
static char *build_sub_request(const char *suffix, size_t *out_len)
{
    size_t cap = strlen(opt_sub_path) + strlen(suffix) + 128;
    for (int i = 0; i < opt_sub_header_count; i++)
        cap += strlen(opt_sub_headers[i]) + 2;
    char *req = malloc(cap);
    if (!req)
        die("out of memory");
    int n = snprintf(req, cap, "GET %s%s HTTP/1.0\r\nHost: 127.0.0.1\r\n",
                     opt_sub_path, suffix);
    if (n < 0 || (size_t)n >= cap)
        die("snprintf failed");
    size_t len = (size_t)n;
    if (opt_sub_header_count == 0) {
        static const char acc[] = "Accept: text/event-stream\r\n";
        memcpy(req + len, acc, sizeof acc - 1);
        len += sizeof acc - 1;
    }
    for (int i = 0; i < opt_sub_header_count; i++) {
        if (!opt_sub_headers[i][0])
            continue;
        size_t hl = strlen(opt_sub_headers[i]);
        memcpy(req + len, opt_sub_headers[i], hl);
        len += hl;
        memcpy(req + len, "\r\n", 2);
        len += 2;
    }
    memcpy(req + len, "\r\n", 2);
    len += 2;
    *out_len = len;
    return req;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("getrlimit: %s", strerror(errno));
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            die("setrlimit: %s", strerror(errno));
    }
    /* subscribers, some publish connections in flight, stdio, epoll */
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)(opt_n + opt_publishers) + 64 > rl.rlim_cur)
        die("-n %ld needs more file descriptors than RLIMIT_NOFILE allows (%llu)",
            opt_n, (unsigned long long)rl.rlim_cur);
}

/* ---- results ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* nearest rank, of a sorted vector */
static uint32_t percentile(const struct latv *l, double p)
{
    size_t rank = (size_t)((p / 100.0) * (double)l->len + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > l->len)
        rank = l->len;
    return l->v[rank - 1];
}

static void print_ms(const char *key, int have, uint32_t us)
{
    if (have)
        printf(",\"%s\":%.3f", key, us / 1000.0);
    else
        printf(",\"%s\":null", key);
}

/* PREFIXp50_ms, PREFIXp99_ms and (max) PREFIXmax_ms of a vector; sorts it */
static void print_lat(const char *prefix, struct latv *l, int max)
{
    char key[32];
    if (l->len)
        qsort(l->v, l->len, sizeof *l->v, cmp_u32);
    snprintf(key, sizeof key, "%sp50_ms", prefix);
    print_ms(key, l->len > 0, l->len ? percentile(l, 50) : 0);
    snprintf(key, sizeof key, "%sp99_ms", prefix);
    print_ms(key, l->len > 0, l->len ? percentile(l, 99) : 0);
    if (max) {
        snprintf(key, sizeof key, "%smax_ms", prefix);
        print_ms(key, l->len > 0, l->len ? l->v[l->len - 1] : 0);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct arrival orders among the subscribers that got every message. */
static long distinct_orders(void)
{
    uint64_t *h = malloc((size_t)(subs_started ? subs_started : 1) * sizeof *h);
    if (!h)
        die("out of memory");
    size_t n = 0;
    for (long i = 0; i < subs_started; i++)
        if (subs[i].count == (uint32_t)published && published > 0)
            h[n++] = subs[i].order_hash;
    qsort(h, n, sizeof *h, cmp_u64);
    long d = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || h[i] != h[i - 1])
            d++;
    free(h);
    return d;
}

static void print_result(void)
{
    double pub_seconds = first_sent_mono >= 0 ? (last_sent_mono - first_sent_mono) / 1e6 : 0;
    printf("{\"n\":%ld,\"established\":%ld,\"sub_errors\":%ld,\"m\":%ld,\"rate\":%g,"
           "\"published\":%ld,\"publish_errors\":%ld,\"expected\":%ld,\"delivered\":%ld",
           opt_n, established, sub_errors, opt_m, opt_rate, published, publish_errors,
           established * published, delivered);
    print_lat("", &lat, 1);
    printf(",\"pub_seconds\":%.3f", pub_seconds);
    if (opt_publishers > 0) {
        double span = first_sent_mono >= 0 && last_answer_mono > first_sent_mono
                          ? (last_answer_mono - first_sent_mono) / 1e6 : 0;
        printf(",\"publishers\":%ld,\"pub_per_s\":%.1f", opt_publishers,
               span > 0 ? published / span : 0.0);
        print_lat("rtt_", &lat_rtt, 1);
    }
    if (seen)
        printf(",\"duplicates\":%ld", duplicates);
    else
        printf(",\"duplicates\":null");
    printf(",\"out_of_order\":%ld,\"orders\":%ld", out_of_order, distinct_orders());
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        printf(",\"client_cpu_s\":%.2f",
               (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    if (opt_nports > 1) {
        print_lat("local_", &lat_local, 0);
        print_lat("cross_", &lat_cross, 0);
        printf(",\"per_port\":[");
        for (int i = 0; i < opt_nports; i++)
            printf("%s{\"port\":%d,\"subs_est\":%ld,\"subs_err\":%ld,\"pubs_ok\":%ld,\"got\":%ld}",
                   i ? "," : "", opt_ports[i], port_est[i], port_sub_errors[i],
                   port_published[i], port_delivered[i]);
        printf("]");
    }
    printf("}\n");
    if (fflush(stdout) != 0 || ferror(stdout))
        die("writing the result: %s", strerror(errno));
}

/* ---- main loop ---- */

static int all_delivered(void)
{
    for (long i = 0; i < subs_started; i++)
        if (subs[i].state == S_BODY && subs[i].count < (uint64_t)published)
            return 0;
    return 1;
}

static void start_publishing(int64_t now)
{
    long stragglers = 0;
    for (long i = 0; i < subs_started; i++) {
        struct conn *c = &subs[i];
        if (c->state != S_CLOSED && c->state != S_BODY) {
            stragglers++;
            sub_fail(c, "not established within 10 s", 0);
        }
    }
    fprintf(stderr, "sse_load: %ld/%ld established (%ld stragglers closed) at %.1f s; publishing\n",
            established, opt_n, stragglers, now / 1e6);
    publishing = 1;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    raise_nofile();
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal: %s", strerror(errno));
    sub_request = build_sub_request("", &sub_request_len);

    for (int i = 0; i < opt_nports; i++) {
        struct sockaddr_in *sa = &server_addrs[i];
        memset(sa, 0, sizeof *sa);
        sa->sin_family = AF_INET;
        sa->sin_port = htons((uint16_t)opt_ports[i]);
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);   /* 127.0.0.1 only */
    }

    subs = calloc((size_t)opt_n, sizeof *subs);
    sub_lines = malloc((size_t)opt_n * SUB_LINE_CAP);
    pubs = calloc(opt_m ? (size_t)opt_m : 1, sizeof *pubs);
    kpubs = calloc(opt_publishers ? (size_t)opt_publishers : 1, sizeof *kpubs);
    if (!subs || !sub_lines || !pubs || !kpubs)
        die("out of memory");
    if (opt_events_out && !(events_out = fopen(opt_events_out, "w")))
        die("%s: %s", opt_events_out, strerror(errno));
    if (opt_m > 0 && (double)opt_n * (double)opt_m / 8 + 1 <= SEEN_MAX_BYTES) {
        seen = calloc((size_t)opt_n * (size_t)opt_m / 8 + 1, 1);
        if (!seen)
            die("out of memory");
    }

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1: %s", strerror(errno));

    static struct epoll_event events[MAX_EVENTS];
    const int64_t t0 = mono_us();
    run_start_real = real_us() - 1000000;   /* payloads older than this are not ours */
    const int64_t deadline = t0 + (int64_t)(opt_timeout * 1e6);
    const double pub_interval = 1e6 / opt_rate;
    const int64_t drain_us = (int64_t)(opt_drain * 1e6);
    int64_t last_sub_start = t0, pub_t0 = 0, last_pub_attempt = 0, next_progress = t0 + 1000000;
    long last_checked_delivered = -1, last_checked_published = -1;
    const char *why = "timeout";

    for (;;) {
        int64_t now = mono_us();
        if (now >= deadline)
            break;

        /* subscribers, at most C per second since the start */
        if (subs_started < opt_n) {
            double allowed = (double)(now - t0) * opt_connect_rate / 1e6 + 1;
            long target = allowed >= (double)opt_n ? opt_n : (long)allowed;
            while (subs_started < target)
                start_sub(subs_started);
            last_sub_start = now;
        }
        if (!publishing && subs_started == opt_n &&
            (subs_pending == 0 || now - last_sub_start >= STRAGGLER_US)) {
            start_publishing(now - t0);
            pub_t0 = now;
            for (long i = 0; i < opt_publishers && i < opt_m; i++)
                start_kpub(i);
        }
        if (publishing) {
            if (opt_publishers > 0 && last_sent_mono > last_pub_attempt)
                last_pub_attempt = last_sent_mono;
            while (!opt_publishers && pubs_started < opt_m &&
                   now >= pub_t0 + (int64_t)((double)pubs_started * pub_interval)) {
                start_pub(pubs_started);
                last_pub_attempt = now;
            }
            if (pubs_started == opt_m) {
                if (opt_m == 0)
                    last_pub_attempt = pub_t0;
                if (opt_m > 0 && pubs_done == opt_m &&
                    (delivered != last_checked_delivered || published != last_checked_published)) {
                    last_checked_delivered = delivered;
                    last_checked_published = published;
                    if (all_delivered()) {
                        why = "all delivered";
                        break;
                    }
                }
                if (now >= last_pub_attempt + drain_us) {
                    why = "drain time after the last publish";
                    break;
                }
            }
        }
        if (now >= next_progress) {
            fprintf(stderr, "sse_load: %4.1fs est %ld/%ld sub_err %ld pub %ld/%ld pub_err %ld delivered %ld\n",
                    (now - t0) / 1e6, established, opt_n, sub_errors, published, opt_m,
                    publish_errors, delivered);
            while (next_progress <= now)
                next_progress += 1000000;
        }

        /* sleep until the next thing to do (at most 1 s) */
        int64_t next = next_progress;
        if (next > deadline)
            next = deadline;
        if (subs_started < opt_n) {
            int64_t t = t0 + (int64_t)((double)subs_started * 1e6 / opt_connect_rate);
            if (t < next)
                next = t;
        } else if (!publishing && last_sub_start + STRAGGLER_US < next) {
            next = last_sub_start + STRAGGLER_US;
        }
        if (publishing && pubs_started < opt_m && !opt_publishers) {
            int64_t t = pub_t0 + (int64_t)((double)pubs_started * pub_interval);
            if (t < next)
                next = t;
        } else if (publishing && last_pub_attempt + drain_us < next) {
            next = last_pub_attempt + drain_us;
        }
        int64_t wait_us = next - mono_us();
        int timeout_ms = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);

        int nev = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
        if (nev < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < nev; i++)
            on_event(events[i].data.ptr, events[i].events);
    }

    fprintf(stderr, "sse_load: stopping (%s) at %.1f s: est %ld sub_err %ld pub %ld pub_err %ld delivered %ld/%ld\n",
            why, (mono_us() - t0) / 1e6, established, sub_errors, published, publish_errors,
            delivered, established * published);

    /* close everything; publishes without an answer are errors */
    for (long i = 0; i < pubs_started && !opt_publishers; i++)
        if (pubs[i])
            pub_close(pubs[i], 0, "no answer before the end", 0);
    for (long i = 0; i < opt_publishers && i < opt_m; i++) {
        kpub_close(kpubs[i], "no answer before the end", 0);
        free(kpubs[i]);
    }
    for (long i = 0; i < subs_started; i++) {
        if (subs[i].state == S_BODY) {
            close_fd(subs[i].fd);
            subs[i].state = S_CLOSED;
        } else if (subs[i].state != S_CLOSED) {
            sub_fail(&subs[i], "not established by the end", 0);
        }
    }
    close_fd(epfd);

    print_result();
    free(lat.v);
    free(lat_local.v);
    free(lat_cross.v);
    free(lat_rtt.v);
    free(kpubs);
    if (events_out && (fclose(events_out) != 0))
        die("%s: %s", opt_events_out, strerror(errno));
    free(seen);
    free(pubs);
    if (opt_channels > 0)
        for (long i = 0; i < subs_started; i++)
            free(subs[i].out);
    free(subs);
    free(sub_lines);
    free(sub_request);
    return 0;
}
