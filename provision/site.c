/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/site.h"

#include "ldap/account.h"
#include "provision/fold.h"
#include "provision/iis/names.h"
#include "provision/ntfs/backend.h"
#include "provision/ini.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool valid_var_name(const char *k)
{
    if (!*k || !(islower((unsigned char)*k) || *k == '_'))
        return false;
    for (; *k; k++)
        if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '_'))
            return false;
    return true;
}

/* The entry whose name collides with name (any spelling), or NULL: one
 * look-up, whatever the number of sites. */
static struct site_entry *find_entry(struct site_list *list, const char *name)
{
    uintptr_t at = (uintptr_t)strmap_get(&list->index, name);
    return at ? &list->items[at - 1] : NULL;
}

static void entry_free(struct site_entry *e)
{
    free(e->name);
    free(e->file);
    free(e->template_name);
    vars_free(&e->vars);
    for (size_t k = 0; k < e->n_ovr; k++) {
        free(e->ovr_keys[k]);
        free(e->ovr_values[k]);
    }
    free(e->ovr_keys);
    free(e->ovr_values);
    free(e->ovr_lines);
    memset(e, 0, sizeof *e);
}

int site_list_load(struct site_list *list, const char *path, struct diag *d)
{
    struct ini_file f;
    size_t errors = d->count;
    if (ini_load(path, &f, d) < 0)
        return -1;
    size_t first_new = list->count;
    if (!list->index.names) /* a list starts zeroed: its index is made here */
        strmap_init_names(&list->index);
    for (size_t i = 0; i < f.n_sections; i++) {
        const char *s = f.sections[i].name;
        if (strncmp(s, "site ", 5) != 0) {
            diag_add(d, "%s:%u: unknown section [%s] (a site list holds [site NAME] sections)",
                     path, f.sections[i].line, s);
            continue;
        }
        char *name = trim(xstrdup(s + 5));
        const char *why = iis_check_site_name(name);
        char unknown[NAME_WHY_MAX];
        struct site_entry *dup = *name ? find_entry(list, name) : NULL;
        if (why) {
            diag_add(d, "%s:%u: [site %s]: %s", path, f.sections[i].line, name, why);
        } else if (!name_is_known(name, unknown)) {
            diag_add(d, "%s:%u: [site %s]: %s", path, f.sections[i].line, name, unknown);
        } else if (dup && strcmp(dup->name, name) != 0) {
            diag_add(d,
                     "%s:%u: site '%s' is listed twice (also at %s:%u): it collides with '%s', "
                     "as " NAMES_COLLIDE_WHY,
                     path, f.sections[i].line, name, dup->file, dup->line, dup->name);
        } else if (dup) {
            diag_add(d, "%s:%u: site '%s' is listed twice (also at %s:%u)", path,
                     f.sections[i].line, name, dup->file, dup->line);
        } else {
            list->items = xrealloc(list->items, (list->count + 1) * sizeof *list->items);
            struct site_entry *e = &list->items[list->count++];
            memset(e, 0, sizeof *e);
            e->name = name;
            e->file = xstrdup(path);
            e->line = f.sections[i].line;
            strmap_put(&list->index, e->name, (void *)(uintptr_t)list->count);
            name = NULL;
        }
        free(name);
    }
    for (size_t i = 0; i < f.count; i++) {
        const struct ini_entry *k = &f.entries[i];
        if (strncmp(k->section, "site ", 5) != 0)
            continue;
        char *name = trim(xstrdup(k->section + 5));
        struct site_entry *e = find_entry(list, name);
        if (e && ((size_t)(e - list->items) < first_new || strcmp(e->name, name) != 0))
            e = NULL; /* another file's site, or a spelling that was refused */
        free(name);
        if (!e || e->line > k->line)
            continue; /* its section was refused, or a repeat of it */
        if (!strcmp(k->key, "template")) {
            if (e->template_name)
                diag_add(d, "%s:%u: [site %s]: 'template' is set twice", path, k->line, e->name);
            else {
                e->template_name = xstrdup(k->value);
                e->template_line = k->line;
            }
        } else if (strchr(k->key, '.')) {
            e->ovr_keys = xrealloc(e->ovr_keys, (e->n_ovr + 1) * sizeof *e->ovr_keys);
            e->ovr_values = xrealloc(e->ovr_values, (e->n_ovr + 1) * sizeof *e->ovr_values);
            e->ovr_lines = xrealloc(e->ovr_lines, (e->n_ovr + 1) * sizeof *e->ovr_lines);
            e->ovr_keys[e->n_ovr] = xstrdup(k->key);
            e->ovr_values[e->n_ovr] = xstrdup(k->value);
            e->ovr_lines[e->n_ovr++] = k->line;
        } else if (!valid_var_name(k->key)) {
            diag_add(d,
                     "%s:%u: [site %s]: invalid variable name '%s' (lower-case letters, "
                     "digits and '_'; overrides are written section.key)",
                     path, k->line, e->name, k->key);
        } else if (!strcmp(k->key, "site") || !strcmp(k->key, "pool")) {
            diag_add(d, "%s:%u: [site %s]: '%s' is a built-in variable and cannot be set", path,
                     k->line, e->name, k->key);
        } else if (vars_get(&e->vars, k->key)) {
            diag_add(d, "%s:%u: [site %s]: '%s' is set twice", path, k->line, e->name, k->key);
        } else {
            vars_set(&e->vars, k->key, k->value);
        }
    }
    for (size_t j = first_new; j < list->count; j++)
        if (!list->items[j].template_name)
            diag_add(d, "%s:%u: [site %s]: 'template' is required", path, list->items[j].line,
                     list->items[j].name);
    ini_free(&f);
    if (d->count > errors) {
        /* The list goes back to what it was: this file's entries go. */
        while (list->count > first_new) {
            strmap_del(&list->index, list->items[list->count - 1].name);
            entry_free(&list->items[--list->count]);
        }
        if (!list->count) { /* back to the zeroed list it was */
            free(list->items);
            list->items = NULL;
            strmap_free(&list->index);
            memset(&list->index, 0, sizeof list->index);
        }
        return -1;
    }
    return 0;
}

