/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The engine validate, plan, apply and destroy share (run_sites): input
 * checked, the systems opened, then over all sites their steps (run_site.c:
 * the IIS rules, the account, folders and grants, the IIS edits), the file
 * written once (run_config.c); every effect announced in the journal first
 * (journal.h), failures undone, interrupted runs recovered (recover.h). */
#include "provision/run.h"

#include "provision/fold.h"
#include "provision/run_internal.h"

#include "provision/access.h"
#include "provision/accounts.h"
#include "provision/conf.h"
#include "provision/faults.h"
#include "provision/folders.h"
#include "provision/iis/apphost.h"
#include "provision/iis/configfile.h"
#include "provision/journal.h"
#include "provision/ntfs/sddl.h"
#include "provision/planfile.h"
#include "provision/ntfs/sid.h"
#include "provision/recover.h"
#include "provision/report.h"
#include "provision/site.h"
#include "provision/digest.h"
#include "provision/timings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void session_free(struct session *s)
{
    free(s->state_dir);
    for (size_t i = 0; i < s->n_models; i++)
        site_model_free(&s->models[i]);
    free(s->models);
    site_list_free(&s->list);
    if (s->conf_loaded) {
        template_set_free(&s->ts);
        conf_free(&s->conf);
    }
    report_free(&s->rep);
}

/* A folder path as a site of the run spells it. */
struct spelled {
    const struct site_model *m;
    char path[];
};

/* The folder at path and each folder above it, below [content] root (all
 * of path when there is no root), must be spelled as the earlier sites of
 * the run spell them. 0, or -1 with a message. */
static int folder_spellings(struct strmap *seen, const char *root, const struct site_model *m,
                            const char *path, struct diag *d)
{
    size_t base = 0, n = root ? strlen(root) : 0;
    while (n && root[n - 1] == '\\')
        n--;
    char *r = root ? xstrndup(root, n) : NULL;
    if (r && !name_fold_prefix(path, r, &base))
        base = 0;
    free(r);
    char *p = xstrdup(path);
    int rc = 0;
    for (char *end = p + strlen(p); rc == 0 && end && end > p + base;) {
        *end = '\0';
        const struct spelled *have = strmap_get(seen, p);
        if (have && strcmp(have->path, p) != 0) {
            diag_add(d, "%s: folder %s: '%s' collides with '%s', a folder of %s: %s", m->origin,
                     path, p, have->path, have->m->origin, NAMES_COLLIDE_WHY);
            rc = -1;
        } else if (!have) {
            struct spelled *sp = xmalloc(sizeof *sp + strlen(p) + 1);
            sp->m = m;
            strcpy(sp->path, p);
            strmap_put(seen, p, sp);
        }
        end = strrchr(p, '\\');
    }
    free(p);
    return rc;
}

