/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sites' own AD accounts (identity = account) during one run: what to
 * do with each (create, rotate the password, nothing), doing it through
 * ldap/directory.h, undoing what this run created when a later step fails,
 * and writing generated passwords to the optional secrets file. The core's
 * only door to the directory. */
#ifndef PROVISION_ACCOUNTS_H
#define PROVISION_ACCOUNTS_H

#include "ldap/directory.h"
#include "provision/change.h"
#include "provision/conf.h"
#include "provision/site.h"

struct account_run;

/* Connects and binds with the [directory] settings. NULL with messages in
 * d; a warning about the connection (TLS checks turned off) goes to notes
 * (may be NULL). */
struct account_run *accounts_open(const struct conf *c, struct diag *d, struct diag *notes);
void accounts_close(struct account_run *run);

/* Looks up the accounts of many sites at once (a few searches instead of
 * one per site); accounts_prepare and accounts_prepare_removal then use
 * the answers. On any problem nothing is kept, and each site looks its own
 * account up (and reports its own problem). */
void accounts_prefetch(struct account_run *run, const struct site_model *const *models, size_t n);
/* The same for DOMAIN\name (or name@upn) users, for accounts_find (check
 * looks up every pool's account). */
void accounts_prefetch_names(struct account_run *run, const char *const *names, size_t n);

enum account_action {
    ACCOUNT_KEEP,   /* exists (ours or adopted); nothing to do */
    ACCOUNT_CREATE, /* absent: create with a new password */
    ACCOUNT_ROTATE, /* exists, but the pool has no password for it: set a new one */
};

struct account_step {
    enum account_action action;
    struct dir_account account; /* found or created */
    bool done;                  /* created / rotated in this run */
    char *password;             /* new password (wiped on free), or NULL */
};

/* Decides what the site's account needs and records it in out ("+ account"
 * or "~ account" password), reading only (a plan): no password is made
 * here. rotate: set a new password even when the pool has one.
 * pool_has_password: the IIS config already stores a password for the
 * account. An unmarked account is used only with adopt_unmarked and when
 * dir_check_adoption allows it in the template's OU (m->account_ou): a
 * user account, not built in, whose groups lie within Domain Users and
 * adopt_group. -1 with messages (directory errors, an account that belongs
 * to another site, an adoption refused: naming account, DN and reason). */
int accounts_prepare(struct account_run *run, const struct site_model *m, bool pool_has_password,
                     bool rotate, struct account_step *step, struct changes *out, struct diag *d);
/* Executing the plan: a new password (CSPRNG, AD complexity) for a step
 * that creates or rotates; nothing for the others. 0 or -1. */
int accounts_new_password(struct account_run *run, const struct site_model *m,
                          struct account_step *step, struct diag *d);
/* Creates the accounts n sites' steps decided, pipelined on the one
 * connection (several adds in flight). Password rotations are not done
 * here: the new password goes into the IIS configuration first, and
 * accounts_execute sets it once the file is written (so that a crash in
 * between leaves the password where recovery can read it). errs[i] receives site i's messages,
 * run_errs those that name no account (a lost connection), once; a failed
 * site without a message of its own gets one pointing to them. failed[i]
 * is set for the sites whose account could not be made. Steps already
 * failed (failed[i] set on entry) are skipped. */
void accounts_execute_all(struct account_run *run, const struct site_model *const *models,
                          struct account_step *const *steps, struct diag *const *errs,
                          struct diag *run_errs, bool *failed, size_t n);
/* The same, calling ready(ctx, i) for site i as soon as its account is
 * made (steps[i] done, its account and SID filled in), while the other
 * adds are still in flight: the run does the site's folders and grants
 * meanwhile (another server). ready may use the directory (synchronous
 * operations). */
typedef void (*accounts_ready_fn)(void *ctx, size_t site);
void accounts_execute_all_notify(struct account_run *run, const struct site_model *const *models,
                                 struct account_step *const *steps, struct diag *const *errs,
                                 struct diag *run_errs, bool *failed, size_t n,
                                 accounts_ready_fn ready, void *ctx);
/* Creates or rotates as decided. 0 or -1. */
int accounts_execute(struct account_run *run, const struct site_model *m, struct account_step *step,
                     struct diag *d);
