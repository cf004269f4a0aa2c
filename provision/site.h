/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Site lists and the site model.
 *
 * A site list is an INI file with one [site NAME] section per site, naming
 * its template and its variables (e.g. `id = shop`), plus per-site overrides
 * written SECTION.KEY (e.g. `site.bindings = ...`). A site model
 * is one site with its template applied and every ${var} expanded: what the
 * system modules are asked to make true. */
#ifndef PROVISION_SITE_H
#define PROVISION_SITE_H

#include "provision/conf.h"
#include "provision/iis/apphost.h"
#include "provision/ntfs/grant.h"
#include "provision/template.h"
#include "provision/util.h"

struct site_entry {
    char *name;
    char *file;
    unsigned line;
    char *template_name;
    unsigned template_line;
    struct vars vars;
    /* overrides: "section.key" -> values (lists repeat) */
    char **ovr_keys, **ovr_values;
    unsigned *ovr_lines;
    size_t n_ovr;
};

struct site_list {
    struct site_entry *items;
    size_t count;
    struct strmap index; /* name (folded, provision/fold.h) -> item index + 1 */
};

/* Reads site lists, appending to list. Duplicate site names (across all the
 * lists, case-insensitively) are errors naming both places. On error (-1)
 * the list is left as it was before the call. */
int site_list_load(struct site_list *list, const char *path, struct diag *d);
/* Frees and zeroes the list; safe on a zeroed one. */
void site_list_free(struct site_list *list);

enum pool_identity_mode {
    IDENTITY_APPPOOL,
    IDENTITY_NETWORKSERVICE,
    IDENTITY_LOCALSERVICE,
    IDENTITY_LOCALSYSTEM,
    IDENTITY_ACCOUNT, /* the site's own AD account, IUSR_<id> */
};

/* Who serves anonymous requests (site.anonymous). */
enum anonymous_mode {
    ANONYMOUS_POOL, /* "pool": the pool identity (anonymousAuthentication userName="") */
    ANONYMOUS_IUSR, /* "iusr": IUSR */
    /* "server": not managed per site: the server-wide setting (IUSR unless
     * changed) stays in force; grants to "anonymous" and the access guard
     * take it for IUSR. What `import` writes for a site without its own
     * anonymousAuthentication location. */
    ANONYMOUS_SERVER,
};

struct folder_spec {
    char *name;
    char *path; /* Windows path */
};

struct grant_spec {
    char *folder;
    struct ntfs_grant grant;
};

struct site_model {
    char *name;
    char *origin; /* "file:line" of its [site] section */
    char *template_name;
    enum pool_identity_mode identity;
    enum anonymous_mode anonymous;
    char *isolate; /* a [folders] name: protected; Administrators, SYSTEM and its grants */
    char *account_name, *account_ou, *account_description; /* IDENTITY_ACCOUNT */
    struct iis_pool_spec pool;                             /* strings owned by the model */
    struct iis_site_spec site;
    struct iis_binding *bindings;
    struct folder_spec *folders;
    size_t n_folders;
    struct grant_spec *grants;
    size_t n_grants;
};

/* Builds the model of one entry; -1 with messages naming file, line and key. */
int site_model_build(const struct conf *conf, struct template_set *ts,
                     const struct site_entry *entry, struct site_model *m, struct diag *d);
void site_model_free(struct site_model *m);

/* Checks a Windows path (X:\..., \\server\share\..., or %VAR%\...): no ".."
 * segments, no / and none of < > " | ? *. NULL or a reason. */
const char *check_windows_path(const char *p);

#endif
