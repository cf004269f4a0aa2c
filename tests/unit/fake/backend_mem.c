/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The in-memory, file-persisted content back end: see backend_mem.h. */
#include "backend_mem.h"

#include "provision/ntfs/sddl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "provision-memfs 1\n"

struct mem_node {
    char *rel;
    bool is_dir;
    struct ntfs_sd sd;
};

struct mem_store {
    struct mem_node *n;
    size_t count;
};

struct mem_impl {
    char *path; /* the state file */
};

/* ------------------------------------------------------------------ store */

static void store_free(struct mem_store *s)
{
    for (size_t i = 0; i < s->count; i++) {
        free(s->n[i].rel);
        ntfs_sd_free(&s->n[i].sd);
    }
    free(s->n);
    memset(s, 0, sizeof *s);
}

static struct mem_node *store_find(struct mem_store *s, const char *rel)
{
    for (size_t i = 0; i < s->count; i++)
        if (ascii_casecmp(s->n[i].rel, rel) == 0)
            return &s->n[i];
    return NULL;
}

static char *parent_of(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
}

static bool is_child_of(const char *rel, const char *parent)
{
    if (!*rel)
        return false;
    char *p = parent_of(rel);
    bool r = ascii_casecmp(p, parent) == 0;
    free(p);
    return r;
}

/* libsmbclient's order of a DACL it returns: non-inherited first, deny
 * before allow, then SID, flags, mask. */
static int smb_order(const void *pa, const void *pb)
{
    const struct ntfs_ace *a = pa, *b = pb;
    int ia = (a->flags & NTFS_ACE_ID) != 0, ib = (b->flags & NTFS_ACE_ID) != 0;
    if (ia != ib)
        return ia - ib;
    if (a->type != b->type)
        return b->type - a->type;
    char x[NTFS_SID_STRING_MAX], y[NTFS_SID_STRING_MAX];
    ntfs_sid_format(&a->sid, x, sizeof x);
    ntfs_sid_format(&b->sid, y, sizeof y);
    int c = strcmp(x, y);
    if (c)
        return c;
    if (a->flags != b->flags)
        return a->flags - b->flags;
    return a->mask < b->mask ? -1 : a->mask > b->mask;
}

/* What Samba keeps of a descriptor set over SMB. */
static void smb_store(struct ntfs_sd *sd)
{
    if (sd->ace_count)
        qsort(sd->aces, sd->ace_count, sizeof *sd->aces, smb_order);
    size_t k = 0;
    for (size_t i = 0; i < sd->ace_count; i++)
        if (k == 0 || smb_order(&sd->aces[k - 1], &sd->aces[i]) != 0)
            sd->aces[k++] = sd->aces[i];
    sd->ace_count = k;
    sd->control = NTFS_SD_SELF_RELATIVE | NTFS_SD_DACL_PRESENT;
}

static void store_add(struct mem_store *s, const char *rel, bool is_dir, struct ntfs_sd *sd)
{
    s->n = xrealloc(s->n, (s->count + 1) * sizeof *s->n);
    struct mem_node *n = &s->n[s->count++];
    n->rel = xstrdup(rel);
    n->is_dir = is_dir;
    n->sd = *sd; /* moved */
}

/* A new object under parent, as Samba makes it. */
static int store_create(struct mem_store *s, const struct mem_node *parent, const char *rel,
                        bool is_dir)
{
    struct ntfs_sd sd;
    ntfs_sd_init(&sd);
    if (ntfs_sd_inherit(&parent->sd, is_dir, NULL, &sd) != 0)
        return -1;
    if (!(parent->sd.control & NTFS_SD_DACL_AUTO_INHERITED))
        for (size_t i = 0; i < sd.ace_count; i++)
            sd.aces[i].flags &= (uint8_t)~NTFS_ACE_ID;
    smb_store(&sd);
    store_add(s, rel, is_dir, &sd);
    return 0;
}

