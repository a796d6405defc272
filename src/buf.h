/* buf: a growable byte buffer with a read position, for output queues and
 * formatted text. Allocation failure aborts the process (see mem.h). */
#ifndef SSELIGHT_BUF_H
#define SSELIGHT_BUF_H

#include <stddef.h>

struct buf {
    char  *data;   /* owned; NUL-terminated after every append, or NULL */
    size_t start;  /* bytes before start were consumed */
    size_t len;    /* bytes in use, counting from data[0] */
    size_t cap;    /* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0, 0 }

/* Releases the memory and resets b to empty. b may be reused afterwards. */
void buf_free(struct buf *b);

/* Empties b but keeps its memory. */
void buf_reset(struct buf *b);

/* Bytes not yet consumed, and where they start (valid until the next append,
 * consume or free). */
size_t buf_pending(const struct buf *b);
const char *buf_head(const struct buf *b);

/* Appends n bytes / a C string / one byte / printf-formatted text. */
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_byte(struct buf *b, char c);
void buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Marks the first n pending bytes consumed (n <= buf_pending). Memory is
 * compacted lazily, so consuming is O(1) amortised. */
void buf_consume(struct buf *b, size_t n);

#endif