/* Loads everything that is input: any error here changes nothing. */
static int load_input(struct session *s, int n, char **lists)
{
    struct diag *d = &s->rep.errors;
    if (conf_load(s->o->conf_path, &s->conf, d) < 0) {
        diag_classify(d, 0, DIAG_CONFIG, s->o->conf_path);
        conf_free(&s->conf);
        return -1;
    }
    s->conf_loaded = true;
    template_set_init(&s->ts, s->conf.templates_dir);
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (site_list_load(&s->list, lists[i], d) < 0)
            rc = -1;
    if (rc < 0)
        return -1;
    s->models = xcalloc(s->list.count ? s->list.count : 1, sizeof *s->models);
    for (size_t i = 0; i < s->list.count; i++) {
        if (site_model_build(&s->conf, &s->ts, &s->list.items[i], &s->models[i], d) < 0 ||
            access_check_site(&s->models[i], d) < 0 ||
            folders_check_model(&s->conf, &s->models[i], d) < 0)
            rc = -1;
        s->n_models++;
    }
    /* Two entries may not end up as one IIS site or one account, nor name
     * one pool or one folder in two spellings: site, pool and folder names
     * compare as IIS and NTFS compare them (provision/fold.h). */
    struct strmap names, pools, folders, accounts;
    strmap_init_names(&names);
    strmap_init_names(&pools);
    strmap_init_names(&folders); /* path -> struct spelled */
    strmap_init(&accounts);
    for (size_t i = 0; rc == 0 && i < s->n_models; i++) {
        const struct site_model *m = &s->models[i];
        const struct site_model *other = strmap_get(&names, m->site.name);
        if (other && strcmp(other->site.name, m->site.name) != 0) {
            diag_add(d, "%s: site name '%s' collides with '%s' of %s: %s", m->origin, m->site.name,
                     other->site.name, other->origin, NAMES_COLLIDE_WHY);
            rc = -1;
        } else if (other) {
            diag_add(d, "%s: site name '%s' is also produced by %s", m->origin, m->site.name,
                     other->origin);
            rc = -1;
        }
        strmap_put(&names, m->site.name, (void *)m);
        other = strmap_get(&pools, m->pool.name);
        if (other && strcmp(other->pool.name, m->pool.name) != 0) {
            diag_add(d, "%s: pool '%s' collides with pool '%s' of %s: %s", m->origin, m->pool.name,
                     other->pool.name, other->origin, NAMES_COLLIDE_WHY);
            rc = -1;
        } else if (!other) {
            strmap_put(&pools, m->pool.name, (void *)m);
        }
        for (size_t k = 0; rc == 0 && k < m->n_folders; k++)
            rc = folder_spellings(&folders, s->conf.content_root, m, m->folders[k].path, d);
        if (m->account_name) {
            other = strmap_get(&accounts, m->account_name);
            if (other) {
                diag_add(d, "%s: account '%s' is also used by %s", m->origin, m->account_name,
                         other->origin);
                rc = -1;
            }
            strmap_put(&accounts, m->account_name, (void *)m);
        }
    }
    strmap_free(&names);
    strmap_free(&pools);
    for (size_t i = 0; i < folders.cap; i++)
        if (folders.slots[i].key)
            free(folders.slots[i].value);
    strmap_free(&folders);
    strmap_free(&accounts);
    diag_classify(d, 0, DIAG_INPUT, NULL);
    return rc;
}

static int finish(struct session *s)
{
    size_t failed = 0, done = 0;
    for (size_t i = 0; i < s->rep.n_sites; i++)
        s->rep.sites[i].status == SITE_FAILED ? failed++ : done++;
    if (s->quiet)
        report_errors(&s->rep, stderr);
    else
        report_print(&s->rep, stdout);
    /* The exit status from the worst class of the run's own errors: bad
     * input or configuration (nothing was changed) is 2; a system that
     * failed is 1, or 3 when other sites were done. */
    enum diag_class worst = diag_worst(&s->rep.errors);
    if (worst == DIAG_INPUT || worst == DIAG_CONFIG)
        return EXIT_USAGE;
    if (s->rep.errors.count && !failed)
        return EXIT_FAILED;
    if (!failed)
        return EXIT_DONE;
    return done ? EXIT_PARTIAL : EXIT_FAILED;
}

static int input_failed(struct session *s)
{
    if (s->o->json)
        report_print(&s->rep, stdout);
    else
        report_errors(&s->rep, stderr);
    return EXIT_USAGE;
}

/* The commands that only read say when an interrupted run waits. */
static void mention_waiting(struct session *s)
{
    char *note = journal_waiting_note(s->conf.state_dir);
    if (note)
        diag_add(&s->rep.notes, "%s", note);
    free(note);
}

/* A progress line on a terminal for long batches; nothing when piped. */
static void progress(const struct session *s, size_t done, size_t total)
{
    if (s->o->json || s->o->verbosity < 0 || total < 100 || !isatty(STDERR_FILENO))
        return;
    if (done % 50 && done != total)
        return;
    fprintf(stderr, "\r[%-40.*s] %zu/%zu sites", (int)(40 * done / total),
            "========================================", done, total);
    if (done == total)
        fputs("\r\033[K", stderr);
}

