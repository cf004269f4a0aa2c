/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/check_internal.h"

#include "provision/fold.h"
#include "provision/ntfs/effective.h"
#include "provision/ntfs/sid.h"
#include "provision/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITES (NTFS_ACCESS_WRITE_DATA | NTFS_ACCESS_APPEND_DATA)
/* Subfolders of S and P listed at most (a site is a handful of folders). */
#define MAX_SUBFOLDERS 64

/* ---- identities ---------------------------------------------------------- */

static void principal_free(struct principal *p)
{
    free(p->label);
    free(p->sid_text);
    free(p->why);
    token_free(&p->token);
    memset(p, 0, sizeof *p);
}

static void principal_set(struct principal *p, const char *label, enum token_kind kind,
                          const struct ntfs_sid *sid, const struct check_account *acct)
{
    p->label = xstrdup(label);
    p->known = true;
    char text[NTFS_SID_STRING_MAX];
    ntfs_sid_format(sid, text, sizeof text);
    p->sid_text = xstrdup(text);
    struct ntfs_sid *groups = NULL;
    size_t n = 0;
    if (acct && acct->n_groups) {
        groups = xcalloc(acct->n_groups, sizeof *groups);
        for (size_t i = 0; i < acct->n_groups; i++)
            if (ntfs_sid_parse(acct->groups[i], &groups[n]) == 0)
                n++;
    }
    token_build(&p->token, kind, sid, groups, n);
    free(groups);
    p->account = acct;
}

void check_account_free(struct check_account *a)
{
    free(a->sid);
    free(a->upn);
    for (size_t i = 0; i < a->n_groups; i++)
        free(a->groups[i]);
    free(a->groups);
    memset(a, 0, sizeof *a);
}

const struct looked_up *look_up(struct ctx *c, const char *user)
{
    struct looked_up *l = strmap_get(&c->accounts, user);
    if (l)
        return l;
    l = xcalloc(1, sizeof *l);
    if (c->in->resolve(c->in->ctx, user, &l->account, &l->why) < 0 && !l->why)
        l->why = xstrdup("not found");
    strmap_put(&c->accounts, user, l);
    return l;
}

/* A user name of the configuration: a SID, a well-known name or a domain
 * account (through the resolver). */
static void principal_account(struct ctx *c, struct principal *p, const char *user,
                              enum token_kind kind)
{
    struct ntfs_sid sid;
    if (ntfs_sid_resolve_builtin(user, &sid) == 0) {
        principal_set(p, user, kind, &sid, NULL);
        return;
    }
    if (!c->in->resolve) {
        p->label = xstrdup(user);
        p->why = xasprintf("%s is a domain account and the configuration has no [directory] to "
                           "find its SID",
                           user);
        return;
    }
    const struct looked_up *l = look_up(c, user);
    if (l->why || ntfs_sid_parse(l->account.sid, &sid) < 0) {
        p->label = xstrdup(user);
        p->why = xasprintf("the SID of %s is not known: %s", user, l->why ? l->why : "bad SID");
        return;
    }
    principal_set(p, user, kind, &sid, &l->account);
    name_sid(c, l->account.sid, user);
}

/* The identity a pool runs as: type (identityType) and, for SpecificUser,
 * user. */
static void make_pool_principal(struct ctx *c, struct principal *p, const char *pool,
                                const char *type, const char *user)
{
    struct ntfs_sid sid;
    if (!ascii_casecmp(type, "ApplicationPoolIdentity")) {
        char *label = xasprintf("IIS AppPool\\%s", pool);
        if (ntfs_sid_apppool(pool, &sid) == 0) {
            principal_set(p, label, TOKEN_APPPOOL, &sid, NULL);
            name_sid(c, p->sid_text, label);
        } else {
            p->label = xstrdup(label);
            p->why = xasprintf("pool name '%s' gives no AppPool SID", pool);
        }
        free(label);
    } else if (!ascii_casecmp(type, "NetworkService")) {
        ntfs_sid_parse(NTFS_SID_NETWORK_SERVICE, &sid);
        principal_set(p, "NT AUTHORITY\\NETWORK SERVICE", TOKEN_NETWORK_SERVICE, &sid, NULL);
    } else if (!ascii_casecmp(type, "LocalService")) {
        ntfs_sid_parse(NTFS_SID_LOCAL_SERVICE, &sid);
        principal_set(p, "NT AUTHORITY\\LOCAL SERVICE", TOKEN_LOCAL_SERVICE, &sid, NULL);
    } else if (!ascii_casecmp(type, "LocalSystem")) {
        ntfs_sid_parse(NTFS_SID_LOCAL_SYSTEM, &sid);
        principal_set(p, "NT AUTHORITY\\SYSTEM", TOKEN_LOCAL_SYSTEM, &sid, NULL);
    } else if (!ascii_casecmp(type, "SpecificUser") && user && *user) {
        principal_account(c, p, user, TOKEN_POOL_ACCOUNT);
    } else {
        p->label = xstrdup(type);
        p->why = xasprintf("pool '%s' has identityType '%s'%s", pool, type,
                           !ascii_casecmp(type, "SpecificUser") ? " without a userName"
                                                                : ", unknown here");
    }
}

