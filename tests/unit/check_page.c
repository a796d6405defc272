/* check_page: the contract of page.h. "/" with GET is 200 with the Example 1
 * page (htmx and its SSE extension from our own origin, the seed's div
 * attributes, no CDN); HEAD gets the same head and no body; other methods
 * on "/" get 405 with Allow; unknown paths get a 404 HTML page that shows the
 * path escaped; a NULL path is 400. The other example pages and their
 * fragments: the exact SSE attributes, the nav on every page, no inline
 * script and no other origin, GET/HEAD/405 for each; the live room's form and
 * message escape what they are given. */
#include <stdio.h>
#include <string.h>
#include <time.h>

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
    /* sse-resume.js between htmx and its extension (it must define
     * htmx.createEventSource before the extension looks for one). */
    ck_assert(strstr(body, "<script src=\"/vendor/htmx.min.js\"></script>\n"
                           "<script src=\"/assets/sse-resume.js\"></script>\n"
                           "<script src=\"/vendor/sse.min.js\"></script>\n"));
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
    /* The 404 page loads htmx too, so it carries the same CSP-safe config. */
    ck_assert(strstr(h, "<meta name=\"htmx-config\" content='{\"includeIndicatorStyles\":false,") != NULL);
    ck_assert(strstr(h, "\r\nContent-Security-Policy: default-src 'none';") != NULL);
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

/* ---- every page and fragment ---------------------------------------- */

struct route_case {
    const char *path;
    int fragment;       /* no document, no nav */
    const char *nav;    /* the nav link marked aria-current, for pages */
    const char *must[4]; /* exact markup the body holds (NULL ends) */
};

