/* check_jwt: the contract of jwt.h. The HS256 example of RFC 7515 (A.1),
 * key and token copied from the RFC, verifies until its exp. Every other
 * token is made here with OpenSSL directly (EVP_EncodeBlock for base64url,
 * HMAC, and EVP_DigestSign with RSA keys generated once per run), never
 * with jwt.c, and is refused with its own result: the algorithm (none,
 * another one, crit, an HS256 token against an RS256 key with the PEM as
 * its secret), the signature (every byte of it), the times, the framing.
 * Tokens are valid but for the one thing a case changes, so each refusal
 * has a single cause. Keys that are too weak or of the wrong kind do not
 * load. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_suites.h"
#include "jwt.h"

#define TOKEN_BUF (2 * JWT_TOKEN_MAX)

/* RFC 7515, Appendix A.1: the JWS, its JWK's "k", and the RFC's own list
 * of the bytes k decodes to (checked against each other in the test with
 * OpenSSL's decoder). */
#define RFC_TOKEN "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" \
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ" \
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_JWK_K "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKt" \
    "MN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
static const unsigned char rfc_key[] = {
    3, 35, 53, 75, 43, 15, 165, 188, 131, 126, 6, 101, 119, 123, 166, 143,
    90, 179, 40, 230, 240, 84, 201, 40, 169, 15, 132, 178, 210, 80, 46, 191,
    211, 251, 90, 146, 210, 6, 71, 239, 150, 138, 180, 195, 119, 98, 61, 34,
    61, 46, 33, 114, 5, 46, 79, 8, 192, 205, 154, 245, 103, 208, 128, 163,
};

#define SECRET "a-test-secret-that-is-32-bytes-!"
#define HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define CLAIMS "{\"mercure\":{\"publish\":[\"*\"]}}"

/* snprintf into out (size bytes), which must hold all of it. */
__attribute__((format(printf, 3, 4)))
static void fmt(char *out, size_t size, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(out, size, format, ap);
    va_end(ap);
    ck_assert_msg(n >= 0 && (size_t)n < size, "test buffer too small");
}

/* base64url of in (n bytes) without padding, by OpenSSL's encoder. */
static void b64url(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    ck_assert_int_ge(len, 0);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

/* The signature of input: RS256 with pkey, or else HMAC-SHA256 with secret
 * (len bytes). Returns its length. */
static size_t sign(const char *input, const void *secret, size_t len,
                   EVP_PKEY *pkey, unsigned char sig[512])
{
    size_t sig_len = 512;
    if (pkey) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ck_assert_ptr_nonnull(ctx);
        ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
                                            pkey), 1);
        ck_assert_int_eq(EVP_DigestSign(ctx, sig, &sig_len,
                                        (const unsigned char *)input,
                                        strlen(input)), 1);
        EVP_MD_CTX_free(ctx);
        return sig_len;
    }
    unsigned mac_len = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)len,
                               (const unsigned char *)input, strlen(input),
                               sig, &mac_len));
    return mac_len;
}

/* out (TOKEN_BUF bytes) = header.payload.signature of the two JSON texts,
 * signed as sign() does. */
static void make_token_key(char *out, const char *header, const char *payload,
                           const void *secret, size_t len, EVP_PKEY *pkey)
{
    char h[TOKEN_BUF], p[TOKEN_BUF], s[1024];
    b64url((const unsigned char *)header, strlen(header), h);
    b64url((const unsigned char *)payload, strlen(payload), p);
    fmt(out, TOKEN_BUF, "%s.%s", h, p);
    unsigned char sig[512];
    b64url(sig, sign(out, secret, len, pkey, sig), s);
    size_t n = strlen(out);
    fmt(out + n, TOKEN_BUF - n, ".%s", s);
}

static void make_token(char *out, const char *header, const char *payload)
{
    make_token_key(out, header, payload, SECRET, strlen(SECRET), NULL);
}

static struct jwt_key *hs_key(const char *secret)
{
    char err[200] = "";
    struct jwt_key *k = jwt_key_new(JWT_HS256, secret, strlen(secret), err,
                                    sizeof err);
    ck_assert_msg(k != NULL, "%s", err);
    return k;
}

/* jwt_verify with its payload contract checked: an object on OK (freed
 * here), NULL otherwise. */
static enum jwt_result verify_at(const struct jwt_key *k, const char *token,
                                 time_t now)
{
    json_t *payload = json_true(); /* must be overwritten either way */
    enum jwt_result r = jwt_verify(k, token, now, &payload);
    if (r == JWT_OK) {
        ck_assert(json_is_object(payload));
        json_decref(payload);
    } else {
        ck_assert_ptr_null(payload);
    }
    return r;
}

