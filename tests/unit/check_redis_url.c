/* check_redis_url: every form SSELIGHT_BROKER takes, what each part
 * becomes, and a clear reason for each malformed one (never echoing the
 * password). */
#include <stdio.h>
#include <string.h>

#include "check_suites.h"
#include "redis_url.h"

static struct redis_url parse_ok(const char *text)
{
    struct redis_url u;
    const char *why = "(unset)";
    ck_assert_msg(redis_url_parse(text, &u, &why) == 0, "%s: %s", text, why);
    return u;
}

START_TEST(test_tcp_forms)
{
    struct redis_url u = parse_ok("redis://127.0.0.1");
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 6379);
    ck_assert_int_eq(u.db, 0);
    ck_assert_str_eq(u.password, "");
    ck_assert_str_eq(u.path, "");

    u = parse_ok("redis://cache-1.example.net:7000/3");
    ck_assert_str_eq(u.host, "cache-1.example.net");
    ck_assert_int_eq(u.port, 7000);
    ck_assert_int_eq(u.db, 3);

    u = parse_ok("redis://:s%40cret%3A@localhost:6380/");
    ck_assert_str_eq(u.user, "");
    ck_assert_str_eq(u.password, "s@cret:");
    ck_assert_str_eq(u.host, "localhost");
    ck_assert_int_eq(u.port, 6380);
    ck_assert_int_eq(u.db, 0);

    u = parse_ok("redis://app:pw@10.0.0.5:6379/15");
    ck_assert_str_eq(u.user, "app");
    ck_assert_str_eq(u.password, "pw");
    ck_assert_int_eq(u.db, 15);

    u = parse_ok("redis://[::1]:6390/1");
    ck_assert_str_eq(u.host, "::1");
    ck_assert_int_eq(u.port, 6390);
    ck_assert_int_eq(u.db, 1);
}
END_TEST

START_TEST(test_unix_forms)
{
    struct redis_url u = parse_ok("unix:///run/redis/redis-server.sock");
    ck_assert_str_eq(u.path, "/run/redis/redis-server.sock");
    ck_assert_str_eq(u.host, "");
    ck_assert_int_eq(u.db, 0);
    u = parse_ok("unix://:pw@/tmp/r.sock?db=4");
    ck_assert_str_eq(u.path, "/tmp/r.sock");
    ck_assert_str_eq(u.password, "pw");
    ck_assert_int_eq(u.db, 4);
}
END_TEST

START_TEST(test_describe_hides_secrets)
{
    char out[300];
    struct redis_url u = parse_ok("redis://user:topsecret@10.1.2.3:7001/2");
    redis_url_describe(&u, out, sizeof out);
    ck_assert_str_eq(out, "10.1.2.3:7001/2");
    u = parse_ok("redis://[::1]");
    redis_url_describe(&u, out, sizeof out);
    ck_assert_str_eq(out, "[::1]:6379/0");
    u = parse_ok("unix://:topsecret@/tmp/r.sock?db=1");
    redis_url_describe(&u, out, sizeof out);
    ck_assert_str_eq(out, "unix:/tmp/r.sock/1");
}
END_TEST

static const struct {
    const char *text;
    const char *why_has; /* a word the reason must contain */
} bad_urls[] = {
    { "", "empty" },
    { "mysql://localhost", "scheme" },
    { "redis:/localhost", "scheme" },
    { "redis://", "no host" },
    { "redis://:6379", "no host" },
    { "redis://h:notaport", "port" },
    { "redis://h:0", "port" },
    { "redis://h:65536", "port" },
    { "redis://h:", "port" },
    { "redis://h/16", "database" },
    { "redis://h/x", "database" },
    { "redis://h:6379/1/2", "database" },
    { "redis://ho st", "spaces" },
    { "redis://h\n", "control" },
    { "redis://h_x", "character" },
    { "redis://[::1", "IPv6" },
    { "redis://[::1]x", "after the host" },
    { "redis://pw@h", "credentials" },
    { "redis://:@h", "empty password" },
    { "redis://:%zz@h", "percent" },
    { "redis://:%00@h", "percent" },
    { "unix://", "path" },
    { "unix://relative.sock", "path" },
    { "unix:///tmp/r.sock?database=1", "db=" },
    { "unix:///tmp/r.sock?db=99", "db=" },
};

START_TEST(test_bad_urls)
{
    struct redis_url u;
    const char *why = NULL;
    const char *text = bad_urls[_i].text;
    ck_assert_msg(redis_url_parse(text, &u, &why) == -1, "accepted '%s'",
                  text);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, bad_urls[_i].why_has) != NULL,
                  "'%s': reason '%s' lacks '%s'", text, why,
                  bad_urls[_i].why_has);
}
END_TEST

START_TEST(test_long_parts)
{
    char text[700], why_copy[200];
    struct redis_url u;
    const char *why = NULL;
    memset(text, 0, sizeof text);
    strcpy(text, "redis://");
    memset(text + 8, 'h', 256); /* one over REDIS_URL_HOST_MAX */
    ck_assert_int_eq(redis_url_parse(text, &u, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "too long"));
    text[8 + 255] = '\0';
    ck_assert_int_eq(redis_url_parse(text, &u, &why), 0);
    ck_assert_uint_eq(strlen(u.host), 255);

    strcpy(text, "unix:///");
    memset(text + 8, 'p', 107); /* path of 108 bytes with its '/' */
    text[8 + 107] = '\0';
    ck_assert_int_eq(redis_url_parse(text, &u, &why), -1);
    snprintf(why_copy, sizeof why_copy, "%s", why);
    ck_assert_ptr_nonnull(strstr(why_copy, "too long"));
    text[8 + 106] = '\0';
    ck_assert_int_eq(redis_url_parse(text, &u, &why), 0);
    ck_assert_uint_eq(strlen(u.path), 107);
}
END_TEST

Suite *make_redis_url_suite(void)
{
    Suite *s = suite_create("redis_url");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_tcp_forms);
    tcase_add_test(tc, test_unix_forms);
    tcase_add_test(tc, test_describe_hides_secrets);
    tcase_add_loop_test(tc, test_bad_urls, 0,
                        (int)(sizeof bad_urls / sizeof bad_urls[0]));
    tcase_add_test(tc, test_long_parts);
    suite_add_tcase(s, tc);
    return s;
}