/* Reads the state file. 0, or -1 with a message (d may be NULL: stderr). */
static int store_load(const char *path, struct mem_store *s, struct diag *d)
{
    memset(s, 0, sizeof *s);
    char *text;
    size_t len;
    if (read_file(path, &text, &len) < 0) {
        if (d)
            diag_add(d, "%s (mem): cannot read the state: %s", path, strerror(errno));
        else
            fprintf(stderr, "%s (mem): cannot read the state: %s\n", path, strerror(errno));
        return -1;
    }
    const char *why = NULL;
    unsigned line = 1;
    if (strncmp(text, MAGIC, strlen(MAGIC)) != 0)
        why = "not a memfs state (bad first line)";
    for (char *p = text + (why ? len : strlen(MAGIC)); !why && *p;) {
        line++;
        char *end = strchr(p, '\n');
        if (!end) {
            why = "last line not ended";
            break;
        }
        *end = '\0';
        char *t1 = strchr(p, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2 || t1 != p + 1 || (*p != 'd' && *p != 'f')) {
            why = "want d|f<TAB>REL<TAB>SDDL";
            break;
        }
        *t2 = '\0';
        struct ntfs_sd sd;
        char err[128];
        if (ntfs_sddl_parse(t2 + 1, &sd, err, sizeof err) != 0) {
            why = "bad SDDL";
            break;
        }
        if (store_find(s, t1 + 1)) {
            ntfs_sd_free(&sd);
            why = "path listed twice";
            break;
        }
        store_add(s, t1 + 1, *p == 'd', &sd);
        p = end + 1;
    }
    if (!why && (!s->count || *s->n[0].rel || !s->n[0].is_dir))
        why = "the root is not the first entry";
    free(text);
    if (why) {
        if (d)
            diag_add(d, "%s (mem): line %u: %s", path, line, why);
        else
            fprintf(stderr, "%s (mem): line %u: %s\n", path, line, why);
        store_free(s);
        return -1;
    }
    return 0;
}

static int by_rel(const void *a, const void *b)
{
    return strcmp(((const struct mem_node *)a)->rel, ((const struct mem_node *)b)->rel);
}

