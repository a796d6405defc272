/* fuzz_mercure: the Mercure hub's parsers of untrusted text: the publish
 * form (mercure.h), topic selectors as URI Templates (uritpl.h) and JWTs
 * (jwt.h).
 *
 * Input: the first byte picks the parser, the rest is its text.
 * Properties:
 *  - form: a parsed update has 1-16 topics and an id, type and data that
 *    are what the checks promise; stored (mercure_update_encode) and read
 *    back (mercure_update_decode) it is the same update, byte for byte;
 *    its SSE text has exactly one blank line, at its end (no field of it
 *    can start another event);
 *  - template: a template compiles or is refused with a reason; one
 *    without '{' matches itself and nothing longer;
 *  - JWT: verifying never crashes or leaks and never says OK: the fuzzer
 *    cannot sign with the key. */
#include "fuzz_check.h"

#include "buf.h"
#include "jwt.h"
#include "mercure.h"
#include "uritpl.h"

#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret!"

static void fuzz_form(const uint8_t *p, size_t n)
{
    struct mercure_update u, d;
    const char *why;
    if (mercure_form_parse((const char *)p, n, &u, &why) != 0) {
        FUZZ_CHECK(why && *why, "a refusal has a reason");
        return;
    }
    FUZZ_CHECK(u.ntopics >= 1 && u.ntopics <= MERCURE_TOPICS_MAX, "topics");
    if (!u.id)
        u.id = "urn:uuid:fuzz";
    FUZZ_CHECK(mercure_id_valid(u.id), "the id is valid");
    struct buf stored = BUF_INIT, sse = BUF_INIT;
    mercure_update_encode(&u, &stored);
    FUZZ_CHECK(mercure_update_decode(buf_head(&stored), buf_pending(&stored),
                                     &d) == 0, "decodes");
    FUZZ_CHECK(strcmp(d.id, u.id) == 0, "same id");
    FUZZ_CHECK((!d.type && !u.type) || (d.type && u.type &&
               strcmp(d.type, u.type) == 0), "same type");
    FUZZ_CHECK(d.retry == u.retry && d.is_private == u.is_private, "same flags");
    FUZZ_CHECK(d.ntopics == u.ntopics, "same topic count");
    for (size_t i = 0; i < u.ntopics; i++)
        FUZZ_CHECK(strcmp(d.topics[i], u.topics[i]) == 0, "same topics");
    FUZZ_CHECK(d.data_len == u.data_len &&
               memcmp(d.data, u.data, u.data_len) == 0, "same data");
    mercure_update_append_sse(&d, &sse);
    const char *s = buf_head(&sse);
    size_t len = buf_pending(&sse);
    FUZZ_CHECK(len >= 2 && s[len - 1] == '\n' && s[len - 2] == '\n',
               "ends with a blank line");
    for (size_t i = 0; i + 2 < len; i++)
        FUZZ_CHECK(!(s[i] == '\n' && s[i + 1] == '\n') && s[i] != '\r',
                   "one event: no blank line inside, no CR");
    buf_free(&stored);
    buf_free(&sse);
    mercure_update_free(&d);
    mercure_update_free(&u);
}

static void fuzz_template(const uint8_t *p, size_t n)
{
    char *text = fuzz_strndup(p, n);
    if (strlen(text) != n) { /* a NUL inside: not a C string */
        free(text);
        return;
    }
    char err[200] = "";
    struct uritpl *t = uritpl_compile(text, err, sizeof err);
    if (!t) {
        FUZZ_CHECK(err[0] != '\0', "a refusal has a reason");
    } else {
        (void)uritpl_match(t, "https://example.com/books/1");
        if (!uritpl_is_template(text)) {
            FUZZ_CHECK(uritpl_match(t, text), "a literal matches itself");
            char *longer = malloc(n + 2);
            FUZZ_CHECK(longer != NULL, "malloc");
            memcpy(longer, text, n);
            longer[n] = 'x';
            longer[n + 1] = '\0';
            FUZZ_CHECK(!uritpl_match(t, longer), "and nothing longer");
            free(longer);
        }
        uritpl_free(t);
    }
    free(text);
}

static void fuzz_jwt(const uint8_t *p, size_t n)
{
    static struct jwt_key *key;
    char err[200];
    if (!key)
        key = jwt_key_new(JWT_HS256, SECRET, strlen(SECRET), err, sizeof err);
    FUZZ_CHECK(key != NULL, "the key loads");
    char *token = fuzz_strndup(p, n);
    json_t *payload = NULL;
    enum jwt_result r = jwt_verify(key, token, 1000, &payload);
    FUZZ_CHECK(r != JWT_OK, "no token is signed without the key");
    FUZZ_CHECK(payload == NULL, "no payload without OK");
    FUZZ_CHECK(jwt_result_text(r)[0] != '\0', "a reason");
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_form(data + 1, size - 1); break;
    case 1: fuzz_template(data + 1, size - 1); break;
    default: fuzz_jwt(data + 1, size - 1); break;
    }
    return 0;
}
