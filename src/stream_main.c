/* stream_main: the stream responder. Usually one long-lived process that
 * lighttpd starts with its FastCGI listening socket on fd 0: every SSE
 * stream runs on one epoll loop, each event flushed as it is produced.
 * Started as a CGI program instead (no socket on fd 0, GATEWAY_INTERFACE
 * set), it serves its one request the same way, through cgi_conn, and
 * exits when the response ends or the web server goes away. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cgi_cap.h"
#include "cgi_conn.h"
#include "cgi_request.h"
#include "config.h"
#include "fcgi_conn.h"
#include "http.h"
#include "loop.h"
#include "store.h"
#include "stream_app.h"

#define STREAM_LISTEN_FD 0             /* FCGI_LISTENSOCK_FILENO */
#define STREAM_BODY_MAX (64 * 1024)
#define STREAM_SHUTDOWN_GRACE_MS 2000  /* then exit even with data unsent */
#define STREAM_SHUTDOWN_POLL_MS 20

struct stream_main {
    struct loop *loop;
    struct loop_io signals;
    struct loop_timer shutdown_poll;
    struct fcgi_listener *listener; /* FastCGI; NULL under CGI */
    struct cgi_conn *cgi;           /* CGI: the one request */
    int cgi_done;                   /* CGI: its response is over */
    struct stream_app *app;
    uint64_t shutdown_deadline_ms;  /* 0 while running */
};

static struct stream_main g_main;

static void stream_main_on_shutdown_poll(struct loop *loop,
                                         struct loop_timer *t)
{
    size_t open = g_main.listener ? fcgi_listener_open_conns(g_main.listener)
                                  : !g_main.cgi_done;
    if (open == 0 || loop_now_ms(loop) >= g_main.shutdown_deadline_ms) {
        if (open > 0)
            fprintf(stderr, "stream: exiting with %zu connections still "
                            "flushing\n", open);
        loop_stop(loop);
        return;
    }
    loop_timer_start(loop, t, STREAM_SHUTDOWN_POLL_MS);
}

static void stream_main_on_signal(struct loop *loop, struct loop_io *io,
                                  uint32_t events)
{
    (void)events;
    struct signalfd_siginfo si;
    ssize_t n = read(io->fd, &si, sizeof si);
    if (n != (ssize_t)sizeof si) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        fprintf(stderr, "stream: read(signalfd): %s\n",
                n < 0 ? strerror(errno) : "short read");
        loop_stop(loop);
        return;
    }
    if (g_main.shutdown_deadline_ms != 0)
        return; /* already shutting down */
    struct stream_app_stats st = stream_app_stats(g_main.app);
    if (g_main.cgi)
        fprintf(stderr, "stream: signal %u: ending this CGI request\n",
                si.ssi_signo);
    else
        fprintf(stderr, "stream: signal %u: ending %zu open streams, then "
                        "exiting (served %llu streams)\n", si.ssi_signo,
                st.streams_open, (unsigned long long)st.streams_opened);
    g_main.shutdown_deadline_ms = loop_now_ms(loop) + STREAM_SHUTDOWN_GRACE_MS;
    if (g_main.listener) {
        fcgi_listener_stop(g_main.listener);
        fcgi_listener_end_all(g_main.listener);
    } else if (g_main.cgi) {
        cgi_conn_end_now(g_main.cgi);
    }
    loop_timer_start(loop, &g_main.shutdown_poll, 0);
}

/* Routes SIGTERM (lighttpd stopping us), SIGINT (Ctrl-C on the terminal
 * reaches the whole process group) and SIGHUP into the loop. */
static int stream_main_watch_signals(struct loop *loop)
{
    sigset_t set;
    if (sigemptyset(&set) != 0 || sigaddset(&set, SIGTERM) != 0 ||
        sigaddset(&set, SIGINT) != 0 || sigaddset(&set, SIGHUP) != 0)
        return -1;
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    return loop_io_add(loop, &g_main.signals, fd, EPOLLIN,
                       stream_main_on_signal);
}

