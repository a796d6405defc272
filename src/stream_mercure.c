/* stream_mercure: the Mercure hub's HTTP side. See stream_mercure.h. */
#include "stream_mercure.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "jwt.h"
#include "mem.h"
#include "mercure.h"
#include "query.h"
#include "stream_reply.h"

#define MERCURE_COOKIE "mercureAuthorization"
#define MERCURE_KEY_FILE_MAX (64 * 1024)

struct stream_mercure {
    struct stream_events *ev;
    struct jwt_key *publisher;     /* NULL: the hub is off */
    struct jwt_key *subscriber;
};

/* Where a request's JWT came from. */
enum mercure_token_from { TOKEN_NONE, TOKEN_HEADER, TOKEN_QUERY,
                          TOKEN_COOKIE };

static void mercure_reply(struct stream_conn *conn, enum http_method method,
                          int status, const char *text)
{
    stream_reply_error(conn, method, status, "GET, HEAD, POST", text);
}

/* Reads the PEM file path into a new string. NULL with err set. */
static char *mercure_read_key_file(const char *path, size_t *len, char *err,
                                   size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = mem_calloc(1, MERCURE_KEY_FILE_MAX + 1);
    *len = fread(text, 1, MERCURE_KEY_FILE_MAX + 1, f);
    int bad = ferror(f) || *len > MERCURE_KEY_FILE_MAX;
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        snprintf(err, errlen, "cannot read %s (or it is over 64 KiB)", path);
        free(text);
        return NULL;
    }
    return text;
}

/* Loads one key: name names its setting in errors. */
static struct jwt_key *mercure_load_key(const char *name, const char *key,
                                        const char *alg_name, char *err,
                                        size_t errlen)
{
    enum jwt_alg alg = JWT_HS256;
    if (alg_name && *alg_name && jwt_alg_parse(alg_name, &alg) != 0) {
        snprintf(err, errlen, "%s_ALG must be HS256 or RS256, not '%.20s'",
                 name, alg_name);
        return NULL;
    }
    char why[200];
    size_t len = strlen(key);
    char *file = NULL;
    if (alg == JWT_RS256 && key[0] == '/') {
        file = mercure_read_key_file(key, &len, why, sizeof why);
        if (!file) {
            snprintf(err, errlen, "%s: %s", name, why);
            return NULL;
        }
    }
    struct jwt_key *k = jwt_key_new(alg, file ? file : key, len, why,
                                    sizeof why);
    free(file);
    if (!k)
        snprintf(err, errlen, "%s: %s", name, why);
    return k;
}

struct stream_mercure *stream_mercure_new(struct stream_events *ev,
                                          const struct stream_mercure_config *c,
                                          char *err, size_t errlen)
{
    struct stream_mercure *m = mem_calloc(1, sizeof *m);
    m->ev = ev;
    if (!c->publisher_key || !*c->publisher_key)
        return m;
    m->publisher = mercure_load_key("SSELIGHT_MERCURE_PUBLISHER_JWT_KEY",
                                    c->publisher_key, c->publisher_alg, err,
                                    errlen);
    if (!m->publisher) {
        free(m);
        return NULL;
    }
    if (c->subscriber_key && *c->subscriber_key)
        m->subscriber = mercure_load_key(
            "SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY", c->subscriber_key,
            c->subscriber_alg, err, errlen);
    else
        m->subscriber = mercure_load_key(
            "SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY", c->publisher_key,
            c->subscriber_alg && *c->subscriber_alg ? c->subscriber_alg
                                                    : c->publisher_alg,
            err, errlen);
    if (!m->subscriber) {
        jwt_key_free(m->publisher);
        free(m);
        return NULL;
    }
    return m;
}

void stream_mercure_free(struct stream_mercure *m)
{
    if (!m)
        return;
    jwt_key_free(m->publisher);
    jwt_key_free(m->subscriber);
    free(m);
}

int stream_mercure_match(const char *path)
{
    return strcmp(path, MERCURE_PATH) == 0;
}

/* The value of cookie name in a Cookie header, copied into out. 1 found,
 * 0 absent, -1 too long. */
static int mercure_cookie(const char *header, const char *name, char *out,
                          size_t outsz)
{
    size_t nl = strlen(name);
    for (const char *p = header; p && *p;) {
        p += strspn(p, " \t;");
        size_t n = strcspn(p, ";");
        if (n > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vn = n - nl - 1;
            while (vn && (p[nl + 1 + vn - 1] == ' ' ||
                          p[nl + 1 + vn - 1] == '\t'))
                vn--;
            if (vn >= outsz)
                return -1;
            memcpy(out, p + nl + 1, vn);
            out[vn] = '\0';
            return 1;
        }
        p += n;
    }
    return 0;
}

