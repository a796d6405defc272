/* stream_reply: the stream responder's error answers, in one place: a
 * plain-text reply with the right status (and Allow for 405), and the log
 * line that goes with it. */
#ifndef SSELIGHT_STREAM_REPLY_H
#define SSELIGHT_STREAM_REPLY_H

#include "stream_conn.h"
#include "http.h"
#include "metrics.h"

#define STREAM_REPLY_LINE_MAX 220 /* "METHOD URI" in a log line */

/* Answers conn with status and the one-line reason text, ends the response,
 * and logs "stream: STATUS for METHOD URI: TEXT". allow is the Allow list
 * for a 405 (NULL: "GET, HEAD"). */
void stream_reply_error(struct stream_conn *conn, enum http_method method,
                        int status, const char *allow, const char *text);

/* The request line for the log of an answer given later than the request
 * callback, when the transport's params are gone: "METHOD URI", the URI
 * cut at 200 bytes. Free it with free(). */
char *stream_reply_request_line(const struct stream_conn *conn);

/* stream_reply_error for such an answer: logs request_line (from
 * stream_reply_request_line; NULL: "- -") instead of the params. */
void stream_reply_error_later(struct stream_conn *conn,
                              enum http_method method, int status,
                              const char *allow, const char *text,
                              const char *request_line);

/* Starts an event stream on conn: the SSE response head, and a "retry:"
 * line when retry_ms > 0. Returns 0 when events may follow; -1 when the
 * response is over (a HEAD request, answered and ended, or conn closed). */
int stream_reply_sse_head(struct stream_conn *conn, enum http_method method,
                          unsigned retry_ms);

/* The answers given so far by this process, counted by status in the
 * order of metrics_refused_status (statuses not listed there are not
 * counted). */
void stream_reply_refused_counts(uint64_t counts[METRICS_REFUSED_N]);

#endif
