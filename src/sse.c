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

void sse_append_retry(struct buf *out, unsigned ms)
{
    buf_appendf(out, "retry: %u\n\n", ms);
}
