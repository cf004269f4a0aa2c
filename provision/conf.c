/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/conf.h"

#include "provision/ntfs/sid.h"

#include "provision/ini.h"
#include "provision/ntfs/backend.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

const char *check_runtime(const char *v)
{
    if (!strcmp(v, "v4.0") || !strcmp(v, "v2.0") || !strcmp(v, "none"))
        return NULL;
    return "runtime must be v4.0, v2.0 or none (No Managed Code)";
}

const char *check_pipeline(const char *v)
{
    if (!strcmp(v, "Integrated") || !strcmp(v, "Classic"))
        return NULL;
    return "pipeline must be Integrated or Classic";
}

const char *check_start_mode(const char *v)
{
    if (!strcmp(v, "OnDemand") || !strcmp(v, "AlwaysRunning"))
        return NULL;
    return "start_mode must be OnDemand or AlwaysRunning";
}

int parse_bool(const char *v)
{
    if (ascii_equal_ci(v, "true") || ascii_equal_ci(v, "yes"))
        return 1;
    if (ascii_equal_ci(v, "false") || ascii_equal_ci(v, "no"))
        return 0;
    return -1;
}

char *conf_relative(const struct conf *c, const char *p)
{
    if (p[0] == '/')
        return xstrdup(p);
    char *copy = xstrdup(c->path);
    char *r = xasprintf("%s/%s", dirname(copy), p);
    free(copy);
    return r;
}

struct conf_key {
    const char *section, *key;
};

static const struct conf_key known[] = {
    {"iis", "config"},
    {"iis", "backups"},
    {"iis", "plain_passwords"},
    {"iis", "auth_file"},
    {"iis", "kerberos"},
    {"iis", "timeout"},
    {"content", "root"},
    {"content", "location"},
    {"content", "auth_file"},
    {"content", "kerberos"},
    {"content", "timeout"},
    {"content", "operator"},
    {"templates", "dir"},
    {"state", "dir"},
    {"directory", "netbios"},
    {"defaults", "runtime"},
    {"defaults", "pipeline"},
    {"defaults", "start_mode"},
    {"defaults", "auto_start"},
    {"defaults", "identity"},
    {"defaults", "anonymous"},
    {"directory", "uri"},
    {"directory", "ca_file"},
    {"directory", "tls_insecure"},
    {"directory", "bind"},
    {"directory", "bind_dn"},
    {"directory", "password_file"},
    {"directory", "password_env"},
    {"directory", "gssapi_seal"},
    {"directory", "base_dn"},
    {"directory", "upn_suffix"},
    {"directory", "timeout"},
    {"directory", "create_ou"},
    {"directory", "adopt_unmarked"},
    {"directory", "group"},
    {"directory", "adopt_group"},
    {"directory", "wait_for"},
    {"directory", "wait_timeout"},
    {"directory", "password_length"},
    {"directory", "secrets_file"},
};

static void set(char **slot, const char *v)
{
    free(*slot);
    *slot = xstrdup(v);
}

/* Appends v to a list key's values (a key that may repeat). */
static void add_value(char ***list, size_t *n, const char *v)
{
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = xstrdup(v);
}

static bool repeatable(const char *key)
{
    return !strcmp(key, "group") || !strcmp(key, "adopt_group") || !strcmp(key, "wait_for");
}

