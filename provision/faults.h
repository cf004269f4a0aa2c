/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Where a run may stop early: the SIGINT/SIGTERM flag (a run stops at the
 * next step boundary and undoes the current site) and, for the crash and
 * fault tests only, injected failures and kills at named points.
 *
 * PROVISION_TEST_HOOK = ACTION:POINT:N[,ACTION:POINT:N...]
 *   ACTION  crash (SIGKILL to itself), fail (an internal error: the step
 *           fails with "injected fault", the site is undone), signal
 *           (SIGINT to itself, as if Ctrl-C was pressed there) or stop
 *           (SIGSTOP to itself: the test acts, e.g. edits the config as
 *           another tool would, then sends SIGCONT)
 *   POINT   account (each site's account, before the adds), accounts (the
 *           batch of adds, after the journal has them), mkdir, sd (each
 *           descriptor write), site (a site's IIS edits), render (the
 *           new config's text: fail stands for an internal error there,
 *           such as two overlapping edits), config (before the replace), swap (over smb://, between
 * its two renames, when no applicationHost.config exists), committed (after it), rotate (a password
 * set after the write), delete (destroy's grants and account after the write), rmdir, recover
 * (between two recovery actions) N       the Nth time that point is reached (1 = the first) Meant
 * for tests: it is read again whenever its value changed, the counts then starting from zero. */
#ifndef PROVISION_FAULTS_H
#define PROVISION_FAULTS_H

#include "provision/util.h"

#include <stdbool.h>

/* Installs the SIGINT/SIGTERM handlers of a run that changes things. */
void interrupt_install(void);
/* True once SIGINT or SIGTERM arrived. */
bool interrupted(void);

/* A named point of a run: 0 to go on; -1 when an injected fault (or an
 * interrupt, for the points inside a site) says to stop, with a message in
 * d. Crash actions do not return. */
int fault_point(const char *point, struct diag *d);

#endif
