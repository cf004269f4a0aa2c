/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/fold.h"

#include "provision/fold_tables.h"
#include "provision/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the lenient decoder returns for a byte that does not start a valid
 * UTF-8 sequence: above every code point, so it equals only itself. */
#define RAW_BYTE 0x80000000u

const char *fold_unicode_version_text(void)
{
    return fold_unicode_version;
}

static uint32_t map(const struct fold_range *t, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].last < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && t[lo].first <= c && (c - t[lo].first) % t[lo].stride == 0)
        return (uint32_t)((int64_t)c + t[lo].delta);
    return c;
}

uint32_t fold_simple_upper(uint32_t c)
{
    if (c < 0x80)
        return c >= 'a' && c <= 'z' ? c - 32 : c;
    return map(fold_upper_ranges, fold_upper_ranges_count, c);
}

uint32_t fold_simple_lower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    return map(fold_lower_ranges, fold_lower_ranges_count, c);
}

uint32_t fold_class(uint32_t c)
{
    /* ASCII letters are the smallest of their classes in upper case (K,
     * S and I included: U+212A, U+017F, U+0130, U+0131 are larger). */
    if (c < 0x80)
        return c >= 'a' && c <= 'z' ? c - 32 : c;
    return map(fold_class_ranges, fold_class_ranges_count, c);
}

bool fold_assigned(uint32_t c)
{
    size_t lo = 0, hi = fold_assigned_spans_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fold_assigned_spans[mid].last < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < fold_assigned_spans_count && fold_assigned_spans[lo].first <= c;
}

/* Decodes the character at *p (strict UTF-8) and advances *p past it.
 * Returns the code point, or RAW_BYTE | byte for a byte that does not start
 * a valid sequence (*p then advances by that one byte). *p must not point
 * at the terminating NUL. */
static uint32_t next_cp(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = s[0], min;
    int n;
    if (c < 0x80) {
        *p += 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3, min = 0x10000, c &= 0x07;
    } else {
        *p += 1;
        return RAW_BYTE | s[0];
    }
    for (int k = 1; k <= n; k++) {
        if ((s[k] & 0xC0) != 0x80) { /* also stops at the NUL */
            *p += 1;
            return RAW_BYTE | s[0];
        }
        c = (c << 6) | (s[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *p += 1;
        return RAW_BYTE | s[0];
    }
    *p += n + 1;
    return c;
}

/* The key unit of the character at *p: its class, or the raw byte. */
static uint32_t next_key(const char **p)
{
    uint32_t c = next_cp(p);
    return c & RAW_BYTE ? c : fold_class(c);
}

bool name_is_known(const char *name, char *why)
{
    for (const char *p = name; *p;) {
        if ((unsigned char)*p < 0x80) { /* every ASCII character is assigned */
            p++;
            continue;
        }
        const char *at = p;
        uint32_t c = next_cp(&p);
        if (c & RAW_BYTE) {
            if (why)
                snprintf(why, NAME_WHY_MAX, "invalid UTF-8 at byte %zu", (size_t)(at - name) + 1);
            return false;
        }
        if (!fold_assigned(c)) {
            if (why)
                snprintf(why, NAME_WHY_MAX,
                         "U+%04X (byte %zu) is not a character of Unicode %s, so how Windows "
                         "compares it is unknown",
                         (unsigned)c, (size_t)(at - name) + 1, fold_unicode_version);
            return false;
        }
    }
    return true;
}

static void add_utf8(struct strbuf *sb, uint32_t c)
{
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3F)), n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F)), u[3] = (char)(0x80 | (c & 0x3F)), n = 4;
    }
    sb_add(sb, u, n);
}

int name_fold_key(const char *name, char **key, char *why)
{
    *key = NULL;
    if (!name_is_known(name, why))
        return -1;
    struct strbuf sb;
    sb_init(&sb);
    sb_grow(&sb, strlen(name));
    for (const char *p = name; *p;)
        add_utf8(&sb, next_key(&p));
    *key = sb_detach(&sb);
    return 0;
}

/* An ASCII byte's key: its upper case (fold_class, without the call). */
static inline uint32_t ascii_key(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? c - 32u : c;
}

bool names_collide(const char *a, const char *b)
{
    while (*a && *b) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x < 0x80 && y < 0x80) { /* the common case, inline */
            if (ascii_key(x) != ascii_key(y))
                return false;
            a++, b++;
        } else if (next_key(&a) != next_key(&b)) {
            return false;
        }
    }
    return !*a && !*b;
}

uint64_t name_fold_hash(const char *name)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the key units */
    while (*name) {
        unsigned char c = (unsigned char)*name;
        /* an ASCII key in one step, others in four: equal key sequences
         * still hash equal, which is all a map needs */
        uint32_t k = c < 0x80 ? (name++, ascii_key(c)) : next_key(&name);
        for (int i = 0; i < (k < 0x80 ? 1 : 4); i++) {
            h ^= (k >> (8 * i)) & 0xFF;
            h *= 1099511628211ULL;
        }
    }
    return h;
}

bool name_fold_prefix(const char *s, const char *prefix, size_t *len)
{
    const char *p = s;
    while (*prefix) {
        if (!*p || next_key(&p) != next_key(&prefix))
            return false;
    }
    if (len)
        *len = (size_t)(p - s);
    return true;
}

bool name_path_within(const char *path, const char *root, size_t *len)
{
    size_t n = strlen(root), covered;
    while (n && root[n - 1] == '\\')
        n--;
    char *trimmed = xstrndup(root, n);
    bool under = name_fold_prefix(path, trimmed, &covered);
    free(trimmed);
    if (!under || (path[covered] != '\\' && path[covered] != '\0'))
        return false;
    *len = covered;
    return true;
}