/* Finds the request's JWT: the Authorization header, then the
 * authorization query parameter, then the cookie. Returns where it came
 * from (TOKEN_NONE: none), or -1 with a reason for a 401 in *why. */
static int mercure_find_token(struct stream_conn *conn, const char *query,
                              char token[JWT_TOKEN_MAX + 1], const char **why)
{
    const char *h = stream_conn_param(conn, "HTTP_AUTHORIZATION");
    if (h && *h) {
        if (!(h = auth_bearer_token(h))) {
            *why = "unauthorized: the Authorization header must be "
                   "\"Bearer <JWT>\"";
            return -1;
        }
        h += strspn(h, " ");
        if (strlen(h) > JWT_TOKEN_MAX) {
            *why = "unauthorized: the JWT is too long (at most 8192 bytes)";
            return -1;
        }
        strcpy(token, h);
        return TOKEN_HEADER;
    }
    int q = query_get(query, "authorization", token, JWT_TOKEN_MAX + 1);
    if (q < 0) {
        *why = "unauthorized: bad authorization parameter (malformed or "
               "over 8192 bytes)";
        return -1;
    }
    if (q > 0)
        return TOKEN_QUERY;
    int c = mercure_cookie(stream_conn_param(conn, "HTTP_COOKIE"),
                           MERCURE_COOKIE, token, JWT_TOKEN_MAX + 1);
    if (c < 0) {
        *why = "unauthorized: the mercureAuthorization cookie is too long "
               "(at most 8192 bytes)";
        return -1;
    }
    return c > 0 ? TOKEN_COOKIE : TOKEN_NONE;
}

/* Reads the mercure.<claim> selectors of payload into sel. Returns 1 when
 * the claim is there, 0 when not, -1 with a reason when it is not an
 * array of at most MERCURE_TOPICS_MAX usable selectors. */
static int mercure_claim(json_t *payload, const char *claim,
                         struct mercure_selectors *sel, char *why,
                         size_t whylen)
{
    json_t *m = json_object_get(payload, "mercure");
    json_t *a = json_is_object(m) ? json_object_get(m, claim) : NULL;
    if (!a)
        return 0;
    if (!json_is_array(a)) {
        snprintf(why, whylen, "unauthorized: the JWT's mercure.%s claim is "
                 "not an array", claim);
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        char err[200];
        if (!json_is_string(v) ||
            mercure_selectors_add(sel, json_string_value(v), err,
                                  sizeof err) != 0) {
            snprintf(why, whylen, "unauthorized: the JWT's mercure.%s "
                     "claim: %s", claim, json_is_string(v) ? err
                     : "a selector is not a string");
            mercure_selectors_free(sel);
            return -1;
        }
    }
    return 1;
}

/* Verifies token with k and reads claim into sel. Returns 0 or the HTTP
 * status of the refusal, with the reason in why. */
static int mercure_authorize(const struct jwt_key *k, const char *token,
                             const char *claim, struct mercure_selectors *sel,
                             int *has_claim, char *why, size_t whylen)
{
    json_t *payload = NULL;
    enum jwt_result r = jwt_verify(k, token, time(NULL), &payload);
    if (r != JWT_OK) {
        snprintf(why, whylen, "unauthorized: JWT %s", jwt_result_text(r));
        return 401;
    }
    int got = mercure_claim(payload, claim, sel, why, whylen);
    json_decref(payload);
    if (got < 0)
        return 401;
    *has_claim = got;
    return 0;
}

