/* mem: allocation that aborts on failure. See mem.h. */
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mem_fail(size_t want)
{
    fprintf(stderr, "sselight: out of memory (wanted %zu bytes)\n", want);
    abort();
}

void *mem_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        mem_fail(n * size);
    return p;
}

void *mem_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (!q)
        mem_fail(size);
    return q;
}

char *mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mem_calloc(1, n);
    memcpy(p, s, n);
    return p;
}
