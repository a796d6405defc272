/* check_query: the contract of query.h. query_decode percent-decodes (hex
 * digits of either case), turns '+' into ' ' only in form mode, and refuses
 * a truncated or non-hex escape, a decoded or raw NUL, or output that does
 * not fit with its NUL. query_next walks "k=v&..." pieces raw, skipping empty ones;
 * a piece without '=' has an empty value. query_get compares decoded keys,
 * returns the first match decoded in form mode. Channel names are 1..64 of
 * [A-Za-z0-9_.-] except "." and ".."; event names also allow ':'. Ids are
 * 0..2^53 in canonical decimal. */
#include <stdio.h>
#include <string.h>

#include "check_suites.h"
#include "query.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define S(lit) lit, sizeof(lit) - 1 /* a literal and its length */

/* ------------------------------------------------------------------------
 * query_decode */

struct decode_case {
    const char *in;
    size_t n;
    int plus_is_space;
    size_t outsz;
    long rc;
    const char *want; /* when rc >= 0 */
};

static const struct decode_case decode_cases[] = {
    { S("abc"), 1, 16, 3, "abc" },
    { S(""), 1, 16, 0, "" },
    { S("%41"), 1, 16, 1, "A" },
    { S("%2f"), 1, 16, 1, "/" },
    { S("%2F"), 1, 16, 1, "/" },
    { S("x%2Fy%2fz"), 0, 16, 5, "x/y/z" },
    { S("a+b"), 1, 16, 3, "a b" },
    { S("a+b"), 0, 16, 3, "a+b" },
    { S("%2B"), 1, 16, 1, "+" },        /* an encoded '+' stays '+' */
    { S("%20"), 0, 16, 1, " " },
    { S("%25"), 1, 16, 1, "%" },
    { S("%2541"), 1, 16, 3, "%41" },    /* decoded once only */
    { S("%e2%82%AC"), 1, 16, 3, "\xe2\x82\xac" },
    { S("%ff"), 1, 16, 1, "\xff" },
    { "abcdef", 3, 1, 16, 3, "abc" },   /* n is respected */
    { "%41%42", 3, 1, 16, 1, "A" },
    { S("%4"), 1, 16, -1, NULL },
    { S("%"), 1, 16, -1, NULL },
    { S("a%"), 1, 16, -1, NULL },
    { S("a%4"), 1, 16, -1, NULL },
    { "%41", 2, 1, 16, -1, NULL },      /* truncated by n */
    { S("%zz"), 1, 16, -1, NULL },
    { S("%4z"), 1, 16, -1, NULL },
    { S("%z4"), 1, 16, -1, NULL },
    { S("%g0"), 1, 16, -1, NULL },
    { S("% 41"), 1, 16, -1, NULL },
    { S("%00"), 1, 16, -1, NULL },
    { S("a%00b"), 0, 16, -1, NULL },
    /* A raw NUL inside n is refused like a decoded one: copied, it made the
     * string end early while the length said otherwise (found by
     * tests/fuzz/fuzz_query). */
    { S("a\0b"), 1, 16, -1, NULL },
    { S("\0"), 0, 16, -1, NULL },
    { S("abc"), 1, 3, -1, NULL },       /* no room for the NUL */
    { S("abc"), 1, 4, 3, "abc" },       /* exact fit */
    { S("%41%42"), 1, 2, -1, NULL },
    { S("%41%42"), 1, 3, 2, "AB" },     /* exact fit, escapes count once */
    { S(""), 1, 1, 0, "" },
    { S(""), 1, 0, -1, NULL },          /* not even the NUL fits */
    { S("a"), 1, 1, -1, NULL },
};

