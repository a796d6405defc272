/* check_fcgi_reader: the contract of fcgi_reader.h. The web server's side of
 * a connection is built here by hand (record headers, padding, name-value
 * pairs) and fed to the reader, in one piece or byte by byte. A request is
 * READY once BEGIN_REQUEST (responder role), its PARAMS and an empty STDIN
 * have arrived; params are then readable by name; STDIN is kept up to
 * body_max; a second request while one is active is refused with
 * CANT_MPX_CONN, other roles with UNKNOWN_ROLE; ABORT_REQUEST aborts; bad
 * versions, NULs in names and PARAMS over 64 KiB are errors; management
 * records get GET_VALUES_RESULT or UNKNOWN_TYPE; after fcgi_reader_finish
 * the next request on the same connection works. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_suites.h"
#include "fcgi_reader.h"

#define S(lit) lit, sizeof(lit) - 1

/* Record type numbers from the FastCGI 1.0 spec, written out here rather
 * than taken from fcgi_proto.h. */
enum {
    T_BEGIN = 1, T_ABORT = 2, T_END = 3, T_PARAMS = 4, T_STDIN = 5,
    T_GET_VALUES = 9, T_GET_VALUES_RESULT = 10, T_UNKNOWN = 11
};

/* ------------------------------------------------------------------------
 * The web server's side, by hand. */