/* Reads a whole-number setting from the environment, within the bounds
 * of config.c's table of settings: the default when unset or empty.
 * Returns 0, or -1 after saying what is wrong. */
static int stream_main_env_number(const char *name, unsigned long long def,
                                  unsigned long long *out)
{
    char err[200];
    if (config_env_number(name, def, out, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "stream: %s\n", err);
    return -1;
}

static int stream_main_check_listener(void)
{
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(STREAM_LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening,
                   &len) != 0 || !listening) {
        fprintf(stderr, "stream: fd 0 is not a listening socket and "
                        "GATEWAY_INTERFACE "
                        "is not set: this is a FastCGI or CGI program, start "
                        "it from a web server (see lighttpd.conf)\n");
        return -1;
    }
    return 0;
}

/* CGI only: writes a whole plain-text answer to stdout, blocking (nothing
 * else is going on yet). The reason for a 500 is in the log, not here. */
static void stream_main_cgi_answer(int status, const char *text)
{
    struct buf out = BUF_INIT;
    http_append_error(&out, http_method_parse(getenv("REQUEST_METHOD")),
                      status, text);
    if (cgi_request_write_all(STDOUT_FILENO, buf_head(&out),
                              buf_pending(&out)) != 0)
        fprintf(stderr, "stream: writing the %d answer: %s\n", status,
                strerror(errno));
    buf_free(&out);
}

/* Start-up failed (the reason is already logged): under CGI the request
 * still gets its answer. Returns the exit status. */
static int stream_main_fail(int cgi, int status)
{
    if (cgi)
        stream_main_cgi_answer(500, CGI_REQUEST_SETUP_ERROR);
    return status;
}

static void stream_main_on_cgi_done(void *arg)
{
    (void)arg;
    g_main.cgi_done = 1;
    loop_stop(g_main.loop);
}

/* 1 if the CGI request opens an event stream, which must hold a slot: a
 * GET of anything but /stats or /metrics (the request was not routed yet; a 404 holds
 * its slot only while it answers). */
static int stream_main_cgi_is_stream(void)
{
    const char *m = getenv("REQUEST_METHOD");
    const char *uri = getenv("REQUEST_URI");
    char path[HTTP_PATH_MAX];
    if (!m || strcmp(m, "GET") != 0)
        return 0;
    if (http_path_from_uri(uri, path) != 0)
        return 1;
    size_t n = strlen(path);
    return !(n >= 6 && strcmp(path + n - 6, "/stats") == 0) &&
           !(n >= 8 && strcmp(path + n - 8, "/metrics") == 0);
}

/* Serves the one CGI request. Returns the exit status. */
static int stream_main_serve_cgi(const struct stream_events_config *events,
                                 unsigned max_streams,
                                 const struct fcgi_limits *limits)
{
    if (max_streams > 0 && stream_main_cgi_is_stream()) {
        /* Held until exit: the kernel frees the slot with the process. */
        int slot = cgi_cap_take(events->data_dir, max_streams);
        if (slot == CGI_CAP_BUSY) {
            fprintf(stderr, "stream: 503 for %s %.200s: all %u CGI stream "
                    "slots of %s are taken (SSELIGHT_MAX_CGI_STREAMS)\n",
                    getenv("REQUEST_METHOD"), getenv("REQUEST_URI"),
                    max_streams, events->data_dir);
            stream_main_cgi_answer(503, "too many open streams on this "
                                   "server; try again later");
            return 0;
        }
        if (slot < 0) {
            fprintf(stderr, "stream: taking a stream slot in %s/cgi-streams: "
                    "%s\n", events->data_dir, strerror(errno));
            return stream_main_fail(1, 1);
        }
    }
    struct stream_handler cb = stream_app_callbacks(g_main.app);
    g_main.cgi = cgi_conn_start(g_main.loop, STDIN_FILENO, STDOUT_FILENO, &cb,
                                limits, stream_main_on_cgi_done, NULL);
    if (!g_main.cgi) {
        fprintf(stderr, "stream: stdout: %s\n", strerror(errno));
        return 1;
    }
    int rc = loop_run(g_main.loop);
    if (rc != 0)
        fprintf(stderr, "stream: epoll_wait: %s\n", strerror(errno));
    return rc == 0 ? 0 : 1;
}

