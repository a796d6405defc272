/* fuzz_html: HTML escaping (html.c) on arbitrary bytes.
 *
 * Properties: the output has no raw < > " ' ; every & in it starts one of
 * the five entities html.c may write (&amp; &lt; &gt; &quot; &#39;), each a
 * valid character reference in the HTML standard; decoding those entities
 * gives back the input byte for byte; other bytes are copied as they are
 * (so the output is the input's length plus 4/3/3/5/4 per escaped byte);
 * appending keeps what the buffer held; html_append_escaped_str escapes the
 * input up to its first NUL. */
#include "fuzz_check.h"

#include "buf.h"
#include "html.h"

static const struct {
    const char *entity;
    char c;
} entities[] = {
    { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
    { "&quot;", '"' }, { "&#39;", '\'' },
};

static void check_escaped(const char *in, size_t n, const char *out,
                          size_t on)
{
    size_t extra = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < 5; e++)
            if (in[i] == entities[e].c)
                extra += strlen(entities[e].entity) - 1;
    FUZZ_CHECK(on == n + extra, "output length");

    size_t i = 0, o = 0;
    while (o < on) {
        char c = out[o];
        FUZZ_CHECK(c != '<' && c != '>' && c != '"' && c != '\'',
                   "no raw < > \" '");
        if (c == '&') {
            size_t e = 0;
            while (e < 5 && !(on - o >= strlen(entities[e].entity) &&
                              memcmp(out + o, entities[e].entity,
                                     strlen(entities[e].entity)) == 0))
                e++;
            FUZZ_CHECK(e < 5, "every & starts an entity");
            FUZZ_CHECK(i < n && in[i] == entities[e].c, "the entity decodes "
                       "back to the input");
            o += strlen(entities[e].entity);
        } else {
            FUZZ_CHECK(i < n && in[i] == c, "other bytes are copied");
            o++;
        }
        i++;
    }
    FUZZ_CHECK(i == n, "unescaping gives the whole input");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct buf out = BUF_INIT;
    buf_append_str(&out, "<p title=\"");
    html_append_escaped(&out, in, size);
    FUZZ_CHECK(memcmp(buf_head(&out), "<p title=\"", 10) == 0,
               "appending keeps what was there");
    check_escaped(in, size, buf_head(&out) + 10, buf_pending(&out) - 10);

    char *s = fuzz_strndup(data, size);
    struct buf out2 = BUF_INIT;
    html_append_escaped_str(&out2, s);
    check_escaped(s, strlen(s), buf_head(&out2), buf_pending(&out2));
    free(s);
    buf_free(&out);
    buf_free(&out2);
    return 0;
}
