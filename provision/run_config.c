/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The run's one write of the IIS configuration (plan_execute, run.c): the
 * new text rendered, announced in the journal and put in place; when another
 * tool wrote the file meanwhile, its content read again and the run's edits
 * made again on it, unless that tool changed what the run changes. */
#include "provision/run_internal.h"

#include "provision/accounts.h"
#include "provision/change.h"
#include "provision/digest.h"
#include "provision/faults.h"
#include "provision/iis/apphost.h"
#include "provision/iis/configfile.h"
#include "provision/journal.h"
#include "provision/report.h"
#include "provision/site.h"
#include "provision/smb/smb.h"
#include "provision/timings.h"
#include "provision/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The pieces of the new config (apphost_render_pieces), or NULL after an
 * internal error (two edits of the run overlap: a bug, reported, never
 * guessed around). */
static struct iovec *render_config(struct session *s, const struct apphost *ah, size_t *n,
                                   size_t *len)
{
    struct diag injected; /* a test's stand-in for a rendering bug */
    diag_init(&injected);
    struct iovec *pieces =
        fault_point("render", &injected) == 0 ? apphost_render_pieces(ah, n, len) : NULL;
    diag_free(&injected);
    if (!pieces) {
        size_t m = s->rep.errors.count;
        diag_add(&s->rep.errors,
                 "%s: internal error: two edits of this run overlap; nothing was written "
                 "and every site of the run is taken back",
                 s->conf.iis_config);
        diag_classify(&s->rep.errors, m, DIAG_INTERNAL, s->conf.iis_config);
    }
    return pieces;
}

/* For the crash tests: over smb:// the moment between the two renames of
 * the replace (no applicationHost.config at all) is a crash point too. */
static void replace_step(int step, void *arg)
{
    (void)arg;
    if (step == 3)
        fault_point("swap", NULL);
}

/* The new version written beside the file on a thread of its own, so that
 * its write and fsync overlap the journal's. */
struct prepare_job {
    struct configfile *cf;
    const struct iovec *pieces;
    size_t n;
    struct diag why;
    int rc;
    pthread_t thread;
    bool threaded;
};

static void *prepare_run(void *arg)
{
    struct prepare_job *j = arg;
    j->rc = configfile_prepare(j->cf, j->pieces, j->n, &j->why);
    return NULL;
}

/* Replaces the configuration with the run's edits. While the new version
 * is written beside the file (and fsync'ed) and its digest computed, on
 * the other core, the journal records the digests before and after; only
 * then does the new version take the file's place. 1 when it is written,
 * 0 when not (with a message), CONFIGFILE_CHANGED when another tool wrote
 * the file since it was read (nothing written, no message). */
