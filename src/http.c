/* http: shared request/response helpers. See http.h. */
#include "http.h"

#include <string.h>

enum http_method http_method_parse(const char *method)
{
    if (!method)
        return HTTP_OTHER;
    if (strcmp(method, "GET") == 0)
        return HTTP_GET;
    if (strcmp(method, "HEAD") == 0)
        return HTTP_HEAD;
    if (strcmp(method, "POST") == 0)
        return HTTP_POST;
    return HTTP_OTHER;
}

int http_path_from_uri(const char *uri, char path[HTTP_PATH_MAX])
{
    if (!uri || uri[0] != '/')
        return -1;
    size_t n = strcspn(uri, "?#");
    if (n >= HTTP_PATH_MAX)
        return -1;
    memcpy(path, uri, n);
    path[n] = '\0';
    return 0;
}

int http_prefix_valid(const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 0)
        return 1;
    if (n >= HTTP_PREFIX_MAX || prefix[0] != '/' || prefix[n - 1] == '/')
        return 0;
    for (const char *seg = prefix + 1; seg <= prefix + n;) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || (len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        for (size_t i = 0; i < len; i++)
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-_.~", seg[i]))
                return 0;
        seg += len + 1;
    }
    return 1;
}

int http_path_strip_prefix(char path[HTTP_PATH_MAX], const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 0)
        return 0;
    if (strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return -1;
    if (path[n] == '\0')
        strcpy(path, "/");
    else
        memmove(path, path + n, strlen(path + n) + 1);
    return 0;
}

int http_prefix_from_script(const char *script_name, const char *program,
                            const char *path, char prefix[HTTP_PREFIX_MAX])
{
    prefix[0] = '\0';
    if (!script_name || !program || !path || !program[0])
        return -1;
    size_t sn = strlen(script_name), pn = strlen(program);
    if (sn < pn + 1 || script_name[sn - pn - 1] != '/' ||
        strcmp(script_name + sn - pn, program) != 0)
        return -1;
    size_t dn = sn - pn - 1;
    if (dn >= HTTP_PREFIX_MAX)
        return -1;
    memcpy(prefix, script_name, dn);
    prefix[dn] = '\0';
    if (!http_prefix_valid(prefix) || strncmp(path, prefix, dn) != 0 ||
        (path[dn] != '\0' && path[dn] != '/')) {
        prefix[0] = '\0';
        return -1;
    }
    return 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 414: return "URI Too Long";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

void http_begin_head(struct buf *out, int status, const char *content_type)
{
    buf_appendf(out, "Status: %d %s\r\nContent-Type: %s\r\n"
                "X-Content-Type-Options: nosniff\r\n",
                status, http_reason(status), content_type);
}

void http_begin_html_head(struct buf *out, int status)
{
    http_begin_head(out, status, "text/html; charset=utf-8");
    buf_append_str(out, "Content-Security-Policy: " HTTP_HTML_CSP "\r\n"
                        "Referrer-Policy: same-origin\r\n"
                        "X-Frame-Options: DENY\r\n");
}

void http_end_head(struct buf *out)
{
    buf_append_str(out, "\r\n");
}

void http_append_sse_head_extra(struct buf *out, const char *extra)
{
    http_begin_head(out, 200, "text/event-stream; charset=utf-8");
    buf_append_str(out, "Cache-Control: no-store\r\n"
                        "X-Accel-Buffering: no\r\n");
    if (extra)
        buf_append_str(out, extra);
    http_end_head(out);
}

void http_append_sse_head(struct buf *out)
{
    http_append_sse_head_extra(out, NULL);
}

static void http_append_error_allow(struct buf *out, enum http_method method,
                                   int status, const char *text,
                                   const char *allow)
{
    http_begin_head(out, status, "text/plain; charset=utf-8");
    buf_append_str(out, "Cache-Control: no-store\r\n");
    if (status == 405)
        buf_appendf(out, "Allow: %s\r\n", allow);
    if (status == 401)
        buf_append_str(out, "WWW-Authenticate: Bearer realm=\"sselight\"\r\n");
    if (status == 503)
        buf_append_str(out, "Retry-After: 5\r\n");
    http_end_head(out);
    if (method != HTTP_HEAD) {
        buf_append_str(out, text);
        buf_append_byte(out, '\n');
    }
}

void http_append_error(struct buf *out, enum http_method method, int status,
                       const char *text)
{
    http_append_error_allow(out, method, status, text, "GET, HEAD");
}

void http_append_not_allowed(struct buf *out, enum http_method method,
                             const char *allow, const char *text)
{
    http_append_error_allow(out, method, 405, text, allow);
}