START_TEST(test_rfc7515_vector)
{
    /* The JWK's k, decoded by OpenSSL, is the RFC's byte list. */
    char std[sizeof RFC_JWK_K + 3];
    strcpy(std, RFC_JWK_K "==");
    for (char *p = std; *p; p++)
        *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
    unsigned char k_bytes[sizeof std];
    ck_assert_int_eq(EVP_DecodeBlock(k_bytes, (unsigned char *)std,
                                     (int)strlen(std)), 66); /* 64 + pad */
    ck_assert_mem_eq(k_bytes, rfc_key, sizeof rfc_key);

    char err[200];
    struct jwt_key *k = jwt_key_new(JWT_HS256, (const char *)rfc_key,
                                    sizeof rfc_key, err, sizeof err);
    ck_assert_msg(k != NULL, "%s", err);
    json_t *payload = NULL;
    ck_assert_int_eq(jwt_verify(k, RFC_TOKEN, 1300819379, &payload), JWT_OK);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "iss")),
                     "joe");
    ck_assert_int_eq(json_integer_value(json_object_get(payload, "exp")),
                     1300819380);
    ck_assert(json_is_true(json_object_get(payload,
                                           "http://example.com/is_root")));
    json_decref(payload);
    ck_assert_int_eq(verify_at(k, RFC_TOKEN, 1300819380), JWT_EXPIRED);
    ck_assert_int_eq(verify_at(k, RFC_TOKEN, 2000000000), JWT_EXPIRED);
    jwt_key_free(k);

    /* The same bytes but the last: the key is what verifies. */
    unsigned char other[sizeof rfc_key];
    memcpy(other, rfc_key, sizeof other);
    other[sizeof other - 1] ^= 1;
    k = jwt_key_new(JWT_HS256, (const char *)other, sizeof other, err,
                    sizeof err);
    ck_assert_int_eq(verify_at(k, RFC_TOKEN, 1300819379), JWT_BAD_SIGNATURE);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_hs256_good)
{
    struct jwt_key *k = hs_key(SECRET);
    char t[TOKEN_BUF];
    make_token(t, HS, CLAIMS);
    json_t *payload = NULL;
    ck_assert_int_eq(jwt_verify(k, t, 1000, &payload), JWT_OK);
    json_t *pub = json_object_get(json_object_get(payload, "mercure"),
                                  "publish");
    ck_assert_str_eq(json_string_value(json_array_get(pub, 0)), "*");
    json_decref(payload);
    /* A header with only alg, and the smallest payload. */
    make_token(t, "{\"alg\":\"HS256\"}", "{}");
    ck_assert_int_eq(verify_at(k, t, 0), JWT_OK);
    jwt_key_free(k);
}
END_TEST

/* exp and nbf: each payload signed correctly, verified at now. */
static const struct {
    const char *payload;
    time_t now;
    enum jwt_result want;
} times[] = {
    { "{\"exp\":2000}", 1999, JWT_OK },
    { "{\"exp\":2000}", 2000, JWT_EXPIRED },
    { "{\"exp\":2000}", 2001, JWT_EXPIRED },
    { "{\"exp\":2000.5}", 2000, JWT_OK },      /* a NumericDate's fraction */
    { "{\"exp\":2000.5}", 2001, JWT_EXPIRED },
    { "{\"nbf\":2000}", 1999, JWT_NOT_YET_VALID },
    { "{\"nbf\":2000}", 2000, JWT_OK },
    { "{\"nbf\":1000}", 5000, JWT_OK },        /* nbf in the past */
    { "{\"nbf\":1000,\"exp\":3000}", 2000, JWT_OK },
    { "{\"nbf\":1000,\"exp\":3000}", 999, JWT_NOT_YET_VALID },
    { "{\"nbf\":1000,\"exp\":3000}", 3000, JWT_EXPIRED },
    { "{\"exp\":\"2000\"}", 1, JWT_MALFORMED },
    { "{\"exp\":\"tomorrow\"}", 1, JWT_MALFORMED },
    { "{\"exp\":true}", 1, JWT_MALFORMED },
    { "{\"nbf\":null}", 1, JWT_MALFORMED },
    { "{\"nbf\":[1]}", 1, JWT_MALFORMED },
    { "{\"iat\":\"not checked\"}", 1, JWT_OK },
};

