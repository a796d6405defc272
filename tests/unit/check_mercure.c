/* check_mercure: the contract of mercure.h. The publish form is parsed as
 * the Mercure spec defines its fields (topic repeated, private with any
 * value, unknown fields ignored) and refused with a reason otherwise; an
 * update survives encoding for the broker byte for byte; its SSE text is
 * the one the spec asks for; selectors and the private rule decide who
 * sees what. */
#include <string.h>

#include "check_suites.h"
#include "buf.h"
#include "mercure.h"

static int parse(const char *body, struct mercure_update *u, const char **why)
{
    return mercure_form_parse(body, strlen(body), u, why);
}

START_TEST(test_form_fields)
{
    struct mercure_update u;
    const char *why = "unset";
    const char *body = "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1"
                       "&topic=urn%3Aalso&data=a+b%0Ac&private=on"
                       "&id=my-id-1&type=book.updated&retry=2500&other=x";
    ck_assert_int_eq(parse(body, &u, &why), 0);
    ck_assert_ptr_null(why);
    ck_assert_uint_eq(u.ntopics, 2);
    ck_assert_str_eq(u.topics[0], "https://example.com/books/1");
    ck_assert_str_eq(u.topics[1], "urn:also");
    ck_assert_uint_eq(u.data_len, 5);
    ck_assert_mem_eq(u.data, "a b\nc", 5);
    ck_assert_int_eq(u.is_private, 1);
    ck_assert_str_eq(u.id, "my-id-1");
    ck_assert_str_eq(u.type, "book.updated");
    ck_assert_int_eq(u.retry, 2500);
    mercure_update_free(&u);

    /* The least: one topic. No id (the hub makes one), no data. */
    ck_assert_int_eq(parse("topic=t&private=", &u, &why), 0);
    ck_assert_ptr_null(u.id);
    ck_assert_ptr_null(u.type);
    ck_assert_int_eq(u.retry, -1);
    ck_assert_uint_eq(u.data_len, 0);
    ck_assert_int_eq(u.is_private, 1);
    mercure_update_free(&u);
    ck_assert_int_eq(parse("topic=t", &u, &why), 0);
    ck_assert_int_eq(u.is_private, 0);
    mercure_update_free(&u);
}
END_TEST

