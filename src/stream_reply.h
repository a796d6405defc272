/* stream_reply: the stream responder's error answers, in one place: a
 * plain-text reply with the right status (and Allow for 405), and the log
 * line that goes with it. */
#ifndef SSELIGHT_STREAM_REPLY_H
#define SSELIGHT_STREAM_REPLY_H

#include "stream_conn.h"
#include "http.h"

/* Answers conn with status and the one-line reason text, ends the response,
 * and logs "stream: STATUS for METHOD URI: TEXT". allow is the Allow list
 * for a 405 (NULL: "GET, HEAD"). */
void stream_reply_error(struct stream_conn *conn, enum http_method method,
                        int status, const char *allow, const char *text);

#endif
