/* mercure: updates, the publish form, topic selectors. See mercure.h. */
#include "mercure.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mem.h"
#include "query.h"
#include "sse.h"
#include "uritpl.h"
#include "utf8.h"

#define MERCURE_MAGIC "mercure 1\n"
#define MERCURE_TPL_BUCKETS 1024

/* 1 if s (n bytes) is UTF-8 without control characters. */
static int mercure_text_valid(const char *s, size_t n)
{
    return utf8_count(s, n) >= 0 && !utf8_has_control(s, n);
}

int mercure_id_valid(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= MERCURE_ID_MAX && mercure_text_valid(s, n) &&
           strcmp(s, MERCURE_EARLIEST) != 0;
}

void mercure_update_free(struct mercure_update *u)
{
    free(u->text);
    memset(u, 0, sizeof *u);
}

static int mercure_field_is(const char *k, size_t kn, const char *name)
{
    return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

/* Checks one decoded form value for its field; NULL or the reason. */
static const char *mercure_form_check(const char *field, const char *v,
                                      size_t n, struct mercure_update *u)
{
    if (strcmp(field, "topic") == 0) {
        if (u->ntopics == MERCURE_TOPICS_MAX)
            return "too many topics: at most 16 in one update";
        if (n == 0 || n > MERCURE_TOPIC_MAX || !mercure_text_valid(v, n))
            return "bad topic: 1-1024 bytes of UTF-8 without control "
                   "characters";
        u->topics[u->ntopics++] = v;
    } else if (strcmp(field, "id") == 0) {
        if (!mercure_id_valid(v))
            return "bad id: 1-255 bytes of UTF-8 without control "
                   "characters, not \"earliest\"";
        u->id = v;
    } else if (strcmp(field, "type") == 0) {
        if (n == 0 || n > MERCURE_TYPE_MAX || !mercure_text_valid(v, n) ||
            strchr(v, ' ') == v)
            return "bad type: 1-64 bytes of UTF-8 without control "
                   "characters";
        u->type = v;
    } else if (strcmp(field, "retry") == 0) {
        long long r;
        if (query_parse_id(v, &r) != 0 || r > MERCURE_RETRY_MAX)
            return "bad retry: milliseconds from 0 to 86400000";
        u->retry = (long)r;
    } else if (strcmp(field, "data") == 0) {
        if (utf8_count(v, n) < 0)
            return "bad data: UTF-8 text without NUL bytes";
        u->data = v;
        u->data_len = n;
    }
    return NULL;
}

int mercure_form_parse(const char *body, size_t len, struct mercure_update *u,
                       const char **why)
{
    static const char *const fields[] = { "topic", "id", "type", "retry",
                                          "data", "private" };
    memset(u, 0, sizeof *u);
    u->retry = -1;
    u->data = "";
    u->text = mem_calloc(1, 2 * len + 1);
    size_t used = 0, pos = 0;
    int seen[6] = { 0 };
    *why = NULL;
    while (pos < len && !*why) {
        const char *piece = body + pos;
        const char *amp = memchr(piece, '&', len - pos);
        size_t n = amp ? (size_t)(amp - piece) : len - pos;
        pos += n + (amp ? 1 : 0);
        if (n == 0)
            continue;
        const char *eq = memchr(piece, '=', n);
        size_t kn = eq ? (size_t)(eq - piece) : n;
        const char *v = eq ? eq + 1 : piece + n;
        size_t vn = eq ? n - kn - 1 : 0;
        size_t f = 0;
        while (f < 6 && !mercure_field_is(piece, kn, fields[f]))
            f++;
        if (f == 6)
            continue; /* not ours: ignored, as the reference hub does */
        if (f != 0 && seen[f]++) {
            *why = "a field other than topic appears twice";
            break;
        }
        if (f == 5) {
            u->is_private = 1; /* any value, even empty */
            continue;
        }
        char *out = u->text + used;
        long dn = query_decode(v, vn, 1, out, 2 * len + 1 - used);
        if (dn < 0) {
            *why = "bad form encoding (a malformed %-escape or a NUL byte)";
            break;
        }
        used += (size_t)dn + 1;
        *why = mercure_form_check(fields[f], out, (size_t)dn, u);
    }
    if (!*why && u->ntopics == 0)
        *why = "no topic: an update needs at least one topic";
    if (*why) {
        mercure_update_free(u);
        return -1;
    }
    return 0;
}

int mercure_new_id(char out[MERCURE_ID_MAX + 1])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, MERCURE_ID_MAX + 1, "urn:uuid:%02x%02x%02x%02x-%02x%02x-"
             "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
    return 0;
}

