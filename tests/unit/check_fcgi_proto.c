/* check_fcgi_proto: the contract of fcgi_proto.h against the FastCGI 1.0
 * spec. Headers are version, type, requestId (big-endian), contentLength
 * (big-endian), paddingLength, reserved; only version 1 is accepted.
 * Name-value lengths are one byte below 128, else four bytes big-endian with
 * the top bit set. Stream data is split at 65535 bytes and padded to a
 * multiple of 8; END_REQUEST and UNKNOWN_TYPE bodies have fixed layouts.
 * All expected bytes are written out by hand. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_suites.h"
#include "fcgi_proto.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------------
 * Header decoding. */

struct header_case {
    unsigned char bytes[8];
    int rc;
    struct fcgi_header want;
};

static const struct header_case header_cases[] = {
    { { 1, 1, 0x01, 0x02, 0x00, 0x08, 0, 0 }, 0, { 1, 1, 258, 8, 0 } },
    { { 1, 6, 0x00, 0x01, 0x12, 0x34, 4, 0 }, 0, { 1, 6, 1, 0x1234, 4 } },
    { { 1, 4, 0xff, 0xff, 0xff, 0xff, 255, 0xaa }, 0,
      { 1, 4, 65535, 65535, 255 } },
    { { 1, 9, 0, 0, 0, 0, 0, 0 }, 0, { 1, 9, 0, 0, 0 } },
    { { 1, 11, 0x80, 0x00, 0x01, 0x00, 7, 0 }, 0, { 1, 11, 32768, 256, 7 } },
};

START_TEST(test_header_decode)
{
    const struct header_case *c = &header_cases[_i];
    struct fcgi_header h;
    memset(&h, 0xee, sizeof h);
    ck_assert_int_eq(fcgi_header_decode(c->bytes, &h), c->rc);
    ck_assert_uint_eq(h.version, c->want.version);
    ck_assert_uint_eq(h.type, c->want.type);
    ck_assert_uint_eq(h.request_id, c->want.request_id);
    ck_assert_uint_eq(h.content_len, c->want.content_len);
    ck_assert_uint_eq(h.padding_len, c->want.padding_len);
}
END_TEST

START_TEST(test_header_bad_version)
{
    static const unsigned char versions[] = { 0, 2, 3, 0x81, 255 };
    for (size_t i = 0; i < sizeof versions; i++) {
        unsigned char p[8] = { versions[i], 1, 0, 1, 0, 8, 0, 0 };
        struct fcgi_header h;
        ck_assert_int_eq(fcgi_header_decode(p, &h), -1);
    }
}
END_TEST

/* ------------------------------------------------------------------------
 * Name-value pairs. */

START_TEST(test_pair_short_lengths)
{
    static const unsigned char in[] = {
        3, 5, 'G', 'E', 'T', 'v', 'a', 'l', 'u', 'e',
        1, 0, 'X',                                  /* empty value */
        0, 2, 'h', 'i',                             /* empty name */
    };
    const unsigned char *p = in, *end = in + sizeof in, *name, *value;
    size_t nl, vl;

    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), 1);
    ck_assert_uint_eq(nl, 3);
    ck_assert_mem_eq(name, "GET", 3);
    ck_assert_uint_eq(vl, 5);
    ck_assert_mem_eq(value, "value", 5);
    ck_assert_ptr_eq(p, in + 10);

    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), 1);
    ck_assert_uint_eq(nl, 1);
    ck_assert_int_eq(name[0], 'X');
    ck_assert_uint_eq(vl, 0);
    ck_assert_ptr_eq(p, in + 13);

    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), 1);
    ck_assert_uint_eq(nl, 0);
    ck_assert_uint_eq(vl, 2);
    ck_assert_mem_eq(value, "hi", 2);

    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), 0);
    ck_assert_ptr_eq(p, end);
}
END_TEST

