/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One site's steps in a run (run.c drives them over all sites): planned
 * (the IIS rules, the account decided), its account made with the others,
 * its folders and grants, its IIS edits, undone when a step fails; and a
 * destroy's steps before the file is written. */
#include "provision/run_internal.h"

#include "provision/accounts.h"
#include "provision/faults.h"
#include "provision/folders.h"
#include "provision/iis/apphost.h"
#include "provision/journal.h"
#include "provision/report.h"
#include "provision/site.h"
#include "provision/timings.h"

#include <stdlib.h>
#include <string.h>

/* apply/plan of one site, in the order that leaves nothing half-made: every
 * IIS rule is checked first (nothing queued), then the account is looked up
 * and decided (prepare_site); the accounts of all sites are then made
 * together (accounts_execute_all); then per site the rules are checked
 * again (earlier sites of the batch are queued by now), folders and grants
 * applied and the IIS edits queued last (complete_site). The file is
 * written once at the end of the run. */
int prepare_site(struct session *s, struct apphost *ah, struct systems *sys, struct site_model *m,
                 struct account_step *step, struct site_report *sr)
{
    struct diag *e = &sr->errors;
    size_t mark = e->count;
    if (apphost_check_site(ah, &m->pool, &m->site, e) < 0)
        return classified(-1, e, mark, DIAG_IIS, m->name);
    if (m->identity != IDENTITY_ACCOUNT)
        return 0;
    if (!s->conf.plain_passwords) {
        diag_add(e,
                 "%s: site '%s': its pool runs as %s, whose password can only be stored "
                 "unencrypted in applicationHost.config (IIS encrypts with the host's own "
                 "keys); set [iis] plain_passwords = accept to allow it",
                 m->origin, m->name, m->pool.user_name);
        return classified(-1, e, mark, DIAG_CONFIG, m->name);
    }
    if (!sys->accts) {
        diag_add(e,
                 "%s: site '%s': the directory is not available (see its error above); "
                 "nothing was done for this site",
                 m->origin, m->name);
        return classified(-1, e, mark, DIAG_DIRECTORY, m->name);
    }
    bool has_pw = apphost_pool_has_password(ah, m->pool.name, m->pool.user_name);
    uint64_t t = timing_start();
    int prepared =
        accounts_prepare(sys->accts, m, has_pw, s->o->rotate_passwords, step, &sr->changes, e);
    timing_stop(TIMING_DIRECTORY_READ, t);
    int rc = classified(prepared, e, mark, DIAG_DIRECTORY, m->name);
    if (rc == 0 && step->action != ACCOUNT_KEEP)
        report_step(sr, "account", step->action == ACCOUNT_CREATE ? "create" : "rotate",
                    m->account_name);
    return rc;
}

/* A site that failed after it changed something: its account goes now;
 * the journal marks it, so that the run's end (or a recovery) restores its
 * descriptors from their before bytes too. */
static void undo_site(struct systems *sys, struct site_model *m, struct account_step *step,
                      struct site_report *sr)
{
    size_t mark = sr->errors.count;
    if (sys->accts && step->done)
        accounts_undo(sys->accts, step, &sr->errors);
    diag_classify(&sr->errors, mark, DIAG_DIRECTORY, m->name);
    journal_add(sys->journal, "site-failed", m->name, NULL);
    journal_audit(sys->journal, m->name, "site", m->name, "undone");
}

/* The part of a site's apply that its account must exist for: its folders
 * and grants over the content location (checked first against the IIS
 * configuration, so that a site the configuration would refuse gets no
 * folders). Undone by the caller on failure. */
static int site_content(struct apphost *ah, struct systems *sys, struct site_model *m,
                        struct account_step *step, struct site_report *sr, bool dry_run)
{
    struct iis_pool_spec pool = m->pool;
    pool.password = step->password; /* NULL: keep the stored one */
    sys->effects.site = m->name;
    struct diag *e = &sr->errors;
    size_t mark = e->count;
    int rc = 0;
    if (!dry_run && interrupted()) {
        diag_add(e,
                 "site '%s': interrupted (SIGINT/SIGTERM) before its folders and "
                 "configuration; its account is undone",
                 m->name);
        rc = classified(-1, e, mark, DIAG_INTERNAL, m->name);
    }
    if (rc == 0)
        rc = classified(apphost_check_site(ah, &pool, &m->site, e), e, mark, DIAG_IIS, m->name);
    if (rc == 0 && sys->folders && m->n_folders)
        report_step(sr, "folders", "apply", m->name);
    if (rc == 0 && sys->folders && m->n_folders)
        rc = classified(folders_apply_site(sys->folders, m, step->account.sid, sys->accts, dry_run,
                                           &sr->changes, e),
                        e, mark, DIAG_CONTENT, m->name);
    if (rc == 0 && !dry_run)
        rc = classified(fault_point("site", e), e, mark, DIAG_INTERNAL, m->name);
    return rc;
}

