/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/recover.h"

#include "provision/fold.h"

#include "provision/accounts.h"
#include "provision/faults.h"
#include "provision/folders.h"
#include "provision/iis/apphost.h"
#include "provision/iis/configfile.h"
#include "provision/iis/xmldoc.h"
#include "provision/ntfs/grants.h"
#include "provision/ntfs/sddl.h"
#include "provision/smb/smb.h"
#include "provision/digest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void recover_targets(const struct conf *c, struct journal_targets *t, char *buf, size_t buflen)
{
    t->config = c->iis_config;
    t->content = c->content_location;
    t->directory = NULL;
    if (c->dir.configured) {
        snprintf(buf, buflen, "%s %s", c->dir.uri ? c->dir.uri : "",
                 c->dir.base_dn ? c->dir.base_dn : "");
        t->directory = buf;
    }
}

/* What one recovery holds open, opened on first need. */
struct recovery {
    struct journal_file *f;
    const struct conf *c;
    const char *state_dir, *run_id;
    struct account_run *accts;
    struct folder_run *folders;
    /* tried once and failed: the other records that need it wait (the
     * journal is kept) instead of each waiting for its own timeout */
    bool accts_failed, folders_failed;
    struct apphost *ah; /* the config as it is now (read only) */
    bool config_read;
    char hash[65]; /* of the config as read */
    struct diag *notes, *d;
    /* passwords the file holds for the run's new or rotated accounts */
    const char **sams, **sites;
    char **passwords;
    size_t n_secrets;
};

static struct account_run *need_accounts(struct recovery *r)
{
    if (!r->accts && !r->accts_failed) {
        r->accts = accounts_open(r->c, r->d, r->notes);
        r->accts_failed = !r->accts;
    }
    return r->accts;
}

static struct acl_backend *need_folders(struct recovery *r)
{
    if (!r->folders && !r->folders_failed) {
        if (!r->c->content_location) {
            diag_add(r->d, "%s: the journal has folder records but [content] has no location",
                     r->f->path);
            r->folders_failed = true;
            return NULL;
        }
        r->folders = folders_open(r->c, r->d);
        r->folders_failed = !r->folders;
    }
    return r->folders ? folders_backend(r->folders) : NULL;
}

/* Over smb:// the replace renames the original to a backup and then the
 * temp file into place (smb.h, smb_replace_file): a run killed between the
 * two leaves no applicationHost.config. The file is put back: the backup
 * of the dead run (its pid is in the name) holding the old bytes, else its
 * temp file holding the new ones. The dead run's temp files (they can hold
 * plain passwords) are removed either way. Notes say what was done. */
static void repair_smb_config(struct recovery *r, const char *old_hash, const char *new_hash)
{
    const char *url = r->c->iis_config;
    const char *pid = journal_get(r->f->begin, "pid");
    const char *slash = strrchr(url, '/');
    if (strncmp(url, "smb://", 6) != 0 || !pid || !slash)
        return;
    struct smb_options so = {.auth_file = r->c->iis_auth_file,
                             .kerberos = r->c->iis_kerberos,
                             .timeout_ms = r->c->iis_timeout_ms};
    struct smb_session *smb;
    if (smb_session_open(&so, &smb, r->d) < 0)
        return;
    char *dir = xstrndup(url, (size_t)(slash - url));
    const char *name = slash + 1;
    char *bak_prefix = xasprintf("%s.provision-bak-", name);
    char *tmp_prefix = xasprintf(".%s.provision-tmp-%s-", name, pid);
    char *pid_part = xasprintf("-%s-", pid);
    struct smb_dirent *ents = NULL;
    size_t n = 0;
    bool present = smb_stat(smb, url, NULL, NULL) == 1;
    if (smb_list(smb, dir, &ents, &n, r->d) == 0) {
        for (int pass = 0; pass < 2 && !present; pass++) {
            /* pass 0: a backup with the old bytes; pass 1: a temp file with the new */
            for (size_t i = 0; i < n && !present; i++) {
                const char *e = ents[i].name;
                bool ours = pass == 0 ? !strncmp(e, bak_prefix, strlen(bak_prefix)) &&
                                            strstr(e + strlen(bak_prefix), pid_part)
                                      : !strncmp(e, tmp_prefix, strlen(tmp_prefix));
                if (!ours)
                    continue;
                char *from = xasprintf("%s/%s", dir, e), *data = NULL, hash[65];
                size_t len;
                if (smb_read_file(smb, from, XMLDOC_MAX_BYTES, &data, &len, NULL) == 0) {
                    sha256_hex(data, len, hash);
                    wipe(data, len);
                    free(data);
                    if (!strcmp(hash, pass == 0 ? old_hash : new_hash) &&
                        smb_rename(smb, from, url, r->d) == 0) {
                        present = true;
                        diag_add(r->notes,
                                 "%s was missing (the run died while replacing it): "
                                 "%s was put back",
                                 url, from);
                    }
                }
                free(from);
            }
        }
        for (size_t i = 0; i < n; i++)
            if (!strncmp(ents[i].name, tmp_prefix, strlen(tmp_prefix))) {
                char *tmp = xasprintf("%s/%s", dir, ents[i].name);
                if (smb_unlink(smb, tmp, NULL) == 0)
                    diag_add(r->notes, "removed %s, left by the dead run", tmp);
                free(tmp);
            }
        smb_dirents_free(ents, n);
    }
    free(dir);
    free(bak_prefix);
    free(tmp_prefix);
    free(pid_part);
    smb_session_close(smb);
}

