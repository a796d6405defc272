/* uritpl: URI Template matching through POSIX regex. See uritpl.h. */
#include "uritpl.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

struct uritpl {
    regex_t re;
};

/* What a value may hold: unreserved, %HH, any byte >= 0x80 (IRIs), and the
 * ',' that joins list items. */
#define URITPL_VALUE "([A-Za-z0-9._~,\x80-\xff-]|%[0-9A-Fa-f]{2})"
/* The reserved expansion ("+", "#") adds the reserved set. */
#define URITPL_RESERVED \
    "([]A-Za-z0-9._~:/?#[@!$&'()*+,;=\x80-\xff-]|%[0-9A-Fa-f]{2})"
/* A key of an exploded variable. */
#define URITPL_ANY_NAME "([A-Za-z0-9._~\x80-\xff-]|%[0-9A-Fa-f]{2})+"

/* ALPHA / DIGIT / "_": a variable name's characters besides %HH and '.'. */
static int uritpl_varchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
}

static int uritpl_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* Appends s (n bytes) as literal regex text. */
static void uritpl_literal(struct buf *re, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr(".[]()*+?{}|^$\\", s[i]))
            buf_append_byte(re, '\\');
        buf_append_byte(re, s[i]);
    }
}

/* Parses the varspecs of one expression (between the operator and '}'):
 * appends to names the alternation of the variable names, and sets
 * *explode when one has '*'. Returns NULL or the reason. */
static const char *uritpl_varspecs(const char *s, size_t n, struct buf *names,
                                   int *explode)
{
    size_t i = 0;
    buf_append_byte(names, '(');
    for (;;) {
        size_t start = i;
        int dot_ok = 0;
        while (i < n) {
            char c = s[i];
            if (uritpl_varchar(c)) {
                i++;
                dot_ok = 1;
            } else if (c == '%' && i + 2 < n && uritpl_hex(s[i + 1]) &&
                       uritpl_hex(s[i + 2])) {
                i += 3;
                dot_ok = 1;
            } else if (c == '.' && dot_ok) {
                /* varname = varchar *( ["."] varchar ): the name must not
                 * end in '.', checked below. */
                i++;
                dot_ok = 0;
            } else {
                break;
            }
        }
        if (i == start || s[i - 1] == '.')
            return "bad variable name";
        if (buf_head(names)[buf_pending(names) - 1] != '(')
            buf_append_byte(names, '|');
        uritpl_literal(names, s + start, i - start);
        if (i < n && s[i] == '*') {
            *explode = 1;
            i++;
        } else if (i < n && s[i] == ':') {
            size_t d = ++i;
            while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
            if (i == d || i - d > 4 || s[d] == '0')
                return "bad prefix modifier: 1 to 9999";
        }
        if (i == n)
            break;
        if (s[i] != ',')
            return "bad character in an expression";
        i++;
    }
    buf_append_byte(names, ')');
    return NULL;
}

/* Appends the regex of one expression (its text between the braces). */
static const char *uritpl_expression(struct buf *re, const char *s, size_t n)
{
    char op = n ? s[0] : '\0';
    if (n == 0)
        return "empty expression";
    if (strchr("=,!@|", op))
        return "reserved operator";
    int has_op = strchr("+#./;?&", op) != NULL;
    if (!has_op && !uritpl_varchar(op) && op != '%')
        return "unknown operator";
    struct buf names = BUF_INIT;
    int explode = 0;
    const char *why = uritpl_varspecs(s + has_op, n - (size_t)has_op, &names,
                                      &explode);
    if (why) {
        buf_free(&names);
        return why;
    }
    if (explode) {
        buf_reset(&names);
        buf_append_str(&names, "(" URITPL_ANY_NAME ")");
    }
    buf_append_byte(&names, '\0');
    const char *nm = buf_head(&names);
    switch (has_op ? op : '\0') {
    case '\0': buf_append_str(re, URITPL_VALUE "*"); break;
    case '+':  buf_append_str(re, URITPL_RESERVED "*"); break;
    case '#':  buf_append_str(re, "(#" URITPL_RESERVED "*)?"); break;
    case '.':  buf_append_str(re, "(\\." URITPL_VALUE "*)*"); break;
    case '/':  buf_append_str(re, "(/" URITPL_VALUE "*)*"); break;
    case ';':
        buf_append_str(re, "(;");
        buf_append_str(re, nm);
        /* An empty value is ";x", never ";x=" (RFC 6570 3.2.7). */
        buf_append_str(re, "(=" URITPL_VALUE "+)?)*");
        break;
    case '?':
    case '&':
        /* "?a=1&b=2" (or "&a=1&b=2"): the first pair starts with op. */
        buf_append_str(re, op == '?' ? "(\\?" : "(&");
        buf_append_str(re, nm);
        buf_append_str(re, "=" URITPL_VALUE "*(&");
        buf_append_str(re, nm);
        buf_append_str(re, "=" URITPL_VALUE "*)*)?");
        break;
    }
    buf_free(&names);
    return NULL;
}

struct uritpl *uritpl_compile(const char *tpl, char *err, size_t errlen)
{
    size_t n = strlen(tpl);
    const char *why = NULL;
    struct buf re = BUF_INIT;
    if (n > URITPL_MAX)
        why = "too long: at most 1024 bytes";
    buf_append_byte(&re, '^');
    for (size_t i = 0; i < n && !why;) {
        if (tpl[i] == '}') {
            why = "a '}' without its '{'";
        } else if (tpl[i] != '{') {
            size_t lit = strcspn(tpl + i, "{}");
            uritpl_literal(&re, tpl + i, lit);
            i += lit;
        } else {
            size_t len = strcspn(tpl + i + 1, "{}");
            if (tpl[i + 1 + len] != '}')
                why = tpl[i + 1 + len] == '{' ? "a '{' inside an expression"
                                             : "an expression without its '}'";
            else
                why = uritpl_expression(&re, tpl + i + 1, len);
            i += len + 2;
        }
    }
    buf_append_str(&re, "$");
    buf_append_byte(&re, '\0');
    struct uritpl *t = NULL;
    if (!why) {
        t = mem_calloc(1, sizeof *t);
        int rc = regcomp(&t->re, buf_head(&re), REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[100];
            regerror(rc, &t->re, msg, sizeof msg);
            snprintf(err, errlen, "cannot compile it: %s", msg);
            free(t);
            t = NULL;
        }
    } else {
        snprintf(err, errlen, "%s", why);
    }
    buf_free(&re);
    return t;
}

int uritpl_match(const struct uritpl *t, const char *uri)
{
    return regexec(&t->re, uri, 0, NULL, 0) == 0;
}

void uritpl_free(struct uritpl *t)
{
    if (!t)
        return;
    regfree(&t->re);
    free(t);
}

int uritpl_is_template(const char *s)
{
    return strchr(s, '{') != NULL;
}