/* The site's IIS edits, in the order of the site lists. recheck: its
 * content was done while the accounts were being made, before the sites
 * ahead of it in the lists were edited in: it is checked again. */
static int site_iis(struct apphost *ah, struct systems *sys, struct site_model *m,
                    struct account_step *step, struct site_report *sr, bool recheck)
{
    struct iis_pool_spec pool = m->pool;
    pool.password = step->password;
    sys->effects.site = m->name;
    struct diag *e = &sr->errors;
    size_t mark = e->count;
    if (recheck &&
        classified(apphost_check_site(ah, &pool, &m->site, e), e, mark, DIAG_IIS, m->name) < 0)
        return -1;
    if (apphost_ensure_site(ah, &pool, &m->site, &sr->changes, e) < 0) {
        /* Cannot happen right after apphost_check_site; say so, not hide it. */
        diag_add(e, "site '%s': internal error: the configuration refused a site it had accepted",
                 m->name);
        return classified(-1, e, mark, DIAG_INTERNAL, m->name);
    }
    report_step(sr, "iis", "apply", m->site.name);
    return 0;
}

/* apply (or plan) of one site: its content, unless that was done already
 * while the accounts were being made (early: 1 done, -1 failed, 0 not
 * yet), then its IIS edits; undone when a part fails. */
int complete_site(struct apphost *ah, struct systems *sys, struct site_model *m,
                  struct account_step *step, struct site_report *sr, bool dry_run, int early)
{
    int rc = early ? (early > 0 ? 0 : -1) : site_content(ah, sys, m, step, sr, dry_run);
    if (rc == 0)
        rc = site_iis(ah, sys, m, step, sr, early != 0);
    if (rc < 0 && !dry_run)
        undo_site(sys, m, step, sr);
    return rc;
}

/* While the account adds are in flight (accounts_execute_all_notify), each
 * site whose account is made gets its folders and grants at once: the
 * file server works while the directory does. */
struct overlap {
    struct session *s;
    struct run *r;
    int8_t *early;      /* per site: site_content's outcome, 0 not yet */
    uint64_t *dir_time; /* the directory's timer, paused meanwhile */
};

static void account_ready(void *arg, size_t i)
{
    struct overlap *o = arg;
    if (o->early[i] || o->r->failed[i])
        return;
    timing_pause(TIMING_DIRECTORY_WRITE, o->dir_time);
    struct session *s = o->s;
    struct site_report *sr = &s->rep.sites[i];
    o->early[i] =
        site_content(o->r->ah, &o->r->sys, &s->models[i], &o->r->steps[i], sr, false) < 0 ? -1 : 1;
    timing_resume(o->dir_time);
}

/* destroy of one site: the account is looked up first (read only), the IIS
 * configuration edited; grants and account go only after the file is
 * written (finish_systems). */
int destroy_site(struct apphost *ah, struct systems *sys, struct site_model *m,
                 struct account_step *step, struct site_report *sr)
{
    if (m->identity == IDENTITY_ACCOUNT) {
        if (!sys->accts) {
            diag_add(&sr->errors,
                     "%s: site '%s': the directory is not available, so its "
                     "account cannot be removed; nothing was done for this site",
                     m->origin, m->name);
            return -1;
        }
        size_t mark = sr->errors.count;
        if (accounts_prepare_removal(sys->accts, m, step, &sr->changes, &sr->errors) < 0)
            return classified(-1, &sr->errors, mark, DIAG_DIRECTORY, m->name);
    }
    size_t mark = sr->errors.count;
    int rc =
        classified(apphost_remove_site(ah, m->site.name, m->pool.name, &sr->changes, &sr->errors),
                   &sr->errors, mark, DIAG_IIS, m->name);
    if (rc == 0 && sr->changes.count) {
        report_step(sr, "iis", "remove", m->site.name);
        if (sys->folders && m->n_folders)
            report_step(sr, "folders", "remove", m->name);
        if (step->action == ACCOUNT_CREATE)
            report_step(sr, "account", "delete", m->account_name);
    }
    return rc;
}

