/* html: escaping. See html.h. */
#include "html.h"

#include <string.h>

void html_append_escaped(struct buf *out, const char *s, size_t n)
{
    size_t run = 0; /* start of the current run of bytes that need no entity */
    for (size_t i = 0; i < n; i++) {
        const char *entity;
        switch (s[i]) {
        case '&':  entity = "&amp;";  break;
        case '<':  entity = "&lt;";   break;
        case '>':  entity = "&gt;";   break;
        case '"':  entity = "&quot;"; break;
        case '\'': entity = "&#39;";  break;
        default:   continue;
        }
        buf_append(out, s + run, i - run);
        buf_append_str(out, entity);
        run = i + 1;
    }
    buf_append(out, s + run, n - run);
}

void html_append_escaped_str(struct buf *out, const char *s)
{
    html_append_escaped(out, s, strlen(s));
}
