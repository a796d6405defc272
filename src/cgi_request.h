/* cgi_request: a request handed over the CGI way (RFC 3875): its
 * meta-variables (REQUEST_METHOD, REQUEST_URI, HTTP_* ...) in the
 * environment, its body on stdin, the response on stdout. This module
 * detects that mode and reads the body; it writes nothing. */
#ifndef SSELIGHT_CGI_REQUEST_H
#define SSELIGHT_CGI_REQUEST_H

#include <stddef.h>

#include "buf.h"

/* 1 when this process was started as a CGI program: fd 0 is not a
 * listening socket (what a FastCGI server hands its programs; a CGI
 * program's stdin may be a pipe, a file or, under Apache's mod_cgid, a
 * connected socket) and GATEWAY_INTERFACE starts with "CGI/". 0 otherwise. */
int cgi_request_is_cgi(void);

/* The meta-variable name of the request (getenv), or NULL when unset. */
const char *cgi_request_param(const char *name);

/* The file name of the running program ("stream.fcgi"), from
 * /proc/self/exe, to recognise it at the end of SCRIPT_NAME; "" when it
 * cannot be read. Valid for the life of the process. */
const char *cgi_request_program(void);

/* Reads a request body from fd (blocking). content_length is the
 * CONTENT_LENGTH value: digits, that many bytes are read; NULL or "" reads
 * until end of file (a body sent without a length). At most max bytes are
 * kept in body (appended); the rest is read and dropped, so the web server
 * is never left blocked writing it, and *too_large is set to 1 (else 0).
 * Returns 0, or -1 with errno: EINVAL for a CONTENT_LENGTH that is not
 * digits, EPROTO when the input ends before CONTENT_LENGTH bytes, or the
 * error of read(). */
int cgi_request_read_body(int fd, const char *content_length, size_t max,
                          struct buf *body, int *too_large);

/* Writes the n bytes at p to fd, blocking, all of them (EINTR retried).
 * Returns 0, or -1 with errno (EIO when write() took nothing). */
int cgi_request_write_all(int fd, const void *p, size_t n);

/* What a CGI request is answered when the program cannot start (a bad
 * setting): the reason goes to the log, never to the client. */
#define CGI_REQUEST_SETUP_ERROR \
    "sselight is not set up correctly: the reason is in the web server's " \
    "error log"

/* The log line's reason when a CGI program has no data directory: its
 * working directory is inside the document root, so there is no default. */
#define CGI_REQUEST_NO_DATA_DIR \
    "no data directory: set data_dir in sselight.conf (or SSELIGHT_DATA_DIR) " \
    "to a directory outside the document root"

#endif