static void pool_principal(struct ctx *c, struct site_work *w)
{
    const struct check_site *s = w->out;
    make_pool_principal(c, &w->pool, s->pool, s->identity_type, s->identity_user);
}

static void anon_principal(struct ctx *c, struct site_work *w)
{
    const char *user = w->out->anonymous_user;
    if (!*user) {
        w->anon_is_pool = true;
        return;
    }
    struct ntfs_sid sid;
    if (ascii_equal_ci(user, "IUSR") || ascii_equal_ci(user, "NT AUTHORITY\\IUSR")) {
        ntfs_sid_parse(NTFS_SID_IUSR, &sid);
        principal_set(&w->anon, "IUSR", TOKEN_IUSR, &sid, NULL);
        return;
    }
    principal_account(c, &w->anon, user, TOKEN_USER_ACCOUNT);
}

/* ---- findings ------------------------------------------------------------ */

void append_note(struct check_site *s, const char *note)
{
    if (s->notes && strstr(s->notes, note))
        return;
    char *n = s->notes ? xasprintf("%s; %s", s->notes, note) : xstrdup(note);
    free(s->notes);
    s->notes = n;
}

struct check_finding *add_finding(struct check_site *s, const char *id, const char *severity,
                                  const char *identity, const char *path)
{
    s->findings = xrealloc(s->findings, (s->n_findings + 1) * sizeof *s->findings);
    struct check_finding *f = &s->findings[s->n_findings++];
    memset(f, 0, sizeof *f);
    f->id = id;
    f->severity = severity;
    f->identity = xstrdup(identity);
    f->path = xstrdup(path);
    return f;
}

static char *groups_text(enum token_kind kind)
{
    size_t n;
    const struct token_fact *facts = token_facts(kind, &n);
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < n; i++)
        sb_addf(&sb, "%s%s", i ? ", " : "", facts[i].name);
    return sb_detach(&sb);
}

/* Cannot read the files of P: 401 for the anonymous identity, 500.19 for
 * the pool. */
static void cannot_read(struct ctx *c, struct site_work *w, int p, const struct principal *who,
                        bool anonymous, const struct ntfs_access *a, enum token_kind kind)
{
    struct check_site *s = w->out;
    const struct folder *f = &c->folders[p];
    bool is_pool = !anonymous || w->anon_is_pool;
    const char *id = anonymous && !w->anon_is_pool ? "anonymous-cannot-read" : "pool-cannot-read";
    struct check_finding *fi = add_finding(s, id, "critical", who->label, f->win);
    bool denied = a->denied & NTFS_ACCESS_READ_DATA;
    if (anonymous && !w->anon_is_pool)
        fi->text = xasprintf("the anonymous identity %s %s the files in %s: static files such "
                             "as CSS and JS answer 401.3",
                             who->label, denied ? "is denied Read on" : "cannot read", f->win);
    else
        fi->text = xasprintf("the pool identity %s %s the files in %s: IIS cannot read "
                             "web.config (500.19)%s",
                             who->label, denied ? "is denied Read on" : "cannot read", f->win,
                             w->anon_is_pool ? " and anonymous requests, served as the pool "
                                               "identity, answer 401.3"
                                             : "");
    if (denied) {
        add_deciding(c, fi, p, true, a, NTFS_ACCESS_READ_DATA);
        const struct check_evidence *e = fi->n_evidence ? &fi->evidence[0] : NULL;
        char *name = e ? xstrndup(e->ace, strcspn(e->ace, ":")) : xstrdup(who->label);
        const char *where = e && e->from && strncmp(e->from, "above ", 6) ? e->from : f->win;
        fi->fix = xasprintf("icacls \"%s\" /remove:d \"%s\"", where, name);
        free(name);
    } else {
        char *groups = groups_text(kind);
        fi->evidence = xcalloc(1, sizeof *fi->evidence);
        fi->n_evidence = 1;
        fi->evidence[0].path = xasprintf("files in %s", f->win);
        fi->evidence[0].ace =
            xasprintf("no entry grants Read to %s or its groups (%s)", who->label, groups);
        free(groups);
        fi->fix = xasprintf("icacls \"%s\" /grant \"%s:(OI)(CI)%s\"", f->win, who->label,
                            is_pool ? "RX" : "R");
    }
}