START_TEST(test_times)
{
    struct jwt_key *k = hs_key(SECRET);
    char t[TOKEN_BUF];
    make_token(t, HS, times[_i].payload);
    enum jwt_result r = verify_at(k, t, times[_i].now);
    ck_assert_msg(r == times[_i].want, "%s at %lld: got %d, want %d",
                  times[_i].payload, (long long)times[_i].now, r,
                  times[_i].want);
    /* Signed with another key, each is a bad signature whatever its
     * claims: the signature comes first. */
    make_token_key(t, HS, times[_i].payload, SECRET "x", strlen(SECRET) + 1,
                   NULL);
    ck_assert_int_eq(verify_at(k, t, times[_i].now), JWT_BAD_SIGNATURE);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_bad_signature)
{
    struct jwt_key *k = hs_key(SECRET);
    char t[TOKEN_BUF], h[256], p[256], s[256];
    b64url((const unsigned char *)HS, strlen(HS), h);
    b64url((const unsigned char *)CLAIMS, strlen(CLAIMS), p);
    char input[600];
    fmt(input, sizeof input, "%s.%s", h, p);
    unsigned char sig[512];
    sig[32] = 0x5a;                      /* the byte past the MAC, below */
    size_t sig_len = sign(input, SECRET, strlen(SECRET), NULL, sig);
    ck_assert_uint_eq(sig_len, 32);

    /* Each byte of the MAC, flipped, is enough to refuse. */
    for (size_t i = 0; i < sig_len; i++) {
        sig[i] ^= 0x01;
        b64url(sig, sig_len, s);
        sig[i] ^= 0x01;
        fmt(t, sizeof t, "%s.%s", input, s);
        ck_assert_msg(verify_at(k, t, 1) == JWT_BAD_SIGNATURE,
                      "byte %zu flipped", i);
    }
    /* The MAC cut short, one byte too long, or absent. */
    size_t lens[] = { 31, 33, 16, 1, 0 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        b64url(sig, lens[i], s);
        fmt(t, sizeof t, "%s.%s", input, s);
        ck_assert_msg(verify_at(k, t, 1) == JWT_BAD_SIGNATURE,
                      "%zu bytes of signature", lens[i]);
    }
    /* Unchanged, it verifies (so the cases above failed on the bytes). */
    b64url(sig, sig_len, s);
    fmt(t, sizeof t, "%s.%s", input, s);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_OK);

    /* Another secret; one byte shorter (still 32); the payload, then the
     * header, changed after signing. */
    make_token_key(t, HS, CLAIMS, SECRET "!", strlen(SECRET) + 1, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    struct jwt_key *k33 = hs_key(SECRET "!");
    make_token(t, HS, CLAIMS);
    ck_assert_int_eq(verify_at(k33, t, 1), JWT_BAD_SIGNATURE);
    jwt_key_free(k33);
    char forged[TOKEN_BUF];
    make_token(forged, HS, "{\"mercure\":{\"publish\":[\"admin\"]}}");
    *strrchr(forged, '.') = '\0';
    fmt(t, sizeof t, "%s.%s", forged, s);   /* the old signature */
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    b64url((const unsigned char *)"{\"alg\":\"HS256\"}", 15, h);
    fmt(t, sizeof t, "%s.%s.%s", h, p, s);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    jwt_key_free(k);
}
END_TEST

/* Headers refused whatever the signature: every token here is signed
 * correctly with HMAC-SHA256 under the key's own secret. */
static const char *const bad_headers[] = {
    "{\"alg\":\"none\"}",
    "{\"alg\":\"HS512\"}",
    "{\"alg\":\"HS384\"}",
    "{\"alg\":\"RS256\"}",
    "{\"alg\":\"hs256\"}",
    "{\"alg\":\"HS256 \"}",
    "{\"alg\":\"\"}",
    "{\"typ\":\"JWT\"}",                       /* alg missing */
    "{\"alg\":256}",
    "{\"alg\":null}",
    "{\"alg\":[\"HS256\"]}",
    "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
    "{\"alg\":\"HS256\",\"crit\":[]}",
    "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}",
};

START_TEST(test_bad_alg)
{
    struct jwt_key *k = hs_key(SECRET);
    char t[TOKEN_BUF];
    make_token(t, bad_headers[_i], CLAIMS);
    ck_assert_msg(verify_at(k, t, 1) == JWT_BAD_ALG, "%s", bad_headers[_i]);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_alg_none_unsigned)
{
    struct jwt_key *k = hs_key(SECRET);
    char t[TOKEN_BUF];
    make_token(t, "{\"alg\":\"none\"}", CLAIMS);
    strrchr(t, '.')[1] = '\0';                   /* "h.p." as RFC 7519 6.1 */
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    jwt_key_free(k);
}
END_TEST

/* Ways to break the framing of a good token t (HS + CLAIMS, signed). */
enum edit { TWO_PARTS, FOUR_PARTS, EMPTY_FOURTH, LEADING_DOT, SIG_PADDED,
            PAYLOAD_PADDED, SIG_PLUS, SIG_SLASH, PAYLOAD_SPACE, HEADER_BANG,
            SIG_NEWLINE, SIG_ODD_LENGTH, SIG_LOOSE_BITS, EDITS };

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "abcdefghijklmnopqrstuvwxyz0123456789-_";      /* RFC 4648, table 2 */

