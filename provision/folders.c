/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/folders.h"

#include "provision/accounts.h"
#include "provision/fold.h"
#include "provision/ntfs/grants.h"
#include "provision/ntfs/sid.h"

#include <stdlib.h>
#include <string.h>

struct folder_run {
    const struct conf *conf;
    struct smb_session *smb;
    struct acl_backend *backend;
    /* folder rel -> struct listing: the names the back end holds in it,
     * listed once per run, plus the ones this run's sites will make */
    struct strmap listings;
    bool deep; /* folders_set_deep */
};

/* The entries of one folder, by name as NTFS compares them. */
struct listing {
    struct strmap names; /* -> struct entry */
};
struct entry {
    char *name;  /* its spelling */
    char *other; /* another spelling that is there too (case-sensitive
                  * ntfs-3g), or NULL */
    bool is_dir;
    bool planned; /* not there yet: a site of this run makes it */
};

struct folder_run *folders_open(const struct conf *c, struct diag *d)
{
    struct folder_run *run = xcalloc(1, sizeof *run);
    run->conf = c;
    struct smb_options so = {.auth_file = c->content_auth_file,
                             .kerberos = c->content_kerberos,
                             .timeout_ms = c->content_timeout_ms};
    struct acl_backend_options opt = {.smb_opts = &so, .script_root = c->content_root};
    if (!strncmp(c->content_location, "smb://", 6)) {
        if (smb_session_open(&so, &run->smb, d) < 0) {
            free(run);
            return NULL;
        }
        opt.smb = run->smb;
    }
    if (acl_backend_open(c->content_location, &opt, &run->backend, d) < 0) {
        smb_session_close(run->smb);
        free(run);
        return NULL;
    }
    strmap_init_names(&run->listings);
    return run;
}

void folders_set_deep(struct folder_run *run, bool deep)
{
    run->deep = deep;
}

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->names.cap; i++) {
        struct entry *e = l->names.slots[i].key ? l->names.slots[i].value : NULL;
        if (e) {
            free(e->name);
            free(e->other);
            free(e);
        }
    }
    strmap_free(&l->names);
    free(l);
}

int folders_close(struct folder_run *run, struct diag *d)
{
    if (!run)
        return 0;
    int rc = acl_backend_close(run->backend, d);
    smb_session_close(run->smb);
    for (size_t i = 0; i < run->listings.cap; i++)
        if (run->listings.slots[i].key)
            listing_free(run->listings.slots[i].value);
    strmap_free(&run->listings);
    free(run);
    return rc;
}

void folders_observe(struct folder_run *run, acl_effect_fn fn, void *ctx)
{
    acl_backend_observe(run->backend, fn, ctx);
}

struct acl_backend *folders_backend(struct folder_run *run)
{
    return run->backend;
}

/* The path below [content] root, or NULL when it is not under it. */
static const char *below_root(const char *root, const char *path)
{
    size_t len;
    if (!name_path_within(path, root, &len) || path[len] != '\\' || !path[len + 1])
        return NULL;
    return path + len + 1;
}

int folders_check_model(const struct conf *c, const struct site_model *m, struct diag *d)
{
    if (!c->content_location)
        return 0;
    int rc = 0;
    if (!c->content_root) {
        diag_add(d, "%s: [content] location needs [content] root (the Windows path it holds)",
                 c->path);
        return -1;
    }
    for (size_t i = 0; i < m->n_folders; i++)
        if (!below_root(c->content_root, m->folders[i].path)) {
            diag_add(d, "%s: site '%s': folder %s (%s) is not under [content] root %s", m->origin,
                     m->name, m->folders[i].name, m->folders[i].path, c->content_root);
            rc = -1;
        }
    if (m->isolate) {
        bool known = false;
        for (size_t i = 0; i < m->n_folders; i++)
            known |= !strcmp(m->folders[i].name, m->isolate);
        if (!known) {
            diag_add(d,
                     "%s: site '%s': site.isolate names '%s', which is not a folder of "
                     "[folders]",
                     m->origin, m->name, m->isolate);
            rc = -1;
        }
    }
    return rc;
}

static const struct folder_spec *folder_named(const struct site_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_folders; i++)
        if (!strcmp(m->folders[i].name, name))
            return &m->folders[i];
    return NULL;
}

/* The SID of the site's pool identity. 0, 1 when it is the account and it
 * does not exist yet (dry run), -1 error. */
