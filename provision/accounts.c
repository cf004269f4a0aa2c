/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/accounts.h"

#include "provision/fold.h"

#include "ldap/password.h"
#include "provision/faults.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct account_run {
    const struct conf *conf;
    struct dir_config cfg;
    struct dir *dir;
    struct strmap known;       /* sam -> struct known_account*, from accounts_prefetch */
    struct strmap sids;        /* SID -> 1 + accounts_sid_exists' answer */
    struct dir_logons *logons; /* accounts_try_logon's connection, or NULL */
};

struct known_account {
    int found; /* 1 or 0 */
    struct dir_account account;
};

struct account_run *accounts_open(const struct conf *c, struct diag *d, struct diag *notes)
{
    if (!c->dir.configured) {
        diag_add(d,
                 "%s: identity = account needs a [directory] section with uri, base_dn, "
                 "upn_suffix and the bind settings",
                 c->path);
        return NULL;
    }
    struct account_run *run = xcalloc(1, sizeof *run);
    run->conf = c;
    const struct conf_directory *cd = &c->dir;
    run->cfg = (struct dir_config){
        .uri = cd->uri,
        .ca_file = cd->ca_file,
        .tls_insecure = cd->tls_insecure,
        .bind_dn = cd->bind_dn,
        .password_file = cd->password_file,
        .password_env = cd->password_env,
        .sasl_gssapi = cd->sasl_gssapi,
        .gssapi_seal = cd->gssapi_seal,
        .base_dn = cd->base_dn,
        .upn_suffix = cd->upn_suffix,
        .timeout_seconds = cd->timeout_seconds,
        .create_ou = cd->create_ou,
        .adopt_unmarked = cd->adopt_unmarked,
        .groups = (const char *const *)cd->groups,
        .n_groups = cd->n_groups,
        .adopt_groups = (const char *const *)cd->adopt_groups,
        .n_adopt_groups = cd->n_adopt_groups,
    };
    if (dir_open(&run->cfg, &run->dir, d) < 0) {
        free(run);
        return NULL;
    }
    const char *warning = dir_warning(run->dir);
    if (warning && notes)
        diag_add(notes, "warning: %s", warning);
    strmap_init(&run->known);
    strmap_init(&run->sids);
    return run;
}

static void forget_known(struct account_run *run)
{
    for (size_t i = 0; i < run->known.cap; i++)
        if (run->known.slots[i].key) {
            struct known_account *k = run->known.slots[i].value;
            dir_account_free(&k->account);
            free(k);
        }
    strmap_free(&run->known);
}

/* Looks the sams up with one search per 64 names and keeps the answers
 * for find_account. On any problem nothing is kept. */
static void prefetch_sams(struct account_run *run, const char **sams, size_t k)
{
    struct dir_account *out = xcalloc(k ? k : 1, sizeof *out);
    int *found = xcalloc(k ? k : 1, sizeof *found);
    struct diag quiet; /* each site reports its own problems later */
    diag_init(&quiet);
    int rc = k ? dir_find_accounts(run->dir, sams, k, out, found, &quiet) : -1;
    for (size_t i = 0; i < k; i++) {
        if (rc == 0 && found[i] >= 0) {
            struct known_account *known = xcalloc(1, sizeof *known);
            known->found = found[i];
            known->account = out[i]; /* moved */
            free(strmap_put(&run->known, sams[i], known));
        } else {
            dir_account_free(&out[i]);
        }
    }
    if (rc < 0)
        forget_known(run);
    diag_free(&quiet);
    free(found);
    free(out);
}

void accounts_prefetch(struct account_run *run, const struct site_model *const *models, size_t n)
{
    const char **sams = xcalloc(n ? n : 1, sizeof *sams);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (models[i]->identity == IDENTITY_ACCOUNT && models[i]->account_name)
            sams[k++] = models[i]->account_name;
    prefetch_sams(run, sams, k);
    free(sams);
}

void accounts_prefetch_names(struct account_run *run, const char *const *names, size_t n)
{
    char **sams = xcalloc(n ? n : 1, sizeof *sams);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *part = ntfs_principal_account(names[i], &len);
        sams[i] = xstrndup(part, len);
    }
    prefetch_sams(run, (const char **)sams, n);
    for (size_t i = 0; i < n; i++)
        free(sams[i]);
    free(sams);
}