void site_list_free(struct site_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        entry_free(&list->items[i]);
    free(list->items);
    strmap_free(&list->index);
    memset(list, 0, sizeof *list);
}

const char *check_windows_path(const char *p)
{
    size_t n = strlen(p);
    if (n == 0)
        return "a path cannot be empty";
    if (n > 1024)
        return "a path is at most 1024 characters";
    bool drive = isalpha((unsigned char)p[0]) && p[1] == ':' && p[2] == '\\';
    bool unc = p[0] == '\\' && p[1] == '\\' && p[2] && p[2] != '\\' && p[2] != '?' && p[2] != '.';
    bool env = p[0] == '%' && strchr(p + 1, '%');
    if (!drive && !unc && !env)
        return "a path must be absolute: D:\\..., \\\\server\\share\\... or %VARIABLE%\\...";
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || strchr("<>\"|?*/", *c))
            return "a path cannot contain / < > \" | ? * or control characters";
    if (drive && strchr(p + 2, ':'))
        return "a path cannot contain ':' after the drive";
    /* Below its drive, share or variable, a path follows the one rule for
     * folder names that the content back ends apply (acl_path_problem):
     * no empty, "." or ".." segment, none ending in ' ' or '.', no DOS
     * device name. Checked here so that validate and plan refuse what
     * apply would. */
    const char *rest;
    if (drive) {
        rest = p + 3;
    } else if (unc) {
        rest = strchr(p + 2, '\\');                  /* after \\server */
        rest = rest ? strchr(rest + 1, '\\') : NULL; /* after \\share */
        rest = rest ? rest + 1 : "";
    } else {
        rest = strchr(p + 1, '%') + 1; /* after %VARIABLE% */
        if (*rest == '\\')
            rest++;
        else if (*rest)
            return "a path must be absolute: D:\\..., \\\\server\\share\\... or %VARIABLE%\\...";
    }
    if (!*rest)
        return NULL;
    return acl_path_problem(rest);
}

/* --- building a model ------------------------------------------------ */