static char *sd_hex(const struct ntfs_sd *sd)
{
    uint8_t *bytes;
    size_t n;
    if (!sd || ntfs_sd_encode(sd, &bytes, &n) != 0)
        return xstrdup("");
    char *h = hex_encode(bytes, n);
    free(bytes);
    return h;
}

/* Announces each effect of the grant engine in the journal before it
 * starts (acl_effect_fn, ntfs/backend.h). */
static int journal_effect(void *arg, enum acl_effect what, const char *rel,
                          const struct ntfs_sd *old, const struct ntfs_sd *new, struct diag *d)
{
    struct effect_ctx *e = arg;
    char *o, *n;
    switch (what) {
    case ACL_EFFECT_MKDIR_PLANNED: /* one group per site, committed by the SYNC */
        if (e->planned_site != e->site) {
            strmap_free(&e->planned);
            strmap_init(&e->planned);
            e->planned_site = e->site;
        }
        strmap_put(&e->planned, rel, e);
        journal_add(e->journal, "mkdir", e->site, "rel", rel, NULL);
        return 0;
    case ACL_EFFECT_MKDIR:
        if (fault_point("mkdir", d) < 0)
            return -1;
        if (e->planned_site == e->site && strmap_get(&e->planned, rel))
            return 0; /* announced with its group */
        journal_add(e->journal, "mkdir", e->site, "rel", rel, NULL);
        return journal_commit(e->journal, d);
    case ACL_EFFECT_MKDIR_EXISTED:
        journal_add(e->journal, "mkdir-existed", e->site, "rel", rel, NULL);
        return 0;
    case ACL_EFFECT_ANNOUNCE_WRITE:
        o = sd_hex(old);
        n = sd_hex(new);
        journal_add(e->journal, "sd", e->site, "rel", rel, "old", o, "new", n, NULL);
        free(o);
        free(n);
        return 0;
    case ACL_EFFECT_SYNC:
        return journal_commit(e->journal, d);
    case ACL_EFFECT_WRITE:
        if (fault_point("sd", d) < 0)
            return -1;
        if (e->stop_on_interrupt && interrupted()) {
            diag_add(d, "site '%s': interrupted (SIGINT/SIGTERM); its changes are undone", e->site);
            return -1;
        }
        journal_audit(e->journal, e->site, "write-descriptor", rel, "started");
        return 0;
    case ACL_EFFECT_READ:
        if (e->deps && old) {
            char hash[65];
            o = sd_hex(old);
            sha256_hex(o, strlen(o), hash);
            planfile_dep(e->deps, "descriptor", rel, hash);
            free(o);
        }
        return 0;
    case ACL_EFFECT_RMDIR:
        if (fault_point("rmdir", d) < 0)
            return -1;
        o = sd_hex(old);
        journal_add(e->journal, "rmdir", e->site, "rel", rel, "old", o, NULL);
        free(o);
        return journal_commit(e->journal, d);
    }
    return 0;
}

/* destroy: before the file is written, the journal learns what comes
 * after it (each written site's grants to take away, its account), so
 * that recovery can finish a destroy cut short. */
static void grant_to_journal(void *arg, const char *rel, const struct ntfs_ace *ace, bool protect)
{
    struct effect_ctx *e = arg;
    char text[NTFS_SDDL_ACE_MAX];
    ntfs_sddl_format_ace(ace, text, sizeof text);
    journal_add(e->journal, "grant", e->site, "rel", rel, "ace", text, "protect",
                protect ? "1" : "0", NULL);
}

static int announce_destroy(struct session *s, struct systems *sys, struct account_step *steps)
{
    for (size_t i = 0; i < s->n_models; i++) {
        struct site_model *m = &s->models[i];
        struct site_report *sr = &s->rep.sites[i];
        if (sr->status != SITE_CHANGED)
            continue;
        sys->effects.site = m->name;
        if (sys->folders && m->n_folders &&
            folders_removal_grants(sys->folders, m, steps[i].account.sid, sys->accts,
                                   grant_to_journal, &sys->effects, &sr->errors) < 0)
            return -1;
        if (steps[i].action == ACCOUNT_CREATE && steps[i].account.sam)
            journal_add(sys->journal, "account-delete", m->name, "sam", steps[i].account.sam, NULL);
    }
    return journal_commit(sys->journal, &s->rep.errors);
}