/* The config as it is now (and its SHA-256 in r->hash), read once and
 * only when needed: to tell whether the run's write happened, and for the
 * passwords it holds. NULL when it cannot be read (with a message). */
static const struct apphost *need_config(struct recovery *r)
{
    if (r->config_read)
        return r->ah;
    r->config_read = true;
    struct configfile cf;
    struct smb_options so = {.auth_file = r->c->iis_auth_file,
                             .kerberos = r->c->iis_kerberos,
                             .timeout_ms = r->c->iis_timeout_ms};
    if (configfile_open(&cf, r->c->iis_config, &so, NULL, r->d) < 0)
        return NULL;
    size_t len;
    char *text = configfile_take(&cf, &len);
    configfile_close(&cf);
    sha256_hex(text, len, r->hash);
    r->ah = apphost_load(text, len, r->c->iis_config, r->d);
    return r->ah;
}

struct site_seen {
    const char *name;
    bool present;
};

static void mark_present(const struct iis_site_info *info, void *arg)
{
    struct site_seen *s = arg;
    if (names_collide(info->name, s->name))
        s->present = true;
}

static bool site_in_config(const struct apphost *ah, const char *name)
{
    struct site_seen s = {name, false};
    apphost_list(ah, mark_present, &s);
    return s.present;
}

static bool has_record(const struct journal_file *f, const char *type)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->records[i].type, type))
            return true;
    return false;
}

/* What the run itself recorded of each site's outcome, looked up once
 * (journals of large batches have thousands of records). */
enum { OUTCOME_UNDONE = 1, OUTCOME_DONE = 2, OUTCOME_FAILED = 4 };

static void read_outcomes(const struct journal_file *f, struct strmap *out)
{
    strmap_init(out);
    for (size_t i = 0; i < f->n; i++) {
        const char *t = f->records[i].type;
        uintptr_t bit = !strcmp(t, "site-undone")   ? OUTCOME_UNDONE
                        : !strcmp(t, "site-done")   ? OUTCOME_DONE
                        : !strcmp(t, "site-failed") ? OUTCOME_FAILED
                                                    : 0;
        if (bit)
            strmap_put(out, f->records[i].site,
                       (void *)((uintptr_t)strmap_get(out, f->records[i].site) | bit));
    }
}

static unsigned outcome_of(const struct strmap *outcomes, const char *site)
{
    return (unsigned)(uintptr_t)strmap_get(outcomes, site);
}

static void step_done(struct recovery *r, const char *site, const char *step, const char *object,
                      const char *result)
{
    audit_log(r->state_dir, r->run_id, site, step, object, result);
}

static int decode_sd(const char *hex, struct ntfs_sd *sd)
{
    unsigned char *bytes;
    size_t n;
    ntfs_sd_init(sd);
    if (!hex || hex_decode(hex, &bytes, &n) < 0)
        return -1;
    int rc = ntfs_sd_decode(bytes, n, sd);
    free(bytes);
    return rc < 0 ? -1 : 0;
}

