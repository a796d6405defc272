/* fuzz_sse: SSE framing (sse_append_event and friends) and the batch body
 * parser (sse_parse), checked against an independent parser written here
 * from the WHATWG HTML standard, "Server-sent events", section "Parsing an
 * event stream" / "Interpreting an event stream".
 *
 * Input: byte 0 = flags (bit 0: event name given, bit 1: id given, bit 2:
 * a comment and a retry come first, bits 4-7: where sse_parse's callback
 * stops), bytes 1-3 = lengths of the name, id and comment (each taken from
 * what is left), then those bytes, then the data.
 *
 * Part 1 (framing round trip): the framed bytes, parsed by the reference
 * parser, dispatch exactly one event whose type is the name (or "message"),
 * whose last event id is the id, and whose data is the input data with
 * every CRLF and lone CR turned into LF. A name or id with CR or LF is
 * refused (-1) and nothing is appended; sse_field_valid refuses exactly the
 * fields with CR, LF or NUL. Comments dispatch nothing; retry is read back.
 *
 * Part 2 (parser agreement): sse_parse on the whole raw input gives the
 * same events (name and data, in order) as the reference parser, allowing
 * for what sse.h documents: the last event needs no blank line, events
 * without data are skipped (as in the standard), names are cut at 65 bytes
 * (one more than a valid name, so validation refuses long ones), and the
 * name is passed as a C string, so it also ends at a NUL ("event: a\0b" gives "a", "event: \0b" gives
 * "message"). A callback that returns non-zero stops it with -1. */
#include "fuzz_check.h"

#include "buf.h"
#include "sse.h"

/* ---- the reference parser ---- */

struct rstr {
    char *p;
    size_t n, cap;
};

static void rs_add(struct rstr *s, const char *p, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 32;
        while (cap < s->n + n + 1)
            cap *= 2;
        s->p = realloc(s->p, cap);
        FUZZ_CHECK(s->p != NULL, "realloc");
        s->cap = cap;
    }
    if (n)
        memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = '\0';
}

static void rs_set(struct rstr *s, const char *p, size_t n)
{
    s->n = 0;
    rs_add(s, p, n);
}

struct ref_event {
    struct rstr type, data, id;
};

struct ref {
    struct rstr data, type, last_id; /* the standard's three buffers */
    long retry;                      /* reconnection time, -1 if never set */
    struct ref_event *ev;
    size_t nev, cap;
};

static void ref_init(struct ref *r)
{
    memset(r, 0, sizeof *r);
    r->retry = -1;
    rs_set(&r->last_id, "", 0);
}

static void ref_free(struct ref *r)
{
    free(r->data.p);
    free(r->type.p);
    free(r->last_id.p);
    for (size_t i = 0; i < r->nev; i++) {
        free(r->ev[i].type.p);
        free(r->ev[i].data.p);
        free(r->ev[i].id.p);
    }
    free(r->ev);
}

/* "Dispatch the event" */
static void ref_dispatch(struct ref *r)
{
    if (r->data.n == 0) {
        r->type.n = 0;
        return;
    }
    if (r->data.p[r->data.n - 1] == '\n')
        r->data.n--;
    if (r->nev == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->ev = realloc(r->ev, r->cap * sizeof *r->ev);
        FUZZ_CHECK(r->ev != NULL, "realloc");
    }
    struct ref_event *e = &r->ev[r->nev++];
    memset(e, 0, sizeof *e);
    if (r->type.n)
        rs_set(&e->type, r->type.p, r->type.n);
    else
        rs_set(&e->type, "message", 7);
    rs_set(&e->data, r->data.p ? r->data.p : "", r->data.n);
    rs_set(&e->id, r->last_id.p, r->last_id.n);
    r->data.n = 0;
    r->type.n = 0;
}

