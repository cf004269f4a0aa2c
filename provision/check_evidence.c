/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What check's findings show: the folders' descriptors, read once for all
 * sites (and what a new file in each inherits), the names of SIDs, entries
 * as icacls writes them, and the evidence of a finding with where an
 * inherited entry comes from. */
#include "provision/check_internal.h"

#include "provision/fold.h"
#include "provision/ntfs/effective.h"
#include "provision/ntfs/sid.h"
#include "provision/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names --------------------------------------------------------------- */

void name_sid(struct ctx *c, const char *sid, const char *name)
{
    if (!strmap_get(&c->names, sid))
        strmap_put(&c->names, sid, xstrdup(name));
}

static const char *sid_display(struct ctx *c, const struct ntfs_sid *sid, char *buf, size_t n)
{
    const char *wk = token_wellknown_name(sid);
    if (wk)
        return wk;
    ntfs_sid_format(sid, buf, n);
    const char *name = strmap_get(&c->names, buf);
    return name ? name : buf;
}

/* icacls style: NAME:(I)(OI)(CI)(IO)(NP)(DENY)(RX) */
static char *ace_text(struct ctx *c, const struct ntfs_ace *a)
{
    char sidbuf[NTFS_SID_STRING_MAX];
    const char *who = sid_display(c, &a->sid, sidbuf, sizeof sidbuf);
    struct strbuf sb;
    sb_init(&sb);
    sb_addf(&sb, "%s:", who);
    if (a->flags & NTFS_ACE_ID)
        sb_adds(&sb, "(I)");
    if (a->flags & NTFS_ACE_OI)
        sb_adds(&sb, "(OI)");
    if (a->flags & NTFS_ACE_CI)
        sb_adds(&sb, "(CI)");
    if (a->flags & NTFS_ACE_IO)
        sb_adds(&sb, "(IO)");
    if (a->flags & NTFS_ACE_NP)
        sb_adds(&sb, "(NP)");
    if (a->type == NTFS_ACE_DENY)
        sb_adds(&sb, "(DENY)");
    uint32_t mask = ntfs_map_generic_file(a->mask);
    const char *letters = ntfs_access_letters(mask);
    if (strcmp(letters, "special") != 0 && strcmp(letters, "-") != 0) {
        sb_addf(&sb, "(%s)", letters);
        return sb_detach(&sb);
    }
    /* The specific rights, as icacls abbreviates them. */
    static const struct {
        uint32_t bit;
        const char *name;
    } rights[] = {{0x1, "RD"},     {0x2, "WD"},    {0x4, "AD"},     {0x8, "REA"},
                  {0x10, "WEA"},   {0x20, "X"},    {0x40, "DC"},    {0x80, "RA"},
                  {0x100, "WA"},   {0x10000, "D"}, {0x20000, "RC"}, {0x40000, "WDAC"},
                  {0x80000, "WO"}, {0x100000, "S"}};
    sb_addc(&sb, '(');
    size_t before = sb.len;
    for (size_t i = 0; i < sizeof rights / sizeof *rights; i++)
        if (mask & rights[i].bit) {
            sb_addf(&sb, "%s%s", sb.len > before ? "," : "", rights[i].name);
            mask &= ~rights[i].bit;
        }
    if (mask || sb.len == before)
        sb_addf(&sb, "%s0x%x", sb.len > before ? "," : "", (unsigned)mask);
    sb_addc(&sb, ')');
    return sb_detach(&sb);
}

/* ---- folders ------------------------------------------------------------- */

char *windows_path(const char *root, const char *rel)
{
    size_t n = strlen(root);
    while (n && root[n - 1] == '\\')
        n--;
    char *w = *rel ? xasprintf("%.*s\\%s", (int)n, root, rel) : xstrndup(root, n);
    for (char *p = w + n; *p; p++)
        if (*p == '/')
            *p = '\\';
    return w;
}

/* The physical path below the content root, '/' between components, or
 * NULL when it is not below it. */
char *below_root(const char *root, const char *path)
{
    size_t len;
    if (!name_path_within(path, root, &len))
        return NULL;
    const char *rest = path + len;
    while (*rest == '\\')
        rest++;
    char *rel = xstrdup(rest);
    size_t m = strlen(rel);
    while (m && rel[m - 1] == '\\')
        rel[--m] = '\0';
    for (char *p = rel; *p; p++)
        if (*p == '\\')
            *p = '/';
    if (*rel && acl_path_problem(rel)) {
        free(rel);
        return NULL;
    }
    return rel;
}

static char *parent_rel(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
}