/* [directory] keys; returns a reason for a bad value or NULL. */
static const char *directory_key(struct conf *c, const char *k, const char *v)
{
    struct conf_directory *dir = &c->dir;
    int b = parse_bool(v);
    char *end;
    if (!strcmp(k, "uri")) {
        if (strncmp(v, "ldaps://", 8) != 0 && strncmp(v, "ldap://", 7) != 0)
            return "must be ldaps://HOST or ldap://HOST (StartTLS is then required)";
        set(&dir->uri, v);
        dir->configured = true;
    } else if (!strcmp(k, "ca_file")) {
        free(dir->ca_file);
        dir->ca_file = conf_relative(c, v);
    } else if (!strcmp(k, "bind")) {
        if (strcmp(v, "simple") && strcmp(v, "gssapi"))
            return "must be simple (bind_dn and a password) or gssapi (a Kerberos ticket)";
        dir->sasl_gssapi = !strcmp(v, "gssapi");
    } else if (!strcmp(k, "bind_dn")) {
        set(&dir->bind_dn, v);
    } else if (!strcmp(k, "password_file")) {
        free(dir->password_file);
        dir->password_file = conf_relative(c, v);
    } else if (!strcmp(k, "password_env")) {
        set(&dir->password_env, v);
    } else if (!strcmp(k, "base_dn")) {
        set(&dir->base_dn, v);
    } else if (!strcmp(k, "upn_suffix")) {
        set(&dir->upn_suffix, v);
    } else if (!strcmp(k, "secrets_file")) {
        free(dir->secrets_file);
        dir->secrets_file = conf_relative(c, v);
    } else if (!strcmp(k, "group")) {
        add_value(&dir->groups, &dir->n_groups, v);
    } else if (!strcmp(k, "adopt_group")) {
        if (!*v)
            return "needs a group: a DN (relative to base_dn or absolute) or a group name";
        add_value(&dir->adopt_groups, &dir->n_adopt_groups, v);
    } else if (!strcmp(k, "wait_for")) {
        if ((strncmp(v, "ldaps://", 8) != 0 && strncmp(v, "ldap://", 7) != 0) || strchr(v, ' ') ||
            strchr(v, ','))
            return "must be one ldaps://HOST or ldap://HOST (StartTLS) per line; the key may "
                   "repeat";
        add_value(&dir->wait_for, &dir->n_wait_for, v);
    } else if (!strcmp(k, "wait_timeout")) {
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 3600)
            return "must be a number of seconds from 1 to 3600";
        dir->wait_timeout_seconds = (int)n;
    } else if (!strcmp(k, "timeout")) {
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 3600)
            return "must be a number of seconds from 1 to 3600";
        dir->timeout_seconds = (int)n;
    } else if (!strcmp(k, "password_length")) {
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 16 || n > 128)
            return "must be from 16 to 128";
        dir->password_length = (unsigned)n;
    } else {
        if (b < 0)
            return "must be true or false";
        if (!strcmp(k, "tls_insecure"))
            dir->tls_insecure = b;
        else if (!strcmp(k, "gssapi_seal"))
            dir->gssapi_seal = b;
        else if (!strcmp(k, "create_ou"))
            dir->create_ou = b;
        else if (!strcmp(k, "adopt_unmarked"))
            dir->adopt_unmarked = b;
    }
    return NULL;
}

