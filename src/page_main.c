/* page_main: the page responder. A FastCGI program (libfcgi) that lighttpd
 * starts with its listening socket on fd 0; each request is answered whole
 * by page_respond, so plain blocking libfcgi I/O is the right tool here.
 * Started as a CGI program instead, it answers its one request from the
 * environment and stdin, to stdout, with the same code.
 *
 * Room posts are the one request that waits for the store (up to
 * BROKER_BUSY_MS while another process holds SQLite's write lock, or while
 * Redis does not answer). Under FastCGI the main thread hands them, with
 * their FCGX_Request, to one room thread and goes on answering pages; at
 * most ROOM_QUEUE_MAX posts wait, and past that a post gets 503 at once. */
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "broker.h"
#include "buf.h"
#include "cgi_request.h"
#include "config.h"
#include "http.h"
#include "page.h"
#include "query.h"
#include "thread.h"
#include "utf8.h"

#define ROOM_PATH "/room/messages"
#define ROOM_BODY_MAX 4096      /* form bytes; 413 past it */
#define ROOM_TEXT_MAX 500       /* characters in one message */
#define ROOM_QUEUE_MAX 16       /* room posts waiting for the room thread */

/* Opened at the first post; stays open for the life of the process. Used
 * by one thread only: the room thread, or main when there is none. */
static struct broker *room_broker;
/* SSELIGHT_HISTORY, read at start (0: the broker's default): the room's
 * publishes trim the channel to it, as the stream responder's do. */
static unsigned room_history;

/* One request, whichever way it came: libfcgi's FCGX_Request, or CGI's
 * environment, stdin and stdout. */
struct page_req {
    FCGX_Request *fcgi;   /* NULL under CGI */
};

static const char *page_param(const struct page_req *req, const char *name)
{
    return req->fcgi ? FCGX_GetParam(name, req->fcgi->envp)
                     : cgi_request_param(name);
}

/* Writes the response; returns 0, or -1 on a write error. */
static int page_write(const struct page_req *req, const struct buf *out)
{
    const char *p = buf_head(out);
    size_t n = buf_pending(out);
    if (req->fcgi) {
        if (n > (size_t)0x7fffffff)
            return -1;
        if (FCGX_PutStr(p, (int)n, req->fcgi->out) != (int)n)
            return -1;
        if (FCGX_FFlush(req->fcgi->out) != 0 ||
            FCGX_GetError(req->fcgi->out) != 0)
            return -1;
        return 0;
    }
    return cgi_request_write_all(STDOUT_FILENO, p, n);
}

/* Reads the request body, at most max bytes. Returns its length, or -1 when
 * it is longer than max or a read fails (CGI: the rest is drained). */
static long page_read_body(const struct page_req *req, char *body, size_t max)
{
    const char *cl = page_param(req, "CONTENT_LENGTH");
    if (!req->fcgi) {
        struct buf b = BUF_INIT;
        int too_large;
        long n = -1;
        if (cgi_request_read_body(STDIN_FILENO, cl, max, &b, &too_large) == 0 &&
            !too_large) {
            n = (long)buf_pending(&b);
            memcpy(body, buf_head(&b), (size_t)n);
            body[n] = '\0';
        }
        buf_free(&b);
        return n;
    }
    if (cl && strtoul(cl, NULL, 10) > max)
        return -1;
    size_t n = 0;
    for (;;) {
        int got = FCGX_GetStr(body + n, (int)(max + 1 - n), req->fcgi->in);
        if (got < 0 || FCGX_GetError(req->fcgi->in) != 0)
            return -1;
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > max)
            return -1;
    }
    body[n] = '\0';
    return (long)n;
}

/* Checks posted room text: trimmed, UTF-8, no control characters, not empty,
 * at most ROOM_TEXT_MAX characters. Returns NULL, or why it is refused. */
static const char *room_check_text(char *text)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        text[--n] = '\0';
    size_t lead = strspn(text, " \t");
    memmove(text, text + lead, n - lead + 1);
    n -= lead;
    if (n == 0)
        return "Write something first.";
    long chars = utf8_count(text, n);
    if (chars < 0)
        return "The text must be UTF-8.";
    if (utf8_has_control(text, n))
        return "The text may not contain control characters.";
    if (chars > ROOM_TEXT_MAX)
        return "At most 500 characters, please.";
    return NULL;
}

/* key: the post's key when the form may be sent again as it is (nothing
 * was published), NULL for a new form. */
static void room_reply_form(struct buf *out, int status, const char *error,
                            const char *text, const char *key)
{
    http_begin_html_head(out, status);
    buf_append_str(out, "Cache-Control: no-store\r\n");
    http_end_head(out);
    page_append_room_form(out, error, text, key);
}

