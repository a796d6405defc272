/* check_sse: the contract of sse.h, against the WHATWG HTML "Server-sent
 * events" wire format. sse_append_event writes "event: " (unless the name is
 * NULL or ""), "id: " (unless NULL), one "data: " line per line of data
 * (split at CRLF, CR or LF) and a blank line; empty data gives "data: \n";
 * names or ids with CR or LF are refused with -1 and nothing appended.
 * Comments and retry lines have fixed shapes. A small independent parser,
 * written from the spec, checks that what we write reads back as the payload
 * with CRLF and CR normalised to LF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_suites.h"
#include "sse.h"

#define S(lit) lit, sizeof(lit) - 1 /* a literal and its length (NULs ok) */

/* ------------------------------------------------------------------------
 * Exact bytes of sse_append_event. */

struct event_case {
    const char *event, *id;
    const char *data;
    size_t len;
    const char *want;
    size_t want_len;
};

static const struct event_case event_cases[] = {
    { "EventName", NULL, S("hi"), S("event: EventName\ndata: hi\n\n") },
    { NULL, NULL, S("hi"), S("data: hi\n\n") },
    { "", NULL, S("hi"), S("data: hi\n\n") },
    { "e", "42", S("x"), S("event: e\nid: 42\ndata: x\n\n") },
    { NULL, "1", S("x"), S("id: 1\ndata: x\n\n") },
    { NULL, "", S("x"), S("id: \ndata: x\n\n") }, /* "" resets the id */
    { NULL, NULL, S("a\nb"), S("data: a\ndata: b\n\n") },
    { NULL, NULL, S("a\rb"), S("data: a\ndata: b\n\n") },
    { NULL, NULL, S("a\r\nb"), S("data: a\ndata: b\n\n") },
    { NULL, NULL, S("a\r\nb\rc\nd"),
      S("data: a\ndata: b\ndata: c\ndata: d\n\n") },
    { NULL, NULL, S("a\n"), S("data: a\ndata: \n\n") },
    { NULL, NULL, S("a\r"), S("data: a\ndata: \n\n") },
    { NULL, NULL, S("a\r\n"), S("data: a\ndata: \n\n") },
    { NULL, NULL, S(""), S("data: \n\n") },
    { NULL, NULL, S("\n"), S("data: \ndata: \n\n") },
    { NULL, NULL, S("\r\n"), S("data: \ndata: \n\n") },
    { NULL, NULL, S("\n\r"), S("data: \ndata: \ndata: \n\n") },
    { NULL, NULL, S("a\r\r\nb"), S("data: a\ndata: \ndata: b\n\n") },
    { NULL, NULL, S("a\n\nb"), S("data: a\ndata: \ndata: b\n\n") },
    { NULL, NULL, S(" x"), S("data:  x\n\n") },
    { NULL, NULL, S("k: v"), S("data: k: v\n\n") },
    { NULL, NULL, S("a\0b"), S("data: a\0b\n\n") }, /* NUL is not a break */
    { NULL, NULL, "abcdef", 3, S("data: abc\n\n") }, /* len is respected */
    { "up", "9", S("l1\nl2"), S("event: up\nid: 9\ndata: l1\ndata: l2\n\n") },
};