/* Replication ([directory] wait_for, wait_timeout). In a domain of
 * several DCs a new account exists at first only on the DC it was made on
 * (the [directory] uri); a host that asks another DC cannot find it, and
 * an IIS pool that runs as it does not start. Call this after the accounts
 * are created (accounts_execute_all) and before the IIS configuration is
 * written: it waits until every account that steps[i] made in this run
 * (done, ACCOUNT_CREATE) is on each DC wait_for names, found by its
 * objectGUID (ldap/directory.h dir_wait_replica: same bind and TLS
 * settings as uri; polls with pauses from 250 ms doubling to 5 s). Steps
 * that rotated a password (done, ACCOUNT_ROTATE: accounts_execute, which
 * runs after the write) are waited for too when they are passed: the
 * account's pwdLastSet on the DC must reach the value uri gives now
 * (pwdLastSet replicates with the password; whenChanged and uSNChanged are
 * each DC's own). One deadline, wait_timeout seconds (default 60) from the
 * call, covers every DC; SIGINT/SIGTERM (faults.h interrupted) ends the
 * wait early. Without wait_for: nothing, no connection, 0.
 * A site whose account is not confirmed on every DC gets one message in
 * errs[i] (naming the site, the account, the DC, the time waited and the
 * last error, e.g. the DC could not be reached) and, when failed is not
 * NULL, failed[i] set; its account, if this run created it, is deleted
 * again (accounts_undo, which says so in errs[i]) - the run then undoes the
 * site like any other directory failure. A rotated password cannot be
 * taken back (the configuration holds it): its message says so and the
 * account is left as it is. Sites with failed[i] set on entry, or no step,
 * are skipped. Returns the number of sites not confirmed. */
size_t accounts_wait_replicated(struct account_run *run, const struct site_model *const *models,
                                struct account_step *const *steps, struct diag *const *errs,
                                bool *failed, size_t n);

/* Deletes an account this run created (when the site's later steps fail).
 * Says what it did in d's next message. 0 or -1. */
int accounts_undo(struct account_run *run, struct account_step *step, struct diag *d);

/* destroy: finds the account and records "- account" (or a note that an
 * adopted account is kept). *found is set when there is one to delete. */
int accounts_prepare_removal(struct account_run *run, const struct site_model *m,
                             struct account_step *step, struct changes *out, struct diag *d);
int accounts_remove(struct account_run *run, struct account_step *step, struct diag *d);

void account_step_free(struct account_step *step);

/* Writes (or updates) "sam<TAB>site<TAB>password" lines in the 0600 secrets
 * file named by [directory] secrets_file. Refuses a file with group or
 * other permissions. 0 or -1. */
int accounts_save_secrets(const struct conf *c, const struct site_model *const *models,
                          struct account_step *const *steps, size_t n, struct diag *d);

/* The same from plain lists (n lines: sam, site, password). */
int accounts_save_secret_lines(const struct conf *c, const char *const *sams,
                               const char *const *sites, const char *const *passwords, size_t n,
                               struct diag *d);

/* Recovery: deletes account sam if it carries the marker of `site` (never
 * another one). 1 deleted, 0 nothing to delete, -1 error. */
int accounts_delete_marked(struct account_run *run, const char *sam, const char *site,
                           struct diag *d);
/* Recovery: sets the password of account sam. 0 or -1. */
int accounts_set_password(struct account_run *run, const char *sam, const char *password,
                          struct diag *d);

/* The SID of a DOMAIN\name or name@upn user or group account (for `sid`). */
int accounts_lookup_sid(struct account_run *run, const char *name, char **sid, struct diag *d);

/* For `check`: the user DOMAIN\name (or name@upn), its SID and UPN (heap)
 * and its state (groups, logon flags; dir_account_state_free). 0, or -1
 * with a message (no such user, or the directory failed). */
int accounts_read_state(struct account_run *run, const char *name, char **sid, char **upn,
                        struct dir_account_state *st, struct diag *d);
/* The user DOMAIN\name (or name@upn): 1 found (*out, dir_account_free
 * it), 0 absent, -1 error. For `import`. */
int accounts_find(struct account_run *run, const char *name, struct dir_account *out,
                  struct diag *d);

/* Whether an object of the domain has this SID: 1, 0 (an account
 * deleted by hand leaves its SID in descriptors), -1 error. Answers are
 * kept for the run. */
int accounts_sid_exists(struct account_run *run, const char *sid, struct diag *d);

/* One simple bind as upn with password, on a connection kept for the
 * run's binds (not the run's own): 1 accepted, 0 refused (why in d), -1
 * other error. Each refusal counts toward the account's lockout: callers
 * try once and never retry. */
int accounts_try_logon(struct account_run *run, const char *upn, const char *password,
                       struct diag *d);

#endif