/* POST /room/messages: validate, render the message once, publish it to
 * the room channel, answer with a fresh form (or the form and the error). */
static int room_post(const struct page_req *req, struct buf *out,
                     enum http_method method)
{
    char body[ROOM_BODY_MAX + 1];
    char text[ROOM_BODY_MAX + 1];
    if (method != HTTP_POST) {
        http_append_not_allowed(out, method, "POST",
                                "method not allowed: post the form here");
        return 405;
    }
    const char *type = page_param(req, "CONTENT_TYPE");
    if (!type || strncmp(type, "application/x-www-form-urlencoded", 33) != 0) {
        http_append_error(out, method, 415, "unsupported media type: send "
                          "application/x-www-form-urlencoded");
        return 415;
    }
    long n = page_read_body(req, body, ROOM_BODY_MAX);
    if (n < 0) {
        http_append_error(out, method, 413, "form too large: at most 4096 bytes");
        return 413;
    }
    /* The form's idempotency key: a post sent twice (a retry after a lost
     * answer) is published once. Optional; same characters as an event
     * name, so it needs no escaping in logs. */
    char keybuf[ROOM_BODY_MAX + 1];
    int has_key = query_get(body, "key", keybuf, sizeof keybuf);
    const char *key = has_key > 0 && query_event_valid(keybuf) ? keybuf : NULL;
    int got = query_get(body, "text", text, sizeof text);
    const char *why = got == 0 ? "Write something first."
                    : got < 0 || (has_key != 0 && !key)
                        ? "The form could not be read."
                    : room_check_text(text);
    if (why) {
        room_reply_form(out, 422, why, got > 0 ? text : "", key);
        return 422;
    }
    if (!room_broker) {
        const char *dir = getenv("SSELIGHT_DATA_DIR");
        char err[256];
        if (!req->fcgi && (!dir || !*dir))
            /* Under CGI the working directory is the program's, inside the
             * document root: a default data dir there could be downloaded. */
            fprintf(stderr, "page: room: %s\n", CGI_REQUEST_NO_DATA_DIR);
        else if (!(room_broker = broker_open(getenv("SSELIGHT_BROKER"),
                                             dir && *dir ? dir : "var",
                                             room_history, err,
                                             sizeof err)))
            fprintf(stderr, "page: room: %s\n", err);
    }
    char when[16];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm))
        memset(&tm, 0, sizeof tm);
    snprintf(when, sizeof when, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    struct buf msg = BUF_INIT;
    page_append_room_message(&msg, text, strlen(text), when);
    long long id;
    int rc = room_broker ? broker_publish(room_broker, PAGE_ROOM_CHANNEL,
                                          "message", buf_head(&msg),
                                          buf_pending(&msg), key, &id)
                         : -1;
    buf_free(&msg);
    if (rc < 0) {
        if (room_broker)
            fprintf(stderr, "page: room: publish failed: %s\n",
                    broker_error(room_broker));
        room_reply_form(out, 503, "Not sent: the server could not store "
                        "the message. Try again.", text, key);
        return 503;
    }
    if (rc == 1)
        fprintf(stderr, "page: room: form key %s was already published as "
                "event %lld; not published again\n", key, id);
    room_reply_form(out, 200, NULL, "", NULL);
    return 200;
}

/* The URL path the site is mounted under (SSELIGHT_PREFIX), "" for the
 * root. Checked once at start. NULL when SSELIGHT_PREFIX is unset: then
 * each request's comes from its SCRIPT_NAME (http_prefix_from_script). */
static const char *page_prefix = "";

/* 1 when the stream responder's Mercure hub is on (its publisher key is
 * set): pages then name it in a Link header, for Mercure discovery. */
static int page_mercure_on;

/* Puts "Link: <PREFIX/.well-known/mercure>; rel="mercure"" in front of the
 * response head in out (a CGI head: the order of its lines is free). */
static void page_add_mercure_link(struct buf *out, const char *prefix)
{
    struct buf res = BUF_INIT;
    buf_appendf(&res, "Link: <%s/.well-known/mercure>; rel=\"mercure\"\r\n",
                prefix ? prefix : "");
    buf_append(&res, buf_head(out), buf_pending(out));
    buf_reset(out);
    buf_append(out, buf_head(&res), buf_pending(&res));
    buf_free(&res);
}

/* Answers one request into out and writes it. With defer_room set, a
 * request for the room's form handler is left unanswered (nothing written)
 * and 1 returned, for the room thread; otherwise returns 0. */