/* [directory] wait_for, for rotated passwords: the file already holds
 * them, so nothing is undone; a DC that does not show the new password in
 * time is a note (the pool may fail to log on there until it does). */
static void wait_for_rotations(struct session *s, struct systems *sys, struct account_step *steps)
{
    size_t n = s->n_models ? s->n_models : 1;
    const struct site_model **models = xcalloc(n, sizeof *models);
    struct account_step **rotated = xcalloc(n, sizeof *rotated);
    struct diag **notes = xcalloc(n, sizeof *notes);
    for (size_t i = 0; i < s->n_models; i++) {
        models[i] = &s->models[i];
        rotated[i] = steps[i].action == ACCOUNT_ROTATE && steps[i].done ? &steps[i] : NULL;
        notes[i] = &s->rep.notes;
    }
    uint64_t t = timing_start();
    accounts_wait_replicated(sys->accts, models, rotated, notes, NULL, s->n_models);
    timing_stop(TIMING_DIRECTORY_WRITE, t);
    free(models);
    free(rotated);
    free(notes);
}

/* After the configuration is written. destroy: the written sites lose
 * their grants, then their accounts. apply: password rotations are set on
 * the accounts (the file already holds the new passwords), new passwords
 * go to the secrets file. Returns true when work is left for recovery. */

/* accounts_execute, its time counted as directory writes (--timings). */
static int timed_execute(struct account_run *a, const struct site_model *m,
                         struct account_step *step, struct diag *d)
{
    uint64_t t = timing_start();
    int rc = accounts_execute(a, m, step, d);
    timing_stop(TIMING_DIRECTORY_WRITE, t);
    return rc;
}

static bool finish_systems(struct session *s, struct systems *sys, struct account_step *steps,
                           enum mode mode)
{
    bool left = false;
    const struct site_model **models = xcalloc(s->n_models ? s->n_models : 1, sizeof *models);
    struct account_step **done = xcalloc(s->n_models ? s->n_models : 1, sizeof *done);
    size_t n_done = 0;
    for (size_t i = 0; i < s->n_models; i++) {
        struct site_model *m = &s->models[i];
        struct site_report *sr = &s->rep.sites[i];
        struct account_step *step = &steps[i];
        sys->effects.site = m->name;
        if (sr->status != SITE_CHANGED)
            continue;
        if (mode == MODE_DESTROY) {
            size_t mark = sr->errors.count;
            bool ok =
                !(sys->folders && m->n_folders &&
                  folders_remove_site(sys->folders, m, step->account.sid, sys->accts,
                                      s->o->remove_folders, false, &sr->changes, &sr->errors) < 0);
            diag_classify(&sr->errors, mark, DIAG_CONTENT, m->name);
            ok = ok && fault_point("delete", &sr->errors) == 0;
            diag_classify(&sr->errors, mark, DIAG_INTERNAL, m->name);
            uint64_t t = timing_start();
            ok = ok && !(sys->accts && accounts_remove(sys->accts, step, &sr->errors) < 0);
            timing_stop(TIMING_DIRECTORY_WRITE, t);
            diag_classify(&sr->errors, mark, DIAG_DIRECTORY, m->name);
            if (!ok) {
                sr->status = SITE_FAILED;
                report_steps_state(sr, "failed");
                diag_add(&sr->errors,
                         "site '%s': removed from the configuration; provision "
                         "recover finishes removing its grants and account",
                         m->name);
                left = true;
                continue;
            }
            journal_add(sys->journal, "site-done", m->name, NULL);
            journal_audit(sys->journal, m->name, "destroy", m->name, "done");
            continue;
        }
        if (step->action == ACCOUNT_ROTATE) {
            size_t mark = sr->errors.count;
            if (classified(fault_point("rotate", &sr->errors), &sr->errors, mark, DIAG_INTERNAL,
                           m->name) < 0 ||
                timed_execute(sys->accts, m, step, &sr->errors) < 0) {
                sr->status = SITE_FAILED;
                diag_classify(&sr->errors, mark, DIAG_DIRECTORY, m->name);
                report_steps_state(sr, "failed");
                diag_add(&sr->errors,
                         "site '%s': the configuration holds the new password of %s but the "
                         "directory did not take it; provision recover sets it",
                         m->name, step->account.sam);
                left = true;
                continue;
            }
            journal_audit(sys->journal, m->name, "rotate-password", step->account.sam, "done");
        }
        journal_add(sys->journal, "site-done", m->name, NULL);
        journal_audit(sys->journal, m->name, "apply", m->name, "done");
        if (step->done && step->password) {
            models[n_done] = m;
            done[n_done++] = step;
        }
    }
    if (mode == MODE_APPLY && sys->accts && s->conf.dir.n_wait_for)
        wait_for_rotations(s, sys, steps);
    size_t mark = s->rep.errors.count;
    if (n_done)
        accounts_save_secrets(&s->conf, models, done, n_done, &s->rep.errors);
    diag_classify(&s->rep.errors, mark, DIAG_INTERNAL, s->conf.dir.secrets_file);
    /* The sites' outcomes announce nothing: written, not fsync'ed. A run
     * with work left keeps its journal, and journal_abandon fsyncs it. */
    journal_write(sys->journal, &s->rep.errors);
    free(models);
    free(done);
    return left;
}

