/* pub_main: sselight-pub, the command-line publisher for scripts and cron
 * jobs. It writes to the broker directly (no HTTP, no token: access to the
 * data directory is the permission) and wakes every subscriber process.
 *   sselight-pub [-d DATA_DIR] [-e EVENT] [-k KEY] CHANNEL [DATA]
 *   sselight-pub [-d DATA_DIR] --stats [--watch]
 *   sselight-pub --help | --version
 * DATA defaults to standard input. Prints the event id. With -k, a repeat
 * of the same KEY in the channel stores nothing and prints the first id.
 * --stats prints the instance's numbers from DATA_DIR/metrics.slots (what
 * /metrics and /status show), --watch again every second. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "metrics_slots.h"
#include "query.h"
#include "utf8.h"
#include "version.h"

#define PUB_DATA_MAX (64 * 1024) /* the same limit as POST /events */

/* Prints the synopsis and what the arguments mean to OUT; returns RC (0
 * for --help, 2 for a usage error, which goes to stderr). The synopsis is
 * the one in man/sselight-pub.1 (t_docs compares them). */
static int pub_usage(FILE *out, int rc)
{
    fprintf(out,
            "usage: sselight-pub [-d data_dir] [-e event] [-k key] channel [data]\n"
            "       sselight-pub [-d data_dir] --stats [--watch]\n"
            "       sselight-pub --help | --version\n"
            "  publishes data (or standard input) to channel; prints its id\n"
            "  --stats: prints the numbers of the stream processes that use\n"
            "       data_dir (as /metrics and /status show them); --watch:\n"
            "       again every second until interrupted\n"
            "  data_dir: default $SSELIGHT_DATA_DIR, else data_dir in the\n"
            "       settings file ($SSELIGHT_CONFIG), else ./var\n"
            "  event: the SSE event name, default \"message\"\n"
            "  key: idempotency key; publishing the same key again stores\n"
            "       nothing and prints the first id\n"
            "  see man sselight-pub\n");
    return fflush(out) != 0 ? 1 : rc;
}

/* Reads standard input, at most PUB_DATA_MAX bytes. Returns the length or -1. */
static long pub_read_stdin(char *data)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, data + n, PUB_DATA_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "sselight-pub: reading standard input: %s\n",
                    strerror(errno));
            return -1;
        }
        if (r == 0)
            return (long)n;
        n += (size_t)r;
        if (n > PUB_DATA_MAX) {
            fprintf(stderr, "sselight-pub: data too large: at most %d bytes\n",
                    PUB_DATA_MAX);
            return -1;
        }
    }
}

static double pub_rate(uint64_t now, uint64_t before)
{
    return now > before ? (double)(now - before) : 0;
}

/* Prints the instance in `in`; rates from `before`, one second earlier. */
static void pub_print_stats(const char *dir, const struct metrics_instance *in,
                            const struct metrics_instance *before)
{
    const struct metrics_counts *c = &in->sum;
    printf("sselight in %s: %zu stream process%s\n", dir, in->n,
           in->n == 1 ? "" : "es");
    printf("  connections   %10llu\n", (unsigned long long)c->g.connections);
    printf("  subscribers   %10llu\n", (unsigned long long)c->g.subscribers);
    printf("  demo streams  %10llu\n", (unsigned long long)c->g.demo_streams);
    printf("  deliveries/s  %10.1f\n",
           pub_rate(c->t.delivered, before->sum.t.delivered));
    printf("  publishes/s   %10.1f\n",
           pub_rate(c->t.published, before->sum.t.published));
    printf("  delivered     %10llu\n", (unsigned long long)c->t.delivered);
    printf("  published     %10llu\n", (unsigned long long)c->t.published);
    printf("  broker        %10s\n", in->broker_up ? "up" : "DOWN");
    printf("  store queue   %10llu\n", (unsigned long long)c->g.store_pending);
    printf("  closed slow %llu, at the output cap %llu; refused at a cap "
           "%llu, store busy %llu\n",
           (unsigned long long)c->t.closed[METRICS_CLOSED_SLOW],
           (unsigned long long)c->t.closed[METRICS_CLOSED_CAP],
           (unsigned long long)c->t.refused_cap,
           (unsigned long long)c->t.refused_busy);
    printf("  %8s %-8s %8s %11s %10s %7s\n", "pid", "kind", "conns",
           "subscribers", "RSS MiB", "fds");
    for (size_t i = 0; i < in->n; i++) {
        const struct metrics_slot *p = &in->procs[i];
        printf("  %8lld %-8s %8llu %11llu %10.1f %7lld\n", (long long)p->pid,
               p->cgi ? "cgi" : "fastcgi",
               (unsigned long long)p->c.g.connections,
               (unsigned long long)p->c.g.subscribers,
               p->rss_bytes < 0 ? 0.0 : (double)p->rss_bytes / 1048576.0,
               (long long)p->fds);
    }
}

