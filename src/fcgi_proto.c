/* fcgi_proto: FastCGI record coding. See fcgi_proto.h. */
#include "fcgi_proto.h"

int fcgi_header_decode(const unsigned char *p, struct fcgi_header *h)
{
    h->version = p[0];
    h->type = p[1];
    h->request_id = (unsigned)p[2] << 8 | p[3];
    h->content_len = (unsigned)p[4] << 8 | p[5];
    h->padding_len = p[6];
    return h->version == FCGI_VERSION_1 ? 0 : -1;
}

/* A length is one byte below 128, else four bytes with the top bit set. */
static int fcgi_pair_len(const unsigned char **p, const unsigned char *end,
                         size_t *len)
{
    if (*p >= end)
        return -1;
    if (!(**p & 0x80)) {
        *len = *(*p)++;
        return 0;
    }
    if (end - *p < 4)
        return -1;
    const unsigned char *q = *p;
    *len = (size_t)(q[0] & 0x7f) << 24 | (size_t)q[1] << 16 |
           (size_t)q[2] << 8 | q[3];
    *p += 4;
    return 0;
}

int fcgi_pair_next(const unsigned char **p, const unsigned char *end,
                   const unsigned char **name, size_t *name_len,
                   const unsigned char **value, size_t *value_len)
{
    if (*p == end)
        return 0;
    const unsigned char *q = *p;
    if (fcgi_pair_len(&q, end, name_len) != 0 ||
        fcgi_pair_len(&q, end, value_len) != 0)
        return -1;
    if ((size_t)(end - q) < *name_len ||
        (size_t)(end - q) - *name_len < *value_len)
        return -1;
    *name = q;
    *value = q + *name_len;
    *p = q + *name_len + *value_len;
    return 1;
}

static void fcgi_append_header(struct buf *out, unsigned type,
                               unsigned request_id, size_t content_len,
                               unsigned padding_len)
{
    unsigned char h[FCGI_HEADER_LEN] = {
        FCGI_VERSION_1, (unsigned char)type,
        (unsigned char)(request_id >> 8), (unsigned char)request_id,
        (unsigned char)(content_len >> 8), (unsigned char)content_len,
        (unsigned char)padding_len, 0
    };
    buf_append(out, h, sizeof h);
}

static void fcgi_append_record(struct buf *out, unsigned type,
                               unsigned request_id, const void *data,
                               size_t len)
{
    static const unsigned char zeros[8];
    unsigned padding = (unsigned)((8 - len % 8) % 8);
    fcgi_append_header(out, type, request_id, len, padding);
    buf_append(out, data, len);
    buf_append(out, zeros, padding);
}

void fcgi_append_stream(struct buf *out, enum fcgi_type type,
                        unsigned request_id, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = len < FCGI_MAX_CONTENT ? len : FCGI_MAX_CONTENT;
        fcgi_append_record(out, type, request_id, p, n);
        p += n;
        len -= n;
    }
}

void fcgi_append_stream_end(struct buf *out, enum fcgi_type type,
                            unsigned request_id)
{
    fcgi_append_header(out, type, request_id, 0, 0);
}

void fcgi_append_end_request(struct buf *out, unsigned request_id,
                             uint32_t app_status,
                             enum fcgi_protocol_status status)
{
    unsigned char body[8] = {
        (unsigned char)(app_status >> 24), (unsigned char)(app_status >> 16),
        (unsigned char)(app_status >> 8), (unsigned char)app_status,
        (unsigned char)status, 0, 0, 0
    };
    fcgi_append_record(out, FCGI_END_REQUEST, request_id, body, sizeof body);
}

void fcgi_append_unknown_type(struct buf *out, unsigned type)
{
    unsigned char body[8] = { (unsigned char)type, 0, 0, 0, 0, 0, 0, 0 };
    fcgi_append_record(out, FCGI_UNKNOWN_TYPE, 0, body, sizeof body);
}