/* Deletes the site's account when it carries that site's marker. */
static int delete_account(struct recovery *r, const char *site, const char *sam)
{
    struct account_run *a = need_accounts(r);
    if (!a || !sam)
        return -1;
    int x = accounts_delete_marked(a, sam, site, r->d);
    if (x == 1)
        step_done(r, site, "delete-account", sam, "done");
    return x < 0 ? -1 : 0;
}

/* Undoes the records of one site, newest first. */
static int roll_back_site(struct recovery *r, const char *site)
{
    int rc = 0;
    const struct journal_file *f = r->f;
    for (size_t i = f->n; i-- > 1;) {
        const struct journal_record *rec = &f->records[i];
        if (strcmp(rec->site, site) != 0)
            continue;
        if (fault_point("recover", r->d) < 0)
            return -1;
        const char *rel = journal_get(rec, "rel");
        if (!strcmp(rec->type, "sd")) {
            struct acl_backend *b = need_folders(r);
            struct ntfs_sd old;
            if (!b)
                return -1;
            if (decode_sd(journal_get(rec, "old"), &old) < 0) {
                diag_add(r->d, "journal %s: site '%s': unreadable descriptor for %s", f->path, site,
                         rel);
                rc = -1;
                continue;
            }
            bool exists = false;
            int x = acl_exists(b, rel, &exists, r->d);
            if (x == 1 && acl_write_sd(b, rel, &old, r->d) < 0)
                rc = -1;
            if (x < 0)
                rc = -1;
            if (x == 1)
                step_done(r, site, "restore-descriptor", rel, "done");
            ntfs_sd_free(&old);
        } else if (!strcmp(rec->type, "mkdir")) {
            /* Only when no later record says it was there already. */
            bool existed = false;
            for (size_t k = i + 1; k < f->n && !existed; k++)
                existed = !strcmp(f->records[k].type, "mkdir-existed") &&
                          !strcmp(f->records[k].site, site) &&
                          !strcmp(journal_get(&f->records[k], "rel"), rel);
            if (existed)
                continue;
            struct acl_backend *b = need_folders(r);
            if (!b)
                return -1;
            bool is_dir = false;
            int x = acl_exists(b, rel, &is_dir, r->d);
            if (x < 0) {
                rc = -1;
                continue;
            }
            if (x == 0)
                continue;
            int removed = acl_remove_empty_folder(b, rel, r->d);
            if (removed < 0)
                rc = -1;
            else if (removed == 0)
                diag_add(r->notes,
                         "site '%s': folder %s was created by the run but is not empty "
                         "now; it was kept",
                         site, rel);
            else
                step_done(r, site, "remove-folder", rel, "done");
        } else if (!strcmp(rec->type, "account-create")) {
            if (delete_account(r, site, journal_get(rec, "sam")) < 0)
                rc = -1;
        }
    }
    return rc;
}

static void remember_secret(struct recovery *r, const char *sam, const char *site, char *password)
{
    r->sams = xrealloc(r->sams, (r->n_secrets + 1) * sizeof *r->sams);
    r->sites = xrealloc(r->sites, (r->n_secrets + 1) * sizeof *r->sites);
    r->passwords = xrealloc(r->passwords, (r->n_secrets + 1) * sizeof *r->passwords);
    r->sams[r->n_secrets] = sam;
    r->sites[r->n_secrets] = site;
    r->passwords[r->n_secrets++] = password;
}

/* apply after the config was written: what comes after the write. */
static int roll_forward_apply(struct recovery *r, const char *site)
{
    int rc = 0;
    const struct journal_file *f = r->f;
    for (size_t i = 1; i < f->n; i++) {
        const struct journal_record *rec = &f->records[i];
        if (strcmp(rec->site, site) != 0)
            continue;
        bool rotate = !strcmp(rec->type, "account-rotate");
        if (!rotate && strcmp(rec->type, "account-create") != 0)
            continue;
        const char *sam = journal_get(rec, "sam");
        const char *pool = journal_get(rec, "pool"), *user = journal_get(rec, "user");
        const struct apphost *ah = pool && user ? need_config(r) : NULL;
        char *password = ah ? apphost_pool_plain_password(ah, pool, user) : NULL;
        if (rotate) {
            if (fault_point("recover", r->d) < 0) {
                free_secret(password);
                return -1;
            }
            struct account_run *a = need_accounts(r);
            if (!password) {
                diag_add(r->d,
                         "site '%s': the configuration holds no clear password for %s; run "
                         "apply --rotate-passwords for this site",
                         site, sam);
                rc = -1;
            } else if (!a || accounts_set_password(a, sam, password, r->d) < 0) {
                rc = -1;
            } else {
                step_done(r, site, "set-password", sam, "done");
            }
        }
        if (password)
            remember_secret(r, sam, site, password);
    }
    return rc;
}

