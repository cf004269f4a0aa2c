/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check --deep: every file and folder below a site folder, against what
 * Windows propagation would give it; and check --prove: the probes that
 * check_prove.c tries for real over SMB, set beside the descriptors. */
#include "provision/check_internal.h"

#include "provision/ntfs/effective.h"
#include "provision/ntfs/grants.h"

#include <stdlib.h>
#include <string.h>

/* ---- deep: what lies below --------------------------------------------- */

struct deep_walk {
    struct ctx *c;
    struct check_finding *fi; /* made on the first stale object */
    struct check_site *site;
    size_t stale, objects;
    const char *top;         /* the site folder's Windows path */
    struct ntfs_sid ours[2]; /* the site's own identities: pool, anonymous */
    size_t n_ours;
};

/* Every object below rel (whose descriptor is parent): does it hold what
 * Windows propagation from its parent would give it? */
static void deep_walk(struct deep_walk *w, const char *rel, const struct ntfs_sd *parent)
{
    struct acl_dirent *ents = NULL;
    size_t n = 0;
    struct diag d;
    diag_init(&d);
    unsigned caps = acl_backend_caps(w->c->in->content);
    if (acl_list(w->c->in->content, rel, &ents, &n, &d) < 0) {
        append_note(w->site, d.count ? d.msgs[0] : "a folder could not be listed");
        diag_free(&d);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (acl_path_problem(ents[i].name))
            continue;
        char *child = xasprintf("%s/%s", rel, ents[i].name);
        struct ntfs_sd sd, want;
        bool prot;
        diag_free(&d);
        diag_init(&d);
        w->objects++;
        if (acl_read_sd(w->c->in->content, child, &sd, &d) < 0) {
            append_note(w->site, d.count ? d.msgs[0] : "a descriptor could not be read");
            free(child);
            continue;
        }
        char why[256] = "";
        int pr = acl_propagated(&sd, parent, ents[i].is_dir, caps, &want, &prot);
        if (pr == 0 && prot) {
            /* Over SMB: lost the site's own entries, or deliberately
             * different? Only the first is said. */
            ntfs_sd_free(&want);
            prot =
                acl_lost_entries(&sd, parent, ents[i].is_dir, caps, w->ours, w->n_ours, &want) != 1;
        }
        if (pr == 0 && !prot) {
            if (!acl_sd_same_entries(&want, &sd)) {
                acl_sd_equivalent(&want, &sd, caps, why, sizeof why);
                if (!w->fi)
                    w->fi = add_finding(w->site, "inheritance-stale", "warning", "", w->top);
                if (w->stale++ < 5) {
                    char *win = windows_path(w->c->in->content_root, child);
                    w->fi->evidence = xrealloc(w->fi->evidence,
                                               (w->fi->n_evidence + 1) * sizeof *w->fi->evidence);
                    struct check_evidence *e = &w->fi->evidence[w->fi->n_evidence++];
                    e->path = win;
                    e->ace = xstrdup(*why ? why : "differs from what its folder passes down");
                    e->from = NULL;
                }
            }
            ntfs_sd_free(&want);
        }
        if (ents[i].is_dir)
            deep_walk(w, child, &sd);
        ntfs_sd_free(&sd);
        free(child);
    }
    acl_dirents_free(ents, n);
    diag_free(&d);
}

void deep_check(struct ctx *c, size_t self, struct check_site *s, int s_idx)
{
    struct deep_walk w = {.c = c, .site = s, .top = c->folders[s_idx].win};
    const struct site_work *sw = &c->work[self];
    if (sw->pool.known)
        w.ours[w.n_ours++] = sw->pool.token.sids[0];
    if (!sw->anon_is_pool && sw->anon.known)
        w.ours[w.n_ours++] = sw->anon.token.sids[0];
    deep_walk(&w, c->folders[s_idx].rel, &c->folders[s_idx].sd);
    if (w.fi) {
        w.fi->text =
            xasprintf("%zu of the %zu files and folders below %s do not hold what their "
                      "folder passes down (an inherited entry missing or stale)%s",
                      w.stale, w.objects, w.top, w.stale > 5 ? "; the first five are shown" : "");
        w.fi->fix = xasprintf("provision apply --deep with the site's list, or re-set the DACL "
                              "of %s on the host so that Windows propagates it again",
                              w.top);
    }
}