START_TEST(test_decode)
{
    const struct decode_case *c = &decode_cases[_i];
    char out[32];
    memset(out, 'Z', sizeof out);
    long rc = query_decode(c->in, c->n, c->plus_is_space, out, c->outsz);
    ck_assert_msg(rc == c->rc, "case %d: decode(\"%.*s\", plus %d, outsz %zu)"
                  " = %ld, want %ld", _i, (int)c->n, c->in, c->plus_is_space,
                  c->outsz, rc, c->rc);
    if (c->rc >= 0) {
        ck_assert_mem_eq(out, c->want, (size_t)c->rc + 1); /* with the NUL */
    }
    /* Never writes past outsz. */
    for (size_t i = c->outsz; i < sizeof out; i++)
        ck_assert_msg(out[i] == 'Z', "case %d: byte %zu written", _i, i);
}
END_TEST

/* ------------------------------------------------------------------------
 * query_next */

struct kv {
    const char *k, *v;
};

/* Walks query and checks the pieces against want[0..n), then the end. */
static void check_pieces(const char *query, const struct kv *want, int n)
{
    size_t pos = 0, kl, vl;
    const char *k, *v;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(query_next(query, &pos, &k, &kl, &v, &vl) == 1,
                      "\"%s\": piece %d missing", query, i);
        ck_assert_msg(kl == strlen(want[i].k) && memcmp(k, want[i].k, kl) == 0,
                      "\"%s\": piece %d key \"%.*s\", want \"%s\"", query, i,
                      (int)kl, k, want[i].k);
        ck_assert_msg(vl == strlen(want[i].v) && memcmp(v, want[i].v, vl) == 0,
                      "\"%s\": piece %d value \"%.*s\", want \"%s\"", query, i,
                      (int)vl, v, want[i].v);
    }
    ck_assert_int_eq(query_next(query, &pos, &k, &kl, &v, &vl), 0);
    ck_assert_int_eq(query_next(query, &pos, &k, &kl, &v, &vl), 0);
}

START_TEST(test_next_basic)
{
    static const struct kv want[] = {
        { "a", "1" }, { "b", "" }, { "c", "" }, { "d", "4" },
    };
    check_pieces("a=1&b=&c&&d=4", want, N_OF(want));
}
END_TEST

START_TEST(test_next_edges)
{
    static const struct kv w1[] = { { "a", "1" } };
    check_pieces("&&a=1&&", w1, N_OF(w1));
    check_pieces("&a=1", w1, N_OF(w1));
    check_pieces("a=1&", w1, N_OF(w1));
    check_pieces("&", NULL, 0);
    check_pieces("&&&", NULL, 0);

    static const struct kv w2[] = { { "a", "b=c" } }; /* first '=' splits */
    check_pieces("a=b=c", w2, N_OF(w2));

    static const struct kv w3[] = { { "", "v" }, { "k", "" } };
    check_pieces("=v&k=", w3, N_OF(w3));

    /* Raw: nothing is decoded. */
    static const struct kv w4[] = { { "x%20y", "1+2%26" }, { "q", "%zz" } };
    check_pieces("x%20y=1+2%26&q=%zz", w4, N_OF(w4));

    static const struct kv w5[] = { { "flag", "" } };
    check_pieces("flag", w5, N_OF(w5));
}
END_TEST

