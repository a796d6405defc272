/* stream_mercure: the Mercure hub of the stream responder, at
 * /.well-known/mercure (below the URL prefix). GET subscribes to the
 * updates that ?topic= selectors select, resuming after Last-Event-ID (or
 * ?lastEventID=, or "earliest"); POST publishes one update from a form.
 * Authorization is a JWT (jwt.h) in "Authorization: Bearer", the
 * ?authorization= parameter or, to subscribe, the mercureAuthorization
 * cookie. The updates live in the broker like any event (mercure.h), and
 * reach subscribers through stream_events' fan-out. docs/mercure.md tells
 * users what is supported. */
#ifndef SSELIGHT_STREAM_MERCURE_H
#define SSELIGHT_STREAM_MERCURE_H

#include <stddef.h>

#include "http.h"
#include "stream_conn.h"
#include "stream_events.h"

#define MERCURE_PATH "/.well-known/mercure"

struct stream_mercure_config {
    /* The publishers' JWT key: for HS256 the secret (32 bytes at least),
     * for RS256 a PEM public key, or the path of a file holding one (a
     * value starting with '/'). NULL or "": the hub is off (404). */
    const char *publisher_key;
    const char *publisher_alg;  /* "HS256" (NULL) or "RS256" */
    const char *subscriber_key; /* NULL or "": the publishers' key */
    const char *subscriber_alg; /* NULL: publisher_alg when the key is
                                 * the publishers', else HS256 */
};

struct stream_mercure;

/* Loads the keys; the hub subscribes and publishes through ev. Returns
 * NULL with a reason in err (a key that does not load, an unknown alg). */
struct stream_mercure *stream_mercure_new(struct stream_events *ev,
                                          const struct stream_mercure_config *c,
                                          char *err, size_t errlen);
void stream_mercure_free(struct stream_mercure *m);

/* 1 if path (below the prefix) is the hub's. */
int stream_mercure_match(const char *path);

/* Answers one request to the hub. query may be NULL. */
void stream_mercure_handle(struct stream_mercure *m, struct stream_conn *conn,
                           enum http_method method, const char *query);

#endif