static int pool_sid(const struct site_model *m, const char *account_sid, struct ntfs_sid *out,
                    struct diag *d)
{
    const char *wk = NULL;
    switch (m->identity) {
    case IDENTITY_APPPOOL:
        if (ntfs_sid_apppool(m->pool.name, out) < 0) {
            diag_add(d, "site '%s': no SID for pool name '%s'", m->name, m->pool.name);
            return -1;
        }
        return 0;
    case IDENTITY_NETWORKSERVICE:
        wk = NTFS_SID_NETWORK_SERVICE;
        break;
    case IDENTITY_LOCALSERVICE:
        wk = NTFS_SID_LOCAL_SERVICE;
        break;
    case IDENTITY_LOCALSYSTEM:
        wk = NTFS_SID_LOCAL_SYSTEM;
        break;
    case IDENTITY_ACCOUNT:
        if (!account_sid)
            return 1;
        wk = account_sid;
        break;
    }
    return ntfs_sid_parse(wk, out) == 0 ? 0 : -1;
}

/* Builds the engine's specs for the site: the isolated folder first (with
 * Administrators and SYSTEM), then every grant. Returns the count, or -1;
 * *pending is set when a principal is the account still to be created. */
static ssize_t build_specs(const struct folder_run *run, const struct site_model *m,
                           const char *account_sid, struct account_run *accts, bool with_isolation,
                           struct acl_grant_spec **out, char ***paths, bool *pending,
                           struct diag *d)
{
    size_t n = 0, cap = m->n_grants + 4;
    struct acl_grant_spec *specs = xcalloc(cap, sizeof *specs);
    char **rel = xcalloc(cap, sizeof *rel);
    int rc = 0;
    *pending = false;
    const struct folder_spec *iso = m->isolate ? folder_named(m, m->isolate) : NULL;
    if (iso && with_isolation) {
        /* Administrators, SYSTEM and the operator provision runs as when it
         * is not an administrator ([content] operator): without it, the
         * isolated folder locks out the account that made it (it could not
         * list, undo or destroy it). */
        const char *admins[] = {NTFS_SID_BUILTIN_ADMINISTRATORS, NTFS_SID_LOCAL_SYSTEM,
                                run->conf->content_operator_sid};
        for (int k = 0; k < 3 && admins[k]; k++) {
            rel[n] = xstrdup(below_root(run->conf->content_root, iso->path));
            specs[n].folder_rel = rel[n];
            ntfs_sid_parse(admins[k], &specs[n].ace.sid);
            specs[n].ace.type = NTFS_ACE_ALLOW;
            specs[n].ace.flags = NTFS_ACE_OI | NTFS_ACE_CI;
            specs[n].ace.mask = NTFS_RIGHTS_F;
            specs[n].protect = true;
            n++;
        }
    }
    for (size_t i = 0; i < m->n_grants && rc == 0; i++) {
        const struct ntfs_grant *g = &m->grants[i].grant;
        const struct folder_spec *f = folder_named(m, m->grants[i].folder);
        struct acl_grant_spec *s = &specs[n];
        bool anonymous_is_pool = m->anonymous == ANONYMOUS_POOL;
        int r = 0;
        if (g->kind == NTFS_PRINCIPAL_POOL ||
            (g->kind == NTFS_PRINCIPAL_ANONYMOUS && anonymous_is_pool)) {
            r = pool_sid(m, account_sid, &s->ace.sid, d);
        } else if (g->kind == NTFS_PRINCIPAL_ANONYMOUS) {
            ntfs_sid_parse(NTFS_SID_IUSR, &s->ace.sid);
        } else if (g->kind == NTFS_PRINCIPAL_SID) {
            s->ace.sid = g->sid;
        } else {
            char *sid = NULL;
            if (!accts) {
                diag_add(d,
                         "site '%s': grant to %s needs the directory ([directory] uri) to "
                         "find its SID",
                         m->name, g->principal);
                r = -1;
            } else if (accounts_lookup_sid(accts, g->principal, &sid, d) < 0) {
                r = -1;
            } else if (ntfs_sid_parse(sid, &s->ace.sid) < 0) {
                r = -1;
            }
            free(sid);
        }
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 1) { /* the account is not made yet: nothing to resolve */
            *pending = true;
            continue;
        }
        rel[n] = xstrdup(below_root(run->conf->content_root, f->path));
        s->folder_rel = rel[n];
        s->ace.type = g->deny ? NTFS_ACE_DENY : NTFS_ACE_ALLOW;
        s->ace.flags = g->ace_flags;
        s->ace.mask = g->mask;
        s->protect = iso && with_isolation && f == iso;
        n++;
    }
    *out = specs;
    *paths = rel;
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free(rel[i]);
        free(rel);
        free(specs);
        *out = NULL;
        *paths = NULL;
        return -1;
    }
    return (ssize_t)n;
}

