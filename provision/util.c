/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/util.h"

#include "provision/fold.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void out_of_memory(void)
{
    fputs("provision: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        out_of_memory();
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void out_of_range(void)
{
    fputs("provision: internal error: a formatted message failed\n", stderr);
    abort();
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0)
        out_of_range();
    char *buf = xmalloc((size_t)n + 1);
    vsnprintf(buf, (size_t)n + 1, fmt, again);
    va_end(again);
    return buf;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *buf = xvasprintf(fmt, ap);
    va_end(ap);
    return buf;
}

void sb_init(struct strbuf *sb)
{
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->secret = false;
}

void sb_init_secret(struct strbuf *sb)
{
    sb_init(sb);
    sb->secret = true;
}

void sb_grow(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    if (sb->secret) {
        /* realloc could leave the old block, secret and all, to the heap */
        char *p = xmalloc(cap);
        if (sb->buf) {
            memcpy(p, sb->buf, sb->len);
            wipe(sb->buf, sb->cap);
            free(sb->buf);
        }
        sb->buf = p;
    } else {
        sb->buf = xrealloc(sb->buf, cap);
    }
    sb->cap = cap;
    sb->buf[sb->len] = '\0';
}

void sb_add(struct strbuf *sb, const char *s, size_t n)
{
    sb_grow(sb, n);
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void sb_adds(struct strbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

void sb_addc(struct strbuf *sb, char c)
{
    sb_add(sb, &c, 1);
}

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    sb_adds(sb, text);
    if (sb->secret)
        free_secret(text);
    else
        free(text);
}

char *sb_detach(struct strbuf *sb)
{
    char *p = sb->buf ? sb->buf : xstrdup("");
    bool secret = sb->secret;
    sb_init(sb);
    sb->secret = secret;
    return p;
}

void sb_free(struct strbuf *sb)
{
    bool secret = sb->secret;
    if (secret && sb->buf)
        wipe(sb->buf, sb->cap);
    free(sb->buf);
    sb_init(sb);
    sb->secret = secret;
}

void sb_free_secret(struct strbuf *sb)
{
    if (sb->buf)
        wipe(sb->buf, sb->cap);
    sb_free(sb);
}

void wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

void free_secret(char *s)
{
    if (!s)
        return;
    wipe(s, strlen(s));
    free(s);
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

int ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = lower((unsigned char)*a), cb = lower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

int ascii_ncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int ca = lower((unsigned char)a[i]), cb = lower((unsigned char)b[i]);
        if (ca != cb || !ca)
            return ca - cb;
    }
    return 0;
}

bool ascii_equal_ci(const char *a, const char *b)
{
    return ascii_casecmp(a, b) == 0;
}

char *ascii_lower_dup(const char *s)
{
    char *p = xstrdup(s);
    for (char *q = p; *q; q++)
        *q = (char)lower((unsigned char)*q);
    return p;
}

char *ulong_decimal(unsigned long v, char buf[24])
{
    char *p = buf + 23;
    *p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return p;
}

void hex_into(char *out, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool utf8_valid(const char *str, size_t n, size_t *bad_at)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII, the bulk of an applicationHost.config: eight bytes a step */
        uint64_t word;
        while (i + 8 <= n && (memcpy(&word, s + i, 8), (word & 0x8080808080808080ULL) == 0))
            i += 8;
        if (i >= n)
            break;
        unsigned c = s[i];
        size_t need;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3, min = 0x10000, c &= 0x07;
        } else {
            goto bad;
        }
        if (i + need >= n)
            goto bad;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            goto bad;
        i += need + 1;
    }
    return true;
bad:
    if (bad_at)
        *bad_at = i;
    return false;
}

static uint64_t hash_ci(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over folded bytes */
    for (; *s; s++) {
        h ^= (uint64_t)lower((unsigned char)*s);
        h *= 1099511628211ULL;
    }
    return h;
}

void arena_init(struct arena *a)
{
    a->block = NULL;
    a->used = a->size = 0;
}

/* n bytes at an offset that is a multiple of align (a power of two). */
static void *arena_take(struct arena *a, size_t n, size_t align)
{
    enum { ALIGN = 16, BLOCK = 64 * 1024 };
    size_t at = (a->used + align - 1) & ~(align - 1);
    if (!a->block || at + n > a->size) {
        size_t size = ALIGN + (n > BLOCK ? n : BLOCK);
        char *block = xcalloc(1, size);
        memcpy(block, &a->block, sizeof a->block); /* the link to the previous block */
        a->block = block;
        a->size = size;
        at = ALIGN;
    }
    a->used = at + n;
    return a->block + at;
}

void *arena_alloc(struct arena *a, size_t n)
{
    return arena_take(a, n, 16);
}

