/* fcgi_conn: FastCGI over non-blocking sockets, on the loop. Accepts web
 * server connections on a listening socket, collects each request with
 * fcgi_reader, and sends the response as STDOUT records from a per-connection
 * output buffer that never blocks the loop. The application sees requests
 * and closes through callbacks; it never touches sockets. */
#ifndef SSELIGHT_FCGI_CONN_H
#define SSELIGHT_FCGI_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "loop.h"

struct fcgi_conn;
struct fcgi_listener;

struct fcgi_app {
    /* A request is complete: answer it now or later with fcgi_conn_write /
     * fcgi_conn_end. Params and body are readable during this call only:
     * they are released when it returns, so held streams stay small. */
    void (*request)(struct fcgi_conn *conn, void *app_data);
    /* The connection is going away (peer closed, write error, output cap,
     * protocol error, shutdown). why is a short text for logs. After this
     * returns conn is freed: drop every pointer to it. */
    void (*closed)(struct fcgi_conn *conn, const char *why);
    void *app_data;
};

struct fcgi_limits {
    size_t body_max;  /* STDIN bytes kept per request */
    size_t out_max;   /* queued output past which a connection is closed */
    unsigned write_timeout_ms; /* output pending this long with no byte
                                  taken by the peer: closed (0: never) */
};

struct fcgi_listener_stats {
    size_t open;           /* connections right now */
    unsigned long long accepted;
    unsigned long long closed_cap;   /* output cap reached */
    unsigned long long closed_slow;  /* write timeout */
};

/* Starts accepting on listen_fd (made non-blocking here; not closed by the
 * listener unless fcgi_listener_stop). Returns NULL with errno on failure. */
struct fcgi_listener *fcgi_listener_start(struct loop *loop, int listen_fd,
                                          const struct fcgi_app *app,
                                          const struct fcgi_limits *limits);

/* Stops accepting and closes the listening socket. Open connections stay. */
void fcgi_listener_stop(struct fcgi_listener *l);

/* For shutdown: ends every active response as it stands (final STDOUT
 * record and END_REQUEST, so clients see a clean end and reconnect) and
 * closes connections that have no request yet. Writes go on in the loop. */
void fcgi_listener_end_all(struct fcgi_listener *l);

/* Open connections; and freeing the listener once there are none. */
size_t fcgi_listener_open_conns(const struct fcgi_listener *l);
struct fcgi_listener_stats fcgi_listener_stats(const struct fcgi_listener *l);
void fcgi_listener_free(struct fcgi_listener *l);

/* The value of a param (REQUEST_METHOD, REQUEST_URI, HTTP_LAST_EVENT_ID ...)
 * of the current request, or NULL. */
const char *fcgi_conn_param(const struct fcgi_conn *conn, const char *name);

/* The request body, and whether it went past body_max (the rest dropped). */
const char *fcgi_conn_body(const struct fcgi_conn *conn, size_t *len,
                           int *too_large);

/* Application data attached to the connection's current request. */
void fcgi_conn_set_data(struct fcgi_conn *conn, void *data);
void *fcgi_conn_data(const struct fcgi_conn *conn);

/* Queues len bytes of response (head and body, CGI style) and writes what
 * the socket takes now. Returns 0, or -1 if the connection is closing
 * (write error, output cap reached, peer gone): the app stops sending and
 * gets its closed callback soon after, from the loop, not from here. */
int fcgi_conn_write(struct fcgi_conn *conn, const void *data, size_t len);

/* Ends the response: empty STDOUT and END_REQUEST(app_status 0). The
 * connection closes once they are written (lighttpd never keeps a FastCGI
 * connection). Returns like fcgi_conn_write. */
int fcgi_conn_end(struct fcgi_conn *conn);

/* Writes a complete response (head and body) and ends it: fcgi_conn_write
 * then fcgi_conn_end. Returns like them. */
int fcgi_conn_reply(struct fcgi_conn *conn, const struct buf *response);

/* Closes the connection at once, without ending the response; the web
 * server then cuts the client's response. The closed callback runs later. */
void fcgi_conn_abort(struct fcgi_conn *conn, const char *why);

#endif
