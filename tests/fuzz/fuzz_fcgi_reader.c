/* fuzz_fcgi_reader: FastCGI request collection (fcgi_reader.c) and record
 * coding (fcgi_proto.c) on arbitrary bytes from the web server's side.
 *
 * Input: byte 0 = chunk size (0: everything at once), byte 1 = body limit
 * (bits 1-7, times 64) and what the app does after READY (bit 0: 1 keeps
 * the request open as a stream and calls fcgi_reader_release, 0 answers and
 * calls fcgi_reader_finish), then the bytes lighttpd would send.
 *
 * Properties:
 * - the reader never reads out of bounds, leaks or trips UBSan;
 * - fed in chunks or all at once, it reports the same events with the same
 *   params and body and appends the same reply bytes;
 * - on READY: the body is at most the limit, the decoded params are
 *   well-formed "name\0value\0" pairs and fcgi_reader_param finds the first
 *   value of every name;
 * - every reply is a sequence of whole, well-formed records;
 * - fcgi_pair_next agrees with an independent name-value decoder written
 *   from the FastCGI 1.0 spec (section 3.4);
 * - fcgi_header_decode agrees with the spec's byte layout;
 * - STDOUT records written by fcgi_append_stream parse back to the data. */
#include "fuzz_check.h"

#include "buf.h"
#include "fcgi_proto.h"
#include "fcgi_reader.h"

/* ---- the reader, fed in chunks ---- */

static void check_env(const struct fcgi_reader *r)
{
    const char *p = buf_head(&r->env), *end = p + buf_pending(&r->env);
    FUZZ_CHECK(buf_pending(&r->env) == 0 || end[-1] == '\0',
               "env ends with a NUL");
    while (p < end) {
        const char *name = p;
        const char *value = memchr(name, '\0', (size_t)(end - name));
        FUZZ_CHECK(value != NULL && value + 1 < end, "env: name without value");
        value++;
        const char *next = memchr(value, '\0', (size_t)(end - value));
        FUZZ_CHECK(next != NULL, "env: value without NUL");
        /* fcgi_reader_param returns the first value with that name. */
        const char *first = NULL;
        for (const char *q = buf_head(&r->env); q < end;) {
            const char *v = q + strlen(q) + 1;
            if (strcmp(q, name) == 0) {
                first = v;
                break;
            }
            q = v + strlen(v) + 1;
        }
        FUZZ_CHECK(fcgi_reader_param(r, name) == first,
                   "fcgi_reader_param finds the first value of a name");
        p = next + 1;
    }
}

static void trace_str(struct buf *t, const char *s)
{
    buf_append_str(t, s ? s : "(null)");
    buf_append_byte(t, '\0');
}

/* Feeds s in chunks of `chunk` bytes (0: at once) and writes what happens
 * (every event but MORE, with what the app would see) to trace. */
static void run_reader(const uint8_t *s, size_t n, size_t chunk,
                       size_t body_max, int streams, struct buf *trace,
                       struct buf *reply)
{
    struct fcgi_reader r;
    fcgi_reader_init(&r, body_max);
    size_t off = 0;
    int done = 0;
    while (!done && off < n) {
        size_t k = chunk && chunk < n - off ? chunk : n - off;
        fcgi_reader_feed(&r, s + off, k);
        off += k;
        for (;;) {
            enum fcgi_reader_event ev = fcgi_reader_next(&r, reply);
            if (ev == FCGI_READER_MORE)
                break;
            buf_appendf(trace, "event %d\n", (int)ev);
            if (ev == FCGI_READER_ERROR) {
                FUZZ_CHECK(r.error != NULL, "ERROR says why");
                trace_str(trace, r.error);
                done = 1;
                break;
            }
            if (ev == FCGI_READER_ABORT) {
                done = 1; /* fcgi_conn kills the connection */
                break;
            }
            FUZZ_CHECK(ev == FCGI_READER_READY, "known event");
            FUZZ_CHECK(r.state == FCGI_READER_ACTIVE, "READY leaves it ACTIVE");
            FUZZ_CHECK(r.request_id != 0, "a request id is not 0");
            FUZZ_CHECK(buf_pending(&r.body) <= body_max, "body within limit");
            check_env(&r);
            buf_appendf(trace, "id %u keep %d big %d\n", r.request_id,
                        r.keep_conn, r.body_too_large);
            trace_str(trace, fcgi_reader_param(&r, "REQUEST_METHOD"));
            trace_str(trace, fcgi_reader_param(&r, "QUERY_STRING"));
            trace_str(trace, fcgi_reader_param(&r, "HTTP_LAST_EVENT_ID"));
            buf_append(trace, buf_head(&r.env), buf_pending(&r.env));
            buf_appendf(trace, "body %zu\n", buf_pending(&r.body));
            buf_append(trace, buf_head(&r.body), buf_pending(&r.body));
            if (streams) {
                fcgi_reader_release(&r);
                FUZZ_CHECK(fcgi_reader_param(&r, "REQUEST_METHOD") == NULL,
                           "no params after release");
            } else {
                fcgi_reader_finish(&r);
                FUZZ_CHECK(r.state == FCGI_READER_IDLE, "finish makes it IDLE");
            }
        }
    }
    fcgi_reader_free(&r);
}

