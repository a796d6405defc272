/* check_uritpl: the contract of uritpl.h. Each row is a template, a string
 * and whether some values of the template's variables expand (RFC 6570,
 * section 3.2) to exactly that string; the expectations come from the
 * RFC's expansion rules and its examples, not from running the code. A
 * second table pins the permissive spots the header documents (exact
 * expansion says 0 there); then the templates that must be refused. */
#include <string.h>

#include "check_suites.h"
#include "uritpl.h"

struct uritpl_row {
    const char *tpl, *uri;
    int match;
};

static const struct uritpl_row rows[] = {
    /* Literal text matches itself only: every ERE metacharacter. */
    { "https://a.example/x", "https://a.example/x", 1 },
    { "https://a.example/x", "https://aXexample/x", 0 },
    { "https://a.example/{x}", "https://a.example/1", 1 },
    { "https://a.example/{x}", "https://aXexample/1", 0 },
    { "https://a/{x}.json", "https://a/1xjson", 0 },
    { "https://a.example/x", "https://a.example/x/", 0 },
    { "https://a.example/x", "xhttps://a.example/x", 0 },
    { "a+b(c)[d]|e^f$g\\h*i?", "a+b(c)[d]|e^f$g\\h*i?", 1 },
    { "a+b", "aab", 0 },
    { "a*", "aaa", 0 },
    { "a*", "", 0 },
    { "ab?", "a", 0 },
    { "(a)", "a", 0 },
    { "(a)", "(a)", 1 },
    { "[ab]", "a", 0 },
    { "[ab]", "[ab]", 1 },
    { "a|b", "a", 0 },
    { "a|b", "a|b", 1 },
    { "x^y", "x^y", 1 },
    { "x$y", "x$y", 1 },
    { "a\\.b", "a\\xb", 0 },
    { "a\\.b", "a\\.b", 1 },
    { "https://a/\xc3\xa9/{x}", "https://a/\xc3\xa9/1", 1 },
    /* {var}: unreserved, %HH, bytes >= 0x80 and the ',' of lists. */
    { "https://example.com/books/{id}", "https://example.com/books/1", 1 },
    { "https://example.com/books/{id}", "https://example.com/books/", 1 },
    { "https://example.com/books/{id}",
      "https://example.com/books/1/reviews", 0 },
    { "https://example.com/books/{id}", "http://example.com/books/1", 0 },
    { "{x}", "", 1 },
    { "{x}", "-._~AZaz09", 1 },
    { "{x}", "a%20b", 1 },
    { "{x}", "%41", 1 },
    { "{x}", "a b", 0 },
    { "{x}", "a/b", 0 },
    { "{x}", "a%2", 0 },
    { "{x}", "a%zz", 0 },
    { "{x}", "a%4g", 0 },
    { "{x}", "a%", 0 },
    { "{x}", "a:b", 0 },
    { "{x}", "a?b", 0 },
    { "{x}", "a#b", 0 },
    { "{x}", "a+b", 0 },
    { "{x}", "a\x7f", 0 },
    { "{x}", "a\nb", 0 },
    { "{x}", "caf\xc3\xa9", 1 },
    { "{x}", "\xe2\x82\xac", 1 },
    { "{x,y}", "1024,768", 1 },
    { "{x,y}", "1024;768", 0 },
    { "{list*}", "red,green,blue", 1 },
    { "/{a}/{b}", "/1/2", 1 },
    { "/{a}/{b}", "/1/2/3", 0 },
    { "/{a}/{b}", "/1", 0 },
    { "{var:3}", "val", 1 },
    { "{var:3}", "v/l", 0 },
    /* {+var}: the reserved set too. */
    { "https://a/{+path}", "https://a/x/y?z=1#f", 1 },
    { "https://a/{+path}", "https://a/x y", 0 },
    { "{+x}", ":/?#[]@!$&'()*+,;=", 1 },
    { "{+x}", "a%20b", 1 },
    { "{+x}", "a%zz", 0 },
    { "{+x}", "\xc3\xa9/", 1 },
    { "{+x}", "a\"b", 0 },
    { "{+x}", "a<b>", 0 },
    { "{+x}", "a{b}", 0 },
    { "{+base}/books", "https://example.com/books", 1 },
    { "{+path:6}/here", "/foo/b/here", 1 },
    /* {#var}: nothing, or '#' and reserved characters. */
    { "https://a/x{#frag}", "https://a/x", 1 },
    { "https://a/x{#frag}", "https://a/x#", 1 },
    { "https://a/x{#frag}", "https://a/x#a/b?c", 1 },
    { "https://a/x{#frag}", "https://a/x#a#b", 1 },
    { "https://a/x{#frag}", "https://a/xa", 0 },
    { "https://a/x{#frag}", "https://a/x#a b", 0 },
    /* {.var}: labels. */
    { "X{.var}", "X", 1 },
    { "X{.var}", "X.", 1 },
    { "X{.var}", "X.a", 1 },
    { "X{.var}", "X.a.b", 1 },
    { "X{.var}", "Xa", 0 },
    { "X{.var}", "X.a/b", 0 },
    { "www{.dom*}", "www.example.com", 1 },
    /* {/var}: path segments. */
    { "https://a{/seg}", "https://a", 1 },
    { "https://a{/seg}", "https://a/", 1 },
    { "https://a{/seg}", "https://a/b", 1 },
    { "https://a{/seg*}", "https://a/b/c", 1 },
    { "https://a{/seg}", "https://ab", 0 },
    { "https://a{/seg}", "https://a/b?c", 0 },
    { "{/var,x}/here", "/value/1024/here", 1 },
    /* {;var}: path parameters named by the expression; an empty value is
     * ";y", never ";y=". */
    { "/p{;x,y}", "/p", 1 },
    { "/p{;x,y}", "/p;x=1;y", 1 },
    { "/p{;x,y}", "/p;x=1;y=2", 1 },
    { "/p{;x,y}", "/p;x=", 0 },
    { "/p{;x,y}", "/p;z=1", 0 },
    { "/p{;x,y}", "/p;x=a/b", 0 },
    { "{;x,y,empty}", ";x=1024;y=768;empty", 1 },
    { "/p{;keys*}", "/p;semi=%3B;dot=.", 1 },
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
    { "{?x}", "?x=", 1 },
    { "{?x}", "?x", 0 },
    { "{?x,y,empty}", "?x=1024&y=768&empty=", 1 },
    { "/s{?q,lang}", "/s?q=cat&lang=en", 1 },
    { "/s{?q,lang}", "/s?lang=en", 1 },
    { "/s{?q,lang}", "/s?q=cat&", 0 },
    { "/s{?q,lang}", "/s?q=cat;lang=en", 0 },
    { "/s{?q,lang}", "/s&q=cat", 0 },
    { "{?a.b}", "?a.b=1", 1 },
    { "{?a.b}", "?aXb=1", 0 },
    { "/s{?params*}", "/s?a=1&b=2", 1 },
    { "/s{?params*}", "/s?a/b=1", 0 },
    { "/s{?q}{&lang}", "/s?q=cat&lang=en", 1 },
    { "/s{?q}{&lang}", "/s?q=cat&page=2", 0 },
    { "{&x}", "", 1 },
    { "{&x}", "&x=1", 1 },
    { "{&x}", "x=1", 0 },
    { "{&x}", "?x=1", 0 },
    { "?fixed=yes{&x}", "?fixed=yes&x=1024", 1 },
    { "?fixed=yes{&x}", "?fixed=yes&y=1", 0 },
};