struct builder {
    const struct conf *conf;
    const struct site_entry *e;
    const struct template *t;
    struct vars vars;
    struct diag *d;
    int failed;
};

/* "FILE:LINE", for messages; built for every value looked up (a batch of
 * 1,000 sites asks for 18,000), hence no printf. */
static char *where_text(const char *file, unsigned line)
{
    char digits[24], *d = ulong_decimal(line, digits);
    size_t nf = strlen(file), nd = strlen(d);
    char *out = xmalloc(nf + 1 + nd + 1);
    memcpy(out, file, nf);
    out[nf] = ':';
    memcpy(out + nf + 1, d, nd + 1);
    return out;
}

/* Whether an override key is "section.key". */
static bool is_key(const char *full, const char *section, const char *key)
{
    size_t n = strlen(section);
    return !strncmp(full, section, n) && full[n] == '.' && !strcmp(full + n + 1, key);
}

/* The values of section.key: the site list's override, else the template's. */
static size_t raw_values(struct builder *b, const char *section, const char *key,
                         const char ***values, char **where)
{
    /* No limit on how often a list key repeats: the list grows (it is
     * valid until the next call). */
    static const char **list;
    static size_t cap;
    size_t n = 0;
    for (size_t i = 0; i < b->e->n_ovr; i++) {
        if (is_key(b->e->ovr_keys[i], section, key)) {
            if (!n)
                *where = where_text(b->e->file, b->e->ovr_lines[i]);
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                list = xrealloc(list, cap * sizeof *list);
            }
            list[n++] = b->e->ovr_values[i];
        }
    }
    if (n) {
        *values = list;
        return n;
    }
    const struct tvalue *v = template_value(b->t, section, key);
    if (!v)
        return 0;
    *where = where_text(v->file, v->line);
    *values = (const char **)v->values;
    return v->n_values;
}

static void fail(struct builder *b, const char *where, const char *section, const char *key,
                 const char *why)
{
    diag_add(b->d, "%s: %s.%s (site '%s'): %s", where, section, key, b->e->name, why);
    b->failed = 1;
}

/* One value, expanded; fallback (expanded too) when not set; NULL if neither. */
static char *get(struct builder *b, const char *section, const char *key, const char *fallback,
                 char **where_out)
{
    const char **values;
    char *where = NULL;
    size_t n = raw_values(b, section, key, &values, &where);
    const char *raw = n ? values[0] : fallback;
    if (!where)
        where = where_text(b->e->file, b->e->line);
    if (!raw) {
        free(where);
        return NULL;
    }
    char *why;
    char *v = expand(raw, &b->vars, &why);
    if (!v) {
        fail(b, where, section, key, why);
        free(why);
    }
    if (where_out)
        *where_out = where;
    else
        free(where);
    return v;
}

static const char *pick(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (!strcmp(v, *allowed))
            return *allowed;
    return NULL;
}