/* A record with an explicit padding length (zero bytes). */
static void rec_pad(struct buf *b, unsigned type, unsigned id,
                    const void *content, size_t len, unsigned pad)
{
    ck_assert_uint_le(len, 65535);
    unsigned char h[8] = {
        1, (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
        (unsigned char)(len >> 8), (unsigned char)len, (unsigned char)pad, 0
    };
    static const unsigned char zeros[255];
    buf_append(b, h, 8);
    buf_append(b, content, len);
    buf_append(b, zeros, pad);
}

/* A record padded to a multiple of 8, as lighttpd sends them. */
static void rec(struct buf *b, unsigned type, unsigned id, const void *content,
                size_t len)
{
    rec_pad(b, type, id, content, len, (unsigned)((8 - len % 8) % 8));
}

static void begin(struct buf *b, unsigned id, unsigned role, unsigned flags)
{
    unsigned char body[8] = {
        (unsigned char)(role >> 8), (unsigned char)role, (unsigned char)flags,
        0, 0, 0, 0, 0
    };
    rec(b, T_BEGIN, id, body, 8);
}

static void pair_len(struct buf *b, size_t n)
{
    if (n < 128) {
        buf_append_byte(b, (char)n);
    } else {
        unsigned char l[4] = {
            (unsigned char)(0x80 | n >> 24), (unsigned char)(n >> 16),
            (unsigned char)(n >> 8), (unsigned char)n
        };
        buf_append(b, l, 4);
    }
}

static void pair(struct buf *b, const char *name, size_t nlen,
                 const char *value, size_t vlen)
{
    pair_len(b, nlen);
    pair_len(b, vlen);
    buf_append(b, name, nlen);
    buf_append(b, value, vlen);
}

static void pair_str(struct buf *b, const char *name, const char *value)
{
    pair(b, name, strlen(name), value, strlen(value));
}

/* The PARAMS stream of a GET for /sse-stream. */
static void get_params(struct buf *p)
{
    pair_str(p, "REQUEST_METHOD", "GET");
    pair_str(p, "REQUEST_URI", "/sse-stream");
    pair_str(p, "EMPTY", "");
}

/* A whole GET request: BEGIN, one PARAMS record, empty PARAMS, empty STDIN. */
static void get_request(struct buf *b, unsigned id, unsigned flags)
{
    struct buf p = BUF_INIT;
    get_params(&p);
    begin(b, id, 1, flags);
    rec(b, T_PARAMS, id, buf_head(&p), buf_pending(&p));
    rec(b, T_PARAMS, id, NULL, 0);
    rec(b, T_STDIN, id, NULL, 0);
    buf_free(&p);
}

/* Feeds all of in and calls next once. */
static enum fcgi_reader_event feed_next(struct fcgi_reader *r,
                                        const struct buf *in,
                                        struct buf *reply)
{
    fcgi_reader_feed(r, buf_head(in), buf_pending(in));
    return fcgi_reader_next(r, reply);
}

static void expect_get_params(const struct fcgi_reader *r)
{
    ck_assert_ptr_nonnull(fcgi_reader_param(r, "REQUEST_METHOD"));
    ck_assert_str_eq(fcgi_reader_param(r, "REQUEST_METHOD"), "GET");
    ck_assert_ptr_nonnull(fcgi_reader_param(r, "REQUEST_URI"));
    ck_assert_str_eq(fcgi_reader_param(r, "REQUEST_URI"), "/sse-stream");
    ck_assert_ptr_nonnull(fcgi_reader_param(r, "EMPTY"));
    ck_assert_str_eq(fcgi_reader_param(r, "EMPTY"), "");
    ck_assert_ptr_null(fcgi_reader_param(r, "QUERY_STRING"));
    ck_assert_ptr_null(fcgi_reader_param(r, "GET"));         /* a value */
    ck_assert_ptr_null(fcgi_reader_param(r, "REQUEST"));     /* a prefix */
    ck_assert_ptr_null(fcgi_reader_param(r, "request_method"));
}

/* Checks that reply holds exactly one record of the given type and request
 * id whose content is want (len bytes), with valid padding. */
static void expect_reply_record(const struct buf *reply, unsigned type,
                                unsigned id, const void *want, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf_head(reply);
    size_t n = buf_pending(reply);
    ck_assert_uint_ge(n, 8);
    ck_assert_uint_eq(p[0], 1);
    ck_assert_uint_eq(p[1], type);
    ck_assert_uint_eq((unsigned)p[2] << 8 | p[3], id);
    ck_assert_uint_eq((unsigned)p[4] << 8 | p[5], len);
    ck_assert_uint_eq(n, 8 + len + p[6]);
    ck_assert_mem_eq(p + 8, want, len);
}

static void expect_end_request(const struct buf *reply, unsigned id,
                               unsigned protocol_status)
{
    const unsigned char body[8] = { 0, 0, 0, 0,
                                    (unsigned char)protocol_status, 0, 0, 0 };
    expect_reply_record(reply, T_END, id, body, 8);
}

/* ------------------------------------------------------------------------ */

START_TEST(test_get_ready)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_request(&in, 1, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_int_eq(r.state, FCGI_READER_ACTIVE);
    ck_assert_uint_eq(r.request_id, 1);
    ck_assert_int_eq(r.keep_conn, 0);
    ck_assert_int_eq(r.body_too_large, 0);
    ck_assert_uint_eq(buf_pending(&r.body), 0);
    ck_assert_uint_eq(buf_pending(&reply), 0);
    expect_get_params(&r);
    ck_assert_int_eq(fcgi_reader_next(&r, &reply), FCGI_READER_MORE);
    expect_get_params(&r);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* Nothing happens before the last byte; READY exactly once. */
START_TEST(test_byte_at_a_time)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_request(&in, 0x1234, 0);
    size_t n = buf_pending(&in);
    int ready = 0;
    for (size_t i = 0; i < n; i++) {
        fcgi_reader_feed(&r, buf_head(&in) + i, 1);
        enum fcgi_reader_event ev;
        while ((ev = fcgi_reader_next(&r, &reply)) != FCGI_READER_MORE) {
            ck_assert_msg(ev == FCGI_READER_READY, "event %d at byte %zu",
                          ev, i);
            ck_assert_uint_eq(i, n - 1);
            ready++;
        }
    }
    ck_assert_int_eq(ready, 1);
    ck_assert_uint_eq(r.request_id, 0x1234);
    ck_assert_uint_eq(buf_pending(&reply), 0);
    expect_get_params(&r);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* PARAMS split into two records at every possible byte, so a pair (and a
 * 4-byte length) spans the boundary; odd paddings too. */
START_TEST(test_params_split)
{
    struct buf p = BUF_INIT;
    char longval[300];
    memset(longval, 'v', sizeof longval);
    longval[0] = '<';
    longval[299] = '>';
    pair_str(&p, "REQUEST_METHOD", "GET");        /* 2 + 14 + 3 */
    pair(&p, "LONG", 4, longval, 300);            /* 1 + 4 + 4 + 300 */
    pair_str(&p, "REQUEST_URI", "/sse-stream");   /* 2 + 11 + 11 */
    size_t n = buf_pending(&p);
    ck_assert_uint_eq(n, 19 + 309 + 24);

    for (size_t split = 1; split < n; split++) {
        struct fcgi_reader r;
        struct buf in = BUF_INIT, reply = BUF_INIT;
        fcgi_reader_init(&r, 1024);
        begin(&in, 3, 1, 0);
        rec_pad(&in, T_PARAMS, 3, buf_head(&p), split, (unsigned)(split % 5));
        rec_pad(&in, T_PARAMS, 3, buf_head(&p) + split, n - split, 1);
        rec_pad(&in, T_PARAMS, 3, NULL, 0, 3);
        rec(&in, T_STDIN, 3, NULL, 0);
        ck_assert_msg(feed_next(&r, &in, &reply) == FCGI_READER_READY,
                      "split at %zu: not READY", split);
        const char *m = fcgi_reader_param(&r, "REQUEST_METHOD");
        const char *u = fcgi_reader_param(&r, "REQUEST_URI");
        const char *lv = fcgi_reader_param(&r, "LONG");
        ck_assert_msg(m && strcmp(m, "GET") == 0, "split at %zu", split);
        ck_assert_msg(u && strcmp(u, "/sse-stream") == 0, "split at %zu",
                      split);
        ck_assert_msg(lv && strlen(lv) == 300 && memcmp(lv, longval, 300) == 0,
                      "split at %zu: LONG wrong", split);
        fcgi_reader_free(&r);
        buf_free(&in);
        buf_free(&reply);
    }
    buf_free(&p);
}
END_TEST

START_TEST(test_post_body)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, p = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    pair_str(&p, "REQUEST_METHOD", "POST");
    pair_str(&p, "CONTENT_LENGTH", "12");
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p), buf_pending(&p));
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, S("hello "));
    rec_pad(&in, T_STDIN, 1, S("world"), 0);
    rec(&in, T_STDIN, 1, S("!"));
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_str_eq(fcgi_reader_param(&r, "REQUEST_METHOD"), "POST");
    ck_assert_int_eq(r.body_too_large, 0);
    ck_assert_uint_eq(buf_pending(&r.body), 12);
    ck_assert_mem_eq(buf_head(&r.body), "hello world!", 12);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&p);
}
END_TEST

