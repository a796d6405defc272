/* fcgi_reader: FastCGI request collection. See fcgi_reader.h. */
#include "fcgi_reader.h"

#include <string.h>

#include "fcgi_proto.h"

void fcgi_reader_init(struct fcgi_reader *r, size_t body_max)
{
    memset(r, 0, sizeof *r);
    r->body_max = body_max;
    r->state = FCGI_READER_IDLE;
}

void fcgi_reader_free(struct fcgi_reader *r)
{
    buf_free(&r->in);
    buf_free(&r->params);
    buf_free(&r->env);
    buf_free(&r->body);
}

void fcgi_reader_feed(struct fcgi_reader *r, const void *p, size_t n)
{
    buf_append(&r->in, p, n);
}

static enum fcgi_reader_event fcgi_reader_fail(struct fcgi_reader *r,
                                               const char *why)
{
    r->error = why;
    return FCGI_READER_ERROR;
}

/* Decodes the joined PARAMS into env; rejects NUL inside names or values,
 * since env is NUL-separated and a NUL would let one param hide another. */
static int fcgi_reader_decode_params(struct fcgi_reader *r)
{
    const unsigned char *p = (const unsigned char *)buf_head(&r->params);
    const unsigned char *end = p + buf_pending(&r->params);
    const unsigned char *name, *value;
    size_t name_len, value_len;
    int rc;

    buf_reset(&r->env);
    while ((rc = fcgi_pair_next(&p, end, &name, &name_len, &value,
                                &value_len)) == 1) {
        if (memchr(name, '\0', name_len) || memchr(value, '\0', value_len))
            return -1;
        buf_append(&r->env, name, name_len);
        buf_append_byte(&r->env, '\0');
        buf_append(&r->env, value, value_len);
        buf_append_byte(&r->env, '\0');
    }
    buf_free(&r->params);
    return rc;
}

/* Answers FCGI_GET_VALUES: we run one request per connection and do not
 * multiplex. Unknown names are left out, as the spec says. */
static void fcgi_reader_get_values(const unsigned char *p, size_t n,
                                   struct buf *reply)
{
    const unsigned char *end = p + n, *name, *value;
    size_t name_len, value_len;
    struct buf body = BUF_INIT;
    while (fcgi_pair_next(&p, end, &name, &name_len, &value, &value_len) == 1) {
        const char *v = NULL;
        if (name_len == strlen("FCGI_MPXS_CONNS") &&
            memcmp(name, "FCGI_MPXS_CONNS", name_len) == 0)
            v = "0";
        if (!v)
            continue;
        unsigned char lens[2] = { (unsigned char)name_len, 1 };
        buf_append(&body, lens, 2);
        buf_append(&body, name, name_len);
        buf_append(&body, v, 1);
    }
    if (buf_pending(&body))
        fcgi_append_stream(reply, FCGI_GET_VALUES_RESULT, 0, buf_head(&body),
                           buf_pending(&body));
    else
        fcgi_append_stream_end(reply, FCGI_GET_VALUES_RESULT, 0);
    buf_free(&body);
}

static enum fcgi_reader_event fcgi_reader_begin(struct fcgi_reader *r,
                                                const struct fcgi_header *h,
                                                const unsigned char *c,
                                                struct buf *reply)
{
    if (h->content_len < 8)
        return fcgi_reader_fail(r, "short BEGIN_REQUEST record");
    /* lighttpd 1.4.69, when its write to a busy backend stalls, can start
     * the same request over on the same connection before STDIN: a BEGIN
     * for the request still being collected restarts it. */
    if ((r->state == FCGI_READER_PARAMS || r->state == FCGI_READER_STDIN) &&
        h->request_id == r->request_id)
        r->state = FCGI_READER_IDLE;
    if (r->state != FCGI_READER_IDLE) {
        fcgi_append_end_request(reply, h->request_id, 0, FCGI_CANT_MPX_CONN);
        return FCGI_READER_MORE;
    }
    unsigned role = (unsigned)c[0] << 8 | c[1];
    if (role != FCGI_ROLE_RESPONDER) {
        fcgi_append_end_request(reply, h->request_id, 0, FCGI_UNKNOWN_ROLE);
        return FCGI_READER_MORE;
    }
    r->request_id = h->request_id;
    r->keep_conn = (c[2] & FCGI_FLAG_KEEP_CONN) != 0;
    r->body_too_large = 0;
    buf_reset(&r->params);
    buf_reset(&r->body);
    r->state = FCGI_READER_PARAMS;
    return FCGI_READER_MORE;
}

