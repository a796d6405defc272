/* check_chan_index: the contract of chan_index.h. Members added to a
 * channel are found there (and only there), counted, listed by foreach;
 * removing the last member drops the channel; names are copied. */
#include <stdio.h>
#include <string.h>

#include "chan_index.h"
#include "check_suites.h"

static size_t seen_total;
static int seen_a, seen_b;

static void count_fn(const char *name, size_t members, void *arg)
{
    (void)arg;
    seen_total += members;
    if (strcmp(name, "a") == 0)
        seen_a = (int)members;
    if (strcmp(name, "b") == 0)
        seen_b = (int)members;
}

START_TEST(test_add_find_remove)
{
    struct chan_index *ix = chan_index_new();
    struct chan_member m[3];
    int subs[3];
    char name[8];
    for (int i = 0; i < 3; i++)
        m[i].sub = &subs[i];
    strcpy(name, "a");
    chan_index_add(ix, name, &m[0]);
    strcpy(name, "zzz"); /* the index keeps its own copy of "a" */
    chan_index_add(ix, "a", &m[1]);
    chan_index_add(ix, "b", &m[2]);
    ck_assert_uint_eq(chan_index_count(ix, "a"), 2);
    ck_assert_uint_eq(chan_index_count(ix, "b"), 1);
    ck_assert_uint_eq(chan_index_count(ix, "c"), 0);
    ck_assert_uint_eq(chan_index_channels(ix), 2);
    ck_assert_str_eq(chan_member_name(&m[0]), "a");
    ck_assert_str_eq(chan_member_name(&m[2]), "b");

    int found0 = 0, found1 = 0, n = 0;
    for (struct chan_member *p = chan_index_members(ix, "a"); p; p = p->next) {
        n++;
        found0 |= p->sub == &subs[0];
        found1 |= p->sub == &subs[1];
    }
    ck_assert_int_eq(n, 2);
    ck_assert(found0 && found1);
    ck_assert_ptr_null(chan_index_members(ix, "c"));

    seen_total = 0;
    seen_a = seen_b = -1;
    chan_index_foreach(ix, count_fn, NULL);
    ck_assert_uint_eq(seen_total, 3);
    ck_assert_int_eq(seen_a, 2);
    ck_assert_int_eq(seen_b, 1);

    chan_index_remove(ix, &m[0]);
    ck_assert_uint_eq(chan_index_count(ix, "a"), 1);
    ck_assert_ptr_eq(chan_index_members(ix, "a")->sub, &subs[1]);
    chan_index_remove(ix, &m[1]);
    ck_assert_uint_eq(chan_index_count(ix, "a"), 0);
    ck_assert_ptr_null(chan_index_members(ix, "a"));
    ck_assert_uint_eq(chan_index_channels(ix), 1);
    chan_index_remove(ix, &m[1]); /* removing twice is harmless */
    chan_index_remove(ix, &m[2]);
    ck_assert_uint_eq(chan_index_channels(ix), 0);
    chan_index_free(ix);
}
END_TEST

/* Many channels, so several share a bucket: each keeps its own members. */
START_TEST(test_many_channels)
{
    enum { N = 10000 };
    static struct chan_member m[N];
    static int subs[N];
    struct chan_index *ix = chan_index_new();
    char name[16];
    for (int i = 0; i < N; i++) {
        m[i].sub = &subs[i];
        snprintf(name, sizeof name, "ch%d", i % 5000);
        chan_index_add(ix, name, &m[i]);
    }
    ck_assert_uint_eq(chan_index_channels(ix), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "ch%d", i);
        ck_assert_uint_eq(chan_index_count(ix, name), 2);
        struct chan_member *p = chan_index_members(ix, name);
        ck_assert(p->sub == &subs[i] || p->sub == &subs[i + 5000]);
    }
    for (int i = 0; i < N; i++)
        chan_index_remove(ix, &m[i]);
    ck_assert_uint_eq(chan_index_channels(ix), 0);
    chan_index_free(ix);
}
END_TEST

Suite *make_chan_index_suite(void)
{
    Suite *s = suite_create("chan_index");
    TCase *tc = tcase_create("index");
    tcase_add_test(tc, test_add_find_remove);
    tcase_add_test(tc, test_many_channels);
    suite_add_tcase(s, tc);
    return s;
}