/* The site's account: from the prefetch, else one look-up. */
static int find_account(struct account_run *run, const char *sam, struct dir_account *out,
                        struct diag *d)
{
    const struct known_account *k = strmap_get(&run->known, sam);
    if (!k)
        return dir_find_account(run->dir, sam, out, d);
    memset(out, 0, sizeof *out);
    if (!k->found)
        return 0;
    const struct dir_account *a = &k->account;
    out->dn = a->dn ? xstrdup(a->dn) : NULL;
    out->sam = a->sam ? xstrdup(a->sam) : NULL;
    out->sid = a->sid ? xstrdup(a->sid) : NULL;
    out->guid = a->guid ? xstrdup(a->guid) : NULL;
    out->upn = a->upn ? xstrdup(a->upn) : NULL;
    out->description = a->description ? xstrdup(a->description) : NULL;
    out->managed = a->managed;
    out->managed_site = a->managed_site ? xstrdup(a->managed_site) : NULL;
    out->adopted = a->adopted;
    return 1;
}

void accounts_close(struct account_run *run)
{
    if (!run)
        return;
    forget_known(run);
    strmap_free(&run->sids);
    dir_logons_close(run->logons);
    dir_close(run->dir);
    free(run);
}

void account_step_free(struct account_step *step)
{
    dir_account_free(&step->account);
    free_secret(step->password);
    memset(step, 0, sizeof *step);
}

static char *new_password(const struct account_run *run, const struct site_model *m, struct diag *d)
{
    return password_generate(run->conf->dir.password_length, m->account_name, m->account_name, d);
}

int accounts_prepare(struct account_run *run, const struct site_model *m, bool pool_has_password,
                     bool rotate, struct account_step *step, struct changes *out, struct diag *d)
{
    memset(step, 0, sizeof *step);
    int found = find_account(run, m->account_name, &step->account, d);
    if (found < 0)
        return -1;
    if (found) {
        const struct dir_account *a = &step->account;
        if (!a->managed && !a->adopted) {
            diag_add(d,
                     "%s: site '%s': account %s already exists and was not created by "
                     "provision (%s); set [directory] adopt_unmarked = true to use it",
                     m->origin, m->name, m->account_name, a->dn);
            return -1;
        }
        if (a->managed && (!a->managed_site || !names_collide(a->managed_site, m->name))) {
            diag_add(d, "%s: site '%s': account %s belongs to %s%s%s (%s)", m->origin, m->name,
                     m->account_name,
                     a->managed_site ? "site '" : "no site (its marker names none)",
                     a->managed_site ? a->managed_site : "", a->managed_site ? "'" : "", a->dn);
            return -1;
        }
        if (!a->managed) {
            /* Adopted: only an ordinary user account in the template's OU
             * whose groups lie within Domain Users and adopt_group (even
             * when the pool keeps its password: it would run as it). */
            struct diag why;
            diag_init(&why);
            int ok = dir_check_adoption(run->dir, a, m->account_ou, &why);
            for (size_t i = 0; i < why.count; i++)
                diag_add(d, "%s: site '%s': %s", m->origin, m->name, why.msgs[i]);
            diag_free(&why);
            if (ok != 1)
                return -1;
        }
        if (!rotate && pool_has_password) {
            step->action = ACCOUNT_KEEP;
            return 0;
        }
        step->action = ACCOUNT_ROTATE;
        struct change *ch = changes_add(out, '~', "account", m->account_name);
        change_secret(ch, "password");
        change_note(ch, rotate ? "rotated on request"
                               : "the pool stores no password for it: a new one is set");
    } else {
        step->action = ACCOUNT_CREATE;
        struct change *ch = changes_add(out, '+', "account", m->account_name);
        char *upn = xasprintf("%s@%s", m->account_name, run->conf->dir.upn_suffix);
        change_attr(ch, "ou", NULL, m->account_ou);
        change_attr(ch, "userPrincipalName", NULL, upn);
        change_attr(ch, "description", NULL, m->account_description);
        change_secret(ch, "password");
        free(upn);
    }
    return 0;
}

int accounts_new_password(struct account_run *run, const struct site_model *m,
                          struct account_step *step, struct diag *d)
{
    if (step->action != ACCOUNT_CREATE && step->action != ACCOUNT_ROTATE)
        return 0;
    free_secret(step->password);
    step->password = new_password(run, m, d);
    return step->password ? 0 : -1;
}

