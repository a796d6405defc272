/* token_main: sselight-token, issues subscription tokens for private
 * channels (see subtoken.h), for applications and scripts that hold the
 * server's secret.
 *   SSELIGHT_SUBSCRIBE_SECRET=... sselight-token [-t SECONDS] CHANNEL
 * Prints the token; the subscriber adds ?token=TOKEN to its /events URL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "query.h"
#include "subtoken.h"

#define TOKEN_TTL_DEFAULT 3600L
#define TOKEN_TTL_MAX (366L * 24 * 3600)

static int token_usage(void)
{
    fprintf(stderr,
            "usage: sselight-token [-t SECONDS] CHANNEL\n"
            "  prints a token that lets its holder subscribe to CHANNEL (a\n"
            "  private-... channel) for SECONDS (default 3600, at most one year)\n"
            "  the secret comes from $SSELIGHT_SUBSCRIBE_SECRET\n");
    return 2;
}

int main(int argc, char **argv)
{
    long ttl = TOKEN_TTL_DEFAULT;
    int opt;
    while ((opt = getopt(argc, argv, "t:h")) != -1) {
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
        default:
            return token_usage();
        }
    }
    if (optind != argc - 1)
        return token_usage();
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
