/* stream_reply: error answers of the stream responder. See stream_reply.h. */
#include "stream_reply.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "sse.h"

/* Answers given by stream_reply_error*, by metrics_refused_status. */
static uint64_t stream_reply_refused[METRICS_REFUSED_N];

/* "METHOD URI" of conn's request into out (the URI cut at 200 bytes: a
 * 414's URI is long by definition). */
static void stream_reply_line(const struct stream_conn *conn, char *out,
                              size_t outsz)
{
    const char *m = stream_conn_param(conn, "REQUEST_METHOD");
    const char *uri = stream_conn_param(conn, "REQUEST_URI");
    snprintf(out, outsz, "%.15s %.200s", m ? m : "-", uri ? uri : "-");
}

void stream_reply_error_later(struct stream_conn *conn,
                              enum http_method method, int status,
                              const char *allow, const char *text,
                              const char *request_line)
{
    struct buf out = BUF_INIT;
    int i = metrics_refused_index(status);
    if (i >= 0)
        stream_reply_refused[i]++;
    if (status == 405)
        http_append_not_allowed(&out, method, allow ? allow : "GET, HEAD",
                                text);
    else
        http_append_error(&out, method, status, text);
    fprintf(stderr, "stream: %d for %s: %s\n", status,
            request_line ? request_line : "- -", text);
    (void)stream_conn_reply(conn, &out);
    buf_free(&out);
}

void stream_reply_error(struct stream_conn *conn, enum http_method method,
                        int status, const char *allow, const char *text)
{
    char line[STREAM_REPLY_LINE_MAX];
    stream_reply_line(conn, line, sizeof line);
    stream_reply_error_later(conn, method, status, allow, text, line);
}

char *stream_reply_request_line(const struct stream_conn *conn)
{
    char line[STREAM_REPLY_LINE_MAX];
    stream_reply_line(conn, line, sizeof line);
    size_t n = strlen(line) + 1;
    char *copy = mem_calloc(1, n);
    memcpy(copy, line, n);
    return copy;
}

void stream_reply_refused_counts(uint64_t counts[METRICS_REFUSED_N])
{
    memcpy(counts, stream_reply_refused, sizeof stream_reply_refused);
}

int stream_reply_sse_head(struct stream_conn *conn, enum http_method method,
                          unsigned retry_ms)
{
    struct buf head = BUF_INIT;
    http_append_sse_head(&head);
    if (retry_ms > 0)
        sse_append_retry(&head, retry_ms);
    int rc = stream_conn_write(conn, buf_head(&head), buf_pending(&head));
    buf_free(&head);
    if (rc != 0)
        return -1;
    if (method == HTTP_HEAD) {
        (void)stream_conn_end(conn);
        return -1;
    }
    return 0;
}