START_TEST(test_event_bytes)
{
    const struct event_case *c = &event_cases[_i];
    struct buf b = BUF_INIT;
    buf_append_str(&b, "prev|");
    ck_assert_int_eq(sse_append_event(&b, c->event, c->id, c->data, c->len), 0);
    ck_assert_uint_eq(buf_pending(&b), 5 + c->want_len);
    ck_assert_mem_eq(buf_head(&b), "prev|", 5);
    ck_assert_mem_eq(buf_head(&b) + 5, c->want, c->want_len);
    buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------------------
 * Refused event names and ids. (A NUL cannot be inside a C-string name or
 * id; sse_field_valid covers NUL with an explicit length.) */

struct bad_case {
    const char *event, *id;
};

static const struct bad_case bad_cases[] = {
    { "a\nb", NULL },
    { "a\rb", NULL },
    { "\r\n", NULL },
    { "evil\ndata: injected", "1" },
    { NULL, "1\n" },
    { NULL, "1\r2" },
    { "ok", "\n" },
    { "ok", "id\r\nevent: x" },
    { "\r", "ok" },
    { "", "\n" },
};

START_TEST(test_event_refused)
{
    const struct bad_case *c = &bad_cases[_i];
    struct buf b = BUF_INIT;
    buf_append_str(&b, "keep");
    ck_assert_int_eq(sse_append_event(&b, c->event, c->id, S("data")), -1);
    ck_assert_uint_eq(buf_pending(&b), 4);
    ck_assert_str_eq(buf_head(&b), "keep");
    buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------------------
 * sse_field_valid with explicit lengths. */

struct valid_case {
    const char *s;
    size_t n;
    int want;
};

static const struct valid_case valid_cases[] = {
    { S("EventName"), 1 },
    { S(""), 1 },
    { S("with spaces: and colon"), 1 },
    { S("\xc3\xa9"), 1 },          /* UTF-8 e-acute */
    { "abc\n", 3, 1 },             /* the LF is past n */
    { S("a\nb"), 0 },
    { S("a\rb"), 0 },
    { S("a\0b"), 0 },
    { S("\n"), 0 },
    { S("\r"), 0 },
    { S("\0"), 0 },
    { S("tail\r"), 0 },
};

START_TEST(test_field_valid)
{
    const struct valid_case *c = &valid_cases[_i];
    ck_assert_int_eq(sse_field_valid(c->s, c->n), c->want);
}
END_TEST

/* ------------------------------------------------------------------------
 * Comments and retry. */

struct text_case {
    const char *in;
    const char *want;
};

static const struct text_case comment_cases[] = {
    { "keepalive", ": keepalive\n\n" },
    { "", ": \n\n" },
    { "a\nb", ": a\n: b\n\n" },
    { "a\r\nb\rc", ": a\n: b\n: c\n\n" },
};

START_TEST(test_comment)
{
    struct buf b = BUF_INIT;
    sse_append_comment(&b, comment_cases[_i].in);
    ck_assert_str_eq(buf_head(&b), comment_cases[_i].want);
    buf_free(&b);
}
END_TEST

START_TEST(test_retry)
{
    struct buf b = BUF_INIT;
    sse_append_retry(&b, 3000);
    ck_assert_str_eq(buf_head(&b), "retry: 3000\n\n");
    buf_reset(&b);
    sse_append_retry(&b, 0);
    ck_assert_str_eq(buf_head(&b), "retry: 0\n\n");
    buf_reset(&b);
    sse_append_retry(&b, 4294967295u);
    ck_assert_str_eq(buf_head(&b), "retry: 4294967295\n\n");
    buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------------------
 * An independent event-stream parser, after WHATWG HTML 9.2.6 "Interpreting
 * an event stream" (no BOM handling, no UTF-8 decoding: bytes are kept). */

#define MAX_EVENTS 64

struct parsed_event {
    char *type;   /* "message" when no event: field */
    char *data;
    size_t len;
    char *id;     /* last event ID at dispatch */
};

struct parser {
    struct parsed_event ev[MAX_EVENTS];
    int n;
    char type[256];
    char *data;
    size_t data_len;
    char last_id[256];
    long retry;     /* -1 until a valid retry: field */
};

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void parser_dispatch(struct parser *ps)
{
    if (ps->data_len == 0) {       /* empty data buffer: nothing dispatched */
        ps->type[0] = '\0';
        return;
    }
    if (ps->data[ps->data_len - 1] == '\n')
        ps->data_len--;
    ck_assert_int_lt(ps->n, MAX_EVENTS);
    struct parsed_event *e = &ps->ev[ps->n++];
    e->type = dup_bytes(ps->type[0] ? ps->type : "message",
                        strlen(ps->type[0] ? ps->type : "message"));
    e->data = dup_bytes(ps->data, ps->data_len);
    e->len = ps->data_len;
    e->id = dup_bytes(ps->last_id, strlen(ps->last_id));
    ps->data_len = 0;
    ps->type[0] = '\0';
}

static void parser_field(struct parser *ps, const char *f, size_t flen,
                         const char *v, size_t vlen)
{
    if (flen == 5 && memcmp(f, "event", 5) == 0) {
        ck_assert_uint_lt(vlen, sizeof ps->type);
        memcpy(ps->type, v, vlen);
        ps->type[vlen] = '\0';
    } else if (flen == 4 && memcmp(f, "data", 4) == 0) {
        ps->data = realloc(ps->data, ps->data_len + vlen + 1);
        ck_assert_ptr_nonnull(ps->data);
        memcpy(ps->data + ps->data_len, v, vlen);
        ps->data_len += vlen;
        ps->data[ps->data_len++] = '\n';
    } else if (flen == 2 && memcmp(f, "id", 2) == 0) {
        if (!memchr(v, '\0', vlen)) {
            ck_assert_uint_lt(vlen, sizeof ps->last_id);
            memcpy(ps->last_id, v, vlen);
            ps->last_id[vlen] = '\0';
        }
    } else if (flen == 5 && memcmp(f, "retry", 5) == 0) {
        long ms = 0;
        size_t i;
        for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
            ms = ms * 10 + (v[i] - '0');
        if (vlen > 0 && i == vlen)
            ps->retry = ms;
    }
    /* other fields are ignored */
}

static void parser_line(struct parser *ps, const char *l, size_t n)
{
    if (n == 0) {
        parser_dispatch(ps);
        return;
    }
    if (l[0] == ':')
        return; /* comment */
    const char *colon = memchr(l, ':', n);
    if (!colon) {
        parser_field(ps, l, n, "", 0);
        return;
    }
    const char *v = colon + 1;
    size_t vlen = n - (size_t)(v - l);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    parser_field(ps, l, (size_t)(colon - l), v, vlen);
}

/* Parses a whole stream; an unterminated last line is discarded, as at EOF. */
static void parse_stream(struct parser *ps, const char *s, size_t n)
{
    memset(ps, 0, sizeof *ps);
    ps->retry = -1;
    size_t line = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\r' && s[i] != '\n')
            continue;
        parser_line(ps, s + line, i - line);
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i++;
        line = i + 1;
    }
}

static void parser_free(struct parser *ps)
{
    for (int i = 0; i < ps->n; i++) {
        free(ps->ev[i].type);
        free(ps->ev[i].data);
        free(ps->ev[i].id);
    }
    free(ps->data);
}

/* The payload as the client should see it: CRLF and CR become LF. */
static char *normalise(const char *s, size_t n, size_t *out_len)
{
    char *p = malloc(n + 1);
    ck_assert_ptr_nonnull(p);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            p[k++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        } else {
            p[k++] = s[i];
        }
    }
    p[k] = '\0';
    *out_len = k;
    return p;
}

/* The parser itself, on hand-written streams, so a broken parser cannot
 * make the round trip pass by accident. */
START_TEST(test_parser_self_check)
{
    struct parser ps;
    static const char stream[] =
        ": comment\r\n"
        "event: one\r"
        "data:no-space\n"
        "data:  two spaces\n"
        "id: 5\n"
        "\n"
        "data\n"          /* field with no colon: empty value */
        "\r\n"
        "\n"              /* empty data buffer: not dispatched */
        "retry: 1500\n"
        "retry: 12x\n"    /* not all digits: ignored */
        "data: last\n"
        "\n"
        "data: never\n";  /* no blank line before EOF: discarded */
    parse_stream(&ps, stream, sizeof stream - 1);
    ck_assert_int_eq(ps.n, 3);
    ck_assert_str_eq(ps.ev[0].type, "one");
    ck_assert_str_eq(ps.ev[0].data, "no-space\n two spaces");
    ck_assert_str_eq(ps.ev[0].id, "5");
    ck_assert_str_eq(ps.ev[1].type, "message");
    ck_assert_uint_eq(ps.ev[1].len, 0);
    ck_assert_str_eq(ps.ev[1].id, "5");
    ck_assert_str_eq(ps.ev[2].data, "last");
    ck_assert_int_eq(ps.retry, 1500);
    parser_free(&ps);
}
END_TEST

struct payload {
    const char *s;
    size_t n;
};

static const struct payload payloads[] = {
    { S("hello") },
    { S("") },
    { S("a\nb") },
    { S("a\r\nb") },
    { S("a\rb") },
    { S("a\r\nb\rc\nd") },
    { S("\n") },
    { S("\r") },
    { S("\r\n") },
    { S("line\n") },
    { S("\n\nx\n\n") },
    { S("\r\r\n\n") },
    { S("a\n\r\nb") },
    { S("  two leading spaces") },
    { S(" one leading space") },
    { S("key: value") },
    { S(":starts with colon") },
    { S("data: fake\n\nevent: evil\nid: 666\n") },
    { S("\n: comment-like\n") },
    { S("retry: 1\r\n\r\n") },
    { S("tab\there \xc3\xa9") },
    { S("<div>\n  <p>message number 0</p>\n</div>") },
};

static void check_round_trip(const struct payload *p, const char *event,
                             const char *id)
{
    struct buf b = BUF_INIT;
    ck_assert_int_eq(sse_append_event(&b, event, id, p->s, p->n), 0);
    struct parser ps;
    parse_stream(&ps, buf_head(&b), buf_pending(&b));
    size_t want_len;
    char *want = normalise(p->s, p->n, &want_len);
    ck_assert_int_eq(ps.n, 1);
    ck_assert_str_eq(ps.ev[0].type, event && *event ? event : "message");
    ck_assert_str_eq(ps.ev[0].id, id ? id : "");
    ck_assert_uint_eq(ps.ev[0].len, want_len);
    ck_assert_mem_eq(ps.ev[0].data, want, want_len);
    ck_assert_int_eq(ps.retry, -1);
    free(want);
    parser_free(&ps);
    buf_free(&b);
}

START_TEST(test_round_trip)
{
    check_round_trip(&payloads[_i], "EventName", "7");
    check_round_trip(&payloads[_i], NULL, NULL);
    check_round_trip(&payloads[_i], "", "x y");
}
END_TEST

/* All payloads in one stream, with comments and retry in between: each
 * event comes back in order and nothing leaks from one into the next. */
START_TEST(test_round_trip_stream)
{
    enum { N = sizeof payloads / sizeof payloads[0] };
    struct buf b = BUF_INIT;
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        ck_assert_int_eq(sse_append_event(&b, i % 2 ? "odd" : NULL, id,
                                          payloads[i].s, payloads[i].n), 0);
        sse_append_comment(&b, "between\nevents");
    }
    sse_append_retry(&b, 2500);
    struct parser ps;
    parse_stream(&ps, buf_head(&b), buf_pending(&b));
    ck_assert_int_eq(ps.n, N);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        size_t want_len;
        char *want = normalise(payloads[i].s, payloads[i].n, &want_len);
        ck_assert_str_eq(ps.ev[i].type, i % 2 ? "odd" : "message");
        ck_assert_str_eq(ps.ev[i].id, id);
        ck_assert_uint_eq(ps.ev[i].len, want_len);
        ck_assert_mem_eq(ps.ev[i].data, want, want_len);
        free(want);
    }
    ck_assert_int_eq(ps.retry, 2500);
    parser_free(&ps);
    buf_free(&b);
}
END_TEST

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* sse_parse: the batch-publish reader. Each case: input text and the events
 * expected, written as "name=data" joined by "|" (data with "\n" inside). */