char *arena_strdup(struct arena *a, const char *s)
{
    /* Strings packed end to end: 10,000 sites keep about 60,000 of them. */
    size_t n = strlen(s) + 1;
    return memcpy(arena_take(a, n, 1), s, n);
}

void arena_free(struct arena *a)
{
    while (a->block) {
        char *previous;
        memcpy(&previous, a->block, sizeof previous);
        free(a->block);
        a->block = previous;
    }
    arena_init(a);
}

void strmap_init(struct strmap *m)
{
    m->slots = NULL;
    m->cap = m->count = 0;
    m->names = m->borrowed = false;
}

void strmap_borrow_keys(struct strmap *m)
{
    m->borrowed = true;
}

void strmap_init_names(struct strmap *m)
{
    strmap_init(m);
    m->names = true;
}

static uint64_t strmap_hash(const struct strmap *m, const char *key)
{
    return m->names ? name_fold_hash(key) : hash_ci(key);
}

/* The slot of key (hash h): its entry, or the free slot where it goes. */
static struct strmap_entry *strmap_slot(const struct strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct strmap_entry *e = &m->slots[i];
        if (!e->key || (e->hash == h &&
                        (m->names ? names_collide(e->key, key) : ascii_casecmp(e->key, key) == 0)))
            return e;
    }
}

void *strmap_get(const struct strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    struct strmap_entry *e = strmap_slot(m, key, strmap_hash(m, key));
    return e->key ? e->value : NULL;
}

static void strmap_rehash(struct strmap *m, size_t cap)
{
    struct strmap old = *m;
    m->slots = xcalloc(cap, sizeof *m->slots);
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *strmap_slot(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
    free(old.slots);
}

void strmap_reserve(struct strmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 16;
    while (n * 4 > cap * 3)
        cap *= 2;
    if (cap > m->cap)
        strmap_rehash(m, cap);
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        strmap_rehash(m, m->cap ? m->cap * 2 : 16);
    uint64_t h = strmap_hash(m, key);
    struct strmap_entry *e = strmap_slot(m, key, h);
    if (e->key) {
        void *old = e->value;
        e->value = value;
        return old;
    }
    e->key = m->borrowed ? (char *)key : xstrdup(key);
    e->value = value;
    e->hash = h;
    m->count++;
    return NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    struct strmap_entry *e = strmap_slot(m, key, strmap_hash(m, key));
    if (!e->key)
        return NULL;
    void *value = e->value;
    if (!m->borrowed)
        free(e->key);
    e->key = NULL;
    m->count--;
    /* Re-insert the rest of the cluster so lookups keep working. */
    size_t mask = m->cap - 1;
    for (size_t i = ((size_t)(e - m->slots) + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        struct strmap_entry moved = m->slots[i];
        m->slots[i].key = NULL;
        *strmap_slot(m, moved.key, moved.hash) = moved;
    }
    return value;
}

void strmap_free(struct strmap *m)
{
    for (size_t i = 0; !m->borrowed && i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    bool names = m->names, borrowed = m->borrowed;
    strmap_init(m);
    m->names = names; /* still the same kind of map */
    m->borrowed = borrowed;
}

int read_file(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    /* Two spare bytes: the read that sees the end needs room, and the
     * buffer must not double just to learn that the file ended. */
    size_t cap = (size_t)st.st_size + 2, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* Writes all the pieces in order, up to 1024 a call (Linux's IOV_MAX). */
static int write_pieces(int fd, const struct iovec *pieces, size_t n)
{
    enum { IOV_MAX_LINUX = 1024 };
    struct iovec batch[IOV_MAX_LINUX];
    size_t next = 0, skip = 0; /* bytes of pieces[next] already written */
    while (next < n) {
        size_t k = 0;
        for (size_t i = next; i < n && k < IOV_MAX_LINUX; i++, k++) {
            batch[k] = pieces[i];
            if (i == next) {
                batch[k].iov_base = (char *)batch[k].iov_base + skip;
                batch[k].iov_len -= skip;
            }
        }
        ssize_t w = writev(fd, batch, (int)k);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t left = (size_t)w;
        while (next < n && left >= pieces[next].iov_len - skip) {
            left -= pieces[next].iov_len - skip;
            next++, skip = 0;
        }
        skip += left;
    }
    return 0;
}

/* Six characters for a temporary name, mkstemp's alphabet. */
static void random_suffix(char out[7])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static uint64_t counter;
    uint64_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    }
    v ^= ++counter * 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 6; i++, v /= 62)
        out[i] = alphabet[v % 62];
    out[6] = '\0';
}

char *write_temp_file(const char *dir, const char *base, const void *data, size_t len, mode_t mode,
                      uid_t uid, gid_t gid)
{
    struct iovec one = {(void *)data, len};
    return write_temp_file_pieces(dir, base, &one, 1, mode, uid, gid);
}

char *write_temp_file_pieces(const char *dir, const char *base, const struct iovec *pieces,
                             size_t n, mode_t mode, uid_t uid, gid_t gid)
{
    char *tmp = NULL;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        char suffix[7];
        random_suffix(suffix);
        free(tmp);
        /* The pid in the name tells a dead run's leftover (configfile.c). */
        tmp = xasprintf("%s/.%s.provision-%ld-%s", dir, base, (long)getpid(), suffix);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(tmp);
        errno = e;
        return NULL;
    }
    int rc = 0;
    if (uid != (uid_t)-1) {
        /* chown first: it may clear set-id bits that the chmod then sets */
        if (geteuid() == 0)
            rc = fchown(fd, uid, gid);
        if (rc == 0)
            rc = fchmod(fd, mode & 07777);
    }
    if (rc == 0)
        rc = write_pieces(fd, pieces, n);
    if (rc == 0)
        rc = fsync(fd);
    int e = errno;
    if (close(fd) < 0 && rc == 0)
        rc = -1, e = errno;
    if (rc < 0) {
        unlink(tmp);
        free(tmp);
        errno = e;
        return NULL;
    }
    return tmp;
}

void sync_folder(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int atomic_replace(const char *path, const void *data, size_t len, mode_t mode, const char *what,
                   struct diag *d)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        bool link = S_ISLNK(st.st_mode);
        diag_add(d, "%s: cannot write %s: %s", path, what,
                 link ? "it is a symbolic link (refused)" : "not a regular file");
        errno = link ? ELOOP : EINVAL;
        return -1;
    }
    char *copy1 = xstrdup(path), *copy2 = xstrdup(path);
    const char *dir = dirname(copy1), *base = basename(copy2);
    int rc = -1;
    char *tmp = write_temp_file(dir, base, data, len, mode, (uid_t)-1, (gid_t)-1);
    if (tmp && rename(tmp, path) == 0) {
        sync_folder(dir);
        rc = 0;
    } else {
        int e = errno;
        if (tmp)
            unlink(tmp);
        diag_add(d, "%s: cannot write %s: %s", path, what, strerror(e));
        errno = e;
    }
    free(tmp);
    free(copy1);
    free(copy2);
    return rc;
}

