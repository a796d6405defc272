/* check_subtoken: the contract of subtoken.h. A token signed for a channel
 * and time is accepted for that channel before that time only; the
 * signature is the documented HMAC-SHA256 (checked against a vector made
 * with `openssl dgst -sha256 -hmac`, not with this code); anything not of
 * the form EXPIRES.HEX64 is malformed; a changed channel, time, digit or
 * secret makes it wrong, and a forged token is wrong even when expired. */
#include <string.h>

#include "check_suites.h"
#include "subtoken.h"

#define SECRET "an-example-secret-of-32-chars-ok"

/* printf 'sselight-subscribe\n2000000000\nprivate-alice' \
 *   | openssl dgst -sha256 -hmac an-example-secret-of-32-chars-ok */
#define ALICE_2E9 "2000000000." \
    "51d867734a1aefc4264e2549d3afff2b9088ac0a07e13448071a6f582fa62bdf"

START_TEST(test_known_vector)
{
    char t[SUBTOKEN_MAX];
    ck_assert_int_eq(subtoken_sign(SECRET, "private-alice", 2000000000, t), 0);
    ck_assert_str_eq(t, ALICE_2E9);
    ck_assert_int_eq(subtoken_check(SECRET, "private-alice", ALICE_2E9,
                                    1999999999), SUBTOKEN_OK);
}
END_TEST

START_TEST(test_expiry)
{
    ck_assert_int_eq(subtoken_check(SECRET, "private-alice", ALICE_2E9,
                                    2000000000), SUBTOKEN_EXPIRED);
    ck_assert_int_eq(subtoken_check(SECRET, "private-alice", ALICE_2E9,
                                    2100000000), SUBTOKEN_EXPIRED);
    char t[SUBTOKEN_MAX];
    ck_assert_int_eq(subtoken_sign(SECRET, "private-x", 0, t), 0);
    ck_assert_str_eq(strtok(t, "."), "0");
}
END_TEST

START_TEST(test_wrong)
{
    /* Another channel, another secret, another time with the same MAC. */
    ck_assert_int_eq(subtoken_check(SECRET, "private-bob", ALICE_2E9, 0),
                     SUBTOKEN_WRONG);
    ck_assert_int_eq(subtoken_check(SECRET "x", "private-alice", ALICE_2E9, 0),
                     SUBTOKEN_WRONG);
    char t[SUBTOKEN_MAX];
    strcpy(t, ALICE_2E9);
    t[0] = '3';
    ck_assert_int_eq(subtoken_check(SECRET, "private-alice", t, 0),
                     SUBTOKEN_WRONG);
    /* Every hex digit matters. */
    for (size_t i = 11; i < strlen(ALICE_2E9); i++) {
        strcpy(t, ALICE_2E9);
        t[i] = t[i] == '0' ? '1' : '0';
        ck_assert_int_eq(subtoken_check(SECRET, "private-alice", t, 0),
                         SUBTOKEN_WRONG);
    }
    /* A forged token long expired is still reported as wrong. */
    ck_assert_int_eq(subtoken_check(SECRET, "private-bob", ALICE_2E9,
                                    2100000000), SUBTOKEN_WRONG);
}
END_TEST

static const char *const malformed[] = {
    "", ".", "2000000000", "2000000000.", ".51d867734a1aefc4264e2549d3afff2b"
    "9088ac0a07e13448071a6f582fa62bdf",
    /* uppercase hex, one digit short, one long, a sign, a space */
    "2000000000.51D867734A1AEFC4264E2549D3AFFF2B9088AC0A07E13448071A6F582FA62BDF",
    "2000000000.51d867734a1aefc4264e2549d3afff2b9088ac0a07e13448071a6f582fa62bd",
    "2000000000.51d867734a1aefc4264e2549d3afff2b9088ac0a07e13448071a6f582fa62bdf0",
    "-2000000000.51d867734a1aefc4264e2549d3afff2b9088ac0a07e13448071a6f582fa62bdf",
    " 2000000000.51d867734a1aefc4264e2549d3afff2b9088ac0a07e13448071a6f582fa62bdf",
    /* 20 digits of time */
    "20000000000000000000.51d867734a1aefc4264e2549d3afff2b9088ac0a07e13448071a6f582fa62bdf",
};

START_TEST(test_malformed)
{
    ck_assert_int_eq(subtoken_check(SECRET, "private-alice", malformed[_i], 0),
                     SUBTOKEN_MALFORMED);
}
END_TEST

START_TEST(test_far_future)
{
    /* 19 digits (the most allowed) is past any time_t now. */
    char t[SUBTOKEN_MAX];
    ck_assert_int_eq(subtoken_sign(SECRET, "private-z", (time_t)9000000000000000000LL, t), 0);
    ck_assert_int_eq(subtoken_check(SECRET, "private-z", t, 2000000000),
                     SUBTOKEN_OK);
    ck_assert_int_eq(subtoken_sign(SECRET, "private-z", -1, t), -1);
}
END_TEST

START_TEST(test_private_prefix)
{
    ck_assert_int_eq(subtoken_channel_private("private-a"), 1);
    ck_assert_int_eq(subtoken_channel_private("private-"), 1);
    ck_assert_int_eq(subtoken_channel_private("private"), 0);
    ck_assert_int_eq(subtoken_channel_private("Private-a"), 0);
    ck_assert_int_eq(subtoken_channel_private("news"), 0);
}
END_TEST

Suite *make_subtoken_suite(void)
{
    Suite *s = suite_create("subtoken");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, test_known_vector);
    tcase_add_test(tc, test_expiry);
    tcase_add_test(tc, test_wrong);
    tcase_add_loop_test(tc, test_malformed, 0,
                        (int)(sizeof malformed / sizeof malformed[0]));
    tcase_add_test(tc, test_far_future);
    tcase_add_test(tc, test_private_prefix);
    suite_add_tcase(s, tc);
    return s;
}