static int page_serve(const struct page_req *req, struct buf *out,
                      int defer_room)
{
    const char *method_s = page_param(req, "REQUEST_METHOD");
    const char *uri = page_param(req, "REQUEST_URI");
    char derived[HTTP_PREFIX_MAX] = "";
    const char *prefix = page_prefix;
    enum http_method method = http_method_parse(method_s);
    char path[HTTP_PATH_MAX];
    const char *why;
    int status;

    buf_reset(out);
    if (uri && strlen(uri) >= HTTP_PATH_MAX) {
        http_append_error(out, method, 414, "request URI too long");
        status = 414;
    } else {
        int have_path = http_path_from_uri(uri, path) == 0;
        if (have_path && !prefix) {
            (void)http_prefix_from_script(page_param(req, "SCRIPT_NAME"),
                                          cgi_request_program(), path,
                                          derived);
            prefix = derived;
        }
        int inside = have_path && http_path_strip_prefix(path, prefix) == 0;
        if (have_path && !inside) {
            /* Like the stream responder: not this site's URL. */
            http_append_error(out, method, 404, "not found");
            status = 404;
        } else if (inside && strcmp(path, "/status") == 0 &&
                   (status = auth_monitor_check(
                        page_param(req, "REMOTE_ADDR"),
                        page_param(req, "HTTP_AUTHORIZATION"),
                        getenv("SSELIGHT_METRICS_TOKEN"), &why)) != 0) {
            http_append_error(out, method, status, why);
        } else if (inside && strcmp(path, ROOM_PATH) == 0) {
            if (defer_room)
                return 1;
            status = room_post(req, out, method);
        } else {
            status = page_respond(out, method, inside ? path : NULL);
            if (page_mercure_on && status == 200)
                page_add_mercure_link(out, prefix);
        }
    }
    page_prefix_urls(out, prefix ? prefix : "");
    if (status >= 400)
        fprintf(stderr, "page: %d for %s %s\n", status,
                method_s ? method_s : "-", uri ? uri : "-");
    if (page_write(req, out) != 0)
        fprintf(stderr, "page: write failed for %s (client gone?)\n",
                uri ? uri : "-");
    return 0;
}

/* ---- the room thread ------------------------------------------------------ */

struct room_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    FCGX_Request *posts[ROOM_QUEUE_MAX]; /* a ring of accepted posts */
    size_t head, count;
    int stopping;                        /* main stopped accepting */
    pthread_t thread;
};

static struct room_queue room_queue = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .ready = PTHREAD_COND_INITIALIZER,
};

static void room_request_free(FCGX_Request *req)
{
    FCGX_Free(req, 1);
    free(req);
}

/* The room thread: answers queued posts in order until main stops and the
 * queue is empty. */
static void *room_thread_main(void *arg)
{
    struct room_queue *q = arg;
    struct buf out = BUF_INIT;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (q->count == 0 && !q->stopping)
            pthread_cond_wait(&q->ready, &q->lock);
        if (q->count == 0) {
            pthread_mutex_unlock(&q->lock);
            break;
        }
        FCGX_Request *req = q->posts[q->head];
        q->head = (q->head + 1) % ROOM_QUEUE_MAX;
        q->count--;
        pthread_mutex_unlock(&q->lock);
        struct page_req r = { .fcgi = req };
        page_serve(&r, &out, 0);
        FCGX_Finish_r(req);
        room_request_free(req);
    }
    buf_free(&out);
    return NULL;
}

/* Starts the room thread with every signal blocked, so that SIGTERM always
 * reaches main, whose accept it interrupts. Returns 0, or -1 (logged). */
static int room_thread_start(struct room_queue *q)
{
    int rc = thread_start_quiet(&q->thread, 0, room_thread_main, q);
    if (rc != 0) {
        fprintf(stderr, "page: starting the room thread: %s; room posts are "
                "answered in turn with the pages\n", strerror(rc));
        return -1;
    }
    return 0;
}