struct parse_rec {
    char out[512];
};

static int parse_collect(const char *name, const char *data, size_t len,
                         void *arg)
{
    struct parse_rec *r = arg;
    size_t o = strlen(r->out);
    snprintf(r->out + o, sizeof r->out - o, "%s%s=%.*s", o ? "|" : "", name,
             (int)len, data);
    return 0;
}

static const struct {
    const char *in;
    long count;
    const char *want;
} parse_cases[] = {
#define N64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    { "data: x\n\n", 1, "message=x" },
    { "event: a\ndata: one\n\nevent: b\ndata: two\n\n", 2, "a=one|b=two" },
    { "data: 1\ndata: 2\n\n", 1, "message=1\n2" },
    { "data: 1\r\ndata: 2\r\n\r\n", 1, "message=1\n2" },
    { "data: 1\rdata: 2\r\r", 1, "message=1\n2" },
    { "data: last without blank line", 1, "message=last without blank line" },
    { ": comment\nid: 7\nretry: 5\ndata: x\n\n", 1, "message=x" },
    { "event: only a name\n\n", 0, "" },
    { "data:no space\n\n", 1, "message=no space" },
    { "data:  two spaces\n\n", 1, "message= two spaces" },
    { "data\n\n", 1, "message=" },
    { "\n\n\ndata: a\n\n\n\n", 1, "message=a" },
    { "", 0, "" },
    { "event: e\ndata: a\n\ndata: b\n\n", 2, "e=a|message=b" },
    /* One leading UTF-8 BOM is not part of the first line (WHATWG); before
     * this, "event: a" was an unknown field and the event came out as
     * "message" (found by tests/fuzz/fuzz_sse). Only one BOM is dropped. */
    { "\xEF\xBB\xBF" "event: a\ndata: x\n\n", 1, "a=x" },
    { "\xEF\xBB\xBF" "data: x", 1, "message=x" },
    { "\xEF\xBB\xBF", 0, "" },
    { "\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n", 0, "" },
    { "data: \xEF\xBB\xBFx\n\n", 1, "message=\xEF\xBB\xBFx" },
    /* A name of 64 bytes is passed whole; a longer one as its first 65, so
     * the caller's "at most 64" check refuses it (it used to be cut to 64
     * and accepted; found by tests/fuzz/fuzz_sse). */
    { "event: " N64 "\ndata: x\n\n", 1, N64 "=x" },
    { "event: " N64 "yz\ndata: x\n\n", 1, N64 "y=x" },
};