static void edit_token(char *t, enum edit e)
{
    size_t n = strlen(t);
    char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');
    char copy[TOKEN_BUF];
    strcpy(copy, t);
    switch (e) {
    case TWO_PARTS:      *dot2 = '\0'; break;
    case FOUR_PARTS:
        fmt(t, TOKEN_BUF, "%s.%s", copy, copy + (dot2 - t) + 1);
        break;
    case EMPTY_FOURTH:   strcat(t, "."); break;
    case LEADING_DOT:    fmt(t, TOKEN_BUF, ".%s", copy); break;
    case SIG_PADDED:     strcat(t, "="); break;      /* 43 chars + "=" */
    case PAYLOAD_PADDED:
        fmt(t, TOKEN_BUF, "%.*s=%s", (int)(dot2 - t), copy,
                 copy + (dot2 - t));
        break;
    case SIG_PLUS:       dot2[1] = '+'; break;       /* standard alphabet */
    case SIG_SLASH:      dot2[1] = '/'; break;
    case PAYLOAD_SPACE:  dot1[1] = ' '; break;
    case HEADER_BANG:    t[1] = '!'; break;
    case SIG_NEWLINE:    t[n - 1] = '\n'; break;
    case SIG_ODD_LENGTH: strcat(t, "AA"); break;     /* 45 chars: 4n + 1 */
    case SIG_LOOSE_BITS:
        /* 43 characters carry 2 bits past the 32 bytes, which the encoder
         * leaves 0: with one set, the text is no encoder's. */
        t[n - 1] = b64_alphabet[(strchr(b64_alphabet, t[n - 1]) -
                                 b64_alphabet) | 1];
        break;
    case EDITS: break;
    }
}

START_TEST(test_framing)
{
    struct jwt_key *k = hs_key(SECRET);
    char t[TOKEN_BUF];
    /* CLAIMS is 31 bytes: its text needs padding ("=") to be 4n. */
    make_token(t, HS, CLAIMS);
    ck_assert_uint_eq(strlen(strrchr(t, '.') + 1), 43);
    edit_token(t, (enum edit)_i);
    enum jwt_result r = verify_at(k, t, 1);
    ck_assert_msg(r == JWT_MALFORMED, "edit %d: '%s' got %d", _i, t, r);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_malformed_json)
{
    struct jwt_key *k = hs_key(SECRET);
    char t[TOKEN_BUF];
    static const char *const not_objects[][2] = {
        { "not json", CLAIMS },
        { "[\"HS256\"]", CLAIMS },
        { "{\"alg\":\"HS256\"} x", CLAIMS },
        { "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", CLAIMS },
        { HS, "[1,2]" },
        { HS, "\"claims\"" },
        { HS, "not json" },
        { HS, "{\"exp\":1e999}" },
        { HS, "{\"a\":1,\"a\":2}" },
        { HS, "" },
    };
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
        make_token(t, not_objects[i][0], not_objects[i][1]);
        enum jwt_result r = verify_at(k, t, 1);
        ck_assert_msg(r == JWT_MALFORMED, "%s . %s: got %d",
                      not_objects[i][0], not_objects[i][1], r);
    }
    ck_assert_int_eq(verify_at(k, "", 1), JWT_MALFORMED);
    ck_assert_int_eq(verify_at(k, "..", 1), JWT_MALFORMED);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_token_max)
{
    /* Tokens from just under to just over JWT_TOKEN_MAX bytes: up to it,
     * valid; past it, malformed, good signature or not. */
    struct jwt_key *k = hs_key(SECRET);
    static char claims[JWT_TOKEN_MAX], t[TOKEN_BUF];
    int at_max = 0, past_max = 0;
    for (size_t pad = JWT_TOKEN_MAX * 3 / 4 - 80;
         pad < JWT_TOKEN_MAX * 3 / 4 - 50; pad++) {
        fmt(claims, sizeof claims, "{\"p\":\"%0*d\"}", (int)pad, 0);
        make_token(t, HS, claims);
        size_t n = strlen(t);
        enum jwt_result want = n <= JWT_TOKEN_MAX ? JWT_OK : JWT_MALFORMED;
        ck_assert_msg(verify_at(k, t, 1) == want, "%zu bytes", n);
        at_max |= n == JWT_TOKEN_MAX;
        past_max |= n == JWT_TOKEN_MAX + 1;
    }
    ck_assert(at_max && past_max);
    jwt_key_free(k);
}
END_TEST

/* Test keys, made for this test with openssl genpkey (RSA 2048, 2048 and
 * 1024 bits, EC P-256) and kept here: generating RSA keys at every run
 * took 20 s under valgrind. They sign nothing outside this file. */
