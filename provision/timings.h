/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Where a run's time goes (`--timings`): the wall time and number of calls
 * spent on each outside system and on the run's own heavy steps, printed on
 * stderr when the run ends. For operators who schedule the nightly
 * convergence run and want to know what it waits on. Off unless enabled;
 * then one measure costs two clock reads. Single-threaded callers only. */
#ifndef PROVISION_TIMINGS_H
#define PROVISION_TIMINGS_H

#include <stdint.h>
#include <stdio.h>

enum timing {
    TIMING_CONFIG_READ,     /* applicationHost.config locked and read */
    TIMING_CONFIG_INDEX,    /* ... checked (libxml2) and indexed */
    TIMING_DIRECTORY_READ,  /* LDAP: connect, bind, look-ups, account state */
    TIMING_CONTENT_READ,    /* folders looked up, descriptors read, listings */
    TIMING_DIRECTORY_WRITE, /* LDAP: accounts added, changed, removed */
    TIMING_CONTENT_WRITE,   /* folders made or removed, descriptors written */
    TIMING_CONFIG_WRITE,    /* the new config written beside, compared, swapped */
    TIMING_JOURNAL,         /* journal writes and their fsyncs */
    TIMING_COUNT
};

void timings_enable(void);
/* A start time to give timing_stop, or 0 when timings are off. */
uint64_t timing_start(void);
/* Adds the time since started (and one call) to t. */
void timing_stop(enum timing t, uint64_t started);
/* For a measure that another one interrupts (the directory's adds while
 * a site's folders are made): adds the time so far to t without counting a
 * call, and *started starts again at timing_resume. */
void timing_pause(enum timing t, uint64_t *started);
void timing_resume(uint64_t *started);
/* The table, with the run's whole time and what no row covers. */
void timings_print(FILE *out);

#endif
