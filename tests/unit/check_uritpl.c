/* check_uritpl: the contract of uritpl.h. Each row is a template, a string
 * and whether some values of the template's variables expand (RFC 6570,
 * section 3.2) to exactly that string; the expectations come from the
 * RFC's expansion rules, not from running the code. Then the templates
 * that must be refused. */
#include <string.h>

#include "check_suites.h"
#include "uritpl.h"

static const struct { const char *tpl, *uri; int match; } rows[] = {
    /* Literal text, metacharacters included, matches only itself. */
    { "https://a.example/x", "https://a.example/x", 1 },
    { "https://a.example/x", "https://aXexample/x", 0 },
    { "https://a.example/x", "https://a.example/x/", 0 },
    { "a+b(c)[d]|e^f$g\\h*i?", "a+b(c)[d]|e^f$g\\h*i?", 1 },
    { "a+b", "aab", 0 },
    { "a*", "aaa", 0 },
    /* {var}: unreserved and %HH, no reserved characters. */
    { "https://example.com/books/{id}", "https://example.com/books/1", 1 },
    { "https://example.com/books/{id}", "https://example.com/books/", 1 },
    { "https://example.com/books/{id}",
      "https://example.com/books/1/reviews", 0 },
    { "https://example.com/books/{id}", "https://example.com/books/a%20b", 1 },
    { "https://example.com/books/{id}", "https://example.com/books/a b", 0 },
    { "https://example.com/books/{id}", "https://example.com/books/a%2", 0 },
    { "https://example.com/books/{id}", "https://example.com/books/a%zz", 0 },
    { "https://example.com/books/{id}", "https://example.com/books/a?b", 0 },
    { "https://example.com/books/{id}", "https://example.com/books/caf\xc3\xa9",
      1 },
    { "https://example.com/books/{id}", "http://example.com/books/1", 0 },
    { "{x,y}", "1,2", 1 },
    { "{list*}", "red,green", 1 },
    { "/{a}/{b}", "/1/2", 1 },
    { "/{a}/{b}", "/1/2/3", 0 },
    { "X{var:3}", "Xval", 1 },
    /* {+var}: reserved characters too. */
    { "https://a/{+path}", "https://a/x/y?z=1#f", 1 },
    { "https://a/{+path}", "https://a/x y", 0 },
    { "{+base}/books", "https://example.com/books", 1 },
    /* {#var}: nothing, or '#' and reserved. */
    { "https://a/x{#frag}", "https://a/x", 1 },
    { "https://a/x{#frag}", "https://a/x#a/b", 1 },
    { "https://a/x{#frag}", "https://a/xa", 0 },
    /* {.var}: labels. */
    { "X{.var}", "X", 1 },
    { "X{.var}", "X.a", 1 },
    { "X{.var}", "X.a.b", 1 },
    { "X{.var}", "Xa", 0 },
    /* {/var}: path segments. */
    { "https://a{/seg}", "https://a", 1 },
    { "https://a{/seg}", "https://a/b", 1 },
    { "https://a{/seg*}", "https://a/b/c", 1 },
    { "https://a{/seg}", "https://ab", 0 },
    { "https://a{/seg}", "https://a/b?c", 0 },
    /* {;var}: path parameters named by the expression. */
    { "/p{;x,y}", "/p;x=1;y", 1 },
    { "/p{;x,y}", "/p;z=1", 0 },
    { "/p{;keys*}", "/p;z=1", 1 },
    /* {?var}, {&var}: query pairs named by the expression. */
    { "https://example.com/users/foo/{?topic}",
      "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1",
      1 },
    { "https://example.com/users/foo/{?topic}", "https://example.com/users/foo/",
      1 },
    { "https://example.com/users/foo/{?topic}",
      "https://example.com/users/foo/?other=1", 0 },
    { "https://example.com/users/foo/{?topic}",
      "https://example.com/users/foo/?topic=a/b", 0 },
    { "/s{?q,lang}", "/s?q=cat&lang=en", 1 },
    { "/s{?q,lang}", "/s?lang=en", 1 },
    { "/s{?q}{&lang}", "/s?q=cat&lang=en", 1 },
    { "/s{?q}{&lang}", "/s?q=cat&page=2", 0 },
    { "/s{?params*}", "/s?a=1&b=2", 1 },
};

START_TEST(test_match_table)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char err[160] = "";
        struct uritpl *t = uritpl_compile(rows[i].tpl, err, sizeof err);
        ck_assert_msg(t != NULL, "%s: %s", rows[i].tpl, err);
        ck_assert_msg(uritpl_match(t, rows[i].uri) == rows[i].match,
                      "%s against %s: expected %d", rows[i].tpl, rows[i].uri,
                      rows[i].match);
        uritpl_free(t);
    }
}
END_TEST

START_TEST(test_malformed)
{
    static const char *const bad[] = {
        "https://a/{id", "https://a/id}", "https://a/{}", "https://a/{a{b}}",
        "{=x}", "{,x}", "{!x}", "{@x}", "{|x}", "{a b}", "{a-b}", "{.}",
        "{a.}", "{.a..b}", "{x:0}", "{x:10000}", "{x:}", "{x,}", "{x*y}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[160] = "";
        struct uritpl *t = uritpl_compile(bad[i], err, sizeof err);
        ck_assert_msg(t == NULL, "accepted %s", bad[i]);
        ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
    }
    char big[URITPL_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char err[160];
    ck_assert_ptr_null(uritpl_compile(big, err, sizeof err));
    big[URITPL_MAX] = '\0';
    struct uritpl *t = uritpl_compile(big, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    uritpl_free(t);
    /* Variable names may hold %HH and dots between parts. */
    t = uritpl_compile("{a%20b.c_1}", err, sizeof err);
    ck_assert_ptr_nonnull(t);
    uritpl_free(t);
}
END_TEST

START_TEST(test_is_template)
{
    ck_assert_int_eq(uritpl_is_template("https://a/{id}"), 1);
    ck_assert_int_eq(uritpl_is_template("https://a/id"), 0);
    ck_assert_int_eq(uritpl_is_template("*"), 0);
}
END_TEST

Suite *make_uritpl_suite(void)
{
    Suite *s = suite_create("uritpl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_match_table);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_is_template);
    suite_add_tcase(s, tc);
    return s;
}