/* Queues an accepted post; 0, or -1 when ROOM_QUEUE_MAX already wait. */
static int room_queue_push(struct room_queue *q, FCGX_Request *req)
{
    int rc = -1;
    pthread_mutex_lock(&q->lock);
    if (q->count < ROOM_QUEUE_MAX) {
        q->posts[(q->head + q->count) % ROOM_QUEUE_MAX] = req;
        q->count++;
        pthread_cond_signal(&q->ready);
        rc = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

/* Main stopped accepting: the room thread answers what waits, then ends. */
static void room_thread_stop(struct room_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
    int rc = pthread_join(q->thread, NULL);
    if (rc != 0)
        fprintf(stderr, "page: joining the room thread: %s\n", strerror(rc));
}

/* A new request for FCGX_Accept_r; NULL (logged) when out of memory. */
static FCGX_Request *room_request_new(void)
{
    FCGX_Request *req = malloc(sizeof *req);
    if (!req || FCGX_InitRequest(req, 0, 0) != 0) {
        fprintf(stderr, "page: out of memory for a request\n");
        free(req);
        return NULL;
    }
    return req;
}

/* CGI: start-up failed (the reason is logged): a 500 for the request. */
static void page_cgi_fail(void)
{
    struct buf out = BUF_INIT;
    http_append_error(&out, http_method_parse(getenv("REQUEST_METHOD")), 500,
                      CGI_REQUEST_SETUP_ERROR);
    struct page_req r = { .fcgi = NULL };
    if (page_write(&r, &out) != 0)
        fprintf(stderr, "page: writing the 500 answer: %s\n", strerror(errno));
    buf_free(&out);
}

/* CGI: answers the one request. Returns the exit status. */
static int page_serve_cgi(void)
{
    struct page_req r = { .fcgi = NULL };
    struct buf out = BUF_INIT;
    page_serve(&r, &out, 0);
    buf_free(&out);
    broker_close(room_broker);
    return 0;
}

int main(void)
{
    /* lighttpd stops its backends with SIGTERM; if lighttpd itself dies
     * without doing so, follow it rather than linger. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        fprintf(stderr, "page: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
    int cgi = cgi_request_is_cgi();
    if (!cgi && FCGX_IsCGI()) {
        fprintf(stderr, "page: fd 0 is not a listening socket and "
                        "GATEWAY_INTERFACE is not set: this is a FastCGI or "
                        "CGI program, start it from a web server (see "
                        "lighttpd.conf)\n");
        return 2;
    }
    char conf[4096], conf_err[600];
    if (config_load(NULL, conf, sizeof conf, conf_err, sizeof conf_err) != 0) {
        fprintf(stderr, "page: %s\n", conf_err);
        if (cgi)
            page_cgi_fail();
        return 2;
    }
    /* Settings the page responder uses later (the monitoring page, the
     * room's broker, which keeps as many events as the stream responder
     * keeps): a bad one stops it now, as the stream responder stops on its
     * own. */
    unsigned long long history;
    if (config_env_valid("SSELIGHT_METRICS_TOKEN", conf_err,
                         sizeof conf_err) != 0 ||
        config_env_number("SSELIGHT_HISTORY", 0, &history, conf_err,
                          sizeof conf_err) != 0) {
        fprintf(stderr, "page: %s\n", conf_err);
        if (cgi)
            page_cgi_fail();
        return 2;
    }
    room_history = (unsigned)history;
    const char *prefix = getenv("SSELIGHT_PREFIX");
    if (prefix && !http_prefix_valid(prefix)) {
        fprintf(stderr, "page: SSELIGHT_PREFIX must be empty or like "
                "/apps/sse (no '/' at the end), not '%s'\n", prefix);
        if (cgi)
            page_cgi_fail();
        return 2;
    }
    page_prefix = prefix;
    const char *mercure_key = getenv("SSELIGHT_MERCURE_PUBLISHER_JWT_KEY");
    page_mercure_on = mercure_key && *mercure_key;
    if (cgi)
        return page_serve_cgi();
    if (FCGX_Init() != 0) {
        fprintf(stderr, "page: FCGX_Init failed\n");
        return 1;
    }
    FCGX_Request *req = room_request_new();
    if (!req)
        return 1;
    int threaded = room_thread_start(&room_queue) == 0;
    struct buf out = BUF_INIT;
    /* A negative return means "stop": SIGTERM (libfcgi's handler sets a flag
     * and accept returns -4) or a broken listening socket. */
    int rc;
    while ((rc = FCGX_Accept_r(req)) >= 0) {
        struct page_req r = { .fcgi = req };
        if (page_serve(&r, &out, threaded) == 1) {
            FCGX_Request *next = room_request_new();
            if (next && room_queue_push(&room_queue, req) == 0) {
                req = next;     /* the room thread finishes and frees it */
                continue;
            }
            if (next)
                room_request_free(next);
            buf_reset(&out);
            http_append_error(&out, HTTP_POST, 503,
                              "busy: too many room posts waiting; try again");
            fprintf(stderr, "page: 503 for a room post: %d posts already "
                    "wait for the store\n", ROOM_QUEUE_MAX);
            if (page_write(&r, &out) != 0)
                fprintf(stderr, "page: write failed for a room post "
                        "(client gone?)\n");
        }
        FCGX_Finish_r(req);
    }
    if (threaded)
        room_thread_stop(&room_queue);
    buf_free(&out);
    broker_close(room_broker);
    room_request_free(req);
    if (rc != -4 && rc != -EINTR)
        fprintf(stderr, "page: FCGX_Accept_r returned %d, exiting\n", rc);
    return 0;
}
