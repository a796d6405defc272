/* check_buf: the contract of buf.h. Appends (bytes, strings, single bytes,
 * printf text) keep the data NUL-terminated; consume marks a prefix used and
 * the rest stays readable through buf_head/buf_pending; reset empties but
 * keeps memory; growth and lazy compaction never lose or reorder bytes; an
 * untouched BUF_INIT buf reads as "" with 0 pending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_suites.h"

/* Asserts the pending bytes of b are exactly the string s, and that the
 * byte after them is the NUL terminator the contract promises. */
static void expect_content(const struct buf *b, const char *s)
{
    size_t n = strlen(s);
    ck_assert_uint_eq(buf_pending(b), n);
    ck_assert_mem_eq(buf_head(b), s, n);
    ck_assert_int_eq(buf_head(b)[n], '\0');
}

START_TEST(test_init_empty)
{
    struct buf b = BUF_INIT;
    ck_assert_uint_eq(buf_pending(&b), 0);
    ck_assert_ptr_nonnull(buf_head(&b));
    ck_assert_str_eq(buf_head(&b), "");
    buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_append_bytes_and_str)
{
    struct buf b = BUF_INIT;
    buf_append(&b, "abc", 3);
    expect_content(&b, "abc");
    buf_append(&b, "XYZ", 0); /* zero bytes: no change */
    expect_content(&b, "abc");
    buf_append_str(&b, "de");
    expect_content(&b, "abcde");
    buf_append_str(&b, "");
    expect_content(&b, "abcde");
    buf_free(&b);
}
END_TEST

START_TEST(test_append_embedded_nul)
{
    struct buf b = BUF_INIT;
    buf_append(&b, "a\0b", 3);
    ck_assert_uint_eq(buf_pending(&b), 3);
    ck_assert_mem_eq(buf_head(&b), "a\0b\0", 4);
    buf_free(&b);
}
END_TEST

START_TEST(test_append_byte)
{
    struct buf b = BUF_INIT;
    buf_append_byte(&b, 'x');
    expect_content(&b, "x");
    buf_append_byte(&b, '\0');
    buf_append_byte(&b, 'y');
    ck_assert_uint_eq(buf_pending(&b), 3);
    ck_assert_mem_eq(buf_head(&b), "x\0y\0", 4);
    buf_free(&b);
}
END_TEST

START_TEST(test_appendf)
{
    struct buf b = BUF_INIT;
    buf_appendf(&b, "%d-%s-%u", -7, "ok", 42u);
    expect_content(&b, "-7-ok-42");
    buf_appendf(&b, "%s", "");
    expect_content(&b, "-7-ok-42");
    buf_appendf(&b, "[%05d]", 12);
    expect_content(&b, "-7-ok-42[00012]");
    buf_free(&b);
}
END_TEST

/* A formatted string longer than the first allocation must come out whole. */
START_TEST(test_appendf_long)
{
    char want[1001];
    memset(want, 'q', 1000);
    want[1000] = '\0';
    struct buf b = BUF_INIT;
    buf_append_str(&b, "<");
    buf_appendf(&b, "%s>", want);
    ck_assert_uint_eq(buf_pending(&b), 1002);
    ck_assert_int_eq(buf_head(&b)[0], '<');
    ck_assert_mem_eq(buf_head(&b) + 1, want, 1000);
    ck_assert_int_eq(buf_head(&b)[1001], '>');
    ck_assert_int_eq(buf_head(&b)[1002], '\0');
    buf_free(&b);
}
END_TEST

START_TEST(test_consume_partial_and_all)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "hello world");
    buf_consume(&b, 6);
    expect_content(&b, "world");
    buf_consume(&b, 0);
    expect_content(&b, "world");
    buf_consume(&b, 5);
    ck_assert_uint_eq(buf_pending(&b), 0);
    ck_assert_str_eq(buf_head(&b), "");
    buf_free(&b);
}
END_TEST

START_TEST(test_reset_keeps_memory)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "some text");
    buf_consume(&b, 2);
    char *mem = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    ck_assert_uint_eq(buf_pending(&b), 0);
    ck_assert_str_eq(buf_head(&b), "");
    ck_assert_ptr_eq(b.data, mem);
    ck_assert_uint_eq(b.cap, cap);
    buf_append_str(&b, "new");
    expect_content(&b, "new");
    buf_free(&b);
}
END_TEST