/* A body exactly body_max bytes long is kept whole. */
START_TEST(test_body_at_max)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 10);
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, S("12345"));
    rec(&in, T_STDIN, 1, S("67890"));
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_int_eq(r.body_too_large, 0);
    ck_assert_uint_eq(buf_pending(&r.body), 10);
    ck_assert_mem_eq(buf_head(&r.body), "1234567890", 10);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* One record past body_max: flagged, at most body_max kept, READY still. */
START_TEST(test_body_too_large)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 4);
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, S("0123456789"));
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_int_eq(r.body_too_large, 1);
    ck_assert_uint_le(buf_pending(&r.body), 4);
    ck_assert_mem_eq(buf_head(&r.body), "0123", buf_pending(&r.body));
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* Once STDIN went past body_max the rest is dropped: a later small record
 * that would fit must not be glued onto what was kept, so the body is
 * always a prefix of what was sent. */
START_TEST(test_body_too_large_rest_dropped)
{
    static const char sent[] = "12345678abcdefghZ";
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 10);
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, sent, 8);          /* 8: fits */
    rec(&in, T_STDIN, 1, sent + 8, 8);      /* 16: past 10 */
    rec(&in, T_STDIN, 1, sent + 16, 1);     /* would fit again on its own */
    rec(&in, T_STDIN, 1, NULL, 0);
    enum fcgi_reader_event ev = feed_next(&r, &in, &reply);
    int too_large = r.body_too_large;
    char body[32] = "";
    size_t body_len = buf_pending(&r.body);
    if (body_len < sizeof body)
        memcpy(body, buf_head(&r.body), body_len);
    /* freed before asserting: this test fails on the current code, and
     * must not leak when Check runs it without fork */
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    ck_assert_int_eq(ev, FCGI_READER_READY);
    ck_assert_int_eq(too_large, 1);
    ck_assert_uint_le(body_len, 10);
    ck_assert_msg(memcmp(body, sent, body_len) == 0,
                  "body \"%s\" is not a prefix of the STDIN sent \"%s\"",
                  body, sent);
}
END_TEST

/* A second BEGIN_REQUEST while a request is ACTIVE: refused for its id, the
 * active request untouched. */