static void build_pool(struct builder *b, struct site_model *m)
{
    char *where = NULL;
    m->pool.name = get(b, "pool", "name", "${site}", &where);
    if (m->pool.name) {
        const char *why = iis_check_pool_name(m->pool.name);
        char unknown[NAME_WHY_MAX];
        if (why)
            fail(b, where, "pool", "name", why);
        else if (!name_is_known(m->pool.name, unknown))
            fail(b, where, "pool", "name", unknown);
        vars_set(&b->vars, "pool", m->pool.name);
    }
    free(where);
    struct {
        const char *key, *fallback;
        const char *(*check)(const char *);
        const char **slot;
    } enums[] = {
        {"runtime", b->conf->runtime, check_runtime, &m->pool.runtime},
        {"pipeline", b->conf->pipeline, check_pipeline, &m->pool.pipeline},
        {"start_mode", b->conf->start_mode, check_start_mode, &m->pool.start_mode},
    };
    for (size_t i = 0; i < 3; i++) {
        where = NULL;
        char *v = get(b, "pool", enums[i].key, enums[i].fallback, &where);
        const char *why = v ? enums[i].check(v) : NULL;
        if (why)
            fail(b, where, "pool", enums[i].key, why);
        if (v && i == 0 && !strcmp(v, "none")) { /* No Managed Code */
            free(v);
            v = xstrdup("");
        }
        *enums[i].slot = v;
        free(where);
    }
    char *v = get(b, "pool", "auto_start", b->conf->auto_start ? "true" : "false", &where);
    m->pool.auto_start = v ? parse_bool(v) : 1;
    if (m->pool.auto_start < 0) {
        fail(b, where, "pool", "auto_start", "must be true or false");
        m->pool.auto_start = 1;
    }
    free(v);
    free(where);
    where = NULL;
    v = get(b, "pool", "identity", b->conf->identity, &where);
    static const char *const modes[] = {"apppool",     "networkservice", "localservice",
                                        "localsystem", "account",        NULL};
    const char *mode = v ? pick(v, modes) : "apppool";
    if (!mode) {
        fail(b, where, "pool", "identity",
             "must be apppool, networkservice, localservice, localsystem or account");
        mode = "apppool";
    }
    for (int i = 0; modes[i]; i++)
        if (!strcmp(mode, modes[i]))
            m->identity = (enum pool_identity_mode)i;
    static const enum iis_identity to_iis[] = {IIS_IDENTITY_APPPOOL, IIS_IDENTITY_NETWORKSERVICE,
                                               IIS_IDENTITY_LOCALSERVICE, IIS_IDENTITY_LOCALSYSTEM,
                                               IIS_IDENTITY_SPECIFICUSER};
    m->pool.identity = to_iis[m->identity];
    free(v);
    free(where);
    where = NULL;
    v = get(b, "pool", "idle_timeout", NULL, &where);
    if (v && iis_parse_timespan(v) < 0)
        fail(b, where, "pool", "idle_timeout", "must be a time span hh:mm:ss (e.g. 00:20:00)");
    m->pool.idle_timeout = v;
    free(where);
    where = NULL;
    v = get(b, "pool", "load_user_profile", NULL, &where);
    m->pool.load_user_profile = v ? parse_bool(v) : -1;
    if (v && m->pool.load_user_profile < 0)
        fail(b, where, "pool", "load_user_profile", "must be true or false");
    free(v);
    free(where);
}

static void build_account(struct builder *b, struct site_model *m)
{
    char *where = NULL;
    m->account_name = get(b, "account", "name", "IUSR_${id}", &where);
    const char *why = m->account_name ? dir_sam_problem(m->account_name) : NULL;
    if (why) {
        char *msg = xasprintf("'%s': the account name (sAMAccountName) %s (IUSR_ leaves 15 "
                              "characters for the identifier)",
                              m->account_name, why);
        fail(b, where, "account", "name", msg);
        free(msg);
    }
    free(where);
    where = NULL;
    m->account_ou = get(b, "account", "ou", NULL, &where);
    if (!m->account_ou && !b->failed)
        fail(b, b->e->file, "account", "ou",
             "required when pool.identity = account (e.g. OU=Sites,OU=Hosting)");
    free(where);
    m->account_description = get(b, "account", "description", "IIS identity for ${site}", NULL);
    if (!b->conf->netbios_domain) {
        char *at = where_text(b->e->file, b->e->line);
        fail(b, at, "pool", "identity",
             "identity = account needs the domain's NetBIOS name: set [directory] netbios in the "
             "configuration");
        free(at);
    } else if (m->account_name) {
        m->pool.user_name = xasprintf("%s\\%s", b->conf->netbios_domain, m->account_name);
    }
}