/* "Process the field" */
static void ref_line(struct ref *r, const char *line, size_t n)
{
    if (n == 0) {
        ref_dispatch(r);
        return;
    }
    if (line[0] == ':')
        return;
    const char *colon = memchr(line, ':', n);
    size_t flen = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vn = colon ? n - flen - 1 : 0;
    if (vn && v[0] == ' ') {
        v++;
        vn--;
    }
    if (flen == 5 && memcmp(line, "event", 5) == 0) {
        rs_set(&r->type, v, vn);
    } else if (flen == 4 && memcmp(line, "data", 4) == 0) {
        rs_add(&r->data, v, vn);
        rs_add(&r->data, "\n", 1);
    } else if (flen == 2 && memcmp(line, "id", 2) == 0) {
        if (!memchr(v, '\0', vn))
            rs_set(&r->last_id, v, vn);
    } else if (flen == 5 && memcmp(line, "retry", 5) == 0) {
        int digits = vn > 0 && vn < 10;
        for (size_t i = 0; i < vn && digits; i++)
            digits = v[i] >= '0' && v[i] <= '9';
        if (digits) {
            long ms = 0;
            for (size_t i = 0; i < vn; i++)
                ms = ms * 10 + (v[i] - '0');
            r->retry = ms;
        }
    }
}

/* Lines end at CRLF, LF or CR; one leading BOM is ignored. Without
 * eof_flush (the standard) an unterminated last line and an undispatched
 * event are dropped at the end; with it (sse_parse's documented extension)
 * the end of the text also ends the line and the event. */
static void ref_parse(struct ref *r, const char *s, size_t n, int eof_flush)
{
    size_t i = 0;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    size_t line = i;
    while (i < n) {
        if (s[i] != '\r' && s[i] != '\n') {
            i++;
            continue;
        }
        ref_line(r, s + line, i - line);
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i++;
        line = ++i;
    }
    if (eof_flush) {
        if (line < n)
            ref_line(r, s + line, n - line);
        ref_dispatch(r);
    }
}

/* ---- part 1: framing ---- */

static int field_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return 0;
    return 1;
}

static void normalize_breaks(const char *s, size_t n, struct rstr *out)
{
    rs_set(out, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            rs_add(out, "\n", 1);
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        } else {
            rs_add(out, s + i, 1);
        }
    }
}

static int rs_eq(const struct rstr *a, const char *p, size_t n)
{
    return a->n == n && (n == 0 || memcmp(a->p, p, n) == 0);
}

static void check_framing(uint8_t flags, const uint8_t *name, size_t name_n,
                          const uint8_t *id, size_t id_n,
                          const uint8_t *comment, size_t comment_n,
                          const uint8_t *data, size_t data_n, unsigned retry)
{
    FUZZ_CHECK(sse_field_valid((const char *)name, name_n) ==
               field_ok(name, name_n), "sse_field_valid on the name");
    FUZZ_CHECK(sse_field_valid((const char *)id, id_n) == field_ok(id, id_n),
               "sse_field_valid on the id");
    FUZZ_CHECK(sse_field_valid((const char *)data, data_n) ==
               field_ok(data, data_n), "sse_field_valid on the data");

    char *ev = (flags & 1) ? fuzz_strndup(name, name_n) : NULL;
    char *idc = (flags & 2) ? fuzz_strndup(id, id_n) : NULL;
    struct buf out = BUF_INIT;
    if (flags & 4) {
        char *text = fuzz_strndup(comment, comment_n);
        sse_append_comment(&out, text);
        sse_append_retry(&out, retry);
        free(text);
    }
    size_t before = buf_pending(&out);
    char *snapshot = fuzz_strndup((const uint8_t *)buf_head(&out), before);

    int rc = sse_append_event(&out, ev, idc, (const char *)data, data_n);
    int ok = (!ev || field_ok((const uint8_t *)ev, strlen(ev))) &&
             (!idc || field_ok((const uint8_t *)idc, strlen(idc)));
    FUZZ_CHECK(rc == (ok ? 0 : -1), "refused exactly for CR/LF in name or id");
    FUZZ_CHECK(memcmp(buf_head(&out), snapshot, before) == 0,
               "what was there stays");
    if (rc != 0) {
        FUZZ_CHECK(buf_pending(&out) == before, "a refused event appends nothing");
    } else {
        struct ref r;
        ref_init(&r);
        ref_parse(&r, buf_head(&out), buf_pending(&out), 0);
        FUZZ_CHECK(r.nev == 1, "exactly one event dispatched");
        const struct ref_event *e = &r.ev[0];
        if (ev && ev[0])
            FUZZ_CHECK(rs_eq(&e->type, ev, strlen(ev)), "type is the name");
        else
            FUZZ_CHECK(rs_eq(&e->type, "message", 7), "type is message");
        if (idc)
            FUZZ_CHECK(rs_eq(&e->id, idc, strlen(idc)), "last event id");
        else
            FUZZ_CHECK(e->id.n == 0, "no id: last event id stays empty");
        struct rstr want = { 0 };
        normalize_breaks((const char *)data, data_n, &want);
        FUZZ_CHECK(rs_eq(&e->data, want.p, want.n),
                   "data is the input with CRLF/CR as LF");
        FUZZ_CHECK(r.data.n == 0 && r.type.n == 0, "nothing left pending");
        if (flags & 4)
            FUZZ_CHECK(r.retry == (long)retry, "retry read back");
        else
            FUZZ_CHECK(r.retry == -1, "no retry");
        /* framed output is only whole lines ending in LF, then a blank line */
        const char *o = buf_head(&out) + before;
        size_t on = buf_pending(&out) - before;
        FUZZ_CHECK(memchr(o, '\r', on) == NULL, "no CR in the frame");
        FUZZ_CHECK(on >= 2 && o[on - 1] == '\n' && o[on - 2] == '\n',
                   "ends with a blank line");
        free(want.p);
        ref_free(&r);
    }
    free(snapshot);
    free(ev);
    free(idc);
    buf_free(&out);
}