int accounts_execute(struct account_run *run, const struct site_model *m, struct account_step *step,
                     struct diag *d)
{
    if (step->action == ACCOUNT_KEEP)
        return 0;
    if (step->action == ACCOUNT_ROTATE) {
        if (dir_set_password(run->dir, step->account.dn, step->password, d) < 0)
            return -1;
        step->done = true;
        return 0;
    }
    struct dir_account_spec spec = {
        .sam = m->account_name,
        .ou = m->account_ou,
        .display_name = m->account_name,
        .description = m->account_description,
        .site = m->name,
    };
    dir_account_free(&step->account);
    int rc = dir_create_account(run->dir, &spec, step->password, &step->account, d);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        /* Someone made it between our look-up and the add. */
        diag_add(d,
                 "%s: site '%s': account %s appeared while this run was creating it; run "
                 "again",
                 m->origin, m->name, m->account_name);
        return -1;
    }
    step->done = true;
    return 0;
}

/* Does msg mention the account `sam` (as a whole name, not a prefix)? */
static bool names_account(const char *msg, const char *sam)
{
    size_t n = strlen(sam);
    for (const char *p = strstr(msg, sam); p; p = strstr(p + 1, sam)) {
        char after = p[n];
        bool word_end = !after || !(isalnum((unsigned char)after) || after == '_' || after == '-');
        bool word_start =
            p == msg || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-');
        if (word_start && word_end)
            return true;
    }
    return false;
}

/* What the directory's notice of one item needs to reach the run. */
struct ready_relay {
    struct dir_create_item *items;
    size_t *site_of;
    struct account_step *const *steps;
    bool *moved; /* items[j].account already in steps[site_of[j]] */
    accounts_ready_fn ready;
    void *ctx;
};

static void relay_created(void *arg, size_t j)
{
    struct ready_relay *r = arg;
    size_t i = r->site_of[j];
    dir_account_free(&r->steps[i]->account);
    r->steps[i]->account = r->items[j].account; /* moved */
    memset(&r->items[j].account, 0, sizeof r->items[j].account);
    r->steps[i]->done = true;
    r->moved[j] = true;
    r->ready(r->ctx, i);
}

void accounts_execute_all(struct account_run *run, const struct site_model *const *models,
                          struct account_step *const *steps, struct diag *const *errs,
                          struct diag *run_errs, bool *failed, size_t n)
{
    accounts_execute_all_notify(run, models, steps, errs, run_errs, failed, n, NULL, NULL);
}

void accounts_execute_all_notify(struct account_run *run, const struct site_model *const *models,
                                 struct account_step *const *steps, struct diag *const *errs,
                                 struct diag *run_errs, bool *failed, size_t n,
                                 accounts_ready_fn ready, void *ctx)
{
    struct dir_create_item *items = xcalloc(n ? n : 1, sizeof *items);
    struct dir_account_spec *specs = xcalloc(n ? n : 1, sizeof *specs);
    size_t *site_of = xcalloc(n ? n : 1, sizeof *site_of);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (failed[i] || !steps[i])
            continue;
        if (steps[i]->action != ACCOUNT_CREATE)
            continue;
        const struct site_model *m = models[i];
        specs[k] = (struct dir_account_spec){.sam = m->account_name,
                                             .ou = m->account_ou,
                                             .display_name = m->account_name,
                                             .description = m->account_description,
                                             .site = m->name};
        items[k].spec = &specs[k];
        items[k].password = steps[i]->password;
        site_of[k++] = i;
    }
    size_t *said_before = xcalloc(k ? k : 1, sizeof *said_before);
    for (size_t j = 0; j < k; j++)
        said_before[j] = errs[site_of[j]]->count;
    struct diag d;
    diag_init(&d);
    bool *moved = xcalloc(k ? k : 1, sizeof *moved);
    struct ready_relay relay = {items, site_of, steps, moved, ready, ctx};
    if (k)
        dir_create_accounts_notify(run->dir, items, k, ready ? relay_created : NULL, &relay, &d);
    for (size_t j = 0; j < k; j++) {
        size_t i = site_of[j];
        if (!moved[j]) {
            dir_account_free(&steps[i]->account);
            steps[i]->account = items[j].account; /* moved */
        }
        if (items[j].result == 1) {
            steps[i]->done = true;
            continue;
        }
        failed[i] = true;
        if (items[j].result == 0)
            diag_add(errs[i],
                     "%s: site '%s': account %s appeared while this run was creating it; "
                     "run again",
                     models[i]->origin, models[i]->name, models[i]->account_name);
        /* Hand each message to the site whose account it names. */
        for (size_t m = 0; m < d.count; m++)
            if (d.msgs[m] && names_account(d.msgs[m], models[i]->account_name)) {
                diag_add(errs[i], "%s", d.msgs[m]);
                free(d.msgs[m]);
                d.msgs[m] = NULL;
            }
    }
    /* Messages naming no account (a lost connection, the batch's end) are
     * the run's, said once; a failed site that heard nothing of its own
     * points to them. */
    bool run_said = false;
    for (size_t m = 0; m < d.count; m++)
        if (d.msgs[m]) {
            diag_add(run_errs, "%s", d.msgs[m]);
            run_said = true;
        }
    for (size_t j = 0; run_said && j < k; j++) {
        size_t i = site_of[j];
        if (failed[i] && errs[i]->count == said_before[j])
            diag_add(errs[i],
                     "%s: site '%s': its account %s was not made (see the directory's error "
                     "above); nothing was done for this site",
                     models[i]->origin, models[i]->name, models[i]->account_name);
    }
    free(said_before);
    free(moved);
    diag_free(&d);
    free(items);
    free(specs);
    free(site_of);
}

