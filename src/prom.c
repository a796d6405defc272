/* prom: the Prometheus text exposition format. See prom.h. */
#include "prom.h"

#include <stdio.h>

static void prom_append_escaped(struct buf *out, const char *s, int quotes)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_append_str(out, "\\\\");
        else if (*s == '\n')
            buf_append_str(out, "\\n");
        else if (*s == '"' && quotes)
            buf_append_str(out, "\\\"");
        else
            buf_append_byte(out, *s);
    }
}

void prom_family(struct buf *out, const char *name, const char *type,
                 const char *help)
{
    buf_appendf(out, "# HELP %s ", name);
    prom_append_escaped(out, help, 0);
    buf_appendf(out, "\n# TYPE %s %s\n", name, type);
}

void prom_append_label_value(struct buf *out, const char *value)
{
    prom_append_escaped(out, value, 1);
}

static void prom_append_name_labels(struct buf *out, const char *name,
                                    const char *const *labels)
{
    buf_append_str(out, name);
    if (!labels || !labels[0])
        return;
    buf_append_byte(out, '{');
    for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
        buf_appendf(out, "%s%s=\"", i ? "," : "", labels[i]);
        prom_append_label_value(out, labels[i + 1]);
        buf_append_byte(out, '"');
    }
    buf_append_byte(out, '}');
}

void prom_sample(struct buf *out, const char *name,
                 const char *const *labels, uint64_t value)
{
    prom_append_name_labels(out, name, labels);
    buf_appendf(out, " %llu\n", (unsigned long long)value);
}

void prom_sample_double(struct buf *out, const char *name,
                        const char *const *labels, double value)
{
    prom_append_name_labels(out, name, labels);
    buf_appendf(out, " %.17g\n", value);
}

void prom_histogram(struct buf *out, const char *name, const char *help,
                    const double *le, size_t n, const uint64_t *per_bucket,
                    double sum)
{
    char metric[128], bound[32];
    prom_family(out, name, "histogram", help);
    snprintf(metric, sizeof metric, "%s_bucket", name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= n; i++) {
        cumulative += per_bucket[i];
        if (i < n)
            snprintf(bound, sizeof bound, "%g", le[i]);
        else
            snprintf(bound, sizeof bound, "+Inf");
        const char *labels[] = { "le", bound, NULL };
        prom_sample(out, metric, labels, cumulative);
    }
    snprintf(metric, sizeof metric, "%s_sum", name);
    prom_sample_double(out, metric, NULL, sum);
    snprintf(metric, sizeof metric, "%s_count", name);
    prom_sample(out, metric, NULL, cumulative);
}