static const char TEST_RSA_2048_A[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCyRoXmJ1m9kEhR\n"
    "qo4fuuFtbdI5r6k5VADntZ/kkW99O4VGBDcz8a+uigx7ZWuaVwpyALPjiF82u4Vp\n"
    "H0xSnnKp7RlJQBe+K5Qralar17hLgelPA9Ma8jbfXEG/wRJDQLVNY2tQvlzjPuIy\n"
    "XaL/CFjhvO4ARuC1ute9Wz9EaAegI9VG8BkgcmPSNWSdVFDep3V2JwUs9gdSNoVs\n"
    "fhPPzJP645wBXZnf/9JFA37SmAs6k7p6Oq+KCUUTT/UA8ww46slrmzIPkka0zoqE\n"
    "1T8fVXWnUcftJbpH76Op6cQkbLqgwWvgn6A6JphrkQUxtlvHtFE7JUDOKjIS3NGE\n"
    "V/vvCdaHAgMBAAECggEAJQnh599lFa1UWSNGQ/FfxIx8kN+eGPsK9RkXDzXoI+yp\n"
    "09IsZe5gwbKMxVZc9MQAt47N0QgUQBrVrPGDueaRjBxmlIFsbWZAcoS1XR6Ee6uR\n"
    "/Yid44tPOzi/sEc8tBxNjraJJU1nnw8Bj9VEeBgT31KRYB1ZsmgPSpganOvAKdTv\n"
    "MsDeVHpNJzlozah3J+M6wZI54YnB2TVz2FsVKWjREDZjJvzCl8k7dA0hdhUXSMkl\n"
    "p96w+Zljlf6OLCA3gZ36enNhBwXiNxyOFPgypzivKx9vhg0SAg9y4LzjBwzuyW0R\n"
    "6za3CkWsxIE2/DNrpQZjQ+roR5m+SSsP7W3pJfR2gQKBgQDehtYtMfjNF+vaOoI+\n"
    "Z+tnDKckbixRfz+lC2V/TwpxWdZQcAneeD1Yq+nrgjwk6wa5nqyMXg8IuIhaHzFt\n"
    "w7amkYmXjs7cueneK3C9vwwzHidfBF/0uwoigjNmwg4dIRhmWBIvuxIp7AnUMMGe\n"
    "NLrIscAaqiHNsb/0NaMsP3YOXQKBgQDNF6Otj422lhCvQRrH2mmUyh7MN/N1/nJE\n"
    "5S1iLl73vhd1u3GiWgAVLKRzqsiLzZZbr9quS/h71vqqn+gOVE+Vm4m3fLkDJ70q\n"
    "94HXuR3SQeWfQUdGUZtoyPUqeKGWwtJSY2OVLZ5geAujXWnp7+QE4iwQbzNMj0N/\n"
    "5I57rwVCMwKBgQCPLORrKebyVvzaaaDZdFWi9SIpr3V2blBN6fpBImMOsYXSNXQ0\n"
    "HtshzWLxs9bszgeCsNRGcFJuAwVALyfHfxBrNeL4j9sLa9dMqliczWqVDUa5vP/c\n"
    "X+fSckGOUTdxiJTBbNMuwMecD5H3Y/N/zl+Lt8ppnaOoTEC8aTJ2ytIzxQKBgQCJ\n"
    "toPbePcpUR6m70pyRAB9PjLr4e4CnvZPuKt+r7BpHiVWkqS85T4E+dL7MAQ1i7iY\n"
    "nD50puKVFUd/5pvFc2t1A9m3cXIx4i8teMCg/9Y8Zq8u/oBDgWyfMcEd4Z5vQyZC\n"
    "2CX394fPMwxth74krUYo2U3JQ0Ho+JHUgL4D4wPe7QKBgCY407DfSs85EGr6BE8f\n"
    "tiE5HDRD/pNBRkk63MEA9HFywyarPigOouc87gz+33QKiEHTJ5uSjKu9+4HIQeYT\n"
    "HhGHIzuOOiKmG4yS80cHpLwyIVB6pc03GfFPTxYp1N1Q+N8KVm7Q9+bZIDfqFTSx\n"
    "OmNnhjqtce3t+0221UQ1X+/s\n"
    "-----END PRIVATE KEY-----\n";
static const char TEST_RSA_2048_B[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC1YfRrIaPtXb/p\n"
    "Eo+No3f0tTFN5P64IFz/gBnGUWQF16BIdiqXxMjMGvrlYq6iQDDHlDC0xvKtEbh1\n"
    "lc86rQuZi+8vk95kWwBae7BXMFmBSf+krTqAm6Kz0MkRk+aQzbqQunzdLJ2pkevI\n"
    "mkLsd4AGu3yX8UDVqiV/xq9RUOrUKHHqYxe8ePgUhoY3lJTaeH4tC3knQeJd/eqE\n"
    "1gl1gIo6sHT1FS8zbjc3rI0VghFePbYgqEwG7OnmkH839d1s1IcFcdNc2dxfTEaE\n"
    "r/Flx6D9doqSqKYOECFeVIV7cx7BBlVFV48ax5M0jE1HBlIQd1uFxfH31cmi40kl\n"
    "nRC1bybBAgMBAAECggEAO0i/dy6hIkm0mqz237AQ2ppIebHBsZPeYaJQiln668/s\n"
    "8xIwXLe0e8XLwKLO+ngpmWntu4CVPA0hMcmb2I1Lz82FiZL2qu11gZ2Q5waGErSJ\n"
    "ip0WFIgKF2TD+2tQfn7HnltdyXq2M4DexIvrGNf8L/ciw5TWgJ+irw9VKSpd/qaF\n"
    "zUfeI7UAivuHwFyo2SustJ0bGYW9yj3N3TYqIbe7nUn6D+/vvKIa7/dBUQfb/wV4\n"
    "6RwdBcTKhKVl24q1jewa6QaI5xgqorl8c73FF98jOs33YGUkYFeboVJ+pBsAsc3b\n"
    "YmNbXPLzDuCD62L4acARs2so4mHy8EChlZoDOdTbmwKBgQDw0VkDq3ZJVTK6PMpb\n"
    "y47fBnaqfZ4Cd/3iO6u1Dw+KDEjfHMhgokXPUYU11yvezsTm6QuE0DUxcc9Fqamp\n"
    "GLToWiDxSP6j1uD8i8PbuSbdyRM1PUvgszKkOhAKftI6Ykfp3fLWAqsn2ReQFJUU\n"
    "znfkdbm89A63ug/RMp463QC7WwKBgQDA0Vw2t8yeVq6ZVn4IG7lVn6krZW5FFtTb\n"
    "hcNul7GcWM/wUPiSr1MQkKWQzxG5FAdXAutfmsBMTHr4R3+HDZLoo6+PphiRxICM\n"
    "R9tllxC4SC7LOK9yI58Aop6nBQvejuN0NwYxN7rl0qyMJo7njCAP/vcUbGTnuzzL\n"
    "0FFm7CrtEwKBgQCRSn0eDbDMBa8ZVdvxDhsgy9GEg011x9dRSxcJohCKBWdh1Qe/\n"
    "5aegsVphZXR+dNmvRyM/+i5dqoCXUwmdj9514QrHCHc5ekc7l0ePpWGhpdME5/qD\n"
    "kxoWo0FSU7map/kjTFlabTm+TOg+cWyQpREIsU5ihgzrJEKuwI9ejEAIyQKBgFoZ\n"
    "ep2XBWZ32t6MLBhd3BzGnqZIn15pbM2nk8r512TXm1MQgxcIFiiHbtZb7Ewvr75Y\n"
    "/uONzI3arxuVTWIuVZef5Umas6Bp0ie67CpsjMOP902/DzymqIYDd19UXFeDLYYA\n"
    "sEQPZqY966MR4XURZWoUGiDRBdXDCIW0slUFxolBAoGBAJNxL+9hC2ayg4kuUHit\n"
    "/NXHYsFuvnZfmN9+fxpyraKk+gN42dLNOOtiZFrzb+eH5zjju+z7PctYgDfrptIo\n"
    "2Te9jZrzHwK1Y5vw99yo/OkSWG+1Zpa2v4tegmRLcoOuQaKIgZtlEfm4Z/5nAjBV\n"
    "+w8NzrqfCU3t/7VLL2UYd7lL\n"
    "-----END PRIVATE KEY-----\n";
static const char TEST_RSA_1024[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAMo2Fuuh1xuNy4/8\n"
    "UVM/SourDetTGSi2e4suzGnqb6mpL02zGr+4yOMFYqNngWcS6SOw90/qAO3F0O9l\n"
    "YIMNVW6rMpjntHUZE727I7NpccPLgN2XFtUv8eBr1AV+P6pKZ8aObPopR09nta3X\n"
    "8n+VTWDET2+gJBujUVzQ68lHjtsVAgMBAAECgYAgtXklqmsqONiJtO3OwnkjeIrq\n"
    "2ulB7aq0S+Ci7VocnpJZRjR4eMJ9/nwDJJYI/0UZEeIfWiHGVG5EmyhuanS8BWZo\n"
    "fiGXicAxzSgPIg6kt3J/2VbpHDAypFb6GJQ5R/HD4CDL4vRw2BtLIV4qFFGiEn1c\n"
    "HcoW0e6D1U+HOWUDYQJBAO2I9eTSfUyP72RwEp1uhegELu0hbG/EzcC/2Z3iVIwC\n"
    "VRhNYtsQIQiNr+ooZ0e/HPjQUu3f3leo2Cu4CTTMd8kCQQDZ7ixbGIDuTiiS4i4D\n"
    "+HPoMNkrYIvDjKhN+IK5ypxsPcuilsnazRnVBcR8xD168CFCZOVqnM1RUzsRjGlI\n"
    "60btAkEAvYhsVDIUYrPy25yFbfMTi+dSnknuIVzSpDsw5EcFGVZ/Gc4d1BgRk6ai\n"
    "uF+W0WvQLUTk9wOLgTyriG7ngaao6QJBAJEemejba1fFMh2FgfDg7IYMqUDKXKeO\n"
    "LbEmMB76PamSiNyvHqGV/IKvAYW3w9zutKcauu6AlfR2wRnRb3bAPY0CQQCPsiSp\n"
    "TcAr6NQ7zONmjSDKTNvpAF27aEVViCBP0ooLd4EAuSphNdZsuJrm3agssesd1f6/\n"
    "YkNzkCC+mBeOPTpJ\n"
    "-----END PRIVATE KEY-----\n";
static const char TEST_EC_P256[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmAq3vA9DUzRd1Ts7\n"
    "/KAFdKsLshQImbTdkpkTiPs4tUihRANCAAS06LaslILH2T8+8Cfj4PSWuJW3xcdX\n"
    "HTD7vNXr8jggHMq1xuGLOah/isJQOEIVXlRPrJGTGEYk88JfN7xFWgAx\n"
    "-----END PRIVATE KEY-----\n";

/* The private key in pem (one of the above). */
static EVP_PKEY *test_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    ck_assert_ptr_nonnull(bio);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ck_assert_ptr_nonnull(k);
    return k;
}

/* Two RSA keys, loaded once per run (before Check forks). */
static EVP_PKEY *rsa_key, *rsa_other;
static char *rsa_pem;

static char *public_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    ck_assert_ptr_nonnull(bio);
    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pkey), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    ck_assert_int_gt(n, 0);
    char *pem = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(pem);
    memcpy(pem, data, (size_t)n);
    BIO_free(bio);
    return pem;
}

static void rsa_setup(void)
{
    rsa_key = test_key(TEST_RSA_2048_A);
    rsa_other = test_key(TEST_RSA_2048_B);
    ck_assert_ptr_nonnull(rsa_key);
    ck_assert_ptr_nonnull(rsa_other);
    rsa_pem = public_pem(rsa_key);
}

static void rsa_teardown(void)
{
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_other);
    free(rsa_pem);
}

