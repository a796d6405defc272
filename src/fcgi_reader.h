/* fcgi_reader: the application side of one FastCGI connection, as a state
 * machine fed with bytes: it collects a request's PARAMS and STDIN and says
 * when the request is complete or aborted. No I/O: the caller reads the
 * socket, feeds the bytes, and writes what the reader puts in `reply`.
 * One request at a time per connection (lighttpd never multiplexes); a
 * second BEGIN_REQUEST while one is active is refused with CANT_MPX_CONN. */
#ifndef SSELIGHT_FCGI_READER_H
#define SSELIGHT_FCGI_READER_H

#include <stddef.h>

#include "buf.h"

#define FCGI_READER_PARAMS_MAX (64 * 1024) /* joined PARAMS bytes */

enum fcgi_reader_event {
    FCGI_READER_MORE,   /* need more bytes */
    FCGI_READER_READY,  /* a request's params and stdin are complete */
    FCGI_READER_ABORT,  /* the web server aborted the active request */
    FCGI_READER_ERROR   /* protocol error: close the connection */
};

enum fcgi_reader_state {
    FCGI_READER_IDLE,    /* waiting for BEGIN_REQUEST */
    FCGI_READER_PARAMS,  /* collecting PARAMS */
    FCGI_READER_STDIN,   /* collecting STDIN */
    FCGI_READER_ACTIVE   /* request delivered; the caller is answering it */
};

struct fcgi_reader {
    struct buf in;          /* bytes fed but not yet parsed */
    struct buf params;      /* raw PARAMS stream of the current request */
    struct buf env;         /* decoded params: "name\0value\0" ... */
    struct buf body;        /* STDIN, at most body_max bytes */
    size_t body_max;
    enum fcgi_reader_state state;
    unsigned request_id;    /* of the current request, when not IDLE */
    int keep_conn;          /* web server asked to keep the connection */
    int body_too_large;     /* STDIN went past body_max (rest dropped) */
    const char *error;      /* after FCGI_READER_ERROR: what was wrong */
};

/* Prepares r; body_max bounds the STDIN kept per request. */
void fcgi_reader_init(struct fcgi_reader *r, size_t body_max);

/* Frees everything r holds. */
void fcgi_reader_free(struct fcgi_reader *r);

/* Adds n bytes read from the socket. Call fcgi_reader_next afterwards. */
void fcgi_reader_feed(struct fcgi_reader *r, const void *p, size_t n);

/* Parses buffered records until something happens; records the caller must
 * send back (GET_VALUES_RESULT, UNKNOWN_TYPE, refusals) are appended to
 * reply. Call again until it returns FCGI_READER_MORE. After READY the
 * request is ACTIVE until fcgi_reader_finish. */
enum fcgi_reader_event fcgi_reader_next(struct fcgi_reader *r,
                                        struct buf *reply);

/* The value of param name of the active request, or NULL. Valid until
 * fcgi_reader_finish. */
const char *fcgi_reader_param(const struct fcgi_reader *r, const char *name);

/* Drops the active request's params and body (the app has read what it
 * needs) and any spare input memory: a long-lived stream then keeps only a
 * few words here. fcgi_reader_param returns NULL afterwards. */
void fcgi_reader_release(struct fcgi_reader *r);

/* Ends the active request on the reader's side (the caller has sent, or is
 * sending, its END_REQUEST) and releases its params and body. */
void fcgi_reader_finish(struct fcgi_reader *r);

#endif