/* ---- one site ------------------------------------------------------------ */

struct column {
    const struct ntfs_token *token;
    enum token_kind kind;
};

static void add_row(struct ctx *c, struct check_site *s, int f, const struct column *cols,
                    size_t n_cols)
{
    s->rows = xrealloc(s->rows, (s->n_rows + 1) * sizeof *s->rows);
    struct check_row *r = &s->rows[s->n_rows++];
    memset(r, 0, sizeof *r);
    r->path = xstrdup(c->folders[f].win);
    for (size_t k = 0; k < n_cols; k++) {
        struct ntfs_access a;
        if (!cols[k].token) {
            r->folder[k] = r->files[k] = "?";
            continue;
        }
        r->folder[k] = ntfs_access_letters(
            ntfs_access_check(&c->folders[f].sd, cols[k].token, NTFS_FILE_ALL_ACCESS, &a));
        r->files[k] = ntfs_access_letters(
            ntfs_access_check(&c->folders[f].file_sd, cols[k].token, NTFS_FILE_ALL_ACCESS, &a));
    }
}

/* Can write in folder f: create files in it, or write the files in it. */
static bool writes(struct ctx *c, int f, const struct ntfs_token *t, struct ntfs_access *folder,
                   struct ntfs_access *files)
{
    ntfs_access_check(&c->folders[f].sd, t, FILE_ADD_FILE, folder);
    ntfs_access_check(&c->folders[f].file_sd, t, WRITES, files);
    return (folder->granted & FILE_ADD_FILE) || (files->granted & NTFS_ACCESS_WRITE_DATA);
}

static bool already(const struct check_site *s, const char *id, const char *identity)
{
    for (size_t i = 0; i < s->n_findings; i++)
        if (!strcmp(s->findings[i].id, id) && !strcmp(s->findings[i].identity, identity))
            return true;
    return false;
}

/* Another tenant's own identity named in the descriptors of folder f. */
static void other_tenants(struct ctx *c, size_t self, int f)
{
    struct site_work *w = &c->work[self];
    for (int files = 0; files <= 1; files++) {
        const struct ntfs_sd *sd = files ? &c->folders[f].file_sd : &c->folders[f].sd;
        for (size_t i = 0; i < sd->ace_count; i++) {
            char text[NTFS_SID_STRING_MAX];
            ntfs_sid_format(&sd->aces[i].sid, text, sizeof text);
            void *v = strmap_get(&c->tenant, text);
            if (!v || v == SHARED || (size_t)((intptr_t)v - 1) == self)
                continue;
            if (w->pool.known && !strcmp(text, w->pool.sid_text))
                continue;
            const struct site_work *t = &c->work[(intptr_t)v - 1];
            struct ntfs_access a;
            uint32_t want = files ? NTFS_ACCESS_READ_DATA | NTFS_ACCESS_WRITE_DATA
                                  : NTFS_ACCESS_READ_DATA | FILE_ADD_FILE;
            uint32_t got = ntfs_access_check(sd, &t->pool.token.view, want, &a);
            if (!got || already(w->out, "other-tenant-access", t->pool.label))
                continue;
            struct check_finding *fi = add_finding(w->out, "other-tenant-access", "critical",
                                                   t->pool.label, c->folders[f].win);
            fi->text =
                xasprintf("%s, the pool identity of site '%s', can %s %s%s", t->pool.label,
                          t->out->name, (got & (NTFS_ACCESS_WRITE_DATA)) ? "write in" : "read",
                          files ? "the files in " : "", c->folders[f].win);
            add_deciding(c, fi, f, files, &a, got);
            fi->fix = xasprintf("icacls \"%s\" /remove:g \"%s\"", c->folders[f].win, t->pool.label);
        }
    }
}

