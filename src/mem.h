/* mem: allocation that never returns NULL. Running out of memory logs one
 * line and aborts, so callers need no out-of-memory branches (as redis's
 * zmalloc does); bounds on what we allocate are enforced by the callers. */
#ifndef SSELIGHT_MEM_H
#define SSELIGHT_MEM_H

#include <stddef.h>

/* calloc(n, size), or abort. */
void *mem_calloc(size_t n, size_t size);

/* realloc(p, size), or abort. size must not be 0. */
void *mem_realloc(void *p, size_t size);

/* A copy of s (NUL-terminated), or abort. */
char *mem_strdup(const char *s);

/* Logs "out of memory (wanted N bytes)" and aborts. */
void mem_fail(size_t want) __attribute__((noreturn));

#endif
