/* check_http: the contract of http.h. REQUEST_METHOD maps exactly (case
 * matters) to GET/HEAD/POST or OTHER; the path of a REQUEST_URI is what
 * comes before '?' or '#', must start with '/' and fit HTTP_PATH_MAX with its
 * NUL; reason phrases; a response head is "Status: ...", "Content-Type: ...",
 * the nosniff header, then the blank line; error responses carry the text as
 * a one-line plain-text body (none for HEAD) and Allow for 405. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_suites.h"
#include "http.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct method_case {
    const char *in;
    enum http_method want;
};

static const struct method_case method_cases[] = {
    { "GET", HTTP_GET },
    { "HEAD", HTTP_HEAD },
    { "POST", HTTP_POST },
    { "get", HTTP_OTHER },
    { "Get", HTTP_OTHER },
    { "head", HTTP_OTHER },
    { NULL, HTTP_OTHER },
    { "", HTTP_OTHER },
    { "PUT", HTTP_OTHER },
    { "DELETE", HTTP_OTHER },
    { "GET ", HTTP_OTHER },
    { "GETX", HTTP_OTHER },
    { "GE", HTTP_OTHER },
};

START_TEST(test_method_parse)
{
    ck_assert_int_eq(http_method_parse(method_cases[_i].in),
                     method_cases[_i].want);
}
END_TEST

struct path_case {
    const char *uri;
    int rc;
    const char *want; /* when rc == 0 */
};

static const struct path_case path_cases[] = {
    { "/", 0, "/" },
    { "/a?b=c", 0, "/a" },
    { "/a#x", 0, "/a" },
    { "/a/b/c.html", 0, "/a/b/c.html" },
    { "/sse-stream?x=1#frag", 0, "/sse-stream" },
    { "/?", 0, "/" },
    { "/#", 0, "/" },
    { "/a#x?y", 0, "/a" },
    { "/%3F", 0, "/%3F" },
    { "", -1, NULL },
    { NULL, -1, NULL },
    { "a", -1, NULL },
    { "?a=/", -1, NULL },
    { "http://example.com/", -1, NULL },
};

START_TEST(test_path_from_uri)
{
    const struct path_case *c = &path_cases[_i];
    char path[HTTP_PATH_MAX];
    memset(path, 'Z', sizeof path);
    ck_assert_int_eq(http_path_from_uri(c->uri, path), c->rc);
    if (c->rc == 0)
        ck_assert_str_eq(path, c->want);
}
END_TEST

/* A path of len bytes ('/' then 'p'), optionally followed by a query. */
static char *long_uri(size_t len, const char *query)
{
    char *u = malloc(len + strlen(query) + 1);
    ck_assert_ptr_nonnull(u);
    u[0] = '/';
    memset(u + 1, 'p', len - 1);
    strcpy(u + len, query);
    return u;
}

START_TEST(test_path_max)
{
    char path[HTTP_PATH_MAX];
    ck_assert_int_eq(HTTP_PATH_MAX, 2048);

    char *u = long_uri(2047, "");          /* 2047 + NUL fits */
    ck_assert_int_eq(http_path_from_uri(u, path), 0);
    ck_assert_uint_eq(strlen(path), 2047);
    ck_assert_str_eq(path, u);
    free(u);

    u = long_uri(2047, "?q=a-long-query-does-not-count");
    ck_assert_int_eq(http_path_from_uri(u, path), 0);
    ck_assert_uint_eq(strlen(path), 2047);
    ck_assert_int_eq(path[2046], 'p');
    free(u);

    u = long_uri(2048, "");                /* 2048 + NUL does not */
    ck_assert_int_eq(http_path_from_uri(u, path), -1);
    free(u);

    u = long_uri(5000, "?x");
    ck_assert_int_eq(http_path_from_uri(u, path), -1);
    free(u);
}
END_TEST

struct reason_case {
    int status;
    const char *want;
};

static const struct reason_case reason_cases[] = {
    { 200, "OK" },
    { 400, "Bad Request" },
    { 401, "Unauthorized" },
    { 403, "Forbidden" },
    { 422, "Unprocessable Content" },   /* RFC 9110 15.5.21 */
    { 404, "Not Found" },
    { 405, "Method Not Allowed" },
    { 414, "URI Too Long" },
    { 500, "Internal Server Error" },
    { 503, "Service Unavailable" },
    { 299, "Unknown" },
    { 0, "Unknown" },
    { -1, "Unknown" },
};

