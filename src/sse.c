/* sse: Server-Sent Events framing. See sse.h. */
#include "sse.h"

#include <string.h>

int sse_field_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return 0;
    return 1;
}

/* Appends prefix + each line of s, each ended by LF. A line ends at CRLF, CR
 * or LF; a trailing line break yields a final empty line, as the client needs
 * it to reproduce the break. */
static void sse_append_lines(struct buf *out, const char *prefix,
                             const char *s, size_t n)
{
    size_t line = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\r' && s[i] != '\n')
            continue;
        buf_append_str(out, prefix);
        buf_append(out, s + line, i - line);
        buf_append_byte(out, '\n');
        if (i + 1 < n && s[i] == '\r' && s[i + 1] == '\n')
            i++;
        line = i + 1;
    }
}

int sse_append_event(struct buf *out, const char *event, const char *id,
                     const char *data, size_t len)
{
    size_t event_len = event ? strlen(event) : 0;
    if (event && !sse_field_valid(event, event_len))
        return -1;
    if (id && !sse_field_valid(id, strlen(id)))
        return -1;
    if (event_len) {
        buf_append_str(out, "event: ");
        buf_append(out, event, event_len);
        buf_append_byte(out, '\n');
    }
    if (id) {
        buf_append_str(out, "id: ");
        buf_append_str(out, id);
        buf_append_byte(out, '\n');
    }
    sse_append_lines(out, "data: ", data ? data : "", data ? len : 0);
    buf_append_byte(out, '\n');
    return 0;
}

void sse_append_comment(struct buf *out, const char *text)
{
    sse_append_lines(out, ": ", text, strlen(text));
    buf_append_byte(out, '\n');
}

/* The parser's state between lines. */
struct sse_parser {
    char name[66]; /* 65 bytes at most: one more than a valid name */
    struct buf data;
    int has_data;
};

static int sse_dispatch(struct sse_parser *p, sse_event_fn *fn, void *arg,
                        long *count)
{
    int rc = 0;
    if (p->has_data) {
        rc = fn(p->name[0] ? p->name : "message", buf_head(&p->data),
                buf_pending(&p->data), arg);
        (*count)++;
    }
    p->name[0] = '\0';
    buf_reset(&p->data);
    p->has_data = 0;
    return rc;
}

static void sse_parse_line(struct sse_parser *p, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    size_t field_len = colon ? (size_t)(colon - line) : n;
    const char *value = colon ? colon + 1 : line + n;
    size_t value_len = colon ? n - field_len - 1 : 0;
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (field_len == 5 && memcmp(line, "event", 5) == 0) {
        size_t k = value_len < sizeof p->name - 1 ? value_len : sizeof p->name - 1;
        memcpy(p->name, value, k);
        p->name[k] = '\0';
    } else if (field_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->has_data)
            buf_append_byte(&p->data, '\n');
        buf_append(&p->data, value, value_len);
        p->has_data = 1;
    }
}

long sse_parse(const char *s, size_t n, sse_event_fn *fn, void *arg)
{
    struct sse_parser p = { .name = "", .data = BUF_INIT, .has_data = 0 };
    long count = 0;
    size_t line = 0;
    int rc = 0;
    /* The stream may start with a UTF-8 byte order mark, not part of the
     * first line (WHATWG: stream = [ bom ] *event). */
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        line = 3;
    for (size_t i = line; i <= n && rc == 0; i++) {
        if (i < n && s[i] != '\r' && s[i] != '\n')
            continue;
        if (i == n && line == n)
            break; /* the text ended with a line break */
        if (i == line) {
            rc = sse_dispatch(&p, fn, arg, &count); /* blank line */
        } else if (s[line] != ':') {
            sse_parse_line(&p, s + line, i - line);
        }
        if (i + 1 < n && s[i] == '\r' && s[i + 1] == '\n')
            i++;
        line = i + 1;
    }
    if (rc == 0)
        rc = sse_dispatch(&p, fn, arg, &count);
    buf_free(&p.data);
    return rc == 0 ? count : -1;
}

void sse_append_retry(struct buf *out, unsigned ms)
{
    buf_appendf(out, "retry: %u\n\n", ms);
}