/* sselight-pub --stats. Returns the exit status. */
static int pub_stats(const char *dir, int watch)
{
    char err[600];
    struct metrics_slots *s = metrics_slots_open_reader(dir, err, sizeof err);
    if (!s) {
        fprintf(stderr, "sselight-pub: %s\n", err);
        return 1;
    }
    struct metrics_instance a = { 0 }, b = { 0 };
    int rc = 0;
    if (metrics_instance_read(s, &a) != 0) {
        rc = 1;
    } else {
        do {
            sleep(1);
            if (metrics_instance_read(s, &b) != 0) {
                rc = 1;
                break;
            }
            if (watch)
                printf("\n");
            pub_print_stats(dir, &b, &a);
            if (fflush(stdout) != 0) {
                rc = 1;
                break;
            }
            struct metrics_instance t = a;
            a = b;
            b = t;
        } while (watch);
    }
    if (rc != 0 && errno != 0)
        fprintf(stderr, "sselight-pub: reading %s/%s: %s\n", dir,
                METRICS_SLOTS_FILE, strerror(errno));
    metrics_instance_free(&a);
    metrics_instance_free(&b);
    metrics_slots_close(s);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    const char *event = "message";
    const char *key = NULL;
    int opt, stats = 0, watch = 0;
    static const struct option longopts[] = {
        { "stats", no_argument, NULL, 's' },
        { "watch", no_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    while ((opt = getopt_long(argc, argv, "d:e:k:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 'e': event = optarg; break;
        case 'k': key = optarg; break;
        case 's': stats = 1; break;
        case 'w': watch = 1; break;
        case 'h': return pub_usage(stdout, 0);
        case 'V':
            return printf("sselight-pub %s\n", SSELIGHT_VERSION) < 0 ||
                   fflush(stdout) != 0;
        default: return pub_usage(stderr, 2);
        }
    }
    /* A cron job on a hosting account finds its settings the way the
     * programs do: SSELIGHT_CONFIG=~/public_html/sse/sselight.conf. */
    char conf[4096], conf_err[600];
    if (config_load(NULL, conf, sizeof conf, conf_err, sizeof conf_err) != 0) {
        fprintf(stderr, "sselight-pub: %s\n", conf_err);
        return 2;
    }
    if (!dir)
        dir = getenv("SSELIGHT_DATA_DIR");
    if (watch && !stats)
        return pub_usage(stderr, 2);
    if (stats)
        return optind == argc ? pub_stats(dir && *dir ? dir : "var", watch)
                              : pub_usage(stderr, 2);
    if (optind >= argc || argc - optind > 2)
        return pub_usage(stderr, 2);
    const char *channel = argv[optind];
    if (!query_channel_valid(channel)) {
        fprintf(stderr, "sselight-pub: bad channel name '%s': use 1-64 of "
                        "A-Z a-z 0-9 _ - .\n", channel);
        return 2;
    }
    if (!query_event_valid(event)) {
        fprintf(stderr, "sselight-pub: bad event name '%s': use 1-64 of "
                        "A-Z a-z 0-9 _ - . :\n", event);
        return 2;
    }
    if (key && !query_event_valid(key)) {
        fprintf(stderr, "sselight-pub: bad key '%s': use 1-64 of "
                        "A-Z a-z 0-9 _ - . :\n", key);
        return 2;
    }
    static char data[PUB_DATA_MAX + 1];
    long len;
    if (argc - optind == 2) {
        len = (long)strlen(argv[optind + 1]);
        if (len > PUB_DATA_MAX) {
            fprintf(stderr, "sselight-pub: data too large: at most %d bytes\n",
                    PUB_DATA_MAX);
            return 1;
        }
        memcpy(data, argv[optind + 1], (size_t)len);
    } else if ((len = pub_read_stdin(data)) < 0) {
        return 1;
    }
    if (utf8_count(data, (size_t)len) < 0) {
        fprintf(stderr, "sselight-pub: data must be UTF-8 text without NUL "
                        "bytes\n");
        return 1;
    }
    char err[512];
    /* The channel keeps as many events as the stream responder keeps:
     * each publish trims it to SSELIGHT_HISTORY (0: the broker's default). */
    unsigned long long history;
    if (config_env_number("SSELIGHT_HISTORY", 0, &history, err,
                          sizeof err) != 0) {
        fprintf(stderr, "sselight-pub: %s\n", err);
        return 2;
    }
    struct broker *b = broker_open(getenv("SSELIGHT_BROKER"),
                                   dir && *dir ? dir : "var",
                                   (unsigned)history, err, sizeof err);
    if (!b) {
        fprintf(stderr, "sselight-pub: %s\n", err);
        return 1;
    }
    long long id;
    int rc = broker_publish(b, channel, event, data, (size_t)len, key, &id);
    if (rc == 1) {
        fprintf(stderr, "sselight-pub: key %s was already published as "
                        "event %lld; not stored again\n", key, id);
        rc = 0;
    }
    if (rc != 0)
        fprintf(stderr, "sselight-pub: not stored: %s\n", broker_error(b));
    else
        printf("%lld\n", id);
    broker_close(b);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "sselight-pub: writing the id: %s\n", strerror(errno));
        return 1;
    }
    return rc == 0 ? 0 : 1;
}