START_TEST(test_next_empty)
{
    size_t pos = 0, kl = 99, vl = 99;
    const char *k = NULL, *v = NULL;
    ck_assert_int_eq(query_next(NULL, &pos, &k, &kl, &v, &vl), 0);
    pos = 0;
    ck_assert_int_eq(query_next("", &pos, &k, &kl, &v, &vl), 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * query_get */

struct get_case {
    const char *query, *key;
    size_t outsz;
    int rc;
    const char *want; /* when rc == 1 */
};

static const struct get_case get_cases[] = {
    { "a=1&channel=news&b=2", "channel", 32, 1, "news" },
    { "channel=news", "channel", 32, 1, "news" },
    { "a=1&b=2", "channel", 32, 0, NULL },
    { "channels=x&chan=y&xchannel=z", "channel", 32, 0, NULL },
    { "chan%6Eel=x", "channel", 32, 1, "x" },
    { "%63%68%61%6e%6e%65%6c=y", "channel", 32, 1, "y" },
    { "q=a+b%21", "q", 32, 1, "a b!" },
    { "q=a%2Bb", "q", 32, 1, "a+b" },
    { "q=", "q", 32, 1, "" },
    { "q", "q", 32, 1, "" },
    { "k=1&k=2", "k", 32, 1, "1" },
    { "x=0&k=first&k=second", "k", 32, 1, "first" },
    { "v=abcdef", "v", 6, -1, NULL },  /* too long */
    { "v=abcdef", "v", 7, 1, "abcdef" }, /* exact fit */
    { "v=%41%42", "v", 3, 1, "AB" },
    { "v=%41%42", "v", 2, -1, NULL },
    { "v=%zz", "v", 32, -1, NULL },
    { "v=%4", "v", 32, -1, NULL },
    { "v=a%00b", "v", 32, -1, NULL },
    { "", "k", 32, 0, NULL },
    { NULL, "k", 32, 0, NULL },
    { "&&k=1&&", "k", 32, 1, "1" },
};

START_TEST(test_get)
{
    const struct get_case *c = &get_cases[_i];
    char out[32];
    memset(out, 'Z', sizeof out);
    int rc = query_get(c->query, c->key, out, c->outsz);
    ck_assert_msg(rc == c->rc, "case %d: get(\"%s\", \"%s\", %zu) = %d, want %d",
                  _i, c->query ? c->query : "(null)", c->key, c->outsz, rc,
                  c->rc);
    if (c->rc == 1)
        ck_assert_str_eq(out, c->want);
    for (size_t i = c->outsz; i < sizeof out; i++)
        ck_assert_msg(out[i] == 'Z', "case %d: byte %zu written", _i, i);
}
END_TEST

/* ------------------------------------------------------------------------
 * Names */

struct name_case {
    const char *s;
    int want;
};

/* A string of n copies of c (static buffer, n < 128). */
static const char *rep(char c, size_t n)
{
    static char s[128];
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static const struct name_case channel_cases[] = {
    { "a", 1 },
    { "Z", 1 },
    { "0", 1 },
    { "_", 1 },
    { "-", 1 },
    { "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1 },
    { "abcdefghijklmnopqrstuvwxyz", 1 },
    { "0123456789_-.", 1 },
    { "news.sport-2_x", 1 },
    { "...", 1 },
    { ".a", 1 },
    { "a..", 1 },
    { "", 0 },
    { ".", 0 },
    { "..", 0 },
    { "a/b", 0 },
    { "/", 0 },
    { "a b", 0 },
    { " a", 0 },
    { "a\tb", 0 },
    { "a\nb", 0 },
    { "%2e", 0 },
    { "a%20b", 0 },
    { "\xc3\xa9", 0 },   /* é */
    { "caf\xc3\xa9", 0 },
    { "a:b", 0 },        /* ':' is for event names only */
    { "a+b", 0 },
    { "a&b", 0 },
    { "a=b", 0 },
    { "a\\b", 0 },
    { "a*", 0 },
    { "\x7f", 0 },
};

START_TEST(test_channel_valid)
{
    const struct name_case *c = &channel_cases[_i];
    ck_assert_msg(query_channel_valid(c->s) == c->want,
                  "channel \"%s\": want %d", c->s, c->want);
}
END_TEST

START_TEST(test_channel_length)
{
    ck_assert_int_eq(QUERY_CHANNEL_MAX, 64);
    ck_assert_int_eq(query_channel_valid(rep('a', 64)), 1);
    ck_assert_int_eq(query_channel_valid(rep('a', 65)), 0);
    ck_assert_int_eq(query_channel_valid(rep('.', 64)), 1);
    ck_assert_int_eq(query_channel_valid(rep('x', 100)), 0);
}
END_TEST

static const struct name_case event_cases[] = {
    { "a", 1 },
    { ":", 1 },
    { "a:b", 1 },
    { "chat:message", 1 },
    { "x.y-z_0", 1 },
    { "ABCxyz019", 1 },
    { ".", 1 },
    { "", 0 },
    { "a\r", 0 },
    { "a\rb", 0 },
    { "a\nb", 0 },
    { "\r\n", 0 },
    { "a b", 0 },
    { " ", 0 },
    { "a\tb", 0 },
    { "a/b", 0 },
    { "a;b", 0 },
    { "\xc3\xa9", 0 },
};

START_TEST(test_event_valid)
{
    const struct name_case *c = &event_cases[_i];
    ck_assert_msg(query_event_valid(c->s) == c->want,
                  "event \"%s\": want %d", c->s, c->want);
}
END_TEST

START_TEST(test_event_length)
{
    ck_assert_int_eq(QUERY_EVENT_MAX, 64);
    ck_assert_int_eq(query_event_valid(rep('e', 64)), 1);
    ck_assert_int_eq(query_event_valid(rep(':', 64)), 1);
    ck_assert_int_eq(query_event_valid(rep('e', 65)), 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * query_parse_id */

struct id_case {
    const char *s;
    int rc;
    long long want;
};

static const struct id_case id_cases[] = {
    { "0", 0, 0 },
    { "1", 0, 1 },
    { "42", 0, 42 },
    { "10", 0, 10 },
    { "1000000", 0, 1000000 },
    { "9007199254740991", 0, 9007199254740991LL },
    { "9007199254740992", 0, 9007199254740992LL }, /* 2^53 */
    { "9007199254740993", -1, 0 },
    { "9007199254741000", -1, 0 },
    { "10000000000000000", -1, 0 },
    { "9223372036854775807", -1, 0 },
    { "9223372036854775808", -1, 0 },
    { "99999999999999999999999999", -1, 0 },
    { "01", -1, 0 },
    { "00", -1, 0 },
    { "007", -1, 0 },
    { "-1", -1, 0 },
    { "-0", -1, 0 },
    { "+1", -1, 0 },
    { "1a", -1, 0 },
    { "a1", -1, 0 },
    { " 1", -1, 0 },
    { "1 ", -1, 0 },
    { "1.0", -1, 0 },
    { "1e3", -1, 0 },
    { "0x10", -1, 0 },
    { "", -1, 0 },
    { NULL, -1, 0 },
};

START_TEST(test_parse_id)
{
    const struct id_case *c = &id_cases[_i];
    long long id = -7;
    int rc = query_parse_id(c->s, &id);
    ck_assert_msg(rc == c->rc, "parse_id(\"%s\") = %d, want %d",
                  c->s ? c->s : "(null)", rc, c->rc);
    if (c->rc == 0)
        ck_assert_int_eq(id, c->want);
}
END_TEST

Suite *make_query_suite(void)
{
    Suite *s = suite_create("query");
    TCase *dec = tcase_create("decode");
    tcase_add_loop_test(dec, test_decode, 0, N_OF(decode_cases));
    suite_add_tcase(s, dec);

    TCase *params = tcase_create("params");
    tcase_add_test(params, test_next_basic);
    tcase_add_test(params, test_next_edges);
    tcase_add_test(params, test_next_empty);
    tcase_add_loop_test(params, test_get, 0, N_OF(get_cases));
    suite_add_tcase(s, params);

    TCase *names = tcase_create("names");
    tcase_add_loop_test(names, test_channel_valid, 0, N_OF(channel_cases));
    tcase_add_test(names, test_channel_length);
    tcase_add_loop_test(names, test_event_valid, 0, N_OF(event_cases));
    tcase_add_test(names, test_event_length);
    tcase_add_loop_test(names, test_parse_id, 0, N_OF(id_cases));
    suite_add_tcase(s, names);
    return s;
}
