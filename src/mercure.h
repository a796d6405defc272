/* mercure: the data of the Mercure protocol, without I/O. An update as the
 * hub keeps it in the broker, the publish form that makes one, topic
 * selectors (exact strings, "*" or URI Templates), and whether a
 * subscription may see an update. The HTTP side is stream_mercure.c.
 *
 * Every Mercure update is one event of the broker channel MERCURE_CHANNEL,
 * a name the channels API cannot address. Its data is the update encoded
 * as header lines and the payload (see mercure_update_encode), so the
 * publisher's id is kept in SQLite or Redis with the update itself and a
 * resume by that id is a scan of what the channel keeps. */
#ifndef SSELIGHT_MERCURE_H
#define SSELIGHT_MERCURE_H

#include <stddef.h>

#include "buf.h"

#define MERCURE_CHANNEL "mercure:updates"
#define MERCURE_TOPICS_MAX 16      /* topics of an update; selectors of a
                                    * subscription or of a claim */
#define MERCURE_TOPIC_MAX 1024     /* bytes of a topic or a selector */
#define MERCURE_ID_MAX 255         /* bytes of an update id */
#define MERCURE_TYPE_MAX 64        /* bytes of an update type */
#define MERCURE_RETRY_MAX 86400000 /* ms, the largest retry */
#define MERCURE_EARLIEST "earliest" /* Last-Event-ID: replay what is kept */

/* An update. The strings of a decoded or parsed update are NUL-terminated
 * and live in text; data points into the stored event or the form. */
struct mercure_update {
    char *text;                    /* owned: the strings below */
    const char *id;
    const char *type;              /* NULL: none ("message" for clients) */
    long retry;                    /* -1: none */
    int is_private;
    const char *topics[MERCURE_TOPICS_MAX]; /* the first is canonical */
    size_t ntopics;
    const char *data;
    size_t data_len;
};

void mercure_update_free(struct mercure_update *u);

/* Parses a publish body (application/x-www-form-urlencoded): topic (1 to
 * MERCURE_TOPICS_MAX), data, private (any value), id, type, retry; other
 * fields are ignored. Without id, u->id stays NULL: the caller makes one
 * (mercure_new_id). Returns 0, or -1 with a one-line reason for a 400 in
 * *why (u then holds nothing to free). The data is percent-decoded into
 * u->text too. */
int mercure_form_parse(const char *body, size_t len, struct mercure_update *u,
                       const char **why);

/* 1 if s can be an update id: 1 to MERCURE_ID_MAX bytes of UTF-8 without
 * control characters, and not MERCURE_EARLIEST. */
int mercure_id_valid(const char *s);

/* Writes a new id, "urn:uuid:" and a random (version 4) UUID, into out.
 * Returns 0, or -1 when the system has no randomness to give. */
int mercure_new_id(char out[MERCURE_ID_MAX + 1]);

/* Appends u (with its id set) as the broker event data. */
void mercure_update_encode(const struct mercure_update *u, struct buf *out);

/* Decodes what mercure_update_encode wrote. Returns 0, or -1 when data is
 * not an encoded update (u then holds nothing to free). */
int mercure_update_decode(const char *data, size_t len,
                          struct mercure_update *u);

/* Appends u as one SSE event: id, event (the type), retry, data. */
void mercure_update_append_sse(const struct mercure_update *u,
                               struct buf *out);

/* Topic selectors: "*" matches every topic, a string with "{" is a URI
 * Template (uritpl.h), anything else matches itself only. Compiled
 * templates are shared between every selector set of the process (a
 * cache; loop thread only). */
struct mercure_selectors {
    size_t n;
    int any;                       /* one of them is "*" */
    char *text[MERCURE_TOPICS_MAX];
    struct mercure_tpl *tpl[MERCURE_TOPICS_MAX]; /* NULL: exact */
};

/* Adds selector s (NUL-terminated). Returns 0, or -1 with a reason for a
 * 400 in err (too many, too long, not UTF-8, a malformed template). */
int mercure_selectors_add(struct mercure_selectors *sel, const char *s,
                          char *err, size_t errlen);
/* 1 if one of sel matches topic. */
int mercure_selectors_match(const struct mercure_selectors *sel,
                            const char *topic);
/* 1 if one of sel matches one of u's topics. */
int mercure_selectors_match_any(const struct mercure_selectors *sel,
                                const struct mercure_update *u);
/* 1 if every topic of u is matched by one of sel. */
int mercure_selectors_match_all(const struct mercure_selectors *sel,
                                const struct mercure_update *u);
void mercure_selectors_free(struct mercure_selectors *sel);

/* What a subscription sees: public updates with a topic its topics
 * select; private ones only when also one of their topics is selected by
 * the subscriber's mercure.subscribe claim (allowed). */
struct mercure_sub {
    struct mercure_selectors topics;
    struct mercure_selectors allowed;
    char *resume;                  /* the Last-Event-ID to skip to, or NULL */
    int earliest;                  /* replay everything kept */
};

int mercure_sub_wants(const struct mercure_sub *s,
                      const struct mercure_update *u);
void mercure_sub_free(struct mercure_sub *s);

#endif