/* Matches the header documents as permissive: exact expansion says 0. */
static const struct uritpl_row permissive[] = {
    { "{var:3}", "value", 1 },           /* prefix of any length */
    { "{/x}", "/a/b", 1 },               /* unexploded, yet two segments */
    { "X{.x}", "X.a.b", 1 },             /* unexploded, yet two labels */
    { "/s{?q,lang}", "/s?lang=en&q=cat", 1 }, /* names out of order */
    { "{?q}", "?q=1&q=2", 1 },           /* a name repeated */
    { "{&x}", "&x=1&x=2", 1 },
    { "{x}", "%2f", 1 },                 /* lowercase hex */
};

static void uritpl_check_row(const struct uritpl_row *r)
{
    char err[160] = "";
    struct uritpl *t = uritpl_compile(r->tpl, err, sizeof err);
    ck_assert_msg(t != NULL, "%s: %s", r->tpl, err);
    ck_assert_msg(uritpl_match(t, r->uri) == r->match,
                  "%s against %s: expected %d", r->tpl, r->uri, r->match);
    uritpl_free(t);
}

START_TEST(test_match)
{
    uritpl_check_row(&rows[_i]);
}
END_TEST

START_TEST(test_permissive)
{
    uritpl_check_row(&permissive[_i]);
}
END_TEST

