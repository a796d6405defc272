/* check_jwt: the contract of jwt.h. The HS256 example of RFC 7515 (A.1)
 * verifies until its exp; tokens this test signs with OpenSSL directly
 * (HMAC, and an RSA key made here) verify, and every way a token can be
 * wrong is refused with its own result: the algorithm (none, another one,
 * an HS256 token against an RS256 key with the PEM as its secret), the
 * signature, the times, the framing. Keys that are too weak or of the
 * wrong kind do not load. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <string.h>

#include "check_suites.h"
#include "jwt.h"

/* RFC 7515, Appendix A.1: the JWS and its key (the JWK's k, decoded). */
#define RFC_TOKEN "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" \
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ" \
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
static const unsigned char rfc_key[] = {
    3, 35, 53, 75, 43, 15, 165, 188, 131, 126, 6, 101, 119, 123, 166, 143,
    90, 179, 40, 230, 240, 84, 201, 40, 169, 15, 132, 178, 210, 80, 46, 191,
    211, 251, 90, 146, 210, 6, 71, 239, 150, 138, 180, 195, 119, 98, 61, 34,
    61, 46, 33, 114, 5, 46, 79, 8, 192, 205, 154, 245, 103, 208, 128, 163,
};

#define SECRET "a-test-secret-that-is-32-bytes-!"

static void b64url(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

/* header.payload.signature with the given header and payload JSON. pkey:
 * RS256 signing key, or NULL for HMAC-SHA256 with secret. sig_override:
 * use this signature text instead. */
static void make_token(char *out, const char *header, const char *payload,
                       const char *secret, EVP_PKEY *pkey)
{
    char h[1024], p[12000];
    b64url((const unsigned char *)header, strlen(header), h);
    b64url((const unsigned char *)payload, strlen(payload), p);
    char input[13100];
    snprintf(input, sizeof input, "%s.%s", h, p);
    unsigned char sig[512];
    size_t sig_len = sizeof sig;
    if (pkey) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
                                            pkey), 1);
        ck_assert_int_eq(EVP_DigestSign(ctx, sig, &sig_len,
                                        (unsigned char *)input,
                                        strlen(input)), 1);
        EVP_MD_CTX_free(ctx);
    } else {
        unsigned len = 0;
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret),
                                   (unsigned char *)input, strlen(input), sig,
                                   &len));
        sig_len = len;
    }
    char s[1024];
    b64url(sig, sig_len, s);
    sprintf(out, "%s.%s", input, s);
}

static enum jwt_result verify_at(const struct jwt_key *k, const char *token,
                                 time_t now)
{
    json_t *payload = (json_t *)1;
    enum jwt_result r = jwt_verify(k, token, now, &payload);
    if (r == JWT_OK) {
        ck_assert_ptr_nonnull(payload);
        json_decref(payload);
    } else {
        ck_assert_ptr_null(payload);
    }
    return r;
}

START_TEST(test_rfc7515_vector)
{
    char err[200];
    struct jwt_key *k = jwt_key_new(JWT_HS256, (const char *)rfc_key,
                                    sizeof rfc_key, err, sizeof err);
    ck_assert_ptr_nonnull(k);
    json_t *payload = NULL;
    ck_assert_int_eq(jwt_verify(k, RFC_TOKEN, 1300819379, &payload), JWT_OK);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "iss")),
                     "joe");
    json_decref(payload);
    ck_assert_int_eq(verify_at(k, RFC_TOKEN, 1300819380), JWT_EXPIRED);
    jwt_key_free(k);
}
END_TEST

#define HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define CLAIMS "{\"mercure\":{\"publish\":[\"*\"]}}"

