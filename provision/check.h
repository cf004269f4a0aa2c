/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check: what the identities that matter may do in each site's folders,
 * decided as Windows would (ntfs/effective.h over the tokens of tokens.h),
 * and the classic failures named with a one-line fix. Reads only.
 *
 * The caller (cmd_check.c) opens the IIS configuration, the content
 * location and, when a pool runs as a domain account, the directory; this
 * module reads descriptors through the content back end and decides.
 *
 * Which folders are a site's: its physical path P (below [content] root)
 * and the site folder S, the highest folder holding P and no other site's
 * path (D:\sites\shop for D:\sites\shop\wwwroot; P itself when two sites
 * share a path). Reported: S, the folders from S down to P, and the
 * subfolders of S and of P. For each, the identities' access to the folder
 * itself and to the files in it as a new file inherits it; files that carry
 * descriptors of their own are not read (that is a deep check). */
#ifndef PROVISION_CHECK_H
#define PROVISION_CHECK_H

#include "provision/iis/apphost.h"
#include "provision/ntfs/backend.h"
#include "provision/util.h"

#include <stdbool.h>
#include <stddef.h>

/* The access matrix's columns: the anonymous identity (when it is not the
 * pool identity), the pool identity, then the groups every tenant shares. */
#define CHECK_MAX_COLUMNS 6

struct check_evidence {
    char *path; /* the folder (or "files in" it) whose entry decided */
    char *ace;  /* icacls style: NAME:(I)(OI)(CI)(RX) */
    char *from; /* where an inherited entry comes from, or NULL */
};

struct check_finding {
    const char *id;       /* e.g. "anonymous-cannot-read" (static) */
    const char *severity; /* "critical" or "warning" (static) */
    char *identity;       /* whose access it is about */
    char *path;           /* the Windows folder it is about */
    char *text;           /* one sentence: what is wrong and what it causes */
    char *fix;            /* one line */
    struct check_evidence *evidence;
    size_t n_evidence;
};

struct check_row {
    char *path;                            /* Windows path of the folder */
    const char *folder[CHECK_MAX_COLUMNS]; /* access to the folder (static letters) */
    const char *files[CHECK_MAX_COLUMNS];  /* access to the files in it */
};

/* --prove: one access tried for real over SMB as the pool's account. */
enum check_probe_kind {
    CHECK_PROBE_READ,  /* list the folder and read a file in it */
    CHECK_PROBE_WRITE, /* create a file in the folder (then delete it) */
};
struct check_probe {
    enum check_probe_kind kind;
    char *rel;     /* the folder below the content location ('/') */
    char *path;    /* its Windows path */
    bool expected; /* what the descriptors say the account may do */
    int got;       /* 1 allowed, 0 denied, -1 not tried (why) */
    char *why;     /* or NULL */
};

struct check_site {
    char *name, *pool, *identity_type, *identity_user, *physical_path, *anonymous_user;
    char *not_checked; /* why it could not be checked, or NULL */
    char *notes;       /* what was left out (e.g. AD groups unknown), or NULL */
    char *columns[CHECK_MAX_COLUMNS];
    size_t n_columns;
    struct check_row *rows;
    size_t n_rows;
    struct check_finding *findings;
    size_t n_findings;
    struct check_probe *probes; /* --prove */
    size_t n_probes;
};

/* What the directory says of a domain account a pool or the anonymous
 * identity runs as. */
struct check_account {
    char *sid;     /* S-1-5-21-... */
    char *upn;     /* for the logon test, or NULL */
    char **groups; /* tokenGroups SIDs */
    size_t n_groups;
    bool groups_read; /* false: only the well-known groups count */
    bool disabled, locked_out, password_expired;
    long long account_expires, password_expires; /* FILETIME; 0 never */
};
void check_account_free(struct check_account *a);

/* Looks DOMAIN\name up: 0 and *out, or -1 with why (heap). */
typedef int check_resolve_fn(void *ctx, const char *name, struct check_account *out, char **why);
/* Says which names will be resolved, so that they can be looked up in a
 * few searches instead of one each. */
typedef void check_prefetch_fn(void *ctx, const char *const *names, size_t n);
/* One logon as upn with password: 1 accepted, 0 refused, -1 not tried or
 * failed otherwise; why (heap) says why for 0 and -1. */
typedef int check_logon_fn(void *ctx, const char *upn, const char *password, char **why);
/* Whether the directory knows the SID: 1, 0, or -1 (not asked). */
typedef int check_sid_fn(void *ctx, const char *sid);
/* Tries the probes logged on as DOMAIN\user with password, filling each
 * one's got (and why); 0, or -1 with why (heap) when no logon was made. */
typedef int check_prove_fn(void *ctx, const char *user, const char *password,
                           struct check_probe *probes, size_t n, char **why);

struct check_input {
    const struct apphost *ah;
    struct acl_backend *content; /* NULL: no descriptor can be read */
    const char *content_root;    /* the Windows folder content maps to */
    const char *no_content_why;  /* with content NULL: why */
    check_resolve_fn *resolve;   /* NULL: domain accounts are not resolved */
    check_prefetch_fn *prefetch; /* may be NULL */
    check_logon_fn *logon;       /* NULL: stored passwords are not tried */
    check_sid_fn *sid_exists;    /* NULL: domain SIDs in entries are not looked up */
    check_prove_fn *prove;       /* NULL: no --prove */
    void *ctx;                   /* for resolve and logon */
    long long now;               /* FILETIME, for expiry dates */
    bool missing_ok;             /* a name that is not a site is reported as such, not an error */
    bool deep;                   /* also every file and folder below the site folder */
};

struct check_result {
    struct check_site *sites;
    size_t n_sites;
};

/* Checks the named sites (all when n_names is 0). A name that is not a
 * site of the configuration is an error: -1 with a message, nothing
 * checked. Otherwise 0, with each site either checked or not_checked. */
int check_sites(const struct check_input *in, char **names, size_t n_names,
                struct check_result *out, struct diag *d);
void check_result_free(struct check_result *r);

/* Adds a "drift" finding to s: what apply of its site list would change
 * (lines of the plan, "+ pool x", "~ site x; attr: old -> new"), from
 * list. */
void check_add_drift(struct check_site *s, const char *list, const char *const *lines, size_t n);

#endif
