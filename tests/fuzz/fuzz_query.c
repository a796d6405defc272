/* fuzz_query: query strings and names (query.c) on arbitrary bytes.
 *
 * Input: byte 0 = flags (bit 0: '+' is a space; bits 1-7: output size for
 * query_decode), the rest is the text (a query string, a name, an id).
 *
 * Properties:
 * - query_decode matches a reference decoder (RFC 3986 percent-encoding,
 *   '+' for forms), never writes past outsz, NUL-terminates, and never
 *   yields a NUL byte;
 * - query_next splits at '&' and the first '=' exactly as a reference
 *   split does, with every piece inside the string;
 * - query_get finds the first parameter whose decoded key matches;
 * - a channel name that query_channel_valid accepts has 1-64 bytes of
 *   A-Z a-z 0-9 _ - . and is not "." or ".." (and every such name is
 *   accepted); likewise event names with ':' added;
 * - query_parse_id accepts exactly the digit strings without a leading
 *   zero whose value is at most 2^53, and the value is never negative. */
#include "fuzz_check.h"

#include "query.h"

static int hexval(unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    if (c >= 'A' && c <= 'F')
        c = (unsigned char)(c - 'A' + 'a');
    const char *p = c ? strchr(digits, c) : NULL;
    return p ? (int)(p - digits) : -1;
}

/* Returns the decoded length or -1, like query_decode, into out[outsz]. */
static long ref_decode(const char *s, size_t n, int plus, char *out,
                       size_t outsz)
{
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) /* needs two more bytes */
                return -1;
            int hi = hexval((unsigned char)s[i + 1]);
            int lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 3;
        } else {
            if (c == '+' && plus)
                c = ' ';
            if (c == '\0')
                return -1; /* a raw NUL would end out early too */
            i++;
        }
        if (o + 1 >= outsz)
            return -1; /* no room for the byte and the NUL */
        out[o++] = (char)c;
    }
    if (outsz == 0)
        return -1;
    out[o] = '\0';
    return (long)o;
}

static void check_decode(const char *s, size_t n, int plus, size_t outsz)
{
    char out[130], ref[130];
    memset(out, 0x5a, sizeof out);
    long got = query_decode(s, n, plus, out, outsz);
    long want = ref_decode(s, n, plus, ref, outsz);
    FUZZ_CHECK(got == want, "query_decode result matches the reference");
    for (size_t i = outsz; i < sizeof out; i++)
        FUZZ_CHECK(out[i] == 0x5a, "query_decode writes only outsz bytes");
    if (got < 0)
        return;
    FUZZ_CHECK((size_t)got < outsz && out[got] == '\0', "NUL-terminated");
    FUZZ_CHECK(memchr(out, '\0', (size_t)got) == NULL, "no NUL decoded");
    FUZZ_CHECK(memcmp(out, ref, (size_t)got) == 0, "decoded bytes");
}

struct piece {
    const char *k, *v;
    size_t kn, vn;
};

static void check_split(const char *q)
{
    size_t len = strlen(q), pos = 0, i = 0, count = 0;
    const char *k, *v;
    size_t kn, vn;
    while (query_next(q, &pos, &k, &kn, &v, &vn)) {
        FUZZ_CHECK(pos <= len, "position inside");
        /* the reference: the next non-empty '&'-separated piece from i */
        while (i < len && q[i] == '&')
            i++;
        FUZZ_CHECK(i < len, "query_next finds no piece the reference misses");
        size_t j = i;
        while (j < len && q[j] != '&')
            j++;
        const char *eq = memchr(q + i, '=', j - i);
        FUZZ_CHECK(k == q + i, "key starts the piece");
        FUZZ_CHECK(kn == (eq ? (size_t)(eq - (q + i)) : j - i), "key length");
        FUZZ_CHECK(eq ? v == eq + 1 && vn == (size_t)(q + j - v)
                      : vn == 0, "value");
        FUZZ_CHECK(memchr(k, '&', kn) == NULL && memchr(k, '=', kn) == NULL,
                   "no & or = in a key");
        FUZZ_CHECK(memchr(v, '&', vn) == NULL, "no & in a value");
        FUZZ_CHECK(v + vn <= q + len, "value inside");
        i = j;
        count++;
        FUZZ_CHECK(count <= len, "terminates");
    }
    while (i < len && q[i] == '&')
        i++;
    FUZZ_CHECK(i == len, "query_next misses no piece");
    FUZZ_CHECK(!query_next(q, &pos, &k, &kn, &v, &vn), "stays at the end");
    pos = 0;
    FUZZ_CHECK(!query_next(NULL, &pos, &k, &kn, &v, &vn), "NULL is empty");
}

