/* buf: growable byte buffer. See buf.h. */
#include "buf.h"

#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->start = b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->start = b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

size_t buf_pending(const struct buf *b)
{
    return b->len - b->start;
}

const char *buf_head(const struct buf *b)
{
    return b->data ? b->data + b->start : "";
}

/* Makes room for n more bytes plus a NUL. Consumed bytes are dropped first
 * when that avoids growing or when they are more than half the buffer. */
static void buf_reserve(struct buf *b, size_t n)
{
    if (b->start > 0 && (b->len + n + 1 > b->cap || b->start > b->cap / 2)) {
        memmove(b->data, b->data + b->start, b->len - b->start);
        b->len -= b->start;
        b->start = 0;
    }
    if (b->len + n + 1 <= b->cap)
        return;
    if (n > (size_t)-1 / 4 - b->len)
        mem_fail(n);
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = mem_realloc(b->data, cap);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_append_byte(struct buf *b, char c)
{
    buf_append(b, &c, 1);
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "sselight: vsnprintf failed for format '%s'\n", fmt);
        abort();
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n > buf_pending(b))
        n = buf_pending(b);
    b->start += n;
    if (b->start == b->len)
        buf_reset(b);
}
