/* redis_url: SSELIGHT_BROKER parsing. See redis_url.h. */
#include "redis_url.h"

#include <stdio.h>
#include <string.h>

#include "query.h"

/* Parses decimal digits s[0..n) in [lo, hi]. */
static int redis_url_number(const char *s, size_t n, int lo, int hi, int *out)
{
    long v = 0;
    if (n == 0 || n > 6)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* "[USER]:PASSWORD@" at the start of *p (up to end); advances *p past it. */
static int redis_url_userinfo(const char **p, const char *end,
                              struct redis_url *u, const char **why)
{
    const char *at = memchr(*p, '@', (size_t)(end - *p));
    if (!at)
        return 0;
    const char *colon = memchr(*p, ':', (size_t)(at - *p));
    if (!colon) {
        *why = "credentials must be written USER:PASSWORD@ or :PASSWORD@";
        return -1;
    }
    /* Percent-escapes as in a URL; '+' stays '+'. */
    if (query_decode(*p, (size_t)(colon - *p), 0, u->user,
                     sizeof u->user) < 0 ||
        query_decode(colon + 1, (size_t)(at - colon - 1), 0, u->password,
                     sizeof u->password) < 0) {
        *why = "bad user or password (percent-encoding, or over 255 bytes)";
        return -1;
    }
    if (u->password[0] == '\0') {
        *why = "empty password";
        return -1;
    }
    *p = at + 1;
    return 0;
}

static int redis_url_tcp(const char *p, struct redis_url *u, const char **why)
{
    const char *end = p + strlen(p);
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *auth_end = slash ? slash : end;
    if (redis_url_userinfo(&p, auth_end, u, why) != 0)
        return -1;
    const char *host = p, *host_end, *port = NULL;
    if (*p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (!host_end) {
            *why = "IPv6 address without its closing ']'";
            return -1;
        }
        p = host_end + 1;
    } else {
        host_end = memchr(p, ':', (size_t)(auth_end - p));
        if (!host_end)
            host_end = auth_end;
        p = host_end;
    }
    if (p < auth_end) {
        if (*p != ':') {
            *why = "unexpected text after the host";
            return -1;
        }
        port = p + 1;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0) {
        *why = "no host (expected redis://HOST[:PORT][/DB])";
        return -1;
    }
    if (hlen > REDIS_URL_HOST_MAX) {
        *why = "host name too long";
        return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':')) {
            *why = "bad character in the host";
            return -1;
        }
    }
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    if (port && redis_url_number(port, (size_t)(auth_end - port), 1, 65535,
                                 &u->port) != 0) {
        *why = "bad port (expected 1 to 65535)";
        return -1;
    }
    if (slash && slash[1] != '\0' &&
        redis_url_number(slash + 1, strlen(slash + 1), 0, REDIS_URL_DB_MAX,
                         &u->db) != 0) {
        *why = "bad database number after '/' (expected 0 to 15)";
        return -1;
    }
    return 0;
}

static int redis_url_unix(const char *p, struct redis_url *u, const char **why)
{
    const char *end = p + strlen(p);
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *path_end = q ? q : end;
    const char *slash = memchr(p, '/', (size_t)(path_end - p));
    if (!slash) {
        *why = "no socket path (expected unix:///PATH)";
        return -1;
    }
    if (redis_url_userinfo(&p, slash, u, why) != 0)
        return -1;
    if (p != slash) {
        *why = "the socket path must be absolute (unix:///PATH)";
        return -1;
    }
    size_t plen = (size_t)(path_end - p);
    if (plen < 2) {
        *why = "no socket path (expected unix:///PATH)";
        return -1;
    }
    if (plen > REDIS_URL_PATH_MAX) {
        *why = "socket path too long for a unix socket";
        return -1;
    }
    memcpy(u->path, p, plen);
    u->path[plen] = '\0';
    if (q && (strncmp(q, "?db=", 4) != 0 ||
              redis_url_number(q + 4, strlen(q + 4), 0, REDIS_URL_DB_MAX,
                               &u->db) != 0)) {
        *why = "bad query (expected ?db=N with N from 0 to 15)";
        return -1;
    }
    return 0;
}

int redis_url_parse(const char *text, struct redis_url *u, const char **why)
{
    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (!text || !*text) {
        *why = "empty";
        return -1;
    }
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f) {
            *why = "spaces or control characters in the address";
            return -1;
        }
    if (strncmp(text, "redis://", 8) == 0)
        return redis_url_tcp(text + 8, u, why);
    if (strncmp(text, "unix://", 7) == 0)
        return redis_url_unix(text + 7, u, why);
    *why = "unknown scheme (expected redis://HOST[:PORT][/DB] or "
           "unix:///PATH[?db=DB])";
    return -1;
}

void redis_url_describe(const struct redis_url *u, char *out, size_t outsz)
{
    if (u->path[0])
        snprintf(out, outsz, "unix:%s/%d", u->path, u->db);
    else if (strchr(u->host, ':'))
        snprintf(out, outsz, "[%s]:%d/%d", u->host, u->port, u->db);
    else
        snprintf(out, outsz, "%s:%d/%d", u->host, u->port, u->db);
}