static bool stop_requested(void *arg)
{
    (void)arg;
    return interrupted();
}

#define DEFAULT_WAIT_TIMEOUT 60

static long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t accounts_wait_replicated(struct account_run *run, const struct site_model *const *models,
                                struct account_step *const *steps, struct diag *const *errs,
                                bool *failed, size_t n)
{
    const struct conf_directory *cd = &run->conf->dir;
    if (!cd->n_wait_for || n == 0)
        return 0;
    long start = monotonic_ms();
    long timeout_ms =
        1000L * (cd->wait_timeout_seconds > 0 ? cd->wait_timeout_seconds : DEFAULT_WAIT_TIMEOUT);
    struct dir_replica_item *items = xcalloc(n, sizeof *items);
    size_t *site_of = xcalloc(n, sizeof *site_of);
    char **labels = xcalloc(n, sizeof *labels);
    char **why = xcalloc(n, sizeof *why); /* per item: the message of the DC that lacked it */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct account_step *st = steps[i];
        if (!st || (failed && failed[i]) || !st->done ||
            (st->action != ACCOUNT_CREATE && st->action != ACCOUNT_ROTATE))
            continue;
        long long pls = 0;
        if (st->action == ACCOUNT_ROTATE) {
            struct diag e;
            diag_init(&e);
            if (dir_pwd_last_set(run->dir, st->account.dn, &pls, &e) < 0) {
                why[k] = xstrdup(e.count ? e.msgs[0] : "its pwdLastSet could not be read");
                pls = -1; /* not waited for: it fails */
            }
            diag_free(&e);
        }
        labels[k] =
            xasprintf("%s (%s)", st->account.sam ? st->account.sam : models[i]->account_name,
                      st->account.dn ? st->account.dn : "?");
        items[k].label = labels[k];
        items[k].guid = st->account.guid;
        items[k].pwd_last_set = pls > 0 ? pls : 0;
        site_of[k++] = i;
    }
    for (size_t j = 0; j < cd->n_wait_for && k; j++) {
        /* Items that a DC before lacked are not looked for again. */
        for (size_t t = 0; t < k; t++)
            items[t].seen = why[t] != NULL;
        long left = timeout_ms - (monotonic_ms() - start);
        struct diag e;
        diag_init(&e);
        if (dir_wait_replica(&run->cfg, cd->wait_for[j], items, k, left > 0 ? left : 0,
                             stop_requested, NULL, &e) < 0)
            for (size_t t = 0; t < k; t++)
                if (!items[t].seen && !why[t])
                    why[t] = xstrdup(e.count ? e.msgs[0] : cd->wait_for[j]);
        diag_free(&e);
    }
    size_t lost = 0;
    for (size_t t = 0; t < k; t++) {
        if (!why[t])
            continue;
        size_t i = site_of[t];
        const struct site_model *m = models[i];
        struct account_step *st = steps[i];
        lost++;
        if (st->action == ACCOUNT_CREATE) {
            diag_add(errs[i],
                     "site '%s': account %s, created in this run, did not reach every DC of "
                     "[directory] wait_for within wait_timeout (%ld s): %s",
                     m->name, labels[t], timeout_ms / 1000, why[t]);
            if (failed) {
                failed[i] = true;
                accounts_undo(run, st, errs[i]);
            }
        } else {
            diag_add(errs[i],
                     "site '%s': the new password of %s did not reach every DC of [directory] "
                     "wait_for within wait_timeout (%ld s): %s; it is set on %s and in the IIS "
                     "configuration (it cannot be taken back) and the other DCs get it when "
                     "replication does",
                     m->name, labels[t], timeout_ms / 1000, why[t], cd->uri);
            if (failed)
                failed[i] = true;
        }
    }
    for (size_t t = 0; t < k; t++) {
        free(labels[t]);
        free(why[t]);
    }
    free(labels);
    free(why);
    free(items);
    free(site_of);
    return lost;
}

