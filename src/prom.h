/* prom: writes the Prometheus text exposition format (version 0.0.4):
 * metric families with # HELP and # TYPE, samples with labels, and
 * histograms with cumulative buckets. Pure: appends to a buf. */
#ifndef SSELIGHT_PROM_H
#define SSELIGHT_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help\n# TYPE name type\n". type is counter, gauge or
 * histogram; help is escaped (backslash, newline). */
void prom_family(struct buf *out, const char *name, const char *type,
                 const char *help);

/* A label value as it goes between double quotes: backslash, double quote
 * and newline escaped; other bytes as they are. */
void prom_append_label_value(struct buf *out, const char *value);

/* One sample line "name{l1=\"v1\",...} value\n". labels holds label name
 * and value pairs and ends with NULL; NULL or {NULL} for none. Label
 * names must be valid (they are ours); values are escaped. */
void prom_sample(struct buf *out, const char *name,
                 const char *const *labels, uint64_t value);
void prom_sample_double(struct buf *out, const char *name,
                        const char *const *labels, double value);

/* A whole histogram family: name_bucket{le=...} for each of the n bounds
 * in le (ascending) and "+Inf", cumulative; then name_sum and name_count.
 * per_bucket has n + 1 counts (the last above le[n-1]), not cumulative. */
void prom_histogram(struct buf *out, const char *name, const char *help,
                    const double *le, size_t n, const uint64_t *per_bucket,
                    double sum);

#endif
