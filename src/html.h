/* html: escaping of untrusted text for HTML text and attribute values. */
#ifndef SSELIGHT_HTML_H
#define SSELIGHT_HTML_H

#include <stddef.h>

#include "buf.h"

/* Appends s (n bytes) with & < > " ' replaced by entities, so the result is
 * safe both as element text and inside a quoted attribute value. Bytes are
 * otherwise copied as they are; callers validate UTF-8 where it matters. */
void html_append_escaped(struct buf *out, const char *s, size_t n);

/* html_append_escaped for a NUL-terminated string. */
void html_append_escaped_str(struct buf *out, const char *s);

#endif