START_TEST(test_second_begin_while_active)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_request(&in, 1, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    buf_reset(&in);
    begin(&in, 2, 1, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);
    expect_end_request(&reply, 2, 1 /* FCGI_CANT_MPX_CONN */);
    ck_assert_int_eq(r.state, FCGI_READER_ACTIVE);
    ck_assert_uint_eq(r.request_id, 1);
    expect_get_params(&r);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* The same while the first request's PARAMS are still arriving; records of
 * the refused request do not leak into the first one. */
START_TEST(test_second_begin_mid_params)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, p1 = BUF_INIT, p2 = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    pair_str(&p1, "REQUEST_METHOD", "GET");
    pair_str(&p2, "REQUEST_URI", "/sse-stream");
    struct buf other = BUF_INIT;
    pair_str(&other, "INJECTED", "yes");

    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p1), buf_pending(&p1));
    begin(&in, 2, 1, 0);
    rec(&in, T_PARAMS, 2, buf_head(&other), buf_pending(&other));
    rec(&in, T_PARAMS, 1, buf_head(&p2), buf_pending(&p2));
    rec(&in, T_PARAMS, 2, NULL, 0);
    rec(&in, T_STDIN, 2, S("junk"));
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    expect_end_request(&reply, 2, 1 /* FCGI_CANT_MPX_CONN */);
    ck_assert_uint_eq(r.request_id, 1);
    ck_assert_str_eq(fcgi_reader_param(&r, "REQUEST_METHOD"), "GET");
    ck_assert_str_eq(fcgi_reader_param(&r, "REQUEST_URI"), "/sse-stream");
    ck_assert_ptr_null(fcgi_reader_param(&r, "INJECTED"));
    ck_assert_uint_eq(buf_pending(&r.body), 0);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&p1);
    buf_free(&p2);
    buf_free(&other);
}
END_TEST

START_TEST(test_unknown_role)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    begin(&in, 5, 2 /* authorizer */, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);
    expect_end_request(&reply, 5, 3 /* FCGI_UNKNOWN_ROLE */);
    ck_assert_int_eq(r.state, FCGI_READER_IDLE);
    buf_reset(&reply);
    buf_reset(&in);
    begin(&in, 6, 3 /* filter */, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);
    expect_end_request(&reply, 6, 3);
    /* the connection still takes a responder request */
    buf_reset(&reply);
    buf_reset(&in);
    get_request(&in, 7, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_uint_eq(r.request_id, 7);
    ck_assert_uint_eq(buf_pending(&reply), 0);
    expect_get_params(&r);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

START_TEST(test_abort_active)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_request(&in, 4, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    buf_reset(&in);
    rec(&in, T_ABORT, 9, NULL, 0);               /* another id: ignored */
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);
    buf_reset(&in);
    rec(&in, T_ABORT, 4, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_ABORT);
    ck_assert_uint_eq(r.request_id, 4);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

START_TEST(test_abort_during_params)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, p = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_params(&p);
    begin(&in, 4, 1, 0);
    rec(&in, T_PARAMS, 4, buf_head(&p), buf_pending(&p));
    rec(&in, T_ABORT, 4, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_ABORT);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&p);
}
END_TEST

START_TEST(test_bad_version)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_request(&in, 1, 0);
    in.data[0] = 2;                              /* version of the BEGIN */
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_ERROR);
    ck_assert_ptr_nonnull(r.error);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* A later record with version 2, after a good one. */
START_TEST(test_bad_version_later)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    begin(&in, 1, 1, 0);
    size_t at = buf_pending(&in);
    rec(&in, T_PARAMS, 1, NULL, 0);
    in.data[at] = 2;
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_ERROR);
    ck_assert_ptr_nonnull(r.error);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

START_TEST(test_nul_in_name)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, p = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    pair_str(&p, "REQUEST_METHOD", "GET");
    pair(&p, S("REQUEST_URI\0X"), S("/evil"));
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p), buf_pending(&p));
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_ERROR);
    ck_assert_ptr_nonnull(r.error);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&p);
}
END_TEST

/* A PARAMS stream that ends inside a pair is malformed. */
START_TEST(test_truncated_params)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, p = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    pair_str(&p, "REQUEST_METHOD", "GET");
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p), buf_pending(&p) - 1);
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_ERROR);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&p);
}
END_TEST

/* One pair "BIG" with a 4-byte value length and value_len bytes: the
 * joined PARAMS are 1 + 4 + 3 + value_len bytes, sent in two records. */