int write_config(struct session *s, struct systems *sys, struct apphost *ah, struct configfile *cf)
{
    size_t mark = s->rep.errors.count, n, out_len, orig_len;
    struct iovec *pieces = render_config(s, ah, &n, &out_len);
    if (!pieces)
        return 0;
    /* The replace goes in the journal when the run announced something
     * else before it (accounts, folders, descriptors: their undo or redo
     * depends on whether the replace happened), and always over SMB (whose
     * replace is two renames: recovery puts a file back). A local replace
     * alone is one atomic rename: the file is old or new, nothing to
     * recover, and its journal, digests and fsyncs are skipped. */
    bool journaled = journal_announced(sys->journal) || cf->smb;
    struct sha256_job *new_digest = journaled ? sha256_start(pieces, n) : NULL;
    struct prepare_job job = {.cf = cf, .pieces = pieces, .n = n};
    diag_init(&job.why);
    job.threaded = pthread_create(&job.thread, NULL, prepare_run, &job) == 0;
    if (!job.threaded)
        prepare_run(&job);
    char *backup = NULL;
    int announced = 0;
    if (journaled) {
        char old_hash[65], new_hash[65];
        sha256_finish(new_digest, new_hash);
        apphost_original_sha256(ah, old_hash);
        /* Announced while the new version is still being written: should
         * that write fail, the record names a replace that never happened,
         * which recovery reads as "not committed" (the file still has old). */
        journal_add(sys->journal, "config-replace", "-", "old", old_hash, "new", new_hash, NULL);
        announced = journal_commit(sys->journal, &s->rep.errors);
    }
    if (cf->smb)
        smb_set_replace_hook(cf->smb, replace_step, NULL);
    uint64_t t = timing_start();
    if (job.threaded)
        pthread_join(job.thread, NULL);
    timing_stop(TIMING_CONFIG_WRITE, t);
    free(pieces);
    for (size_t i = 0; i < job.why.count; i++)
        diag_add(&s->rep.errors, "%s", job.why.msgs[i]);
    diag_free(&job.why);
    if (classified(job.rc, &s->rep.errors, mark, DIAG_IIS, s->conf.iis_config) < 0 ||
        classified(announced, &s->rep.errors, mark, DIAG_INTERNAL, "journal") < 0 ||
        classified(fault_point("config", &s->rep.errors), &s->rep.errors, mark, DIAG_INTERNAL,
                   s->conf.iis_config) < 0) {
        configfile_discard(cf);
        return 0;
    }
    const char *orig = apphost_original(ah, &orig_len);
    t = timing_start();
    int rc = configfile_commit(cf, orig, orig_len, s->conf.backups, &backup, &s->rep.errors);
    timing_stop(TIMING_CONFIG_WRITE, t);
    if (rc == CONFIGFILE_CHANGED)
        return rc;
    if (classified(rc, &s->rep.errors, mark, DIAG_IIS, s->conf.iis_config) < 0)
        return 0;
    /* No fsync of its own: recovery tells a committed write from the file's
     * digest; the next commit takes it to the disk. */
    if (journaled) {
        journal_add(sys->journal, "config-committed", "-", NULL);
        journal_write(sys->journal, &s->rep.errors);
    }
    journal_audit(sys->journal, "-", "write-config", s->conf.iis_config, "done");
    fault_point("committed", &s->rep.errors);
    if (backup)
        diag_add(&s->rep.notes, "backup: %s", backup);
    free(backup);
    return 1;
}

/* Moves the messages of from to the end of to (from is freed). */
static void take_messages(struct diag *to, struct diag *from)
{
    for (size_t i = 0; i < from->count; i++)
        diag_add(to, "%s", from->msgs[i]);
    diag_free(from);
}

/* The config as another tool left it, loaded. A file read while that tool
 * was still writing it in place (not well-formed) is read again for about
 * two seconds before it counts as malformed. NULL with a message. */
