/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Between the check files, private to check*.c: the context of one run of
 * check_sites and what the files call across. check.c owns the context,
 * identities, findings, the access matrix and the classic failures of a
 * site; check_evidence.c the folders read once, names of SIDs and the
 * evidence of findings; check_accounts.c the AD accounts and logons (pools, anonymous
 * identity, connect-as virtual directories, unknown domain SIDs);
 * check_deep.c --deep and --prove. */
#ifndef PROVISION_CHECK_INTERNAL_H
#define PROVISION_CHECK_INTERNAL_H

#include "provision/check.h"

#include "provision/iis/apphost.h"
#include "provision/ntfs/sd.h"
#include "provision/tokens.h"
#include "provision/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILE_ADD_FILE NTFS_ACCESS_WRITE_DATA /* on a folder: create files */

/* A folder whose descriptor was read (or not), shared by every site. */
struct folder {
    char *rel;  /* below the content root, '/' between components; "" = root */
    char *win;  /* its Windows path */
    int parent; /* index, -1 for the content root */
    char *error;
    struct ntfs_sd sd, file_sd; /* its descriptor; what a new file in it gets */
};

/* An identity with its token. */
struct principal {
    char *label; /* IUSR, IIS AppPool\NAME, DOMAIN\user, BUILTIN\Users ... */
    char *sid_text;
    bool known; /* its SID is known (else why) */
    char *why;
    struct token token;
    const struct check_account *account; /* a domain account's state, or NULL */
};

struct site_work {
    struct check_site *out;
    char *rel; /* of the physical path, or NULL */
    struct principal pool, anon;
    bool anon_is_pool;
};

struct ctx {
    const struct check_input *in;
    struct folder *folders;
    size_t n_folders, cap_folders;
    struct strmap by_rel;   /* rel (names) -> index + 1 */
    struct strmap names;    /* SID string -> display name (heap) */
    struct strmap tenant;   /* own pool SID string -> site index + 1, or SHARED */
    struct strmap accounts; /* DOMAIN\\name -> struct looked_up */
    struct strmap logons;   /* pools whose password was tried */
    struct strmap sids;     /* domain SID -> 1 + sid_exists' answer */
    struct site_work *work;
    size_t n_work;
};

#define SHARED ((void *)(intptr_t)-1)

/* A domain account looked up once per run (several pools may share one). */
struct looked_up {
    struct check_account account;
    char *why; /* the look-up failed: why */
};

/* The Windows path of rel below root (check_evidence.c). */
char *windows_path(const char *root, const char *rel);

/* A physical path below the content root, '/' between components, or NULL
 * (check_evidence.c). */
char *below_root(const char *root, const char *path);

/* The index of folder rel in c->folders, read on first use
 * (check_evidence.c). */
int folder_get(struct ctx *c, const char *rel);

/* Shows sid as name in evidence (check_evidence.c). */
void name_sid(struct ctx *c, const char *sid, const char *name);

/* DOMAIN\name through the resolver, once per run (check.c). */
const struct looked_up *look_up(struct ctx *c, const char *user);

/* Adds note to the site's notes unless it is there already (check.c). */
void append_note(struct check_site *s, const char *note);

/* A new finding of s; the caller fills text, fix and evidence (check.c). */
struct check_finding *add_finding(struct check_site *s, const char *id, const char *severity,
                                  const char *identity, const char *path);

/* Evidence for ACE a of folder's descriptor, or (files) of its files'
 * (check_evidence.c). */
void add_evidence(struct ctx *c, struct check_finding *fi, int folder, bool files,
                  const struct ntfs_ace *a);

/* The ACEs that decided mask in a, as evidence (check_evidence.c). */
void add_deciding(struct ctx *c, struct check_finding *fi, int folder, bool files,
                  const struct ntfs_access *a, uint32_t mask);

/* Can p's domain account log on? account-*, password-* (check_accounts.c). */
void account_findings(struct ctx *c, struct site_work *w, const struct principal *p, bool is_pool);

/* pool-localsystem: said even when the folders cannot be read (check_accounts.c). */
void localsystem_finding(struct site_work *w);

/* check_vdir's argument: the site whose virtual directories are walked. */
struct vdir_walk {
    struct ctx *c;
    struct site_work *w;
};

/* connect-as-*: apphost_site_vdirs' callback, arg a vdir_walk (check_accounts.c). */
void check_vdir(const struct iis_vdir_info *v, void *arg);

/* unresolved-sid: domain SIDs on folder f unknown to the directory (check_accounts.c). */
void unresolved_sids(struct ctx *c, size_t self, int f);

/* --deep: inheritance-stale below the site folder s_idx (check_deep.c). */
void deep_check(struct ctx *c, size_t self, struct check_site *s, int s_idx);

/* --prove: the site's probes tried over SMB, prove-mismatch (check_deep.c). */
void prove_site(struct ctx *c, size_t self, const int *list, size_t n, int s_idx, int p_idx);

#endif