/* The engine names folders relative to the location; people know them by
 * their Windows path. */
static void windows_paths(const struct folder_run *run, struct changes *out, size_t from)
{
    const char *root = run->conf->content_root;
    size_t n = strlen(root);
    while (n && root[n - 1] == '\\')
        n--;
    for (size_t i = from; i < out->count; i++) {
        struct change *ch = &out->items[i];
        if (strcmp(ch->kind, "folder") != 0 && strcmp(ch->kind, "grant") != 0)
            continue;
        size_t len;
        if (name_path_within(ch->object, root, &len) && ch->object[len] == '\\')
            continue;
        char *full = xasprintf("%.*s\\%s", (int)n, root, ch->object);
        free(ch->object);
        ch->object = full;
    }
}

static void free_specs(struct acl_grant_spec *specs, char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(specs);
}

/* Folders without any grant are still made. */
static int ensure_plain_folders(struct folder_run *run, const struct site_model *m, bool dry_run,
                                struct changes *out, struct diag *d)
{
    for (size_t i = 0; i < m->n_folders; i++) {
        bool granted = m->isolate && !strcmp(m->isolate, m->folders[i].name);
        for (size_t k = 0; k < m->n_grants && !granted; k++)
            granted = !strcmp(m->grants[k].folder, m->folders[i].name);
        if (granted)
            continue;
        char *rel = NULL;
        if (acl_path_check(below_root(run->conf->content_root, m->folders[i].path), false, &rel,
                           d) < 0)
            return -1;
        int rc = 0;
        if (!(acl_backend_caps(run->backend) & ACL_CAP_DESCRIPTORS)) {
            rc = acl_script_folder(run->backend, rel, dry_run);
            if (rc == 0)
                changes_add(out, '+', "folder", m->folders[i].path);
        } else {
            bool is_dir = false;
            int exists = acl_exists(run->backend, rel, &is_dir, d);
            if (exists < 0)
                rc = -1;
            else if (!exists) {
                changes_add(out, '+', "folder", m->folders[i].path);
                if (!dry_run)
                    rc = acl_ensure_folder(run->backend, rel, NULL, d);
            }
        }
        free(rel);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The names in folder rel (listed once per run; nothing to list in a folder
 * this run is still to make). NULL with a message when it cannot be
 * listed. */
static struct listing *listing_of(struct folder_run *run, const char *rel, bool on_disk,
                                  struct diag *d)
{
    struct listing *l = strmap_get(&run->listings, rel);
    if (l)
        return l;
    struct acl_dirent *e = NULL;
    size_t n = 0;
    if (on_disk && acl_list(run->backend, rel, &e, &n, d) != 0)
        return NULL;
    l = xcalloc(1, sizeof *l);
    strmap_init_names(&l->names);
    for (size_t i = 0; i < n; i++) {
        struct entry *have = strmap_get(&l->names, e[i].name);
        if (!have) {
            have = xcalloc(1, sizeof *have);
            have->name = e[i].name;
            have->is_dir = e[i].is_dir;
            e[i].name = NULL;
            strmap_put(&l->names, have->name, have);
        } else if (!have->other) {
            have->other = e[i].name;
            e[i].name = NULL;
        }
    }
    acl_dirents_free(e, n);
    strmap_put(&run->listings, rel, l);
    return l;
}

/* NTFS takes names that differ only in case for one (provision/fold.h). No
 * folder of the site may be another spelling of an entry already there
 * (another tenant's folder on a case-insensitive server; on a
 * case-sensitive ntfs-3g mount, a second entry Windows could not tell
 * apart), nor of a folder an earlier site of this run makes: each
 * component below the root is looked up in its parent's listing. Only for
 * back ends that can list (not scripts). 0, or -1 with messages. */
static int check_spellings(struct folder_run *run, const struct site_model *m, struct diag *d)
{
    if (!(acl_backend_caps(run->backend) & ACL_CAP_DESCRIPTORS))
        return 0;
    const char *root = run->conf->content_root;
    int rc = 0;
    for (size_t i = 0; i < m->n_folders && rc == 0; i++) {
        const char *below = below_root(root, m->folders[i].path);
        char *rel = NULL;
        struct diag ignored; /* a bad path is reported where it is used */
        diag_init(&ignored);
        int bad = !below || acl_path_check(below, false, &rel, &ignored) < 0;
        diag_free(&ignored);
        if (bad)
            continue;
        char *parent = xstrdup("");
        bool on_disk = true;
        for (char *comp = rel; comp && rc == 0;) {
            char *slash = strchr(comp, '/');
            if (slash)
                *slash = '\0';
            struct listing *l = listing_of(run, parent, on_disk, d);
            struct entry *have = l ? strmap_get(&l->names, comp) : NULL;
            const char *clash = !have                           ? NULL
                                : strcmp(have->name, comp) != 0 ? have->name
                                                                : have->other;
            if (!l) {
                rc = -1;
            } else if (clash) {
                size_t n = strlen(root);
                while (n && root[n - 1] == '\\')
                    n--;
                char *in = xasprintf("%.*s%s%s", (int)n, root, *parent ? "\\" : "", parent);
                for (char *c = in + n; *c; c++)
                    *c = *c == '/' ? '\\' : *c;
                diag_add(d,
                         "site '%s': folder %s: '%s' is already in %s as '%s', and NTFS treats "
                         "names equal without regard to case",
                         m->name, m->folders[i].path, comp, in, clash);
                free(in);
                rc = -1;
            } else if (!have) {
                have = xcalloc(1, sizeof *have);
                have->name = xstrdup(comp);
                have->is_dir = have->planned = true;
                strmap_put(&l->names, comp, have);
                on_disk = false; /* what follows is made by this run */
            } else if (have->planned) {
                on_disk = false;
            } else if (!have->is_dir) {
                break; /* the engine says what is in the way */
            }
            char *next = *parent ? xasprintf("%s/%s", parent, comp) : xstrdup(comp);
            free(parent);
            parent = next;
            comp = slash ? slash + 1 : NULL;
        }
        free(parent);
        free(rel);
    }
    return rc;
}

/* The domain part of an S-1-5-21 SID (all but the RID), or false. */
static bool domain_of(const struct ntfs_sid *sid, struct ntfs_sid *domain)
{
    static const uint8_t nt_authority[6] = {0, 0, 0, 0, 0, 5};
    if (sid->count < 2 || memcmp(sid->authority, nt_authority, 6) != 0 || sid->sub[0] != 21)
        return false;
    *domain = *sid;
    domain->sub[--domain->count] = 0;
    return true;
}

/* An account deleted by hand and made again by apply has a new SID; its
 * old SID's entry stays on the folders, granting nobody (or, should the
 * SID come back with a restored account, the wrong one). For each grant
 * to the site's account: an explicit entry on the same folder with exactly
 * its type, flags and mask, naming another SID of the same domain that no
 * longer resolves, is removed in the same call (a remove spec). */
static int orphan_removals(struct folder_run *run, const char *account_sid,
                           struct account_run *accts, struct acl_grant_spec **specs, char ***paths,
                           ssize_t *n, struct diag *d)
{
    struct ntfs_sid own, own_domain;
    if (!(acl_backend_caps(run->backend) & ACL_CAP_DESCRIPTORS) ||
        ntfs_sid_parse(account_sid, &own) < 0 || !domain_of(&own, &own_domain))
        return 0;
    size_t count = (size_t)*n;
    for (size_t i = 0; i < count; i++) {
        const struct acl_grant_spec spec = (*specs)[i]; /* *specs may move below */
        const struct acl_grant_spec *g = &spec;
        if (g->remove || !ntfs_sid_equal(&g->ace.sid, &own))
            continue;
        bool is_dir = false;
        int there = acl_exists(run->backend, g->folder_rel, &is_dir, d);
        if (there < 0)
            return -1;
        if (!there || !is_dir)
            continue;
        struct ntfs_sd sd;
        if (acl_read_sd(run->backend, g->folder_rel, &sd, d) < 0)
            return -1;
        for (size_t k = 0; k < sd.ace_count; k++) {
            const struct ntfs_ace *a = &sd.aces[k];
            struct ntfs_sid dom;
            if ((a->flags & NTFS_ACE_ID) || a->type != g->ace.type || a->flags != g->ace.flags ||
                a->mask != g->ace.mask || ntfs_sid_equal(&a->sid, &own) ||
                !domain_of(&a->sid, &dom) || !ntfs_sid_equal(&dom, &own_domain))
                continue;
            char text[NTFS_SID_STRING_MAX];
            ntfs_sid_format(&a->sid, text, sizeof text);
            int exists = accounts_sid_exists(accts, text, d);
            if (exists < 0) {
                ntfs_sd_free(&sd);
                return -1;
            }
            if (exists)
                continue;
            *specs = xrealloc(*specs, (count + 1) * sizeof **specs);
            *paths = xrealloc(*paths, (count + 1) * sizeof **paths);
            (*paths)[count] = xstrdup(g->folder_rel);
            struct acl_grant_spec *r = &(*specs)[count];
            *r = spec;
            r->folder_rel = (*paths)[count];
            r->ace.sid = a->sid;
            r->protect = false;
            r->remove = true;
            count++;
        }
        ntfs_sd_free(&sd);
    }
    *n = (ssize_t)count;
    return 0;
}

static int apply_site_remembering(struct folder_run *run, const struct site_model *m,
                                  const char *account_sid, struct account_run *accts, bool dry_run,
                                  struct changes *out, struct diag *d);

int folders_apply_site(struct folder_run *run, const struct site_model *m, const char *account_sid,
                       struct account_run *accts, bool dry_run, struct changes *out, struct diag *d)
{
    if (check_spellings(run, m, d) < 0)
        return -1;
    /* The orphan check and the grant engine read the same folders. */
    acl_backend_remember(run->backend);
    int rc = apply_site_remembering(run, m, account_sid, accts, dry_run, out, d);
    acl_backend_forget(run->backend);
    return rc;
}

static int apply_site_remembering(struct folder_run *run, const struct site_model *m,
                                  const char *account_sid, struct account_run *accts, bool dry_run,
                                  struct changes *out, struct diag *d)
{
    struct acl_grant_spec *specs;
    char **paths;
    bool pending;
    ssize_t n = build_specs(run, m, account_sid, accts, true, &specs, &paths, &pending, d);
    if (n < 0)
        return -1;
    if (account_sid && accts &&
        orphan_removals(run, account_sid, accts, &specs, &paths, &n, d) < 0) {
        free_specs(specs, paths, (size_t)n);
        return -1;
    }
    size_t first = out->count;
    int rc = run->deep ? acl_apply_site_deep(run->backend, specs, (size_t)n, dry_run, out, d)
                       : acl_apply_site(run->backend, specs, (size_t)n, dry_run, out, d);
    windows_paths(run, out, first);
    if (rc == 0 && pending) {
        /* Plan of a new account: its grants can only be named. */
        for (size_t i = 0; i < m->n_grants; i++) {
            const struct ntfs_grant *g = &m->grants[i].grant;
            if (g->kind != NTFS_PRINCIPAL_POOL &&
                !(g->kind == NTFS_PRINCIPAL_ANONYMOUS && m->anonymous == ANONYMOUS_POOL))
                continue;
            char text[NTFS_GRANT_STRING_MAX];
            ntfs_grant_format(g, text, sizeof text);
            struct change *ch =
                changes_add(out, '+', "grant", folder_named(m, m->grants[i].folder)->path);
            change_attr(ch, m->pool.user_name, NULL, text);
        }
    }
    if (rc == 0)
        rc = ensure_plain_folders(run, m, dry_run, out, d);
    free_specs(specs, paths, (size_t)n);
    return rc;
}

int folders_remove_site(struct folder_run *run, const struct site_model *m, const char *account_sid,
                        struct account_run *accts, bool remove_folders, bool dry_run,
                        struct changes *out, struct diag *d)
{
    struct acl_grant_spec *specs;
    char **paths;
    bool pending;
    /* The isolation entries (Administrators, SYSTEM) stay: they are what
     * keeps the folder safe once the site's own grants are gone. */
    ssize_t n = build_specs(run, m, account_sid, accts, false, &specs, &paths, &pending, d);
    if (n < 0)
        return -1;
    size_t first = out->count;
    int rc = acl_remove_site(run->backend, specs, (size_t)n, remove_folders, dry_run, out, d);
    windows_paths(run, out, first);
    free_specs(specs, paths, (size_t)n);
    return rc;
}

int folders_removal_grants(struct folder_run *run, const struct site_model *m,
                           const char *account_sid, struct account_run *accts,
                           folders_grant_visitor visit, void *ctx, struct diag *d)
{
    struct acl_grant_spec *specs;
    char **paths;
    bool pending;
    ssize_t n = build_specs(run, m, account_sid, accts, false, &specs, &paths, &pending, d);
    if (n < 0)
        return -1;
    for (ssize_t i = 0; i < n; i++) {
        char *norm = NULL;
        if (acl_path_check(specs[i].folder_rel, false, &norm, d) == 0)
            visit(ctx, norm, &specs[i].ace, specs[i].protect);
        free(norm);
    }
    free_specs(specs, paths, (size_t)n);
    return 0;
}