static enum fcgi_reader_event big_params(struct fcgi_reader *r,
                                         size_t value_len, struct buf *reply)
{
    struct buf p = BUF_INIT, in = BUF_INIT;
    char *v = malloc(value_len);
    ck_assert_ptr_nonnull(v);
    memset(v, 'b', value_len);
    pair(&p, "BIG", 3, v, value_len);
    free(v);
    size_t n = buf_pending(&p);
    ck_assert_uint_eq(n, 8 + value_len);
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p), 40000);
    rec(&in, T_PARAMS, 1, buf_head(&p) + 40000, n - 40000);
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, NULL, 0);
    enum fcgi_reader_event ev = feed_next(r, &in, reply);
    buf_free(&p);
    buf_free(&in);
    return ev;
}

START_TEST(test_params_at_64k)
{
    struct fcgi_reader r;
    struct buf reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    ck_assert_int_eq(big_params(&r, 65536 - 8, &reply), FCGI_READER_READY);
    const char *v = fcgi_reader_param(&r, "BIG");
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(strlen(v), 65528);
    fcgi_reader_free(&r);
    buf_free(&reply);
}
END_TEST

START_TEST(test_params_over_64k)
{
    struct fcgi_reader r;
    struct buf reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    ck_assert_int_eq(big_params(&r, 65536 - 8 + 1, &reply), FCGI_READER_ERROR);
    ck_assert_ptr_nonnull(r.error);
    fcgi_reader_free(&r);
    buf_free(&reply);
}
END_TEST

START_TEST(test_get_values)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, q = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    pair_str(&q, "FCGI_MPXS_CONNS", "");
    rec(&in, T_GET_VALUES, 0, buf_head(&q), buf_pending(&q));
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);
    static const char want[] = "\x0f\x01" "FCGI_MPXS_CONNS" "0";
    expect_reply_record(&reply, T_GET_VALUES_RESULT, 0, want, sizeof want - 1);
    ck_assert_int_eq(r.state, FCGI_READER_IDLE);
    /* the connection still takes a request */
    buf_reset(&reply);
    buf_reset(&in);
    get_request(&in, 1, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_uint_eq(buf_pending(&reply), 0);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&q);
}
END_TEST

START_TEST(test_unknown_management_type)
{
    static const unsigned char want[16] = {
        1, 11, 0, 0, 0, 8, 0, 0,  42, 0, 0, 0, 0, 0, 0, 0
    };
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    rec(&in, 42, 0, S("whatever"));
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);
    ck_assert_uint_eq(buf_pending(&reply), 16);
    ck_assert_mem_eq(buf_head(&reply), want, 16);
    expect_reply_record(&reply, T_UNKNOWN, 0, want + 8, 8);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* keep_conn: a request with FCGI_FLAG_KEEP_CONN, finish, then the next
 * request (same id, as lighttpd reuses them) on the same reader. Stale
 * records of the finished request are ignored. */
START_TEST(test_finish_then_next_request)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, p = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_request(&in, 1, 1 /* FCGI_FLAG_KEEP_CONN */);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_int_eq(r.keep_conn, 1);
    expect_get_params(&r);
    fcgi_reader_finish(&r);
    ck_assert_int_eq(r.state, FCGI_READER_IDLE);

    buf_reset(&in);
    rec(&in, T_STDIN, 1, NULL, 0);                /* stale */
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);

    buf_reset(&in);
    pair_str(&p, "REQUEST_METHOD", "HEAD");
    pair_str(&p, "REQUEST_URI", "/");
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p), buf_pending(&p));
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, S("x"));
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_int_eq(r.keep_conn, 0);
    ck_assert_str_eq(fcgi_reader_param(&r, "REQUEST_METHOD"), "HEAD");
    ck_assert_str_eq(fcgi_reader_param(&r, "REQUEST_URI"), "/");
    ck_assert_ptr_null(fcgi_reader_param(&r, "EMPTY"));
    ck_assert_uint_eq(buf_pending(&r.body), 1);
    ck_assert_uint_eq(buf_pending(&reply), 0);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&p);
}
END_TEST

/* Two whole requests arriving in one read: the second is delivered once the
 * first is finished, without feeding anything more. */
