/* jwt: verification of compact JSON Web Tokens (RFC 7519) signed as JWS
 * (RFC 7515) with HS256 or RS256 (RFC 7518), for the Mercure hub.
 *
 * The crypto is OpenSSL's (HMAC, EVP_DigestVerify, PEM); the JSON is
 * jansson's. Ours is only the framing: three base64url parts, the header's
 * alg, then the time claims. The order of the checks is fixed: the
 * algorithm, then the signature (an HMAC compared in constant time), then
 * exp and nbf, so nothing of an unsigned payload is ever believed. */
#ifndef SSELIGHT_JWT_H
#define SSELIGHT_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#define JWT_TOKEN_MAX 8192   /* bytes of a token; longer is JWT_MALFORMED */
#define JWT_HMAC_KEY_MIN 32  /* bytes of an HS256 secret (RFC 7518 3.2) */
#define JWT_RSA_BITS_MIN 2048

enum jwt_alg { JWT_HS256, JWT_RS256 };

enum jwt_result {
    JWT_OK,
    JWT_MALFORMED,      /* not three base64url parts of JSON objects */
    JWT_BAD_ALG,        /* alg is not the key's (none, HS512, ...), or crit */
    JWT_BAD_SIGNATURE,
    JWT_EXPIRED,        /* now >= exp */
    JWT_NOT_YET_VALID   /* now < nbf */
};

struct jwt_key;

/* A key for alg. HS256: key is the secret, len bytes, at least
 * JWT_HMAC_KEY_MIN. RS256: key is the PEM text of an RSA public key of at
 * least JWT_RSA_BITS_MIN bits. Returns NULL with a one-line reason in err. */
struct jwt_key *jwt_key_new(enum jwt_alg alg, const char *key, size_t len,
                            char *err, size_t errlen);
void jwt_key_free(struct jwt_key *k);

/* "HS256" or "RS256" (exactly) into *out: 0, else -1. */
int jwt_alg_parse(const char *name, enum jwt_alg *out);

/* Verifies token (NUL-terminated) with k at time now. The header's alg
 * must be k's exactly, and a header with "crit" is refused (JWT_BAD_ALG):
 * an RS256 key never verifies an HS256 token. exp and nbf, when present,
 * must be numbers (else JWT_MALFORMED). On JWT_OK, *payload is the claims
 * object (the caller json_decref()s it); otherwise *payload is NULL. */
enum jwt_result jwt_verify(const struct jwt_key *k, const char *token,
                           time_t now, json_t **payload);

/* A short fixed text for r ("expired", "bad signature", ...). */
const char *jwt_result_text(enum jwt_result r);

#endif
