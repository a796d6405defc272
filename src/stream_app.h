/* stream_app: what the stream responder answers. Routes each FastCGI request
 * (/sse-stream and /streams/...: the demo streams, driven by loop timers;
 * /events: the channels API in stream_events). Knows HTTP and SSE, not
 * sockets. */
#ifndef SSELIGHT_STREAM_APP_H
#define SSELIGHT_STREAM_APP_H

#include <stddef.h>
#include <stdint.h>

#include "fcgi_conn.h"
#include "loop.h"
#include "stream_events.h"
#include "stream_mercure.h"
#include "stream_monitor.h"

struct stream_app_stats {
    uint64_t streams_opened;  /* event streams started */
    uint64_t streams_done;    /* ended by the server after the last event */
    uint64_t streams_gone;    /* closed before the end: client or web server gone */
    size_t streams_open;      /* open right now */
};

struct stream_app;

/* Creates the app (and opens the broker for the channels API); pass
 * stream_app_callbacks to a transport (fcgi_listener_start, cgi_conn_start).
 * Returns NULL with err set. */
struct stream_app *stream_app_new(struct loop *loop,
                                  const struct stream_events_config *events,
                                  char *err, size_t errlen);
void stream_app_free(struct stream_app *app);

/* Mounts app under a URL prefix (see http_prefix_valid): requests are
 * routed by their path below it, and paths outside it get 404. Returns 0,
 * or -1 when prefix is not valid. */
int stream_app_set_prefix(struct stream_app *app, const char *prefix);

/* With no prefix set, derives one per request from SCRIPT_NAME when it
 * names program (see http_prefix_from_script): for web servers where no
 * setting reaches the program, like a hosting account's .htaccess. */
void stream_app_derive_prefix(struct stream_app *app, const char *program);

/* The handler (callbacks + app_data) that routes requests into app. */
struct stream_handler stream_app_callbacks(struct stream_app *app);

/* Starts the Mercure hub at /.well-known/mercure (stream_mercure.h).
 * Returns 0, or -1 with err set when a key does not load. */
int stream_app_start_mercure(struct stream_app *app,
                             const struct stream_mercure_config *c,
                             char *err, size_t errlen);

/* Starts the monitoring routes (/metrics, /streams/status, the instance
 * part of /stats) and this process's metrics slot. Without it /stats
 * reports this process only and answers anyone. */
void stream_app_start_monitor(struct stream_app *app,
                              const struct stream_monitor_config *c);

/* Writes this process's last numbers to its slot and gives the slot back:
 * before the listener goes away. Done again by stream_app_free. */
void stream_app_stop_monitor(struct stream_app *app);

/* Lets GET /stats report the listener's connection counters. */
void stream_app_set_listener(struct stream_app *app,
                             const struct fcgi_listener *listener);

/* Counters since start. */
struct stream_app_stats stream_app_stats(const struct stream_app *app);

#endif
