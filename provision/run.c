/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/run.h"

#include "provision/access.h"
#include "provision/accounts.h"
#include "provision/conf.h"
#include "provision/folders.h"
#include "provision/iis/apphost.h"
#include "provision/iis/configfile.h"
#include "provision/ntfs/sid.h"
#include "provision/report.h"
#include "provision/site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum mode { MODE_VALIDATE, MODE_PLAN, MODE_APPLY, MODE_DESTROY };

struct session {
    const struct options *o;
    struct conf conf;
    bool conf_loaded;
    struct template_set ts;
    struct site_list list;
    struct site_model *models;
    size_t n_models;
    struct report rep;
};

static void session_free(struct session *s)
{
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

/* Loads everything that is input: any error here changes nothing. */
static int load_input(struct session *s, int n, char **lists)
{
    struct diag *d = &s->rep.errors;
    if (conf_load(s->o->conf_path, &s->conf, d) < 0) {
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
    /* Two entries may not end up as one IIS site or one account. */
    struct strmap names, accounts;
    strmap_init(&names);
    strmap_init(&accounts);
    for (size_t i = 0; rc == 0 && i < s->n_models; i++) {
        const struct site_model *m = &s->models[i];
        const struct site_model *other = strmap_get(&names, m->site.name);
        if (other) {
            diag_add(d, "%s: site name '%s' is also produced by %s", m->origin, m->site.name,
                     other->origin);
            rc = -1;
        }
        strmap_put(&names, m->site.name, (void *)m);
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
    strmap_free(&accounts);
    return rc;
}

static int finish(struct session *s)
{
    size_t failed = 0, done = 0;
    for (size_t i = 0; i < s->rep.n_sites; i++)
        s->rep.sites[i].status == SITE_FAILED ? failed++ : done++;
    report_print(&s->rep, stdout);
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

/* What one run holds open: the directory and the content location. */
struct systems {
    struct account_run *accts;
    struct folder_run *folders; /* NULL: folders and grants are not managed */
};

/* apply/plan of one site, in the order that leaves nothing half-made: every
 * IIS rule is checked first (nothing queued), then the account is looked up
 * and decided (prepare_site); the accounts of all sites are then made
 * together (accounts_execute_all); then per site the rules are checked
 * again (earlier sites of the batch are queued by now), folders and grants
 * applied and the IIS edits queued last (complete_site). The file is
 * written once at the end of the run. */
static int prepare_site(struct session *s, struct apphost *ah, struct systems *sys,
                        struct site_model *m, struct account_step *step, struct site_report *sr,
                        bool dry_run)
{
    if (apphost_check_site(ah, &m->pool, &m->site, &sr->errors) < 0)
        return -1;
    if (m->identity != IDENTITY_ACCOUNT)
        return 0;
    if (!s->conf.plain_passwords) {
        diag_add(&sr->errors,
                 "%s: site '%s': its pool runs as %s, whose password can only be stored "
                 "unencrypted in applicationHost.config (IIS encrypts with the host's own "
                 "keys); set [iis] plain_passwords = accept to allow it",
                 m->origin, m->name, m->pool.user_name);
        return -1;
    }
    if (!sys->accts) {
        diag_add(&sr->errors,
                 "%s: site '%s': the directory is not available (see above); "
                 "nothing was done for this site",
                 m->origin, m->name);
        return -1;
    }
    bool has_pw = apphost_pool_has_password(ah, m->pool.name, m->pool.user_name);
    return accounts_prepare(sys->accts, m, has_pw, s->o->rotate_passwords, dry_run, step,
                            &sr->changes, &sr->errors);
}

static int complete_site(struct apphost *ah, struct systems *sys, struct site_model *m,
                         struct account_step *step, struct site_report *sr, bool dry_run)
{
    struct iis_pool_spec pool = m->pool;
    pool.password = step->password; /* NULL: keep the stored one */
    if (apphost_check_site(ah, &pool, &m->site, &sr->errors) < 0 ||
        (sys->folders && m->n_folders &&
         folders_apply_site(sys->folders, m, step->account.sid, sys->accts, dry_run, &sr->changes,
                            &sr->errors) < 0)) {
        if (sys->accts && step->done)
            accounts_undo(sys->accts, step, &sr->errors);
        return -1;
    }
    if (apphost_ensure_site(ah, &pool, &m->site, &sr->changes, &sr->errors) < 0) {
        /* Cannot happen right after apphost_check_site; say so, not hide it. */
        diag_add(&sr->errors,
                 "site '%s': internal error: the configuration refused a site it "
                 "had accepted; its account and grants were kept",
                 m->name);
        return -1;
    }
    return 0;
}

/* destroy of one site: the account is looked up first (read only), the IIS
 * configuration edited; grants and account go only after the file is
 * written (finish_systems). */
static int destroy_site(struct apphost *ah, struct systems *sys, struct site_model *m,
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
        if (accounts_prepare_removal(sys->accts, m, step, &sr->changes, &sr->errors) < 0)
            return -1;
    }
    return apphost_remove_site(ah, m->site.name, m->pool.name, &sr->changes, &sr->errors);
}

/* After the configuration is written (or not). apply: a failed write takes
 * back the accounts this run created (and their grants); the grants of
 * other sites stay and the next apply finds them done. destroy: the
 * written sites lose their grants, then their accounts. New passwords go
 * to the secrets file. plan/destroy-plan: the grants that would go. */
static void finish_systems(struct session *s, struct systems *sys, struct account_step *steps,
                           enum mode mode, bool written)
{
    const struct site_model **models = xcalloc(s->n_models ? s->n_models : 1, sizeof *models);
    struct account_step **done = xcalloc(s->n_models ? s->n_models : 1, sizeof *done);
    size_t n_done = 0;
    for (size_t i = 0; i < s->n_models; i++) {
        struct site_model *m = &s->models[i];
        struct site_report *sr = &s->rep.sites[i];
        struct account_step *step = &steps[i];
        if (mode == MODE_DESTROY) {
            if (sr->status != SITE_CHANGED || !written)
                continue;
            if (sys->folders && m->n_folders &&
                folders_remove_site(sys->folders, m, step->account.sid, sys->accts,
                                    s->o->remove_folders, false, &sr->changes, &sr->errors) < 0) {
                sr->status = SITE_FAILED;
                continue;
            }
            if (sys->accts && accounts_remove(sys->accts, step, &sr->errors) < 0)
                sr->status = SITE_FAILED;
            continue;
        }
        if (!step->done)
            continue;
        if (!written) {
            if (step->action == ACCOUNT_CREATE) {
                if (sys->folders && m->n_folders)
                    folders_remove_site(sys->folders, m, step->account.sid, sys->accts, false,
                                        false, &sr->changes, &sr->errors);
                accounts_undo(sys->accts, step, &sr->errors);
            } else {
                diag_add(&sr->errors,
                         "the password of %s was changed, but the configuration "
                         "was not written: run apply --rotate-passwords for this site",
                         step->account.sam);
            }
            continue;
        }
        models[n_done] = m;
        done[n_done++] = step;
    }
    if (n_done)
        accounts_save_secrets(&s->conf, models, done, n_done, &s->rep.errors);
    free(models);
    free(done);
}

static int run_sites(const struct options *o, int n, char **lists, enum mode mode)
{
    static const char *const names[] = {"validate", "plan", "apply", "destroy"};
    struct session s = {.o = o};
    report_init(&s.rep, names[mode], o->json, o->verbosity);
    s.rep.dry_run = mode == MODE_VALIDATE || mode == MODE_PLAN;
    if (load_input(&s, n, lists) < 0) {
        int rc = input_failed(&s);
        session_free(&s);
        return rc;
    }
    if (mode == MODE_VALIDATE) {
        for (size_t i = 0; i < s.n_models; i++)
            report_site(&s.rep, s.models[i].name);
        if (!o->json && o->verbosity >= 0)
            printf("%zu site%s valid.\n", s.n_models, s.n_models == 1 ? "" : "s");
        else if (o->json)
            report_print(&s.rep, stdout);
        session_free(&s);
        return EXIT_DONE;
    }

    struct configfile cf;
    struct smb_options iis_smb = {.auth_file = s.conf.iis_auth_file,
                                  .kerberos = s.conf.iis_kerberos};
    if (configfile_open(&cf, s.conf.iis_config, &iis_smb, mode != MODE_PLAN, &s.rep.errors) < 0) {
        int rc = finish(&s);
        session_free(&s);
        return rc;
    }
    size_t len;
    char *text = configfile_take(&cf, &len);
    struct apphost *ah = apphost_load(text, len, s.conf.iis_config, &s.rep.errors);
    if (!ah) {
        configfile_close(&cf);
        int rc = input_failed(&s);
        session_free(&s);
        return rc;
    }
    /* The directory, when a site has its own account or a grant names a
     * domain account; the content location, when folders are managed. */
    struct systems sys = {0};
    bool need_dir = false, need_folders = false;
    for (size_t i = 0; i < s.n_models; i++) {
        need_dir |= s.models[i].identity == IDENTITY_ACCOUNT;
        for (size_t k = 0; k < s.models[i].n_grants; k++)
            need_dir |= s.models[i].grants[k].grant.kind == NTFS_PRINCIPAL_NAME;
        need_folders |= s.models[i].n_folders > 0;
    }
    if (need_dir) /* without [directory] this says what is missing */
        sys.accts = accounts_open(&s.conf, &s.rep.errors);
    /* A plan does not open a script location: closing it writes the script. */
    bool script = s.conf.content_location && !strncmp(s.conf.content_location, "script:", 7);
    if (need_folders && s.conf.content_location && !(script && mode == MODE_PLAN)) {
        sys.folders = folders_open(&s.conf, &s.rep.errors);
        if (!sys.folders) {
            /* Nothing can be done safely without it. */
            apphost_free(ah);
            configfile_close(&cf);
            accounts_close(sys.accts);
            int rc = input_failed(&s);
            session_free(&s);
            return rc == EXIT_USAGE ? EXIT_FAILED : rc;
        }
    } else if (need_folders && script) {
        diag_add(&s.rep.notes, "folders and grants: apply appends them to %s",
                 s.conf.content_location + 7);
    } else if (need_folders) {
        diag_add(&s.rep.notes, "folders and grants are not managed: no [content] location");
    }
    struct account_step *steps = xcalloc(s.n_models ? s.n_models : 1, sizeof *steps);

    if (sys.accts) {
        const struct site_model **all = xcalloc(s.n_models ? s.n_models : 1, sizeof *all);
        for (size_t i = 0; i < s.n_models; i++)
            all[i] = &s.models[i];
        accounts_prefetch(sys.accts, all, s.n_models);
        free(all);
    }
    bool *failed = xcalloc(s.n_models ? s.n_models : 1, sizeof *failed);
    for (size_t i = 0; i < s.n_models; i++) {
        struct site_model *m = &s.models[i];
        struct site_report *sr = report_site(&s.rep, m->name);
        int rc = mode == MODE_DESTROY
                     ? destroy_site(ah, &sys, m, &steps[i], sr)
                     : prepare_site(&s, ah, &sys, m, &steps[i], sr, mode == MODE_PLAN);
        failed[i] = rc < 0;
    }
    if (mode == MODE_APPLY && sys.accts) {
        const struct site_model **models = xcalloc(s.n_models ? s.n_models : 1, sizeof *models);
        struct account_step **ptrs = xcalloc(s.n_models ? s.n_models : 1, sizeof *ptrs);
        struct diag **errs = xcalloc(s.n_models ? s.n_models : 1, sizeof *errs);
        for (size_t i = 0; i < s.n_models; i++) {
            models[i] = &s.models[i];
            ptrs[i] = s.models[i].identity == IDENTITY_ACCOUNT ? &steps[i] : NULL;
            errs[i] = &s.rep.sites[i].errors;
        }
        accounts_execute_all(sys.accts, models, ptrs, errs, failed, s.n_models);
        free(models);
        free(ptrs);
        free(errs);
    }
    for (size_t i = 0; i < s.n_models; i++) {
        struct site_report *sr = &s.rep.sites[i];
        if (mode != MODE_DESTROY && !failed[i])
            failed[i] = complete_site(ah, &sys, &s.models[i], &steps[i], sr, mode == MODE_PLAN) < 0;
        sr->status = failed[i] ? SITE_FAILED : sr->changes.count ? SITE_CHANGED : SITE_UNCHANGED;
        if (failed[i])
            changes_truncate(&sr->changes, 0);
        progress(&s, i + 1, s.n_models);
    }
    free(failed);
    bool written = true;
    if (mode != MODE_PLAN && apphost_dirty(ah)) {
        size_t out_len, orig_len;
        char *out = apphost_render(ah, &out_len);
        const char *orig = apphost_original(ah, &orig_len);
        char *backup = NULL;
        if (configfile_replace(&cf, orig, orig_len, out, out_len, s.conf.backups, &backup,
                               &s.rep.errors) < 0) {
            written = false;
            for (size_t i = 0; i < s.rep.n_sites; i++)
                if (s.rep.sites[i].status == SITE_CHANGED)
                    s.rep.sites[i].status = SITE_FAILED;
        } else if (backup) {
            diag_add(&s.rep.notes, "backup: %s", backup);
        }
        free(backup);
        wipe(out, out_len); /* it may hold passwords */
        free(out);
    }
    if (mode != MODE_PLAN)
        finish_systems(&s, &sys, steps, mode, written);
    for (size_t i = 0; i < s.n_models; i++)
        account_step_free(&steps[i]);
    free(steps);
    if (folders_close(sys.folders, &s.rep.errors) < 0)
        for (size_t i = 0; i < s.rep.n_sites; i++)
            if (s.rep.sites[i].status == SITE_CHANGED)
                s.rep.sites[i].status = SITE_FAILED;
    accounts_close(sys.accts);
    apphost_free(ah);
    configfile_close(&cf);
    int rc = finish(&s);
    session_free(&s);
    return rc;
}

int run_validate(const struct options *o, int n, char **lists)
{
    return run_sites(o, n, lists, MODE_VALIDATE);
}

int run_plan(const struct options *o, int n, char **lists)
{
    return run_sites(o, n, lists, MODE_PLAN);
}

int run_apply(const struct options *o, int n, char **lists)
{
    return run_sites(o, n, lists, MODE_APPLY);
}

int run_destroy(const struct options *o, int n, char **lists)
{
    return run_sites(o, n, lists, MODE_DESTROY);
}

struct list_state {
    const struct options *o;
    size_t n;
};

static void list_one(const struct iis_site_info *info, void *arg)
{
    struct list_state *st = arg;
    if (st->o->json) {
        printf("%s{\"name\":", st->n ? "," : "");
        json_string(stdout, info->name);
        printf(",\"id\":%lu,\"pool\":", info->id);
        json_string(stdout, info->pool);
        printf(",\"identity\":");
        json_string(stdout, info->identity);
        printf(",\"identity_user\":");
        json_string(stdout, info->identity_user);
        printf(",\"physical_path\":");
        json_string(stdout, info->physical_path);
        printf(",\"anonymous_user\":");
        json_string(stdout, info->anonymous_user);
        printf(",\"bindings\":[");
        for (size_t i = 0; i < info->n_bindings; i++) {
            if (i)
                putchar(',');
            json_string(stdout, info->bindings[i]);
        }
        printf("]}");
    } else {
        printf("%-30s %5lu  %-24s %s%s%s\n", info->name, info->id, info->pool, info->identity,
               info->identity_user ? " " : "", info->identity_user ? info->identity_user : "");
        printf("%-30s        path %s; anonymous %s\n", "", info->physical_path,
               *info->anonymous_user ? info->anonymous_user : "(pool identity)");
        for (size_t i = 0; i < info->n_bindings; i++)
            printf("%-30s        %s\n", "", info->bindings[i]);
    }
    st->n++;
}

int run_list(const struct options *o)
{
    struct diag d;
    diag_init(&d);
    struct conf c;
    if (conf_load(o->conf_path, &c, &d) < 0) {
        for (size_t i = 0; i < d.count; i++)
            fprintf(stderr, "provision: %s\n", d.msgs[i]);
        conf_free(&c);
        diag_free(&d);
        return EXIT_USAGE;
    }
    struct configfile cf;
    struct apphost *ah = NULL;
    struct smb_options iis_smb = {.auth_file = c.iis_auth_file, .kerberos = c.iis_kerberos};
    if (configfile_open(&cf, c.iis_config, &iis_smb, false, &d) == 0) {
        size_t len;
        char *text = configfile_take(&cf, &len);
        ah = apphost_load(text, len, c.iis_config, &d);
        configfile_close(&cf);
    }
    int rc = EXIT_DONE;
    if (!ah) {
        for (size_t i = 0; i < d.count; i++)
            fprintf(stderr, "provision: %s\n", d.msgs[i]);
        rc = EXIT_FAILED;
    } else {
        struct list_state st = {o, 0};
        if (o->json)
            printf("{\"sites\":[");
        apphost_list(ah, list_one, &st);
        if (o->json)
            printf("]}\n");
        else if (o->verbosity >= 0)
            printf("%zu site%s\n", st.n, st.n == 1 ? "" : "s");
    }
    apphost_free(ah);
    conf_free(&c);
    diag_free(&d);
    return rc;
}

int run_sid(const struct options *o, int n, char **names)
{
    int rc = EXIT_DONE;
    struct conf c;
    bool have_conf = false;
    struct account_run *accts = NULL;
    struct diag d;
    diag_init(&d);
    if (o->json)
        printf("{\"sids\":[");
    for (int i = 0; i < n; i++) {
        struct ntfs_sid sid;
        char text[NTFS_SID_STRING_MAX];
        char *found = NULL;
        if (ntfs_sid_resolve_builtin(names[i], &sid) == 0) {
            ntfs_sid_format(&sid, text, sizeof text);
        } else if (strchr(names[i], '\\') || strchr(names[i], '@')) {
            /* A domain account: ask the directory of the configuration. */
            if (!have_conf && !accts) {
                have_conf = conf_load(o->conf_path, &c, &d) == 0;
                if (have_conf)
                    accts = accounts_open(&c, &d);
            }
            if (!accts || accounts_lookup_sid(accts, names[i], &found, &d) < 0) {
                for (size_t k = 0; k < d.count; k++)
                    fprintf(stderr, "provision: %s\n", d.msgs[k]);
                diag_free(&d);
                diag_init(&d);
                rc = EXIT_FAILED;
                continue;
            }
            snprintf(text, sizeof text, "%s", found);
            free(found);
        } else {
            fprintf(stderr,
                    "provision: sid: '%s' is not a SID, a well-known name, IIS AppPool\\NAME "
                    "or DOMAIN\\name\n",
                    names[i]);
            rc = EXIT_USAGE;
            continue;
        }
        if (o->json) {
            printf("%s{\"name\":", i ? "," : "");
            json_string(stdout, names[i]);
            printf(",\"sid\":\"%s\"}", text);
        } else {
            printf("%s\t%s\n", names[i], text);
        }
    }
    if (o->json)
        printf("]}\n");
    accounts_close(accts);
    if (have_conf)
        conf_free(&c);
    diag_free(&d);
    return rc;
}

int run_recover(const struct options *o)
{
    (void)o;
    fprintf(stderr, "provision: recover: not implemented yet\n");
    return EXIT_FAILED;
}
