/* page_main: the page responder. A FastCGI program (libfcgi) that lighttpd
 * starts with its listening socket on fd 0; each request is answered whole
 * by page_respond, so plain blocking libfcgi I/O is the right tool here. */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "buf.h"
#include "http.h"
#include "page.h"

/* Writes the response; returns 0, or -1 when libfcgi reports an error. */
static int page_write(FCGX_Request *req, const struct buf *out)
{
    size_t n = buf_pending(out);
    if (n > (size_t)0x7fffffff)
        return -1;
    if (FCGX_PutStr(buf_head(out), (int)n, req->out) != (int)n)
        return -1;
    if (FCGX_FFlush(req->out) != 0 || FCGX_GetError(req->out) != 0)
        return -1;
    return 0;
}

static void page_serve(FCGX_Request *req, struct buf *out)
{
    const char *method_s = FCGX_GetParam("REQUEST_METHOD", req->envp);
    const char *uri = FCGX_GetParam("REQUEST_URI", req->envp);
    enum http_method method = http_method_parse(method_s);
    char path[HTTP_PATH_MAX];
    int status;

    buf_reset(out);
    if (uri && strlen(uri) >= HTTP_PATH_MAX) {
        http_append_error(out, method, 414, "request URI too long");
        status = 414;
    } else {
        status = page_respond(out, method,
                              http_path_from_uri(uri, path) == 0 ? path : NULL);
    }
    if (status >= 400)
        fprintf(stderr, "page: %d for %s %s\n", status,
                method_s ? method_s : "-", uri ? uri : "-");
    if (page_write(req, out) != 0)
        fprintf(stderr, "page: write failed for %s (client gone?)\n",
                uri ? uri : "-");
}

int main(void)
{
    /* lighttpd stops its backends with SIGTERM; if lighttpd itself dies
     * without doing so, follow it rather than linger. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        fprintf(stderr, "page: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
    if (FCGX_IsCGI()) {
        fprintf(stderr, "page: this is a FastCGI program: start it from a "
                        "FastCGI web server (see lighttpd.conf)\n");
        return 2;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "page: FCGX_Init failed\n");
        return 1;
    }
    FCGX_Request req;
    if (FCGX_InitRequest(&req, 0, 0) != 0) {
        fprintf(stderr, "page: FCGX_InitRequest failed\n");
        return 1;
    }
    struct buf out = BUF_INIT;
    /* A negative return means "stop": SIGTERM (libfcgi's handler sets a flag
     * and accept returns -4) or a broken listening socket. */
    int rc;
    while ((rc = FCGX_Accept_r(&req)) >= 0) {
        page_serve(&req, &out);
        FCGX_Finish_r(&req);
    }
    buf_free(&out);
    FCGX_Free(&req, 1);
    if (rc != -4 && rc != -EINTR)
        fprintf(stderr, "page: FCGX_Accept_r returned %d, exiting\n", rc);
    return 0;
}