/* Every reply is whole records of version 1 that the reader may send. */
static void check_reply(const struct buf *reply)
{
    const unsigned char *p = (const unsigned char *)buf_head(reply);
    size_t n = buf_pending(reply), off = 0;
    while (off < n) {
        FUZZ_CHECK(n - off >= 8, "reply: whole header");
        const unsigned char *h = p + off;
        FUZZ_CHECK(h[0] == 1, "reply: version 1");
        FUZZ_CHECK(h[1] == FCGI_END_REQUEST || h[1] == FCGI_GET_VALUES_RESULT ||
                   h[1] == FCGI_UNKNOWN_TYPE, "reply: a type we send");
        size_t clen = (size_t)h[4] << 8 | h[5], plen = h[6];
        FUZZ_CHECK((clen + plen) % 8 == 0, "reply: padded to 8");
        if (h[1] != FCGI_GET_VALUES_RESULT)
            FUZZ_CHECK(clen == 8, "reply: END_REQUEST/UNKNOWN_TYPE body is 8");
        FUZZ_CHECK(n - off - 8 >= clen + plen, "reply: whole record");
        off += 8 + clen + plen;
    }
}

/* ---- fcgi_proto on its own ---- */

/* FastCGI 1.0, 3.4: a length is one byte (high bit 0) or four bytes (high
 * bit of the first set, which is not part of the length). */
static int ref_pair_len(const uint8_t *s, size_t n, size_t *pos, size_t *len)
{
    if (*pos >= n)
        return -1;
    if (s[*pos] < 0x80) {
        *len = s[*pos];
        *pos += 1;
        return 0;
    }
    if (n - *pos < 4)
        return -1;
    *len = ((size_t)(s[*pos] & 0x7f) << 24) + ((size_t)s[*pos + 1] << 16) +
           ((size_t)s[*pos + 2] << 8) + s[*pos + 3];
    *pos += 4;
    return 0;
}

static void check_pairs(const uint8_t *s, size_t n)
{
    const unsigned char *p = s, *end = s + n;
    size_t pos = 0;
    for (;;) {
        const unsigned char *name, *value;
        size_t nl, vl;
        int rc = fcgi_pair_next(&p, end, &name, &nl, &value, &vl);
        /* the reference */
        int want;
        size_t q = pos, rnl = 0, rvl = 0;
        if (pos == n)
            want = 0;
        else if (ref_pair_len(s, n, &q, &rnl) != 0 ||
                 ref_pair_len(s, n, &q, &rvl) != 0 || rnl > n - q ||
                 rvl > n - q - rnl)
            want = -1;
        else
            want = 1;
        FUZZ_CHECK(rc == want, "fcgi_pair_next result matches the spec");
        if (rc != 1) {
            FUZZ_CHECK(p == s + pos, "no progress on end or error");
            return;
        }
        FUZZ_CHECK(nl == rnl && vl == rvl, "pair lengths");
        FUZZ_CHECK(name == s + q && value == s + q + rnl, "pair pointers");
        pos = q + rnl + rvl;
        FUZZ_CHECK(p == s + pos, "advances past the pair");
    }
}

static void check_headers(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 8 <= n && i < 64; i++) {
        struct fcgi_header h;
        int rc = fcgi_header_decode(s + i, &h);
        FUZZ_CHECK(rc == (s[i] == 1 ? 0 : -1), "version check");
        FUZZ_CHECK(h.version == s[i] && h.type == s[i + 1] &&
                   h.request_id == (unsigned)s[i + 2] * 256 + s[i + 3] &&
                   h.content_len == (unsigned)s[i + 4] * 256 + s[i + 5] &&
                   h.padding_len == s[i + 6], "header fields");
    }
}

