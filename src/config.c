/* config: sselight.conf. See config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "redis_url.h"
#include "subtoken.h"

enum config_kind {
    CONFIG_NUMBER,   /* digits within [min, max] */
    CONFIG_TEXT,     /* min to max bytes, no blanks or control characters */
    CONFIG_SECRET,   /* like TEXT, never echoed */
    CONFIG_DIR,      /* an absolute path of at most max bytes */
    CONFIG_SYNC,     /* normal | full */
    CONFIG_PREFIX,   /* http_prefix_valid */
    CONFIG_BROKER    /* redis_url_parse */
};

static const struct config_key {
    const char *key, *env;
    enum config_kind kind;
    unsigned long long min, max;
} config_keys[] = {
    { "data_dir", "SSELIGHT_DATA_DIR", CONFIG_DIR, 2, 80 },
    { "broker", "SSELIGHT_BROKER", CONFIG_BROKER, 0, 0 },
    { "history", "SSELIGHT_HISTORY", CONFIG_NUMBER, 1, 1000000 },
    { "sync", "SSELIGHT_SYNC", CONFIG_SYNC, 0, 0 },
    { "publish_token", "SSELIGHT_PUBLISH_TOKEN", CONFIG_SECRET, 16, 255 },
    { "subscribe_secret", "SSELIGHT_SUBSCRIBE_SECRET", CONFIG_SECRET,
      SUBTOKEN_SECRET_MIN, 255 },
    { "heartbeat_ms", "SSELIGHT_HEARTBEAT_MS", CONFIG_NUMBER, 100, 3600000 },
    { "stream_out_max", "SSELIGHT_STREAM_OUT_MAX", CONFIG_NUMBER, 4096,
      64 * 1024 * 1024 },
    { "write_timeout_ms", "SSELIGHT_WRITE_TIMEOUT_MS", CONFIG_NUMBER, 0,
      3600000 },
    { "max_subscribers", "SSELIGHT_MAX_SUBSCRIBERS", CONFIG_NUMBER, 0,
      10000000 },
    { "max_channel_subscribers", "SSELIGHT_MAX_CHANNEL_SUBSCRIBERS",
      CONFIG_NUMBER, 0, 10000000 },
    { "max_cgi_streams", "SSELIGHT_MAX_CGI_STREAMS", CONFIG_NUMBER, 0,
      100000 },
    { "store_queue", "SSELIGHT_STORE_QUEUE", CONFIG_NUMBER, 1, 1000000 },
    { "metrics_token", "SSELIGHT_METRICS_TOKEN", CONFIG_SECRET, 16, 255 },
    { "metrics_top_channels", "SSELIGHT_METRICS_TOP_CHANNELS", CONFIG_NUMBER,
      0, 100 },
    { "prefix", "SSELIGHT_PREFIX", CONFIG_PREFIX, 0, 0 },
    /* An HS256 secret (32 bytes at least, checked when the key loads) or
     * the path of a PEM file: a PEM itself has blanks and lines. */
    { "mercure_publisher_jwt_key", "SSELIGHT_MERCURE_PUBLISHER_JWT_KEY",
      CONFIG_SECRET, 1, 1024 },
    { "mercure_publisher_jwt_alg", "SSELIGHT_MERCURE_PUBLISHER_JWT_ALG",
      CONFIG_TEXT, 5, 5 },
    { "mercure_subscriber_jwt_key", "SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY",
      CONFIG_SECRET, 1, 1024 },
    { "mercure_subscriber_jwt_alg", "SSELIGHT_MERCURE_SUBSCRIBER_JWT_ALG",
      CONFIG_TEXT, 5, 5 },
};

#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

static const struct config_key *config_find(const char *key)
{
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(config_keys[i].key, key) == 0)
            return &config_keys[i];
    return NULL;
}

/* The setting whose variable is env, or NULL. */
static const struct config_key *config_find_env(const char *env)
{
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(config_keys[i].env, env) == 0)
            return &config_keys[i];
    return NULL;
}

const char *config_env_name(const char *key)
{
    const struct config_key *k = config_find(key);
    return k ? k->env : NULL;
}

/* NULL when value suits k; otherwise why not, as "KEY must be ..." text
 * written into why (the value quoted unless it is a secret). */