/* Serves FastCGI connections on fd 0 until a signal stops it. */
static int stream_main_serve_fcgi(const struct fcgi_limits *limits)
{
    struct stream_handler cb = stream_app_callbacks(g_main.app);
    g_main.listener = fcgi_listener_start(g_main.loop, STREAM_LISTEN_FD, &cb,
                                          limits);
    if (!g_main.listener) {
        fprintf(stderr, "stream: listening on fd 0: %s\n", strerror(errno));
        return 1;
    }
    stream_app_set_listener(g_main.app, g_main.listener);
    int rc = loop_run(g_main.loop);
    if (rc != 0)
        fprintf(stderr, "stream: epoll_wait: %s\n", strerror(errno));
    return rc == 0 ? 0 : 1;
}

int main(void)
{
    /* If the web server dies without stopping us, follow it. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        fprintf(stderr, "stream: prctl(PR_SET_PDEATHSIG): %s\n",
                strerror(errno));
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fprintf(stderr, "stream: signal(SIGPIPE): %s\n", strerror(errno));
    int cgi = cgi_request_is_cgi();
    if (!cgi && stream_main_check_listener() != 0)
        return 2;
    char conf[4096], conf_err[600];
    if (config_load(NULL, conf, sizeof conf, conf_err, sizeof conf_err) != 0) {
        fprintf(stderr, "stream: %s\n", conf_err);
        return stream_main_fail(cgi, 2);
    }

    g_main.loop = loop_new();
    if (!g_main.loop) {
        fprintf(stderr, "stream: epoll_create1: %s\n", strerror(errno));
        return stream_main_fail(cgi, 1);
    }
    if (stream_main_watch_signals(g_main.loop) != 0) {
        fprintf(stderr, "stream: signalfd: %s\n", strerror(errno));
        return stream_main_fail(cgi, 1);
    }
    loop_timer_init(&g_main.shutdown_poll, stream_main_on_shutdown_poll);
    const char *data_dir = getenv("SSELIGHT_DATA_DIR");
    unsigned long long history, heartbeat, out_max, write_timeout, max_subs,
        max_chan_subs, max_cgi, store_queue, top_channels;
    if (stream_main_env_number("SSELIGHT_HISTORY", 1000, &history) != 0 ||
        stream_main_env_number("SSELIGHT_HEARTBEAT_MS", 15000, &heartbeat) != 0 ||
        stream_main_env_number("SSELIGHT_STREAM_OUT_MAX", 256 * 1024,
                               &out_max) != 0 ||
        stream_main_env_number("SSELIGHT_WRITE_TIMEOUT_MS", 30000,
                               &write_timeout) != 0 ||
        stream_main_env_number("SSELIGHT_MAX_SUBSCRIBERS", 20000,
                               &max_subs) != 0 ||
        stream_main_env_number("SSELIGHT_MAX_CHANNEL_SUBSCRIBERS", 20000,
                               &max_chan_subs) != 0 ||
        stream_main_env_number("SSELIGHT_MAX_CGI_STREAMS", CGI_CAP_DEFAULT,
                               &max_cgi) != 0 ||
        stream_main_env_number("SSELIGHT_STORE_QUEUE", STORE_QUEUE_DEFAULT,
                               &store_queue) != 0 ||
        stream_main_env_number("SSELIGHT_METRICS_TOP_CHANNELS",
                               METRICS_TOP_DEFAULT, &top_channels) != 0)
        return stream_main_fail(cgi, 2);
    if (cgi && (!data_dir || !*data_dir)) {
        /* Under CGI the working directory is the program's, inside the
         * document root: a default there could be downloaded. */
        fprintf(stderr, "stream: %s\n", CGI_REQUEST_NO_DATA_DIR);
        return stream_main_fail(cgi, 2);
    }
    struct stream_events_config events = {
        .broker_url = getenv("SSELIGHT_BROKER"),
        .data_dir = data_dir && *data_dir ? data_dir : "var",
        .publish_token = getenv("SSELIGHT_PUBLISH_TOKEN"),
        .history = (unsigned)history,
        .heartbeat_ms = (unsigned)heartbeat,
        .max_subscribers = (size_t)max_subs,
        .max_channel_subscribers = (size_t)max_chan_subs,
        .store_queue = (size_t)store_queue,
    };
    if (events.publish_token && !*events.publish_token)
        events.publish_token = NULL;
    events.subscribe_secret = getenv("SSELIGHT_SUBSCRIBE_SECRET");
    if (events.subscribe_secret && !*events.subscribe_secret)
        events.subscribe_secret = NULL;
    char err[512];
    g_main.app = stream_app_new(g_main.loop, &events, err, sizeof err);
    if (!g_main.app) {
        fprintf(stderr, "stream: %s\n", err);
        return stream_main_fail(cgi, 1);
    }
    const char *prefix = getenv("SSELIGHT_PREFIX");
    if (prefix && stream_app_set_prefix(g_main.app, prefix) != 0) {
        fprintf(stderr, "stream: SSELIGHT_PREFIX must be empty or like "
                "/apps/sse (no '/' at the end), not '%s'\n", prefix);
        return stream_main_fail(cgi, 2);
    }
    if (!prefix)
        stream_app_derive_prefix(g_main.app, cgi_request_program());
    struct stream_mercure_config mercure = {
        .publisher_key = getenv("SSELIGHT_MERCURE_PUBLISHER_JWT_KEY"),
        .publisher_alg = getenv("SSELIGHT_MERCURE_PUBLISHER_JWT_ALG"),
        .subscriber_key = getenv("SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY"),
        .subscriber_alg = getenv("SSELIGHT_MERCURE_SUBSCRIBER_JWT_ALG"),
    };
    if (stream_app_start_mercure(g_main.app, &mercure, err, sizeof err) != 0) {
        fprintf(stderr, "stream: %s\n", err);
        return stream_main_fail(cgi, 2);
    }
    const char *metrics_token = getenv("SSELIGHT_METRICS_TOKEN");
    if (config_env_valid("SSELIGHT_METRICS_TOKEN", conf_err,
                         sizeof conf_err) != 0) {
        fprintf(stderr, "stream: %s\n", conf_err);
        return stream_main_fail(cgi, 2);
    }
    struct stream_monitor_config monitor = {
        .data_dir = events.data_dir,
        .token = metrics_token && *metrics_token ? metrics_token : NULL,
        .top_channels = (unsigned)top_channels,
        .cgi = cgi,
    };
    stream_app_start_monitor(g_main.app, &monitor);
    struct fcgi_limits limits = { .body_max = STREAM_BODY_MAX,
                                  .out_max = (size_t)out_max,
                                  .write_timeout_ms = (unsigned)write_timeout };
    int rc = cgi ? stream_main_serve_cgi(&events, (unsigned)max_cgi, &limits)
                 : stream_main_serve_fcgi(&limits);
    /* The last numbers go to the metrics slot while the listener is there. */
    stream_app_stop_monitor(g_main.app);
    /* Connections still open past the grace period are left to exit(). */
    int clean;
    if (g_main.listener) {
        clean = fcgi_listener_open_conns(g_main.listener) == 0;
        if (clean)
            fcgi_listener_free(g_main.listener);
    } else {
        clean = !g_main.cgi || g_main.cgi_done;
        cgi_conn_free(clean ? g_main.cgi : NULL);
    }
    if (clean) {
        stream_app_free(g_main.app);
        if (close(g_main.signals.fd) != 0)
            fprintf(stderr, "stream: close(signalfd): %s\n", strerror(errno));
        loop_free(g_main.loop);
    }
    return rc;
}
