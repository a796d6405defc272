/* subtoken: see subtoken.h. */
#include "subtoken.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define SUBTOKEN_HEX 64        /* SHA-256: 32 bytes */
#define SUBTOKEN_EXPIRES_MAX 19 /* digits of a 64-bit time_t */

int subtoken_channel_private(const char *channel)
{
    return strncmp(channel, SUBTOKEN_PREFIX, sizeof SUBTOKEN_PREFIX - 1) == 0;
}

/* hex = the HMAC of the token's message, lowercase, NUL-terminated. */
static int subtoken_mac(const char *secret, const char *channel,
                        const char *expires, size_t expires_len,
                        char hex[SUBTOKEN_HEX + 1])
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "sselight-subscribe\n%.*s\n%s",
                     (int)expires_len, expires, channel);
    if (n < 0 || (size_t)n >= sizeof msg)
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
              (const unsigned char *)msg, (size_t)n, md, &mdlen) ||
        mdlen * 2 != SUBTOKEN_HEX)
        return -1;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int subtoken_sign(const char *secret, const char *channel, time_t expires,
                  char out[SUBTOKEN_MAX])
{
    char num[24], hex[SUBTOKEN_HEX + 1];
    int n = snprintf(num, sizeof num, "%lld", (long long)expires);
    if (expires < 0 || subtoken_mac(secret, channel, num, (size_t)n, hex) != 0)
        return -1;
    snprintf(out, SUBTOKEN_MAX, "%s.%s", num, hex);
    return 0;
}

enum subtoken_result subtoken_check(const char *secret, const char *channel,
                                    const char *token, time_t now)
{
    size_t digits = strspn(token, "0123456789");
    if (digits == 0 || digits > SUBTOKEN_EXPIRES_MAX || token[digits] != '.')
        return SUBTOKEN_MALFORMED;
    const char *sig = token + digits + 1;
    if (strlen(sig) != SUBTOKEN_HEX ||
        strspn(sig, "0123456789abcdef") != SUBTOKEN_HEX)
        return SUBTOKEN_MALFORMED;
    char want[SUBTOKEN_HEX + 1];
    if (subtoken_mac(secret, channel, token, digits, want) != 0 ||
        CRYPTO_memcmp(want, sig, SUBTOKEN_HEX) != 0)
        return SUBTOKEN_WRONG;
    /* At most 19 digits: always fits in 64 unsigned bits. */
    unsigned long long expires = 0;
    for (size_t i = 0; i < digits; i++)
        expires = expires * 10 + (unsigned)(token[i] - '0');
    if (now < 0 || expires <= (unsigned long long)now)
        return SUBTOKEN_EXPIRED;
    return SUBTOKEN_OK;
}
