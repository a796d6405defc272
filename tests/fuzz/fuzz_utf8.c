/* fuzz_utf8: UTF-8 validation (utf8_count) against an independent check.
 *
 * The reference is Table 3-7 "Well-Formed UTF-8 Byte Sequences" of the
 * Unicode Standard (chapter 3), as ranges of the first byte and the allowed
 * range of the second byte; NUL is refused on top (utf8.h). utf8_count must
 * accept exactly what the table accepts and count one per sequence. A
 * second, one-way check: whatever utf8_count accepts, glibc's decoder
 * (mbrtowc in C.UTF-8) decodes to as many characters. */
#include "fuzz_check.h"

#include <locale.h>
#include <wchar.h>

#include "utf8.h"

static const struct {
    unsigned char lo, hi;      /* first byte */
    unsigned char lo2, hi2;    /* second byte */
    int len;
} table[] = {
    { 0x01, 0x7F, 0, 0, 1 }, /* 0x00 is refused: no NUL */
    { 0xC2, 0xDF, 0x80, 0xBF, 2 },
    { 0xE0, 0xE0, 0xA0, 0xBF, 3 },
    { 0xE1, 0xEC, 0x80, 0xBF, 3 },
    { 0xED, 0xED, 0x80, 0x9F, 3 },
    { 0xEE, 0xEF, 0x80, 0xBF, 3 },
    { 0xF0, 0xF0, 0x90, 0xBF, 4 },
    { 0xF1, 0xF3, 0x80, 0xBF, 4 },
    { 0xF4, 0xF4, 0x80, 0x8F, 4 },
};

static long ref_count(const unsigned char *s, size_t n)
{
    long count = 0;
    size_t i = 0;
    while (i < n) {
        size_t t = 0;
        while (t < sizeof table / sizeof table[0] &&
               !(s[i] >= table[t].lo && s[i] <= table[t].hi))
            t++;
        if (t == sizeof table / sizeof table[0])
            return -1;
        size_t len = (size_t)table[t].len;
        if (n - i < len)
            return -1;
        if (len > 1 && (s[i + 1] < table[t].lo2 || s[i + 1] > table[t].hi2))
            return -1;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return -1;
        i += len;
        count++;
    }
    return count;
}

/* glibc's opinion, or -2 when there is no UTF-8 locale. */
static long libc_count(const unsigned char *s, size_t n)
{
    static int ready = -1;
    if (ready < 0)
        ready = setlocale(LC_CTYPE, "C.UTF-8") != NULL;
    if (!ready)
        return -2;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    long count = 0;
    size_t i = 0;
    while (i < n) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, (const char *)s + i, n - i, &st);
        if (k == 0 || k == (size_t)-1 || k == (size_t)-2)
            return -1; /* NUL, invalid, truncated */
        if (wc >= 0xD800 && wc <= 0xDFFF)
            return -1;
        i += k;
        count++;
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long got = utf8_count((const char *)data, size);
    long want = ref_count(data, size);
    FUZZ_CHECK(got == want, "utf8_count matches Unicode Table 3-7");
    /* glibc also takes sequences past U+10FFFF (F4 90.., F5..F7), so it
     * only checks one way: what utf8_count accepts, glibc decodes alike. */
    long libc = libc_count(data, size);
    if (libc != -2 && got >= 0)
        FUZZ_CHECK(got == libc, "glibc mbrtowc decodes what utf8_count accepts");
    return 0;
}