static const struct {
    const char *sid, *label;
} shared_groups[] = {
    {"S-1-1-0", "Everyone"},
    {"S-1-5-11", "NT AUTHORITY\\Authenticated Users"},
    {"S-1-5-32-545", "BUILTIN\\Users"},
    {"S-1-5-32-568", "BUILTIN\\IIS_IUSRS"},
};
enum { N_SHARED_GROUPS = sizeof shared_groups / sizeof *shared_groups };

/* ---- applications other than the root --------------------------------- */

struct app_walk {
    struct ctx *c;
    size_t self;
};

/* An application's own root: its pool (and the anonymous identity) must
 * read the files of its physical path too. */
static void check_app(const struct iis_vdir_info *v, void *arg)
{
    struct app_walk *aw = arg;
    struct ctx *c = aw->c;
    struct site_work *w = &c->work[aw->self];
    struct check_site *s = w->out;
    if (!strcmp(v->app_path, "/") || strcmp(v->vdir_path, "/") != 0)
        return;
    char *rel = *v->physical_path ? below_root(c->in->content_root, v->physical_path) : NULL;
    if (!rel) {
        char *note = xasprintf("application %s: its physical path %s is not below [content] "
                               "root: not checked",
                               v->app_path, v->physical_path);
        append_note(s, note);
        free(note);
        return;
    }
    int f = folder_get(c, rel);
    free(rel);
    if (c->folders[f].error) {
        char *note = xasprintf("application %s: %s", v->app_path, c->folders[f].error);
        append_note(s, note);
        free(note);
        return;
    }
    struct principal app_pool = {0};
    const struct principal *pool = &w->pool;
    if (!names_collide(v->app_pool, s->pool)) {
        char *type = NULL, *user = NULL;
        if (apphost_pool_identity(c->in->ah, v->app_pool, &type, &user) < 0) {
            char *note =
                xasprintf("application %s: its pool '%s' is not defined", v->app_path, v->app_pool);
            append_note(s, note);
            free(note);
            return;
        }
        make_pool_principal(c, &app_pool, v->app_pool, type, user);
        free(type);
        free(user);
        pool = &app_pool;
    }
    struct ntfs_access a;
    if (pool->known) {
        ntfs_access_check(&c->folders[f].file_sd, &pool->token.view, NTFS_ACCESS_READ_DATA, &a);
        if (!(a.granted & NTFS_ACCESS_READ_DATA))
            cannot_read(c, w, f, pool, false, &a, TOKEN_APPPOOL);
    }
    if (!w->anon_is_pool && w->anon.known) {
        ntfs_access_check(&c->folders[f].file_sd, &w->anon.token.view, NTFS_ACCESS_READ_DATA, &a);
        if (!(a.granted & NTFS_ACCESS_READ_DATA))
            cannot_read(c, w, f, &w->anon, true, &a, TOKEN_IUSR);
    }
    principal_free(&app_pool);
}

