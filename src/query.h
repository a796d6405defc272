/* query: URL query strings and path segments: percent-decoding, parameter
 * lookup, and the names sselight accepts for channels and events. No I/O,
 * no allocation beyond the caller's buffers. */
#ifndef SSELIGHT_QUERY_H
#define SSELIGHT_QUERY_H

#include <stddef.h>

#define QUERY_CHANNEL_MAX 64   /* bytes in a channel name */
#define QUERY_EVENT_MAX 64     /* bytes in an event name */

/* Percent-decodes s (n bytes) into out (size outsz, NUL-terminated); with
 * plus_is_space, '+' becomes ' ' (form encoding). Returns the decoded
 * length, or -1 on a malformed escape, a decoded NUL, or no room. */
long query_decode(const char *s, size_t n, int plus_is_space, char *out,
                  size_t outsz);

/* Iterates "k=v&k=v" in query (NULL or "" is empty). *pos starts at 0.
 * Sets key/value to the raw (still encoded) parts and returns 1, 0 at the
 * end. Empty pieces ("&&") are skipped; a piece without '=' has value "". */
int query_next(const char *query, size_t *pos, const char **key,
               size_t *key_len, const char **value, size_t *value_len);

/* Finds the first parameter named key (compared after decoding) and decodes
 * its value into out. Returns 1 found, 0 absent, -1 malformed or too long. */
int query_get(const char *query, const char *key, char *out, size_t outsz);

/* 1 if s is a channel name: 1..QUERY_CHANNEL_MAX of A-Z a-z 0-9 _ - . and
 * not "." or "..". */
int query_channel_valid(const char *s);

/* 1 if s is an event name: 1..QUERY_EVENT_MAX of A-Z a-z 0-9 _ - . : */
int query_event_valid(const char *s);

/* Parses a decimal event id: 0..2^53, digits only, no leading zeros ("0"
 * itself means "before the first event"). Returns 0 and sets *id, or -1. */
int query_parse_id(const char *s, long long *id);

#endif
