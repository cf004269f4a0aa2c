/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Small helpers every module uses: checked allocation, a growable string,
 * a string map (ASCII case-insensitive, or by names as provision/fold.h
 * compares them), UTF-8 checks, file reading and the wiping of secrets.
 * Nothing here knows about IIS, LDAP or NTFS. */
#ifndef PROVISION_UTIL_H
#define PROVISION_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Allocation that never returns NULL: out of memory ends the process with a
 * message, since no caller could do anything better. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Growable byte string, always NUL-terminated. A secret one (sb_init_secret:
 * it may hold a password) never leaves a copy behind: growing moves it to a
 * new block and wipes the old one, sb_addf wipes its formatted text, and
 * sb_free wipes it. */
struct strbuf {
    char *buf;
    size_t len, cap;
    bool secret;
};
void sb_init(struct strbuf *sb);
void sb_init_secret(struct strbuf *sb);
void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const char *s, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The caller frees the result (a secret one with free_secret); sb is empty
 * afterwards and stays secret if it was. */
char *sb_detach(struct strbuf *sb);
void sb_free(struct strbuf *sb);
/* A field of a TAB-separated record (journal, saved plan): TAB, LF and
 * backslash written as \t \n \\; field_unescape reads n bytes back. */
void sb_add_field(struct strbuf *sb, const char *s);
char *field_unescape(const char *s, size_t n);
/* Wipes then frees, secret or not: for buffers that held a secret. */
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

/* v in decimal at the end of buf, NUL-terminated, without printf (for hot
 * paths); returns where the digits start. */
char *ulong_decimal(unsigned long v, char buf[24]);
/* n bytes as 2n lowercase hex digits, NUL-terminated, into out (2n+1). */
void hex_into(char *out, const unsigned char *p, size_t n);

/* True when [s, s+n) is valid UTF-8 (no overlongs, no surrogates). On false,
 * *bad_at (if not NULL) is the offset of the first bad byte. */
bool utf8_valid(const char *s, size_t n, size_t *bad_at);

/* Memory handed out in order from big blocks and given back all at once:
 * for the many small strings and records of an index that lives as long
 * as its owner (the states of 10,000 sites: no malloc, no free each). */
struct arena {
    char *block; /* the current block; each starts with a link to the previous */
    size_t used, size;
};
void arena_init(struct arena *a);
/* Zeroed, aligned for any type. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
void arena_free(struct arena *a);

/* Map from string (compared ASCII case-insensitively) to a pointer. Keys are
 * copied. Open addressing; grows itself. */
struct strmap_entry {
    char *key;
    void *value;
    uint64_t hash; /* of key: compared first, kept for growing */
};
struct strmap {
    struct strmap_entry *slots;
    size_t cap, count;
    bool names;    /* strmap_init_names: keys compared by names_collide */
    bool borrowed; /* strmap_borrow_keys: keys not copied, nor freed */
};
void strmap_init(struct strmap *m);
/* A map whose keys are names (of sites, pools, locations, folders): two
 * keys are one when names_collide (provision/fold.h) says so, without
 * regard to case over all of Unicode, not ASCII only. strmap_free keeps
 * the kind. */
void strmap_init_names(struct strmap *m);
/* From now on keys are not copied: each stays alive and unchanged while it
 * is in the map (for maps keyed by strings their owner keeps, e.g. in an
 * arena); strmap_del and strmap_free leave them to that owner. */
void strmap_borrow_keys(struct strmap *m);
void *strmap_get(const struct strmap *m, const char *key);
/* Makes room for n keys in all, so that filling it never rehashes. */
void strmap_reserve(struct strmap *m, size_t n);
/* Sets key to value; returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

/* Reads a whole file. Returns 0, or -1 with errno set. *data is
 * NUL-terminated (not counted in *len); caller frees. */
int read_file(const char *path, char **data, size_t *len);

struct diag;

/* The one write-temp-then-rename implementation. */

/* Writes len bytes of data to a new file DIR/.BASE.provision-XXXXXX
 * (XXXXXX random), created with O_EXCL and O_NOFOLLOW and with mode from
 * the start (less the umask: never wider than mode), then fsync'ed.
 * With uid != (uid_t)-1 the file takes the place of one it must resemble:
 * it gets that owner and group (when running as root) and exactly mode.
 * Returns the new file's path (caller frees), or NULL with errno set and
 * nothing left behind. */
char *write_temp_file(const char *dir, const char *base, const void *data, size_t len, mode_t mode,
                      uid_t uid, gid_t gid);
/* The same with the bytes in pieces, written in order. */
char *write_temp_file_pieces(const char *dir, const char *base, const struct iovec *pieces,
                             size_t n, mode_t mode, uid_t uid, gid_t gid);
/* fsyncs a folder, so that a rename into it is on disk; errors ignored
 * (the rename itself has happened). */
void sync_folder(const char *dir);
/* Replaces the file at path with len bytes of data, atomically: a
 * temporary file in the same folder (write_temp_file, mode less the umask),
 * fsync'ed, renamed over path, then the folder fsync'ed. Readers see the
 * old bytes or the new, never a mix. A symbolic link or anything but a
 * regular file at path is refused (the link is not followed, nor
 * replaced). Returns 0, or -1 with errno set and "PATH: cannot write WHAT:
 * REASON" in d. */
int atomic_replace(const char *path, const void *data, size_t len, mode_t mode, const char *what,
                   struct diag *d);

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int hex_digit_value(char c);

/* Trims ASCII white space in place; returns s. */
char *trim(char *s);

/* Errors meant for the user, collected so that one run can report them all.
 * Each message should already name the file, line, key or object.
 *
 * One error model: each message may carry a class (which system or input
 * it concerns) and the object it concerns. Library modules only add
 * messages; the run, which knows which system it called, classifies them
 * (diag_classify), and the exit status and --json come from the classes. */
enum diag_class {
    DIAG_UNCLASSIFIED = 0,
    DIAG_INPUT,     /* usage, site lists, templates: nothing was changed */
    DIAG_CONFIG,    /* provision.ini */
    DIAG_DIRECTORY, /* AD over LDAP */
    DIAG_CONTENT,   /* folders and descriptors */
    DIAG_IIS,       /* applicationHost.config */
    DIAG_INTERNAL,  /* the tool itself, its state folder and journal */
};
struct diag {
    char **msgs;
    size_t count, cap;
    unsigned char *classes; /* enum diag_class per message */
    char **objects;         /* what each message concerns, or NULL */
};
void diag_init(struct diag *d);
void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Gives the unclassified messages from index `from` on a class and an
 * object (may be NULL). */
void diag_classify(struct diag *d, size_t from, enum diag_class c, const char *object);
/* "input", "configuration", "directory", "content", "iis-config",
 * "internal" (or "unclassified"). */
const char *diag_class_name(enum diag_class c);
/* The worst class present (the highest value), DIAG_UNCLASSIFIED if none. */
enum diag_class diag_worst(const struct diag *d);
void diag_free(struct diag *d);
#endif
