/* stream_reply: error answers of the stream responder. See stream_reply.h. */
#include "stream_reply.h"

#include <stdio.h>

#include "buf.h"

void stream_reply_error(struct stream_conn *conn, enum http_method method,
                        int status, const char *allow, const char *text)
{
    struct buf out = BUF_INIT;
    if (status == 405)
        http_append_not_allowed(&out, method, allow ? allow : "GET, HEAD",
                                text);
    else
        http_append_error(&out, method, status, text);
    const char *m = stream_conn_param(conn, "REQUEST_METHOD");
    const char *uri = stream_conn_param(conn, "REQUEST_URI");
    /* At most 200 bytes of the URI: a 414's URI is long by definition. */
    fprintf(stderr, "stream: %d for %s %.200s: %s\n", status, m ? m : "-",
            uri ? uri : "-", text);
    (void)stream_conn_reply(conn, &out);
    buf_free(&out);
}
