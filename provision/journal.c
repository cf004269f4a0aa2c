/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/journal.h"

#include "provision/timings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_MAGIC "provision-journal"

/* ---- small codecs ------------------------------------------------------ */

char *hex_encode(const unsigned char *p, size_t n)
{
    char *s = xmalloc(2 * n + 1);
    hex_into(s, p, n);
    return s;
}

int hex_decode(const char *s, unsigned char **out, size_t *n)
{
    size_t len = strlen(s);
    *out = NULL;
    *n = 0;
    if (len % 2)
        return -1;
    unsigned char *b = xmalloc(len / 2 + 1);
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_digit_value(s[2 * i]), lo = hex_digit_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return -1;
        }
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    *out = b;
    *n = len / 2;
    return 0;
}

static void format_record(struct strbuf *sb, const char *type, const char *site, va_list ap)
{
    sb_adds(sb, type);
    sb_addc(sb, '\t');
    sb_add_field(sb, site && *site ? site : "-");
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        sb_addc(sb, '\t');
        sb_adds(sb, k);
        sb_addc(sb, '=');
        sb_add_field(sb, v ? v : "");
    }
    sb_addc(sb, '\n');
}

static void json_add(struct strbuf *sb, const char *s)
{
    sb_addc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_addf(sb, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            sb_addf(sb, "\\u%04x", *p);
        else
            sb_addc(sb, (char)*p);
    }
    sb_addc(sb, '"');
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the state folder -------------------------------------------------- */

/* Makes dir exist as a private folder of ours, or says why it cannot be. */
static int private_dir(const char *dir, struct diag *d)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        diag_add(d, "state folder %s: cannot create: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) < 0) {
        diag_add(d, "state folder %s: %s", dir, strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
        diag_add(d, "state folder %s: is a symbolic link or not a folder; refused", dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        diag_add(d, "state folder %s: owned by uid %u, not by this user (uid %u); refused", dir,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & 022) {
        diag_add(d, "state folder %s: writable by group or others (mode %03o); refused (chmod 700)",
                 dir, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

const char *state_dir_path(const char *configured)
{
    const char *dir = configured;
    if (!dir || !*dir)
        dir = getenv("PROVISION_STATE_DIR");
    if (!dir || !*dir)
        dir = "/var/lib/provision";
    return dir;
}

char *journal_waiting_note(const char *configured)
{
    const char *dir = state_dir_path(configured);
    size_t n = journal_count_waiting(dir);
    if (!n)
        return NULL;
    return xasprintf("%zu journal%s of interrupted or running provision runs in %s/journals: "
                     "provision recover (or the next apply or destroy) finishes them",
                     n, n == 1 ? "" : "s", dir);
}

char *state_dir_open(const char *configured, struct diag *d)
{
    const char *dir = state_dir_path(configured);
    if (dir[0] != '/') {
        diag_add(d, "state folder %s: must be an absolute path", dir);
        return NULL;
    }
    if (private_dir(dir, d) < 0)
        return NULL;
    char *journals = xasprintf("%s/journals", dir);
    int rc = private_dir(journals, d);
    free(journals);
    return rc < 0 ? NULL : xstrdup(dir);
}

/* ---- writing ------------------------------------------------------------ */

struct journal {
    char *state_dir, *path, *run_id;
    char *fresh;      /* PATH.new: the file until its first commit */
    bool published;   /* renamed to PATH, with a record beyond begin */
    bool broken;      /* a write failed: nothing more may be announced */
    size_t begin_len; /* the magic line and begin, queued by journal_begin */
    int fd, audit_fd;
    struct strbuf pending;
};

const char *journal_run_id(const struct journal *j)
{
    return j ? j->run_id : NULL;
}

const char *journal_path(const struct journal *j)
{
    return j ? j->path : NULL;
}

void journal_add(struct journal *j, const char *type, const char *site, ...)
{
    if (!j)
        return;
    va_list ap;
    va_start(ap, site);
    format_record(&j->pending, type, site, ap);
    va_end(ap);
}

/* The first commit of something beyond begin: the file (begin included)
 * reaches the disk under PATH.new, takes its name and the name reaches
 * the disk. Until then a run that changes nothing costs no fsync, and one
 * that changes something pays the begin's fsync together with its first
 * record's. */
static int publish(struct journal *j)
{
    if (write_all(j->fd, j->pending.buf, j->pending.len) < 0 || fsync(j->fd) < 0 ||
        rename(j->fresh, j->path) < 0)
        return -1;
    char *dir = xasprintf("%s/journals", j->state_dir);
    sync_folder(dir);
    free(dir);
    j->published = true;
    return 0;
}

static int write_pending(struct journal *j, bool durable, struct diag *d)
{
    if (!j || !j->pending.len || j->fd < 0)
        return 0;
    if (!j->published && (j->pending.len == j->begin_len || !durable))
        return 0; /* nothing announced yet: what is queued waits for a commit */
    if (j->broken) {
        if (d)
            diag_add(d,
                     "journal %s: an earlier write failed; the step it announces was not "
                     "started",
                     j->path);
        return -1;
    }
    int rc;
    uint64_t t = timing_start();
    if (!j->published)
        rc = publish(j);
    else
        rc =
            write_all(j->fd, j->pending.buf, j->pending.len) == 0 && (!durable || fsync(j->fd) == 0)
                ? 0
                : -1;
    timing_stop(TIMING_JOURNAL, t);
    if (rc < 0 && d)
        diag_add(d, "journal %s: cannot write: %s; the step it announces was not started", j->path,
                 strerror(errno));
    j->broken |= rc < 0; /* what it held is lost: later records would lack it */
    j->pending.len = 0;
    j->pending.buf[0] = 0;
    return rc;
}

int journal_commit(struct journal *j, struct diag *d)
{
    return write_pending(j, true, d);
}

int journal_write(struct journal *j, struct diag *d)
{
    return write_pending(j, false, d);
}

bool journal_announced(const struct journal *j)
{
    return j && j->published;
}

struct journal *journal_begin(const char *state_dir, const char *command,
                              const struct journal_targets *t, bool remove_folders, struct diag *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32], when[40];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct journal *j = xcalloc(1, sizeof *j);
    j->state_dir = xstrdup(state_dir);
    j->run_id = xasprintf("%s-%ld-%09ld", stamp, (long)getpid(), ts.tv_nsec);
    j->path = xasprintf("%s/journals/%s.journal", state_dir, j->run_id);
    j->audit_fd = -1;
    sb_init(&j->pending);
    /* Written under a name scans ignore, then renamed: a journal is never
     * seen without its begin record, nor locked by a scan before its
     * writer holds it. */
    char *fresh = xasprintf("%s.new", j->path);
    j->fd = open(fresh, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0 || flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
        diag_add(d, "journal %s: cannot create: %s; nothing was changed", fresh, strerror(errno));
        if (j->fd >= 0) {
            close(j->fd);
            unlink(fresh);
        }
        free(fresh);
        sb_free(&j->pending);
        free(j->state_dir);
        free(j->run_id);
        free(j->path);
        free(j);
        return NULL;
    }
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    sb_addf(&j->pending, JOURNAL_MAGIC "\t%d\n", JOURNAL_VERSION);
    journal_add(j, "begin", "-", "run", j->run_id, "pid", pid, "command", command, "time", when,
                "config", t->config, "content", t->content ? t->content : "", "directory",
                t->directory ? t->directory : "", "remove_folders", remove_folders ? "1" : "0",
                NULL);
    j->begin_len = j->pending.len;
    j->fresh = fresh; /* written at the first commit (publish) */
    return j;
}

static void journal_free(struct journal *j)
{
    if (j->fd >= 0 && !j->published)
        unlink(j->fresh); /* nothing was announced: nothing to keep */
    if (j->fd >= 0)
        close(j->fd);
    free(j->fresh);
    if (j->audit_fd >= 0)
        close(j->audit_fd);
    sb_free(&j->pending);
    free(j->state_dir);
    free(j->run_id);
    free(j->path);
    free(j);
}

void journal_finish(struct journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0 && j->published) {
        /* Not fsync'ed: the file goes at once, and were it to survive a
         * power cut without its end, recovering it again changes nothing
         * (every action of recovery is idempotent). */
        journal_add(j, "end", "-", NULL);
        journal_write(j, NULL);
        unlink(j->path);
    }
    journal_free(j);
}

void journal_abandon(struct journal *j)
{
    if (!j)
        return;
    journal_commit(j, NULL);
    if (j->published && !j->broken)
        fsync(j->fd); /* what journal_write left unsynced: recovery needs it */
    journal_free(j);
}

/* ---- the audit log ------------------------------------------------------ */

static void audit_line(struct strbuf *sb, const char *run_id, const char *site, const char *step,
                       const char *object, const char *result)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    sb_addf(sb, "{\"v\":%d,\"time\":\"%s.%06ldZ\",\"run\":", AUDIT_VERSION, when,
            ts.tv_nsec / 1000);
    json_add(sb, run_id);
    sb_adds(sb, ",\"site\":");
    json_add(sb, site);
    sb_adds(sb, ",\"step\":");
    json_add(sb, step);
    sb_adds(sb, ",\"object\":");
    json_add(sb, object);
    sb_adds(sb, ",\"result\":");
    json_add(sb, result);
    sb_adds(sb, "}\n");
}

static int open_audit(const char *state_dir)
{
    char *path = xasprintf("%s/audit.log", state_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    free(path);
    return fd;
}

void audit_log(const char *state_dir, const char *run_id, const char *site, const char *step,
               const char *object, const char *result)
{
    int fd = open_audit(state_dir);
    if (fd < 0)
        return;
    struct strbuf sb;
    sb_init(&sb);
    audit_line(&sb, run_id, site, step, object, result);
    (void)write_all(fd, sb.buf, sb.len);
    close(fd);
    sb_free(&sb);
}

void journal_audit(struct journal *j, const char *site, const char *step, const char *object,
                   const char *result)
{
    if (!j)
        return;
    if (j->audit_fd < 0)
        j->audit_fd = open_audit(j->state_dir);
    if (j->audit_fd < 0)
        return;
    struct strbuf sb;
    sb_init(&sb);
    audit_line(&sb, j->run_id, site, step, object, result);
    (void)write_all(j->audit_fd, sb.buf, sb.len);
    sb_free(&sb);
}

/* ---- reading ------------------------------------------------------------ */

const char *journal_get(const struct journal_record *r, const char *key)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (!strcmp(r->keys[i], key))
            return r->values[i];
    return NULL;
}

static void record_free(struct journal_record *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->keys[i]);
        free(r->values[i]);
    }
    free(r->keys);
    free(r->values);
    free(r->type);
    free(r->site);
}

void journal_file_free(struct journal_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        record_free(&f->records[i]);
    free(f->records);
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* Splits one line into a record. 0 or -1. */
static int parse_record(const char *line, size_t len, struct journal_record *r)
{
    memset(r, 0, sizeof *r);
    size_t start = 0, field = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t')
            continue;
        const char *s = line + start;
        size_t n = i - start;
        if (field == 0) {
            r->type = xstrndup(s, n);
        } else if (field == 1) {
            r->site = field_unescape(s, n);
        } else {
            const char *eq = memchr(s, '=', n);
            if (!eq) {
                record_free(r);
                return -1;
            }
            r->keys = xrealloc(r->keys, (r->n + 1) * sizeof *r->keys);
            r->values = xrealloc(r->values, (r->n + 1) * sizeof *r->values);
            r->keys[r->n] = xstrndup(s, (size_t)(eq - s));
            r->values[r->n++] = field_unescape(eq + 1, n - (size_t)(eq - s) - 1);
        }
        field++;
        start = i + 1;
    }
    if (field < 2) {
        record_free(r);
        return -1;
    }
    return 0;
}

int journal_parse(struct journal_file *f, const char *data, size_t len, struct diag *d)
{
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (!nl)
            break; /* a record cut by the crash was never committed */
        size_t n = (size_t)(nl - (data + pos));
        lineno++;
        if (lineno == 1) {
            char want[64];
            int wl = snprintf(want, sizeof want, JOURNAL_MAGIC "\t%d", JOURNAL_VERSION);
            if (n != (size_t)wl || memcmp(data + pos, want, n) != 0) {
                diag_add(d, "journal %s:1: not a version %d journal of provision", f->path,
                         JOURNAL_VERSION);
                return -1;
            }
        } else {
            f->records = xrealloc(f->records, (f->n + 1) * sizeof *f->records);
            if (parse_record(data + pos, n, &f->records[f->n]) < 0) {
                diag_add(d, "journal %s: line %zu: malformed record", f->path, lineno);
                return -1;
            }
            f->n++;
        }
        pos += n + 1;
    }
    if (!f->n || strcmp(f->records[0].type, "begin") != 0) {
        diag_add(d, "journal %s: no begin record", f->path);
        return -1;
    }
    f->begin = &f->records[0];
    return 0;
}

