/* fuzz_check.h: what the harnesses share. FUZZ_CHECK aborts with a message
 * when a property does not hold, so libFuzzer reports it as a crash and
 * saves the input. */
#ifndef SSELIGHT_FUZZ_CHECK_H
#define SSELIGHT_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, what)                                              \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz property failed at %s:%d: %s\n  (%s)\n", \
                    __FILE__, __LINE__, (what), #cond);                     \
            abort();                                                        \
        }                                                                   \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated heap copy of n bytes (NULs inside stay). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    FUZZ_CHECK(s != NULL, "malloc");
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

#endif