char *trim(char *s)
{
    char *start = s;
    while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
        start++;
    size_t n = strlen(start);
    while (n && (start[n - 1] == ' ' || start[n - 1] == '\t' || start[n - 1] == '\r' ||
                 start[n - 1] == '\n'))
        n--;
    memmove(s, start, n);
    s[n] = '\0';
    return s;
}

void diag_init(struct diag *d)
{
    d->msgs = NULL;
    d->count = d->cap = 0;
    d->classes = NULL;
    d->objects = NULL;
}

void diag_add(struct diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->msgs = xrealloc(d->msgs, d->cap * sizeof *d->msgs);
        d->classes = xrealloc(d->classes, d->cap * sizeof *d->classes);
        d->objects = xrealloc(d->objects, d->cap * sizeof *d->objects);
    }
    d->classes[d->count] = DIAG_UNCLASSIFIED;
    d->objects[d->count] = NULL;
    d->msgs[d->count++] = msg;
}

void diag_classify(struct diag *d, size_t from, enum diag_class c, const char *object)
{
    for (size_t i = from; i < d->count; i++)
        if (d->classes[i] == DIAG_UNCLASSIFIED) {
            d->classes[i] = (unsigned char)c;
            free(d->objects[i]);
            d->objects[i] = object ? xstrdup(object) : NULL;
        }
}

const char *diag_class_name(enum diag_class c)
{
    static const char *const names[] = {"unclassified", "input",      "configuration", "directory",
                                        "content",      "iis-config", "internal"};
    return (unsigned)c < sizeof names / sizeof *names ? names[c] : "unclassified";
}

enum diag_class diag_worst(const struct diag *d)
{
    unsigned char worst = DIAG_UNCLASSIFIED;
    for (size_t i = 0; i < d->count; i++)
        if (d->classes[i] > worst)
            worst = d->classes[i];
    return (enum diag_class)worst;
}

void diag_free(struct diag *d)
{
    for (size_t i = 0; i < d->count; i++) {
        free(d->msgs[i]);
        free(d->objects[i]);
    }
    free(d->msgs);
    free(d->classes);
    free(d->objects);
    diag_init(d);
}

int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void sb_add_field(struct strbuf *sb, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\t')
            sb_adds(sb, "\\t");
        else if (*s == '\n')
            sb_adds(sb, "\\n");
        else if (*s == '\\')
            sb_adds(sb, "\\\\");
        else
            sb_addc(sb, *s);
    }
}

char *field_unescape(const char *s, size_t n)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_grow(&sb, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            sb_addc(&sb, c == 't' ? '\t' : c == 'n' ? '\n' : c);
        } else {
            sb_addc(&sb, s[i]);
        }
    }
    return sb_detach(&sb);
}
