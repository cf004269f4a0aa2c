/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The tables of provision/fold.c, generated into provision/fold_tables.c by
 * scripts/gen-fold-tables.py from UnicodeData.txt. Only fold.c reads them:
 * other modules use provision/fold.h. */
#ifndef PROVISION_FOLD_TABLES_H
#define PROVISION_FOLD_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* Code points first, first + stride, ..., last map to c + delta; the ones
 * in between and those outside every range map to themselves. Sorted,
 * not overlapping. */
struct fold_range {
    uint32_t first, last;
    int32_t delta;
    uint32_t stride; /* 1 or 2 */
};

/* [first, last], sorted, not overlapping, not adjacent. */
struct fold_span {
    uint32_t first, last;
};

extern const char fold_unicode_version[];
extern const struct fold_range fold_upper_ranges[], fold_lower_ranges[], fold_class_ranges[];
extern const size_t fold_upper_ranges_count, fold_lower_ranges_count, fold_class_ranges_count;
extern const struct fold_span fold_assigned_spans[];
extern const size_t fold_assigned_spans_count;

#endif
