/* jwt: JWS/JWT verification. See jwt.h. */
#include "jwt.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 4648, table 2: the base64url alphabet, in the order of its values
 * (an array, so that a character's offset in it is its value). */
#define JWT_B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
                   "0123456789-_"
static const char jwt_b64url[] = JWT_B64URL;

struct jwt_key {
    enum jwt_alg alg;
    unsigned char *secret;  /* HS256 */
    size_t secret_len;
    EVP_PKEY *pkey;         /* RS256 */
};

/* The RS256 half of jwt_key_new: k->pkey, or a reason in err. */
static int jwt_key_load_pem(struct jwt_key *k, const char *pem, size_t len,
                            char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio)
        k->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    /* A PEM that does not parse leaves errors on this thread's queue. */
    ERR_clear_error();
    if (!k->pkey)
        snprintf(err, errlen, "an RS256 key must be the PEM text of a public "
                 "key (-----BEGIN PUBLIC KEY-----)");
    else if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA)
        snprintf(err, errlen, "an RS256 key must be an RSA key");
    else if (EVP_PKEY_get_bits(k->pkey) < JWT_RSA_BITS_MIN)
        snprintf(err, errlen, "an RS256 key must have at least %d bits, "
                 "not %d", JWT_RSA_BITS_MIN, EVP_PKEY_get_bits(k->pkey));
    else
        return 0;
    return -1;
}

struct jwt_key *jwt_key_new(enum jwt_alg alg, const char *key, size_t len,
                            char *err, size_t errlen)
{
    if (alg != JWT_HS256 && alg != JWT_RS256) {
        snprintf(err, errlen, "unknown JWT algorithm %d", (int)alg);
        return NULL;
    }
    if (len > JWT_KEY_MAX) {
        snprintf(err, errlen, "a JWT key must be at most %d bytes, not %zu",
                 JWT_KEY_MAX, len);
        return NULL;
    }
    if (alg == JWT_HS256 && len < JWT_HMAC_KEY_MIN) {
        snprintf(err, errlen, "an HS256 key must be at least %d bytes, not %zu",
                 JWT_HMAC_KEY_MIN, len);
        return NULL;
    }
    struct jwt_key *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory for a JWT key");
        return NULL;
    }
    k->alg = alg;
    if (alg == JWT_RS256) {
        if (jwt_key_load_pem(k, key, len, err, errlen) == 0)
            return k;
    } else if ((k->secret = malloc(len)) != NULL) {
        memcpy(k->secret, key, len);
        k->secret_len = len;
        return k;
    } else {
        snprintf(err, errlen, "out of memory for a JWT key");
    }
    jwt_key_free(k);
    return NULL;
}

void jwt_key_free(struct jwt_key *k)
{
    if (!k)
        return;
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    EVP_PKEY_free(k->pkey);
    free(k);
}

int jwt_alg_parse(const char *name, enum jwt_alg *out)
{
    if (strcmp(name, "HS256") == 0)
        *out = JWT_HS256;
    else if (strcmp(name, "RS256") == 0)
        *out = JWT_RS256;
    else
        return -1;
    return 0;
}

const char *jwt_result_text(enum jwt_result r)
{
    switch (r) {
    case JWT_OK:            return "valid";
    case JWT_MALFORMED:     return "malformed";
    case JWT_BAD_ALG:       return "algorithm not accepted";
    case JWT_BAD_SIGNATURE: return "bad signature";
    case JWT_EXPIRED:       return "expired";
    case JWT_NOT_YET_VALID: return "not yet valid (nbf)";
    }
    return "invalid";
}

/* base64url (RFC 4648 section 5) without padding, as JWS uses it. By hand,
 * because OpenSSL's EVP_DecodeBlock takes the other alphabet and wants
 * padding. s (n bytes) must already be in JWT_B64URL; decodes it into out
 * (room for n * 3 / 4 bytes) and returns the length, or -1 for a length no
 * encoder makes or nonzero leftover bits (so each value has one text). */