/* The stored form: MERCURE_MAGIC, then "id=", "type=", "retry=",
 * "private" and "topic=" lines (values were checked: no LF), a blank line,
 * and the data as it is. */
void mercure_update_encode(const struct mercure_update *u, struct buf *out)
{
    buf_append_str(out, MERCURE_MAGIC);
    buf_appendf(out, "id=%s\n", u->id);
    if (u->type)
        buf_appendf(out, "type=%s\n", u->type);
    if (u->retry >= 0)
        buf_appendf(out, "retry=%ld\n", u->retry);
    if (u->is_private)
        buf_append_str(out, "private\n");
    for (size_t i = 0; i < u->ntopics; i++)
        buf_appendf(out, "topic=%s\n", u->topics[i]);
    buf_append_byte(out, '\n');
    buf_append(out, u->data, u->data_len);
}

int mercure_update_decode(const char *data, size_t len,
                          struct mercure_update *u)
{
    size_t magic = sizeof MERCURE_MAGIC - 1;
    memset(u, 0, sizeof *u);
    u->retry = -1;
    if (len < magic || memcmp(data, MERCURE_MAGIC, magic) != 0)
        return -1;
    const char *end = NULL;
    for (size_t i = magic; i < len; i++)
        if (data[i] == '\n' && data[i - 1] == '\n') {
            end = data + i;
            break;
        }
    if (!end)
        return -1;
    size_t hn = (size_t)(end - data) - magic;
    u->text = mem_calloc(1, hn + 1);
    memcpy(u->text, data + magic, hn);
    for (char *line = u->text; *line;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        if (strncmp(line, "id=", 3) == 0)
            u->id = line + 3;
        else if (strncmp(line, "type=", 5) == 0)
            u->type = line + 5;
        else if (strncmp(line, "retry=", 6) == 0)
            u->retry = strtol(line + 6, NULL, 10);
        else if (strcmp(line, "private") == 0)
            u->is_private = 1;
        else if (strncmp(line, "topic=", 6) == 0 &&
                 u->ntopics < MERCURE_TOPICS_MAX)
            u->topics[u->ntopics++] = line + 6;
        line = nl + 1;
    }
    if (!u->id || u->ntopics == 0) {
        mercure_update_free(u);
        return -1;
    }
    u->data = end + 1;
    u->data_len = len - (size_t)(end + 1 - data);
    return 0;
}

void mercure_update_append_sse(const struct mercure_update *u,
                               struct buf *out)
{
    if (u->retry >= 0)
        buf_appendf(out, "retry: %ld\n", u->retry);
    /* id and type were checked before they were stored. */
    if (sse_append_event(out, u->type, u->id, u->data, u->data_len) != 0)
        fprintf(stderr, "stream: Mercure update %s has a bad id or type\n",
                u->id);
}

/* The cache of compiled templates: one per distinct text in the process,
 * counted, so 10,000 subscribers with the same template share one. */
struct mercure_tpl {
    char *text;
    struct uritpl *t;
    size_t refs;
    struct mercure_tpl *next;
};

static struct mercure_tpl *mercure_tpl_cache[MERCURE_TPL_BUCKETS];

