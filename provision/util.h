/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Small helpers every module uses: checked allocation, a growable string,
 * an ASCII case-insensitive string map, UTF-8 checks, file reading and the
 * wiping of secrets. Nothing here knows about IIS, LDAP or NTFS. */
#ifndef PROVISION_UTIL_H
#define PROVISION_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation that never returns NULL: out of memory ends the process with a
 * message, since no caller could do anything better. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Growable byte string, always NUL-terminated. */
struct strbuf {
    char *buf;
    size_t len, cap;
};
void sb_init(struct strbuf *sb);
void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const char *s, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *sb_detach(struct strbuf *sb); /* caller frees; sb is empty afterwards */
void sb_free(struct strbuf *sb);
/* A field of a TAB-separated record (journal, saved plan): TAB, LF and
 * backslash written as \t \n \\; field_unescape reads n bytes back. */
void sb_add_field(struct strbuf *sb, const char *s);
char *field_unescape(const char *s, size_t n);
/* Wipes then frees: for buffers that held a secret. */
void sb_free_secret(struct strbuf *sb);

/* Overwrites n bytes in a way the compiler may not drop. */
void wipe(void *p, size_t n);
/* Wipes a NUL-terminated secret and frees it; NULL is fine. */
void free_secret(char *s);

/* ASCII-only case folding: IIS names and keys compare this way. */
int ascii_casecmp(const char *a, const char *b);
int ascii_ncasecmp(const char *a, const char *b, size_t n);
char *ascii_lower_dup(const char *s);
bool ascii_equal_ci(const char *a, const char *b);

/* True when [s, s+n) is valid UTF-8 (no overlongs, no surrogates). On false,
 * *bad_at (if not NULL) is the offset of the first bad byte. */
bool utf8_valid(const char *s, size_t n, size_t *bad_at);

/* Map from string (compared ASCII case-insensitively) to a pointer. Keys are
 * copied. Open addressing; grows itself. */
struct strmap_entry {
    char *key;
    void *value;
};
struct strmap {
    struct strmap_entry *slots;
    size_t cap, count;
};
void strmap_init(struct strmap *m);
void *strmap_get(const struct strmap *m, const char *key);
/* Sets key to value; returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

/* Reads a whole file. Returns 0, or -1 with errno set. *data is
 * NUL-terminated (not counted in *len); caller frees. */
int read_file(const char *path, char **data, size_t *len);

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int hex_digit_value(char c);

/* Trims ASCII white space in place; returns s. */
char *trim(char *s);

/* Errors meant for the user, collected so that one run can report them all.
 * Each message should already name the file, line, key or object. */
struct diag {
    char **msgs;
    size_t count, cap;
};
void diag_init(struct diag *d);
void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_free(struct diag *d);
#endif
