/* check_page: the contract of page.h. "/" with GET is 200 with the Example 1
 * page (htmx and its SSE extension from our own origin, the seed's div
 * attributes, no CDN); HEAD gets the same head and no body; other methods
 * on "/" get 405 with Allow; unknown paths get a 404 HTML page that shows the
 * path escaped; a NULL path is 400. */
#include <string.h>

#include "buf.h"
#include "check_suites.h"
#include "http.h"
#include "page.h"

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Offset of the body: just past the first CRLF CRLF. */
static size_t body_at(const struct buf *b)
{
    const char *end = strstr(buf_head(b), "\r\n\r\n");
    ck_assert_msg(end != NULL, "no end of head");
    return (size_t)(end - buf_head(b)) + 4;
}

/* The head holds exactly this header line. */
static int head_has_line(const struct buf *b, const char *line)
{
    size_t hl = body_at(b), n = strlen(line);
    const char *h = buf_head(b);
    for (size_t i = 0; i + n + 2 <= hl; i++)
        if ((i == 0 || h[i - 1] == '\n') && memcmp(h + i, line, n) == 0 &&
            h[i + n] == '\r' && h[i + n + 1] == '\n')
            return 1;
    return 0;
}

START_TEST(test_index_get)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(page_respond(&b, HTTP_GET, "/"), 200);
    const char *h = buf_head(&b);
    ck_assert(starts_with(h, "Status: 200 OK\r\n"));
    ck_assert(head_has_line(&b, "Content-Type: text/html; charset=utf-8"));
    ck_assert(head_has_line(&b, "X-Content-Type-Options: nosniff"));
    const char *body = h + body_at(&b);
    ck_assert(starts_with(body, "<!DOCTYPE html>"));
    ck_assert(strstr(body, "hx-ext=\"sse\" sse-connect=\"/sse-stream\" "
                           "sse-swap=\"EventName\" "
                           "hx-swap=\"beforeend show:bottom\" "
                           "id=\"sse-content\"") != NULL);
    ck_assert(strstr(body, "<script src=\"/vendor/htmx.min.js\"></script>"));
    ck_assert(strstr(body, "<script src=\"/vendor/sse.min.js\"></script>"));
    ck_assert(strstr(body, "Intro SSE Example") != NULL);
    ck_assert(strstr(body, "</html>") != NULL);
    /* No CDN, no absolute URLs at all: the page works offline. */
    ck_assert(strstr(h, "http://") == NULL);
    ck_assert(strstr(h, "https://") == NULL);
    ck_assert(strstr(h, "//unpkg") == NULL);
    buf_free(&b);
}
END_TEST

START_TEST(test_index_head)
{
    struct buf get = BUF_INIT, head = BUF_INIT;
    ck_assert_int_eq(page_respond(&get, HTTP_GET, "/"), 200);
    ck_assert_int_eq(page_respond(&head, HTTP_HEAD, "/"), 200);
    ck_assert(starts_with(buf_head(&head), "Status: 200 OK\r\n"));
    ck_assert_uint_eq(body_at(&head), buf_pending(&head)); /* no body */
    /* the same head as GET */
    ck_assert_uint_eq(body_at(&get), body_at(&head));
    ck_assert_mem_eq(buf_head(&get), buf_head(&head), body_at(&head));
    buf_free(&get);
    buf_free(&head);
}
END_TEST

START_TEST(test_index_other_methods)
{
    static const enum http_method methods[] = { HTTP_POST, HTTP_OTHER };
    for (size_t i = 0; i < 2; i++) {
        struct buf b = BUF_INIT;
        ck_assert_int_eq(page_respond(&b, methods[i], "/"), 405);
        ck_assert(starts_with(buf_head(&b), "Status: 405 Method Not Allowed"
                                            "\r\n"));
        ck_assert(head_has_line(&b, "Allow: GET, HEAD"));
        ck_assert(strstr(buf_head(&b), "sse-connect") == NULL);
        buf_free(&b);
    }
}
END_TEST

START_TEST(test_not_found)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(page_respond(&b, HTTP_GET, "/nope"), 404);
    const char *h = buf_head(&b);
    ck_assert(starts_with(h, "Status: 404 Not Found\r\n"));
    ck_assert(head_has_line(&b, "Content-Type: text/html; charset=utf-8"));
    const char *body = h + body_at(&b);
    ck_assert(strstr(body, "<!DOCTYPE html>") != NULL);
    ck_assert(strstr(body, "/nope") != NULL);
    ck_assert(strstr(body, "sse-connect") == NULL);
    ck_assert(strstr(h, "http://") == NULL && strstr(h, "https://") == NULL);
    buf_free(&b);
}
END_TEST

START_TEST(test_not_found_head)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(page_respond(&b, HTTP_HEAD, "/nope"), 404);
    ck_assert(starts_with(buf_head(&b), "Status: 404 Not Found\r\n"));
    ck_assert_uint_eq(body_at(&b), buf_pending(&b));
    buf_free(&b);
}
END_TEST

START_TEST(test_not_found_escapes_path)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(page_respond(&b, HTTP_GET,
                                  "/<script>alert(1)</script>\"'&"), 404);
    const char *body = buf_head(&b) + body_at(&b);
    ck_assert(strstr(body, "/&lt;script&gt;alert(1)&lt;/script&gt;"
                           "&quot;&#39;&amp;") != NULL);
    ck_assert(strstr(body, "<script>alert") == NULL);
    ck_assert(strstr(body, "</script>\"") == NULL);
    buf_free(&b);
}
END_TEST

/* Only "/" is the page: near misses are 404. */
START_TEST(test_near_misses)
{
    static const char *paths[] = { "", "//", "/index.html", "/ ", "/sse-stream" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct buf b = BUF_INIT;
        ck_assert_int_eq(page_respond(&b, HTTP_GET, paths[i]), 404);
        ck_assert(starts_with(buf_head(&b), "Status: 404 Not Found\r\n"));
        buf_free(&b);
    }
}
END_TEST

START_TEST(test_null_path)
{
    static const enum http_method methods[] = { HTTP_GET, HTTP_HEAD, HTTP_POST };
    for (size_t i = 0; i < 3; i++) {
        struct buf b = BUF_INIT;
        ck_assert_int_eq(page_respond(&b, methods[i], NULL), 400);
        ck_assert(starts_with(buf_head(&b), "Status: 400 Bad Request\r\n"));
        if (methods[i] == HTTP_HEAD)
            ck_assert_uint_eq(body_at(&b), buf_pending(&b));
        else
            ck_assert_uint_gt(buf_pending(&b), body_at(&b));
        buf_free(&b);
    }
}
END_TEST

START_TEST(test_appends_after_existing)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "XX");
    ck_assert_int_eq(page_respond(&b, HTTP_GET, "/"), 200);
    ck_assert(starts_with(buf_head(&b), "XXStatus: 200 OK\r\n"));
    buf_free(&b);
}
END_TEST

Suite *make_page_suite(void)
{
    Suite *s = suite_create("page");
    TCase *tc = tcase_create("respond");
    tcase_add_test(tc, test_index_get);
    tcase_add_test(tc, test_index_head);
    tcase_add_test(tc, test_index_other_methods);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_not_found_head);
    tcase_add_test(tc, test_not_found_escapes_path);
    tcase_add_test(tc, test_near_misses);
    tcase_add_test(tc, test_null_path);
    tcase_add_test(tc, test_appends_after_existing);
    suite_add_tcase(s, tc);
    return s;
}