/* Ends the run's journal: removed when every site is done or undone by
 * the run itself; otherwise recovered now, as after a crash (sites that
 * failed after changing something, or all of them when the file was not
 * written), and kept if even that does not finish. */
static void close_journal(struct session *s, struct systems *sys, bool recover_now)
{
    if (!sys->journal)
        return;
    if (!recover_now || !journal_announced(sys->journal)) { /* nothing was started */
        journal_finish(sys->journal);
        sys->journal = NULL;
        return;
    }
    char *path = xstrdup(journal_path(sys->journal));
    journal_abandon(sys->journal);
    sys->journal = NULL;
    struct journal_file f;
    if (journal_load(path, &f, &s->rep.errors) == 0) {
        size_t mark = s->rep.errors.count;
        recover_journal(&f, &s->conf, s->state_dir, true, &s->rep.notes, &s->rep.errors);
        diag_classify(&s->rep.errors, mark, DIAG_INTERNAL, path);
        journal_file_free(&f);
    }
    free(path);
}

/* Sites that did not finish because of a signal count as failed. */
static void note_interrupt(struct session *s)
{
    if (interrupted()) {
        size_t mark = s->rep.errors.count;
        diag_add(&s->rep.errors, "interrupted by a signal: the sites not done were undone");
        diag_classify(&s->rep.errors, mark, DIAG_INTERNAL, "signal");
    }
}

/* Opens what the run works on: the IIS configuration (locked when the run
 * changes it), the directory and the content location when the sites
 * need them, and the journal. 0, or the exit status to return. */
