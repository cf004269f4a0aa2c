/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The grant engine (grants.h): merging the specs into the descriptors,
 * the inheritance walk below changed folders, the writes with their
 * announcements to the observer, the undo after a failure, the report and
 * the script back ends' path. It reaches the back ends only through
 * backend.h (plus the message and observer helpers of acl_internal.h);
 * the descriptor arithmetic it uses is in grants_inherit.c. */
#include "provision/ntfs/grants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/ntfs/acl_internal.h"
#include "provision/ntfs/grant.h"
#include "provision/ntfs/grants_internal.h"
#include "provision/ntfs/sddl.h"

struct folder {
    char *rel; /* normalised ('/') */
    size_t depth;
    bool protect;
    size_t *spec;
    size_t nspec;
    bool done;
    /* report for this folder */
    struct change_attr *attrs;
    size_t nattrs;
    size_t descendants;
    /* deep: objects below it repaired although it did not change, and
     * the first few of them (for the report) */
    size_t repaired;
    struct strbuf sample;
    size_t n_sample;
};

/* How many repaired paths a report names. */
#define REPAIRED_SAMPLE 5

struct pending {
    char *rel;
    struct ntfs_sd old, new;
    bool written;
};

struct engine {
    struct acl_backend *b;
    const struct acl_grant_spec *specs;
    size_t nspecs;
    bool dry_run, removing;
    bool deep;               /* also below folders that do not change */
    struct folder *deep_top; /* the unchanged folder being walked, or NULL */
    struct folder *f;
    size_t nf;
    struct acl_pathlist created; /* real: created by this call; dry run: would be */
    struct strmap virt;          /* dry run: the folders that would be created */
    struct strmap fresh;         /* real run: the folders created by this call */
    struct strmap cache;         /* lower(rel) -> struct ntfs_sd * as read */
    struct pending **w;
    size_t nw, capw;
    struct diag *d;
};

static void attr_add(struct folder *f, const char *name, const char *old, const char *new)
{
    f->attrs = xrealloc(f->attrs, (f->nattrs + 1) * sizeof *f->attrs);
    struct change_attr *a = &f->attrs[f->nattrs++];
    a->name = xstrdup(name);
    a->old_value = old ? xstrdup(old) : NULL;
    a->new_value = new ? xstrdup(new) : NULL;
    a->secret = false;
}

static bool zero_sid(const struct ntfs_sid *s)
{
    if (s->revision != 1)
        return true;
    for (size_t i = 0; i < 6; i++)
        if (s->authority[i])
            return false;
    for (size_t i = 0; i < s->count; i++)
        if (s->sub[i])
            return false;
    return true;
}

static int check_spec(const struct acl_grant_spec *s, size_t i, char **norm, struct diag *d)
{
    char sid[NTFS_SID_STRING_MAX];
    const struct ntfs_ace *a = &s->ace;
    if (acl_path_check(s->folder_rel, false, norm, d) != 0) {
        diag_add(d, "grant %zu: bad folder", i + 1);
        return -1;
    }
    ntfs_sid_format(&a->sid, sid, sizeof sid);
    const char *why = NULL;
    if (a->sid.count > NTFS_SID_MAX_SUB || zero_sid(&a->sid))
        why = "the SID is zero or invalid (resolve the principal first)";
    else if (a->type != NTFS_ACE_ALLOW && a->type != NTFS_ACE_DENY)
        why = "the ACE type is neither allow nor deny";
    else if (a->flags & ~(NTFS_ACE_OI | NTFS_ACE_CI | NTFS_ACE_NP | NTFS_ACE_IO))
        why = "only the flags OI, CI, NP and IO may be given";
    else if ((a->flags & (NTFS_ACE_NP | NTFS_ACE_IO)) && !(a->flags & (NTFS_ACE_OI | NTFS_ACE_CI)))
        why = "NP and IO need OI or CI";
    else if (a->mask == 0 || (a->mask & ~NTFS_GRANT_VALID_MASK))
        why = "the access mask is zero or has bits outside file and standard rights";
    if (why) {
        char *w = acl_winpath(*norm);
        diag_add(d, "grant %zu on '%s' for %s: %s", i + 1, w, a->sid.count ? sid : "(zero SID)",
                 why);
        free(w);
        free(*norm);
        *norm = NULL;
        return -1;
    }
    return 0;
}