static const char *config_check(const struct config_key *k, const char *value,
                                char *why, size_t whylen)
{
    size_t n = strlen(value);
    switch (k->kind) {
    case CONFIG_NUMBER: {
        unsigned long long v = 0;
        int ok = n > 0 && n <= 12 && strspn(value, "0123456789") == n;
        if (ok)
            v = strtoull(value, NULL, 10);
        if (ok && v >= k->min && v <= k->max)
            return NULL;
        snprintf(why, whylen, "%s must be a number from %llu to %llu, not "
                 "'%.40s'", k->key, k->min, k->max, value);
        return why;
    }
    case CONFIG_TEXT:
    case CONFIG_SECRET: {
        int clean = 1;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)value[i] <= ' ' || value[i] == 0x7f)
                clean = 0;
        if (clean && n >= k->min && n <= k->max)
            return NULL;
        snprintf(why, whylen, "%s must be %llu to %llu characters without "
                 "blanks (this one has %zu%s)", k->key, k->min, k->max, n,
                 clean ? "" : ", with blanks or control characters");
        return why;
    }
    case CONFIG_DIR:
        if (value[0] == '/' && n >= k->min && n <= k->max &&
            !strchr(value, '\n'))
            return NULL;
        snprintf(why, whylen, "%s must be an absolute path of at most %llu "
                 "bytes (the working directory of a CGI program is not "
                 "fixed), not '%.100s'", k->key, k->max, value);
        return why;
    case CONFIG_SYNC:
        if (strcmp(value, "normal") == 0 || strcmp(value, "full") == 0)
            return NULL;
        snprintf(why, whylen, "%s must be normal or full, not '%.40s'",
                 k->key, value);
        return why;
    case CONFIG_PREFIX:
        if (http_prefix_valid(value))
            return NULL;
        snprintf(why, whylen, "%s must be empty or like /apps/sse (no '/' at "
                 "the end), not '%.100s'", k->key, value);
        return why;
    case CONFIG_BROKER: {
        struct redis_url u;
        const char *bad;
        if (n == 0 || redis_url_parse(value, &u, &bad) == 0)
            return NULL;
        /* The reason never holds the password; the value might. */
        snprintf(why, whylen, "%s: %s", k->key, bad);
        return why;
    }
    }
    return "unknown kind";
}

int config_env_valid(const char *env, char *err, size_t errlen)
{
    const struct config_key *k = config_find_env(env);
    if (!k) {
        snprintf(err, errlen, "%s is not a setting", env);
        return -1;
    }
    const char *v = getenv(env);
    char why[300];
    if (!v || !*v || !config_check(k, v, why, sizeof why))
        return 0;
    snprintf(err, errlen, "%s: %s", env, why);
    return -1;
}

int config_env_number(const char *env, unsigned long long def,
                      unsigned long long *out, char *err, size_t errlen)
{
    const struct config_key *k = config_find_env(env);
    if (!k || k->kind != CONFIG_NUMBER) {
        snprintf(err, errlen, "%s is not a number setting", env);
        return -1;
    }
    const char *v = getenv(env);
    *out = def;
    if (!v || !*v)
        return 0;
    char why[200];
    if (config_check(k, v, why, sizeof why)) {
        snprintf(err, errlen, "%s must be a number from %llu to %llu, not "
                 "'%.40s'", env, k->min, k->max, v);
        return -1;
    }
    *out = strtoull(v, NULL, 10);
    return 0;
}

/* Blanks around a setting's parts: space and tab. */
static int config_blank(char c)
{
    return c == ' ' || c == '\t';
}

int config_parse(const char *text, size_t len, const char *file,
                 config_set_fn *set, void *arg, char *err, size_t errlen)
{
    unsigned seen[CONFIG_NKEYS] = { 0 }; /* line of each key, 0: not yet */
    char line[CONFIG_LINE_MAX + 1];
    char why[256];
    unsigned no = 0;
    size_t pos = 0;
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s: contains a NUL byte: not a text file", file);
        return -1;
    }
    while (pos < len) {
        no++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (n > CONFIG_LINE_MAX) {
            snprintf(err, errlen, "%s:%u: line longer than %d bytes", file, no,
                     CONFIG_LINE_MAX);
            return -1;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        char *p = line;
        while (config_blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected 'key = value'", file, no);
            return -1;
        }
        char *kend = eq;
        while (kend > p && config_blank(kend[-1]))
            kend--;
        *kend = '\0';
        char *value = eq + 1;
        while (config_blank(*value))
            value++;
        char *vend = value + strlen(value);
        while (vend > value && config_blank(vend[-1]))
            vend--;
        *vend = '\0';
        if (*p == '\0') {
            snprintf(err, errlen, "%s:%u: a setting without a name", file, no);
            return -1;
        }
        const struct config_key *k = config_find(p);
        if (!k) {
            snprintf(err, errlen, "%s:%u: unknown setting '%.64s'", file, no,
                     p);
            return -1;
        }
        size_t ki = (size_t)(k - config_keys);
        if (seen[ki]) {
            snprintf(err, errlen, "%s:%u: %s is set twice (first on line %u)",
                     file, no, k->key, seen[ki]);
            return -1;
        }
        seen[ki] = no;
        const char *bad = config_check(k, value, why, sizeof why);
        if (bad) {
            snprintf(err, errlen, "%s:%u: %s", file, no, bad);
            return -1;
        }
        if (set(k->env, value, no, arg) != 0)
            return -1;
    }
    return 0;
}

