/* http: the parts of an HTTP exchange both responders share: request
 * method and path from CGI params, and CGI-style response heads. No I/O. */
#ifndef SSELIGHT_HTTP_H
#define SSELIGHT_HTTP_H

#include <stddef.h>

#include "buf.h"

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_OTHER };

#define HTTP_PATH_MAX 2048 /* longer request paths are refused with 414 */

/* Maps a REQUEST_METHOD value (NULL allowed) to the enum. */
enum http_method http_method_parse(const char *method);

/* Copies the path part of a REQUEST_URI (everything before '?' or '#') into
 * path (size HTTP_PATH_MAX). Returns 0, or -1 when uri is NULL, empty, does
 * not start with '/', or does not fit. */
int http_path_from_uri(const char *uri, char path[HTTP_PATH_MAX]);

#define HTTP_PREFIX_MAX 128 /* bytes of a URL prefix (SSELIGHT_PREFIX) */

/* 1 if prefix can be the URL path sselight is mounted under: "" (the
 * root), or "/" then segments of A-Z a-z 0-9 - _ . ~ joined by single
 * '/', no segment "." or "..", no '/' at the end, shorter than
 * HTTP_PREFIX_MAX. */
int http_prefix_valid(const char *prefix);

/* Takes the mount prefix off path (as from http_path_from_uri), in place:
 * with prefix "/apps/sse", "/apps/sse/events/x" becomes "/events/x" and
 * "/apps/sse" or "/apps/sse/" becomes "/". Returns 0, or -1 (path left as
 * it was) when path is not under prefix ("/apps/ssex", "/other"). An empty
 * prefix changes nothing. */
int http_path_strip_prefix(char path[HTTP_PATH_MAX], const char *prefix);

/* The mount prefix that a request's SCRIPT_NAME implies, where no setting
 * can name it (a hosting account's .htaccess rewrites /~alice/sse/room to
 * the program, and the web server says SCRIPT_NAME=/~alice/sse/index.fcgi
 * with REQUEST_URI still /~alice/sse/room). When script_name ends in "/" +
 * program (the program's own file name), what is before that is a valid
 * prefix (http_prefix_valid; "" for the root) and path (the request path,
 * as from http_path_from_uri) lies under it, that is copied to prefix and
 * 0 returned. Otherwise prefix is "" and -1 returned: lighttpd, say, sets
 * SCRIPT_NAME to the request path, and there is no prefix to derive.
 * script_name and path may be NULL. */
int http_prefix_from_script(const char *script_name, const char *program,
                            const char *path, char prefix[HTTP_PREFIX_MAX]);

/* The reason phrase of a status code ("Not Found"), "Unknown" if not known. */
const char *http_reason(int status);

/* Appends "Status: CODE REASON\r\nContent-Type: TYPE\r\n" and the security
 * headers every response carries. The caller appends any more header lines
 * and then http_end_head. */
void http_begin_head(struct buf *out, int status, const char *content_type);

/* The policy every HTML response carries: scripts, styles, images and
 * connections (EventSource, htmx requests) from this origin only; no inline
 * script or style, no eval, no plugins, no framing, forms post here. */
#define HTTP_HTML_CSP \
    "default-src 'none'; script-src 'self'; style-src 'self'; " \
    "img-src 'self'; connect-src 'self'; form-action 'self'; " \
    "base-uri 'none'; frame-ancestors 'none'"

/* http_begin_head for an HTML document or fragment: text/html; charset=
 * utf-8, plus Content-Security-Policy (HTTP_HTML_CSP), Referrer-Policy
 * (same-origin) and X-Frame-Options (DENY, for browsers without CSP). */
void http_begin_html_head(struct buf *out, int status);

/* Appends the blank line that ends the head. */
void http_end_head(struct buf *out);

/* Appends the head of an event stream: 200, text/event-stream; charset=utf-8,
 * and the headers that keep caches and proxies from holding events back. */
void http_append_sse_head(struct buf *out);

/* The same with more header lines: extra ("Name: value\r\n"..., checked
 * by the caller) goes before the blank line. */
void http_append_sse_head_extra(struct buf *out, const char *extra);

/* Appends a complete plain-text error response: status, a one-line reason
 * text as the body (omitted for HEAD), "Allow: GET, HEAD" for 405,
 * "WWW-Authenticate: Bearer" for 401 and "Retry-After" for 503. */
void http_append_error(struct buf *out, enum http_method method, int status,
                       const char *text);

/* Like http_append_error for 405, with the given Allow list. */
void http_append_not_allowed(struct buf *out, enum http_method method,
                             const char *allow, const char *text);

#endif