/* Handles one complete record (content c, h->content_len bytes). */
static enum fcgi_reader_event fcgi_reader_record(struct fcgi_reader *r,
                                                 const struct fcgi_header *h,
                                                 const unsigned char *c,
                                                 struct buf *reply)
{
    if (h->request_id == 0) {
        if (h->type == FCGI_GET_VALUES)
            fcgi_reader_get_values(c, h->content_len, reply);
        else
            fcgi_append_unknown_type(reply, h->type);
        return FCGI_READER_MORE;
    }
    if (h->type == FCGI_BEGIN_REQUEST)
        return fcgi_reader_begin(r, h, c, reply);
    if (r->state == FCGI_READER_IDLE || h->request_id != r->request_id)
        return FCGI_READER_MORE; /* stale records of an ended request */

    switch (h->type) {
    case FCGI_ABORT_REQUEST:
        return FCGI_READER_ABORT;
    case FCGI_PARAMS:
        if (r->state != FCGI_READER_PARAMS)
            return fcgi_reader_fail(r, "PARAMS after the params ended");
        if (h->content_len > 0) {
            if (buf_pending(&r->params) + h->content_len > FCGI_READER_PARAMS_MAX)
                return fcgi_reader_fail(r, "PARAMS larger than 64 KiB");
            buf_append(&r->params, c, h->content_len);
            return FCGI_READER_MORE;
        }
        if (fcgi_reader_decode_params(r) != 0)
            return fcgi_reader_fail(r, "malformed PARAMS");
        r->state = FCGI_READER_STDIN;
        return FCGI_READER_MORE;
    case FCGI_STDIN:
        if (r->state != FCGI_READER_STDIN)
            return fcgi_reader_fail(r, "STDIN before the params ended");
        if (h->content_len == 0) {
            r->state = FCGI_READER_ACTIVE;
            return FCGI_READER_READY;
        }
        /* Once past the limit, drop the rest: the kept body stays a
         * prefix of what was sent. */
        if (r->body_too_large ||
            buf_pending(&r->body) + h->content_len > r->body_max)
            r->body_too_large = 1;
        else
            buf_append(&r->body, c, h->content_len);
        return FCGI_READER_MORE;
    case FCGI_DATA:
        return FCGI_READER_MORE; /* only the Filter role uses DATA */
    default:
        fcgi_append_unknown_type(reply, h->type);
        return FCGI_READER_MORE;
    }
}

enum fcgi_reader_event fcgi_reader_next(struct fcgi_reader *r,
                                        struct buf *reply)
{
    for (;;) {
        size_t avail = buf_pending(&r->in);
        if (avail < FCGI_HEADER_LEN)
            return FCGI_READER_MORE;
        const unsigned char *p = (const unsigned char *)buf_head(&r->in);
        struct fcgi_header h;
        if (fcgi_header_decode(p, &h) != 0)
            return fcgi_reader_fail(r, "record version is not 1");
        size_t total = FCGI_HEADER_LEN + h.content_len + h.padding_len;
        if (avail < total)
            return FCGI_READER_MORE;
        enum fcgi_reader_event ev =
            fcgi_reader_record(r, &h, p + FCGI_HEADER_LEN, reply);
        buf_consume(&r->in, total);
        if (ev != FCGI_READER_MORE)
            return ev;
    }
}

const char *fcgi_reader_param(const struct fcgi_reader *r, const char *name)
{
    const char *p = buf_head(&r->env);
    const char *end = p + buf_pending(&r->env);
    while (p < end) {
        const char *value = p + strlen(p) + 1;
        if (strcmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

void fcgi_reader_release(struct fcgi_reader *r)
{
    buf_free(&r->params);
    buf_free(&r->env);
    buf_free(&r->body);
    if (buf_pending(&r->in) == 0)
        buf_free(&r->in);
}

void fcgi_reader_finish(struct fcgi_reader *r)
{
    r->state = FCGI_READER_IDLE;
    r->request_id = 0;
    r->body_too_large = 0;
    buf_free(&r->params);
    buf_free(&r->env);
    buf_free(&r->body);
}