int accounts_undo(struct account_run *run, struct account_step *step, struct diag *d)
{
    if (!step->done || step->action != ACCOUNT_CREATE)
        return 0;
    int rc = dir_delete_account(run->dir, &step->account, d);
    if (rc >= 0) {
        diag_add(d, "account %s, created in this run, was deleted again", step->account.sam);
        step->done = false;
        return 0;
    }
    diag_add(d,
             "account %s (%s) was created in this run and could not be deleted now: the "
             "journal keeps it, and recovery (at the end of this run, else provision recover "
             "or the next apply or destroy on these targets) deletes it",
             step->account.sam, step->account.dn);
    return -1;
}

int accounts_prepare_removal(struct account_run *run, const struct site_model *m,
                             struct account_step *step, struct changes *out, struct diag *d)
{
    memset(step, 0, sizeof *step);
    int found = find_account(run, m->account_name, &step->account, d);
    if (found <= 0)
        return found;
    const struct dir_account *a = &step->account;
    if (a->adopted || !a->managed) {
        step->action = ACCOUNT_KEEP;
        return 0; /* not ours: destroy never deletes it */
    }
    if (!a->managed_site || !names_collide(a->managed_site, m->name)) {
        diag_add(d, "%s: site '%s': account %s belongs to %s%s%s; it is kept", m->origin, m->name,
                 m->account_name, a->managed_site ? "site '" : "no site (its marker names none)",
                 a->managed_site ? a->managed_site : "", a->managed_site ? "'" : "");
        step->action = ACCOUNT_KEEP;
        return 0;
    }
    step->action = ACCOUNT_CREATE; /* i.e. one this tool made: remove it */
    struct change *ch = changes_add(out, '-', "account", m->account_name);
    change_attr(ch, "dn", a->dn, NULL);
    return 1;
}

int accounts_remove(struct account_run *run, struct account_step *step, struct diag *d)
{
    if (step->action != ACCOUNT_CREATE)
        return 0;
    return dir_delete_account(run->dir, &step->account, d) < 0 ? -1 : 0;
}

int accounts_find(struct account_run *run, const char *name, struct dir_account *out,
                  struct diag *d)
{
    size_t n;
    const char *part = ntfs_principal_account(name, &n);
    char *sam = xstrndup(part, n);
    int rc = find_account(run, sam, out, d);
    free(sam);
    return rc;
}

int accounts_lookup_sid(struct account_run *run, const char *name, char **sid, struct diag *d)
{
    struct dir_account a = {0};
    int rc = accounts_find(run, name, &a, d);
    if (rc == 0)
        diag_add(d, "sid: no user '%s' in the directory", name);
    if (rc == 1)
        *sid = xstrdup(a.sid);
    dir_account_free(&a);
    return rc == 1 ? 0 : -1;
}

int accounts_read_state(struct account_run *run, const char *name, char **sid, char **upn,
                        struct dir_account_state *st, struct diag *d)
{
    memset(st, 0, sizeof *st);
    struct dir_account a = {0};
    int rc = accounts_find(run, name, &a, d);
    if (rc == 0)
        diag_add(d, "no user '%s' in the directory", name);
    if (rc == 1) {
        rc = dir_read_account_state(run->dir, &a, st, d);
        if (rc == 0)
            diag_add(d, "user '%s' (%s) went away while it was read", name, a.dn);
    }
    if (rc == 1) {
        *sid = xstrdup(a.sid);
        *upn = a.upn ? xstrdup(a.upn) : NULL;
    }
    dir_account_free(&a);
    return rc == 1 ? 0 : -1;
}