static struct apphost *reload_config(struct session *s, struct run *r)
{
    for (int attempt = 1;; attempt++) {
        char *text;
        size_t len;
        struct diag why;
        diag_init(&why);
        if (configfile_reread(&r->cf, &text, &len, &why) < 0) {
            take_messages(&s->rep.errors, &why);
            return NULL;
        }
        struct apphost *ah = apphost_load(text, len, s->conf.iis_config, &why);
        if (ah || attempt == 20) {
            take_messages(&s->rep.errors, &why);
            return ah;
        }
        diag_free(&why);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* Whether the bytes of one object differ between two loads of the file. */
static bool object_changed(const struct apphost *a, const struct apphost *b, const char *kind,
                           const char *name)
{
    const char *x, *y;
    size_t xl, yl;
    bool in_a = apphost_object_bytes(a, kind, name, &x, &xl);
    bool in_b = apphost_object_bytes(b, kind, name, &y, &yl);
    return in_a != in_b || (in_a && (xl != yl || memcmp(x, y, xl) != 0));
}

/* Another tool wrote the config between this run's read and its write.
 * When that change leaves alone every object the run changes (its sites,
 * their pools and locations) and the defaults new sites take, the run's
 * IIS edits are made again on the new content (the same rule as for a
 * saved plan: apply --plan) and the write is tried again; otherwise the
 * run stops naming the object. 0 to try again, -1 with a message. */
int merge_other_change(struct session *s, struct run *r)
{
    struct apphost *now = reload_config(s, r);
    if (!now)
        return -1;
    /* The file as this run read it, without the run's edits (they change
     * the index: a destroyed site's location is gone from it). */
    size_t orig_len;
    const char *orig = apphost_original(r->ah, &orig_len);
    char *copy = xmalloc(orig_len + 1);
    memcpy(copy, orig, orig_len + 1);
    struct diag ignored;
    diag_init(&ignored);
    struct apphost *before = apphost_load(copy, orig_len, s->conf.iis_config, &ignored);
    diag_free(&ignored);
    if (!before) { /* it loaded once: cannot happen */
        apphost_free(now);
        return -1;
    }
    const char *conflict_kind = NULL, *conflict_name = NULL;
    static const char *const defaults[] = {"site", "application", "pool"};
    for (size_t i = 0; i < 3 && !conflict_kind; i++)
        if (object_changed(before, now, "defaults", defaults[i]))
            conflict_kind = "defaults", conflict_name = defaults[i];
    for (size_t i = 0; i < s->n_models && !conflict_kind; i++) {
        const struct site_model *m = &s->models[i];
        if (s->rep.sites[i].status != SITE_CHANGED)
            continue;
        if (object_changed(before, now, "site", m->site.name))
            conflict_kind = "site", conflict_name = m->site.name;
        else if (object_changed(before, now, "pool", m->pool.name))
            conflict_kind = "pool", conflict_name = m->pool.name;
        else if (object_changed(before, now, "location", m->site.name))
            conflict_kind = "location", conflict_name = m->site.name;
    }
    if (conflict_kind) {
        size_t mark = s->rep.errors.count;
        diag_add(&s->rep.errors,
                 "%s: another tool changed %s %s since this run read the file; nothing was "
                 "written (run again to plan against the new content)",
                 s->conf.iis_config, conflict_kind, conflict_name);
        diag_classify(&s->rep.errors, mark, DIAG_IIS, s->conf.iis_config);
        apphost_free(now);
        apphost_free(before);
        return -1;
    }
    apphost_free(before);
    static const char *const iis_kinds[] = {"site", "pool", "location", NULL};
    int rc = 0;
    for (size_t i = 0; i < s->n_models && rc == 0; i++) {
        struct site_model *m = &s->models[i];
        struct site_report *sr = &s->rep.sites[i];
        if (sr->status != SITE_CHANGED)
            continue;
        struct changes again;
        changes_init(&again);
        size_t mark = sr->errors.count;
        if (r->mode == MODE_DESTROY) {
            rc = apphost_remove_site(now, m->site.name, m->pool.name, &again, &sr->errors);
        } else {
            struct iis_pool_spec pool = m->pool;
            pool.password = r->steps[i].password;
            rc = apphost_ensure_site(now, &pool, &m->site, &again, &sr->errors);
        }
        if (rc < 0) {
            diag_add(&sr->errors,
                     "site '%s': internal error: its edits did not apply again to the file "
                     "another tool changed elsewhere; nothing was written",
                     m->name);
            diag_classify(&sr->errors, mark, DIAG_INTERNAL, m->name);
            changes_free(&again);
        } else {
            changes_replace_kinds(&sr->changes, iis_kinds, &again); /* ids may differ now */
        }
    }
    if (rc < 0) {
        apphost_free(now);
        return -1;
    }
    apphost_free(r->ah);
    r->ah = now;
    diag_add(&s->rep.notes,
             "%s: another tool changed other parts of the file while this run wrote it: "
             "this run's edits were made again on the new content",
             s->conf.iis_config);
    return 0;
}