START_TEST(test_free_then_reuse)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "one");
    buf_free(&b);
    ck_assert_uint_eq(buf_pending(&b), 0);
    ck_assert_str_eq(buf_head(&b), "");
    buf_append_str(&b, "two");
    expect_content(&b, "two");
    buf_free(&b);
}
END_TEST

/* 100,000 single bytes in a known pattern: every byte lands in order. */
START_TEST(test_growth_many_appends)
{
    enum { N = 100000 };
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < N; i++)
        buf_append_byte(&b, (char)('a' + i % 26));
    ck_assert_uint_eq(buf_pending(&b), N);
    const char *h = buf_head(&b);
    for (size_t i = 0; i < N; i++)
        if (h[i] != (char)('a' + i % 26))
            ck_abort_msg("byte %zu is %d", i, h[i]);
    ck_assert_int_eq(h[N], '\0');
    buf_free(&b);
}
END_TEST

/* Growth by chunks of varying size, mixed with appendf. */
START_TEST(test_growth_chunks)
{
    struct buf b = BUF_INIT;
    char *want = malloc(200000);
    ck_assert_ptr_nonnull(want);
    size_t n = 0;
    for (unsigned i = 0; n < 150000; i++) {
        char chunk[400];
        size_t k = (i * 37u) % sizeof chunk;
        for (size_t j = 0; j < k; j++)
            chunk[j] = (char)(i + j);
        buf_append(&b, chunk, k);
        memcpy(want + n, chunk, k);
        n += k;
        buf_appendf(&b, "<%u>", i);
        n += (size_t)snprintf(want + n, 200000 - n, "<%u>", i);
    }
    ck_assert_uint_eq(buf_pending(&b), n);
    ck_assert_mem_eq(buf_head(&b), want, n);
    ck_assert_int_eq(buf_head(&b)[n], '\0');
    free(want);
    buf_free(&b);
}
END_TEST

/* Consuming most of a buffer and appending again triggers compaction; the
 * unconsumed tail must stay in front of the new bytes. */
START_TEST(test_consume_then_append)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "0123456789abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ!?"); /* 64 bytes */
    buf_consume(&b, 60);
    expect_content(&b, "YZ!?");
    buf_append_str(&b, "+tail");
    expect_content(&b, "YZ!?+tail");
    buf_consume(&b, 3);
    buf_append_byte(&b, '#');
    buf_appendf(&b, "%d", 99);
    expect_content(&b, "?+tail#99");
    buf_free(&b);
}
END_TEST

/* A queue used as a FIFO for a long time: produce 7 bytes, consume 5, and
 * check the whole stream of consumed bytes is the stream produced. */
START_TEST(test_fifo_stream)
{
    struct buf b = BUF_INIT;
    unsigned long produced = 0, consumed = 0;
    for (int round = 0; round < 20000; round++) {
        for (int k = 0; k < 7; k++)
            buf_append_byte(&b, (char)(produced++ % 251));
        size_t take = buf_pending(&b) < 5 ? buf_pending(&b) : 5;
        const char *h = buf_head(&b);
        for (size_t i = 0; i < take; i++)
            if ((unsigned char)h[i] != (consumed + i) % 251)
                ck_abort_msg("byte %lu wrong", consumed + i);
        consumed += take;
        buf_consume(&b, take);
    }
    ck_assert_uint_eq(buf_pending(&b), produced - consumed);
    const char *h = buf_head(&b);
    for (size_t i = 0; i < buf_pending(&b); i++)
        ck_assert_uint_eq((unsigned char)h[i], (consumed + i) % 251);
    buf_free(&b);
}
END_TEST

Suite *make_buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_init_empty);
    tcase_add_test(tc, test_append_bytes_and_str);
    tcase_add_test(tc, test_append_embedded_nul);
    tcase_add_test(tc, test_append_byte);
    tcase_add_test(tc, test_appendf);
    tcase_add_test(tc, test_appendf_long);
    tcase_add_test(tc, test_consume_partial_and_all);
    tcase_add_test(tc, test_reset_keeps_memory);
    tcase_add_test(tc, test_free_then_reuse);
    tcase_add_test(tc, test_growth_many_appends);
    tcase_add_test(tc, test_growth_chunks);
    tcase_add_test(tc, test_consume_then_append);
    tcase_add_test(tc, test_fifo_stream);
    suite_add_tcase(s, tc);
    return s;
}
