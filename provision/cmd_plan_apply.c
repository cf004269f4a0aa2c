/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plan (with -o FILE: the plan saved, its content captured by
 * capture_plan) and apply (with --plan FILE: a saved plan executed once it
 * is checked against the state now). */
#include "provision/accounts.h"
#include "provision/conf.h"
#include "provision/journal.h"
#include "provision/planfile.h"
#include "provision/report.h"
#include "provision/run_internal.h"
#include "provision/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_errors(const struct diag *d)
{
    for (size_t i = 0; i < d->count; i++)
        fprintf(stderr, "provision: %s\n", report_visible(d->msgs[i]));
}

/* The state folder of the configuration at conf_path (it holds the key
 * that signs plans). NULL with messages. */
static char *state_of(const char *conf_path, struct diag *d)
{
    struct conf c;
    if (conf_load(conf_path, &c, d) < 0) {
        conf_free(&c);
        return NULL;
    }
    char *dir = state_dir_open(c.state_dir, d);
    conf_free(&c);
    return dir;
}

/* A saved plan's content: what the plan relied on (the config objects of
 * its sites and the defaults, the accounts looked up; the descriptors read
 * were recorded as the engine read them) and the changes it shows. */
static void capture_dep_object(struct planfile *p, const struct apphost *ah, const char *kind,
                               const char *name)
{
    const char *bytes;
    size_t len;
    char hash[65] = "absent";
    if (apphost_object_bytes(ah, kind, name, &bytes, &len))
        sha256_hex(bytes, len, hash);
    char *key = xasprintf("config %s", kind);
    planfile_dep(p, key, name, hash);
    free(key);
}

void capture_plan(struct session *s, const struct apphost *ah, const struct account_step *steps,
                  char **lists, int n_lists)
{
    struct planfile *p = s->capture;
    char hash[65];
    p->conf_path = realpath(s->o->conf_path, NULL);
    if (!p->conf_path)
        p->conf_path = xstrdup(s->o->conf_path);
    p->conf_hash = xstrdup(file_sha256(p->conf_path, hash, &s->rep.errors) == 0 ? hash : "");
    for (int i = 0; i < n_lists; i++) {
        char *abs = realpath(lists[i], NULL);
        if (file_sha256(abs ? abs : lists[i], hash, &s->rep.errors) == 0)
            planfile_list(p, abs ? abs : lists[i], hash);
        free(abs);
    }
    static const char *const defaults[] = {"site", "application", "pool"};
    for (size_t i = 0; i < 3; i++)
        capture_dep_object(p, ah, "defaults", defaults[i]);
    for (size_t i = 0; i < s->n_models; i++) {
        const struct site_model *m = &s->models[i];
        capture_dep_object(p, ah, "site", m->site.name);
        capture_dep_object(p, ah, "pool", m->pool.name);
        capture_dep_object(p, ah, "location", m->site.name);
        if (m->identity == IDENTITY_ACCOUNT && m->account_name) {
            const struct dir_account *a = &steps[i].account;
            char *v = a->dn ? xasprintf("%s|%s|%s", a->dn, a->sid ? a->sid : "",
                                        a->managed_site ? a->managed_site : "")
                            : xstrdup("absent");
            planfile_dep(p, "account", m->account_name, v);
            free(v);
        }
    }
    planfile_sort(p);
    for (size_t i = 0; i < s->rep.n_sites; i++) {
        const struct site_report *sr = &s->rep.sites[i];
        for (size_t c = 0; c < sr->changes.count; c++) {
            const struct change *ch = &sr->changes.items[c];
            struct strbuf sb;
            sb_init(&sb);
            sb_addf(&sb, "%s: %c %s %s", sr->name, ch->op, ch->kind, ch->object);
            for (size_t a = 0; a < ch->n_attrs; a++) {
                const struct change_attr *at = &ch->attrs[a];
                if (at->secret)
                    sb_addf(&sb, "; %s (secret)", at->name);
                else
                    sb_addf(&sb, "; %s: %s -> %s", at->name,
                            at->old_value ? at->old_value : "(unset)",
                            at->new_value ? at->new_value : "(unset)");
            }
            planfile_change(p, sb.buf);
            sb_free(&sb);
        }
        if (sr->status == SITE_FAILED)
            planfile_change(p, sr->name); /* a plan with a failed site is not applied */
    }
}