START_TEST(test_form_refusals)
{
    static const struct { const char *body, *why_has; } bad[] = {
        { "data=x", "no topic" },
        { "", "no topic" },
        { "topic=a&id=1&id=2", "twice" },
        { "topic=a&data=x&data=y", "twice" },
        { "topic=a&retry=soon", "bad retry" },
        { "topic=a&retry=86400001", "bad retry" },
        { "topic=a&retry=-1", "bad retry" },
        { "topic=a&id=earliest", "bad id" },
        { "topic=a&id=", "bad id" },
        { "topic=a&id=x%0Ay", "bad id" },
        { "topic=a%01b", "bad topic" },
        { "topic=", "bad topic" },
        { "topic=a&type=", "bad type" },
        { "topic=a&type=x%0Aid%3A+1", "bad type" },
        { "topic=a&data=x%00y", "form encoding" },
        { "topic=a%zz", "form encoding" },
        { "topic=a&data=%C3%28", "bad data" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mercure_update u;
        const char *why = NULL;
        ck_assert_msg(parse(bad[i].body, &u, &why) == -1, "accepted %s",
                      bad[i].body);
        ck_assert_msg(why && strstr(why, bad[i].why_has), "%s: got %s",
                      bad[i].body, why ? why : "(null)");
    }
    /* 16 topics pass, 17 do not. */
    char body[512] = "";
    for (int i = 0; i < 16; i++)
        strcat(body, i ? "&topic=t" : "topic=t");
    struct mercure_update u;
    const char *why;
    ck_assert_int_eq(parse(body, &u, &why), 0);
    mercure_update_free(&u);
    strcat(body, "&topic=t");
    ck_assert_int_eq(parse(body, &u, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "too many topics"));
    /* A topic of 1024 bytes passes, 1025 do not. */
    char big[1100] = "topic=";
    memset(big + 6, 'a', 1024);
    big[6 + 1024] = '\0';
    ck_assert_int_eq(parse(big, &u, &why), 0);
    mercure_update_free(&u);
    strcat(big, "a");
    ck_assert_int_eq(parse(big, &u, &why), -1);
}
END_TEST

START_TEST(test_encode_decode)
{
    const char data[] = "line one\n\nline three\nid: not a field";
    struct mercure_update u = {
        .id = "urn:uuid:1", .type = "t", .retry = 0, .is_private = 1,
        .topics = { "https://a/1", "b" }, .ntopics = 2,
        .data = data, .data_len = sizeof data - 1,
    };
    struct buf out = BUF_INIT;
    mercure_update_encode(&u, &out);
    struct mercure_update d;
    ck_assert_int_eq(mercure_update_decode(buf_head(&out), buf_pending(&out),
                                           &d), 0);
    ck_assert_str_eq(d.id, "urn:uuid:1");
    ck_assert_str_eq(d.type, "t");
    ck_assert_int_eq(d.retry, 0);
    ck_assert_int_eq(d.is_private, 1);
    ck_assert_uint_eq(d.ntopics, 2);
    ck_assert_str_eq(d.topics[0], "https://a/1");
    ck_assert_str_eq(d.topics[1], "b");
    ck_assert_uint_eq(d.data_len, sizeof data - 1);
    ck_assert_mem_eq(d.data, data, sizeof data - 1);
    mercure_update_free(&d);

    /* Public, no type, no retry, empty data. */
    struct mercure_update p = { .id = "x", .retry = -1, .topics = { "t" },
                                .ntopics = 1, .data = "", .data_len = 0 };
    buf_reset(&out);
    mercure_update_encode(&p, &out);
    ck_assert_int_eq(mercure_update_decode(buf_head(&out), buf_pending(&out),
                                           &d), 0);
    ck_assert_ptr_null(d.type);
    ck_assert_int_eq(d.retry, -1);
    ck_assert_int_eq(d.is_private, 0);
    ck_assert_uint_eq(d.data_len, 0);
    mercure_update_free(&d);
    buf_free(&out);

    /* Not an update: an ordinary event, a cut header, no id. */
    ck_assert_int_eq(mercure_update_decode("hello", 5, &d), -1);
    ck_assert_int_eq(mercure_update_decode("mercure 1\nid=x\ntopic=t", 22,
                                           &d), -1);
    ck_assert_int_eq(mercure_update_decode("mercure 1\ntopic=t\n\n", 19, &d),
                     -1);
}
END_TEST

START_TEST(test_sse_text)
{
    struct mercure_update u = {
        .id = "urn:uuid:9", .type = "book", .retry = 5, .topics = { "t" },
        .ntopics = 1, .data = "a\nb", .data_len = 3,
    };
    struct buf out = BUF_INIT;
    mercure_update_append_sse(&u, &out);
    buf_append_byte(&out, '\0');
    ck_assert_str_eq(buf_head(&out), "retry: 5\nevent: book\nid: urn:uuid:9\n"
                     "data: a\ndata: b\n\n");
    buf_reset(&out);
    u.type = NULL;
    u.retry = -1;
    mercure_update_append_sse(&u, &out);
    buf_append_byte(&out, '\0');
    ck_assert_str_eq(buf_head(&out), "id: urn:uuid:9\ndata: a\ndata: b\n\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_new_id)
{
    char a[MERCURE_ID_MAX + 1], b[MERCURE_ID_MAX + 1];
    ck_assert_int_eq(mercure_new_id(a), 0);
    ck_assert_int_eq(mercure_new_id(b), 0);
    ck_assert_uint_eq(strlen(a), 45);
    ck_assert_int_eq(strncmp(a, "urn:uuid:", 9), 0);
    ck_assert_int_eq(a[9 + 8], '-');
    ck_assert_int_eq(a[9 + 14], '4');               /* version 4 */
    ck_assert_ptr_nonnull(strchr("89ab", a[9 + 19])); /* variant */
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(mercure_id_valid(a), 1);
}
END_TEST

START_TEST(test_selectors)
{
    struct mercure_selectors s = { 0 }, t = { 0 };
    char err[200];
    ck_assert_int_eq(mercure_selectors_add(&s, "https://example.com/books/{id}",
                                           err, sizeof err), 0);
    ck_assert_int_eq(mercure_selectors_add(&s, "urn:exact", err, sizeof err),
                     0);
    ck_assert_int_eq(mercure_selectors_match(&s, "https://example.com/books/1"),
                     1);
    ck_assert_int_eq(mercure_selectors_match(&s,
                     "https://example.com/books/1/reviews"), 0);
    ck_assert_int_eq(mercure_selectors_match(&s, "urn:exact"), 1);
    ck_assert_int_eq(mercure_selectors_match(&s, "urn:exactly"), 0);
    /* A template matches itself too, as an exact string. */
    ck_assert_int_eq(mercure_selectors_match(&s,
                     "https://example.com/books/{id}"), 1);
    /* The same template in another set shares the compiled one. */
    ck_assert_int_eq(mercure_selectors_add(&t, "https://example.com/books/{id}",
                                           err, sizeof err), 0);
    ck_assert_ptr_eq(s.tpl[0], t.tpl[0]);
    ck_assert_ptr_null(s.tpl[1]);
    mercure_selectors_free(&s);
    ck_assert_int_eq(mercure_selectors_match(&t, "https://example.com/books/2"),
                     1);
    mercure_selectors_free(&t);

    ck_assert_int_eq(mercure_selectors_add(&s, "*", err, sizeof err), 0);
    ck_assert_int_eq(mercure_selectors_match(&s, "anything at all"), 1);
    mercure_selectors_free(&s);

    ck_assert_int_eq(mercure_selectors_add(&s, "https://x/{id", err,
                                           sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "URI Template"));
    ck_assert_int_eq(mercure_selectors_add(&s, "", err, sizeof err), -1);
    for (int i = 0; i < MERCURE_TOPICS_MAX; i++)
        ck_assert_int_eq(mercure_selectors_add(&s, "t", err, sizeof err), 0);
    ck_assert_int_eq(mercure_selectors_add(&s, "t", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "too many"));
    mercure_selectors_free(&s);
}
END_TEST

START_TEST(test_who_sees_what)
{
    char err[200];
    struct mercure_update pub = { .id = "1", .topics = { "https://a/books/1",
                                  "https://a/users/7/books" }, .ntopics = 2 };
    struct mercure_update priv = pub;
    priv.is_private = 1;

    struct mercure_sub anon = { 0 }, alice = { 0 }, other = { 0 };
    ck_assert_int_eq(mercure_selectors_add(&anon.topics, "https://a/books/{id}",
                                           err, sizeof err), 0);
    ck_assert_int_eq(mercure_sub_wants(&anon, &pub), 1);
    ck_assert_int_eq(mercure_sub_wants(&anon, &priv), 0);

    /* Alice's claim selects the update's second topic: she gets it. */
    ck_assert_int_eq(mercure_selectors_add(&alice.topics, "https://a/books/1",
                                           err, sizeof err), 0);
    ck_assert_int_eq(mercure_selectors_add(&alice.allowed,
                                           "https://a/users/7/{+rest}", err,
                                           sizeof err), 0);
    ck_assert_int_eq(mercure_sub_wants(&alice, &priv), 1);

    /* A claim alone is not a subscription. */
    ck_assert_int_eq(mercure_selectors_add(&other.topics, "urn:unrelated",
                                           err, sizeof err), 0);
    ck_assert_int_eq(mercure_selectors_add(&other.allowed, "*", err,
                                           sizeof err), 0);
    ck_assert_int_eq(mercure_sub_wants(&other, &priv), 0);
    ck_assert_int_eq(mercure_sub_wants(&other, &pub), 0);

    /* Publishing needs every topic selected. */
    struct mercure_selectors pubc = { 0 };
    ck_assert_int_eq(mercure_selectors_add(&pubc, "https://a/books/{id}", err,
                                           sizeof err), 0);
    ck_assert_int_eq(mercure_selectors_match_all(&pubc, &pub), 0);
    ck_assert_int_eq(mercure_selectors_add(&pubc, "https://a/users/{u}/books",
                                           err, sizeof err), 0);
    ck_assert_int_eq(mercure_selectors_match_all(&pubc, &pub), 1);
    mercure_selectors_free(&pubc);

    mercure_sub_free(&anon);
    mercure_sub_free(&alice);
    mercure_sub_free(&other);
}
END_TEST

Suite *make_mercure_suite(void)
{
    Suite *s = suite_create("mercure");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_form_fields);
    tcase_add_test(tc, test_form_refusals);
    tcase_add_test(tc, test_encode_decode);
    tcase_add_test(tc, test_sse_text);
    tcase_add_test(tc, test_new_id);
    tcase_add_test(tc, test_selectors);
    tcase_add_test(tc, test_who_sees_what);
    suite_add_tcase(s, tc);
    return s;
}