/* Parses records of one type and request id back into their content. */
static void check_stream_encoding(const uint8_t *s, size_t n, unsigned id,
                                  int big)
{
    uint8_t *data = (uint8_t *)s;
    size_t len = n;
    if (big && n > 0) { /* past one record's 65535 bytes */
        len = 70000 + n;
        data = malloc(len);
        FUZZ_CHECK(data != NULL, "malloc");
        for (size_t i = 0; i < len; i++)
            data[i] = s[i % n];
    }
    struct buf out = BUF_INIT, back = BUF_INIT;
    buf_append(&out, "x", 1); /* appends keep what was there */
    fcgi_append_stream(&out, FCGI_STDOUT, id, data, len);
    fcgi_append_stream_end(&out, FCGI_STDOUT, id);
    fcgi_append_end_request(&out, id, 0x01020304u, FCGI_OVERLOADED);
    const unsigned char *p = (const unsigned char *)buf_head(&out);
    size_t total = buf_pending(&out), off = 1, records = 0;
    FUZZ_CHECK(p[0] == 'x', "prefix kept");
    for (;;) {
        FUZZ_CHECK(total - off >= 8, "whole header");
        struct fcgi_header h;
        FUZZ_CHECK(fcgi_header_decode(p + off, &h) == 0, "version 1");
        FUZZ_CHECK(h.request_id == (id & 0xffff), "request id");
        FUZZ_CHECK((h.content_len + h.padding_len) % 8 == 0, "padded");
        FUZZ_CHECK(h.padding_len < 8, "padding under 8");
        FUZZ_CHECK(total - off - 8 >= h.content_len + h.padding_len, "whole");
        const unsigned char *c = p + off + 8;
        off += 8 + h.content_len + h.padding_len;
        if (h.type == FCGI_STDOUT && h.content_len > 0) {
            buf_append(&back, c, h.content_len);
            records++;
            continue;
        }
        FUZZ_CHECK(h.type == FCGI_STDOUT && h.content_len == 0,
                   "the empty STDOUT follows the data");
        break;
    }
    FUZZ_CHECK(buf_pending(&back) == len &&
               (len == 0 || memcmp(buf_head(&back), data, len) == 0),
               "STDOUT content is the data");
    FUZZ_CHECK(records == (len + 65534) / 65535, "as few records as fit");
    struct fcgi_header h;
    FUZZ_CHECK(total - off == 16, "END_REQUEST is last");
    FUZZ_CHECK(fcgi_header_decode(p + off, &h) == 0 &&
               h.type == FCGI_END_REQUEST && h.content_len == 8, "END_REQUEST");
    FUZZ_CHECK(memcmp(p + off + 8, "\1\2\3\4\2\0\0\0", 8) == 0,
               "END_REQUEST body");
    buf_free(&out);
    buf_free(&back);
    if (data != s)
        free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = data[0];
    size_t body_max = (size_t)(data[1] >> 1) * 64;
    int streams = data[1] & 1;
    const uint8_t *s = data + 2;
    size_t n = size - 2;

    struct buf t1 = BUF_INIT, r1 = BUF_INIT, t2 = BUF_INIT, r2 = BUF_INIT;
    run_reader(s, n, chunk, body_max, streams, &t1, &r1);
    run_reader(s, n, 0, body_max, streams, &t2, &r2);
    FUZZ_CHECK(buf_pending(&t1) == buf_pending(&t2) &&
               memcmp(buf_head(&t1), buf_head(&t2), buf_pending(&t1)) == 0,
               "same events in chunks and at once");
    FUZZ_CHECK(buf_pending(&r1) == buf_pending(&r2) &&
               memcmp(buf_head(&r1), buf_head(&r2), buf_pending(&r1)) == 0,
               "same replies in chunks and at once");
    check_reply(&r1);
    buf_free(&t1);
    buf_free(&r1);
    buf_free(&t2);
    buf_free(&r2);

    check_pairs(s, n);
    check_headers(s, n);
    check_stream_encoding(s, n, (unsigned)data[0] << 8 | data[1],
                          (data[0] & 0xf0) == 0xf0);
    return 0;
}