/* ---- --prove: the accesses tried for real ---------------------------- */

static void add_probe(struct check_site *s, enum check_probe_kind kind, const struct folder *f,
                      bool expected)
{
    s->probes = xrealloc(s->probes, (s->n_probes + 1) * sizeof *s->probes);
    struct check_probe *p = &s->probes[s->n_probes++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->rel = xstrdup(f->rel);
    p->path = xstrdup(f->win);
    p->expected = expected;
    p->got = -1;
}

/* Logs on over SMB as the pool's account and tries: reading the physical
 * path, writing in each of the site's folders, reading and writing in
 * another tenant's site folder; each against what the descriptors say.
 * Only for a pool running as an AD account whose password the IIS
 * configuration holds in clear. */
void prove_site(struct ctx *c, size_t self, const int *list, size_t n, int s_idx, int p_idx)
{
    struct site_work *w = &c->work[self];
    struct check_site *s = w->out;
    if (!w->pool.account || !s->identity_user) {
        append_note(s, "--prove: only a pool running as an AD account is proved");
        return;
    }
    char *password = apphost_pool_plain_password(c->in->ah, s->pool, s->identity_user);
    if (!password) {
        append_note(s, "--prove: the pool's password is not in the configuration in clear: not "
                       "proved");
        return;
    }
    const struct ntfs_token *t = &w->pool.token.view;
    struct ntfs_access a, b;
    ntfs_access_check(&c->folders[p_idx].file_sd, t, NTFS_ACCESS_READ_DATA, &a);
    add_probe(s, CHECK_PROBE_READ, &c->folders[p_idx], a.granted & NTFS_ACCESS_READ_DATA);
    for (size_t i = 0; i < n; i++)
        add_probe(s, CHECK_PROBE_WRITE, &c->folders[list[i]],
                  ntfs_access_check(&c->folders[list[i]].sd, t, FILE_ADD_FILE, &b) != 0);
    /* Another tenant's site folder: the first other checked site. */
    for (size_t k = 0; k < c->n_work; k++) {
        const struct site_work *o = &c->work[k];
        if (k == self || !o->rel)
            continue;
        int other = folder_get(c, o->rel);
        if (c->folders[other].error || other == s_idx || other == p_idx)
            continue;
        ntfs_access_check(&c->folders[other].file_sd, t, NTFS_ACCESS_READ_DATA, &a);
        add_probe(s, CHECK_PROBE_READ, &c->folders[other], a.granted & NTFS_ACCESS_READ_DATA);
        add_probe(s, CHECK_PROBE_WRITE, &c->folders[other],
                  ntfs_access_check(&c->folders[other].sd, t, FILE_ADD_FILE, &b) != 0);
        break;
    }
    char *why = NULL;
    if (c->in->prove(c->in->ctx, s->identity_user, password, s->probes, s->n_probes, &why) < 0) {
        char *note =
            xasprintf("--prove: no logon as %s: %s", s->identity_user, why ? why : "refused");
        append_note(s, note);
        free(note);
    }
    free(why);
    free_secret(password);
    append_note(s, "--prove uses the account's network logon token, which lacks what IIS adds "
                   "to a worker's (IIS_IUSRS): an access given only through IIS_IUSRS shows as "
                   "denied there");
    for (size_t i = 0; i < s->n_probes; i++) {
        const struct check_probe *p = &s->probes[i];
        if (p->got < 0 || (p->got == 1) == p->expected)
            continue;
        const char *what = p->kind == CHECK_PROBE_READ ? "read" : "write in";
        struct check_finding *fi = add_finding(s, "prove-mismatch", p->got ? "critical" : "warning",
                                               w->pool.label, p->path);
        fi->text =
            xasprintf("%s could %s %s over SMB, although its descriptors say it %s", w->pool.label,
                      p->got ? what : (p->kind == CHECK_PROBE_READ ? "not read" : "not write in"),
                      p->path, p->expected ? "may" : "may not");
        fi->fix = xstrdup("compare the share's permissions with the folder's descriptor: a "
                          "share-level deny, or a parent folder the account cannot traverse "
                          "(Samba checks traversal; Windows lets almost every token bypass it)");
    }
}