START_TEST(test_parse_table)
{
    struct parse_rec r = { "" };
    const char *in = parse_cases[_i].in;
    long n = sse_parse(in, strlen(in), parse_collect, &r);
    ck_assert_int_eq(n, parse_cases[_i].count);
    ck_assert_str_eq(r.out, parse_cases[_i].want);
}
END_TEST

static int parse_stop_at_two(const char *name, const char *data, size_t len,
                             void *arg)
{
    (void)name;
    (void)data;
    (void)len;
    return ++*(int *)arg == 2 ? 1 : 0;
}

START_TEST(test_parse_stop)
{
    int calls = 0;
    const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    ck_assert_int_eq(sse_parse(in, sizeof in - 1, parse_stop_at_two, &calls), -1);
    ck_assert_int_eq(calls, 2);
}
END_TEST


Suite *make_sse_suite(void)
{
    Suite *s = suite_create("sse");
    TCase *tc = tcase_create("format");
    tcase_add_loop_test(tc, test_event_bytes, 0, N_OF(event_cases));
    tcase_add_loop_test(tc, test_event_refused, 0, N_OF(bad_cases));
    tcase_add_loop_test(tc, test_field_valid, 0, N_OF(valid_cases));
    tcase_add_loop_test(tc, test_comment, 0, N_OF(comment_cases));
    tcase_add_test(tc, test_retry);
    suite_add_tcase(s, tc);

    TCase *pt = tcase_create("parse");
    tcase_add_loop_test(pt, test_parse_table, 0,
                        sizeof parse_cases / sizeof parse_cases[0]);
    tcase_add_test(pt, test_parse_stop);
    suite_add_tcase(s, pt);

    TCase *rt = tcase_create("round_trip");
    tcase_add_test(rt, test_parser_self_check);
    tcase_add_loop_test(rt, test_round_trip, 0, N_OF(payloads));
    tcase_add_test(rt, test_round_trip_stream);
    suite_add_tcase(s, rt);
    return s;
}
