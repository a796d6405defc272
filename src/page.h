/* page: the HTML pages the page responder serves, routed by method and path.
 * No I/O: the result is a complete CGI response (head and body) in a buf. */
#ifndef SSELIGHT_PAGE_H
#define SSELIGHT_PAGE_H

#include "buf.h"
#include "http.h"

/* Appends the whole response for a request: 200 with the Example 1 page for
 * "/", a 404 HTML page for unknown paths, 405 (with Allow) for a method other
 * than GET or HEAD on a known path. HEAD gets the head only. path may be
 * NULL (no usable REQUEST_URI): 400. Returns the status code. */
int page_respond(struct buf *out, enum http_method method, const char *path);

#endif
