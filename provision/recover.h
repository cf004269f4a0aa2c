/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Recovery of interrupted runs from their journals (journal.h): every site
 * of the run ends as before the run or as planned, never half.
 *
 * The commit point of a run is the replace of applicationHost.config:
 * - apply, not committed: each site is rolled back, its records undone in
 *   reverse (descriptors written back to their before bytes, folders it
 *   created removed when empty, accounts it created deleted when they
 *   carry this site's marker);
 * - apply, committed: rolled forward: password rotations are set on the
 *   accounts from the passwords the file now holds, and the secrets file is
 *   written;
 * - destroy, committed: rolled forward: the site's grants are removed (and
 *   its empty folders with --remove-folders), its marked account deleted;
 *   not committed: nothing had been done.
 * "Committed" is a `config-committed` record, or else the file's SHA-256
 * equals the `new` one announced by `config-replace`; when it matches
 * neither (someone wrote the file after the crash), the run counts as
 * committed when every site of it is in the file.
 * Sites the run itself undid (site-undone) or finished (site-done) are left
 * alone; site-failed ones (their undo did not finish) are rolled back.
 * Every action is idempotent: recovery may itself be interrupted and run
 * again. */
#ifndef PROVISION_RECOVER_H
#define PROVISION_RECOVER_H

#include "provision/conf.h"
#include "provision/journal.h"
#include "provision/util.h"

/* Recovers one journal. What it did goes to notes, problems to d. own:
 * the run that wrote it is this process (a run taking back its own
 * changes after its write failed); the notes say so. Returns 0 when the
 * journal was finished and removed, -1 when it stays (messages say why;
 * run `provision recover` again once the cause is fixed). */
int recover_journal(struct journal_file *f, const struct conf *c, const char *state_dir, bool own,
                    struct diag *notes, struct diag *d);

/* The targets of this configuration (pointers into c and buf). */
void recover_targets(const struct conf *c, struct journal_targets *t, char *buf, size_t buflen);

/* Recovers every waiting journal of c's targets. Journals of other targets
 * and of runs still going are left alone (a note says so when
 * `mention_others`). 0, or -1 when one could not be recovered. */
int recover_pending(const struct conf *c, const char *state_dir, bool mention_others,
                    struct diag *notes, struct diag *d);

#endif