/* destroy after the config was written: the grants and the account go. */
static int roll_forward_destroy(struct recovery *r, const char *site)
{
    const struct journal_file *f = r->f;
    struct acl_grant_spec *specs = NULL;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 1; i < f->n; i++) {
        const struct journal_record *rec = &f->records[i];
        if (strcmp(rec->site, site) != 0 || strcmp(rec->type, "grant") != 0)
            continue;
        char text[NTFS_SDDL_ACE_MAX + 8], err[200];
        snprintf(text, sizeof text, "D:%s", journal_get(rec, "ace") ? journal_get(rec, "ace") : "");
        struct ntfs_sd sd;
        if (ntfs_sddl_parse(text, &sd, err, sizeof err) < 0 || sd.ace_count != 1) {
            diag_add(r->d, "journal %s: site '%s': unreadable grant %s", f->path, site, text);
            rc = -1;
            continue;
        }
        specs = xrealloc(specs, (n + 1) * sizeof *specs);
        specs[n].folder_rel = journal_get(rec, "rel");
        specs[n].ace = sd.aces[0];
        specs[n].protect =
            !strcmp(journal_get(rec, "protect") ? journal_get(rec, "protect") : "", "1");
        n++;
        ntfs_sd_free(&sd);
    }
    if (n && rc == 0) {
        struct acl_backend *b = need_folders(r);
        bool remove = !strcmp(journal_get(f->begin, "remove_folders"), "1");
        if (!b || fault_point("recover", r->d) < 0 ||
            acl_remove_site(b, specs, n, remove, false, NULL, r->d) < 0)
            rc = -1;
        else
            step_done(r, site, "remove-grants", site, "done");
    }
    free(specs);
    for (size_t i = 1; rc == 0 && i < f->n; i++) {
        const struct journal_record *rec = &f->records[i];
        if (strcmp(rec->site, site) != 0 || strcmp(rec->type, "account-delete") != 0)
            continue;
        if (fault_point("recover", r->d) < 0)
            return -1;
        if (delete_account(r, site, journal_get(rec, "sam")) < 0)
            rc = -1;
    }
    return rc;
}

