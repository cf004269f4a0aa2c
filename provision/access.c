/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/access.h"

#include "provision/fold.h"

#include "provision/ntfs/sd.h"
#include "provision/ntfs/sid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who an identity is, in the terms grants can name. */
struct identity {
    const char *label; /* for messages */
    bool is_pool;      /* the pool identity (grants to "pool" match) */
    bool is_anonymous; /* grants to "anonymous" match */
    bool has_sid;
    struct ntfs_sid sid;
    const char *name; /* DOMAIN\name of an AD account, or NULL */
    const char *sam;  /* its sAMAccountName */
};

static void pool_identity(const struct site_model *m, struct identity *id, char *label, size_t n)
{
    memset(id, 0, sizeof *id);
    id->is_pool = true;
    id->is_anonymous = m->anonymous == ANONYMOUS_POOL;
    const char *sid = NULL;
    switch (m->identity) {
    case IDENTITY_APPPOOL:
        id->has_sid = ntfs_sid_apppool(m->pool.name, &id->sid) == 0;
        snprintf(label, n, "IIS AppPool\\%s", m->pool.name);
        break;
    case IDENTITY_NETWORKSERVICE:
        sid = NTFS_SID_NETWORK_SERVICE, snprintf(label, n, "NETWORK SERVICE");
        break;
    case IDENTITY_LOCALSERVICE:
        sid = NTFS_SID_LOCAL_SERVICE, snprintf(label, n, "LOCAL SERVICE");
        break;
    case IDENTITY_LOCALSYSTEM:
        sid = NTFS_SID_LOCAL_SYSTEM, snprintf(label, n, "SYSTEM");
        break;
    case IDENTITY_ACCOUNT:
        id->name = m->pool.user_name;
        id->sam = m->account_name;
        snprintf(label, n, "%s", m->pool.user_name ? m->pool.user_name : "the site's account");
        break;
    }
    if (sid)
        id->has_sid = ntfs_sid_parse(sid, &id->sid) == 0;
    id->label = label;
}

static bool grant_names(const struct ntfs_grant *g, const struct identity *id)
{
    struct ntfs_sid everyone;
    ntfs_sid_parse(NTFS_SID_EVERYONE, &everyone);
    switch (g->kind) {
    case NTFS_PRINCIPAL_POOL:
        return id->is_pool;
    case NTFS_PRINCIPAL_ANONYMOUS:
        return id->is_anonymous;
    case NTFS_PRINCIPAL_SID:
        return ntfs_sid_equal(&g->sid, &everyone) ||
               (id->has_sid && ntfs_sid_equal(&g->sid, &id->sid));
    case NTFS_PRINCIPAL_NAME: {
        if (!id->name)
            return false;
        if (ascii_equal_ci(g->principal, id->name))
            return true;
        const char *at = strchr(g->principal, '@');
        size_t n = at ? (size_t)(at - g->principal) : 0;
        return at && id->sam && strlen(id->sam) == n && !ascii_ncasecmp(g->principal, id->sam, n);
    }
    }
    return false;
}

static bool reads(uint32_t mask)
{
    return (mask & 0x1) || (mask & (NTFS_GENERIC_READ | NTFS_GENERIC_ALL));
}

/* How a folder's path relates to the site's: 2 same folder, 1 ancestor. */
static int covers(const char *folder, const char *site_path)
{
    size_t n;
    if (!name_path_within(site_path, folder, &n))
        return 0;
    if (site_path[n] == '\0' || site_path[n + 1] == '\0')
        return 2;
    return 1;
}

/* Can the identity read files in the site's folder? 1 yes, 0 no, -1 a deny. */
static int can_read_files(const struct site_model *m, const struct identity *id, bool *managed,
                          const char **deny_folder)
{
    int allowed = 0;
    for (size_t f = 0; f < m->n_folders; f++) {
        int rel = covers(m->folders[f].path, m->site.physical_path);
        if (!rel)
            continue;
        *managed = true;
        for (size_t i = 0; i < m->n_grants; i++) {
            const struct ntfs_grant *g = &m->grants[i].grant;
            if (strcmp(m->grants[i].folder, m->folders[f].name) != 0 || !grant_names(g, id) ||
                !reads(g->mask))
                continue;
            /* Files in the folder get it with (OI); below it also needs
             * (CI) to reach the subfolders, and no (NP). */
            bool reaches =
                (g->ace_flags & NTFS_ACE_OI) &&
                (rel == 2 || ((g->ace_flags & NTFS_ACE_CI) && !(g->ace_flags & NTFS_ACE_NP)));
            if (!reaches)
                continue;
            if (g->deny) {
                *deny_folder = m->folders[f].name;
                return -1;
            }
            allowed = 1;
        }
    }
    return allowed;
}

int access_check_site(const struct site_model *m, struct diag *d)
{
    if (!m->site.physical_path || !m->pool.name)
        return 0;
    char pool_label[300];
    struct identity pool, anon;
    pool_identity(m, &pool, pool_label, sizeof pool_label);
    if (m->anonymous == ANONYMOUS_POOL) {
        anon = pool;
    } else {
        memset(&anon, 0, sizeof anon);
        anon.is_anonymous = true;
        anon.has_sid = ntfs_sid_parse(NTFS_SID_IUSR, &anon.sid) == 0;
        anon.label = "IUSR";
    }
    bool managed = false;
    const char *deny = NULL;
    int rc = 0;
    int pool_reads = can_read_files(m, &pool, &managed, &deny);
    if (!managed)
        return 0;
    if (pool_reads <= 0) {
        diag_add(d,
                 "%s: site '%s': the pool identity %s %s %s: IIS could not read web.config "
                 "(500.19). Add a grant such as `pool:(OI)(CI)RX` on that folder",
                 m->origin, m->name, pool.label,
                 pool_reads < 0 ? "is denied Read on" : "gets no Read on the files of",
                 m->site.physical_path);
        rc = -1;
    }
    if (!anon.is_pool) {
        deny = NULL;
        int anon_reads = can_read_files(m, &anon, &managed, &deny);
        if (anon_reads <= 0) {
            diag_add(d,
                     "%s: site '%s': anonymous requests are served as IUSR (site.anonymous = "
                     "iusr), but IUSR %s %s: static files such as CSS and JS would answer 401. "
                     "Add `anonymous:(OI)(CI)R` to the grants of that folder, or serve "
                     "anonymous requests as the pool identity (site.anonymous = pool)",
                     m->origin, m->name,
                     anon_reads < 0 ? "is denied Read on" : "gets no Read on the files of",
                     m->site.physical_path);
            rc = -1;
        }
    }
    return rc;
}
