/* stream_conn: dispatch to the transport. See stream_conn.h. */
#include "stream_conn.h"

const char *stream_conn_param(const struct stream_conn *conn,
                              const char *name)
{
    return conn->ops->param(conn, name);
}

const char *stream_conn_body(const struct stream_conn *conn, size_t *len,
                             int *too_large)
{
    return conn->ops->body(conn, len, too_large);
}

void stream_conn_set_data(struct stream_conn *conn, void *data)
{
    conn->data = data;
}

void *stream_conn_data(const struct stream_conn *conn)
{
    return conn->data;
}

int stream_conn_write(struct stream_conn *conn, const void *data, size_t len)
{
    return conn->ops->write(conn, data, len);
}

int stream_conn_end(struct stream_conn *conn)
{
    return conn->ops->end(conn);
}

int stream_conn_reply(struct stream_conn *conn, const struct buf *response)
{
    if (stream_conn_write(conn, buf_head(response), buf_pending(response)) != 0)
        return -1;
    return stream_conn_end(conn);
}

void stream_conn_abort(struct stream_conn *conn, const char *why)
{
    conn->ops->abort(conn, why);
}
