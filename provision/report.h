/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a run says: per site its changes (+ created, ~ changed, - removed)
 * and errors, for people or as one JSON document (--json). Secrets are
 * never printed: secret attributes show as "(secret)". */
#ifndef PROVISION_REPORT_H
#define PROVISION_REPORT_H

#include "provision/change.h"
#include "provision/util.h"

#include <stdio.h>

enum site_status { SITE_UNCHANGED, SITE_CHANGED, SITE_FAILED };

struct site_report {
    char *name;
    enum site_status status;
    struct changes changes;
    struct diag errors;
};

struct report {
    const char *command; /* plan, apply, destroy, validate */
    bool json;
    int verbosity; /* -1 quiet, 0 normal, 1 verbose */
    bool dry_run;  /* plan: nothing was changed */
    struct site_report *sites;
    size_t n_sites;
    struct diag errors; /* not tied to one site */
    struct diag notes;  /* informational lines (e.g. the backup written) */
};

void report_init(struct report *r, const char *command, bool json, int verbosity);
struct site_report *report_site(struct report *r, const char *name);
void report_free(struct report *r);
/* Prints the whole report to out (human text or JSON). */
void report_print(const struct report *r, FILE *out);
/* Prints collected errors, for commands that stop before any site. */
void report_errors(const struct report *r, FILE *err);

/* JSON string with escapes. */
void json_string(FILE *out, const char *s);

#endif