/* query_get(q, key) against a walk with the reference decoder. */
static void check_get(const char *q, const char *key)
{
    char out[32], ref[32];
    int got = query_get(q, key, out, sizeof out);
    int want = 0;
    size_t i = 0, len = strlen(q);
    while (i < len) {
        size_t j = i;
        while (j < len && q[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(q + i, '=', j - i);
            size_t kn = eq ? (size_t)(eq - (q + i)) : j - i;
            char name[64];
            if (ref_decode(q + i, kn, 1, name, sizeof name) >= 0 &&
                strcmp(name, key) == 0) {
                const char *v = eq ? eq + 1 : q + j;
                want = ref_decode(v, (size_t)(q + j - v), 1, ref, sizeof ref)
                       < 0 ? -1 : 1;
                break;
            }
        }
        i = j + 1;
    }
    FUZZ_CHECK(got == want, "query_get finds the first matching key");
    if (got == 1)
        FUZZ_CHECK(strcmp(out, ref) == 0, "query_get value");
}

static int name_char(unsigned char c, int event)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           (event && c == ':');
}

static void check_names(const char *s)
{
    size_t n = strlen(s);
    int all = n >= 1 && n <= 64;
    for (size_t i = 0; i < n && all; i++)
        all = name_char((unsigned char)s[i], 0);
    int channel = all && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
    int got = query_channel_valid(s);
    FUZZ_CHECK(got == 0 || got == 1, "0 or 1");
    if (got) {
        FUZZ_CHECK(n >= 1 && n <= QUERY_CHANNEL_MAX, "channel length");
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(name_char((unsigned char)s[i], 0), "channel chars");
        FUZZ_CHECK(strcmp(s, ".") != 0 && strcmp(s, "..") != 0,
                   "never . or ..");
        FUZZ_CHECK(strchr(s, '/') == NULL, "no path separator");
    }
    FUZZ_CHECK(got == channel, "query_channel_valid accepts every good name");

    all = n >= 1 && n <= 64;
    for (size_t i = 0; i < n && all; i++)
        all = name_char((unsigned char)s[i], 1);
    FUZZ_CHECK(query_event_valid(s) == all, "query_event_valid");
}

static void check_id(const char *s)
{
    long long id = -12345;
    int rc = query_parse_id(s, &id);
    size_t n = strlen(s);
    int digits = n > 0 && n <= 16 && !(s[0] == '0' && n > 1);
    for (size_t i = 0; i < n && digits; i++)
        digits = s[i] >= '0' && s[i] <= '9';
    long long v = digits ? strtoll(s, NULL, 10) : -1;
    int want = digits && v <= 9007199254740992LL ? 0 : -1;
    FUZZ_CHECK(rc == want, "query_parse_id accepts exactly 0..2^53 digits");
    if (rc == 0) {
        FUZZ_CHECK(id >= 0, "an id is never negative");
        FUZZ_CHECK(id == v, "the id's value");
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(s[i] >= '0' && s[i] <= '9', "only digits");
    } else {
        FUZZ_CHECK(id == -12345, "a refused id leaves *id alone");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int plus = data[0] & 1;
    size_t outsz = data[0] >> 1; /* 0..127 */
    const char *raw = (const char *)data + 1;
    size_t n = size - 1;

    check_decode(raw, n, plus, outsz);
    check_decode(raw, n, !plus, 128);

    char *s = fuzz_strndup(data + 1, n); /* as a C string: up to a NUL */
    check_split(s);
    /* a key worth looking for: the decoded first key, or "channel" */
    char key[64] = "channel";
    size_t pos = 0, kn, vn;
    const char *k, *v;
    if ((data[0] & 2) && query_next(s, &pos, &k, &kn, &v, &vn))
        if (ref_decode(k, kn, 1, key, sizeof key) < 0)
            strcpy(key, "channel");
    check_get(s, key);
    check_names(s);
    check_id(s);
    free(s);
    return 0;
}
