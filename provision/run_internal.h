/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Between the command files: the one engine that validate, plan, apply and
 * destroy share (run.c), and the saved plans built on it (cmd_plan_apply.c). */
#ifndef PROVISION_RUN_INTERNAL_H
#define PROVISION_RUN_INTERNAL_H

#include "provision/planfile.h"
#include "provision/run.h"

enum mode { MODE_VALIDATE, MODE_PLAN, MODE_APPLY, MODE_DESTROY };

/* Runs one command over the site lists. With capture (plan only), records
 * the plan's dependencies and changes there; quiet prints only errors. */
int run_sites(const struct options *o, int n, char **lists, enum mode mode,
              struct planfile *capture, bool quiet);

#endif