static int open_systems(struct session *s, struct run *r)
{
    static const char *const names[] = {"validate", "plan", "apply", "destroy"};
    struct systems *sys = &r->sys;
    struct smb_options iis_smb = {.auth_file = s->conf.iis_auth_file,
                                  .kerberos = s->conf.iis_kerberos,
                                  .timeout_ms = s->conf.iis_timeout_ms};
    struct diag *e = &s->rep.errors;
    size_t mark = e->count;
    uint64_t t = timing_start();
    int opened =
        configfile_open(&r->cf, s->conf.iis_config, &iis_smb, r->changes ? s->state_dir : NULL, e);
    timing_stop(TIMING_CONFIG_READ, t);
    if (classified(opened, e, mark, DIAG_IIS, s->conf.iis_config) < 0)
        return finish(s);
    r->cf_open = true;
    if (r->cf.stale_removed)
        diag_add(&s->rep.notes,
                 "%s: removed %u temporary file(s) left by runs that died writing it",
                 s->conf.iis_config, r->cf.stale_removed);
    size_t len;
    char *text = configfile_take(&r->cf, &len);
    t = timing_start();
    r->ah = apphost_load(text, len, s->conf.iis_config, e);
    timing_stop(TIMING_CONFIG_INDEX, t);
    diag_classify(e, mark, DIAG_IIS, s->conf.iis_config);
    if (!r->ah)
        return input_failed(s);
    /* The directory, when a site has its own account or a grant names a
     * domain account; the content location, when folders are managed. */
    bool need_dir = false, need_folders = false;
    for (size_t i = 0; i < s->n_models; i++) {
        need_dir |= s->models[i].identity == IDENTITY_ACCOUNT;
        for (size_t k = 0; k < s->models[i].n_grants; k++)
            need_dir |= s->models[i].grants[k].grant.kind == NTFS_PRINCIPAL_NAME;
        need_folders |= s->models[i].n_folders > 0;
    }
    /* The journal's digest of the file, on the other core meanwhile: only
     * when the replace can be journaled (write_config), that is over SMB or
     * when the run may announce accounts or folders first. */
    if (r->changes && (need_dir || need_folders || r->cf.smb))
        apphost_digest_start(r->ah);
    if (need_dir) { /* without [directory] this says what is missing */
        t = timing_start();
        sys->accts = accounts_open(&s->conf, e, &s->rep.notes);
        timing_stop(TIMING_DIRECTORY_READ, t);
    }
    diag_classify(e, mark, DIAG_DIRECTORY, s->conf.dir.uri);
    /* A plan does not open a script location: closing it writes the script. */
    const char *location = s->conf.content_location;
    bool script = location && !strncmp(location, "script:", 7);
    if (need_folders && location && !(script && r->mode == MODE_PLAN)) {
        sys->folders = folders_open(&s->conf, e);
        diag_classify(e, mark, DIAG_CONTENT, location);
        if (!sys->folders) { /* nothing can be done safely without it */
            int rc = input_failed(s);
            return rc == EXIT_USAGE ? EXIT_FAILED : rc;
        }
        folders_set_deep(sys->folders, s->o->deep);
    } else if (need_folders && script) {
        diag_add(&s->rep.notes, "folders and grants: apply appends them to %s", location + 7);
    } else if (need_folders) {
        diag_add(&s->rep.notes, "folders and grants are not managed: no [content] location");
    }
    if (r->changes) {
        struct journal_targets t;
        char buf[1024];
        recover_targets(&s->conf, &t, buf, sizeof buf);
        sys->journal = journal_begin(s->state_dir, names[r->mode], &t, s->o->remove_folders, e);
        diag_classify(e, mark, DIAG_INTERNAL, "journal");
        if (!sys->journal) {
            int rc = finish(s);
            return rc == EXIT_DONE ? EXIT_FAILED : rc;
        }
        sys->effects.journal = sys->journal;
        sys->effects.stop_on_interrupt = r->mode == MODE_APPLY;
        if (sys->folders)
            folders_observe(sys->folders, journal_effect, &sys->effects);
    } else if (s->capture && sys->folders) {
        sys->effects.deps = s->capture;
        folders_observe(sys->folders, journal_effect, &sys->effects);
    }
    return 0;
}

/* Building the plan, reading only: every site's IIS rules are checked and
 * its account looked up (all of them in a few searches) and decided;
 * destroy finds what each site's removal takes. */
static void plan_build(struct session *s, struct run *r)
{
    size_t n = s->n_models ? s->n_models : 1;
    r->steps = xcalloc(n, sizeof *r->steps);
    r->failed = xcalloc(n, sizeof *r->failed);
    if (r->sys.accts) {
        const struct site_model **all = xcalloc(n, sizeof *all);
        for (size_t i = 0; i < s->n_models; i++)
            all[i] = &s->models[i];
        uint64_t t = timing_start();
        accounts_prefetch(r->sys.accts, all, s->n_models);
        timing_stop(TIMING_DIRECTORY_READ, t);
        free(all);
    }
    for (size_t i = 0; i < s->n_models; i++) {
        struct site_model *m = &s->models[i];
        struct site_report *sr = report_site(&s->rep, m->name);
        int rc = r->mode == MODE_DESTROY ? destroy_site(r->ah, &r->sys, m, &r->steps[i], sr)
                                         : prepare_site(s, r->ah, &r->sys, m, &r->steps[i], sr);
        r->failed[i] = rc < 0;
    }
}