int accounts_sid_exists(struct account_run *run, const char *sid, struct diag *d)
{
    /* 1 + the answer, so that 0 (absent) can be kept too */
    intptr_t known = (intptr_t)strmap_get(&run->sids, sid);
    if (known)
        return (int)known - 1;
    int rc = dir_sid_exists(run->dir, sid, d);
    if (rc >= 0)
        strmap_put(&run->sids, sid, (void *)(intptr_t)(rc + 1));
    return rc;
}

int accounts_try_logon(struct account_run *run, const char *upn, const char *password,
                       struct diag *d)
{
    if (!run->logons)
        dir_logons_open(&run->cfg, &run->logons);
    return dir_logons_check(run->logons, upn, password, d);
}

/* --- the secrets file ------------------------------------------------- */

int accounts_save_secrets(const struct conf *c, const struct site_model *const *models,
                          struct account_step *const *steps, size_t n, struct diag *d)
{
    const char **sams = xcalloc(n ? n : 1, sizeof *sams),
               **sites = xcalloc(n ? n : 1, sizeof *sites);
    const char **passwords = xcalloc(n ? n : 1, sizeof *passwords);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (steps[i]->done && steps[i]->password) {
            sams[k] = models[i]->account_name;
            sites[k] = models[i]->name;
            passwords[k++] = steps[i]->password;
        }
    int rc = accounts_save_secret_lines(c, sams, sites, passwords, k, d);
    free(sams);
    free(sites);
    free(passwords);
    return rc;
}

int accounts_save_secret_lines(const struct conf *c, const char *const *sams,
                               const char *const *sites, const char *const *passwords, size_t n,
                               struct diag *d)
{
    const char *path = c->dir.secrets_file;
    if (!path)
        return 0;
    struct strbuf out;
    sb_init_secret(&out); /* it holds every password of the file */
    char *old = NULL;
    size_t old_len = 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (st.st_mode & 077) {
            diag_add(d,
                     "%s: the secrets file must be readable by its owner only (chmod 600); "
                     "the new passwords were not saved there",
                     path);
            return -1;
        }
        if (read_file(path, &old, &old_len) < 0) {
            diag_add(d, "%s: cannot read: %s", path, strerror(errno));
            return -1;
        }
    }
    /* Keep the lines of accounts this run did not touch. */
    for (char *line = old, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        size_t len = next ? (size_t)(next - line) : strlen(line);
        next = next ? next + 1 : line + len;
        bool replaced = false;
        for (size_t i = 0; i < n; i++) {
            size_t sl = strlen(sams[i]);
            if (len > sl && line[sl] == '\t' && !ascii_ncasecmp(line, sams[i], sl))
                replaced = true;
        }
        if (!replaced)
            sb_add(&out, line, len), sb_addc(&out, '\n');
    }
    for (size_t i = 0; i < n; i++)
        sb_addf(&out, "%s\t%s\t%s\n", sams[i], sites[i], passwords[i]);
    if (old) {
        wipe(old, old_len);
        free(old);
    }
    /* Owner-only from the moment the temporary file exists. */
    int rc = atomic_replace(path, out.buf ? out.buf : "", out.len, 0600, "the secrets file", d);
    sb_free_secret(&out);
    return rc;
}

int accounts_delete_marked(struct account_run *run, const char *sam, const char *site,
                           struct diag *d)
{
    struct dir_account a = {0};
    int found = dir_find_account(run->dir, sam, &a, d); /* now, not the prefetched answer */
    int rc = found;
    if (found == 1) {
        rc = 0;
        if (a.managed && !a.adopted && a.managed_site && names_collide(a.managed_site, site))
            rc = dir_delete_account(run->dir, &a, d) < 0 ? -1 : 1;
    }
    dir_account_free(&a);
    return rc;
}

int accounts_set_password(struct account_run *run, const char *sam, const char *password,
                          struct diag *d)
{
    struct dir_account a = {0};
    int found = dir_find_account(run->dir, sam, &a, d); /* now, not the prefetched answer */
    int rc = -1;
    if (found == 0)
        diag_add(d, "account %s: not found in the directory", sam);
    else if (found == 1)
        rc = dir_set_password(run->dir, a.dn, password, d) < 0 ? -1 : 0;
    dir_account_free(&a);
    return rc;
}
