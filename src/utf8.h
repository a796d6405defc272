/* utf8: validation of untrusted text. */
#ifndef SSELIGHT_UTF8_H
#define SSELIGHT_UTF8_H

#include <stddef.h>

/* Returns the number of code points in s (n bytes) if it is well-formed
 * UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) without
 * NUL, or -1. */
long utf8_count(const char *s, size_t n);

/* 1 if s (n bytes) holds a control character (below U+0020, or DEL). */
int utf8_has_control(const char *s, size_t n);

#endif