START_TEST(test_pair_long_lengths)
{
    /* name "N" (1-byte length), value 200 bytes (0x80 0x00 0x00 0xC8) */
    unsigned char in[1 + 4 + 1 + 200];
    size_t k = 0;
    in[k++] = 1;
    in[k++] = 0x80; in[k++] = 0x00; in[k++] = 0x00; in[k++] = 0xC8;
    in[k++] = 'N';
    for (int i = 0; i < 200; i++)
        in[k++] = (unsigned char)('a' + i % 26);
    ck_assert_uint_eq(k, sizeof in);

    const unsigned char *p = in, *end = in + k, *name, *value;
    size_t nl, vl;
    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), 1);
    ck_assert_uint_eq(nl, 1);
    ck_assert_int_eq(name[0], 'N');
    ck_assert_uint_eq(vl, 200);
    ck_assert_ptr_eq(value, in + 6);
    ck_assert_int_eq(value[199], 'a' + 199 % 26);
    ck_assert_ptr_eq(p, end);
    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), 0);
}
END_TEST

/* Four-byte lengths on both sides; a 4-byte length may encode a small
 * number too; the top bit of the first byte is not part of the length. */
START_TEST(test_pair_long_both)
{
    unsigned char in[4 + 4 + 130 + 3];
    size_t k = 0;
    in[k++] = 0x80; in[k++] = 0; in[k++] = 0; in[k++] = 130;  /* name 130 */
    in[k++] = 0x80; in[k++] = 0; in[k++] = 0; in[k++] = 3;    /* value 3 */
    memset(in + k, 'n', 130);
    k += 130;
    memcpy(in + k, "abc", 3);
    k += 3;
    const unsigned char *p = in, *end = in + k, *name, *value;
    size_t nl, vl;
    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), 1);
    ck_assert_uint_eq(nl, 130);
    ck_assert_ptr_eq(name, in + 8);
    ck_assert_uint_eq(vl, 3);
    ck_assert_mem_eq(value, "abc", 3);
    ck_assert_ptr_eq(p, end);
}
END_TEST

struct trunc_case {
    unsigned char bytes[12];
    size_t n;
};

static const struct trunc_case trunc_cases[] = {
    { { 3 }, 1 },                                  /* no value length */
    { { 3, 1, 'a', 'b' }, 4 },                     /* name cut short */
    { { 3, 1, 'a', 'b', 'c' }, 5 },                /* value missing */
    { { 1, 4, 'a', 'x', 'y', 'z' }, 6 },           /* value cut short */
    { { 0x80, 0, 0 }, 3 },                         /* 4-byte length cut */
    { { 1, 0x80, 0, 0 }, 4 },                      /* 4-byte value len cut */
    { { 0x80, 0, 0, 5, 1, 'a' }, 6 },              /* name of 5 cut short */
    { { 0x80, 0, 0x01, 0, 0, 'a' }, 6 },           /* name 256, 1 given */
    { { 0xff, 0xff, 0xff, 0xff, 0, 'a' }, 6 },     /* huge name */
    { { 1, 0xff, 0xff, 0xff, 0xff, 'a' }, 6 },     /* huge value */
};

START_TEST(test_pair_truncated)
{
    const struct trunc_case *c = &trunc_cases[_i];
    const unsigned char *p = c->bytes, *end = c->bytes + c->n, *name, *value;
    size_t nl, vl;
    ck_assert_int_eq(fcgi_pair_next(&p, end, &name, &nl, &value, &vl), -1);
}
END_TEST

START_TEST(test_pair_empty)
{
    static const unsigned char in[1] = { 0 };
    const unsigned char *p = in, *name, *value;
    size_t nl, vl;
    ck_assert_int_eq(fcgi_pair_next(&p, in, &name, &nl, &value, &vl), 0);
    ck_assert_ptr_eq(p, in);
}
END_TEST

/* ------------------------------------------------------------------------
 * Record encoding. */

START_TEST(test_stream_5_bytes)
{
    static const unsigned char want[] = {
        1, 6, 0x01, 0x02, 0, 5, 3, 0,
        'h', 'e', 'l', 'l', 'o',
        0, 0, 0,
    };
    struct buf b = BUF_INIT;
    fcgi_append_stream(&b, FCGI_STDOUT, 0x0102, "hello", 5);
    ck_assert_uint_eq(buf_pending(&b), sizeof want);
    ck_assert_mem_eq(buf_head(&b), want, sizeof want);
    buf_free(&b);
}
END_TEST