static struct jwt_key *rs_key(void)
{
    char err[200] = "";
    struct jwt_key *k = jwt_key_new(JWT_RS256, rsa_pem, strlen(rsa_pem), err,
                                    sizeof err);
    ck_assert_msg(k != NULL, "%s", err);
    return k;
}

START_TEST(test_rs256)
{
    struct jwt_key *k = rs_key();
    char t[TOKEN_BUF];
    make_token_key(t, RS, "{\"sub\":\"pub\",\"exp\":50}", NULL, 0, rsa_key);
    json_t *payload = NULL;
    ck_assert_int_eq(jwt_verify(k, t, 49, &payload), JWT_OK);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "sub")), "pub");
    json_decref(payload);
    ck_assert_int_eq(verify_at(k, t, 50), JWT_EXPIRED);
    make_token_key(t, RS, "{\"nbf\":50}", NULL, 0, rsa_key);
    ck_assert_int_eq(verify_at(k, t, 49), JWT_NOT_YET_VALID);
    ck_assert_int_eq(verify_at(k, t, 50), JWT_OK);

    /* Signed by another key; a changed payload; signature bytes flipped. */
    make_token_key(t, RS, CLAIMS, NULL, 0, rsa_other);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    char h[128], p[128], s[512], input[300];
    b64url((const unsigned char *)RS, strlen(RS), h);
    b64url((const unsigned char *)CLAIMS, strlen(CLAIMS), p);
    fmt(input, sizeof input, "%s.%s", h, p);
    unsigned char sig[512];
    size_t sig_len = sign(input, NULL, 0, rsa_key, sig);
    ck_assert_uint_eq(sig_len, 256);
    size_t flips[] = { 0, 100, 255 };
    for (size_t i = 0; i < 3; i++) {
        sig[flips[i]] ^= 0x80;
        b64url(sig, sig_len, s);
        sig[flips[i]] ^= 0x80;
        fmt(t, sizeof t, "%s.%s", input, s);
        ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    }
    b64url(sig, sig_len, s);
    fmt(t, sizeof t, "%s.%s", input, s);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_OK);
    b64url((const unsigned char *)"{\"admin\":true}", 14, p);
    fmt(t, sizeof t, "%s.%s.%s", h, p, s);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_rs256_confusion)
{
    struct jwt_key *k = rs_key();
    char t[TOKEN_BUF];
    /* The classic attack: HS256, with the public PEM as the HMAC secret. */
    make_token_key(t, HS, CLAIMS, rsa_pem, strlen(rsa_pem), NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    /* The same MAC under a header that claims RS256 is just a bad
     * signature. */
    make_token_key(t, RS, CLAIMS, rsa_pem, strlen(rsa_pem), NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    /* alg none, signed or not. */
    make_token_key(t, "{\"alg\":\"none\"}", CLAIMS, NULL, 0, rsa_key);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    strrchr(t, '.')[1] = '\0';
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    /* And a good RS256 token is nothing to an HS256 key, even one whose
     * secret is that PEM. */
    struct jwt_key *h = hs_key(rsa_pem);
    make_token_key(t, RS, CLAIMS, NULL, 0, rsa_key);
    ck_assert_int_eq(verify_at(h, t, 1), JWT_BAD_ALG);
    jwt_key_free(h);
    jwt_key_free(k);
}
END_TEST

/* PEM text of pkey's private half, for a key that must not load. */
static char *private_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    ck_assert_ptr_nonnull(bio);
    ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
                                              NULL), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *pem = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(pem);
    memcpy(pem, data, (size_t)n);
    BIO_free(bio);
    return pem;
}