/* Executing it (for plan: the same steps computed, nothing written): the
 * accounts of all sites together, each site's folders and grants as soon
 * as its account is made (account_ready) or else after them all, then per
 * site, in list order, its IIS edits; the file written once; what comes
 * after the write (a destroy's grants and accounts, password rotations,
 * the secrets file). */
static void plan_execute(struct session *s, struct run *r, char **lists, int n_lists)
{
    enum mode mode = r->mode;
    struct systems *sys = &r->sys;
    int8_t *early = xcalloc(s->n_models ? s->n_models : 1, sizeof *early);
    if (mode == MODE_APPLY && sys->accts)
        create_accounts(s, r, early);
    for (size_t i = 0; i < s->n_models; i++) {
        struct site_report *sr = &s->rep.sites[i];
        if (mode != MODE_DESTROY && !r->failed[i])
            r->failed[i] = complete_site(r->ah, sys, &s->models[i], &r->steps[i], sr,
                                         mode == MODE_PLAN, early[i]) < 0;
        sr->status = r->failed[i] ? SITE_FAILED : sr->changes.count ? SITE_CHANGED : SITE_UNCHANGED;
        if (r->failed[i])
            changes_truncate(&sr->changes, 0);
        progress(s, i + 1, s->n_models);
    }
    free(early);
    if (s->capture)
        capture_plan(s, r->ah, r->steps, lists, n_lists);
    journal_commit(sys->journal, &s->rep.errors);
    if (!r->changes)
        return;
    /* destroy: a signal before the write stops everything (nothing was done). */
    bool stop = mode == MODE_DESTROY && interrupted();
    bool written = true;
    if (apphost_dirty(r->ah) && !stop &&
        (mode != MODE_DESTROY || announce_destroy(s, sys, r->steps) == 0)) {
        /* Written once; again (edits redone on the new content) each time
         * another tool wrote the file meanwhile, when its change is
         * elsewhere (merge_other_change). */
        int rc = CONFIGFILE_CHANGED;
        for (int attempt = 1; rc == CONFIGFILE_CHANGED; attempt++) {
            if (attempt > 1 && attempt > CONFIG_WRITE_ATTEMPTS) {
                size_t mark = s->rep.errors.count;
                diag_add(&s->rep.errors,
                         "%s: other tools wrote it %d times while this run tried to; nothing "
                         "was written (run again)",
                         s->conf.iis_config, CONFIG_WRITE_ATTEMPTS);
                diag_classify(&s->rep.errors, mark, DIAG_IIS, s->conf.iis_config);
                rc = 0;
                break;
            }
            if (attempt > 1 && merge_other_change(s, r) < 0) {
                rc = 0;
                break;
            }
            rc = write_config(s, sys, r->ah, &r->cf);
        }
        written = rc == 1;
    } else if (stop || apphost_dirty(r->ah)) {
        written = false;
    }
    if (!written) {
        for (size_t i = 0; i < s->rep.n_sites; i++)
            if (s->rep.sites[i].status == SITE_CHANGED)
                s->rep.sites[i].status = SITE_FAILED;
        r->recover_now = true; /* every site back to before the run */
        if (stop)
            note_interrupt(s);
        return;
    }
    r->left = finish_systems(s, sys, r->steps, mode);
    for (size_t i = 0; !r->left && i < s->rep.n_sites; i++)
        r->recover_now |= s->rep.sites[i].status == SITE_FAILED && mode == MODE_APPLY;
    if (mode == MODE_APPLY && interrupted())
        note_interrupt(s);
}

/* Closes what open_systems opened; the journal is removed, recovered now,
 * or kept for provision recover (run.left). */