int journal_load(const char *path, struct journal_file *out, struct diag *d)
{
    struct journal_file f = {.fd = -1};
    f.path = xstrdup(path);
    f.fd = open(f.path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (f.fd < 0) {
        diag_add(d, "journal %s: cannot open: %s", f.path, strerror(errno));
        journal_file_free(&f);
        return -1;
    }
    if (flock(f.fd, LOCK_EX | LOCK_NB) < 0) {
        journal_file_free(&f);
        return 1;
    }
    char *data = NULL;
    size_t len = 0;
    struct stat st;
    size_t before = d->count;
    if (fstat(f.fd, &st) < 0 || !S_ISREG(st.st_mode) || read_file(f.path, &data, &len) < 0 ||
        journal_parse(&f, data, len, d) < 0) {
        if (d->count == before)
            diag_add(d, "journal %s: cannot read", f.path);
        free(data);
        journal_file_free(&f);
        return -1;
    }
    free(data);
    *out = f;
    return 0;
}

int journal_scan(const char *state_dir, struct journal_file **out, size_t *n, size_t *live,
                 struct diag *d)
{
    *out = NULL;
    *n = 0;
    *live = 0;
    char *dir = xasprintf("%s/journals", state_dir);
    DIR *dh = opendir(dir);
    if (!dh) {
        int e = errno;
        free(dir);
        if (e == ENOENT)
            return 0;
        diag_add(d, "state folder %s: cannot list journals: %s", state_dir, strerror(e));
        return -1;
    }
    int rc = 0;
    for (struct dirent *de; (de = readdir(dh));) {
        size_t l = strlen(de->d_name);
        if (l > 12 && !strcmp(de->d_name + l - 12, ".journal.new")) {
            /* A run that died before its journal had a begin record had
             * changed nothing: its unfinished file goes. */
            char *path = xasprintf("%s/%s", dir, de->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
                unlink(path);
            if (fd >= 0)
                close(fd);
            free(path);
            continue;
        }
        if (l < 9 || strcmp(de->d_name + l - 8, ".journal") != 0)
            continue;
        struct journal_file f;
        char *path = xasprintf("%s/%s", dir, de->d_name);
        int x = journal_load(path, &f, d);
        free(path);
        if (x == 1)
            (*live)++; /* its run is still going */
        if (x != 0) {
            rc = x < 0 ? -1 : rc;
            continue;
        }
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = f;
    }
    closedir(dh);
    free(dir);
    return rc;
}

size_t journal_count_waiting(const char *state_dir)
{
    char *dir = xasprintf("%s/journals", state_dir);
    DIR *dh = opendir(dir);
    free(dir);
    size_t n = 0;
    if (!dh)
        return 0;
    for (struct dirent *de; (de = readdir(dh));) {
        size_t l = strlen(de->d_name);
        n += l >= 9 && !strcmp(de->d_name + l - 8, ".journal");
    }
    closedir(dh);
    return n;
}

static bool same(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

bool journal_same_targets(const struct journal_file *f, const struct journal_targets *t)
{
    return same(journal_get(f->begin, "config"), t->config) &&
           same(journal_get(f->begin, "content"), t->content) &&
           same(journal_get(f->begin, "directory"), t->directory);
}

int journal_file_append(struct journal_file *f, const char *type, const char *site, struct diag *d,
                        ...)
{
    struct strbuf sb;
    sb_init(&sb);
    va_list ap;
    va_start(ap, d);
    format_record(&sb, type, site, ap);
    va_end(ap);
    int rc = write_all(f->fd, sb.buf, sb.len) == 0 && fsync(f->fd) == 0 ? 0 : -1;
    if (rc < 0 && d)
        diag_add(d, "journal %s: cannot write: %s", f->path, strerror(errno));
    sb_free(&sb);
    return rc;
}

void journal_file_remove(struct journal_file *f)
{
    unlink(f->path);
    char *slash = strrchr(f->path, '/');
    if (slash) {
        *slash = 0;
        sync_folder(f->path);
        *slash = '/';
    }
    journal_file_free(f);
}
