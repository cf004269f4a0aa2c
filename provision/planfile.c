/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/planfile.h"

#include "provision/journal.h"
#include "provision/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define PLAN_MAGIC "provision-plan"
#define KEY_BYTES  32

void planfile_init(struct planfile *p)
{
    memset(p, 0, sizeof *p);
}

void planfile_free(struct planfile *p)
{
    free(p->conf_path);
    free(p->conf_hash);
    for (size_t i = 0; i < p->n_lists; i++) {
        free(p->lists[i]);
        free(p->list_hashes[i]);
    }
    free(p->lists);
    free(p->list_hashes);
    for (size_t i = 0; i < p->n_deps; i++) {
        free(p->deps[i].kind);
        free(p->deps[i].name);
        free(p->deps[i].value);
    }
    free(p->deps);
    for (size_t i = 0; i < p->n_changes; i++)
        free(p->changes[i]);
    free(p->changes);
    planfile_init(p);
}

void planfile_dep(struct planfile *p, const char *kind, const char *name, const char *value)
{
    for (size_t i = 0; i < p->n_deps; i++)
        if (!strcmp(p->deps[i].kind, kind) && !strcmp(p->deps[i].name, name))
            return;
    p->deps = xrealloc(p->deps, (p->n_deps + 1) * sizeof *p->deps);
    p->deps[p->n_deps++] =
        (struct plan_dep){xstrdup(kind), xstrdup(name), xstrdup(value ? value : "")};
}

void planfile_change(struct planfile *p, const char *line)
{
    p->changes = xrealloc(p->changes, (p->n_changes + 1) * sizeof *p->changes);
    p->changes[p->n_changes++] = xstrdup(line);
}

void planfile_list(struct planfile *p, const char *path, const char *hash)
{
    p->lists = xrealloc(p->lists, (p->n_lists + 1) * sizeof *p->lists);
    p->list_hashes = xrealloc(p->list_hashes, (p->n_lists + 1) * sizeof *p->list_hashes);
    p->lists[p->n_lists] = xstrdup(path);
    p->list_hashes[p->n_lists++] = xstrdup(hash);
}

static int dep_cmp(const void *a, const void *b)
{
    const struct plan_dep *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->name, y->name);
}

void planfile_sort(struct planfile *p)
{
    if (p->n_deps)
        qsort(p->deps, p->n_deps, sizeof *p->deps, dep_cmp);
}

int file_sha256(const char *path, char out[65], struct diag *d)
{
    char *data;
    size_t len;
    if (read_file(path, &data, &len) < 0) {
        diag_add(d, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    sha256_hex(data, len, out);
    free(data);
    return 0;
}

/* The machine's plan key: made on first use. */
static int plan_key(const char *state_dir, bool create, uint8_t key[KEY_BYTES], struct diag *d)
{
    char *path = xasprintf("%s/plan.key", state_dir);
    int rc = -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        uint8_t fresh[KEY_BYTES];
        if (getrandom(fresh, sizeof fresh, 0) == (ssize_t)sizeof fresh) {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd >= 0 &&
                (write(fd, fresh, sizeof fresh) != (ssize_t)sizeof fresh || fsync(fd) != 0)) {
                close(fd);
                unlink(path);
                fd = -1;
            }
            if (fd >= 0)
                close(fd);
        }
        wipe(fresh, sizeof fresh);
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    struct stat st;
    if (fd < 0) {
        diag_add(d, "%s: %s (the key that signs saved plans%s)", path, strerror(errno),
                 create ? "" : "; a plan applies only where it was made");
    } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) ||
               st.st_uid != geteuid()) {
        diag_add(d, "%s: must be a regular file of this user, mode 0600", path);
    } else if (read(fd, key, KEY_BYTES) != KEY_BYTES) {
        diag_add(d, "%s: shorter than %d bytes", path, KEY_BYTES);
    } else {
        rc = 0;
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static void add_line(struct strbuf *sb, const char *tag, const char *a, const char *b,
                     const char *c)
{
    sb_adds(sb, tag);
    const char *fields[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (fields[i]) {
            sb_addc(sb, '\t');
            sb_add_field(sb, fields[i]);
        }
    sb_addc(sb, '\n');
}

static char *body_text(const struct planfile *p)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_addf(&sb, PLAN_MAGIC "\t%d\n", PLANFILE_VERSION);
    add_line(&sb, "conf", p->conf_path, p->conf_hash, NULL);
    for (size_t i = 0; i < p->n_lists; i++)
        add_line(&sb, "list", p->lists[i], p->list_hashes[i], NULL);
    for (size_t i = 0; i < p->n_deps; i++)
        add_line(&sb, "dep", p->deps[i].kind, p->deps[i].name, p->deps[i].value);
    for (size_t i = 0; i < p->n_changes; i++)
        add_line(&sb, "change", p->changes[i], NULL, NULL);
    return sb_detach(&sb);
}

static char *mac_of(const uint8_t key[KEY_BYTES], const char *text, size_t len)
{
    struct hmac_sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, KEY_BYTES, key);
    hmac_sha256_update(&ctx, len, (const uint8_t *)text);
    hmac_sha256_digest(&ctx, sizeof digest, digest);
    return hex_encode(digest, sizeof digest);
}

int planfile_write(const struct planfile *p, const char *path, const char *state_dir,
                   struct diag *d)
{
    uint8_t key[KEY_BYTES];
    if (plan_key(state_dir, true, key, d) < 0)
        return -1;
    char *body = body_text(p);
    char *mac = mac_of(key, body, strlen(body));
    wipe(key, sizeof key);
    char *text = xasprintf("%shmac\t%s\n", body, mac);
    int rc = atomic_replace(path, text, strlen(text), 0600, "the plan", d);
    free(text);
    free(body);
    free(mac);
    return rc;
}