/* apply: the accounts of all sites are created together, after the
 * journal has them on disk; rotations only announce themselves here (they
 * are set once the file holding the new password is written). */
void create_accounts(struct session *s, struct run *r, int8_t *early)
{
    struct systems *sys = &r->sys;
    struct account_step *steps = r->steps;
    bool *failed = r->failed;
    const struct site_model **models = xcalloc(s->n_models ? s->n_models : 1, sizeof *models);
    struct account_step **ptrs = xcalloc(s->n_models ? s->n_models : 1, sizeof *ptrs);
    struct diag **errs = xcalloc(s->n_models ? s->n_models : 1, sizeof *errs);
    bool any = false;
    for (size_t i = 0; i < s->n_models; i++) {
        struct site_model *m = &s->models[i];
        models[i] = m;
        ptrs[i] = m->identity == IDENTITY_ACCOUNT ? &steps[i] : NULL;
        errs[i] = &s->rep.sites[i].errors;
        if (failed[i] || !ptrs[i])
            continue;
        /* Passwords are made when the plan is executed, never before. */
        size_t mark = errs[i]->count;
        if (accounts_new_password(sys->accts, m, &steps[i], errs[i]) < 0) {
            diag_classify(errs[i], mark, DIAG_DIRECTORY, m->name);
            failed[i] = true;
            continue;
        }
        if (steps[i].action == ACCOUNT_CREATE) {
            if (fault_point("account", errs[i]) < 0) {
                failed[i] = true;
                continue;
            }
            journal_add(sys->journal, "account-create", m->name, "sam", m->account_name, "pool",
                        m->pool.name, "user", m->pool.user_name, NULL);
            any = true;
        } else if (steps[i].action == ACCOUNT_ROTATE) {
            journal_add(sys->journal, "account-rotate", m->name, "sam", m->account_name, "pool",
                        m->pool.name, "user", m->pool.user_name, NULL);
        }
    }
    struct diag *d = &s->rep.errors;
    bool stop = interrupted();
    if (stop || journal_commit(sys->journal, d) < 0 || (any && fault_point("accounts", d) < 0)) {
        for (size_t i = 0; i < s->n_models; i++)
            if (ptrs[i] && !failed[i] && steps[i].action != ACCOUNT_KEEP) {
                failed[i] = true;
                diag_add(errs[i], "site '%s': %s; nothing was done for this site", models[i]->name,
                         stop ? "interrupted (SIGINT/SIGTERM) before its account was made"
                              : "its account could not be started");
            }
    } else if (any) {
        size_t mark = d->count;
        uint64_t t = timing_start();
        /* With [directory] wait_for, nothing of a site is done before its
         * account is seen on every DC: no overlap then. */
        struct overlap o = {s, r, early, &t};
        if (early && sys->folders && !s->conf.dir.n_wait_for)
            accounts_execute_all_notify(sys->accts, models, ptrs, errs, d, failed, s->n_models,
                                        account_ready, &o);
        else
            accounts_execute_all(sys->accts, models, ptrs, errs, d, failed, s->n_models);
        /* [directory] wait_for: the new accounts on every DC named, before
         * anything else of the site is done; a site whose account is not
         * seen in time is failed and its account deleted again. */
        accounts_wait_replicated(sys->accts, models, ptrs, errs, failed, s->n_models);
        timing_stop(TIMING_DIRECTORY_WRITE, t);
        diag_classify(d, mark, DIAG_DIRECTORY, NULL);
        for (size_t i = 0; i < s->n_models; i++)
            diag_classify(errs[i], 0, DIAG_DIRECTORY, models[i]->name);
        for (size_t i = 0; i < s->n_models; i++)
            if (ptrs[i] && steps[i].action == ACCOUNT_CREATE)
                journal_audit(sys->journal, models[i]->name, "create-account",
                              models[i]->account_name, steps[i].done ? "done" : "failed");
    }
    free(models);
    free(ptrs);
    free(errs);
}