static void mercure_subscribe(struct stream_mercure *hub,
                              struct stream_conn *conn,
                              enum http_method method, const char *query)
{
    struct mercure_sub *m = mem_calloc(1, sizeof *m);
    char err[240];
    char *token = mem_calloc(1, JWT_TOKEN_MAX + 1);
    const char *why = NULL;
    int status = 400;
    size_t pos = 0, kn, vn;
    const char *k, *v;
    while (!why && query_next(query, &pos, &k, &kn, &v, &vn)) {
        char sel[MERCURE_TOPIC_MAX + 1];
        if (kn != 5 || memcmp(k, "topic", 5) != 0)
            continue;
        if (query_decode(v, vn, 1, sel, sizeof sel) < 0)
            why = "bad topic selector: malformed, or over 1024 bytes";
        else if (mercure_selectors_add(&m->topics, sel, err, sizeof err) != 0)
            why = err;
    }
    if (!why && m->topics.n == 0)
        why = "no topic: subscribe with ?topic=<selector> (one or more)";
    char last[MERCURE_ID_MAX + 1];
    const char *hdr = stream_conn_param(conn, "HTTP_LAST_EVENT_ID");
    int have = 0;
    if (!why && hdr && *hdr) {
        have = strlen(hdr) < sizeof last ? 1 : -1;
        if (have > 0)
            strcpy(last, hdr);
    } else if (!why) {
        have = query_get(query, "lastEventID", last, sizeof last);
    }
    if (!why && have != 0) {
        if (have > 0 && strcmp(last, MERCURE_EARLIEST) == 0)
            m->earliest = 1;
        else if (have > 0 && mercure_id_valid(last))
            m->resume = mem_strdup(last);
        else
            why = "bad Last-Event-ID: 1-255 bytes of UTF-8 without control "
                  "characters, or \"earliest\"";
    }
    int from = why ? TOKEN_NONE : mercure_find_token(conn, query, token, &why);
    if (from < 0) {
        status = 401;
    } else if (from != TOKEN_NONE) {
        int has;
        status = mercure_authorize(hub->subscriber, token, "subscribe",
                                   &m->allowed, &has, err, sizeof err);
        if (status != 0)
            why = err;
    }
    free(token);
    if (why) {
        mercure_reply(conn, method, status, why);
        mercure_sub_free(m);
        free(m);
        return;
    }
    stream_events_subscribe_mercure(hub->ev, conn, method, m);
}

static void mercure_publish(struct stream_mercure *hub,
                            struct stream_conn *conn, enum http_method method,
                            const char *query)
{
    char *token = mem_calloc(1, JWT_TOKEN_MAX + 1);
    char err[240];
    const char *why = NULL;
    int from = mercure_find_token(conn, query, token, &why);
    if (from == TOKEN_NONE || from == TOKEN_COOKIE) {
        why = "unauthorized: publishing needs a JWT in \"Authorization: "
              "Bearer\" or ?authorization= (not the cookie)";
        from = -1;
    }
    struct mercure_selectors allowed = { 0 };
    int has = 0, status = 401;
    if (from > 0) {
        status = mercure_authorize(hub->publisher, token, "publish", &allowed,
                                   &has, err, sizeof err);
        if (status != 0)
            why = err;
    }
    free(token);
    if (why) {
        mercure_reply(conn, method, status, why);
        return;
    }
    if (!has) {
        mercure_reply(conn, method, 403, "forbidden: the JWT has no "
                      "mercure.publish claim");
        return;
    }
    const char *type = stream_conn_param(conn, "CONTENT_TYPE");
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded",
                             33) != 0) {
        mercure_selectors_free(&allowed);
        mercure_reply(conn, method, 415, "publish a form: Content-Type: "
                      "application/x-www-form-urlencoded");
        return;
    }
    size_t len;
    int too_large;
    const char *body = stream_conn_body(conn, &len, &too_large);
    struct mercure_update u;
    if (too_large) {
        mercure_selectors_free(&allowed);
        mercure_reply(conn, method, 413, "body too large: at most 65536 "
                      "bytes");
        return;
    }
    if (mercure_form_parse(body, len, &u, &why) != 0) {
        mercure_selectors_free(&allowed);
        mercure_reply(conn, method, 400, why);
        return;
    }
    int ok = mercure_selectors_match_all(&allowed, &u);
    mercure_selectors_free(&allowed);
    if (!ok) {
        mercure_update_free(&u);
        mercure_reply(conn, method, 403, "forbidden: the JWT's "
                      "mercure.publish does not select every topic of the "
                      "update");
        return;
    }
    char id[MERCURE_ID_MAX + 1];
    if (!u.id) {
        if (mercure_new_id(id) != 0) {
            mercure_update_free(&u);
            fprintf(stderr, "stream: getrandom: %s\n", strerror(errno));
            mercure_reply(conn, method, 503, "no id could be made; try "
                          "again");
            return;
        }
        u.id = id;
    }
    stream_events_publish_mercure(hub->ev, conn, method, &u);
    mercure_update_free(&u);
}

void stream_mercure_handle(struct stream_mercure *m, struct stream_conn *conn,
                           enum http_method method, const char *query)
{
    if (!m->publisher)
        mercure_reply(conn, method, 404, "not found: the Mercure hub is off "
                      "(set SSELIGHT_MERCURE_PUBLISHER_JWT_KEY)");
    else if (method == HTTP_GET || method == HTTP_HEAD)
        mercure_subscribe(m, conn, method, query);
    else if (method == HTTP_POST)
        mercure_publish(m, conn, method, query);
    else
        mercure_reply(conn, method, 405, "method not allowed: GET or HEAD "
                      "subscribes, POST publishes");
}
