/* cgi_conn: the stream responder's transport when it runs as a CGI program,
 * one request per process: the request from the environment and stdin, the
 * response written to stdout through the loop. Writes never block the loop
 * (stdout is made non-blocking and output waits in a bounded buffer), so
 * heartbeats and live events keep their timing while the web server is
 * slow to read, and a web server that went away (EPIPE, or the reading end
 * of stdout closed) ends the process's only connection at once. */
#ifndef SSELIGHT_CGI_CONN_H
#define SSELIGHT_CGI_CONN_H

#include "fcgi_conn.h"
#include "loop.h"
#include "stream_conn.h"

struct cgi_conn;

/* Called once the connection is gone (after the handler's closed
 * callback): the process has nothing left to do. */
typedef void cgi_conn_done_fn(void *arg);

/* Reads the request (params from the environment, the body from in_fd,
 * blocking: it is this process's only request, and the web server sends it
 * before it reads the answer), then hands it to h->request. A body that
 * cannot be read (a malformed CONTENT_LENGTH, input cut short) is answered
 * with 400 here instead. out_fd gets the response; limits are applied as
 * by fcgi_conn (body_max, out_max, write_timeout_ms). done(arg) runs from
 * the loop once the response has been written out or the connection was
 * lost. Returns NULL with errno when out_fd cannot be used. */
struct cgi_conn *cgi_conn_start(struct loop *loop, int in_fd, int out_fd,
                                const struct stream_handler *h,
                                const struct fcgi_limits *limits,
                                cgi_conn_done_fn *done, void *arg);

/* For shutdown: ends the response as it stands, so the client sees a clean
 * end and reconnects; done runs once that is written. */
void cgi_conn_end_now(struct cgi_conn *c);

/* Frees c after done has run (or the loop has stopped). */
void cgi_conn_free(struct cgi_conn *c);

#endif
