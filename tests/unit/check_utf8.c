/* check_utf8: the contract of utf8.h, against RFC 3629 / Unicode's table of
 * well-formed byte sequences (Table 3-7). utf8_count returns the number of
 * code points of well-formed UTF-8 with no NUL, or -1 for: a lone or
 * unexpected continuation byte, C0/C1 and other overlong forms, surrogates
 * (U+D800..U+DFFF, ED A0..BF xx), anything above U+10FFFF (F4 90.. and
 * F5..FF), a sequence cut short, a non-continuation where one is needed, or
 * a NUL byte. The length is explicit: bytes past n are not looked at. */
#include <string.h>

#include "check_suites.h"
#include "utf8.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define S(lit) lit, sizeof(lit) - 1 /* a literal and its length (NULs ok) */

struct utf8_case {
    const char *s;
    size_t n;
    long want;
};

static const struct utf8_case cases[] = {
    /* Well-formed. */
    { S(""), 0 },
    { S("a"), 1 },
    { S("hello, world"), 12 },
    { S("\x01\x7f"), 2 },                        /* ASCII edges */
    { S("\xc3\xa9"), 1 },                        /* é */
    { S("caf\xc3\xa9"), 4 },
    { S("\xc2\x80"), 1 },                        /* U+0080, first 2-byte */
    { S("\xdf\xbf"), 1 },                        /* U+07FF, last 2-byte */
    { S("\xe2\x82\xac"), 1 },                    /* € U+20AC */
    { S("\xe0\xa0\x80"), 1 },                    /* U+0800, first 3-byte */
    { S("\xed\x9f\xbf"), 1 },                    /* U+D7FF, before surrogates */
    { S("\xee\x80\x80"), 1 },                    /* U+E000, after them */
    { S("\xef\xbf\xbf"), 1 },                    /* U+FFFF */
    { S("\xef\xbb\xbf"), 1 },                    /* U+FEFF (BOM) is a char */
    { S("\xf0\x9f\x98\x80"), 1 },                /* 😀 U+1F600 */
    { S("\xf0\x90\x80\x80"), 1 },                /* U+10000, first 4-byte */
    { S("\xf4\x8f\xbf\xbf"), 1 },                /* U+10FFFF, the last */
    { S("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 5 },
    { S("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"), 3 },
    { "abcdef", 2, 2 },                          /* n is respected */
    { "\xc3\xa9\xc3\xa9", 2, 1 },
    { "a\0b", 1, 1 },                            /* the NUL is past n */

    /* Stray continuation bytes. */
    { S("\x80"), -1 },
    { S("\xbf"), -1 },
    { S("a\x80"), -1 },
    { S("\xc3\xa9\xa9"), -1 },
    { S("\x80\x80\x80\x80"), -1 },

    /* Overlong forms. */
    { S("\xc0\x80"), -1 },                       /* U+0000 in 2 bytes */
    { S("\xc0\xaf"), -1 },                       /* '/' in 2 bytes */
    { S("\xc1\xbf"), -1 },                       /* U+007F in 2 bytes */
    { S("\xe0\x80\x80"), -1 },                   /* U+0000 in 3 bytes */
    { S("\xe0\x80\xaf"), -1 },
    { S("\xe0\x9f\xbf"), -1 },                   /* U+07FF in 3 bytes */
    { S("\xf0\x80\x80\x80"), -1 },
    { S("\xf0\x8f\xbf\xbf"), -1 },               /* U+FFFF in 4 bytes */

    /* Surrogates. */
    { S("\xed\xa0\x80"), -1 },                   /* U+D800 */
    { S("\xed\xad\xbf"), -1 },                   /* U+DB7F */
    { S("\xed\xb0\x80"), -1 },                   /* U+DC00 */
    { S("\xed\xbf\xbf"), -1 },                   /* U+DFFF */
    { S("\xed\xa0\xbd\xed\xb8\x80"), -1 },       /* CESU-8 pair for 😀 */

    /* Above U+10FFFF, and bytes that never occur. */
    { S("\xf4\x90\x80\x80"), -1 },               /* U+110000 */
    { S("\xf4\xbf\xbf\xbf"), -1 },
    { S("\xf5\x80\x80\x80"), -1 },
    { S("\xf5"), -1 },
    { S("\xf7\xbf\xbf\xbf"), -1 },
    { S("\xf8\x88\x80\x80\x80"), -1 },           /* old 5-byte form */
    { S("\xfc\x84\x80\x80\x80\x80"), -1 },       /* old 6-byte form */
    { S("\xfe"), -1 },
    { S("\xff"), -1 },
    { S("a\xff" "b"), -1 },

    /* Cut short at the end. */
    { S("\xc3"), -1 },
    { S("a\xc3"), -1 },
    { S("\xe2"), -1 },
    { S("\xe2\x82"), -1 },
    { S("ab\xe2\x82"), -1 },
    { S("\xf0"), -1 },
    { S("\xf0\x9f"), -1 },
    { S("\xf0\x9f\x98"), -1 },
    { "\xc3\xa9", 1, -1 },                       /* cut by n */
    { "\xf0\x9f\x98\x80", 3, -1 },

    /* A non-continuation where a continuation is needed. */
    { S("\xc3" "A"), -1 },
    { S("\xc3\xc3\xa9"), -1 },
    { S("\xe2\x28\xa1"), -1 },
    { S("\xe2\x82" "A"), -1 },
    { S("\xf0\x9f\x98" "A"), -1 },
    { S("\xc3" " "), -1 },
    { S("\xe2\x82\x00"), -1 },

    /* NUL anywhere. */
    { S("\0"), -1 },
    { S("a\0b"), -1 },
    { S("abc\0"), -1 },
    { S("\xc3\xa9\0"), -1 },
    { S("\xc0\x80"), -1 },                       /* and no sneaking it in */
};

START_TEST(test_count)
{
    const struct utf8_case *c = &cases[_i];
    long got = utf8_count(c->s, c->n);
    char hex[64] = "";
    for (size_t i = 0; i < c->n && i < 20; i++) {
        static const char d[] = "0123456789abcdef";
        unsigned char b = (unsigned char)c->s[i];
        size_t o = strlen(hex);
        hex[o] = d[b >> 4];
        hex[o + 1] = d[b & 15];
        hex[o + 2] = ' ';
        hex[o + 3] = '\0';
    }
    ck_assert_msg(got == c->want, "case %d [%s] (n %zu): got %ld, want %ld",
                  _i, hex, c->n, got, c->want);
}
END_TEST

/* Every well-formed code point in a few ranges, encoded by hand from the
 * RFC 3629 bit layout, counts as one; each surrogate is refused. */
static size_t encode(unsigned cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

START_TEST(test_all_code_points)
{
    /* Each ck_assert writes a mark to Check's pipe, so the 1.1 million
     * code points are checked with a plain test and the first wrong one is
     * reported (under ASan on a busy machine the marks took over 4 s). */
    char b[4];
    unsigned bad = 0, wrong = 0;
    long bad_got = 0;
    for (unsigned cp = 1; cp <= 0x10FFFF; cp++) {
        size_t n = encode(cp, b);
        long want = (cp >= 0xD800 && cp <= 0xDFFF) ? -1 : 1;
        long got = utf8_count(b, n);
        if (got != want && wrong++ == 0) {
            bad = cp;
            bad_got = got;
        }
    }
    ck_assert_msg(wrong == 0, "%u code points wrong, the first U+%04X: got %ld",
                  wrong, bad, bad_got);
    /* Above the range: 0x110000..0x1FFFFF fit the 4-byte layout. */
    for (unsigned cp = 0x110000; cp <= 0x1FFFFF; cp += 0x1111) {
        size_t n = encode(cp, b);
        ck_assert_msg(utf8_count(b, n) == -1, "U+%X accepted", cp);
    }
}
END_TEST

/* Control characters: C0 and DEL, not space, not bytes of UTF-8 above. */
START_TEST(test_has_control)
{
    ck_assert_int_eq(utf8_has_control("plain text", 10), 0);
    ck_assert_int_eq(utf8_has_control("caf\xc3\xa9 \xe2\x82\xac", 9), 0);
    ck_assert_int_eq(utf8_has_control("", 0), 0);
    ck_assert_int_eq(utf8_has_control("a\tb", 3), 1);
    ck_assert_int_eq(utf8_has_control("a\x7f", 2), 1);
    ck_assert_int_eq(utf8_has_control("a\x1f", 2), 1);
    ck_assert_int_eq(utf8_has_control("a\0b", 3), 1);
    /* Only the n bytes given are looked at. */
    ck_assert_int_eq(utf8_has_control("ab\n", 2), 0);
}
END_TEST

Suite *make_utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("count");
    tcase_add_loop_test(tc, test_count, 0, N_OF(cases));
    tcase_add_test(tc, test_all_code_points);
    tcase_add_test(tc, test_has_control);
    suite_add_tcase(s, tc);
    return s;
}
