/* stream_app: what the stream responder answers. Routes each FastCGI request
 * (GET/HEAD /sse-stream: the seed's Example 1 stream) and drives each open
 * stream from loop timers. Knows HTTP and SSE, not sockets. */
#ifndef SSELIGHT_STREAM_APP_H
#define SSELIGHT_STREAM_APP_H

#include <stddef.h>
#include <stdint.h>

#include "fcgi_conn.h"
#include "loop.h"

struct stream_app_stats {
    uint64_t streams_opened;  /* event streams started */
    uint64_t streams_done;    /* ended by the server after the last event */
    uint64_t streams_gone;    /* closed before the end: client or web server gone */
    size_t streams_open;      /* open right now */
};

struct stream_app;

/* Creates the app; fill an fcgi_app with stream_app_callbacks and pass it to
 * fcgi_listener_start. Aborts if memory runs out. */
struct stream_app *stream_app_new(struct loop *loop);
void stream_app_free(struct stream_app *app);

/* The fcgi_app (callbacks + app_data) that routes requests into app. */
struct fcgi_app stream_app_callbacks(struct stream_app *app);

/* Counters since start. */
struct stream_app_stats stream_app_stats(const struct stream_app *app);

#endif