START_TEST(test_stream_8_bytes_no_padding)
{
    static const unsigned char want[] = {
        1, 7, 0, 1, 0, 8, 0, 0,
        '0', '1', '2', '3', '4', '5', '6', '7',
    };
    struct buf b = BUF_INIT;
    fcgi_append_stream(&b, FCGI_STDERR, 1, "01234567", 8);
    ck_assert_uint_eq(buf_pending(&b), sizeof want);
    ck_assert_mem_eq(buf_head(&b), want, sizeof want);
    buf_free(&b);
}
END_TEST

START_TEST(test_stream_1_and_9_bytes)
{
    static const unsigned char want[] = {
        1, 6, 0, 2, 0, 1, 7, 0, 'x', 0, 0, 0, 0, 0, 0, 0,
        1, 6, 0, 2, 0, 9, 7, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h',
        'i', 0, 0, 0, 0, 0, 0, 0,
    };
    struct buf b = BUF_INIT;
    fcgi_append_stream(&b, FCGI_STDOUT, 2, "x", 1);
    fcgi_append_stream(&b, FCGI_STDOUT, 2, "abcdefghi", 9);
    ck_assert_uint_eq(buf_pending(&b), sizeof want);
    ck_assert_mem_eq(buf_head(&b), want, sizeof want);
    buf_free(&b);
}
END_TEST

START_TEST(test_stream_70000_bytes)
{
    enum { N = 70000 };
    unsigned char *data = malloc(N);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < N; i++)
        data[i] = (unsigned char)(i * 7 + i / 256);
    struct buf b = BUF_INIT;
    fcgi_append_stream(&b, FCGI_STDOUT, 300, data, N);

    /* 65535 bytes pad 1 (65536 = 8 * 8192); 4465 bytes pad 7 (4472). */
    const unsigned char *p = (const unsigned char *)buf_head(&b);
    ck_assert_uint_eq(buf_pending(&b), 8 + 65535 + 1 + 8 + 4465 + 7);
    const unsigned char h1[8] = { 1, 6, 0x01, 0x2c, 0xff, 0xff, 1, 0 };
    ck_assert_mem_eq(p, h1, 8);
    ck_assert_mem_eq(p + 8, data, 65535);
    ck_assert_int_eq(p[8 + 65535], 0);
    p += 8 + 65535 + 1;
    const unsigned char h2[8] = { 1, 6, 0x01, 0x2c, 0x11, 0x71, 7, 0 };
    ck_assert_mem_eq(p, h2, 8);
    ck_assert_mem_eq(p + 8, data + 65535, 4465);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(p[8 + 4465 + i], 0);
    free(data);
    buf_free(&b);
}
END_TEST

/* Exactly FCGI_MAX_CONTENT: one record, no empty second one. */
START_TEST(test_stream_max_content)
{
    enum { N = 65535 };
    unsigned char *data = calloc(1, N);
    ck_assert_ptr_nonnull(data);
    struct buf b = BUF_INIT;
    fcgi_append_stream(&b, FCGI_STDOUT, 1, data, N);
    ck_assert_uint_eq(buf_pending(&b), 8 + 65535 + 1);
    const unsigned char h[8] = { 1, 6, 0, 1, 0xff, 0xff, 1, 0 };
    ck_assert_mem_eq(buf_head(&b), h, 8);
    free(data);
    buf_free(&b);
}
END_TEST