static const struct route_case routes[] = {
    { "/", 0, "/", {
        "<h1>Intro SSE Example</h1>",
        "<div hx-ext=\"sse\" sse-connect=\"/sse-stream\" sse-swap=\"EventName\" "
        "hx-swap=\"beforeend show:bottom\" id=\"sse-content\">\n"
        "<p>The contents of this &lt;div&gt; will be updated in real time with "
        "each SSE message received.</p>\n</div>\n",
        NULL } },
    { "/example2", 0, "/example2", {
        "<h1>Example 2: start from a button</h1>",
        "hx-get=\"/example2/start\" hx-target=\"#example2-stream\" "
        "hx-swap=\"innerHTML\"",
        "id=\"example2-stream\"",
        NULL } },
    { "/example2/start", 1, NULL, {
        "<div hx-ext=\"sse\" sse-connect=\"/streams/example2\" "
        "sse-swap=\"EventName\" sse-close=\"close\" "
        "hx-swap=\"beforeend show:bottom\" id=\"example2-content\">",
        NULL } },
    { "/trigger", 0, "/trigger", {
        "<div hx-ext=\"sse\" sse-connect=\"/streams/ticks\">\n"
        "<div id=\"tick-target\" hx-get=\"/trigger/fragment\" "
        "hx-trigger=\"sse:tick\" hx-swap=\"innerHTML\">",
        "is not swapped",
        NULL } },
    { "/trigger/fragment", 1, NULL, {
        "<p>Fetched from the page responder at ",
        " UTC (request #",
        " of this process)</p>\n",
        NULL } },
    { "/close", 0, "/close", {
        "sse-connect=\"/streams/countdown\" sse-close=\"done\"",
        "sse-swap=\"count\" hx-swap=\"innerHTML\"",
        "sse-swap=\"done\" hx-swap=\"innerHTML\"",
        NULL } },
    { "/dashboard", 0, "/dashboard", {
        "sse-connect=\"/streams/dashboard\"",
        "sse-swap=\"clock\" hx-swap=\"innerHTML\"",
        "sse-swap=\"counter\" hx-swap=\"innerHTML\"",
        "sse-swap=\"log\" hx-swap=\"beforeend\"" } },
    { "/room", 0, "/room", {
        "<div hx-ext=\"sse\" sse-connect=\"/events/room?history=20\" "
        "sse-swap=\"message\" hx-swap=\"beforeend show:bottom\" "
        "id=\"room-log\"></div>",
        "<form id=\"room-form\" hx-post=\"/room/messages\" hx-target=\"this\" "
        "hx-swap=\"outerHTML\">",
        "<input name=\"text\" maxlength=\"500\" required autocomplete=\"off\"",
        "\"selfRequestsOnly\":true,\"responseHandling\":["
        "{\"code\":\"204\",\"swap\":false},{\"code\":\"[23]..\",\"swap\":true},"
        "{\"code\":\"422\",\"swap\":true},"
        "{\"code\":\"[45]..\",\"swap\":false,\"error\":true}]}'>" } },
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

START_TEST(test_route_get)
{
    const struct route_case *rc = &routes[_i];
    struct buf b = BUF_INIT;
    ck_assert_int_eq(page_respond(&b, HTTP_GET, rc->path), 200);
    const char *h = buf_head(&b);
    ck_assert_msg(starts_with(h, "Status: 200 OK\r\n"), "%s", rc->path);
    ck_assert(head_has_line(&b, "Content-Type: text/html; charset=utf-8"));
    ck_assert(head_has_line(&b, "X-Content-Type-Options: nosniff"));
    ck_assert(head_has_line(&b, rc->fragment ? "Cache-Control: no-store"
                                             : "Cache-Control: no-cache"));
    const char *body = h + body_at(&b);
    ck_assert_uint_eq(strlen(body), buf_pending(&b) - body_at(&b)); /* no NUL */
    for (size_t k = 0; k < 4 && rc->must[k]; k++)
        ck_assert_msg(strstr(body, rc->must[k]) != NULL, "%s lacks %s",
                      rc->path, rc->must[k]);
    /* Nothing from another origin, no inline script, no hx-on. */
    ck_assert_msg(strstr(h, "http://") == NULL && strstr(h, "https://") == NULL
                  && strstr(h, "src=\"//") == NULL
                  && strstr(h, "href=\"//") == NULL, "%s", rc->path);
    ck_assert(strstr(body, "hx-on") == NULL);
    if (rc->fragment) {
        ck_assert(strstr(body, "<html") == NULL);
        ck_assert(strstr(body, "<!DOCTYPE") == NULL);
        ck_assert(strstr(body, "<nav") == NULL);
        ck_assert(strstr(body, "<script") == NULL);
        buf_free(&b);
        return;
    }
    ck_assert(starts_with(body, "<!DOCTYPE html>\n<html lang=\"en\">\n"));
    ck_assert(strstr(body, "<meta charset=\"utf-8\">") != NULL);
    ck_assert_uint_eq(count_of(body, "<script"), 3);
    /* sse-resume.js between htmx and its extension (it must define
     * htmx.createEventSource before the extension looks for one). */
    ck_assert(strstr(body, "<script src=\"/vendor/htmx.min.js\"></script>\n"
                           "<script src=\"/assets/sse-resume.js\"></script>\n"
                           "<script src=\"/vendor/sse.min.js\"></script>\n"));
    ck_assert(strstr(body, "<link rel=\"stylesheet\" href=\"/assets/style.css\">"));
    ck_assert_uint_eq(count_of(body, "<title>"), 1);
    ck_assert_uint_eq(count_of(body, "<h1>"), 1);
    /* The nav: every page links every page, and marks its own. */
    ck_assert_uint_eq(count_of(body, "<nav "), 1);
    const char *nav = strstr(body, "<nav class=\"site-nav\" aria-label=\"Examples\">");
    ck_assert_msg(nav != NULL, "%s has no nav", rc->path);
    const char *nav_end = strstr(nav, "</nav>");
    ck_assert(nav_end != NULL && nav_end < strstr(body, "<main>"));
    static const char *links[] = {
        "<a href=\"/\"%s>Example 1</a>", "<a href=\"/example2\"%s>Example 2</a>",
        "<a href=\"/trigger\"%s>hx-trigger</a>", "<a href=\"/close\"%s>sse-close</a>",
        "<a href=\"/dashboard\"%s>Dashboard</a>", "<a href=\"/room\"%s>Live room</a>",
    };
    static const char *hrefs[] = { "/", "/example2", "/trigger", "/close",
                                   "/dashboard", "/room" };
    for (size_t k = 0; k < 6; k++) {
        char want[128];
        int here = strcmp(hrefs[k], rc->nav) == 0;
        snprintf(want, sizeof want, links[k], here ? " aria-current=\"page\"" : "");
        const char *at = strstr(nav, want);
        ck_assert_msg(at != NULL && at < nav_end, "%s: nav lacks %s", rc->path, want);
    }
    ck_assert_uint_eq(count_of(body, "aria-current="), 1);
    ck_assert(strstr(body, "</main>\n</body>\n</html>\n") != NULL);
    /* Every page: one htmx config that keeps htmx within the CSP; the
     * 422 response handling only where the room's form needs it. */
    ck_assert_uint_eq(count_of(body, "<meta name=\"htmx-config\""), 1);
    ck_assert(strstr(body, "\"includeIndicatorStyles\":false,"
                           "\"allowEval\":false,\"allowScriptTags\":false,"
                           "\"selfRequestsOnly\":true") != NULL);
    ck_assert_int_eq(strstr(body, "responseHandling") != NULL,
                     strcmp(rc->path, "/room") == 0);
    /* The security headers of an HTML response (h is the whole response). */
    ck_assert(strstr(h, "\r\nContent-Security-Policy: default-src 'none'; "
                        "script-src 'self'; style-src 'self';") != NULL);
    ck_assert(strstr(h, "\r\nReferrer-Policy: same-origin\r\n") != NULL);
    ck_assert(strstr(h, "\r\nX-Content-Type-Options: nosniff\r\n") != NULL);
    ck_assert(strstr(h, "unsafe-") == NULL);
    buf_free(&b);
}
END_TEST

START_TEST(test_route_head)
{
    const struct route_case *rc = &routes[_i];
    struct buf get = BUF_INIT, head = BUF_INIT;
    ck_assert_int_eq(page_respond(&get, HTTP_GET, rc->path), 200);
    ck_assert_int_eq(page_respond(&head, HTTP_HEAD, rc->path), 200);
    ck_assert_uint_eq(body_at(&head), buf_pending(&head)); /* no body */
    ck_assert_uint_eq(body_at(&get), body_at(&head));
    ck_assert_mem_eq(buf_head(&get), buf_head(&head), body_at(&head));
    buf_free(&get);
    buf_free(&head);
}
END_TEST

START_TEST(test_route_other_methods)
{
    static const enum http_method methods[] = { HTTP_POST, HTTP_OTHER };
    for (size_t i = 0; i < 2; i++) {
        struct buf b = BUF_INIT;
        ck_assert_int_eq(page_respond(&b, methods[i], routes[_i].path), 405);
        ck_assert(starts_with(buf_head(&b), "Status: 405 Method Not Allowed\r\n"));
        ck_assert(head_has_line(&b, "Allow: GET, HEAD"));
        ck_assert(head_has_line(&b, "Content-Type: text/plain; charset=utf-8"));
        ck_assert(strstr(buf_head(&b), "<") == NULL);
        buf_free(&b);
    }
}
END_TEST

/* Paths near the routes, and the room's POST target (the caller's). */
START_TEST(test_route_near_misses)
{
    static const char *paths[] = {
        "/example2/", "/example2/start/", "/example2/startx", "/Example2",
        "/trigger/", "/trigger/fragment/x", "/close/", "/dashboard/x",
        "/room/", "/room/messages", "/streams/example2", "/events/room",
    };
    static const enum http_method methods[] = { HTTP_GET, HTTP_POST };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        for (size_t m = 0; m < 2; m++) {
            struct buf b = BUF_INIT;
            ck_assert_int_eq(page_respond(&b, methods[m], paths[i]), 404);
            ck_assert(strstr(buf_head(&b), "<nav ") != NULL);
            buf_free(&b);
        }
}
END_TEST

START_TEST(test_trigger_fragment_format)
{
    struct buf b = BUF_INIT;
    page_append_trigger_fragment(&b, (time_t)86399 + 86400 * 365, 42);
    ck_assert_str_eq(buf_head(&b), "<p>Fetched from the page responder at "
                                   "23:59:59 UTC (request #42 of this "
                                   "process)</p>\n");
    buf_reset(&b);
    page_append_trigger_fragment(&b, (time_t)3661, 1);
    ck_assert_str_eq(buf_head(&b), "<p>Fetched from the page responder at "
                                   "01:01:01 UTC (request #1 of this "
                                   "process)</p>\n");
    buf_free(&b);
}
END_TEST

/* Each request to the fragment counts; the HTML says which one it was. */
START_TEST(test_trigger_fragment_counts)
{
    unsigned long n[2];
    for (int i = 0; i < 2; i++) {
        struct buf b = BUF_INIT;
        ck_assert_int_eq(page_respond(&b, HTTP_GET, "/trigger/fragment"), 200);
        const char *at = strstr(buf_head(&b), "(request #");
        ck_assert(at != NULL);
        ck_assert_int_eq(sscanf(at, "(request #%lu of", &n[i]), 1);
        buf_free(&b);
    }
    ck_assert_uint_eq(n[1], n[0] + 1);
}
END_TEST

/* ---- the live room's form and message --------------------------------- */

static const char *xss[] = {
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
};
static const char *xss_escaped[] = {
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
};

/* The value of the form's hidden key input, copied into key (or ""). */
static void form_key(const char *form, char key[80])
{
    const char *at = strstr(form, "<input type=\"hidden\" name=\"key\" value=\"");
    key[0] = '\0';
    if (!at)
        return;
    at += strlen("<input type=\"hidden\" name=\"key\" value=\"");
    size_t n = strcspn(at, "\"");
    if (n < 80) {
        memcpy(key, at, n);
        key[n] = '\0';
    }
}

START_TEST(test_room_form_empty)
{
    struct buf b = BUF_INIT;
    page_append_room_form(&b, NULL, "", NULL);
    char key[80];
    form_key(buf_head(&b), key);
    /* A new form gets a fresh random key: 32 lowercase hex digits. */
    ck_assert_uint_eq(strlen(key), PAGE_FORM_KEY_LEN);
    ck_assert_uint_eq(strspn(key, "0123456789abcdef"), PAGE_FORM_KEY_LEN);
    char want[600];
    snprintf(want, sizeof want,
        "<form id=\"room-form\" hx-post=\"/room/messages\" hx-target=\"this\" "
        "hx-swap=\"outerHTML\">\n"
        "<label for=\"room-text\">Message</label>\n"
        "<input name=\"text\" maxlength=\"500\" required autocomplete=\"off\" "
        "id=\"room-text\">\n"
        "<input type=\"hidden\" name=\"key\" value=\"%s\">\n"
        "<button type=\"submit\">Send</button>\n"
        "</form>\n", key);
    ck_assert_str_eq(buf_head(&b), want);
    /* NULL text is the same as "", but the key is new each time. */
    struct buf n = BUF_INIT;
    page_append_room_form(&n, NULL, NULL, NULL);
    char key2[80];
    form_key(buf_head(&n), key2);
    ck_assert_uint_eq(strlen(key2), PAGE_FORM_KEY_LEN);
    ck_assert_str_ne(key, key2);
    buf_free(&b);
    buf_free(&n);
}
END_TEST

START_TEST(test_room_form_error_and_text)
{
    struct buf b = BUF_INIT;
    page_append_room_form(&b, "message too long", "hello & bye", "k-1");
    const char *s = buf_head(&b);
    ck_assert(starts_with(s, "<form id=\"room-form\" "));
    ck_assert(strstr(s, "<p class=\"form-error\" id=\"room-error\" "
                        "role=\"alert\">message too long</p>\n") != NULL);
    ck_assert(strstr(s, " aria-invalid=\"true\"") != NULL);
    ck_assert(strstr(s, " value=\"hello &amp; bye\">") != NULL);
    /* A form answered with an error keeps the key it was sent with. */
    ck_assert(strstr(s, "<input type=\"hidden\" name=\"key\" value=\"k-1\">\n")
              != NULL);
    /* The error comes before the input. */
    ck_assert(strstr(s, "form-error") < strstr(s, "<input "));
    ck_assert(strstr(s, "</form>\n") != NULL);
    buf_free(&b);
}
END_TEST

START_TEST(test_room_form_escapes)
{
    for (size_t i = 0; i < 2; i++) {
        struct buf b = BUF_INIT;
        page_append_room_form(&b, xss[i], xss[i], xss[i]);
        const char *s = buf_head(&b);
        /* error, value and key */
        ck_assert_uint_eq(count_of(s, xss_escaped[i]), 3);
        ck_assert(strstr(s, "<script") == NULL);
        ck_assert(strstr(s, "<img") == NULL);
        ck_assert(strstr(s, "\"><") == NULL);
        buf_free(&b);
    }
}
END_TEST

START_TEST(test_room_message)
{
    struct buf b = BUF_INIT;
    page_append_room_message(&b, "hello there", 5, "12:00:01");
    ck_assert_str_eq(buf_head(&b), "<div class=\"room-msg\"><time>12:00:01"
                                   "</time> <span>hello</span></div>");
    buf_free(&b);
}
END_TEST

START_TEST(test_room_message_escapes)
{
    for (size_t i = 0; i < 2; i++) {
        struct buf b = BUF_INIT;
        page_append_room_message(&b, xss[i], strlen(xss[i]), "<b>");
        char want[256];
        snprintf(want, sizeof want, "<div class=\"room-msg\"><time>&lt;b&gt;"
                 "</time> <span>%s</span></div>", xss_escaped[i]);
        ck_assert_str_eq(buf_head(&b), want);
        buf_free(&b);
    }
}
END_TEST

/* len counts, not NUL: bytes past len are not read, a NUL inside is kept. */
START_TEST(test_room_message_len)
{
    struct buf b = BUF_INIT;
    page_append_room_message(&b, "a\0b<", 4, "00:00:00");
    ck_assert_uint_eq(buf_pending(&b),
                      strlen("<div class=\"room-msg\"><time>00:00:00</time> "
                             "<span>") + 3 + 4 + strlen("</span></div>"));
    ck_assert_mem_eq(buf_head(&b) + strlen("<div class=\"room-msg\"><time>"
                     "00:00:00</time> <span>"), "a\0b&lt;", 7);
    buf_free(&b);
}
END_TEST

/* Under a prefix every URL of every page points below it, and nothing
 * else changes. */
START_TEST(test_prefix_urls)
{
    const char *paths[] = { "/", "/example2", "/example2/start", "/trigger",
                            "/close", "/dashboard", "/room", "/nope" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct buf plain = BUF_INIT, pre = BUF_INIT;
        page_respond(&plain, HTTP_GET, paths[i]);
        page_respond(&pre, HTTP_GET, paths[i]);
        page_prefix_urls(&pre, "/apps/sse");
        const char *p = buf_head(&pre);
        static const char *const attrs[] = { " href=\"/", " src=\"/",
            " action=\"/", " hx-get=\"/", " hx-post=\"/", " sse-connect=\"/" };
        size_t urls = 0, other = count_of(buf_head(&plain), "=\"/");
        for (size_t k = 0; k < sizeof attrs / sizeof attrs[0]; k++)
            urls += count_of(buf_head(&plain), attrs[k]);
        other -= urls; /* e.g. a <code>sse-connect="/..."</code> in prose */
        ck_assert_msg(urls > 0, "%s has URLs", paths[i]);
        /* Every URL attribute now starts with the prefix... */
        ck_assert_uint_eq(count_of(p, "=\"/apps/sse/"), urls);
        ck_assert_uint_eq(count_of(p, "=\"/"), urls + other);
        /* ...and the text grew by exactly the prefix per URL. */
        ck_assert_uint_eq(buf_pending(&pre),
                          buf_pending(&plain) + urls * strlen("/apps/sse"));
        buf_free(&plain);
        buf_free(&pre);
    }
    /* The seed's attributes, mounted. */
    struct buf b = BUF_INIT;
    page_respond(&b, HTTP_GET, "/");
    page_prefix_urls(&b, "/apps/sse");
    ck_assert(strstr(buf_head(&b), "sse-connect=\"/apps/sse/sse-stream\"") != NULL);
    ck_assert(strstr(buf_head(&b), "<script src=\"/apps/sse/vendor/htmx.min.js\">") != NULL);
    buf_free(&b);
    /* Escaped user text never matches; other attributes stay. */
    struct buf t = BUF_INIT;
    buf_append_str(&t, "<p data-x=\"/a\">x href=&quot;/evil&quot; "
                       "<a href=\"/ok\">");
    page_prefix_urls(&t, "/p");
    ck_assert_str_eq(buf_head(&t), "<p data-x=\"/a\">x href=&quot;/evil&quot; "
                                   "<a href=\"/p/ok\">");
    page_prefix_urls(&t, "");
    ck_assert_str_eq(buf_head(&t), "<p data-x=\"/a\">x href=&quot;/evil&quot; "
                                   "<a href=\"/p/ok\">");
    buf_free(&t);
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

    TCase *rt = tcase_create("routes");
    tcase_add_loop_test(rt, test_route_get, 0, (int)N_ROUTES);
    tcase_add_loop_test(rt, test_route_head, 0, (int)N_ROUTES);
    tcase_add_loop_test(rt, test_route_other_methods, 0, (int)N_ROUTES);
    tcase_add_test(rt, test_route_near_misses);
    tcase_add_test(rt, test_trigger_fragment_format);
    tcase_add_test(rt, test_trigger_fragment_counts);
    suite_add_tcase(s, rt);

    TCase *room = tcase_create("room");
    tcase_add_test(room, test_room_form_empty);
    tcase_add_test(room, test_room_form_error_and_text);
    tcase_add_test(room, test_room_form_escapes);
    tcase_add_test(room, test_room_message);
    tcase_add_test(room, test_room_message_escapes);
    tcase_add_test(room, test_room_message_len);
    tcase_add_test(room, test_prefix_urls);
    suite_add_tcase(s, room);
    return s;
}