static void close_systems(struct session *s, struct run *r)
{
    for (size_t i = 0; r->steps && i < s->n_models; i++)
        account_step_free(&r->steps[i]);
    free(r->steps);
    free(r->failed);
    size_t mark = s->rep.errors.count;
    int closed = folders_close(r->sys.folders, &s->rep.errors);
    diag_classify(&s->rep.errors, mark, DIAG_CONTENT, s->conf.content_location);
    if (closed < 0)
        for (size_t i = 0; i < s->rep.n_sites; i++)
            if (s->rep.sites[i].status == SITE_CHANGED)
                s->rep.sites[i].status = SITE_FAILED;
    r->sys.folders = NULL;
    strmap_free(&r->sys.effects.planned);
    accounts_close(r->sys.accts);
    r->sys.accts = NULL;
    if (r->left)
        journal_abandon(r->sys.journal);
    else
        close_journal(s, &r->sys, r->recover_now);
    r->sys.journal = NULL;
    apphost_free(r->ah);
    if (r->cf_open)
        configfile_close(&r->cf);
}

int run_sites(const struct options *o, int n, char **lists, enum mode mode,
              struct planfile *capture, bool quiet)
{
    static const char *const names[] = {"validate", "plan", "apply", "destroy"};
    struct session s = {.o = o, .capture = capture, .quiet = quiet};
    report_init(&s.rep, names[mode], o->json, o->verbosity);
    s.rep.dry_run = mode == MODE_VALIDATE || mode == MODE_PLAN;
    if (load_input(&s, n, lists) < 0) {
        int rc = input_failed(&s);
        session_free(&s);
        return rc;
    }
    struct run r = {.mode = mode, .changes = mode == MODE_APPLY || mode == MODE_DESTROY};
    /* The state folder: apply and destroy first finish what interrupted
     * runs on the same targets left; the others only say it. */
    if (r.changes) {
        interrupt_install();
        size_t mark = s.rep.errors.count;
        s.state_dir = state_dir_open(s.conf.state_dir, &s.rep.errors);
        diag_classify(&s.rep.errors, mark, DIAG_INTERNAL, "state folder");
        if (!s.state_dir ||
            classified(recover_pending(&s.conf, s.state_dir, true, &s.rep.notes, &s.rep.errors),
                       &s.rep.errors, mark, DIAG_INTERNAL, "recovery") < 0) {
            diag_add(&s.rep.errors, "nothing was changed by this %s", names[mode]);
            int rc = finish(&s);
            session_free(&s);
            return rc == EXIT_DONE ? EXIT_FAILED : rc;
        }
    } else {
        mention_waiting(&s);
    }
    if (mode == MODE_VALIDATE) {
        for (size_t i = 0; i < s.n_models; i++)
            report_site(&s.rep, s.models[i].name);
        for (size_t i = 0; i < s.rep.notes.count && !o->json && o->verbosity >= 0; i++)
            printf("note: %s\n", report_visible(s.rep.notes.msgs[i]));
        if (!o->json && o->verbosity >= 0)
            printf("%zu site%s valid.\n", s.n_models, s.n_models == 1 ? "" : "s");
        else if (o->json)
            report_print(&s.rep, stdout);
        session_free(&s);
        return EXIT_DONE;
    }
    int rc = open_systems(&s, &r);
    if (rc == 0) {
        plan_build(&s, &r);
        plan_execute(&s, &r, lists, n);
    }
    close_systems(&s, &r);
    if (rc != 0) {
        session_free(&s);
        return rc;
    }
    for (size_t i = 0; i < s.rep.n_sites; i++) {
        struct site_report *sr = &s.rep.sites[i];
        bool for_recovery = sr->n_steps && !strcmp(sr->steps[0].state, "failed");
        if (!for_recovery)
            report_steps_state(sr, mode == MODE_PLAN           ? "pending"
                                   : sr->status != SITE_FAILED ? "done"
                                                               : "undone");
    }
    rc = finish(&s);
    session_free(&s);
    return rc;
}

int run_validate(const struct options *o, int n, char **lists)
{
    return run_sites(o, n, lists, MODE_VALIDATE, NULL, false);
}

int run_destroy(const struct options *o, int n, char **lists)
{
    return run_sites(o, n, lists, MODE_DESTROY, NULL, false);
}