START_TEST(test_stream_len_0)
{
    struct buf b = BUF_INIT;
    fcgi_append_stream(&b, FCGI_STDOUT, 1, "ignored", 0);
    ck_assert_uint_eq(buf_pending(&b), 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_stream_end)
{
    static const unsigned char want[] = { 1, 6, 0x01, 0x02, 0, 0, 0, 0 };
    static const unsigned char want_err[] = { 1, 7, 0, 9, 0, 0, 0, 0 };
    struct buf b = BUF_INIT;
    fcgi_append_stream_end(&b, FCGI_STDOUT, 0x0102);
    ck_assert_uint_eq(buf_pending(&b), 8);
    ck_assert_mem_eq(buf_head(&b), want, 8);
    buf_reset(&b);
    fcgi_append_stream_end(&b, FCGI_STDERR, 9);
    ck_assert_uint_eq(buf_pending(&b), 8);
    ck_assert_mem_eq(buf_head(&b), want_err, 8);
    buf_free(&b);
}
END_TEST

START_TEST(test_end_request)
{
    static const unsigned char want[] = {
        1, 3, 0x01, 0x02, 0, 8, 0, 0,
        0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0,
    };
    static const unsigned char want_mpx[] = {
        1, 3, 0, 7, 0, 8, 0, 0,
        0, 0, 0, 0, 1, 0, 0, 0,
    };
    static const unsigned char want_role[] = {
        1, 3, 0xff, 0xfe, 0, 8, 0, 0,
        0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0,
    };
    struct buf b = BUF_INIT;
    fcgi_append_end_request(&b, 0x0102, 0x12345678u, FCGI_REQUEST_COMPLETE);
    ck_assert_uint_eq(buf_pending(&b), 16);
    ck_assert_mem_eq(buf_head(&b), want, 16);
    buf_reset(&b);
    fcgi_append_end_request(&b, 7, 0, FCGI_CANT_MPX_CONN);
    ck_assert_uint_eq(buf_pending(&b), 16);
    ck_assert_mem_eq(buf_head(&b), want_mpx, 16);
    buf_reset(&b);
    fcgi_append_end_request(&b, 0xfffe, 0xffffffffu, FCGI_UNKNOWN_ROLE);
    ck_assert_uint_eq(buf_pending(&b), 16);
    ck_assert_mem_eq(buf_head(&b), want_role, 16);
    buf_free(&b);
}
END_TEST

START_TEST(test_unknown_type)
{
    static const unsigned char want[] = {
        1, 11, 0, 0, 0, 8, 0, 0,
        42, 0, 0, 0, 0, 0, 0, 0,
    };
    struct buf b = BUF_INIT;
    fcgi_append_unknown_type(&b, 42);
    ck_assert_uint_eq(buf_pending(&b), 16);
    ck_assert_mem_eq(buf_head(&b), want, 16);
    buf_free(&b);
}
END_TEST

START_TEST(test_appends_after_existing)
{
    static const unsigned char want[] = {
        'p', 'r', 'e', 1, 6, 0, 1, 0, 2, 6, 0, 'o', 'k', 0, 0, 0, 0, 0, 0,
    };
    struct buf b = BUF_INIT;
    buf_append_str(&b, "pre");
    fcgi_append_stream(&b, FCGI_STDOUT, 1, "ok", 2);
    ck_assert_uint_eq(buf_pending(&b), sizeof want);
    ck_assert_mem_eq(buf_head(&b), want, sizeof want);
    buf_free(&b);
}
END_TEST

Suite *make_fcgi_proto_suite(void)
{
    Suite *s = suite_create("fcgi_proto");
    TCase *dec = tcase_create("decode");
    tcase_add_loop_test(dec, test_header_decode, 0, N_OF(header_cases));
    tcase_add_test(dec, test_header_bad_version);
    tcase_add_test(dec, test_pair_short_lengths);
    tcase_add_test(dec, test_pair_long_lengths);
    tcase_add_test(dec, test_pair_long_both);
    tcase_add_loop_test(dec, test_pair_truncated, 0, N_OF(trunc_cases));
    tcase_add_test(dec, test_pair_empty);
    suite_add_tcase(s, dec);

    TCase *enc = tcase_create("encode");
    tcase_add_test(enc, test_stream_5_bytes);
    tcase_add_test(enc, test_stream_8_bytes_no_padding);
    tcase_add_test(enc, test_stream_1_and_9_bytes);
    tcase_add_test(enc, test_stream_70000_bytes);
    tcase_add_test(enc, test_stream_max_content);
    tcase_add_test(enc, test_stream_len_0);
    tcase_add_test(enc, test_stream_end);
    tcase_add_test(enc, test_end_request);
    tcase_add_test(enc, test_unknown_type);
    tcase_add_test(enc, test_appends_after_existing);
    suite_add_tcase(s, enc);
    return s;
}
