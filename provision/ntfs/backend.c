/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What every back end shares (backend.h): opening a location through the
 * registered back ends (acl_backend_types), the accessors, the observer,
 * and the generic operations built on the back-end primitives. Knows no
 * back end itself: each one comes in through its struct acl_backend_type. */
#include "provision/ntfs/backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provision/ntfs/acl_internal.h"
#include "provision/timings.h"

/* "expected A, B, or C" from the registered back ends' syntaxes; heap. */
char *acl_expected_locations(void)
{
    struct strbuf sb;
    size_t n = 0;
    while (acl_backend_types[n])
        n++;
    sb_init(&sb);
    sb_adds(&sb, "expected ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sb_adds(&sb, n == 2 ? " or " : i + 1 == n ? ", or " : ", ");
        sb_adds(&sb, acl_backend_types[i]->syntax);
    }
    return sb_detach(&sb);
}

bool acl_location_known(const char *location)
{
    if (!location || !*location)
        return false;
    for (size_t i = 0; acl_backend_types[i]; i++)
        if (acl_backend_types[i]->match(location))
            return true;
    return false;
}

int acl_backend_open(const char *location, const struct acl_backend_options *opt,
                     struct acl_backend **out, struct diag *d)
{
    const struct acl_backend_type *type = NULL;
    struct acl_backend *b;

    *out = NULL;
    if (!location || !*location) {
        char *exp = acl_expected_locations();
        diag_add(d, "empty location: %s", exp);
        free(exp);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)location; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            char *s = acl_shown(location);
            diag_add(d, "location '%s' contains a control character", s);
            free(s);
            return -1;
        }
    for (size_t i = 0; acl_backend_types[i] && !type; i++)
        if (acl_backend_types[i]->match(location))
            type = acl_backend_types[i];
    if (!type) {
        char *exp = acl_expected_locations();
        diag_add(d, "malformed location '%s': %s", location, exp);
        free(exp);
        return -1;
    }
    b = xcalloc(1, sizeof *b);
    b->location = xstrdup(location);
    if (type->init(b, location, opt, d) != 0) {
        free(b->location);
        free(b);
        return -1;
    }
    *out = b;
    return 0;
}

int acl_backend_close(struct acl_backend *b, struct diag *d)
{
    int rc = 0;
    if (!b)
        return 0;
    acl_backend_forget(b);
    if (b->root_sd_known)
        ntfs_sd_free(&b->root_sd);
    if (b->ops && b->ops->close)
        rc = b->ops->close(b, d);
    free(b->location);
    free(b);
    return rc;
}

enum acl_backend_kind acl_backend_kind(const struct acl_backend *b)
{
    return b->kind;
}

unsigned acl_backend_caps(const struct acl_backend *b)
{
    return b->caps;
}

const char *acl_backend_name(const struct acl_backend *b)
{
    switch (b->kind) {
    case ACL_BACKEND_SMB:
        return "SMB";
    case ACL_BACKEND_NTFS3G:
        return "ntfs-3g";
    case ACL_BACKEND_SCRIPT_PS1:
        return "PowerShell script";
    case ACL_BACKEND_SCRIPT_CMD:
        return "icacls script";
    }
    return "?";
}

void acl_backend_observe(struct acl_backend *b, acl_effect_fn fn, void *ctx)
{
    b->observe = fn;
    b->observe_ctx = ctx;
}

int acl_announce(struct acl_backend *b, enum acl_effect what, const char *rel,
                 const struct ntfs_sd *old, const struct ntfs_sd *new, struct diag *d)
{
    return b->observe ? b->observe(b->observe_ctx, what, rel, old, new, d) : 0;
}

const char *acl_backend_location(const struct acl_backend *b)
{
    return b->location;
}

char *acl_where(const struct acl_backend *b, const char *rel)
{
    char *w = acl_winpath(rel);
    char *s = xasprintf("'%s' in %s (%s)", *w ? w : "(root)", b->location, acl_backend_name(b));
    free(w);
    return s;
}

static bool has_descriptors(struct acl_backend *b, const char *rel, struct diag *d)
{
    if (b->caps & ACL_CAP_DESCRIPTORS)
        return true;
    char *w = acl_where(b, rel);
    diag_add(d, "%s: a script back end cannot read or change anything itself", w);
    free(w);
    return false;
}

/* What the back end said of one path while remembering. */
struct remembered {
    int exists; /* -2: not asked yet; else acl_exists' answer (0 or 1) */
    bool is_dir;
    bool has_sd;
    struct ntfs_sd sd;
};