START_TEST(test_pipelined_after_finish)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    get_request(&in, 1, 1);
    fcgi_reader_feed(&r, buf_head(&in), buf_pending(&in));
    fcgi_reader_feed(&r, buf_head(&in), buf_pending(&in));
    ck_assert_int_eq(fcgi_reader_next(&r, &reply), FCGI_READER_READY);
    fcgi_reader_finish(&r);
    ck_assert_int_eq(fcgi_reader_next(&r, &reply), FCGI_READER_READY);
    expect_get_params(&r);
    ck_assert_uint_eq(buf_pending(&reply), 0);
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
}
END_TEST

/* lighttpd 1.4.69 under load can send BEGIN, PARAMS, end of PARAMS, and
 * then the same request again from BEGIN on the same connection (seen with
 * 4,000 concurrent connects). The reader starts that request over: one
 * READY, with the second copy's params, and nothing sent back. */
START_TEST(test_same_request_restarted)
{
    struct fcgi_reader r;
    struct buf in = BUF_INIT, reply = BUF_INIT, p1 = BUF_INIT, p2 = BUF_INIT;
    fcgi_reader_init(&r, 1024);
    pair_str(&p1, "REQUEST_URI", "/first");
    pair_str(&p2, "REQUEST_URI", "/second");
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p1), buf_pending(&p1));
    rec(&in, T_PARAMS, 1, NULL, 0);
    begin(&in, 1, 1, 0);
    rec(&in, T_PARAMS, 1, buf_head(&p2), buf_pending(&p2));
    rec(&in, T_PARAMS, 1, NULL, 0);
    rec(&in, T_STDIN, 1, NULL, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_READY);
    ck_assert_str_eq(fcgi_reader_param(&r, "REQUEST_URI"), "/second");
    ck_assert_uint_eq(buf_pending(&reply), 0);
    ck_assert_int_eq(fcgi_reader_next(&r, &reply), FCGI_READER_MORE);
    /* A BEGIN for another id while one is collected is still refused. */
    fcgi_reader_finish(&r);
    buf_reset(&in);
    begin(&in, 1, 1, 0);
    begin(&in, 2, 1, 0);
    ck_assert_int_eq(feed_next(&r, &in, &reply), FCGI_READER_MORE);
    ck_assert_uint_eq(buf_pending(&reply), 16); /* END_REQUEST for id 2 */
    ck_assert_uint_eq((unsigned char)buf_head(&reply)[1], T_END);
    ck_assert_uint_eq((unsigned char)buf_head(&reply)[3], 2);
    ck_assert_uint_eq((unsigned char)buf_head(&reply)[12], 1); /* CANT_MPX_CONN */
    fcgi_reader_free(&r);
    buf_free(&in);
    buf_free(&reply);
    buf_free(&p1);
    buf_free(&p2);
}
END_TEST

Suite *make_fcgi_reader_suite(void)
{
    Suite *s = suite_create("fcgi_reader");
    TCase *req = tcase_create("request");
    tcase_add_test(req, test_get_ready);
    tcase_add_test(req, test_same_request_restarted);
    tcase_add_test(req, test_byte_at_a_time);
    tcase_add_test(req, test_params_split);
    tcase_add_test(req, test_post_body);
    tcase_add_test(req, test_body_at_max);
    tcase_add_test(req, test_body_too_large);
    tcase_add_test(req, test_body_too_large_rest_dropped);
    tcase_add_test(req, test_finish_then_next_request);
    tcase_add_test(req, test_pipelined_after_finish);
    suite_add_tcase(s, req);

    TCase *refuse = tcase_create("refusals");
    tcase_add_test(refuse, test_second_begin_while_active);
    tcase_add_test(refuse, test_second_begin_mid_params);
    tcase_add_test(refuse, test_unknown_role);
    tcase_add_test(refuse, test_abort_active);
    tcase_add_test(refuse, test_abort_during_params);
    suite_add_tcase(s, refuse);

    TCase *err = tcase_create("errors");
    tcase_add_test(err, test_bad_version);
    tcase_add_test(err, test_bad_version_later);
    tcase_add_test(err, test_nul_in_name);
    tcase_add_test(err, test_truncated_params);
    tcase_add_test(err, test_params_at_64k);
    tcase_add_test(err, test_params_over_64k);
    suite_add_tcase(s, err);

    TCase *mgmt = tcase_create("management");
    tcase_add_test(mgmt, test_get_values);
    tcase_add_test(mgmt, test_unknown_management_type);
    suite_add_tcase(s, mgmt);
    return s;
}