static long jwt_b64url_decode(const char *s, size_t n, unsigned char *out)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(strchr(jwt_b64url, s[i]) - jwt_b64url);
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    return acc != 0 ? -1 : (long)o;
}

/* raw (n bytes) as a JSON object; NULL if it is not one. */
static json_t *jwt_json_object(const unsigned char *raw, size_t n)
{
    json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* 1 if sig (len bytes) signs input (n bytes) under k, else 0. */
static int jwt_signature_ok(const struct jwt_key *k, const char *input,
                            size_t n, const unsigned char *sig, size_t len)
{
    if (k->alg == JWT_HS256) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
                  (const unsigned char *)input, n, mac, &mac_len)) {
            ERR_clear_error();
            return 0;
        }
        return len == mac_len && CRYPTO_memcmp(mac, sig, len) == 0;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx &&
             EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
                                  k->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, len, (const unsigned char *)input,
                              n) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        ERR_clear_error();
    return ok;
}

/* The NumericDate claim name: 1 absent or satisfied, 0 not, -1 not a
 * number. after: now must be before it (exp), else at or after it (nbf). */
static int jwt_time_ok(json_t *claims, const char *name, time_t now,
                       int after)
{
    json_t *v = json_object_get(claims, name);
    if (!v)
        return 1;
    if (!json_is_number(v))
        return -1;
    double t = json_number_value(v);
    return after ? (double)now < t : (double)now >= t;
}

enum jwt_result jwt_verify(const struct jwt_key *k, const char *token,
                           time_t now, json_t **payload)
{
    *payload = NULL;
    size_t n = strnlen(token, JWT_TOKEN_MAX + 1);
    if (n > JWT_TOKEN_MAX || strspn(token, JWT_B64URL ".") != n)
        return JWT_MALFORMED;
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.'))
        return JWT_MALFORMED;

    /* Each part decodes to at most 3/4 of its text, so the three fit in
     * one buffer of the token's bound, one after another. */
    unsigned char raw[JWT_TOKEN_MAX];
    long head_len = jwt_b64url_decode(token, (size_t)(dot1 - token), raw);
    unsigned char *body = raw + (head_len > 0 ? head_len : 0);
    long body_len = jwt_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1),
                                      body);
    unsigned char *sig = body + (body_len > 0 ? body_len : 0);
    long sig_len = jwt_b64url_decode(dot2 + 1, strlen(dot2 + 1), sig);
    if (head_len < 0 || body_len < 0 || sig_len < 0)
        return JWT_MALFORMED;

    json_t *header = jwt_json_object(raw, (size_t)head_len);
    if (!header)
        return JWT_MALFORMED;
    json_t *alg = json_object_get(header, "alg");
    enum jwt_alg a;
    int alg_ok = json_is_string(alg) &&
                 jwt_alg_parse(json_string_value(alg), &a) == 0 &&
                 a == k->alg && !json_object_get(header, "crit");
    json_decref(header);
    if (!alg_ok)
        return JWT_BAD_ALG;
    if (!jwt_signature_ok(k, token, (size_t)(dot2 - token), sig,
                          (size_t)sig_len))
        return JWT_BAD_SIGNATURE;

    json_t *claims = jwt_json_object(body, (size_t)body_len);
    if (!claims)
        return JWT_MALFORMED;
    int exp = jwt_time_ok(claims, "exp", now, 1);
    int nbf = jwt_time_ok(claims, "nbf", now, 0);
    enum jwt_result r = exp < 0 || nbf < 0 ? JWT_MALFORMED
                      : !exp ? JWT_EXPIRED
                      : !nbf ? JWT_NOT_YET_VALID : JWT_OK;
    if (r == JWT_OK)
        *payload = claims;
    else
        json_decref(claims);
    return r;
}