static void remembered_free(struct remembered *r)
{
    if (r->has_sd)
        ntfs_sd_free(&r->sd);
    free(r);
}

void acl_backend_remember(struct acl_backend *b)
{
    acl_backend_forget(b);
    b->remembered = xcalloc(1, sizeof *b->remembered);
    strmap_init(b->remembered);
}

/* One key per object: callers write rel with '\\' or '/', and the
 * servers compare names without regard to case. */
static char *remembered_key(const char *rel)
{
    char *key = ascii_lower_dup(rel);
    for (char *p = key; *p; p++)
        if (*p == '\\')
            *p = '/';
    return key;
}

static void forget_path(struct acl_backend *b, const char *rel)
{
    if (!*rel && b->root_sd_known) {
        ntfs_sd_free(&b->root_sd);
        b->root_sd_known = false;
    }
    if (!b->remembered)
        return;
    char *key = remembered_key(rel);
    struct remembered *r = strmap_del(b->remembered, key);
    free(key);
    if (r)
        remembered_free(r);
}

void acl_backend_forget(struct acl_backend *b)
{
    if (!b || !b->remembered)
        return;
    for (size_t i = 0; i < b->remembered->cap; i++)
        if (b->remembered->slots[i].key)
            remembered_free(b->remembered->slots[i].value);
    strmap_free(b->remembered);
    free(b->remembered);
    b->remembered = NULL;
}

/* The entry for rel while remembering (made on first use), else NULL. */
static struct remembered *remembered_of(struct acl_backend *b, const char *rel)
{
    if (!b->remembered)
        return NULL;
    char *key = remembered_key(rel);
    struct remembered *r = strmap_get(b->remembered, key);
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->exists = -2;
        strmap_put(b->remembered, key, r);
    }
    free(key);
    return r;
}

/* While remembering: whether a folder above rel was found missing. */
static bool under_missing(const struct acl_backend *b, const char *rel)
{
    if (!b->remembered)
        return false;
    char *key = remembered_key(rel);
    bool missing = false;
    for (char *slash = strrchr(key, '/'); slash && !missing; slash = strrchr(key, '/')) {
        *slash = '\0';
        const struct remembered *above = strmap_get(b->remembered, key);
        missing = above && above->exists == 0;
    }
    free(key);
    return missing;
}

int acl_exists(struct acl_backend *b, const char *rel, bool *is_dir, struct diag *d)
{
    if (!has_descriptors(b, rel, d))
        return -1;
    if (under_missing(b, rel)) {
        if (is_dir)
            *is_dir = false;
        return 0;
    }
    struct remembered *r = remembered_of(b, rel);
    if (r && r->exists >= 0) {
        if (is_dir)
            *is_dir = r->is_dir;
        return r->exists;
    }
    bool dir = false;
    uint64_t t = timing_start();
    int rc = b->ops->exists(b, rel, &dir, d);
    timing_stop(TIMING_CONTENT_READ, t);
    if (is_dir)
        *is_dir = dir;
    if (r && rc >= 0) {
        r->exists = rc;
        r->is_dir = dir;
    }
    return rc;
}

int acl_ensure_folder(struct acl_backend *b, const char *rel, struct acl_pathlist *created,
                      struct diag *d)
{
    bool is_dir = false;
    int rc;

    if (!has_descriptors(b, rel, d))
        return -1;
    if (!*rel)
        return 0; /* the root */
    for (int round = 0; round < 2; round++) {
        if (acl_announce(b, ACL_EFFECT_MKDIR, rel, NULL, NULL, d) != 0)
            return -1;
        uint64_t t = timing_start();
        forget_path(b, rel);
        rc = b->ops->mkdir(b, rel, d);
        timing_stop(TIMING_CONTENT_WRITE, t);
        if (rc == 0) {
            if (created)
                acl_pathlist_add(created, rel);
            return 0;
        }
        if (rc == -EEXIST) {
            /* Only a folder that was there is "existed": after any other
             * failure (a timeout: the server may have made it all the
             * same) recovery must still look for it and remove it. */
            acl_announce(b, ACL_EFFECT_MKDIR_EXISTED, rel, NULL, NULL, d);
            rc = b->ops->exists(b, rel, &is_dir, d);
            if (rc < 0)
                return -1;
            if (rc == 1 && is_dir)
                return 0;
            char *w = acl_where(b, rel);
            diag_add(d, "%s: exists and is not a folder", w);
            free(w);
            return -1;
        }
        if (rc != -ENOENT || round == 1)
            break;
        char *parent = acl_parent_of(rel);
        if (!*parent) {
            free(parent);
            char *w = acl_where(b, rel);
            diag_add(d, "%s: cannot create folder: the location's root does not exist", w);
            free(w);
            return -1;
        }
        rc = acl_ensure_folder(b, parent, created, d);
        free(parent);
        if (rc != 0)
            return -1;
    }
    if (rc == -ENOENT) {
        char *w = acl_where(b, rel);
        diag_add(d, "%s: cannot create folder: its parent vanished", w);
        free(w);
    }
    return -1;
}