static const char *const malformed[] = {
    "https://a/{id", "https://a/id}", "a}b{c}", "{", "}", "https://a/{}",
    "https://a/{a{b}}", "{=x}", "{,x}", "{!x}", "{@x}", "{|x}", "{$x}",
    "{-x}", "{ x}", "{x }", "{a b}", "{a-b}", "{.}", "{+}", "{?}", "{a.}",
    "{a..b}", "{.a..b}", "{%zz}", "{%2}", "{x:0}", "{x:10000}", "{x:}",
    "{x:3*}", "{x,}", "{x*y}", "{x**}",
};

START_TEST(test_malformed)
{
    char err[160] = "";
    ck_assert_msg(uritpl_compile(malformed[_i], err, sizeof err) == NULL,
                  "accepted %s", malformed[_i]);
    ck_assert_msg(err[0] != '\0', "no reason for %s", malformed[_i]);
    ck_assert_msg(strchr(err, '\n') == NULL, "reason of two lines: %s", err);
}
END_TEST

START_TEST(test_reasons)
{
    char err[160];
    ck_assert_ptr_null(uritpl_compile("{=x}", err, sizeof err));
    ck_assert_str_eq(err, "reserved operator");
    ck_assert_ptr_null(uritpl_compile("{$x}", err, sizeof err));
    ck_assert_str_eq(err, "unknown operator");
    /* A short err is cut, not overrun (ASan watches). */
    char small[4];
    ck_assert_ptr_null(uritpl_compile("{", small, sizeof small));
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
}
END_TEST

START_TEST(test_limits)
{
    char big[URITPL_MAX + 2], err[160];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_ptr_null(uritpl_compile(big, err, sizeof err));
    ck_assert_str_ne(err, "");
    /* Exactly URITPL_MAX bytes: allowed, and a literal matches itself. */
    big[URITPL_MAX] = '\0';
    struct uritpl *t = uritpl_compile(big, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(uritpl_match(t, big), 1);
    big[0] = 'b';
    ck_assert_int_eq(uritpl_match(t, big), 0);
    uritpl_free(t);
    /* As many expressions as fit, each a query part of its own. */
    big[0] = '\0';
    while (strlen(big) + 5 <= URITPL_MAX)
        strcat(big, "{&a}");
    t = uritpl_compile(big, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(uritpl_match(t, "&a=1&a=2"), 1);
    ck_assert_int_eq(uritpl_match(t, "&b=1"), 0);
    uritpl_free(t);
    /* Names may hold %HH and dots between parts. */
    t = uritpl_compile("{?a%20b.c_1}", err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(uritpl_match(t, "?a%20b.c_1=x"), 1);
    uritpl_free(t);
    uritpl_free(NULL);
}
END_TEST

START_TEST(test_is_template)
{
    ck_assert_int_eq(uritpl_is_template("https://a/{id}"), 1);
    ck_assert_int_eq(uritpl_is_template("{"), 1);
    ck_assert_int_eq(uritpl_is_template("https://a/id"), 0);
    ck_assert_int_eq(uritpl_is_template("https://a/id}"), 0);
    ck_assert_int_eq(uritpl_is_template("*"), 0);
    ck_assert_int_eq(uritpl_is_template(""), 0);
}
END_TEST

#define URITPL_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *make_uritpl_suite(void)
{
    Suite *s = suite_create("uritpl");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_match, 0, URITPL_COUNT(rows));
    tcase_add_loop_test(tc, test_permissive, 0, URITPL_COUNT(permissive));
    tcase_add_loop_test(tc, test_malformed, 0, URITPL_COUNT(malformed));
    tcase_add_test(tc, test_reasons);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_is_template);
    suite_add_tcase(s, tc);
    return s;
}