/* jwt_key_new must refuse; err must name why (contain want). */
static void refused(enum jwt_alg alg, const char *key, size_t len,
                    const char *want)
{
    char err[200] = "";
    struct jwt_key *k = jwt_key_new(alg, key, len, err, sizeof err);
    ck_assert_msg(k == NULL, "key of %zu bytes loaded", len);
    ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
}

START_TEST(test_keys_refused)
{
    refused(JWT_HS256, SECRET, 31, "32");
    refused(JWT_HS256, "", 0, "32");
    static char big[JWT_KEY_MAX + 1];
    memset(big, 'k', sizeof big);
    refused(JWT_HS256, big, sizeof big, "at most");
    jwt_key_free(hs_key(SECRET));                /* 32 bytes: enough */

    const char junk[] = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n"
                        "-----END PUBLIC KEY-----\n";
    refused(JWT_RS256, junk, strlen(junk), "PUBLIC KEY");
    refused(JWT_RS256, "", 0, "PUBLIC KEY");
    refused(JWT_RS256, SECRET, strlen(SECRET), "PUBLIC KEY");

    EVP_PKEY *small = test_key(TEST_RSA_1024), *ec = test_key(TEST_EC_P256);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(ec);
    char *pem = public_pem(small);
    refused(JWT_RS256, pem, strlen(pem), "2048");
    /* Cut one line short, the 1024-bit PEM is no key at all. */
    refused(JWT_RS256, pem, strlen(pem) - 30, "PUBLIC KEY");
    free(pem);
    pem = private_pem(small);
    refused(JWT_RS256, pem, strlen(pem), "PUBLIC KEY");
    free(pem);
    pem = public_pem(ec);
    ck_assert_ptr_nonnull(strstr(pem, "BEGIN PUBLIC KEY"));
    refused(JWT_RS256, pem, strlen(pem), "RSA");
    free(pem);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ec);
}
END_TEST

