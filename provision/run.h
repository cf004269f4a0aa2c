/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The commands, one function each (main.c's table maps names to them):
 * validate and destroy in run.c (with the engine they share with plan and
 * apply), plan and apply in cmd_plan_apply.c (saved plans), list in
 * cmd_list.c, sid in cmd_sid.c, recover in cmd_recover.c, check in
 * cmd_check.c. Each returns the exit status: 0 done (or nothing to do),
 * 1 failed, 2 bad usage or input, 3 some sites failed and the rest were
 * done (check: 4 findings). */
#ifndef PROVISION_RUN_H
#define PROVISION_RUN_H

#include <stdbool.h>

enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3, EXIT_FINDINGS = 4 };

struct options {
    const char *conf_path;
    bool json;
    int verbosity;         /* -1 quiet, 0, 1 verbose */
    bool rotate_passwords; /* apply: new passwords for the sites' accounts */
    bool remove_folders;   /* destroy: also remove the sites' folders when empty */
    const char *plan_out;  /* plan -o FILE: write the plan there; import -o FILE: the list */
    const char *plan_in;   /* apply --plan FILE: execute that saved plan */
    bool sites_from_lists; /* check --sites: the arguments are site lists */
    bool deep;             /* plan, apply, check --deep: also what lies below the folders */
    bool prove;            /* check --prove: the accesses tried over SMB as the pool account */
};

int run_validate(const struct options *o, int n, char **lists);
int run_plan(const struct options *o, int n, char **lists);
int run_apply(const struct options *o, int n, char **lists);
int run_destroy(const struct options *o, int n, char **lists);
int run_list(const struct options *o);
int run_sid(const struct options *o, int n, char **names);
/* check (cmd_check.c): 0 nothing found, 4 findings, 3 some sites could not
 * be checked, 1 failed, 2 bad input. */
int run_check(const struct options *o, int n, char **names);
/* import (cmd_import.c): a site list describing existing sites. */
int run_import(const struct options *o, int n, char **names);
/* Brings the sites of interrupted runs (journals in the state folder whose
 * targets are this configuration's) to "as before" or "as planned". */
int run_recover(const struct options *o);

#endif
