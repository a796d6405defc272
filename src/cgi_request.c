/* cgi_request: CGI detection and body reading. See cgi_request.h. */
#include "cgi_request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int cgi_request_is_cgi(void)
{
    /* A FastCGI server hands over a listening socket. A connected one is
     * no sign of FastCGI: mod_cgid gives its CGI programs one as stdin. */
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
        listening)
        return 0;
    const char *gw = getenv("GATEWAY_INTERFACE");
    return gw && strncmp(gw, "CGI/", 4) == 0;
}

const char *cgi_request_param(const char *name)
{
    return getenv(name);
}

const char *cgi_request_program(void)
{
    static char name[256];
    if (name[0])
        return name;
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return "";
    path[n] = '\0';
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strlen(base) >= sizeof name)
        return "";
    strcpy(name, base);
    return name;
}

/* Parses CONTENT_LENGTH: only digits, no sign, no blanks. */
static int cgi_request_length(const char *s, unsigned long long *n)
{
    if (!s[0] || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    *n = strtoull(s, NULL, 10);
    return errno == 0 ? 0 : -1;
}

int cgi_request_read_body(int fd, const char *content_length, size_t max,
                          struct buf *body, int *too_large)
{
    unsigned long long want = 0;
    int to_eof = !content_length || !content_length[0];
    *too_large = 0;
    if (!to_eof && cgi_request_length(content_length, &want) != 0) {
        errno = EINVAL;
        return -1;
    }
    unsigned long long got = 0;
    size_t kept = 0;
    char chunk[16384];
    while (to_eof || got < want) {
        size_t ask = sizeof chunk;
        if (!to_eof && want - got < ask)
            ask = (size_t)(want - got);
        ssize_t n = read(fd, chunk, ask);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            if (to_eof)
                break;
            errno = EPROTO;
            return -1;
        }
        got += (unsigned long long)n;
        size_t keep = (size_t)n;
        if (kept + keep > max) {
            keep = max - kept;
            *too_large = 1;
        }
        buf_append(body, chunk, keep);
        kept += keep;
    }
    return 0;
}

int cgi_request_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}
