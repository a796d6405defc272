/* subtoken: signed, expiring subscription tokens for private channels.
 * A token lets its holder subscribe to one channel until a time:
 *
 *     token = EXPIRES "." HEX
 *     HEX   = lowercase hex of HMAC-SHA256(secret,
 *                 "sselight-subscribe\n" EXPIRES "\n" CHANNEL)
 *
 * EXPIRES is Unix seconds in decimal. An application that shares the
 * server's secret issues tokens without talking to the server (docs/api.md,
 * "Private channels", shows it in shell and Python). The HMAC is OpenSSL's;
 * only the framing is ours. */
#ifndef SSELIGHT_SUBTOKEN_H
#define SSELIGHT_SUBTOKEN_H

#include <stddef.h>
#include <time.h>

#define SUBTOKEN_PREFIX "private-"   /* channels that need a token */
#define SUBTOKEN_SECRET_MIN 32       /* bytes of secret, at least */
#define SUBTOKEN_MAX 96              /* token text, with its NUL */

enum subtoken_result {
    SUBTOKEN_OK,
    SUBTOKEN_MALFORMED,  /* not EXPIRES.HEX of the right lengths */
    SUBTOKEN_EXPIRED,    /* well-formed, but EXPIRES <= now */
    SUBTOKEN_WRONG       /* the signature does not match this channel */
};

/* 1 if subscribing to channel needs a token (its name starts with
 * SUBTOKEN_PREFIX). */
int subtoken_channel_private(const char *channel);

/* Writes the token for channel, valid until expires, into out. Returns 0,
 * or -1 if the HMAC could not be computed. */
int subtoken_sign(const char *secret, const char *channel, time_t expires,
                  char out[SUBTOKEN_MAX]);

/* Checks token for channel at time now. The signature is compared in
 * constant time; the expiry is checked only once the signature matches, so
 * a forged token is WRONG whatever its time. */
enum subtoken_result subtoken_check(const char *secret, const char *channel,
                                    const char *token, time_t now);

#endif