/* Splits a line into at most 4 unescaped fields; returns the count. */
static size_t split(const char *line, size_t len, char *f[4])
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len && n < 4; i++)
        if (i == len || line[i] == '\t') {
            f[n++] = field_unescape(line + start, i - start);
            start = i + 1;
        }
    return n;
}

int planfile_read(struct planfile *p, const char *path, const char *state_dir, struct diag *d)
{
    planfile_init(p);
    char *data;
    size_t len;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        diag_add(d, "%s: not a regular file", path);
        return -1;
    }
    if (read_file(path, &data, &len) < 0) {
        diag_add(d, "%s: cannot read the plan: %s", path, strerror(errno));
        return -1;
    }
    char want[64];
    int wl = snprintf(want, sizeof want, PLAN_MAGIC "\t%d\n", PLANFILE_VERSION);
    const char *hm = len >= 6 ? strstr(data, "\nhmac\t") : NULL;
    if (len < (size_t)wl || memcmp(data, want, (size_t)wl) != 0) {
        diag_add(d, "%s: not a version %d plan of provision", path, PLANFILE_VERSION);
        free(data);
        return -1;
    }
    if (!hm) {
        diag_add(d, "%s: the plan has no signature (hmac line); refused", path);
        free(data);
        return -1;
    }
    size_t body_len = (size_t)(hm - data) + 1;
    uint8_t key[KEY_BYTES];
    if (plan_key(state_dir, false, key, d) < 0) {
        free(data);
        return -1;
    }
    char *mac = mac_of(key, data, body_len);
    wipe(key, sizeof key);
    const char *given = hm + 6;
    size_t given_len = strcspn(given, "\n");
    bool ok = given_len == 64 && !memcmp(given, mac, 64) && given[64] == '\n' && !given[65];
    free(mac);
    if (!ok) {
        diag_add(d,
                 "%s: the plan's signature does not match: it was edited, or made with "
                 "another state folder (a plan applies only where it was made); refused",
                 path);
        free(data);
        return -1;
    }
    int rc = planfile_parse(p, data, body_len, path, d);
    free(data);
    return rc;
}

int planfile_parse(struct planfile *p, const char *data, size_t len, const char *name,
                   struct diag *d)
{
    planfile_init(p);
    char want[64];
    int wl = snprintf(want, sizeof want, PLAN_MAGIC "\t%d\n", PLANFILE_VERSION);
    if (len < (size_t)wl || memcmp(data, want, (size_t)wl) != 0) {
        diag_add(d, "%s: not a version %d plan of provision", name, PLANFILE_VERSION);
        return -1;
    }
    size_t pos = (size_t)wl, lineno = 1;
    int rc = 0;
    while (pos < len && rc == 0) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
        lineno++;
        char *f[4] = {0};
        size_t nf = split(data + pos, n, f);
        if (nf == 3 && !strcmp(f[0], "conf") && !p->conf_path) {
            p->conf_path = f[1], p->conf_hash = f[2], f[1] = f[2] = NULL;
        } else if (nf == 3 && !strcmp(f[0], "list")) {
            planfile_list(p, f[1], f[2]);
        } else if (nf == 4 && !strcmp(f[0], "dep")) {
            planfile_dep(p, f[1], f[2], f[3]);
        } else if (nf == 2 && !strcmp(f[0], "change")) {
            planfile_change(p, f[1]);
        } else {
            diag_add(d, "%s:%zu: malformed plan line", name, lineno);
            rc = -1;
        }
        for (size_t i = 0; i < 4; i++)
            free(f[i]);
        pos += n + 1;
    }
    if (rc == 0 && !p->conf_path) {
        diag_add(d, "%s: the plan names no configuration", name);
        rc = -1;
    }
    if (rc < 0)
        planfile_free(p);
    else
        planfile_sort(p);
    return rc;
}

static const struct plan_dep *find_dep(const struct planfile *p, const struct plan_dep *x)
{
    if (!p->n_deps)
        return NULL;
    return bsearch(x, p->deps, p->n_deps, sizeof *p->deps, dep_cmp);
}

int planfile_compare(const struct planfile *saved, const struct planfile *now, struct diag *d)
{
    size_t before = d->count;
    for (size_t i = 0; i < saved->n_deps; i++) {
        const struct plan_dep *x = &saved->deps[i], *y = find_dep(now, x);
        if (!y)
            diag_add(d, "changed since the plan: %s %s is no longer part of it", x->kind, x->name);
        else if (strcmp(x->value, y->value) != 0)
            diag_add(d, "changed since the plan: %s %s%s", x->kind, x->name,
                     !strcmp(x->value, "absent")   ? " (it exists now)"
                     : !strcmp(y->value, "absent") ? " (it is gone)"
                                                   : "");
    }
    for (size_t i = 0; i < now->n_deps; i++)
        if (!find_dep(saved, &now->deps[i]))
            diag_add(d, "changed since the plan: %s %s is new", now->deps[i].kind,
                     now->deps[i].name);
    if (d->count == before) {
        size_t n = saved->n_changes < now->n_changes ? saved->n_changes : now->n_changes;
        for (size_t i = 0; i <= n; i++) {
            const char *a = i < saved->n_changes ? saved->changes[i] : "(end)";
            const char *b = i < now->n_changes ? now->changes[i] : "(end)";
            if (i == n && saved->n_changes == now->n_changes)
                break;
            if (strcmp(a, b) != 0) {
                diag_add(d, "the changes differ from the plan: planned \"%s\", now \"%s\"", a, b);
                break;
            }
        }
    }
    return d->count == before ? 0 : -1;
}
