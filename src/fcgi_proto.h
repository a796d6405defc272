/* fcgi_proto: FastCGI 1.0 records as bytes: header decoding, name-value pair
 * decoding, and record encoding into a buf. No I/O and no allocation beyond
 * the buf, so the stream responder can frame records on non-blocking
 * sockets itself (libfcgi's writers block or break there). */
#ifndef SSELIGHT_FCGI_PROTO_H
#define SSELIGHT_FCGI_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FCGI_HEADER_LEN 8
#define FCGI_VERSION_1 1
#define FCGI_MAX_CONTENT 65535

enum fcgi_type {
    FCGI_BEGIN_REQUEST = 1,
    FCGI_ABORT_REQUEST = 2,
    FCGI_END_REQUEST = 3,
    FCGI_PARAMS = 4,
    FCGI_STDIN = 5,
    FCGI_STDOUT = 6,
    FCGI_STDERR = 7,
    FCGI_DATA = 8,
    FCGI_GET_VALUES = 9,
    FCGI_GET_VALUES_RESULT = 10,
    FCGI_UNKNOWN_TYPE = 11
};

#define FCGI_ROLE_RESPONDER 1
#define FCGI_FLAG_KEEP_CONN 1

enum fcgi_protocol_status {
    FCGI_REQUEST_COMPLETE = 0,
    FCGI_CANT_MPX_CONN = 1,
    FCGI_OVERLOADED = 2,
    FCGI_UNKNOWN_ROLE = 3
};

struct fcgi_header {
    unsigned version;
    unsigned type;
    unsigned request_id;
    unsigned content_len;
    unsigned padding_len;
};

/* Decodes the 8 header bytes at p. Returns 0, or -1 if the version is not 1. */
int fcgi_header_decode(const unsigned char *p, struct fcgi_header *h);

/* Reads the next name-value pair from *p (up to end), as in PARAMS and
 * GET_VALUES bodies. On success sets name/value pointers into the input,
 * advances *p and returns 1; returns 0 at end, -1 on a malformed or
 * truncated pair (a pair may not span records: callers join PARAMS first). */
int fcgi_pair_next(const unsigned char **p, const unsigned char *end,
                   const unsigned char **name, size_t *name_len,
                   const unsigned char **value, size_t *value_len);

/* Appends data as records of the given type (STDOUT, STDERR), split at
 * FCGI_MAX_CONTENT and padded to a multiple of 8. len 0 appends nothing:
 * use fcgi_append_stream_end for the empty record that ends a stream. */
void fcgi_append_stream(struct buf *out, enum fcgi_type type,
                        unsigned request_id, const void *data, size_t len);

/* Appends the empty record that ends a STDOUT or STDERR stream. */
void fcgi_append_stream_end(struct buf *out, enum fcgi_type type,
                            unsigned request_id);

/* Appends an END_REQUEST record. */
void fcgi_append_end_request(struct buf *out, unsigned request_id,
                             uint32_t app_status,
                             enum fcgi_protocol_status status);

/* Appends an UNKNOWN_TYPE record naming the type we do not understand. */
void fcgi_append_unknown_type(struct buf *out, unsigned type);

#endif