static size_t mercure_tpl_bucket(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % MERCURE_TPL_BUCKETS;
}

static struct mercure_tpl *mercure_tpl_get(const char *s, char *err,
                                           size_t errlen)
{
    size_t b = mercure_tpl_bucket(s);
    for (struct mercure_tpl *t = mercure_tpl_cache[b]; t; t = t->next)
        if (strcmp(t->text, s) == 0) {
            t->refs++;
            return t;
        }
    char why[160];
    struct uritpl *u = uritpl_compile(s, why, sizeof why);
    if (!u) {
        snprintf(err, errlen, "bad topic selector (URI Template): %s", why);
        return NULL;
    }
    struct mercure_tpl *t = mem_calloc(1, sizeof *t);
    t->text = mem_strdup(s);
    t->t = u;
    t->refs = 1;
    t->next = mercure_tpl_cache[b];
    mercure_tpl_cache[b] = t;
    return t;
}

static void mercure_tpl_put(struct mercure_tpl *t)
{
    if (!t || --t->refs > 0)
        return;
    struct mercure_tpl **p = &mercure_tpl_cache[mercure_tpl_bucket(t->text)];
    while (*p != t)
        p = &(*p)->next;
    *p = t->next;
    uritpl_free(t->t);
    free(t->text);
    free(t);
}

int mercure_selectors_add(struct mercure_selectors *sel, const char *s,
                          char *err, size_t errlen)
{
    size_t n = strlen(s);
    if (sel->n == MERCURE_TOPICS_MAX) {
        snprintf(err, errlen, "too many topic selectors: at most %d",
                 MERCURE_TOPICS_MAX);
        return -1;
    }
    if (n == 0 || n > MERCURE_TOPIC_MAX || !mercure_text_valid(s, n)) {
        snprintf(err, errlen, "bad topic selector: 1-%d bytes of UTF-8 "
                 "without control characters", MERCURE_TOPIC_MAX);
        return -1;
    }
    struct mercure_tpl *t = NULL;
    if (uritpl_is_template(s) && !(t = mercure_tpl_get(s, err, errlen)))
        return -1;
    if (strcmp(s, "*") == 0)
        sel->any = 1;
    sel->text[sel->n] = mem_strdup(s);
    sel->tpl[sel->n] = t;
    sel->n++;
    return 0;
}

int mercure_selectors_match(const struct mercure_selectors *sel,
                            const char *topic)
{
    if (sel->any)
        return 1;
    for (size_t i = 0; i < sel->n; i++)
        if (strcmp(sel->text[i], topic) == 0 ||
            (sel->tpl[i] && uritpl_match(sel->tpl[i]->t, topic)))
            return 1;
    return 0;
}

int mercure_selectors_match_any(const struct mercure_selectors *sel,
                                const struct mercure_update *u)
{
    for (size_t i = 0; i < u->ntopics; i++)
        if (mercure_selectors_match(sel, u->topics[i]))
            return 1;
    return 0;
}

int mercure_selectors_match_all(const struct mercure_selectors *sel,
                                const struct mercure_update *u)
{
    for (size_t i = 0; i < u->ntopics; i++)
        if (!mercure_selectors_match(sel, u->topics[i]))
            return 0;
    return u->ntopics > 0;
}

void mercure_selectors_free(struct mercure_selectors *sel)
{
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->text[i]);
        mercure_tpl_put(sel->tpl[i]);
    }
    memset(sel, 0, sizeof *sel);
}

int mercure_sub_wants(const struct mercure_sub *s,
                      const struct mercure_update *u)
{
    if (!mercure_selectors_match_any(&s->topics, u))
        return 0;
    return !u->is_private || mercure_selectors_match_any(&s->allowed, u);
}

void mercure_sub_free(struct mercure_sub *s)
{
    mercure_selectors_free(&s->topics);
    mercure_selectors_free(&s->allowed);
    free(s->resume);
    s->resume = NULL;
}
