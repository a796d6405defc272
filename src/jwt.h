/* jwt: verification of compact JSON Web Tokens (RFC 7519) signed as JWS
 * (RFC 7515) with HS256 or RS256 (RFC 7518), for the Mercure hub.
 *
 * The crypto is OpenSSL's (HMAC, EVP_DigestVerify, PEM) and the JSON is
 * jansson's; ours is only the framing and the order of the checks: the
 * whole token's framing (three unpadded base64url parts, at most
 * JWT_TOKEN_MAX bytes), the header's alg against the key's, the signature
 * (an HMAC compared in constant time), and only then the claims, so nothing
 * in an unsigned payload is ever read. Only alg and crit of the header are
 * looked at: kid, jku, jwk, x5u and the like are ignored, never fetched. */
#ifndef SSELIGHT_JWT_H
#define SSELIGHT_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#define JWT_TOKEN_MAX 8192     /* bytes of a token; longer is JWT_MALFORMED */
#define JWT_HMAC_KEY_MIN 32    /* bytes of an HS256 secret (RFC 7518 3.2) */
#define JWT_RSA_BITS_MIN 2048  /* modulus of an RS256 key (RFC 7518 3.3) */
#define JWT_KEY_MAX 65536      /* bytes of a secret or of a key's PEM text */

enum jwt_alg { JWT_HS256, JWT_RS256 };

enum jwt_result {
    JWT_OK,
    JWT_MALFORMED,      /* framing, base64url, JSON; exp/nbf not numbers */
    JWT_BAD_ALG,        /* alg missing or not the key's (none, ...); crit */
    JWT_BAD_SIGNATURE,  /* also an empty or wrong-length signature */
    JWT_EXPIRED,        /* now >= exp */
    JWT_NOT_YET_VALID   /* now < nbf */
};

struct jwt_key;

/* A key for alg. HS256: key is the secret, len bytes (any bytes), from
 * JWT_HMAC_KEY_MIN to JWT_KEY_MAX. RS256: key is len bytes of PEM text of a
 * public key ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo; not PKCS#1
 * "RSA PUBLIC KEY", not a certificate) that must be RSA (not RSA-PSS, not EC)
 * of at least JWT_RSA_BITS_MIN bits. key is copied. Returns the key (free with
 * jwt_key_free), or NULL with a one-line reason in err (errlen bytes). */
struct jwt_key *jwt_key_new(enum jwt_alg alg, const char *key, size_t len,
                            char *err, size_t errlen);

/* Frees k (the secret is wiped first). NULL is a no-op. */
void jwt_key_free(struct jwt_key *k);

/* "HS256" or "RS256" (exactly, case-sensitive) into *out: 0, else -1. */
int jwt_alg_parse(const char *name, enum jwt_alg *out);

/* Verifies token (NUL-terminated) with k at time now (Unix seconds).
 * Refused, in this order: not three unpadded base64url parts of at most
 * JWT_TOKEN_MAX bytes in all, or a header that is not a JSON object
 * (JWT_MALFORMED); a header alg other than k's exactly, or any crit
 * (JWT_BAD_ALG: an RS256 key never verifies an HS256 token); a signature
 * that does not verify (JWT_BAD_SIGNATURE); a payload that is not a JSON
 * object, or an exp or nbf that is not a JSON number (JWT_MALFORMED);
 * now >= exp (JWT_EXPIRED); now < nbf (JWT_NOT_YET_VALID). exp and nbf are
 * optional. On JWT_OK *payload is the claims object, which the caller
 * json_decref()s; otherwise *payload is NULL. */
enum jwt_result jwt_verify(const struct jwt_key *k, const char *token,
                           time_t now, json_t **payload);

/* A short fixed text for r, for 401 answers and logs ("expired", "bad
 * signature", ...); static, never NULL. */
const char *jwt_result_text(enum jwt_result r);

#endif
