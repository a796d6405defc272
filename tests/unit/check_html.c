/* check_html: the contract of html.h. & < > " ' become &amp; &lt; &gt;
 * &quot; &#39;; every other byte (UTF-8, NUL with an explicit length) is
 * copied as it is; output is appended after what the buf already holds. */
#include <string.h>

#include "buf.h"
#include "check_suites.h"
#include "html.h"

struct esc_case {
    const char *in;
    const char *want;
};

static const struct esc_case esc_cases[] = {
    { "", "" },
    { "plain text", "plain text" },
    { "&", "&amp;" },
    { "<", "&lt;" },
    { ">", "&gt;" },
    { "\"", "&quot;" },
    { "'", "&#39;" },
    { "a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&#39;f" },
    { "&&", "&amp;&amp;" },
    { "&amp;", "&amp;amp;" },
    { "<<>>", "&lt;&lt;&gt;&gt;" },
    { "\"><img src=x onerror=alert(1)>",
      "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" },
    { "<script>alert(1)</script>",
      "&lt;script&gt;alert(1)&lt;/script&gt;" },
    { "' onmouseover='x", "&#39; onmouseover=&#39;x" },
    { "caf\xc3\xa9", "caf\xc3\xa9" },                /* UTF-8 passes */
    { "\xc3\xa9<\xe2\x82\xac>", "\xc3\xa9&lt;\xe2\x82\xac&gt;" },
    { "tab\tnl\ncr\r", "tab\tnl\ncr\r" },
};

START_TEST(test_escape_str)
{
    const struct esc_case *c = &esc_cases[_i];
    struct buf b = BUF_INIT;
    html_append_escaped_str(&b, c->in);
    ck_assert_str_eq(buf_head(&b), c->want);
    ck_assert_uint_eq(buf_pending(&b), strlen(c->want));
    buf_free(&b);
}
END_TEST

START_TEST(test_escape_len)
{
    const struct esc_case *c = &esc_cases[_i];
    struct buf b = BUF_INIT;
    buf_append_str(&b, "<pre>");
    html_append_escaped(&b, c->in, strlen(c->in));
    ck_assert_uint_eq(buf_pending(&b), 5 + strlen(c->want));
    ck_assert_mem_eq(buf_head(&b), "<pre>", 5);
    ck_assert_str_eq(buf_head(&b) + 5, c->want);
    buf_free(&b);
}
END_TEST

START_TEST(test_embedded_nul)
{
    struct buf b = BUF_INIT;
    html_append_escaped(&b, "a\0<b", 4);
    ck_assert_uint_eq(buf_pending(&b), 7);
    ck_assert_mem_eq(buf_head(&b), "a\0&lt;b", 7);
    buf_free(&b);
}
END_TEST

START_TEST(test_explicit_length_stops)
{
    struct buf b = BUF_INIT;
    html_append_escaped(&b, "ab<cd", 2);  /* the '<' is past n */
    ck_assert_str_eq(buf_head(&b), "ab");
    html_append_escaped(&b, "<>", 0);
    ck_assert_str_eq(buf_head(&b), "ab");
    buf_free(&b);
}
END_TEST

/* Every byte value: the five specials map to their entities, every other
 * byte (including 0x00 and 0x80..0xFF) is copied unchanged. */
START_TEST(test_all_bytes)
{
    for (int c = 0; c < 256; c++) {
        char in = (char)c;
        struct buf b = BUF_INIT;
        html_append_escaped(&b, &in, 1);
        const char *want;
        switch (c) {
        case '&':  want = "&amp;";  break;
        case '<':  want = "&lt;";   break;
        case '>':  want = "&gt;";   break;
        case '"':  want = "&quot;"; break;
        case '\'': want = "&#39;";  break;
        default:   want = NULL;     break;
        }
        if (want) {
            ck_assert_str_eq(buf_head(&b), want);
        } else {
            ck_assert_uint_eq(buf_pending(&b), 1);
            ck_assert_int_eq(buf_head(&b)[0], in);
        }
        buf_free(&b);
    }
}
END_TEST

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *make_html_suite(void)
{
    Suite *s = suite_create("html");
    TCase *tc = tcase_create("escape");
    tcase_add_loop_test(tc, test_escape_str, 0, N_OF(esc_cases));
    tcase_add_loop_test(tc, test_escape_len, 0, N_OF(esc_cases));
    tcase_add_test(tc, test_embedded_nul);
    tcase_add_test(tc, test_explicit_length_stops);
    tcase_add_test(tc, test_all_bytes);
    suite_add_tcase(s, tc);
    return s;
}
