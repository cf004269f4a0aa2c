/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The state folder, the write-ahead journal of a run and the audit log.
 *
 * State folder: `[state] dir` in the configuration, else $PROVISION_STATE_DIR,
 * else /var/lib/provision. Created 0700; refused when it is a symbolic link,
 * not a folder, owned by someone else or writable by group or others.
 *
 *   STATE/journals/RUNID.journal   one per run that changes something
 *   STATE/audit.log                one JSON line per step executed, kept
 *
 * Journal format (version 1), one record per line, fields separated by TAB,
 * TAB, LF and backslash escaped as \t \n \\:
 *   provision-journal  1
 *   TYPE  SITE  KEY=VALUE ...
 * SITE is "-" for records of the whole run. Records a run writes (see
 * recover.h for what recovery does with each):
 *   begin       -  run= pid= command= time= config= content= directory= remove_folders=
 *   account-create   SITE sam= pool= user=   before the LDAP add
 *   account-rotate   SITE sam= pool= user=   the new password is in the config
 *   account-delete   SITE sam=          destroy, after the config is written
 *   mkdir      SITE rel=                before a folder is created
 *   mkdir-existed SITE rel=             it was there already: not ours
 *   sd         SITE rel= old= new=      before a descriptor write (hex bytes)
 *   rmdir      SITE rel= old=           before an empty folder is removed
 *   grant      SITE rel= ace= protect=  destroy: a grant to take away (SDDL ACE)
 *   site-undone / site-failed / site-done SITE   the run's own outcome
 *   config-replace - old= new=          SHA-256 of the file before and after
 *   config-committed -                  the new file is in place
 *   end -
 * A record reaches the disk (fsync) before the effect it announces starts;
 * several records may share one fsync (journal_commit). The file itself
 * (as RUNID.journal.new until then) reaches the disk with the first record
 * that announces something, its begin with it: a run that changes nothing
 * leaves no journal and costs no fsync. Records never hold
 * a password. The running process holds an flock on its journal: a journal
 * nobody holds belongs to a dead run. */
#ifndef PROVISION_JOURNAL_H
#define PROVISION_JOURNAL_H

#include "provision/util.h"

#include <stdbool.h>
#include <stddef.h>

#define JOURNAL_VERSION 1
#define AUDIT_VERSION   1

/* The state folder's path as configured (see above), without touching it. */
const char *state_dir_path(const char *configured);
/* A note saying that journals wait in that folder (caller frees), or NULL
 * when none does. For the commands that only read. */
char *journal_waiting_note(const char *configured);

/* Resolves and prepares the state folder (see above). Returns the path
 * (caller frees) or NULL with a message. */
char *state_dir_open(const char *configured, struct diag *d);

/* What a run works on: a journal is recovered only by a run whose
 * configuration names the same targets. */
struct journal_targets {
    const char *config;    /* [iis] config */
    const char *content;   /* [content] location, or NULL */
    const char *directory; /* [directory] uri and base_dn, or NULL */
};

struct journal;

/* Creates STATE/journals/RUNID.journal.new and queues `begin` (on disk
 * with the first commit of something more). NULL with a message. */
struct journal *journal_begin(const char *state_dir, const char *command,
                              const struct journal_targets *t, bool remove_folders, struct diag *d);
const char *journal_run_id(const struct journal *j);
const char *journal_path(const struct journal *j);
/* Queues a record: key/value pairs, ended by NULL. Not on disk until
 * journal_commit. */
void journal_add(struct journal *j, const char *type, const char *site, ...)
    __attribute__((sentinel));
/* Writes the queued records and fsyncs. 0, or -1 with a message (the
 * effects they announce must then not start; nor may any later one). */
int journal_commit(struct journal *j, struct diag *d);
/* Writes them without the fsync: for records that announce nothing, whose
 * loss at a power cut recovery can do without (config-committed: it can
 * tell from the file's digest). A killed process loses nothing written.
 * Before the first commit it writes nothing: they wait for one, if any. */
int journal_write(struct journal *j, struct diag *d);
/* True once something was announced (a record beyond begin is on disk):
 * only then can there be anything to recover. */
bool journal_announced(const struct journal *j);
/* The run is over: writes `end` and removes the journal. NULL is fine. */
void journal_finish(struct journal *j);
/* The run stops with work left for `provision recover`: the journal stays,
 * all of it on disk. */
void journal_abandon(struct journal *j);

/* One line in STATE/audit.log: {"v":1,"time":...,"run":...,"site":...,
 * "step":...,"object":...,"result":...}. Never a secret. */
void audit_log(const char *state_dir, const char *run_id, const char *site, const char *step,
               const char *object, const char *result);
/* The same through a run's journal (its folder and run id). */
void journal_audit(struct journal *j, const char *site, const char *step, const char *object,
                   const char *result);

/* ---- reading ---------------------------------------------------------- */

struct journal_record {
    char *type, *site;
    char **keys, **values;
    size_t n;
};
/* The value of key, or NULL. */
const char *journal_get(const struct journal_record *r, const char *key);

struct journal_file {
    char *path;
    int fd; /* holds the flock while loaded */
    struct journal_record *records;
    size_t n;
    const struct journal_record *begin; /* records[0] */
};

/* Loads every journal of a dead run in STATE/journals (the ones nobody
 * holds), taking their locks. *live counts the journals of runs still
 * going. A journal that cannot be read is an error naming it. 0 or -1. */
int journal_scan(const char *state_dir, struct journal_file **out, size_t *n, size_t *live,
                 struct diag *d);
/* The records of a journal's text (f->path names it in messages; the
 * caller sets it): for journal_load and the fuzz target. 0 or -1. */
int journal_parse(struct journal_file *f, const char *data, size_t len, struct diag *d);
/* Loads one journal (taking its lock). 0, 1 when another process holds
 * it, -1 with a message. */
int journal_load(const char *path, struct journal_file *out, struct diag *d);
/* Counts the waiting journals without loading or locking them (for the
 * commands that only read). */
size_t journal_count_waiting(const char *state_dir);
/* True when the journal's targets are these. */
bool journal_same_targets(const struct journal_file *f, const struct journal_targets *t);
/* Appends records to a loaded journal (recovery's own progress), on disk
 * when it returns. 0 or -1. */
int journal_file_append(struct journal_file *f, const char *type, const char *site, struct diag *d,
                        ...) __attribute__((sentinel));
/* Removes the file and releases it. */
void journal_file_remove(struct journal_file *f);
void journal_file_free(struct journal_file *f);

/* Bytes as lowercase hex (caller frees) and back (0 or -1). */
char *hex_encode(const unsigned char *p, size_t n);
int hex_decode(const char *s, unsigned char **out, size_t *n);

#endif
