/* stream_conn: one request the stream responder is answering, whatever
 * carries it: a FastCGI connection on the loop (fcgi_conn) or, run as a CGI
 * program, the process's own environment, stdin and stdout (cgi_conn). The
 * application (stream_app, stream_events, stream_reply) sees only this
 * interface, so every stream behaves the same under both. */
#ifndef SSELIGHT_STREAM_CONN_H
#define SSELIGHT_STREAM_CONN_H

#include <stddef.h>

#include "buf.h"

struct stream_conn;

/* What a transport implements. See the stream_conn_* functions below. */
struct stream_conn_ops {
    const char *(*param)(const struct stream_conn *conn, const char *name);
    const char *(*body)(const struct stream_conn *conn, size_t *len,
                        int *too_large);
    int (*write)(struct stream_conn *conn, const void *data, size_t len);
    int (*end)(struct stream_conn *conn);
    void (*abort)(struct stream_conn *conn, const char *why);
};

/* Embedded in each transport's own connection struct. */
struct stream_conn {
    const struct stream_conn_ops *ops;
    void *data;                 /* the application's, per request */
};

/* What the application gives a transport. */
struct stream_handler {
    /* A request is complete: answer it now or later with stream_conn_write
     * / stream_conn_end. Params and body are readable during this call
     * only. */
    void (*request)(struct stream_conn *conn, void *app_data);
    /* The connection is going away (client or web server gone, write
     * error, output cap, shutdown, or the response ended: why is NULL
     * then). After this returns conn is freed: drop every pointer to it. */
    void (*closed)(struct stream_conn *conn, const char *why);
    void *app_data;
};

/* The value of a request meta-variable (REQUEST_METHOD, REQUEST_URI,
 * HTTP_LAST_EVENT_ID ...), or NULL. */
const char *stream_conn_param(const struct stream_conn *conn,
                              const char *name);

/* The request body, and whether it went past the transport's bound (the
 * rest was dropped). */
const char *stream_conn_body(const struct stream_conn *conn, size_t *len,
                             int *too_large);

/* Application data attached to the request. */
void stream_conn_set_data(struct stream_conn *conn, void *data);
void *stream_conn_data(const struct stream_conn *conn);

/* Queues len bytes of response (CGI style: head, then body) and writes
 * what the peer takes now, never blocking. Returns 0, or -1 if the
 * connection is closing: the app stops sending and gets its closed
 * callback soon after, from the loop, not from here. */
int stream_conn_write(struct stream_conn *conn, const void *data, size_t len);

/* Ends the response once what is queued has been written. Returns like
 * stream_conn_write. */
int stream_conn_end(struct stream_conn *conn);

/* stream_conn_write of a whole response, then stream_conn_end. */
int stream_conn_reply(struct stream_conn *conn, const struct buf *response);

/* Closes at once, without ending the response: the client sees it cut.
 * The closed callback runs later. */
void stream_conn_abort(struct stream_conn *conn, const char *why);

#endif