static void build_site(struct builder *b, struct site_model *m)
{
    char *where = NULL;
    m->site.name = get(b, "site", "name", "${site}", &where);
    const char *why = m->site.name ? iis_check_site_name(m->site.name) : NULL;
    char unknown[NAME_WHY_MAX];
    if (why)
        fail(b, where, "site", "name", why);
    else if (m->site.name && !name_is_known(m->site.name, unknown))
        fail(b, where, "site", "name", unknown);
    free(where);
    m->name = xstrdup(m->site.name ? m->site.name : b->e->name);
    m->site.pool = m->pool.name;

    where = NULL;
    char *v = get(b, "site", "id", NULL, &where);
    if (v) {
        char *end;
        unsigned long long id = strtoull(v, &end, 10);
        if (!*v || *end || !isdigit((unsigned char)*v) || id == 0 || id > 4294967295ULL)
            fail(b, where, "site", "id", "must be a whole number from 1 to 4294967295");
        else
            m->site.id = (unsigned long)id;
    }
    free(v);
    free(where);

    where = NULL;
    v = get(b, "site", "auto_start", "true", &where);
    m->site.auto_start = v ? parse_bool(v) : 1;
    if (m->site.auto_start < 0) {
        fail(b, where, "site", "auto_start", "must be true or false");
        m->site.auto_start = 1;
    }
    free(v);
    free(where);

    where = NULL;
    m->site.physical_path = get(b, "site", "path", NULL, &where);
    if (!m->site.physical_path)
        fail(b, b->t->path, "site", "path",
             "required (the site's physical path, e.g. "
             "${root}\\${site}\\wwwroot)");
    else if ((why = check_windows_path(m->site.physical_path)))
        fail(b, where, "site", "path", why);
    free(where);

    where = NULL;
    v = get(b, "site", "anonymous", b->conf->anonymous, &where);
    static const char *const anon[] = {"pool", "iusr", "server", NULL};
    if (v && !pick(v, anon))
        fail(b, where, "site", "anonymous",
             "must be pool (the pool identity), iusr, or server (the server-wide setting, not "
             "managed per site)");
    m->anonymous = v && !strcmp(v, "iusr")     ? ANONYMOUS_IUSR
                   : v && !strcmp(v, "server") ? ANONYMOUS_SERVER
                                               : ANONYMOUS_POOL;
    m->site.anonymous_user = m->anonymous == ANONYMOUS_IUSR   ? "IUSR"
                             : m->anonymous == ANONYMOUS_POOL ? ""
                                                              : NULL;
    free(v);
    free(where);

    m->isolate = get(b, "site", "isolate", NULL, NULL);

    where = NULL;
    v = get(b, "site", "connect_as", "pass-through", &where);
    if (v && strcmp(v, "pass-through") != 0) {
        fail(b, where, "site", "connect_as",
             "only pass-through (the application user) is supported; a specific user would put "
             "a password in the configuration");
    }
    free(v);
    free(where);

    /* Bindings: every value of the key, each a comma-separated list. */
    const char **values;
    where = NULL;
    size_t n = raw_values(b, "site", "bindings", &values, &where);
    if (!n) {
        fail(b, b->t->path, "site", "bindings", "required (e.g. http/*:80:${site})");
    }
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        char *why_exp;
        char *all = expand(values[i], &b->vars, &why_exp);
        if (!all) {
            fail(b, where, "site", "bindings", why_exp);
            free(why_exp);
            continue;
        }
        for (char *item = strtok(all, ","); item; item = strtok(NULL, ",")) {
            trim(item);
            if (!*item)
                continue;
            if (m->site.n_bindings == cap) {
                cap = cap ? cap * 2 : 4;
                m->bindings = xrealloc(m->bindings, cap * sizeof *m->bindings);
            }
            const char *bwhy = iis_parse_binding(item, &m->bindings[m->site.n_bindings]);
            if (bwhy) {
                char *msg = xasprintf("'%s': %s", item, bwhy);
                fail(b, where, "site", "bindings", msg);
                free(msg);
                continue;
            }
            for (size_t k = 0; k < m->site.n_bindings; k++) {
                char k1[640], k2[640];
                iis_binding_key(m->bindings[k].protocol, m->bindings[k].information, k1, sizeof k1);
                iis_binding_key(m->bindings[m->site.n_bindings].protocol,
                                m->bindings[m->site.n_bindings].information, k2, sizeof k2);
                if (!strcmp(k1, k2)) {
                    char *msg = xasprintf("'%s' is listed twice", item);
                    fail(b, where, "site", "bindings", msg);
                    free(msg);
                }
            }
            m->site.n_bindings++;
        }
        free(all);
    }
    /* 312 bytes a binding: no spare room kept per site in a batch of 1,000s. */
    if (m->site.n_bindings && m->site.n_bindings < cap)
        m->bindings = xrealloc(m->bindings, m->site.n_bindings * sizeof *m->bindings);
    m->site.bindings = m->bindings;
    free(where);
}

