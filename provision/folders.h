/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sites' folders and NTFS grants during one run: maps the template's
 * Windows paths (under [content] root) to the content location's back end
 * (smb://, an ntfs-3g mount, or a script), resolves the grants' principals
 * to SIDs (pool, anonymous, well-known names, IIS AppPool\NAME, the site's
 * own AD account, DOMAIN\name through the directory) and drives the grant
 * engine (provision/ntfs/grants.h). The core's only door to file systems. */
#ifndef PROVISION_FOLDERS_H
#define PROVISION_FOLDERS_H

#include "provision/change.h"
#include "provision/conf.h"
#include "provision/ntfs/backend.h"
#include "provision/site.h"

struct folder_run;
struct account_run; /* provision/accounts.h: resolves DOMAIN\name principals */

/* Opens the [content] location's back end; NULL with messages. Only called
 * when the configuration has a location. */
struct folder_run *folders_open(const struct conf *c, struct diag *d);
/* Closes it (a script back end writes its file now). -1 if that failed. */
int folders_close(struct folder_run *run, struct diag *d);

/* Deep runs (plan/apply --deep): the grants engine also repairs what lies
 * below the sites' folders (grants.h acl_apply_site_deep). */
void folders_set_deep(struct folder_run *run, bool deep);

/* Lets fn watch every folder creation and descriptor write of the
 * following calls (backend.h: the write-ahead journal's hook). */
void folders_observe(struct folder_run *run, acl_effect_fn fn, void *ctx);
/* The back end (for recovery, which replays journal records on it). */
struct acl_backend *folders_backend(struct folder_run *run);

/* Checks, without any connection, that every folder of the site lies under
 * [content] root. -1 with a message naming the site and folder. */
int folders_check_model(const struct conf *c, const struct site_model *m, struct diag *d);

/* Creates the site's folders and applies its grants (dry_run: computes and
 * reports only). account_sid: the SID of the site's own account, or NULL
 * when it has none yet (dry run of a new account: its grants are reported
 * by name). accts resolves DOMAIN\name principals (may be NULL). On
 * failure the engine has restored what it changed; -1 with messages. */
int folders_apply_site(struct folder_run *run, const struct site_model *m, const char *account_sid,
                       struct account_run *accts, bool dry_run, struct changes *out,
                       struct diag *d);
/* Removes the ACEs the site's grants added; with remove_folders, its
 * folders that are then empty. Never deletes files. */
int folders_remove_site(struct folder_run *run, const struct site_model *m, const char *account_sid,
                        struct account_run *accts, bool remove_folders, bool dry_run,
                        struct changes *out, struct diag *d);

/* The grants folders_remove_site would take away, one call of visit per
 * ACE (rel normalised as acl_path_check does), for the journal of a
 * destroy. 0 or -1. */
typedef void (*folders_grant_visitor)(void *ctx, const char *rel, const struct ntfs_ace *ace,
                                      bool protect);
int folders_removal_grants(struct folder_run *run, const struct site_model *m,
                           const char *account_sid, struct account_run *accts,
                           folders_grant_visitor visit, void *ctx, struct diag *d);

#endif