int recover_journal(struct journal_file *f, const struct conf *c, const char *state_dir, bool own,
                    struct diag *notes, struct diag *d)
{
    struct recovery r = {.f = f, .c = c, .state_dir = state_dir, .notes = notes, .d = d};
    r.run_id = journal_get(f->begin, "run");
    const char *command = journal_get(f->begin, "command");
    if (!command)
        command = "";
    size_t errors_before = d->count;
    if (has_record(f, "end")) {
        journal_file_remove(f);
        return 0;
    }
    bool committed = has_record(f, "config-committed");
    struct strmap outcomes;
    read_outcomes(f, &outcomes);
    const struct journal_record *replace = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->records[i].type, "config-replace"))
            replace = &f->records[i];
    bool is_apply = !strcmp(command, "apply");
    /* Whether the write happened, when the journal does not say it. */
    if (replace && !committed) {
        repair_smb_config(&r, journal_get(replace, "old") ? journal_get(replace, "old") : "",
                          journal_get(replace, "new") ? journal_get(replace, "new") : "");
        if (!need_config(&r)) {
            diag_add(d, "journal %s: the configuration cannot be read; recovery waits for it",
                     f->path);
            goto out;
        }
        const char *hash = r.hash;
        if (!strcmp(hash, journal_get(replace, "new") ? journal_get(replace, "new") : ""))
            committed = true;
        else if (strcmp(hash, journal_get(replace, "old") ? journal_get(replace, "old") : "")) {
            /* Written over since: the run's write happened if its sites are there. */
            committed = true;
            for (size_t i = 1; i < f->n && committed; i++) {
                const struct journal_record *rec = &f->records[i];
                if (!strcmp(rec->site, "-") ||
                    outcome_of(&outcomes, rec->site) & (OUTCOME_UNDONE | OUTCOME_FAILED))
                    continue;
                if (is_apply != site_in_config(r.ah, rec->site))
                    committed = false;
            }
        }
    }
    /* The sites of the run, in order. */
    struct strmap seen;
    strmap_init(&seen);
    size_t back = 0, forward = 0;
    int rc = 0;
    for (size_t i = 1; i < f->n; i++) {
        const char *site = f->records[i].site;
        if (!strcmp(site, "-") || strmap_get(&seen, site))
            continue;
        strmap_put(&seen, site, (void *)site);
        unsigned outcome = outcome_of(&outcomes, site);
        if (outcome & (OUTCOME_UNDONE | OUTCOME_DONE))
            continue;
        bool failed = outcome & OUTCOME_FAILED;
        int x;
        if (!strcmp(command, "destroy")) {
            if (!committed)
                continue; /* destroy changes nothing before the write */
            x = roll_forward_destroy(&r, site);
            forward += x == 0;
        } else if (!committed || failed) {
            x = roll_back_site(&r, site);
            back += x == 0;
        } else {
            x = roll_forward_apply(&r, site);
            forward += x == 0;
        }
        if (x == 0)
            x = journal_file_append(f,
                                    x == 0 && (!committed || failed) && strcmp(command, "destroy")
                                        ? "site-undone"
                                        : "site-done",
                                    site, d, NULL);
        if (x < 0)
            rc = -1;
    }
    strmap_free(&seen);
    if (rc == 0 && r.n_secrets &&
        accounts_save_secret_lines(c, r.sams, r.sites, (const char *const *)r.passwords,
                                   r.n_secrets, d) < 0)
        rc = -1;
    if (rc == 0 && d->count == errors_before) {
        if (own && back)
            diag_add(notes,
                     "%zu site%s of this run taken back (accounts created in this run deleted "
                     "again, descriptors restored, new empty folders removed)",
                     back, back == 1 ? "" : "s");
        else if (!own)
            diag_add(notes,
                     "recovered the interrupted %s run %s: %zu site%s rolled back, %zu completed "
                     "(the configuration %s written)",
                     command, r.run_id ? r.run_id : "?", back, back == 1 ? "" : "s", forward,
                     committed ? "had been" : "had not been");
        step_done(&r, "-", "recover", command, committed ? "forward" : "back");
        journal_file_remove(f);
    } else {
        diag_add(d, "journal %s: not fully recovered; it is kept: run provision recover again",
                 f->path);
    }
out:
    strmap_free(&outcomes);
    for (size_t i = 0; i < r.n_secrets; i++)
        free_secret(r.passwords[i]);
    free(r.passwords);
    free(r.sams);
    free(r.sites);
    apphost_free(r.ah);
    folders_close(r.folders, d);
    accounts_close(r.accts);
    return f->fd < 0 ? 0 : -1;
}

int recover_pending(const struct conf *c, const char *state_dir, bool mention_others,
                    struct diag *notes, struct diag *d)
{
    struct journal_file *files;
    size_t n, live;
    if (journal_scan(state_dir, &files, &n, &live, d) < 0) {
        for (size_t i = 0; i < n; i++)
            journal_file_free(&files[i]);
        free(files);
        return -1;
    }
    struct journal_targets t;
    char buf[1024];
    recover_targets(c, &t, buf, sizeof buf);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!journal_same_targets(&files[i], &t)) {
            if (mention_others)
                diag_add(notes,
                         "journal %s: an interrupted run on other targets (config %s) is "
                         "waiting; run provision recover with its configuration",
                         files[i].path, journal_get(files[i].begin, "config"));
            journal_file_free(&files[i]);
            continue;
        }
        if (recover_journal(&files[i], c, state_dir, false, notes, d) < 0)
            rc = -1;
        journal_file_free(&files[i]);
    }
    free(files);
    if (live && mention_others)
        diag_add(notes, "%zu run%s still going (journal%s held by a live process)", live,
                 live == 1 ? " is" : "s are", live == 1 ? "" : "s");
    return rc;
}