/* The keys of a free-named section: the template's, then the site list's
 * own (SECTION.KEY overrides), each once. */
static char **section_keys(struct builder *b, const char *section, size_t *n)
{
    char **names = NULL;
    *n = 0;
    for (size_t i = 0; i < b->t->n + b->e->n_ovr; i++) {
        const char *key;
        if (i < b->t->n) {
            if (strcmp(b->t->vals[i].section, section) != 0)
                continue;
            key = b->t->vals[i].key;
        } else {
            const char *full = b->e->ovr_keys[i - b->t->n];
            size_t len = strlen(section);
            if (strncmp(full, section, len) != 0 || full[len] != '.')
                continue;
            key = full + len + 1;
        }
        bool seen = false;
        for (size_t k = 0; k < *n; k++)
            seen |= !strcmp(names[k], key);
        if (seen)
            continue;
        names = xrealloc(names, (*n + 1) * sizeof *names);
        names[(*n)++] = xstrdup(key);
    }
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* A grant to DOMAIN\name, name@upn or name: the directory looks the name
 * up as a sAMAccountName, so it follows the same rules as the sites' own
 * accounts. True (and a message) when it does not. */
static bool grant_account_problem(struct builder *b, const char *where, const char *key,
                                  const char *item, const struct ntfs_grant *g)
{
    size_t n;
    const char *name = ntfs_principal_account(g->principal, &n);
    char *sam = xstrndup(name, n);
    const char *why = dir_sam_problem(sam);
    if (why) {
        char *msg =
            xasprintf("'%s': the account name '%s' %s (sAMAccountName rules)", item, sam, why);
        fail(b, where, "grants", key, msg);
        free(msg);
    }
    free(sam);
    return why != NULL;
}

static void build_folders_and_grants(struct builder *b, struct site_model *m)
{
    size_t n_names;
    char **names = section_keys(b, "folders", &n_names);
    for (size_t i = 0; i < n_names; i++) {
        const char *key = names[i];
        char *where = NULL;
        char *path = get(b, "folders", key, NULL, &where);
        const char *why = path ? check_windows_path(path) : NULL;
        char unknown[NAME_WHY_MAX];
        if (why)
            fail(b, where, "folders", key, why);
        else if (path && !name_is_known(path, unknown))
            fail(b, where, "folders", key, why = unknown);
        for (size_t k = 0; path && !why && k < m->n_folders; k++) {
            if (names_collide(m->folders[k].path, path) && strcmp(m->folders[k].path, path)) {
                char *msg = xasprintf("'%s' collides with folder %s ('%s'), as NTFS treats names "
                                      "equal without regard to case: write it the same way",
                                      path, m->folders[k].name, m->folders[k].path);
                fail(b, where, "folders", key, msg);
                free(msg);
            }
        }
        m->folders = xrealloc(m->folders, (m->n_folders + 1) * sizeof *m->folders);
        m->folders[m->n_folders].name = xstrdup(key);
        m->folders[m->n_folders++].path = path ? path : xstrdup("");
        free(where);
    }
    free_names(names, n_names);
    names = section_keys(b, "grants", &n_names);
    for (size_t i = 0; i < n_names; i++) {
        const char *key = names[i];
        char *where = NULL;
        char *all = get(b, "grants", key, NULL, &where);
        bool known = false;
        for (size_t k = 0; k < m->n_folders; k++)
            known |= !strcmp(m->folders[k].name, key);
        if (!known)
            fail(b, where, "grants", key, "names no folder of [folders]");
        for (char *item = all ? strtok(all, ",") : NULL; item; item = strtok(NULL, ",")) {
            trim(item);
            if (!*item)
                continue;
            struct ntfs_grant g;
            char err[256];
            if (ntfs_grant_parse(item, &g, err, sizeof err) < 0) {
                char *msg = xasprintf("'%s': %s", item, err);
                fail(b, where, "grants", key, msg);
                free(msg);
                continue;
            }
            if (g.kind == NTFS_PRINCIPAL_NAME && grant_account_problem(b, where, key, item, &g))
                continue;
            m->grants = xrealloc(m->grants, (m->n_grants + 1) * sizeof *m->grants);
            m->grants[m->n_grants].folder = xstrdup(key);
            m->grants[m->n_grants++].grant = g;
        }
        free(all);
        free(where);
    }
    free_names(names, n_names);
}

int site_model_build(const struct conf *conf, struct template_set *ts,
                     const struct site_entry *entry, struct site_model *m, struct diag *d)
{
    memset(m, 0, sizeof *m);
    m->origin = where_text(entry->file, entry->line);
    m->template_name = xstrdup(entry->template_name ? entry->template_name : "");
    char *from = where_text(entry->file, entry->template_line);
    const struct template *t = template_get(ts, entry->template_name, from, d);
    free(from);
    if (!t) {
        m->name = xstrdup(entry->name);
        return -1;
    }
    struct builder b = {.conf = conf, .e = entry, .t = t, .d = d};
    vars_set(&b.vars, "site", entry->name);
    if (conf->content_root)
        vars_set(&b.vars, "root", conf->content_root);
    if (conf->netbios_domain)
        vars_set(&b.vars, "domain", conf->netbios_domain);
    for (size_t i = 0; i < entry->vars.n; i++)
        vars_set(&b.vars, entry->vars.names[i], entry->vars.values[i]);
    /* Overrides must name keys a template could hold. */
    for (size_t i = 0; i < entry->n_ovr; i++) {
        char *dot = strchr(entry->ovr_keys[i], '.');
        char *section = xstrndup(entry->ovr_keys[i], (size_t)(dot - entry->ovr_keys[i]));
        bool ok = !strcmp(section, "folders") || !strcmp(section, "grants") ||
                  (strcmp(section, "template") != 0 && template_value(t, section, dot + 1));
        static const char *const settable[] = {
            "pool.name",       "pool.runtime",    "pool.pipeline",       "pool.start_mode",
            "pool.auto_start", "pool.identity",   "pool.idle_timeout",   "pool.load_user_profile",
            "account.name",    "account.ou",      "account.description", "site.name",
            "site.id",         "site.bindings",   "site.path",           "site.anonymous",
            "site.auto_start", "site.connect_as", "site.isolate",        NULL};
        ok |= pick(entry->ovr_keys[i], settable) != NULL;
        if (!ok) {
            diag_add(d,
                     "%s:%u: [site %s]: unknown override '%s' (write SECTION.KEY with a "
                     "template key, e.g. site.bindings)",
                     entry->file, entry->ovr_lines[i], entry->name, entry->ovr_keys[i]);
            b.failed = 1;
        }
        free(section);
    }
    build_pool(&b, m);
    if (m->identity == IDENTITY_ACCOUNT)
        build_account(&b, m);
    build_site(&b, m);
    build_folders_and_grants(&b, m);
    vars_free(&b.vars);
    return b.failed ? -1 : 0;
}

void site_model_free(struct site_model *m)
{
    free(m->name);
    free(m->origin);
    free(m->template_name);
    free(m->isolate);
    free(m->account_name);
    free(m->account_ou);
    free(m->account_description);
    free((char *)m->pool.name);
    free((char *)m->pool.runtime);
    free((char *)m->pool.pipeline);
    free((char *)m->pool.start_mode);
    free((char *)m->pool.user_name);
    free_secret((char *)m->pool.password);
    free((char *)m->pool.idle_timeout);
    free((char *)m->site.name);
    free((char *)m->site.physical_path);
    free(m->bindings);
    for (size_t i = 0; i < m->n_folders; i++) {
        free(m->folders[i].name);
        free(m->folders[i].path);
    }
    free(m->folders);
    for (size_t i = 0; i < m->n_grants; i++)
        free(m->grants[i].folder);
    free(m->grants);
    memset(m, 0, sizeof *m);
}