static int config_check_only(const char *env, const char *value,
                             unsigned line, void *arg)
{
    (void)env, (void)value, (void)line, (void)arg;
    return 0;
}

static int config_export(const char *env, const char *value, unsigned line,
                         void *arg)
{
    (void)line;
    const char *have = getenv(env);
    if (have && *have)
        return 0; /* the environment wins */
    if (setenv(env, value, 1) != 0) {
        snprintf(arg, 256, "setenv(%s): %s", env, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads the whole file into buf (size CONFIG_FILE_MAX + 1). Returns its
 * length, -1 with errno (ENOENT for a missing file, EISDIR), -2 when it is
 * too large, -3 when it is not a regular file (a FIFO, a device). */
static long config_read(const char *path, char *buf)
{
    /* O_NONBLOCK: a FIFO by that name must not hang the program in open();
     * it is refused below like anything that is not a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) != 0)
        e = errno;
    else if (S_ISDIR(st.st_mode))
        e = EISDIR;
    else if (!S_ISREG(st.st_mode)) {
        (void)close(fd);
        return -3;
    }
    if (e) {
        (void)close(fd);
        errno = e;
        return -1;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            (void)close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > CONFIG_FILE_MAX) {
            (void)close(fd);
            return -2;
        }
    }
    if (close(fd) != 0 && errno != EINTR)
        return -1;
    return (long)n;
}

int config_load(const char *program_dir, char *used, size_t usedlen,
                char *err, size_t errlen)
{
    char path[4096];
    const char *explicit_path = getenv(CONFIG_ENV);
    int must_exist = explicit_path && *explicit_path;
    used[0] = '\0';
    if (must_exist) {
        if (snprintf(path, sizeof path, "%s", explicit_path) >=
            (int)sizeof path) {
            snprintf(err, errlen, "%s is too long", CONFIG_ENV);
            return -1;
        }
    } else {
        char dir[4096];
        if (program_dir) {
            snprintf(dir, sizeof dir, "%s", program_dir);
        } else {
            ssize_t r = readlink("/proc/self/exe", dir, sizeof dir - 1);
            if (r <= 0)
                return 0; /* nowhere to look: no file */
            dir[r] = '\0';
            char *slash = strrchr(dir, '/');
            if (!slash)
                return 0;
            *slash = '\0';
        }
        if (snprintf(path, sizeof path, "%s/%s", dir, CONFIG_FILE_NAME) >=
            (int)sizeof path)
            return 0;
    }
    char *text = malloc(CONFIG_FILE_MAX + 1);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    long n = config_read(path, text);
    if (n == -1 && errno == ENOENT && !must_exist) {
        free(text);
        return 0;
    }
    if (n < 0) {
        if (n == -2)
            snprintf(err, errlen, "%s: larger than %d bytes", path,
                     CONFIG_FILE_MAX);
        else if (n == -3)
            snprintf(err, errlen, "%s: not a regular file", path);
        else
            snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
                     must_exist ? " (named by " CONFIG_ENV ")" : "");
        free(text);
        return -1;
    }
    /* Checked whole before anything is exported: a file with a mistake
     * sets nothing. */
    char why[256] = "";
    int rc = config_parse(text, (size_t)n, path, config_check_only, NULL,
                          err, errlen);
    if (rc == 0)
        rc = config_parse(text, (size_t)n, path, config_export, why, err,
                          errlen);
    free(text);
    if (rc != 0 && why[0])
        snprintf(err, errlen, "%s: %s", path, why);
    if (rc == 0)
        snprintf(used, usedlen, "%s", path);
    return rc;
}