static int folder_cmp(const void *pa, const void *pb)
{
    const struct folder *a = pa, *b = pb;
    if (a->depth != b->depth)
        return a->depth < b->depth ? -1 : 1;
    return ascii_casecmp(a->rel, b->rel);
}

static struct folder *find_folder(struct engine *e, const char *rel)
{
    for (size_t i = 0; i < e->nf; i++)
        if (ascii_casecmp(e->f[i].rel, rel) == 0)
            return &e->f[i];
    return NULL;
}

static int build_folders(struct engine *e, const struct acl_grant_spec *specs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *norm;
        if (check_spec(&specs[i], i, &norm, e->d) != 0)
            return -1;
        struct folder *f = find_folder(e, norm);
        if (!f) {
            e->f = xrealloc(e->f, (e->nf + 1) * sizeof *e->f);
            f = &e->f[e->nf++];
            memset(f, 0, sizeof *f);
            f->rel = norm;
            f->depth = 1;
            for (const char *p = norm; *p; p++)
                if (*p == '/')
                    f->depth++;
        } else {
            free(norm);
        }
        f->spec = xrealloc(f->spec, (f->nspec + 1) * sizeof *f->spec);
        f->spec[f->nspec++] = i;
        if (specs[i].protect)
            f->protect = true;
    }
    qsort(e->f, e->nf, sizeof *e->f, folder_cmp);
    return 0;
}

static void engine_free(struct engine *e)
{
    for (size_t i = 0; i < e->nf; i++) {
        free(e->f[i].rel);
        free(e->f[i].spec);
        for (size_t k = 0; k < e->f[i].nattrs; k++) {
            free(e->f[i].attrs[k].name);
            free(e->f[i].attrs[k].old_value);
            free(e->f[i].attrs[k].new_value);
        }
        free(e->f[i].attrs);
        sb_free(&e->f[i].sample);
    }
    free(e->f);
    acl_pathlist_free(&e->created);
    strmap_free(&e->virt);
    strmap_free(&e->fresh);
    for (size_t i = 0; i < e->cache.cap; i++)
        if (e->cache.slots && e->cache.slots[i].key && e->cache.slots[i].value) {
            ntfs_sd_free(e->cache.slots[i].value);
            free(e->cache.slots[i].value);
        }
    strmap_free(&e->cache);
    for (size_t i = 0; i < e->nw; i++) {
        free(e->w[i]->rel);
        ntfs_sd_free(&e->w[i]->old);
        ntfs_sd_free(&e->w[i]->new);
        free(e->w[i]);
    }
    free(e->w);
}

/* ---- reading, with the dry run's simulated folders and a cache ------- */

static bool is_virtual(struct engine *e, const char *rel)
{
    return e->dry_run && strmap_get(&e->virt, rel) != NULL;
}

/* The descriptor of rel as it is (or, for a simulated folder, as the
 * server would create it: inherited from its parent). Borrowed pointer
 * into the cache, NULL on error. */
static const struct ntfs_sd *eng_read(struct engine *e, const char *rel)
{
    char *key = ascii_lower_dup(rel);
    struct ntfs_sd *sd = strmap_get(&e->cache, key);
    if (sd) {
        free(key);
        return sd;
    }
    sd = xcalloc(1, sizeof *sd);
    if (is_virtual(e, rel)) {
        char *parent = acl_parent_of(rel);
        const struct ntfs_sd *p = eng_read(e, parent);
        free(parent);
        if (!p || ntfs_sd_inherit(p, 1, NULL, sd) != 0) {
            free(sd);
            free(key);
            return NULL;
        }
    } else if (acl_read_sd(e->b, rel, sd, e->d) != 0) {
        free(sd);
        free(key);
        return NULL;
    }
    strmap_put(&e->cache, key, sd);
    free(key);
    return sd;
}

/* Children of rel. A folder created (or, in a dry run, to be created) by
 * this call holds only the folders this call creates in it: no need to
 * ask the back end. */
