/* check_auth: the contract of auth.h. Tokens match only when equal (not a
 * prefix, not longer, never an empty configured token); loopback means
 * 127.0.0.0/8, ::1 and IPv4-mapped 127.x, nothing else. */
#include "auth.h"
#include "check_suites.h"

START_TEST(test_token_equal)
{
    ck_assert_int_eq(auth_token_equal("s3cret-token-value", "s3cret-token-value"), 1);
    ck_assert_int_eq(auth_token_equal("s3cret-token-valu", "s3cret-token-value"), 0);
    ck_assert_int_eq(auth_token_equal("s3cret-token-valuee", "s3cret-token-value"), 0);
    ck_assert_int_eq(auth_token_equal("S3cret-token-value", "s3cret-token-value"), 0);
    ck_assert_int_eq(auth_token_equal("", "s3cret-token-value"), 0);
    ck_assert_int_eq(auth_token_equal("", ""), 0);
    ck_assert_int_eq(auth_token_equal("x", ""), 0);
    /* A token that repeats want is longer, so it is not equal. */
    ck_assert_int_eq(auth_token_equal("abab", "ab"), 0);
}
END_TEST

static const struct {
    const char *addr;
    int loopback;
} loopback_cases[] = {
    { "127.0.0.1", 1 },     { "127.1.2.3", 1 },       { "::1", 1 },
    { "::ffff:127.0.0.1", 1 }, { "10.0.0.1", 0 },     { "192.168.1.1", 0 },
    { "1270.0.0.1", 0 },    { "::2", 0 },             { "::ffff:10.0.0.1", 0 },
    { "", 0 },              { "128.0.0.1", 0 },       { "fe80::1", 0 },
};

START_TEST(test_loopback)
{
    ck_assert_msg(auth_addr_is_loopback(loopback_cases[_i].addr) ==
                      loopback_cases[_i].loopback,
                  "auth_addr_is_loopback(\"%s\") should be %d",
                  loopback_cases[_i].addr, loopback_cases[_i].loopback);
}
END_TEST

START_TEST(test_loopback_null)
{
    ck_assert_int_eq(auth_addr_is_loopback(NULL), 0);
}
END_TEST

START_TEST(test_bearer_token)
{
    ck_assert_str_eq(auth_bearer_token("Bearer abc"), "abc");
    ck_assert_str_eq(auth_bearer_token("bearer  abc"), " abc");
    ck_assert_str_eq(auth_bearer_token("Bearer "), "");
    ck_assert_ptr_null(auth_bearer_token("Basic abc"));
    ck_assert_ptr_null(auth_bearer_token("Bearer"));
    ck_assert_ptr_null(auth_bearer_token(NULL));
    ck_assert_int_eq(auth_bearer_check("Bearer a-token-of-16-chars", "a-token-of-16-chars"), 0);
    ck_assert_int_eq(auth_bearer_check("Bearer wrong", "a-token-of-16-chars"), 403);
    ck_assert_int_eq(auth_bearer_check("Basic x", "a-token-of-16-chars"), 401);
}
END_TEST

Suite *make_auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");
    tcase_add_test(tc, test_token_equal);
    tcase_add_test(tc, test_bearer_token);
    tcase_add_loop_test(tc, test_loopback, 0,
                        sizeof loopback_cases / sizeof loopback_cases[0]);
    tcase_add_test(tc, test_loopback_null);
    suite_add_tcase(s, tc);
    return s;
}
