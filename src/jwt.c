/* jwt: JWS/JWT verification. See jwt.h. */
#include "jwt.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct jwt_key {
    enum jwt_alg alg;
    unsigned char *secret;  /* HS256 */
    size_t secret_len;
    EVP_PKEY *pkey;         /* RS256 */
};

struct jwt_key *jwt_key_new(enum jwt_alg alg, const char *key, size_t len,
                            char *err, size_t errlen)
{
    struct jwt_key *k = mem_calloc(1, sizeof *k);
    k->alg = alg;
    if (alg == JWT_HS256) {
        if (len < JWT_HMAC_KEY_MIN) {
            snprintf(err, errlen, "an HS256 key must be at least %d bytes",
                     JWT_HMAC_KEY_MIN);
            free(k);
            return NULL;
        }
        k->secret = mem_calloc(1, len);
        memcpy(k->secret, key, len);
        k->secret_len = len;
        return k;
    }
    BIO *bio = BIO_new_mem_buf(key, (int)len);
    if (bio && len <= 64 * 1024)
        k->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!k->pkey) {
        snprintf(err, errlen, "an RS256 key must be a PEM public key "
                 "(-----BEGIN PUBLIC KEY-----)");
    } else if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA) {
        snprintf(err, errlen, "an RS256 key must be an RSA key");
    } else if (EVP_PKEY_get_bits(k->pkey) < JWT_RSA_BITS_MIN) {
        snprintf(err, errlen, "an RS256 key must have at least %d bits, "
                 "not %d", JWT_RSA_BITS_MIN, EVP_PKEY_get_bits(k->pkey));
    } else {
        return k;
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

/* base64url (RFC 4648 section 5) without padding, as JWS uses it. By hand:
 * OpenSSL's EVP_DecodeBlock takes the other alphabet and wants padding.
 * Decodes s (n bytes) into out (room for n * 3 / 4 + 1 bytes); returns the
 * length, or -1 on a character outside the alphabet or an impossible
 * length. */
static long jwt_b64url_decode(const char *s, size_t n, unsigned char *out)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A'
              : c >= 'a' && c <= 'z' ? c - 'a' + 26
              : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '-' ? 62 : c == '_' ? 63 : -1;
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    if (acc != 0)
        return -1; /* leftover bits must be zero: one text per value */
    return (long)o;
}

/* Decodes part (n bytes of base64url) as a JSON object; NULL if it is not. */
static json_t *jwt_json_part(const char *part, size_t n)
{
    unsigned char *raw = mem_calloc(1, n * 3 / 4 + 1);
    long len = jwt_b64url_decode(part, n, raw);
    json_t *j = NULL;
    if (len >= 0)
        j = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES,
                       NULL);
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* 1 if sig (len bytes) signs input (n bytes) under k. */
static int jwt_signature_ok(const struct jwt_key *k, const char *input,
                            size_t n, const unsigned char *sig, size_t len)
{
    if (k->alg == JWT_HS256) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
                  (const unsigned char *)input, n, mac, &mac_len))
            return 0;
        return len == mac_len && CRYPTO_memcmp(mac, sig, len) == 0;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx &&
             EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
                                  k->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, len, (const unsigned char *)input,
                              n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Checks the numeric date claim name: 1 fine or absent, 0 failed, -1 not
 * a number. after: the claim must be after now (exp), else at or before
 * (nbf). */
static int jwt_time_ok(json_t *payload, const char *name, time_t now,
                       int after)
{
    json_t *v = json_object_get(payload, name);
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
    size_t n = strlen(token);
    if (n == 0 || n > JWT_TOKEN_MAX)
        return JWT_MALFORMED;
    const char *dot1 = memchr(token, '.', n);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - token))
                            : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - token)))
        return JWT_MALFORMED;
    json_t *header = jwt_json_part(token, (size_t)(dot1 - token));
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

    const char *sig_text = dot2 + 1;
    size_t sig_n = n - (size_t)(sig_text - token);
    unsigned char *sig = mem_calloc(1, sig_n * 3 / 4 + 1);
    long sig_len = jwt_b64url_decode(sig_text, sig_n, sig);
    int signed_ok = sig_len > 0 &&
                    jwt_signature_ok(k, token, (size_t)(dot2 - token), sig,
                                     (size_t)sig_len);
    free(sig);
    if (sig_len < 0)
        return JWT_MALFORMED;
    if (!signed_ok)
        return JWT_BAD_SIGNATURE;

    json_t *claims = jwt_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
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