static int eng_list(struct engine *e, const char *rel, struct acl_dirent **out, size_t *n)
{
    size_t cap;
    bool ours = is_virtual(e, rel) || (!e->dry_run && strmap_get(&e->fresh, rel));
    *out = NULL;
    *n = 0;
    if (!ours && acl_list(e->b, rel, out, n, e->d) != 0)
        return -1;
    cap = *n;
    if (!e->dry_run && !ours)
        return 0;
    /* the created children of rel */
    for (size_t i = 0; i < e->created.count; i++) {
        char *parent = acl_parent_of(e->created.items[i]);
        bool mine = ascii_casecmp(parent, rel) == 0;
        free(parent);
        if (!mine)
            continue;
        const char *name = strrchr(e->created.items[i], '/');
        name = name ? name + 1 : e->created.items[i];
        bool dup = false;
        for (size_t k = 0; k < *n; k++)
            if (ascii_casecmp((*out)[k].name, name) == 0)
                dup = true;
        if (dup)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[*n].name = xstrdup(name);
        (*out)[*n].is_dir = true;
        (*n)++;
    }
    return 0;
}

static void ace_text(const struct ntfs_ace *a, char *buf, size_t len)
{
    ntfs_sddl_format_ace(a, buf, len);
}

static void sid_text(const struct ntfs_sid *s, char *buf, size_t len)
{
    ntfs_sid_format(s, buf, len);
}

/* Applies the specs of folder f to expl (its explicit ACEs) and records
 * the per-ACE report. */
static int apply_specs(struct engine *e, struct folder *f, struct ntfs_sd *expl)
{
    char sid[NTFS_SID_STRING_MAX], txt[NTFS_SDDL_ACE_MAX];
    for (size_t k = 0; k < f->nspec; k++) {
        const struct ntfs_ace *ace = &e->specs[f->spec[k]].ace;
        sid_text(&ace->sid, sid, sizeof sid);
        ace_text(ace, txt, sizeof txt);
        if (e->removing || e->specs[f->spec[k]].remove) {
            if (ntfs_dacl_remove_explicit(expl, &ace->sid, ace->type, ace->mask, ace->flags) > 0)
                attr_add(f, sid, txt, NULL);
            continue;
        }
        /* the explicit ACEs this one replaces */
        struct strbuf old;
        size_t same = 0, n = 0;
        sb_init(&old);
        for (size_t i = 0; i < expl->ace_count; i++) {
            const struct ntfs_ace *a = &expl->aces[i];
            if ((a->flags & NTFS_ACE_ID) || a->type != ace->type ||
                !ntfs_sid_equal(&a->sid, &ace->sid))
                continue;
            char t[NTFS_SDDL_ACE_MAX];
            ace_text(a, t, sizeof t);
            sb_adds(&old, t);
            n++;
            if (ace_same(a, ace))
                same++;
        }
        int rc = ntfs_dacl_merge_grant(expl, ace);
        if (rc < 0) {
            char *w = acl_where(e->b, f->rel);
            diag_add(e->d, "%s: cannot add %s: %s", w, txt, ntfs_sd_strerror(rc));
            free(w);
            sb_free(&old);
            return -1;
        }
        if (n == 0)
            attr_add(f, sid, NULL, txt);
        else if (!(n == 1 && same == 1))
            attr_add(f, sid, old.buf, txt);
        sb_free(&old);
    }
    return 0;
}

static int add_pending(struct engine *e, const char *rel, const struct ntfs_sd *old,
                       struct ntfs_sd *new)
{
    if (acl_sd_size_ok(e->b, rel, new, "would be", e->d) != 0)
        return -1;
    struct pending *p = xcalloc(1, sizeof *p);
    p->rel = xstrdup(rel);
    if (ntfs_sd_copy(&p->old, old) != 0) {
        free(p->rel);
        free(p);
        return -1;
    }
    p->new = *new;
    ntfs_sd_init(new);
    if (e->nw == e->capw) {
        e->capw = e->capw ? e->capw * 2 : 16;
        e->w = xrealloc(e->w, e->capw * sizeof *e->w);
    }
    e->w[e->nw++] = p;
    return 0;
}

static void set_protected(struct ntfs_sd *sd, bool protect)
{
    sd->control |= NTFS_SD_SELF_RELATIVE | NTFS_SD_DACL_PRESENT | NTFS_SD_DACL_AUTO_INHERITED;
    if (protect)
        sd->control |= NTFS_SD_DACL_PROTECTED;
    else
        sd->control &= (uint16_t)~NTFS_SD_DACL_PROTECTED;
    sd->has_dacl = 1;
}

static int walk(struct engine *e, const char *rel, const struct ntfs_sd *p_old,
                const struct ntfs_sd *p_new, size_t *count);