static void check_one(struct ctx *c, size_t self, int s_idx, int p_idx)
{
    struct site_work *w = &c->work[self];
    struct check_site *s = w->out;

    /* The folders: S, S down to P, the subfolders of S and P. */
    int *list = NULL;
    size_t n = 0, cap = 0;
#define ADD_FOLDER(i)                                                                              \
    do {                                                                                           \
        int i_ = (i);                                                                              \
        bool dup_ = false;                                                                         \
        for (size_t k_ = 0; k_ < n; k_++)                                                          \
            dup_ |= list[k_] == i_;                                                                \
        if (!dup_) {                                                                               \
            if (n == cap)                                                                          \
                list = xrealloc(list, (cap = cap ? 2 * cap : 16) * sizeof *list);                  \
            list[n++] = i_;                                                                        \
        }                                                                                          \
    } while (0)
    {
        int chain[64];
        size_t depth = 0;
        for (int k = p_idx; k >= 0 && depth < 64; k = c->folders[k].parent) {
            chain[depth++] = k;
            if (k == s_idx)
                break;
        }
        while (depth)
            ADD_FOLDER(chain[--depth]);
    }
    int tops[2] = {s_idx, p_idx};
    for (int t = 0; t < (s_idx == p_idx ? 1 : 2); t++) {
        struct acl_dirent *ents = NULL;
        size_t n_ents = 0;
        struct diag d;
        diag_init(&d);
        if (acl_list(c->in->content, c->folders[tops[t]].rel, &ents, &n_ents, &d) == 0) {
            size_t taken = 0;
            for (size_t i = 0; i < n_ents && taken < MAX_SUBFOLDERS; i++) {
                if (!ents[i].is_dir || acl_path_problem(ents[i].name))
                    continue;
                char *rel = *c->folders[tops[t]].rel
                                ? xasprintf("%s/%s", c->folders[tops[t]].rel, ents[i].name)
                                : xstrdup(ents[i].name);
                ADD_FOLDER(folder_get(c, rel));
                free(rel);
                taken++;
            }
        }
        acl_dirents_free(ents, n_ents);
        diag_free(&d);
    }
#undef ADD_FOLDER
    for (size_t i = 0; i < n; i++)
        if (c->folders[list[i]].error) {
            s->not_checked =
                xasprintf("%s: %s", c->folders[list[i]].win, c->folders[list[i]].error);
            free(list);
            return;
        }

    /* The columns. */
    struct column cols[CHECK_MAX_COLUMNS];
    struct token groups[N_SHARED_GROUPS];
    size_t nc = 0;
    const struct principal *anon = w->anon_is_pool ? &w->pool : &w->anon;
    if (!w->anon_is_pool) {
        s->columns[nc] = xasprintf("anonymous %s", w->anon.label);
        cols[nc++] = (struct column){w->anon.known ? &w->anon.token.view : NULL, TOKEN_IUSR};
    }
    s->columns[nc] = xasprintf("pool %s", w->pool.label);
    cols[nc++] = (struct column){w->pool.known ? &w->pool.token.view : NULL, TOKEN_APPPOOL};
    for (size_t g = 0; g < N_SHARED_GROUPS && nc < CHECK_MAX_COLUMNS; g++) {
        struct ntfs_sid sid;
        ntfs_sid_parse(shared_groups[g].sid, &sid);
        token_build(&groups[g], TOKEN_GROUP, &sid, NULL, 0);
        s->columns[nc] = xstrdup(shared_groups[g].label);
        cols[nc++] = (struct column){&groups[g].view, TOKEN_GROUP};
    }
    s->n_columns = nc;
    for (size_t i = 0; i < n; i++)
        add_row(c, s, list[i], cols, nc);

    /* The classic failures. */
    struct ntfs_access a, b;
    enum token_kind anon_kind =
        w->anon_is_pool ? TOKEN_APPPOOL
                        : (ascii_equal_ci(w->anon.label, "IUSR") ? TOKEN_IUSR : TOKEN_USER_ACCOUNT);
    if (w->pool.known) {
        ntfs_access_check(&c->folders[p_idx].file_sd, &w->pool.token.view, NTFS_ACCESS_READ_DATA,
                          &a);
        if (!(a.granted & NTFS_ACCESS_READ_DATA))
            cannot_read(c, w, p_idx, &w->pool, false, &a, TOKEN_APPPOOL);
    }
    if (!w->anon_is_pool && anon->known) {
        ntfs_access_check(&c->folders[p_idx].file_sd, &anon->token.view, NTFS_ACCESS_READ_DATA, &a);
        if (!(a.granted & NTFS_ACCESS_READ_DATA))
            cannot_read(c, w, p_idx, anon, true, &a, anon_kind);
    }
    /* LocalSystem may write everywhere: pool-localsystem says so. */
    if (w->pool.known && ascii_casecmp(s->identity_type, "LocalSystem") != 0 &&
        writes(c, p_idx, &w->pool.token.view, &a, &b)) {
        struct check_finding *fi = add_finding(s, "pool-can-write-content", "warning",
                                               w->pool.label, c->folders[p_idx].win);
        fi->text = xasprintf("the pool identity %s can write in %s, the folder IIS serves: a "
                             "flaw in the application can rewrite its own code",
                             w->pool.label, c->folders[p_idx].win);
        add_deciding(c, fi, p_idx, false, &a, FILE_ADD_FILE);
        add_deciding(c, fi, p_idx, true, &b, NTFS_ACCESS_WRITE_DATA);
        fi->fix = xasprintf("give the pool Read & execute only on %s and keep writable content "
                            "in a folder of its own (e.g. data)",
                            c->folders[p_idx].win);
    }
    for (size_t i = 0; i < n; i++) {
        int f = list[i];
        if (!w->anon_is_pool && anon->known && writes(c, f, &anon->token.view, &a, &b) &&
            !already(s, "anonymous-can-write", anon->label)) {
            struct check_finding *fi =
                add_finding(s, "anonymous-can-write", "critical", anon->label, c->folders[f].win);
            fi->text = xasprintf("the anonymous identity %s can write in %s: anyone on the web "
                                 "may be able to change the site",
                                 anon->label, c->folders[f].win);
            add_deciding(c, fi, f, false, &a, FILE_ADD_FILE);
            add_deciding(c, fi, f, true, &b, NTFS_ACCESS_WRITE_DATA);
            fi->fix = xasprintf("remove write for %s and its groups on %s", anon->label,
                                c->folders[f].win);
        }
        other_tenants(c, self, f);
        if (c->in->sid_exists)
            unresolved_sids(c, self, f);
        for (size_t g = 0; g < N_SHARED_GROUPS; g++) {
            ntfs_access_check(&c->folders[f].file_sd, &groups[g].view, NTFS_ACCESS_READ_DATA, &a);
            bool w_ = writes(c, f, &groups[g].view, &b, &b);
            if (!(a.granted & NTFS_ACCESS_READ_DATA) && !w_)
                continue;
            if (already(s, "group-access", shared_groups[g].label))
                continue;
            struct check_finding *fi = add_finding(s, "group-access", "warning",
                                                   shared_groups[g].label, c->folders[f].win);
            fi->text = xasprintf("%s can %s %s: every tenant's pool identity on this server "
                                 "holds it, so other sites can %s this site's files",
                                 shared_groups[g].label, w_ ? "write in" : "read the files in",
                                 c->folders[f].win, w_ ? "change" : "read");
            add_deciding(c, fi, f, true, &a, NTFS_ACCESS_READ_DATA);
            if (w_) {
                writes(c, f, &groups[g].view, &a, &b);
                add_deciding(c, fi, f, false, &a, FILE_ADD_FILE);
                add_deciding(c, fi, f, true, &b, NTFS_ACCESS_WRITE_DATA);
            }
            /* Removed where the entries are explicit, when that is inside
             * the site; entries from above the site folder are cut off
             * there (inheritance turned into explicit entries, then
             * removed) so the other sites keep theirs. */
            const char *top = c->folders[s_idx].win;
            bool from_above = false;
            for (size_t e = 0; e < fi->n_evidence; e++) {
                const char *holder =
                    fi->evidence[e].from ? fi->evidence[e].from : fi->evidence[e].path;
                size_t len;
                from_above |= !name_path_within(holder, top, &len);
            }
            fi->fix =
                xasprintf("%s%s%sicacls \"%s\" /remove:g \"%s\" /T", from_above ? "icacls \"" : "",
                          from_above ? top : "", from_above ? "\" /inheritance:d && " : "", top,
                          shared_groups[g].label);
        }
    }
    for (size_t g = 0; g < N_SHARED_GROUPS; g++)
        token_free(&groups[g]);
    struct app_walk aw = {c, self};
    apphost_site_vdirs(c->in->ah, s->name, check_app, &aw);
    if (c->in->prove)
        prove_site(c, self, list, n, s_idx, p_idx);
    free(list);
    if (c->in->deep)
        deep_check(c, self, s, s_idx);
}

