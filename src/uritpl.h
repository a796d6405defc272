/* uritpl: does a string match an RFC 6570 URI Template? A Mercure topic
 * selector may be a template, and a topic matches it when some values of
 * the template's variables expand to exactly that topic.
 *
 * The template is turned into an anchored POSIX extended regex (glibc's
 * regcomp), as the Mercure reference hub also does: literal text matches
 * itself, each expression the characters its operator may produce
 * (section 3.2 of the RFC): unreserved characters, %HH escapes and, for
 * IRIs, any byte >= 0x80; "+" and "#" also the reserved set. Where exact
 * expansion would need the values, the match is a permissive superset: a
 * prefix modifier {var:3} takes values of any length; any variable may be
 * a list or exploded, so "/" "." ";" "?" "&" take any number of items, and
 * ";" "?" "&" take the expression's names in any order and repeated; %HH
 * takes either case. Strings are matched as bytes (the program keeps the
 * C locale) and must be NUL-terminated. */
#ifndef SSELIGHT_URITPL_H
#define SSELIGHT_URITPL_H

#include <stddef.h>

#define URITPL_MAX 1024 /* bytes of a template */

struct uritpl;

/* Compiles tpl (NUL-terminated); the caller frees the result with
 * uritpl_free. Returns NULL with a one-line reason in err for a malformed
 * template: an unclosed or nested '{', a stray '}', an empty expression, a
 * bad variable name or modifier, a reserved (= , ! @ |) or unknown
 * operator, or more than URITPL_MAX bytes. A template without any
 * expression is allowed and matches only itself. */
struct uritpl *uritpl_compile(const char *tpl, char *err, size_t errlen);

/* 1 if uri (NUL-terminated) matches t, 0 if not. */
int uritpl_match(const struct uritpl *t, const char *uri);

/* Frees t; NULL is a no-op. */
void uritpl_free(struct uritpl *t);

/* 1 if s has an expression ('{'): a template, not an exact string. */
int uritpl_is_template(const char *s);

#endif
