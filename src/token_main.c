/* token_main: sselight-token, issues subscription tokens for private
 * channels (see subtoken.h), for applications and scripts that hold the
 * server's secret.
 *   SSELIGHT_SUBSCRIBE_SECRET=... sselight-token [-t SECONDS] CHANNEL
 * Prints the token; the subscriber adds ?token=TOKEN to its /events URL. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "query.h"
#include "subtoken.h"
#include "version.h"

#define TOKEN_TTL_DEFAULT 3600L
#define TOKEN_TTL_MAX (366L * 24 * 3600)

/* Prints the synopsis and what the arguments mean to OUT; returns RC (0
 * for --help, 2 for a usage error, which goes to stderr). The synopsis is
 * the one in man/sselight-token.1 (t_docs compares them). */
static int token_usage(FILE *out, int rc)
{
    fprintf(out,
            "usage: sselight-token [-t seconds] channel\n"
            "       sselight-token --help | --version\n"
            "  prints a token that lets its holder subscribe to channel (a\n"
            "  private-... channel) for seconds (default 3600, at most one year)\n"
            "  the secret comes from $SSELIGHT_SUBSCRIBE_SECRET\n"
            "  see man sselight-token\n");
    return fflush(out) != 0 ? 1 : rc;
}

int main(int argc, char **argv)
{
    long ttl = TOKEN_TTL_DEFAULT;
    int opt;
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    while ((opt = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 't':
            errno = 0;
            ttl = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || ttl < 1 || ttl > TOKEN_TTL_MAX) {
                fprintf(stderr, "sselight-token: -t must be 1 to %ld seconds, "
                        "not '%s'\n", TOKEN_TTL_MAX, optarg);
                return 2;
            }
            break;
        case 'h':
            return token_usage(stdout, 0);
        case 'V':
            return printf("sselight-token %s\n", SSELIGHT_VERSION) < 0 ||
                   fflush(stdout) != 0;
        default:
            return token_usage(stderr, 2);
        }
    }
    if (optind != argc - 1)
        return token_usage(stderr, 2);
    const char *channel = argv[optind];
    const char *secret = getenv("SSELIGHT_SUBSCRIBE_SECRET");
    if (!secret || strlen(secret) < SUBTOKEN_SECRET_MIN) {
        fprintf(stderr, "sselight-token: set SSELIGHT_SUBSCRIBE_SECRET (at "
                "least %d characters, the same as the server's)\n",
                SUBTOKEN_SECRET_MIN);
        return 2;
    }
    if (!query_channel_valid(channel) || !subtoken_channel_private(channel)) {
        fprintf(stderr, "sselight-token: '%s' is not a private channel name "
                "(private- then 1-64 in all of A-Z a-z 0-9 _ - .)\n", channel);
        return 2;
    }
    char token[SUBTOKEN_MAX];
    if (subtoken_sign(secret, channel, time(NULL) + ttl, token) != 0) {
        fprintf(stderr, "sselight-token: could not compute the HMAC\n");
        return 1;
    }
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "sselight-token: writing the token: %s\n",
                strerror(errno));
        return 1;
    }
    return 0;
}