int acl_sd_size_ok(struct acl_backend *b, const char *rel, const struct ntfs_sd *sd,
                   const char *what, struct diag *d)
{
    uint8_t *buf;
    size_t len;
    int rc = ntfs_sd_encode(sd, &buf, &len);
    if (rc == 0) {
        free(buf);
        if (len <= ACL_SD_MAX)
            return 0;
    }
    char *w = acl_where(b, rel);
    if (rc == 0 || rc == NTFS_SD_ETOOBIG)
        diag_add(d, "%s: the security descriptor %s over the 64 KiB limit", w, what);
    else
        diag_add(d, "%s: the security descriptor %s not encodable: %s", w, what,
                 ntfs_sd_strerror(rc));
    free(w);
    return -1;
}

int acl_read_sd(struct acl_backend *b, const char *rel, struct ntfs_sd *out, struct diag *d)
{
    ntfs_sd_init(out);
    if (!has_descriptors(b, rel, d))
        return -1;
    bool root = !*rel;
    struct remembered *r = root ? NULL : remembered_of(b, rel);
    int got;
    if (r && r->has_sd) {
        got = ntfs_sd_copy(out, &r->sd);
    } else if (root && b->remembered && b->root_sd_known) {
        got = ntfs_sd_copy(out, &b->root_sd);
    } else {
        uint64_t t = timing_start();
        got = b->ops->get_sd(b, rel, out, d);
        timing_stop(TIMING_CONTENT_READ, t);
        if (r && got == 0 && ntfs_sd_copy(&r->sd, out) == 0)
            r->has_sd = true;
        if (root && b->remembered && got == 0 && ntfs_sd_copy(&b->root_sd, out) == 0)
            b->root_sd_known = true;
    }
    if (got != 0)
        return -1;
    if (acl_sd_size_ok(b, rel, out, "is", d) != 0) {
        ntfs_sd_free(out);
        return -1;
    }
    if (acl_announce(b, ACL_EFFECT_READ, rel, out, NULL, d) != 0) {
        ntfs_sd_free(out);
        return -1;
    }
    return 0;
}

int acl_write_sd(struct acl_backend *b, const char *rel, const struct ntfs_sd *sd, struct diag *d)
{
    struct ntfs_sd back;
    char why[400];

    if (!has_descriptors(b, rel, d))
        return -1;
    if (acl_sd_size_ok(b, rel, sd, "would be", d) != 0)
        return -1;
    forget_path(b, rel);
    uint64_t t = timing_start(); /* the write and its read-back */
    int rc = b->ops->set_sd(b, rel, sd, d) != 0 || b->ops->get_sd(b, rel, &back, d) != 0 ? -1 : 0;
    timing_stop(TIMING_CONTENT_WRITE, t);
    if (rc != 0)
        return -1;
    bool same = acl_sd_equivalent(sd, &back, b->caps, why, sizeof why);
    ntfs_sd_free(&back);
    if (!same) {
        char *w = acl_where(b, rel);
        diag_add(d, "%s: the descriptor read back differs from the one written: %s", w, why);
        free(w);
        return -1;
    }
    return 0;
}

int acl_list(struct acl_backend *b, const char *rel, struct acl_dirent **out, size_t *n,
             struct diag *d)
{
    *out = NULL;
    *n = 0;
    if (!has_descriptors(b, rel, d))
        return -1;
    uint64_t t = timing_start();
    int rc = b->ops->list(b, rel, out, n, d);
    timing_stop(TIMING_CONTENT_READ, t);
    return rc;
}

int acl_remove_empty_folder(struct acl_backend *b, const char *rel, struct diag *d)
{
    if (!has_descriptors(b, rel, d))
        return -1;
    if (!*rel) {
        diag_add(d, "the location's root is never removed");
        return -1;
    }
    forget_path(b, rel);
    uint64_t t = timing_start();
    int rc = b->ops->rmdir(b, rel, d);
    timing_stop(TIMING_CONTENT_WRITE, t);
    if (rc == 0)
        return 1;
    if (rc == -ENOTEMPTY)
        return 0;
    return -1;
}