void check_add_drift(struct check_site *s, const char *list, const char *const *lines, size_t n)
{
    struct check_finding *fi = add_finding(s, "drift", "warning", "", s->physical_path);
    fi->text = xasprintf("%zu difference%s from %s: apply would change %s", n, n == 1 ? "" : "s",
                         list, n == 1 ? "it" : "them");
    fi->evidence = xcalloc(n ? n : 1, sizeof *fi->evidence);
    for (size_t i = 0; i < n; i++) {
        fi->evidence[i].path = xstrdup(list);
        fi->evidence[i].ace = xstrdup(lines[i]);
    }
    fi->n_evidence = n;
    fi->fix = xasprintf("provision apply %s", list);
}

/* ---- all sites ----------------------------------------------------------- */

struct collect {
    struct check_site *sites;
    size_t n, cap;
};

static void collect_site(const struct iis_site_info *info, void *arg)
{
    struct collect *col = arg;
    if (col->n == col->cap) {
        col->cap = col->cap ? 2 * col->cap : 64;
        col->sites = xrealloc(col->sites, col->cap * sizeof *col->sites);
    }
    struct check_site *s = &col->sites[col->n++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(info->name);
    s->pool = xstrdup(info->pool);
    s->identity_type = xstrdup(info->identity);
    s->identity_user = info->identity_user ? xstrdup(info->identity_user) : NULL;
    s->physical_path = xstrdup(info->physical_path);
    s->anonymous_user = xstrdup(info->anonymous_user);
}

static void site_free(struct check_site *s)
{
    free(s->name);
    free(s->pool);
    free(s->identity_type);
    free(s->identity_user);
    free(s->physical_path);
    free(s->anonymous_user);
    free(s->not_checked);
    free(s->notes);
    for (size_t k = 0; k < s->n_columns; k++)
        free(s->columns[k]);
    for (size_t r = 0; r < s->n_rows; r++)
        free(s->rows[r].path);
    free(s->rows);
    for (size_t i = 0; i < s->n_findings; i++) {
        struct check_finding *f = &s->findings[i];
        free(f->identity);
        free(f->path);
        free(f->text);
        free(f->fix);
        for (size_t e = 0; e < f->n_evidence; e++) {
            free(f->evidence[e].path);
            free(f->evidence[e].ace);
            free(f->evidence[e].from);
        }
        free(f->evidence);
    }
    free(s->findings);
    for (size_t i = 0; i < s->n_probes; i++) {
        free(s->probes[i].rel);
        free(s->probes[i].path);
        free(s->probes[i].why);
    }
    free(s->probes);
}

void check_result_free(struct check_result *r)
{
    for (size_t i = 0; i < r->n_sites; i++)
        site_free(&r->sites[i]);
    free(r->sites);
    memset(r, 0, sizeof *r);
}

static void free_values(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            free(m->slots[i].value);
    strmap_free(m);
}

int check_sites(const struct check_input *in, char **names, size_t n_names,
                struct check_result *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    struct collect all = {0};
    apphost_list(in->ah, collect_site, &all);

    /* The sites asked for must be there, unless missing_ok: then they are
     * reported as such, after the others. */
    struct collect chosen = {0}, missing = {0};
    int rc = 0;
    for (size_t k = 0; k < n_names; k++) {
        size_t i = 0;
        while (i < all.n && !names_collide(all.sites[i].name, names[k]))
            i++;
        if (i < all.n)
            continue;
        if (!in->missing_ok) {
            diag_add(d, "check: '%s' is not a site of the IIS configuration", names[k]);
            rc = -1;
            continue;
        }
        struct iis_site_info none = {.name = names[k],
                                     .pool = "",
                                     .identity = "",
                                     .physical_path = "",
                                     .anonymous_user = ""};
        collect_site(&none, &missing);
        missing.sites[missing.n - 1].not_checked = xstrdup("not in the IIS configuration");
    }
    if (rc < 0) {
        for (size_t i = 0; i < all.n; i++)
            site_free(&all.sites[i]);
        free(all.sites);
        return -1;
    }

    struct ctx c = {.in = in};
    strmap_init_names(&c.by_rel);
    strmap_init(&c.names);
    strmap_init(&c.tenant);
    strmap_init(&c.accounts);
    strmap_init_names(&c.logons);
    strmap_init(&c.sids);
    c.work = xcalloc(all.n ? all.n : 1, sizeof *c.work);
    c.n_work = all.n;
    struct strmap prefixes; /* rel prefix -> how many sites' paths it holds */
    strmap_init_names(&prefixes);
    if (in->resolve && in->prefetch) {
        /* Every domain account a pool or anonymous identity names, at once. */
        const char **users = xcalloc(2 * all.n + 1, sizeof *users);
        size_t k = 0;
        for (size_t i = 0; i < all.n; i++) {
            const struct check_site *s = &all.sites[i];
            struct ntfs_sid sid;
            if (!ascii_casecmp(s->identity_type, "SpecificUser") && s->identity_user &&
                strchr(s->identity_user, '\\') &&
                ntfs_sid_resolve_builtin(s->identity_user, &sid) < 0)
                users[k++] = s->identity_user;
            if (*s->anonymous_user && strchr(s->anonymous_user, '\\') &&
                ntfs_sid_resolve_builtin(s->anonymous_user, &sid) < 0)
                users[k++] = s->anonymous_user;
        }
        if (k)
            in->prefetch(in->ctx, users, k);
        free(users);
    }
    for (size_t i = 0; i < all.n; i++) {
        struct site_work *w = &c.work[i];
        w->out = &all.sites[i];
        pool_principal(&c, w);
        anon_principal(&c, w);
        if (w->pool.known) {
            void *v = strmap_get(&c.tenant, w->pool.sid_text);
            strmap_put(&c.tenant, w->pool.sid_text, v ? SHARED : (void *)(intptr_t)(i + 1));
        }
        if (in->content_root && *all.sites[i].physical_path)
            w->rel = below_root(in->content_root, all.sites[i].physical_path);
        if (w->rel) {
            /* Every prefix of the path, the path itself included. */
            for (const char *p = w->rel;; p++) {
                if (*p == '/' || *p == '\0') {
                    char *pre = xstrndup(w->rel, (size_t)(p - w->rel));
                    if (*pre) {
                        intptr_t count = (intptr_t)strmap_get(&prefixes, pre);
                        strmap_put(&prefixes, pre, (void *)(count + 1));
                    }
                    free(pre);
                }
                if (!*p)
                    break;
            }
        }
    }

    for (size_t i = 0; i < all.n; i++) {
        if (n_names) {
            bool wanted = false;
            for (size_t k = 0; k < n_names && !wanted; k++)
                wanted = names_collide(all.sites[i].name, names[k]);
            if (!wanted)
                continue;
        }
        struct site_work *w = &c.work[i];
        struct check_site *s = w->out;
        account_findings(&c, w, &w->pool, true);
        if (!ascii_casecmp(s->identity_type, "LocalSystem"))
            localsystem_finding(w);
        struct vdir_walk vw = {&c, w};
        apphost_site_vdirs(in->ah, s->name, check_vdir, &vw);
        if (!w->anon_is_pool)
            account_findings(&c, w, &w->anon, false);
        if (!in->content)
            s->not_checked =
                xstrdup(in->no_content_why ? in->no_content_why : "no content location");
        else if (!*s->physical_path)
            s->not_checked = xstrdup("the site's root application has no physical path");
        else if (!w->rel)
            s->not_checked =
                xasprintf("its physical path %s is not below [content] root %s (descriptors "
                          "are read there only)",
                          s->physical_path, in->content_root);
        else if (!w->pool.known && (w->anon_is_pool || !w->anon.known))
            s->not_checked = xstrdup(w->pool.why);
        if (!s->not_checked) {
            char *note = NULL;
            if (!w->pool.known)
                note = xasprintf("the pool identity is left out: %s", w->pool.why);
            else if (!w->anon_is_pool && !w->anon.known)
                note = xasprintf("the anonymous identity is left out: %s", w->anon.why);
            if (note)
                append_note(s, note);
            free(note);
            /* S: the highest folder holding P and no other site's path. */
            char *s_rel = NULL;
            for (const char *p = w->rel; !s_rel; p++) {
                if (*p == '/' || *p == '\0') {
                    char *pre = xstrndup(w->rel, (size_t)(p - w->rel));
                    if ((intptr_t)strmap_get(&prefixes, pre) == 1 || !*p)
                        s_rel = pre;
                    else
                        free(pre);
                }
            }
            int s_idx = folder_get(&c, s_rel);
            int p_idx = folder_get(&c, w->rel);
            free(s_rel);
            check_one(&c, i, s_idx, p_idx);
        }
        chosen.sites = xrealloc(chosen.sites, (chosen.n + 1) * sizeof *chosen.sites);
        chosen.sites[chosen.n++] = *s;
        memset(s, 0, sizeof *s);
    }

    for (size_t i = 0; i < all.n; i++) {
        principal_free(&c.work[i].pool);
        principal_free(&c.work[i].anon);
        free(c.work[i].rel);
        site_free(&all.sites[i]);
    }
    free(all.sites);
    free(c.work);
    for (size_t i = 0; i < c.n_folders; i++) {
        free(c.folders[i].rel);
        free(c.folders[i].win);
        free(c.folders[i].error);
        ntfs_sd_free(&c.folders[i].sd);
        ntfs_sd_free(&c.folders[i].file_sd);
    }
    free(c.folders);
    strmap_free(&c.by_rel);
    free_values(&c.names);
    strmap_free(&c.tenant);
    for (size_t i = 0; i < c.accounts.cap; i++) {
        struct looked_up *l = c.accounts.slots[i].key ? c.accounts.slots[i].value : NULL;
        if (l) {
            check_account_free(&l->account);
            free(l->why);
            free(l);
        }
    }
    strmap_free(&c.accounts);
    strmap_free(&c.logons);
    strmap_free(&c.sids);
    strmap_free(&prefixes);
    for (size_t i = 0; i < missing.n; i++) {
        chosen.sites = xrealloc(chosen.sites, (chosen.n + 1) * sizeof *chosen.sites);
        chosen.sites[chosen.n++] = missing.sites[i];
    }
    free(missing.sites);
    out->sites = chosen.sites;
    out->n_sites = chosen.n;
    return 0;
}
