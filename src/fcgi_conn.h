/* fcgi_conn: FastCGI over non-blocking sockets, on the loop. Accepts web
 * server connections on a listening socket, collects each request with
 * fcgi_reader, and sends the response as STDOUT records from a per-connection
 * output buffer that never blocks the loop. The application sees each
 * request as a stream_conn (see stream_conn.h) and closes through the
 * handler's callbacks; it never touches sockets. */
#ifndef SSELIGHT_FCGI_CONN_H
#define SSELIGHT_FCGI_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "loop.h"
#include "metrics.h"
#include "stream_conn.h"

struct fcgi_conn;
struct fcgi_listener;

struct fcgi_limits {
    size_t body_max;  /* STDIN bytes kept per request */
    size_t out_max;   /* queued output past which a connection is closed */
    unsigned write_timeout_ms; /* output pending this long with no byte
                                  taken by the peer: closed (0: never) */
};

struct fcgi_listener_stats {
    size_t open;           /* connections right now */
    unsigned long long accepted;
    unsigned long long sends;        /* send() calls that took bytes */
    /* Closed before their response ended, by enum metrics_closed (a
     * shutdown counts the connections fcgi_listener_end_all ended). */
    unsigned long long closed[METRICS_CLOSED_N];
};

/* Starts accepting on listen_fd (made non-blocking here; not closed by the
 * listener unless fcgi_listener_stop). Returns NULL with errno on failure. */
struct fcgi_listener *fcgi_listener_start(struct loop *loop, int listen_fd,
                                          const struct stream_handler *app,
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

#endif