int run_plan(const struct options *o, int n, char **lists)
{
    if (!o->plan_out)
        return run_sites(o, n, lists, MODE_PLAN, NULL, false);
    struct planfile pf;
    planfile_init(&pf);
    int rc = run_sites(o, n, lists, MODE_PLAN, &pf, false);
    if (rc == EXIT_DONE || rc == EXIT_PARTIAL) {
        struct diag d;
        diag_init(&d);
        char *state = state_of(o->conf_path, &d);
        if (!state || planfile_write(&pf, o->plan_out, state, &d) < 0) {
            print_errors(&d);
            rc = EXIT_FAILED;
        } else if (!o->json && o->verbosity >= 0) {
            printf("plan saved to %s: run provision apply --plan %s to execute it\n", o->plan_out,
                   o->plan_out);
        }
        free(state);
        diag_free(&d);
    }
    planfile_free(&pf);
    return rc;
}

/* apply --plan FILE: the plan is read and its signature checked; the
 * configuration and site lists must be the ones it was made from; the
 * same plan is made again (reading only) and must rely on the same
 * objects in the same state and show the same changes; then apply runs
 * as usual. Changes elsewhere in the IIS configuration do not matter:
 * the edits are spliced into the file as it is then. */
static int apply_saved(const struct options *o)
{
    struct diag d;
    diag_init(&d);
    struct planfile saved, now;
    planfile_init(&saved);
    planfile_init(&now);
    int rc = EXIT_FAILED;
    char *state = state_of(o->conf_path, &d);
    char hash[65];
    if (!state || planfile_read(&saved, o->plan_in, state, &d) < 0)
        goto out;
    char *conf_abs = realpath(o->conf_path, NULL);
    if (!conf_abs || strcmp(conf_abs, saved.conf_path) != 0)
        diag_add(&d, "%s: made with the configuration %s, not %s; refused", o->plan_in,
                 saved.conf_path, conf_abs ? conf_abs : o->conf_path);
    else if (file_sha256(conf_abs, hash, &d) == 0 && strcmp(hash, saved.conf_hash) != 0)
        diag_add(&d, "changed since the plan: the configuration %s", conf_abs);
    free(conf_abs);
    for (size_t i = 0; i < saved.n_lists; i++)
        if (file_sha256(saved.lists[i], hash, &d) == 0 && strcmp(hash, saved.list_hashes[i]))
            diag_add(&d, "changed since the plan: the site list %s", saved.lists[i]);
    if (d.count)
        goto out;
    rc = run_sites(o, (int)saved.n_lists, saved.lists, MODE_PLAN, &now, true);
    if (rc != EXIT_DONE && rc != EXIT_PARTIAL) {
        diag_add(&d, "%s: the plan could not be checked against the state now", o->plan_in);
        rc = EXIT_FAILED;
        goto out;
    }
    if (planfile_compare(&saved, &now, &d) < 0) {
        rc = EXIT_FAILED;
        goto out;
    }
    rc = run_sites(o, (int)saved.n_lists, saved.lists, MODE_APPLY, NULL, false);
out:
    if (d.count) {
        print_errors(&d);
        if (rc != EXIT_DONE && rc != EXIT_PARTIAL)
            fprintf(stderr, "provision: %s: nothing was changed\n", o->plan_in);
    }
    planfile_free(&saved);
    planfile_free(&now);
    free(state);
    diag_free(&d);
    return rc;
}

int run_apply(const struct options *o, int n, char **lists)
{
    if (o->plan_in)
        return apply_saved(o);
    return run_sites(o, n, lists, MODE_APPLY, NULL, false);
}
