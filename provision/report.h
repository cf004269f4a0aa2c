/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a run says: per site its changes (+ created, ~ changed, - removed)
 * and errors, for people or as one JSON document (--json). Secrets are
 * never printed: secret attributes show as "(secret)". */
#ifndef PROVISION_REPORT_H
#define PROVISION_REPORT_H

#include "provision/change.h"
#include "provision/util.h"

#include <stdio.h>

/* The --json document's format: {"version":1,"command","dry_run",
 * "sites":[{"name","status","changes":[{"op","action","kind","object",
 * "note"?,"attributes":[{"name","old","new"} or {"name","secret":true}]}],
 * "steps":[{"kind","action","object","state"}],"errors":[ERROR]}],"summary":{"create","change","remove"},
 * "errors":[ERROR],"notes":[string]}; ERROR = {"class","object","message"}
 * with class one of util.h's diag_class names. */
#define REPORT_JSON_VERSION 1

enum site_status { SITE_UNCHANGED, SITE_CHANGED, SITE_FAILED };

/* One step of a site's plan, in the order a run takes them (account,
 * folders and grants, IIS configuration), and what became of it. */
struct site_step {
    char *kind;        /* "account", "folders", "iis" */
    char *action;      /* "create", "rotate", "delete", "apply", "remove" */
    char *object;      /* the account, the site */
    const char *state; /* "pending" (plan), "done", "undone", "failed" */
};

struct site_report {
    char *name;
    enum site_status status;
    struct changes changes;
    struct diag errors;
    struct site_step *steps;
    size_t n_steps;
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
/* Adds a step to a site (state "pending"). */
void report_step(struct site_report *s, const char *kind, const char *action, const char *object);
/* Sets the state of every step of a site. */
void report_steps_state(struct site_report *s, const char *state);
/* Prints the whole report to out (human text or JSON). */
void report_print(const struct report *r, FILE *out);
/* Prints collected errors, for commands that stop before any site. */
void report_errors(const struct report *r, FILE *err);

/* s for a terminal: control characters (ESC, BEL, CR, ...) as \xNN, so
 * that input cannot drive the terminal; s itself when it has none. Valid
 * until eight more calls. */
const char *report_visible(const char *s);

/* JSON string with escapes. */
void json_string(FILE *out, const char *s);

#endif