int conf_load(const char *path, struct conf *c, struct diag *d)
{
    memset(c, 0, sizeof *c);
    c->path = xstrdup(path);
    c->backups = 10;
    c->auto_start = 1;
    set(&c->runtime, "v4.0");
    set(&c->pipeline, "Integrated");
    set(&c->start_mode, "OnDemand");
    set(&c->identity, "apppool");
    set(&c->anonymous, "pool");
    set(&c->templates_dir, "templates");
    struct ini_file f;
    size_t errors = d->count;
    if (ini_load(path, &f, d) < 0) {
        conf_free(c);
        return -1;
    }
    for (size_t i = 0; i < f.n_sections; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok |= !strcmp(f.sections[i].name, known[k].section);
        if (!ok)
            diag_add(d,
                     "%s:%u: unknown section [%s] (known: iis, content, templates, state, "
                     "directory, defaults)",
                     path, f.sections[i].line, f.sections[i].name);
    }
    for (size_t i = 0; i < f.count; i++) {
        const struct ini_entry *e = &f.entries[i];
        const char *s = e->section, *k = e->key, *v = e->value;
        const char *why = NULL;
        char *location_why = NULL; /* heap text behind why */
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof *known; j++)
            ok |= !strcmp(s, known[j].section) && !strcmp(k, known[j].key);
        if (!ok) {
            diag_add(d, "%s:%u: unknown key '%s' in [%s]", path, e->line, k, s);
            continue;
        }
        for (size_t j = 0; j < i && !repeatable(k); j++)
            if (!strcmp(f.entries[j].section, s) && !strcmp(f.entries[j].key, k))
                diag_add(d, "%s:%u: key '%s' in [%s] is set twice (first at line %u)", path,
                         e->line, k, s, f.entries[j].line);
        if (!strcmp(k, "config")) {
            if (!*v)
                why = "needs the path of applicationHost.config";
            else {
                free(c->iis_config);
                c->iis_config = strncmp(v, "smb://", 6) ? conf_relative(c, v) : xstrdup(v);
            }
        } else if (!strcmp(k, "backups")) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (!*v || *end || n > 1000)
                why = "must be a number from 0 to 1000";
            else
                c->backups = (unsigned)n;
        } else if (!strcmp(k, "plain_passwords")) {
            if (!strcmp(v, "accept"))
                c->plain_passwords = true;
            else if (!strcmp(v, "refuse"))
                c->plain_passwords = false;
            else
                why = "must be accept or refuse";
        } else if (!strcmp(k, "root")) {
            set(&c->content_root, v);
        } else if (!strcmp(k, "location")) {
            /* The back ends registered (provision/ntfs/backend_registry.c) say
             * which locations they take. */
            if (acl_location_known(v)) {
                set(&c->content_location, v);
            } else {
                free(location_why);
                location_why = acl_expected_locations();
                why = location_why;
            }
        } else if (!strcmp(k, "auth_file")) {
            char **slot = !strcmp(s, "iis") ? &c->iis_auth_file : &c->content_auth_file;
            free(*slot);
            *slot = conf_relative(c, v);
        } else if (!strcmp(k, "kerberos")) {
            int b = parse_bool(v);
            if (b < 0)
                why = "must be true or false";
            else if (!strcmp(s, "iis"))
                c->iis_kerberos = b;
            else
                c->content_kerberos = b;
        } else if (strcmp(s, "directory") != 0 && !strcmp(k, "timeout")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 3600)
                why = "must be a number of seconds from 1 to 3600 (each SMB request)";
            else if (!strcmp(s, "iis"))
                c->iis_timeout_ms = (int)n * 1000;
            else
                c->content_timeout_ms = (int)n * 1000;
        } else if (!strcmp(s, "content") && !strcmp(k, "operator")) {
            struct ntfs_sid sid;
            if (ntfs_sid_parse(v, &sid) < 0)
                why = "must be a SID (S-1-5-21-...): the account provision uses on the content "
                      "location";
            else
                set(&c->content_operator_sid, v);
        } else if (!strcmp(s, "state") && !strcmp(k, "dir")) {
            if (v[0] != '/')
                why = "must be an absolute path (the state folder: journals, audit log)";
            else
                set(&c->state_dir, v);
        } else if (!strcmp(k, "dir")) {
            set(&c->templates_dir, v);
        } else if (!strcmp(k, "netbios")) {
            set(&c->netbios_domain, v);
        } else if (!strcmp(s, "directory")) {
            why = directory_key(c, k, v);
        } else if (!strcmp(k, "runtime")) {
            if (!(why = check_runtime(v)))
                set(&c->runtime, v);
        } else if (!strcmp(k, "pipeline")) {
            if (!(why = check_pipeline(v)))
                set(&c->pipeline, v);
        } else if (!strcmp(k, "start_mode")) {
            if (!(why = check_start_mode(v)))
                set(&c->start_mode, v);
        } else if (!strcmp(k, "auto_start")) {
            int b = parse_bool(v);
            if (b < 0)
                why = "must be true or false";
            else
                c->auto_start = b;
        } else if (!strcmp(k, "identity")) {
            set(&c->identity, v);
        } else if (!strcmp(k, "anonymous")) {
            set(&c->anonymous, v);
        }
        if (why)
            diag_add(d, "%s:%u: %s: %s", path, e->line, k, why);
        free(location_why);
        location_why = NULL;
    }
    if (!c->iis_config)
        diag_add(d, "%s: [iis] config is required (the path of applicationHost.config)", path);
    for (size_t i = 0; i < f.n_sections; i++)
        if (!strcmp(f.sections[i].name, "directory"))
            c->dir.line = f.sections[i].line;
    if (c->dir.configured) {
        const struct conf_directory *dir = &c->dir;
        if (!dir->base_dn)
            diag_add(d, "%s:%u: [directory] base_dn is required (e.g. DC=example,DC=com)", path,
                     dir->line);
        if (!dir->upn_suffix)
            diag_add(d, "%s:%u: [directory] upn_suffix is required (e.g. example.com)", path,
                     dir->line);
        if (!c->netbios_domain)
            diag_add(d, "%s:%u: [directory] netbios is required (the domain's NetBIOS name)", path,
                     dir->line);
        if (!dir->sasl_gssapi && (!dir->bind_dn || (!dir->password_file && !dir->password_env)))
            diag_add(d,
                     "%s:%u: [directory] a simple bind needs bind_dn and password_file or "
                     "password_env (or set bind = gssapi)",
                     path, dir->line);
        if (dir->password_file && dir->password_env)
            diag_add(d, "%s:%u: [directory] password_file and password_env: set only one", path,
                     dir->line);
    }
    char *dir = conf_relative(c, c->templates_dir);
    free(c->templates_dir);
    c->templates_dir = dir;
    ini_free(&f);
    if (d->count > errors) {
        conf_free(c);
        return -1;
    }
    return 0;
}

void conf_free(struct conf *c)
{
    free(c->path);
    free(c->iis_config);
    free(c->iis_auth_file);
    free(c->content_root);
    free(c->content_location);
    free(c->content_auth_file);
    free(c->content_operator_sid);
    free(c->templates_dir);
    free(c->state_dir);
    free(c->netbios_domain);
    struct conf_directory *dir = &c->dir;
    free(dir->uri);
    free(dir->ca_file);
    free(dir->bind_dn);
    free(dir->password_file);
    free(dir->password_env);
    free(dir->base_dn);
    free(dir->upn_suffix);
    free(dir->secrets_file);
    for (size_t i = 0; i < dir->n_groups; i++)
        free(dir->groups[i]);
    free(dir->groups);
    for (size_t i = 0; i < dir->n_adopt_groups; i++)
        free(dir->adopt_groups[i]);
    free(dir->adopt_groups);
    for (size_t i = 0; i < dir->n_wait_for; i++)
        free(dir->wait_for[i]);
    free(dir->wait_for);
    free(c->runtime);
    free(c->pipeline);
    free(c->start_mode);
    free(c->identity);
    free(c->anonymous);
    memset(c, 0, sizeof *c);
}