/* Computes one child of a changed folder (rel, is_dir) from the parent's
 * old and new descriptors; records a pending write when it changes and
 * goes on below it. */
static int compute_child(struct engine *e, const char *rel, bool is_dir,
                         const struct ntfs_sd *p_old, const struct ntfs_sd *p_new, size_t *count)
{
    const struct ntfs_sd *old = eng_read(e, rel);
    struct ntfs_sd expl, new;
    bool prot;
    int rc = -1;

    if (!old)
        return -1;
    struct folder *f = is_dir ? find_folder(e, rel) : NULL;
    /* Deep, below an unchanged folder: a folder with grants of its own is
     * left for its own turn (compute_top), which reports its changes. */
    if (e->deep_top && f && !f->done)
        return 0;
    if (split_explicit(old, p_old, is_dir, e->b->caps, &expl, &prot) != 0)
        return -1;
    bool repaired = false;
    if (prot && !(f && !f->done) && e->deep) {
        /* Deep, over a back end that hides the PROTECTED bit: an object
         * that lost some of what its folder passed down, all of it this
         * engine's own grants, is damaged, not protected. */
        struct ntfs_sid *ours = xcalloc(e->nspecs ? e->nspecs : 1, sizeof *ours);
        for (size_t i = 0; i < e->nspecs; i++)
            ours[i] = e->specs[i].ace.sid;
        struct ntfs_sd kept;
        int lost = lost_explicit(old, p_old, is_dir, e->b->caps, ours, e->nspecs, &kept);
        free(ours);
        if (lost < 0)
            goto out;
        if (lost == 1) {
            ntfs_sd_free(&expl);
            expl = kept;
            prot = false;
            repaired = true;
        }
    }
    if (prot && !(f && !f->done)) {
        /* protected: Windows stops here, and nothing below changes */
        ntfs_sd_free(&expl);
        return 0;
    }
    if (f && !f->done) {
        f->done = true;
        if (apply_specs(e, f, &expl) != 0)
            goto out;
        if (f->protect && prot == e->removing)
            attr_add(f, "inheritance", prot ? "protected" : "inherited",
                     prot ? "inherited" : "protected");
        if (f->protect)
            prot = !e->removing;
    }
    if (prot) {
        bool *drop = xcalloc(expl.ace_count ? expl.ace_count : 1, sizeof *drop);
        for (size_t i = 0; i < expl.ace_count; i++)
            drop[i] = (expl.aces[i].flags & NTFS_ACE_ID) != 0;
        drop_aces(&expl, drop);
        free(drop);
        ntfs_dacl_canonicalize(&expl);
        set_protected(&expl, true);
        new = expl;
        ntfs_sd_init(&expl);
    } else {
        expl.control &= (uint16_t)~NTFS_SD_DACL_PROTECTED;
        if (ntfs_sd_inherit(p_new, is_dir, &expl, &new) != 0)
            goto out;
    }
    /* Below an unchanged folder (deep), a copy of an inherited entry that
     * lacks the INHERITED flag (Samba makes such copies) is no damage. */
    bool differs = e->deep_top ? !acl_sd_same_entries(&new, old)
                               : !acl_sd_equivalent(&new, old, e->b->caps, NULL, 0);
    if (differs) {
        (*count)++;
        if (e->deep_top && e->deep_top->n_sample++ < REPAIRED_SAMPLE) {
            char *w = acl_winpath(rel);
            sb_addf(&e->deep_top->sample, "%s%s", e->deep_top->sample.len ? ", " : "", w);
            free(w);
        }
        const struct ntfs_sd *nsd;
        if (add_pending(e, rel, old, &new) != 0) {
            ntfs_sd_free(&new);
            goto out;
        }
        nsd = &e->w[e->nw - 1]->new;
        /* A repaired folder's children copied what it should have held:
         * they are judged against that, not against the damage. */
        if (is_dir && walk(e, rel, repaired ? nsd : old, nsd, count) != 0)
            goto out;
    } else {
        ntfs_sd_free(&new);
        /* deep: what is below may have drifted even where this did not */
        if (is_dir && e->deep && walk(e, rel, old, old, count) != 0)
            goto out;
    }
    rc = 0;
out:
    ntfs_sd_free(&expl);
    return rc;
}