/* ---- part 2: sse_parse against the reference ---- */

struct got {
    struct ref_event ev[64];
    size_t n, total;
    size_t stop_at; /* callback returns 1 on this call (0-based) */
};

static int got_event(const char *name, const char *data, size_t len, void *arg)
{
    struct got *g = arg;
    FUZZ_CHECK(name != NULL && data != NULL, "name and data are set");
    FUZZ_CHECK(strlen(name) <= 65, "names are cut at 65");
    if (g->n < 64) {
        struct ref_event *e = &g->ev[g->n++];
        memset(e, 0, sizeof *e);
        rs_set(&e->type, name, strlen(name));
        rs_set(&e->data, data, len);
    }
    return g->total++ == g->stop_at;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->ev[i].type.p);
        free(g->ev[i].data.p);
    }
}

static void check_parse(const char *s, size_t n, size_t stop_at)
{
    struct ref r;
    ref_init(&r);
    ref_parse(&r, s, n, 1);

    struct got g = { .stop_at = (size_t)-1 };
    long count = sse_parse(s, n, got_event, &g);
    FUZZ_CHECK(count >= 0 && (size_t)count == g.total, "count is the calls");
    FUZZ_CHECK(g.total == r.nev, "as many events as the reference");
    for (size_t i = 0; i < g.n; i++) {
        const struct ref_event *e = &r.ev[i];
        /* the name as sse_parse can pass it: a C string of at most 65 */
        size_t tn = strnlen(e->type.p, e->type.n < 65 ? e->type.n : 65);
        if (tn == 0)
            FUZZ_CHECK(rs_eq(&g.ev[i].type, "message", 7), "default name");
        else
            FUZZ_CHECK(rs_eq(&g.ev[i].type, e->type.p, tn), "event name");
        FUZZ_CHECK(rs_eq(&g.ev[i].data, e->data.p, e->data.n), "event data");
    }
    got_free(&g);

    if (stop_at < r.nev) {
        struct got h = { .stop_at = stop_at };
        FUZZ_CHECK(sse_parse(s, n, got_event, &h) == -1, "stopped: -1");
        FUZZ_CHECK(h.total == stop_at + 1, "no call after the stop");
        got_free(&h);
    }
    ref_free(&r);
}

static size_t take(size_t want, size_t *left)
{
    size_t k = want < *left ? want : *left;
    *left -= k;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t flags = data[0];
    size_t left = size - 4;
    size_t name_n = take(data[1], &left);
    size_t id_n = take(data[2], &left);
    size_t comment_n = take(data[3], &left);
    const uint8_t *name = data + 4, *id = name + name_n;
    const uint8_t *comment = id + id_n, *body = comment + comment_n;
    unsigned retry = (unsigned)data[1] << 16 | (unsigned)data[2] << 8 | data[3];
    check_framing(flags, name, name_n, id, id_n, comment, comment_n, body,
                  left, retry);
    check_parse((const char *)data, size, flags >> 4);
    check_parse((const char *)body, left, flags >> 4);
    return 0;
}