START_TEST(test_key_copied)
{
    /* The key keeps its own copy of the secret. */
    char secret[] = SECRET;
    char err[200];
    struct jwt_key *k = jwt_key_new(JWT_HS256, secret, strlen(secret), err,
                                    sizeof err);
    ck_assert_ptr_nonnull(k);
    memset(secret, 'z', strlen(secret));
    char t[TOKEN_BUF];
    make_token(t, HS, CLAIMS);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_OK);
    jwt_key_free(k);
    jwt_key_free(NULL);
}
END_TEST

START_TEST(test_alg_parse_and_text)
{
    enum jwt_alg a = JWT_HS256;
    ck_assert_int_eq(jwt_alg_parse("RS256", &a), 0);
    ck_assert_int_eq(a, JWT_RS256);
    ck_assert_int_eq(jwt_alg_parse("HS256", &a), 0);
    ck_assert_int_eq(a, JWT_HS256);
    const char *bad[] = { "none", "hs256", "HS256 ", "RS", "HS512", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = JWT_RS256;
        ck_assert_int_eq(jwt_alg_parse(bad[i], &a), -1);
        ck_assert_int_eq(a, JWT_RS256);
    }
    ck_assert_str_eq(jwt_result_text(JWT_EXPIRED), "expired");
    ck_assert_str_eq(jwt_result_text(JWT_BAD_SIGNATURE), "bad signature");
    /* Six results, six different texts. */
    for (int i = JWT_OK; i <= JWT_NOT_YET_VALID; i++)
        for (int j = i + 1; j <= JWT_NOT_YET_VALID; j++)
            ck_assert_str_ne(jwt_result_text((enum jwt_result)i),
                             jwt_result_text((enum jwt_result)j));
}
END_TEST

Suite *make_jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("hs256");
    tcase_add_test(tc, test_rfc7515_vector);
    tcase_add_test(tc, test_hs256_good);
    tcase_add_loop_test(tc, test_times, 0,
                        (int)(sizeof times / sizeof times[0]));
    tcase_add_test(tc, test_bad_signature);
    tcase_add_loop_test(tc, test_bad_alg, 0,
                        (int)(sizeof bad_headers / sizeof bad_headers[0]));
    tcase_add_test(tc, test_alg_none_unsigned);
    tcase_add_loop_test(tc, test_framing, 0, EDITS);
    tcase_add_test(tc, test_malformed_json);
    tcase_add_test(tc, test_token_max);
    tcase_add_test(tc, test_key_copied);
    tcase_add_test(tc, test_alg_parse_and_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("rs256");
    tcase_set_timeout(tc, 120); /* RSA key generation, under valgrind too */
    tcase_add_unchecked_fixture(tc, rsa_setup, rsa_teardown);
    tcase_add_test(tc, test_rs256);
    tcase_add_test(tc, test_rs256_confusion);
    tcase_add_test(tc, test_keys_refused);
    suite_add_tcase(s, tc);
    return s;
}