/* Rewrites the state file whole: a temp file renamed over it. */
static int store_save(const char *path, struct mem_store *s, struct diag *d)
{
    qsort(s->n, s->count, sizeof *s->n, by_rel);
    struct strbuf sb;
    sb_init(&sb);
    sb_adds(&sb, MAGIC);
    for (size_t i = 0; i < s->count; i++) {
        char *sddl = ntfs_sddl_format(&s->n[i].sd);
        sb_addf(&sb, "%c\t%s\t%s\n", s->n[i].is_dir ? 'd' : 'f', s->n[i].rel, sddl);
        free(sddl);
    }
    char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    bool ok = f && fwrite(sb.buf, 1, sb.len, f) == sb.len;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        if (d)
            diag_add(d, "%s (mem): cannot save the state: %s", path, strerror(errno));
        else
            fprintf(stderr, "%s (mem): cannot save the state: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    sb_free(&sb);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ operations */

static const char *state_of(struct acl_backend *b)
{
    return ((struct mem_impl *)b->impl)->path;
}

static int m_exists(struct acl_backend *b, const char *rel, bool *is_dir, struct diag *d)
{
    struct mem_store s;
    if (store_load(state_of(b), &s, d) < 0)
        return -1;
    struct mem_node *n = store_find(&s, rel);
    if (n && is_dir)
        *is_dir = n->is_dir;
    int r = n ? 1 : 0;
    store_free(&s);
    return r;
}

static int m_mkdir(struct acl_backend *b, const char *rel, struct diag *d)
{
    struct mem_store s;
    if (store_load(state_of(b), &s, d) < 0)
        return -1;
    int r;
    char *p = parent_of(rel);
    struct mem_node *parent = store_find(&s, p);
    free(p);
    if (store_find(&s, rel)) {
        r = -EEXIST;
    } else if (!parent || !parent->is_dir) {
        r = -ENOENT;
    } else if (store_create(&s, parent, rel, true) < 0) {
        diag_add(d, "'%s' in %s (mem): out of memory", rel, b->location);
        r = -1;
    } else {
        r = store_save(state_of(b), &s, d);
    }
    store_free(&s);
    return r;
}

static int m_rmdir(struct acl_backend *b, const char *rel, struct diag *d)
{
    struct mem_store s;
    if (store_load(state_of(b), &s, d) < 0)
        return -1;
    int r = 0;
    struct mem_node *n = store_find(&s, rel);
    if (!n || !n->is_dir || !*rel) {
        diag_add(d, "'%s' in %s (mem): cannot remove folder: %s", rel, b->location,
                 !n ? "no such folder" : "not a folder");
        r = -1;
    }
    for (size_t i = 0; r == 0 && i < s.count; i++)
        if (is_child_of(s.n[i].rel, rel))
            r = -ENOTEMPTY;
    if (r == 0) {
        free(n->rel);
        ntfs_sd_free(&n->sd);
        *n = s.n[--s.count];
        r = store_save(state_of(b), &s, d);
    }
    store_free(&s);
    return r;
}

static int m_get_sd(struct acl_backend *b, const char *rel, struct ntfs_sd *sd, struct diag *d)
{
    ntfs_sd_init(sd);
    struct mem_store s;
    if (store_load(state_of(b), &s, d) < 0)
        return -1;
    struct mem_node *n = store_find(&s, rel);
    int r = 0;
    if (!n) {
        diag_add(d, "'%s' in %s (mem): cannot read the security descriptor: no such object", rel,
                 b->location);
        r = -1;
    } else if (ntfs_sd_copy(sd, &n->sd) != 0) {
        r = -1;
    }
    store_free(&s);
    return r;
}

static int m_set_sd(struct acl_backend *b, const char *rel, const struct ntfs_sd *sd,
                    struct diag *d)
{
    struct mem_store s;
    if (store_load(state_of(b), &s, d) < 0)
        return -1;
    struct mem_node *n = store_find(&s, rel);
    int r = 0;
    if (!n) {
        diag_add(d, "'%s' in %s (mem): cannot write the security descriptor: no such object", rel,
                 b->location);
        r = -1;
    } else {
        struct ntfs_sd copy;
        if (ntfs_sd_copy(&copy, sd) != 0) {
            r = -1;
        } else {
            smb_store(&copy);
            ntfs_sd_free(&n->sd);
            n->sd = copy;
            r = store_save(state_of(b), &s, d);
        }
    }
    store_free(&s);
    return r;
}

static int m_list(struct acl_backend *b, const char *rel, struct acl_dirent **out, size_t *cnt,
                  struct diag *d)
{
    *out = NULL;
    *cnt = 0;
    struct mem_store s;
    if (store_load(state_of(b), &s, d) < 0)
        return -1;
    struct mem_node *n = store_find(&s, rel);
    if (!n || !n->is_dir) {
        diag_add(d, "'%s' in %s (mem): cannot list: %s", rel, b->location,
                 n ? "not a folder" : "no such folder");
        store_free(&s);
        return -1;
    }
    for (size_t i = 0; i < s.count; i++) {
        if (!is_child_of(s.n[i].rel, rel))
            continue;
        *out = xrealloc(*out, (*cnt + 1) * sizeof **out);
        const char *slash = strrchr(s.n[i].rel, '/');
        (*out)[*cnt].name = xstrdup(slash ? slash + 1 : s.n[i].rel);
        (*out)[*cnt].is_dir = s.n[i].is_dir;
        (*cnt)++;
    }
    store_free(&s);
    return 0;
}

static int m_close(struct acl_backend *b, struct diag *d)
{
    (void)d;
    struct mem_impl *im = b->impl;
    if (im) {
        free(im->path);
        free(im);
    }
    b->impl = NULL;
    return 0;
}

static const struct acl_backend_ops mem_ops = {
    .exists = m_exists,
    .mkdir = m_mkdir,
    .rmdir = m_rmdir,
    .get_sd = m_get_sd,
    .set_sd = m_set_sd,
    .list = m_list,
    .close = m_close,
};

/* ------------------------------------------------------------------ type */

char *mem_fs_state_path(const char *location)
{
    size_t n = strlen(location), k = strlen(MEM_FS_SUFFIX);
    if (!strncmp(location, MEM_FS_SCHEME, strlen(MEM_FS_SCHEME)))
        return xstrdup(location + strlen(MEM_FS_SCHEME));
    if (location[0] == '/' && n > k && !strcmp(location + n - k, MEM_FS_SUFFIX))
        return xstrdup(location);
    return NULL;
}

static bool mem_match(const char *location)
{
    char *p = mem_fs_state_path(location);
    free(p);
    return p != NULL;
}

static int mem_init(struct acl_backend *b, const char *location,
                    const struct acl_backend_options *opt, struct diag *d)
{
    (void)opt;
    char *path = mem_fs_state_path(location);
    if (!path || path[0] != '/') {
        diag_add(d,
                 "%s: a mem location names the state file's absolute path (" MEM_FS_SCHEME
                 "/PATH, or /PATH" MEM_FS_SUFFIX ")",
                 location);
        free(path);
        return -1;
    }
    struct mem_store s;
    if (store_load(path, &s, d) < 0) {
        free(path);
        return -1;
    }
    store_free(&s);
    struct mem_impl *im = xcalloc(1, sizeof *im);
    im->path = path;
    b->kind = ACL_BACKEND_SMB;
    b->caps = ACL_CAP_DESCRIPTORS;
    b->ops = &mem_ops;
    b->impl = im;
    return 0;
}

const struct acl_backend_type acl_backend_mem = {
    .syntax = MEM_FS_SCHEME "/PATH or /PATH" MEM_FS_SUFFIX " (tests: an in-memory share)",
    .match = mem_match,
    .init = mem_init,
};

/* ------------------------------------------------------------------ test helpers */

int mem_fs_create(const char *state, const char *root_sddl)
{
    struct mem_store s = {0};
    struct ntfs_sd sd;
    char err[128];
    if (ntfs_sddl_parse(root_sddl ? root_sddl : MEM_FS_SHARE_ROOT, &sd, err, sizeof err) != 0) {
        fprintf(stderr, "mem_fs_create: %s: %s\n", root_sddl, err);
        return -1;
    }
    store_add(&s, "", true, &sd);
    int r = store_save(state, &s, NULL);
    store_free(&s);
    return r;
}

int mem_fs_add(const char *state, const char *rel, bool is_dir)
{
    struct mem_store s;
    if (store_load(state, &s, NULL) < 0)
        return -1;
    char *p = parent_of(rel);
    struct mem_node *parent = store_find(&s, p);
    free(p);
    int r = -1;
    if (!*rel || store_find(&s, rel) || !parent || !parent->is_dir)
        fprintf(stderr, "mem_fs_add: %s: exists, or no parent folder\n", rel);
    else if (store_create(&s, parent, rel, is_dir) == 0)
        r = store_save(state, &s, NULL);
    store_free(&s);
    return r;
}

int mem_fs_exists(const char *state, const char *rel, bool *is_dir)
{
    struct mem_store s;
    if (store_load(state, &s, NULL) < 0)
        return -1;
    struct mem_node *n = store_find(&s, rel);
    if (n && is_dir)
        *is_dir = n->is_dir;
    store_free(&s);
    return n != NULL;
}

char *mem_fs_sddl(const char *state, const char *rel)
{
    struct mem_store s;
    if (store_load(state, &s, NULL) < 0)
        return NULL;
    struct mem_node *n = store_find(&s, rel);
    char *r = n ? ntfs_sddl_format(&n->sd) : NULL;
    store_free(&s);
    return r;
}

char **mem_fs_paths(const char *state, size_t *n)
{
    struct mem_store s;
    *n = 0;
    if (store_load(state, &s, NULL) < 0)
        return NULL;
    qsort(s.n, s.count, sizeof *s.n, by_rel);
    char **list = xcalloc(s.count ? s.count : 1, sizeof *list);
    for (size_t i = 0; i < s.count; i++)
        list[i] = xstrdup(s.n[i].rel);
    *n = s.count;
    store_free(&s);
    return list;
}

void mem_fs_free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}