/* The folder rel (read on first use, with its ancestors). */
int folder_get(struct ctx *c, const char *rel)
{
    void *v = strmap_get(&c->by_rel, rel);
    if (v)
        return (int)((intptr_t)v - 1);
    int parent = -1;
    if (*rel) {
        char *up = parent_rel(rel);
        parent = folder_get(c, up);
        free(up);
    }
    if (c->n_folders == c->cap_folders) {
        c->cap_folders = c->cap_folders ? 2 * c->cap_folders : 64;
        c->folders = xrealloc(c->folders, c->cap_folders * sizeof *c->folders);
    }
    struct folder *f = &c->folders[c->n_folders];
    memset(f, 0, sizeof *f);
    f->rel = xstrdup(rel);
    f->win = windows_path(c->in->content_root, rel);
    f->parent = parent;
    struct diag d;
    diag_init(&d);
    if (acl_read_sd(c->in->content, rel, &f->sd, &d) < 0)
        f->error = xstrdup(d.count ? d.msgs[0] : "the descriptor could not be read");
    else if (ntfs_sd_inherit(&f->sd, 0, NULL, &f->file_sd) != 0)
        f->error = xstrdup("out of memory");
    diag_free(&d);
    int idx = (int)c->n_folders++;
    strmap_put(&c->by_rel, rel, (void *)(intptr_t)(idx + 1));
    return idx;
}

/* Where the inherited ACE a of folder f (or of its files, files true)
 * comes from: the nearest folder up the chain holding a matching ACE that
 * is not inherited itself; "above the content root" when even the root's
 * is inherited. */
static char *ace_origin(struct ctx *c, int f, bool files, const struct ntfs_ace *a)
{
    if (!(a->flags & NTFS_ACE_ID))
        return NULL;
    for (int k = files ? f : c->folders[f].parent; k >= 0; k = c->folders[k].parent) {
        const struct folder *fo = &c->folders[k];
        if (fo->error)
            return NULL;
        for (size_t i = 0; i < fo->sd.ace_count; i++) {
            const struct ntfs_ace *p = &fo->sd.aces[i];
            if (p->type != a->type || !ntfs_sid_equal(&p->sid, &a->sid) ||
                !(p->flags & (NTFS_ACE_OI | NTFS_ACE_CI)))
                continue;
            if (!(p->flags & NTFS_ACE_ID))
                return xstrdup(fo->win);
            if (fo->parent < 0)
                return xasprintf("above %s (the content root)", fo->win);
        }
    }
    return NULL;
}

/* Evidence for ACE a of folder f's descriptor, or (files) of what a new
 * file in f inherits: then the entry shown is the folder's own one that
 * the file's comes from, as icacls shows the folder. */
void add_evidence(struct ctx *c, struct check_finding *fi, int folder, bool files,
                  const struct ntfs_ace *a)
{
    const struct folder *f = &c->folders[folder];
    const struct ntfs_ace *shown = a;
    /* The folder's entry the file's one comes from: same SID and type,
     * passed to files, the same rights once generic ones are mapped. */
    for (int pass = 0; files && shown == a && pass < 2; pass++)
        for (size_t i = 0; i < f->sd.ace_count && shown == a; i++) {
            const struct ntfs_ace *p = &f->sd.aces[i];
            if (p->type == a->type && (p->flags & NTFS_ACE_OI) &&
                ntfs_sid_equal(&p->sid, &a->sid) &&
                (pass == 1 || ntfs_map_generic_file(p->mask) == ntfs_map_generic_file(a->mask)))
                shown = p;
        }
    char *text = ace_text(c, shown);
    for (size_t i = 0; i < fi->n_evidence; i++)
        if (!strcmp(fi->evidence[i].path, f->win) && !strcmp(fi->evidence[i].ace, text)) {
            free(text);
            return; /* said already (the folder's and its files' entry alike) */
        }
    fi->evidence = xrealloc(fi->evidence, (fi->n_evidence + 1) * sizeof *fi->evidence);
    struct check_evidence *e = &fi->evidence[fi->n_evidence++];
    e->path = xstrdup(f->win);
    e->ace = text;
    e->from =
        shown != a || !files ? ace_origin(c, folder, false, shown) : ace_origin(c, folder, true, a);
}

/* Adds the ACEs that decided mask in a as evidence. */
void add_deciding(struct ctx *c, struct check_finding *fi, int folder, bool files,
                  const struct ntfs_access *a, uint32_t mask)
{
    const struct ntfs_sd *sd = files ? &c->folders[folder].file_sd : &c->folders[folder].sd;
    int idx[8];
    size_t n = ntfs_access_evidence(a, mask, idx, 8);
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= 0 && (size_t)idx[i] < sd->ace_count)
            add_evidence(c, fi, folder, files, &sd->aces[idx[i]]);
}