static int walk(struct engine *e, const char *rel, const struct ntfs_sd *p_old,
                const struct ntfs_sd *p_new, size_t *count)
{
    struct acl_dirent *ents;
    size_t n;
    if (eng_list(e, rel, &ents, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *child = xasprintf("%s%s%s", rel, *rel ? "/" : "", ents[i].name);
        int rc = compute_child(e, child, ents[i].is_dir, p_old, p_new, count);
        free(child);
        if (rc != 0) {
            acl_dirents_free(ents, n);
            return -1;
        }
    }
    acl_dirents_free(ents, n);
    return 0;
}

/* A spec folder whose parent does not change. */
static int compute_top(struct engine *e, struct folder *f)
{
    const struct ntfs_sd *old = eng_read(e, f->rel);
    struct ntfs_sd new;
    int rc = -1;

    if (!old)
        return -1;
    f->done = true;
    if (!f->protect) {
        /* plain merge or removal: keep everything else */
        if (ntfs_sd_copy(&new, old) != 0)
            return -1;
        if (apply_specs(e, f, &new) != 0)
            goto out;
        ntfs_dacl_canonicalize(&new);
    } else {
        char *parent_rel = acl_parent_of(f->rel);
        const struct ntfs_sd *parent = eng_read(e, parent_rel);
        free(parent_rel);
        bool prot;
        struct ntfs_sd expl;
        if (!parent)
            return -1;
        if (split_explicit(old, parent, true, e->b->caps, &expl, &prot) != 0)
            return -1;
        if (apply_specs(e, f, &expl) != 0) {
            ntfs_sd_free(&expl);
            return -1;
        }
        if (prot == e->removing)
            attr_add(f, "inheritance", prot ? "protected" : "inherited",
                     prot ? "inherited" : "protected");
        if (!e->removing) {
            bool *drop = xcalloc(expl.ace_count ? expl.ace_count : 1, sizeof *drop);
            for (size_t i = 0; i < expl.ace_count; i++)
                drop[i] = (expl.aces[i].flags & NTFS_ACE_ID) != 0;
            drop_aces(&expl, drop);
            free(drop);
            ntfs_dacl_canonicalize(&expl);
            set_protected(&expl, true);
            new = expl;
        } else {
            expl.control &= (uint16_t)~NTFS_SD_DACL_PROTECTED;
            rc = ntfs_sd_inherit(parent, 1, &expl, &new);
            ntfs_sd_free(&expl);
            if (rc != 0)
                return -1;
            rc = -1;
        }
    }
    if (!acl_sd_equivalent(&new, old, e->b->caps, NULL, 0)) {
        if (add_pending(e, f->rel, old, &new) != 0)
            goto out;
        const struct ntfs_sd *nsd = &e->w[e->nw - 1]->new;
        if (walk(e, f->rel, old, nsd, &f->descendants) != 0)
            return -1;
        if (f->descendants) {
            char num[32];
            snprintf(num, sizeof num, "%zu", f->descendants);
            attr_add(f, "descendants updated", NULL, num);
        }
        return 0;
    }
    if (e->deep) {
        /* Unchanged, but an object below may have lost (or kept a stale
         * copy of) what this folder passes down. */
        e->deep_top = f;
        int r = walk(e, f->rel, old, old, &f->repaired);
        e->deep_top = NULL;
        if (r != 0)
            goto out;
        if (f->repaired) {
            char *text = xasprintf("%zu: %s%s", f->repaired, f->sample.buf,
                                   f->repaired > REPAIRED_SAMPLE ? ", ..." : "");
            attr_add(f, "descendants repaired", NULL, text);
            free(text);
        }
    }
    rc = 0;
out:
    ntfs_sd_free(&new);
    return rc;
}

/* ---- undo ------------------------------------------------------------ */

static void rollback(struct engine *e, struct acl_pathlist *deleted_sds_rel,
                     struct ntfs_sd *deleted_sds)
{
    /* re-create folders removed by this call, with their descriptors */
    if (deleted_sds_rel) {
        for (size_t i = deleted_sds_rel->count; i-- > 0;) {
            const char *rel = deleted_sds_rel->items[i];
            if (e->b->ops->mkdir(e->b, rel, e->d) != 0 ||
                acl_write_sd(e->b, rel, &deleted_sds[i], e->d) != 0) {
                char *w = acl_where(e->b, rel);
                diag_add(e->d, "%s: could not re-create the folder removed before the failure", w);
                free(w);
            }
        }
    }
    for (size_t i = e->nw; i-- > 0;) {
        struct pending *p = e->w[i];
        if (!p->written)
            continue;
        if (acl_write_sd(e->b, p->rel, &p->old, e->d) != 0) {
            char *w = acl_where(e->b, p->rel);
            diag_add(e->d, "%s: could not restore its previous descriptor", w);
            free(w);
        }
    }
    if (!e->dry_run)
        for (size_t i = e->created.count; i-- > 0;)
            if (acl_remove_empty_folder(e->b, e->created.items[i], e->d) != 1) {
                char *w = acl_where(e->b, e->created.items[i]);
                diag_add(e->d, "%s: could not remove the folder created before the failure", w);
                free(w);
            }
}

/* ---- reporting ------------------------------------------------------- */

static void report(struct engine *e, struct changes *out, const struct acl_pathlist *deleted)
{
    if (!out)
        return;
    for (size_t i = 0; i < e->created.count; i++) {
        char *w = acl_winpath(e->created.items[i]);
        changes_add(out, '+', "folder", w);
        free(w);
    }
    /* Without ACL_CAP_CONTROL the target keeps no PROTECTED flag: an
     * isolated folder is one holding its own entries only, and the report
     * says that, not what the server does not store. */
    bool control = (e->b->caps & ACL_CAP_CONTROL) != 0;
    for (size_t i = 0; i < e->nf; i++) {
        struct folder *f = &e->f[i];
        if (!f->nattrs)
            continue;
        /* A folder this run makes had no entries before: all of it is new. */
        bool fresh = false;
        for (size_t k = 0; k < e->created.count && !fresh; k++)
            fresh = ascii_casecmp(e->created.items[k], f->rel) == 0;
        bool all_new = true, all_gone = true;
        for (size_t k = 0; k < f->nattrs; k++) {
            if (f->attrs[k].old_value && !fresh)
                all_new = false;
            if (f->attrs[k].new_value)
                all_gone = false;
        }
        char *w = acl_winpath(f->rel);
        struct change *ch = changes_add(out, all_new ? '+' : all_gone ? '-' : '~', "grant", w);
        free(w);
        for (size_t k = 0; k < f->nattrs; k++) {
            const char *from = fresh ? NULL : f->attrs[k].old_value, *to = f->attrs[k].new_value;
            if (!control && !strcmp(f->attrs[k].name, "inheritance")) {
                from = from && !strcmp(from, "protected") ? "own entries only" : from;
                to = to && !strcmp(to, "protected") ? "own entries only" : to;
            }
            change_attr(ch, f->attrs[k].name, from, to);
        }
    }
    if (deleted)
        for (size_t i = 0; i < deleted->count; i++) {
            char *w = acl_winpath(deleted->items[i]);
            changes_add(out, '-', "folder", w);
            free(w);
        }
}

/* ---- script back ends ------------------------------------------------ */

static int script_site(struct engine *e, bool delete_folders, struct changes *out)
{
    char sid[NTFS_SID_STRING_MAX], txt[NTFS_SDDL_ACE_MAX];
    struct acl_backend *b = e->b;
    bool adding = !e->removing;
    for (size_t i = 0; i < e->nf; i++) {
        struct folder *f = &e->f[i];
        bool made = adding && acl_script_folder(b, f->rel, e->dry_run) == 1;
        for (size_t k = 0; k < f->nspec; k++) {
            const struct ntfs_ace *ace = &e->specs[f->spec[k]].ace;
            bool grant = adding && !e->specs[f->spec[k]].remove;
            int rc = grant ? acl_script_grant(b, f->rel, ace, e->dry_run)
                           : acl_script_revoke(b, f->rel, ace, e->dry_run);
            if (rc == 1) {
                sid_text(&ace->sid, sid, sizeof sid);
                ace_text(ace, txt, sizeof txt);
                attr_add(f, sid, grant ? NULL : txt, grant ? txt : NULL);
            }
        }
        if (f->protect && acl_script_protect(b, f->rel, adding, e->dry_run) == 1)
            /* a folder the script makes had no inheritance to change */
            attr_add(f, "inheritance", adding ? (made ? NULL : "inherited") : "protected",
                     adding ? "protected" : "inherited");
        if (made && out) {
            char *w = acl_winpath(f->rel);
            struct change *ch = changes_add(out, '+', "folder", w);
            change_note(ch, "in the script: created when missing");
            free(w);
        }
    }
    report(e, out, NULL);
    if (e->removing && delete_folders)
        for (size_t i = e->nf; i-- > 0;)
            if (acl_script_remove_folder(b, e->f[i].rel, e->dry_run) == 1 && out) {
                char *w = acl_winpath(e->f[i].rel);
                struct change *ch = changes_add(out, '-', "folder", w);
                change_note(ch, "in the script: removed when empty");
                free(w);
            }
    return 0;
}

/* ---- the two entry points -------------------------------------------- */

/* The folders of the call that do not exist yet, parents first. A dry
 * run simulates them (e->virt); a real run announces them all at once
 * (ACL_EFFECT_MKDIR_PLANNED each, then one SYNC: a journal writes one
 * group for the site) and then makes them. */
static int prepare_folders(struct engine *e)
{
    struct strmap local;
    strmap_init(&local);
    struct strmap *seen = e->dry_run ? &e->virt : &local;
    struct acl_pathlist todo = {0};
    int rc = 0;
    for (size_t i = 0; i < e->nf && rc == 0; i++) {
        struct folder *f = &e->f[i];
        if (strmap_get(seen, f->rel))
            continue;
        char *cur = xstrdup(f->rel);
        struct acl_pathlist missing = {0};
        for (;;) {
            bool is_dir = false;
            int x = strmap_get(seen, cur) ? 1 : acl_exists(e->b, cur, &is_dir, e->d);
            if (x < 0) {
                rc = -1;
                break;
            }
            if (x == 1) {
                if (!is_dir && !strmap_get(seen, cur)) {
                    char *w = acl_where(e->b, cur);
                    diag_add(e->d, "%s: exists and is not a folder", w);
                    free(w);
                    rc = -1;
                }
                break;
            }
            acl_pathlist_add(&missing, cur);
            char *parent = acl_parent_of(cur);
            free(cur);
            cur = parent;
            if (!*cur)
                break;
        }
        free(cur);
        for (size_t k = missing.count; rc == 0 && k-- > 0;) {
            acl_pathlist_add(&todo, missing.items[k]);
            strmap_put(seen, missing.items[k], e);
        }
        acl_pathlist_free(&missing);
    }
    if (rc == 0 && e->dry_run) {
        for (size_t k = 0; k < todo.count; k++)
            acl_pathlist_add(&e->created, todo.items[k]);
    } else if (rc == 0 && todo.count) {
        for (size_t k = 0; k < todo.count && rc == 0; k++)
            rc = acl_announce(e->b, ACL_EFFECT_MKDIR_PLANNED, todo.items[k], NULL, NULL, e->d);
        if (rc == 0)
            rc = acl_announce(e->b, ACL_EFFECT_SYNC, "", NULL, NULL, e->d);
        for (size_t k = 0; k < todo.count && rc == 0; k++) {
            size_t before = e->created.count;
            rc = acl_ensure_folder(e->b, todo.items[k], &e->created, e->d);
            for (size_t c = before; c < e->created.count; c++)
                strmap_put(&e->fresh, e->created.items[c], e);
        }
    }
    acl_pathlist_free(&todo);
    strmap_free(&local);
    return rc == 0 ? 0 : -1;
}

static int run_site(struct acl_backend *b, const struct acl_grant_spec *specs, size_t n,
                    bool removing, bool delete_folders, bool dry_run, bool deep,
                    struct changes *out, struct diag *d)
{
    struct engine e;
    struct acl_pathlist deleted = {0};
    struct ntfs_sd *deleted_sds = NULL;
    int rc = -1;

    memset(&e, 0, sizeof e);
    e.b = b;
    e.specs = specs;
    e.nspecs = n;
    e.dry_run = dry_run;
    e.removing = removing;
    e.deep = deep;
    e.d = d;
    strmap_init(&e.virt);
    strmap_init(&e.fresh);
    strmap_init(&e.cache);
    if (!b) {
        diag_add(d, "no back end");
        return -1;
    }
    if (n == 0)
        return 0;
    if (!specs) {
        diag_add(d, "no grants given");
        return -1;
    }
    if (build_folders(&e, specs, n) != 0)
        goto out;

    if (!(b->caps & ACL_CAP_DESCRIPTORS)) {
        rc = script_site(&e, delete_folders, out);
        goto out;
    }

    if (!removing) {
        if (prepare_folders(&e) != 0)
            goto fail;
    } else {
        /* only the folders that exist take part */
        size_t k = 0;
        for (size_t i = 0; i < e.nf; i++) {
            bool is_dir = false;
            int x = acl_exists(b, e.f[i].rel, &is_dir, d);
            if (x < 0)
                goto fail;
            if (x == 1 && is_dir) {
                e.f[k++] = e.f[i];
            } else {
                free(e.f[i].rel);
                free(e.f[i].spec);
            }
        }
        e.nf = k;
    }

    for (size_t i = 0; i < e.nf; i++)
        if (!e.f[i].done && compute_top(&e, &e.f[i]) != 0)
            goto fail;

    if (!dry_run && e.nw) {
        for (size_t i = 0; i < e.nw; i++)
            if (acl_announce(b, ACL_EFFECT_ANNOUNCE_WRITE, e.w[i]->rel, &e.w[i]->old, &e.w[i]->new,
                             d) != 0)
                goto fail;
        if (acl_announce(b, ACL_EFFECT_SYNC, "", NULL, NULL, d) != 0)
            goto fail;
    }
    if (!dry_run)
        for (size_t i = 0; i < e.nw; i++) {
            if (acl_announce(b, ACL_EFFECT_WRITE, e.w[i]->rel, NULL, NULL, d) != 0)
                goto fail;
            if (acl_write_sd(b, e.w[i]->rel, &e.w[i]->new, d) != 0) {
                /* may have been partly applied */
                e.w[i]->written = true;
                goto fail;
            }
            e.w[i]->written = true;
        }

    if (removing && delete_folders) {
        for (size_t i = e.nf; i-- > 0;) {
            const char *rel = e.f[i].rel;
            struct acl_dirent *ents;
            size_t ne;
            if (dry_run) {
                if (acl_list(b, rel, &ents, &ne, d) != 0)
                    goto fail;
                /* children that are themselves listed and empty would go first */
                size_t left = 0;
                for (size_t k = 0; k < ne; k++) {
                    char *child = xasprintf("%s/%s", rel, ents[k].name);
                    bool gone = false;
                    for (size_t m = 0; m < deleted.count; m++)
                        if (ascii_casecmp(deleted.items[m], child) == 0)
                            gone = true;
                    free(child);
                    if (!gone)
                        left++;
                }
                acl_dirents_free(ents, ne);
                if (left == 0)
                    acl_pathlist_add(&deleted, rel);
                continue;
            }
            struct ntfs_sd keep;
            if (acl_read_sd(b, rel, &keep, d) != 0)
                goto fail;
            if (acl_announce(b, ACL_EFFECT_RMDIR, rel, &keep, NULL, d) != 0) {
                ntfs_sd_free(&keep);
                goto fail;
            }
            int r = acl_remove_empty_folder(b, rel, d);
            if (r < 0) {
                ntfs_sd_free(&keep);
                goto fail;
            }
            if (r == 1) {
                deleted_sds = xrealloc(deleted_sds, (deleted.count + 1) * sizeof *deleted_sds);
                deleted_sds[deleted.count] = keep;
                acl_pathlist_add(&deleted, rel);
            } else {
                ntfs_sd_free(&keep);
            }
        }
    }
    report(&e, out, &deleted);
    rc = 0;
    goto out;

fail:
    if (!dry_run)
        rollback(&e, &deleted, deleted_sds);
    rc = -1;
out:
    for (size_t i = 0; i < deleted.count && deleted_sds; i++)
        ntfs_sd_free(&deleted_sds[i]);
    free(deleted_sds);
    acl_pathlist_free(&deleted);
    engine_free(&e);
    return rc;
}

int acl_apply_site(struct acl_backend *b, const struct acl_grant_spec *specs, size_t n,
                   bool dry_run, struct changes *out, struct diag *d)
{
    return run_site(b, specs, n, false, false, dry_run, false, out, d);
}

int acl_apply_site_deep(struct acl_backend *b, const struct acl_grant_spec *specs, size_t n,
                        bool dry_run, struct changes *out, struct diag *d)
{
    return run_site(b, specs, n, false, false, dry_run, true, out, d);
}

int acl_remove_site(struct acl_backend *b, const struct acl_grant_spec *specs, size_t n,
                    bool delete_folders, bool dry_run, struct changes *out, struct diag *d)
{
    return run_site(b, specs, n, true, delete_folders, dry_run, false, out, d);
}
