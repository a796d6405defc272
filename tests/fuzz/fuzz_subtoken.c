/* fuzz_subtoken: subscription tokens (subtoken.h) from untrusted ?token=.
 *
 * Input: one byte picks how "now" relates to the token's time, the rest is
 * split at the first '\n' into a channel name and a token text.
 * Properties:
 *  - subtoken_check never reads past the token and returns one of the four
 *    results; it is MALFORMED exactly when the text is not 1-19 digits, a
 *    dot and 64 lowercase hex digits (checked by a reference written here);
 *  - a well-formed token that is not the signature of (channel, time) is
 *    WRONG, whatever "now" is (a forger learns nothing from the expiry);
 *  - the token subtoken_sign makes for the channel and the token's time is
 *    OK before that time and EXPIRED from it on, and changing any one hex
 *    digit of it makes it WRONG. */
#include "fuzz_check.h"

#include "subtoken.h"

#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret!"

static int ref_well_formed(const char *t, unsigned long long *expires)
{
    size_t d = 0;
    *expires = 0;
    while (t[d] >= '0' && t[d] <= '9') {
        if (d < 19)
            *expires = *expires * 10 + (unsigned)(t[d] - '0');
        d++;
    }
    if (d < 1 || d > 19 || t[d] != '.')
        return 0;
    const char *h = t + d + 1;
    size_t n = 0;
    while ((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f'))
        n++;
    return n == 64 && h[n] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 512)
        return 0;
    int when = data[0] % 3; /* 0: long before, 1: at the time, 2: after */
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    const uint8_t *nl = memchr(rest, '\n', n);
    size_t cn = nl ? (size_t)(nl - rest) : n;
    char *channel = fuzz_strndup(rest, cn > 64 ? 64 : cn);
    char *token = nl ? fuzz_strndup(nl + 1, n - cn - 1) : fuzz_strndup(rest, 0);

    unsigned long long exp;
    int wf = ref_well_formed(token, &exp);
    time_t tmax = (time_t)0x7fffffffffffffffLL;
    time_t now = when == 0 ? 0 : when == 1 ? (exp > (unsigned long long)tmax
                                              ? tmax : (time_t)exp)
                                           : tmax;
    enum subtoken_result r = subtoken_check(SECRET, channel, token, now);
    FUZZ_CHECK(r == SUBTOKEN_OK || r == SUBTOKEN_MALFORMED ||
               r == SUBTOKEN_EXPIRED || r == SUBTOKEN_WRONG, "a known result");
    FUZZ_CHECK((r == SUBTOKEN_MALFORMED) == !wf, "malformed exactly when the "
               "reference says so");

    if (wf && exp <= (unsigned long long)tmax) {
        char good[SUBTOKEN_MAX];
        FUZZ_CHECK(subtoken_sign(SECRET, channel, (time_t)exp, good) == 0,
                   "sign");
        /* The fuzzer cannot forge an HMAC: any other well-formed text (even
         * the same time with leading zeros, which is signed as written) is
         * wrong. */
        if (strcmp(good, token) != 0)
            FUZZ_CHECK(r == SUBTOKEN_WRONG, "not the signature: wrong");
        FUZZ_CHECK(subtoken_check(SECRET, channel, good, 0) ==
                   (exp > 0 ? SUBTOKEN_OK : SUBTOKEN_EXPIRED), "fresh token");
        FUZZ_CHECK(subtoken_check(SECRET, channel, good, (time_t)exp) ==
                   SUBTOKEN_EXPIRED, "expired at its time");
        size_t at = strlen(good) - 1 - (data[0] % 64);
        good[at] = good[at] == '0' ? '1' : '0';
        FUZZ_CHECK(subtoken_check(SECRET, channel, good, 0) == SUBTOKEN_WRONG,
                   "one hex digit changed is wrong");
    }
    free(channel);
    free(token);
    return 0;
}