START_TEST(test_reason)
{
    ck_assert_str_eq(http_reason(reason_cases[_i].status),
                     reason_cases[_i].want);
}
END_TEST

START_TEST(test_head_bytes)
{
    struct buf b = BUF_INIT;
    http_begin_head(&b, 200, "text/plain");
    http_end_head(&b);
    ck_assert_str_eq(buf_head(&b),
                     "Status: 200 OK\r\n"
                     "Content-Type: text/plain\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "\r\n");
    buf_reset(&b);

    http_begin_head(&b, 404, "text/event-stream");
    buf_append_str(&b, "Cache-Control: no-cache\r\n");
    http_end_head(&b);
    ck_assert_str_eq(buf_head(&b),
                     "Status: 404 Not Found\r\n"
                     "Content-Type: text/event-stream\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Cache-Control: no-cache\r\n"
                     "\r\n");
    buf_free(&b);
}
END_TEST

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Splits a CGI response at the first blank line. Returns the head (with its
 * final CRLF CRLF) length; the body starts right after it. */
static size_t head_len(const struct buf *b)
{
    const char *end = strstr(buf_head(b), "\r\n\r\n");
    ck_assert_msg(end != NULL, "no end of head in: %s", buf_head(b));
    return (size_t)(end - buf_head(b)) + 4;
}

/* The head holds line exactly (a full "Name: value" line, no CRLF). */
static int head_has_line(const struct buf *b, const char *line)
{
    size_t hl = head_len(b);
    char *head = strndup(buf_head(b), hl);
    ck_assert_ptr_nonnull(head);
    size_t n = strlen(line);
    int found = 0;
    for (char *p = head; (p = strstr(p, line)) != NULL; p++)
        if ((p == head || p[-1] == '\n') && p[n] == '\r' && p[n + 1] == '\n')
            found = 1;
    free(head);
    return found;
}

START_TEST(test_error_404_get)
{
    struct buf b = BUF_INIT;
    http_append_error(&b, HTTP_GET, 404, "not found: /x");
    const char *h = buf_head(&b);
    ck_assert_msg(starts_with(h, "Status: 404 Not Found\r\n"), "%s", h);
    ck_assert(head_has_line(&b, "X-Content-Type-Options: nosniff"));
    ck_assert(strstr(h, "Content-Type: text/plain") != NULL);
    ck_assert(!head_has_line(&b, "Allow: GET, HEAD"));
    ck_assert_str_eq(h + head_len(&b), "not found: /x\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_error_405_allow)
{
    struct buf b = BUF_INIT;
    http_append_error(&b, HTTP_POST, 405, "use GET");
    const char *h = buf_head(&b);
    ck_assert_msg(starts_with(h, "Status: 405 Method Not Allowed\r\n"), "%s",
                  h);
    ck_assert(head_has_line(&b, "Allow: GET, HEAD"));
    ck_assert(head_has_line(&b, "X-Content-Type-Options: nosniff"));
    ck_assert_str_eq(h + head_len(&b), "use GET\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_error_head_no_body)
{
    struct buf b = BUF_INIT;
    http_append_error(&b, HTTP_HEAD, 404, "not found");
    ck_assert(starts_with(buf_head(&b), "Status: 404 Not Found\r\n"));
    ck_assert_uint_eq(head_len(&b), buf_pending(&b));
    ck_assert(strstr(buf_head(&b), "not found") == NULL);
    buf_reset(&b);

    http_append_error(&b, HTTP_HEAD, 405, "nope");
    ck_assert(head_has_line(&b, "Allow: GET, HEAD"));
    ck_assert_uint_eq(head_len(&b), buf_pending(&b));
    buf_free(&b);
}
END_TEST

START_TEST(test_error_appends)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "before");
    http_append_error(&b, HTTP_GET, 500, "oops");
    ck_assert(starts_with(buf_head(&b),
                          "beforeStatus: 500 Internal Server Error\r\n"));
    size_t n = buf_pending(&b);
    ck_assert(n > 5);
    ck_assert_str_eq(buf_head(&b) + n - 5, "oops\n");
    buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------------------
 * Event-stream head, 405 with a given Allow, 401 and 503 extra headers. */

START_TEST(test_sse_head_bytes)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "x");
    http_append_sse_head(&b);
    ck_assert_str_eq(buf_head(&b),
                     "x"
                     "Status: 200 OK\r\n"
                     "Content-Type: text/event-stream; charset=utf-8\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Accel-Buffering: no\r\n"
                     "\r\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_not_allowed_allow)
{
    struct buf b = BUF_INIT;
    http_append_not_allowed(&b, HTTP_GET, "GET, HEAD, POST", "use POST");
    const char *h = buf_head(&b);
    ck_assert_msg(starts_with(h, "Status: 405 Method Not Allowed\r\n"), "%s",
                  h);
    ck_assert(head_has_line(&b, "Allow: GET, HEAD, POST"));
    ck_assert(!head_has_line(&b, "Allow: GET, HEAD"));
    ck_assert(head_has_line(&b, "X-Content-Type-Options: nosniff"));
    ck_assert_str_eq(h + head_len(&b), "use POST\n");
    buf_reset(&b);

    http_append_not_allowed(&b, HTTP_HEAD, "POST", "use POST");
    ck_assert(starts_with(buf_head(&b), "Status: 405 Method Not Allowed\r\n"));
    ck_assert(head_has_line(&b, "Allow: POST"));
    ck_assert_uint_eq(head_len(&b), buf_pending(&b)); /* no body for HEAD */
    buf_free(&b);
}
END_TEST

/* The value of the first header line that starts with "name: ", as a new
 * string (NULL if none). */
static char *header_value(const struct buf *b, const char *name)
{
    size_t hl = head_len(b), n = strlen(name);
    const char *h = buf_head(b);
    for (size_t i = 0; i + n + 2 <= hl; i++) {
        if ((i == 0 || h[i - 1] == '\n') && strncmp(h + i, name, n) == 0 &&
            h[i + n] == ':' && h[i + n + 1] == ' ') {
            const char *v = h + i + n + 2, *end = strstr(v, "\r\n");
            return strndup(v, (size_t)(end - v));
        }
    }
    return NULL;
}

START_TEST(test_error_401_bearer)
{
    struct buf b = BUF_INIT;
    http_append_error(&b, HTTP_POST, 401, "missing token");
    const char *h = buf_head(&b);
    ck_assert_msg(starts_with(h, "Status: 401 Unauthorized\r\n"), "%s", h);
    char *v = header_value(&b, "WWW-Authenticate");
    ck_assert_msg(v != NULL, "no WWW-Authenticate in: %s", h);
    /* RFC 6750: the scheme, alone or followed by auth-params. */
    ck_assert_msg(strcmp(v, "Bearer") == 0 || starts_with(v, "Bearer "),
                  "WWW-Authenticate: %s", v);
    free(v);
    ck_assert_ptr_null(header_value(&b, "Retry-After"));
    ck_assert(!head_has_line(&b, "Allow: GET, HEAD"));
    ck_assert_str_eq(h + head_len(&b), "missing token\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_error_503_retry_after)
{
    struct buf b = BUF_INIT;
    http_append_error(&b, HTTP_GET, 503, "busy");
    const char *h = buf_head(&b);
    ck_assert_msg(starts_with(h, "Status: 503 Service Unavailable\r\n"), "%s",
                  h);
    char *v = header_value(&b, "Retry-After");
    ck_assert_msg(v != NULL, "no Retry-After in: %s", h);
    /* RFC 9110 10.2.3: delay-seconds = 1*DIGIT (or an HTTP-date). */
    ck_assert_uint_gt(strlen(v), 0);
    ck_assert_msg(strspn(v, "0123456789") == strlen(v) ||
                  strstr(v, " GMT") != NULL, "Retry-After: %s", v);
    free(v);
    ck_assert_ptr_null(header_value(&b, "WWW-Authenticate"));
    ck_assert_str_eq(h + head_len(&b), "busy\n");
    buf_reset(&b);

    http_append_error(&b, HTTP_HEAD, 503, "busy");
    v = header_value(&b, "Retry-After");
    ck_assert_ptr_nonnull(v);
    free(v);
    ck_assert_uint_eq(head_len(&b), buf_pending(&b));
    buf_free(&b);
}
END_TEST

START_TEST(test_error_others_plain)
{
    static const int codes[] = { 400, 403, 404, 422, 500 };
    for (int i = 0; i < N_OF(codes); i++) {
        struct buf b = BUF_INIT;
        char status[64];
        http_append_error(&b, HTTP_GET, codes[i], "why");
        snprintf(status, sizeof status, "Status: %d %s\r\n", codes[i],
                 http_reason(codes[i]));
        ck_assert_msg(starts_with(buf_head(&b), status), "%s", buf_head(&b));
        ck_assert_ptr_null(header_value(&b, "WWW-Authenticate"));
        ck_assert_ptr_null(header_value(&b, "Retry-After"));
        ck_assert_ptr_null(header_value(&b, "Allow"));
        ck_assert_str_eq(buf_head(&b) + head_len(&b), "why\n");
        buf_free(&b);
    }
}
END_TEST

/* Mount prefixes: what SSELIGHT_PREFIX may be. */
static const struct { const char *prefix; int valid; } prefix_cases[] = {
    { "", 1 }, { "/apps", 1 }, { "/apps/sse", 1 }, { "/a-b_c.d~e/F9", 1 },
    { "/", 0 }, { "/apps/", 0 }, { "apps", 0 }, { "//apps", 0 },
    { "/apps//sse", 0 }, { "/apps/./sse", 0 }, { "/apps/..", 0 }, { "/.", 0 },
    { "/a b", 0 }, { "/a%20b", 0 }, { "/a?b", 0 }, { "/a\"b", 0 },
    { "/a<b", 0 }, { "/caf\xc3\xa9", 0 }, { "/...", 1 },
};

START_TEST(test_prefix_valid)
{
    ck_assert_msg(http_prefix_valid(prefix_cases[_i].prefix) ==
                  prefix_cases[_i].valid, "http_prefix_valid(\"%s\")",
                  prefix_cases[_i].prefix);
}
END_TEST

START_TEST(test_prefix_too_long)
{
    char p[HTTP_PREFIX_MAX + 1];
    p[0] = '/';
    memset(p + 1, 'a', HTTP_PREFIX_MAX - 2);
    p[HTTP_PREFIX_MAX - 1] = '\0';              /* 127 bytes: fits */
    ck_assert_int_eq(http_prefix_valid(p), 1);
    p[HTTP_PREFIX_MAX - 1] = 'a';
    p[HTTP_PREFIX_MAX] = '\0';                  /* 128 bytes: too long */
    ck_assert_int_eq(http_prefix_valid(p), 0);
}
END_TEST

static const struct {
    const char *prefix, *path, *want; /* want NULL: not under the prefix */
} strip_cases[] = {
    { "", "/events/x", "/events/x" },
    { "/apps/sse", "/apps/sse/events/x", "/events/x" },
    { "/apps/sse", "/apps/sse/", "/" },
    { "/apps/sse", "/apps/sse", "/" },
    { "/apps/sse", "/apps/ssex", NULL },
    { "/apps/sse", "/apps/ss", NULL },
    { "/apps/sse", "/apps", NULL },
    { "/apps/sse", "/", NULL },
    { "/apps/sse", "/other/apps/sse/x", NULL },
    { "/apps/sse", "/apps/sse/apps/sse/x", "/apps/sse/x" },
};

START_TEST(test_path_strip_prefix)
{
    char path[HTTP_PATH_MAX];
    strcpy(path, strip_cases[_i].path);
    int rc = http_path_strip_prefix(path, strip_cases[_i].prefix);
    if (strip_cases[_i].want) {
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(path, strip_cases[_i].want);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(path, strip_cases[_i].path); /* left as it was */
    }
}
END_TEST

/* http_prefix_from_script: SCRIPT_NAME, the program's file name and the
 * request path, against the prefix derived (NULL: none, -1). */
static const struct {
    const char *script, *program, *path, *want;
} script_cases[] = {
    { "/~alice/sse/index.fcgi", "index.fcgi", "/~alice/sse/room", "/~alice/sse" },
    { "/~alice/sse/stream.fcgi", "stream.fcgi", "/~alice/sse/events/x", "/~alice/sse" },
    { "/~alice/sse/index.fcgi", "index.fcgi", "/~alice/sse", "/~alice/sse" },
    { "/~alice/sse/index.fcgi", "index.fcgi", "/~alice/sse/", "/~alice/sse" },
    { "/a/b/c/index.fcgi", "index.fcgi", "/a/b/c/x", "/a/b/c" },
    { "/index.fcgi", "index.fcgi", "/room", "" },             /* the root */
    /* lighttpd: SCRIPT_NAME is the request path, no prefix in it */
    { "/events/news", "stream.fcgi", "/events/news", NULL },
    { "/sse-stream", "stream.fcgi", "/sse-stream", NULL },
    /* the file name must be a whole segment */
    { "/x/myindex.fcgi", "index.fcgi", "/x/room", NULL },
    { "/x/index.fcgi/", "index.fcgi", "/x/room", NULL },
    { "index.fcgi", "index.fcgi", "/room", NULL },
    /* the request is not under the script's directory (lighttpd's mod_cgi
     * with the programs at /cgi-bin/) */
    { "/cgi-bin/stream.fcgi", "stream.fcgi", "/sse-stream", NULL },
    { "/ab/stream.fcgi", "stream.fcgi", "/abc/sse-stream", NULL },
    /* not a valid prefix */
    { "/a b/index.fcgi", "index.fcgi", "/a b/room", NULL },
    { "/a/../index.fcgi", "index.fcgi", "/a/../room", NULL },
    { "//index.fcgi", "index.fcgi", "//room", NULL },
    { "/%7Ealice/index.fcgi", "index.fcgi", "/%7Ealice/room", NULL },
    /* missing pieces */
    { NULL, "index.fcgi", "/room", NULL },
    { "/x/index.fcgi", "", "/x/room", NULL },
    { "/x/index.fcgi", "index.fcgi", NULL, NULL },
};

START_TEST(test_prefix_from_script)
{
    for (size_t i = 0; i < sizeof script_cases / sizeof script_cases[0]; i++) {
        char out[HTTP_PREFIX_MAX];
        memset(out, 'z', sizeof out);
        int rc = http_prefix_from_script(script_cases[i].script,
                                         script_cases[i].program,
                                         script_cases[i].path, out);
        const char *want = script_cases[i].want;
        ck_assert_msg(rc == (want ? 0 : -1) && strcmp(out, want ? want : "") == 0,
                      "case %zu (%s): rc %d, prefix '%s'", i,
                      script_cases[i].script ? script_cases[i].script : "NULL",
                      rc, out);
    }
}
END_TEST

START_TEST(test_prefix_from_script_too_long)
{
    char script[HTTP_PREFIX_MAX + 32], path[HTTP_PREFIX_MAX + 32];
    char out[HTTP_PREFIX_MAX];
    /* A directory of HTTP_PREFIX_MAX - 1 bytes fits; one more does not. */
    for (size_t dn = HTTP_PREFIX_MAX - 1; dn <= HTTP_PREFIX_MAX; dn++) {
        script[0] = '/';
        memset(script + 1, 'a', dn - 1);
        strcpy(script + dn, "/index.fcgi");
        memcpy(path, script, dn);
        strcpy(path + dn, "/room");
        int rc = http_prefix_from_script(script, "index.fcgi", path, out);
        if (dn < HTTP_PREFIX_MAX) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(strlen(out), dn);
        } else {
            ck_assert_int_eq(rc, -1);
            ck_assert_str_eq(out, "");
        }
    }
}
END_TEST

Suite *make_http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *req = tcase_create("request");
    tcase_add_loop_test(req, test_method_parse, 0, N_OF(method_cases));
    tcase_add_loop_test(req, test_path_from_uri, 0, N_OF(path_cases));
    tcase_add_test(req, test_path_max);
    tcase_add_loop_test(req, test_prefix_valid, 0, N_OF(prefix_cases));
    tcase_add_test(req, test_prefix_too_long);
    tcase_add_test(req, test_prefix_from_script);
    tcase_add_test(req, test_prefix_from_script_too_long);
    tcase_add_loop_test(req, test_path_strip_prefix, 0, N_OF(strip_cases));
    suite_add_tcase(s, req);

    TCase *resp = tcase_create("response");
    tcase_add_loop_test(resp, test_reason, 0, N_OF(reason_cases));
    tcase_add_test(resp, test_head_bytes);
    tcase_add_test(resp, test_error_404_get);
    tcase_add_test(resp, test_error_405_allow);
    tcase_add_test(resp, test_error_head_no_body);
    tcase_add_test(resp, test_error_appends);
    tcase_add_test(resp, test_sse_head_bytes);
    tcase_add_test(resp, test_not_allowed_allow);
    tcase_add_test(resp, test_error_401_bearer);
    tcase_add_test(resp, test_error_503_retry_after);
    tcase_add_test(resp, test_error_others_plain);
    suite_add_tcase(s, resp);
    return s;
}