START_TEST(test_hs256)
{
    char err[200], t[8000];
    struct jwt_key *k = jwt_key_new(JWT_HS256, SECRET, strlen(SECRET), err,
                                    sizeof err);
    ck_assert_ptr_nonnull(k);
    make_token(t, HS, CLAIMS, SECRET, NULL);
    json_t *payload = NULL;
    ck_assert_int_eq(jwt_verify(k, t, 1000, &payload), JWT_OK);
    ck_assert(json_is_array(json_object_get(json_object_get(payload,
                                            "mercure"), "publish")));
    json_decref(payload);

    make_token(t, HS, "{\"exp\":2000}", SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1999), JWT_OK);
    ck_assert_int_eq(verify_at(k, t, 2000), JWT_EXPIRED);
    make_token(t, HS, "{\"nbf\":2000}", SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1999), JWT_NOT_YET_VALID);
    ck_assert_int_eq(verify_at(k, t, 2000), JWT_OK);
    make_token(t, HS, "{\"exp\":\"tomorrow\"}", SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_MALFORMED);
    make_token(t, HS, "{\"nbf\":null}", SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_MALFORMED);

    /* Another secret, a flipped signature byte, a changed payload. */
    make_token(t, HS, CLAIMS, SECRET "x", NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    make_token(t, HS, CLAIMS, SECRET, NULL);
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    make_token(t, HS, CLAIMS, SECRET, NULL);
    char *dot = strchr(t, '.');
    dot[1] = dot[1] == 'e' ? 'f' : 'e';
    ck_assert_int_ne(verify_at(k, t, 1), JWT_OK);
    /* A signature cut short (to 40 characters, 30 whole bytes) is wrong,
     * not a crash. */
    make_token(t, HS, CLAIMS, SECRET, NULL);
    t[strlen(t) - 3] = '\0';
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_algorithms_refused)
{
    char err[200], t[8000];
    struct jwt_key *k = jwt_key_new(JWT_HS256, SECRET, strlen(SECRET), err,
                                    sizeof err);
    /* alg none with an empty signature. */
    make_token(t, "{\"alg\":\"none\"}", CLAIMS, SECRET, NULL);
    *(strrchr(t, '.') + 1) = '\0';
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    make_token(t, "{\"alg\":\"HS512\"}", CLAIMS, SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    make_token(t, "{\"alg\":\"hs256\"}", CLAIMS, SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    make_token(t, "{\"typ\":\"JWT\"}", CLAIMS, SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    make_token(t, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS, SECRET,
               NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    jwt_key_free(k);
}
END_TEST

START_TEST(test_malformed)
{
    char err[200], t[14000];
    struct jwt_key *k = jwt_key_new(JWT_HS256, SECRET, strlen(SECRET), err,
                                    sizeof err);
    static const char *const bad[] = {
        "", "abc", "a.b", "a.b.c.d", "e30=.e30.AAAA", "e3!0.e30.AAAA",
        "eyJhbGciOiJIUzI1NiJ9.e30.AA=A", "eyJhbGciOiJIUzI1NiJ9.e30.AAB",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(verify_at(k, bad[i], 1) == JWT_MALFORMED,
                      "token '%s' got %d", bad[i], verify_at(k, bad[i], 1));
    /* Well framed, HS256, but no signature at all. */
    ck_assert_int_eq(verify_at(k, "eyJhbGciOiJIUzI1NiJ9.e30.", 1),
                     JWT_BAD_SIGNATURE);
    /* Header not JSON; payload a JSON array (signed correctly). */
    make_token(t, "not json", CLAIMS, SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_MALFORMED);
    make_token(t, HS, "[1,2]", SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_MALFORMED);
    make_token(t, HS, "{\"a\":1,\"a\":2}", SECRET, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_MALFORMED);
    /* Over JWT_TOKEN_MAX: refused before anything else. */
    char claims[JWT_TOKEN_MAX];
    memset(claims, 'x', sizeof claims);
    memcpy(claims, "{\"p\":\"", 6);
    strcpy(claims + 6200, "\"}");
    make_token(t, HS, claims, SECRET, NULL);
    ck_assert_uint_gt(strlen(t), JWT_TOKEN_MAX);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_MALFORMED);
    jwt_key_free(k);
}
END_TEST

static char *public_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pkey), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *pem = calloc(1, (size_t)n + 1);
    memcpy(pem, data, (size_t)n);
    BIO_free(bio);
    return pem;
}

START_TEST(test_rs256)
{
    char err[200], t[8000];
    EVP_PKEY *pkey = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(pkey);
    ck_assert_ptr_nonnull(other);
    char *pem = public_pem(pkey);
    struct jwt_key *k = jwt_key_new(JWT_RS256, pem, strlen(pem), err,
                                    sizeof err);
    ck_assert_msg(k != NULL, "%s", err);
    const char *rs = "{\"alg\":\"RS256\"}";
    make_token(t, rs, "{\"exp\":50}", NULL, pkey);
    ck_assert_int_eq(verify_at(k, t, 49), JWT_OK);
    ck_assert_int_eq(verify_at(k, t, 50), JWT_EXPIRED);
    make_token(t, rs, CLAIMS, NULL, other);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_SIGNATURE);
    /* The confusion attack: HS256 with the public PEM as the secret. */
    make_token(t, HS, CLAIMS, pem, NULL);
    ck_assert_int_eq(verify_at(k, t, 1), JWT_BAD_ALG);
    /* And an RS256 token is nothing to an HS256 key. */
    struct jwt_key *h = jwt_key_new(JWT_HS256, SECRET, strlen(SECRET), err,
                                    sizeof err);
    make_token(t, rs, CLAIMS, NULL, pkey);
    ck_assert_int_eq(verify_at(h, t, 1), JWT_BAD_ALG);
    jwt_key_free(h);
    jwt_key_free(k);
    free(pem);
    EVP_PKEY_free(pkey);
    EVP_PKEY_free(other);
}
END_TEST

START_TEST(test_keys_refused)
{
    char err[200] = "";
    ck_assert_ptr_null(jwt_key_new(JWT_HS256, SECRET, 31, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "32"));
    const char junk[] = "-----BEGIN PUBLIC KEY-----\nnot base64\n"
                        "-----END PUBLIC KEY-----\n";
    ck_assert_ptr_null(jwt_key_new(JWT_RS256, junk, strlen(junk), err,
                                   sizeof err));
    EVP_PKEY *small = EVP_RSA_gen(1024), *ec = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(ec);
    char *pem = public_pem(small);
    ck_assert_ptr_null(jwt_key_new(JWT_RS256, pem, strlen(pem), err,
                                   sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "2048"));
    free(pem);
    pem = public_pem(ec);
    ck_assert_ptr_null(jwt_key_new(JWT_RS256, pem, strlen(pem), err,
                                   sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "RSA"));
    free(pem);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ec);

    enum jwt_alg a;
    ck_assert_int_eq(jwt_alg_parse("RS256", &a), 0);
    ck_assert_int_eq(a, JWT_RS256);
    ck_assert_int_eq(jwt_alg_parse("HS256", &a), 0);
    ck_assert_int_eq(a, JWT_HS256);
    ck_assert_int_eq(jwt_alg_parse("none", &a), -1);
    ck_assert_str_eq(jwt_result_text(JWT_EXPIRED), "expired");
}
END_TEST

Suite *make_jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30); /* RSA key generation */
    tcase_add_test(tc, test_rfc7515_vector);
    tcase_add_test(tc, test_hs256);
    tcase_add_test(tc, test_algorithms_refused);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_rs256);
    tcase_add_test(tc, test_keys_refused);
    suite_add_tcase(s, tc);
    return s;
}
