/* query: query strings and names. See query.h. */
#include "query.h"

#include <string.h>

static int query_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long query_decode(const char *s, size_t n, int plus_is_space, char *out,
                  size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = query_hex(s[i + 1]), lo = query_hex(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0')
            return -1; /* decoded or raw: out would end early */
        if (o + 1 >= outsz)
            return -1;
        out[o++] = c;
    }
    if (outsz == 0)
        return -1;
    out[o] = '\0';
    return (long)o;
}

int query_next(const char *query, size_t *pos, const char **key,
               size_t *key_len, const char **value, size_t *value_len)
{
    if (!query)
        return 0;
    size_t len = strlen(query);
    while (*pos < len) {
        const char *piece = query + *pos;
        size_t n = strcspn(piece, "&");
        *pos += n + (*pos + n < len ? 1 : 0);
        if (n == 0)
            continue;
        const char *eq = memchr(piece, '=', n);
        *key = piece;
        *key_len = eq ? (size_t)(eq - piece) : n;
        *value = eq ? eq + 1 : piece + n;
        *value_len = eq ? n - *key_len - 1 : 0;
        return 1;
    }
    return 0;
}

int query_get(const char *query, const char *key, char *out, size_t outsz)
{
    size_t pos = 0, kn, vn;
    const char *k, *v;
    char name[64];
    while (query_next(query, &pos, &k, &kn, &v, &vn)) {
        if (query_decode(k, kn, 1, name, sizeof name) < 0)
            continue; /* not a key we know */
        if (strcmp(name, key) != 0)
            continue;
        return query_decode(v, vn, 1, out, outsz) < 0 ? -1 : 1;
    }
    return 0;
}

static int query_name_valid(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')
            continue;
        if (extra && strchr(extra, c))
            continue;
        return 0;
    }
    return 1;
}

int query_channel_valid(const char *s)
{
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    return query_name_valid(s, QUERY_CHANNEL_MAX, NULL);
}

int query_event_valid(const char *s)
{
    return query_name_valid(s, QUERY_EVENT_MAX, ":");
}

int query_parse_id(const char *s, long long *id)
{
    const long long max = 9007199254740992LL; /* 2^53 */
    if (!s || s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
        return -1;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > max)
            return -1;
    }
    *id = v;
    return 0;
}
