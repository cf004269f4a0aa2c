/* SPDX-License-Identifier: GPL-3.0-or-later */
/* recover: finishes the interrupted runs whose journals wait in the state
 * folder and whose targets are this configuration's (recover.h). */
#include "provision/conf.h"
#include "provision/journal.h"
#include "provision/recover.h"
#include "provision/report.h"
#include "provision/run.h"

#include <stdio.h>
#include <stdlib.h>

int run_recover(const struct options *o)
{
    struct report rep;
    report_init(&rep, "recover", o->json, o->verbosity);
    struct conf c;
    int rc = EXIT_DONE;
    if (conf_load(o->conf_path, &c, &rep.errors) < 0) {
        rc = EXIT_USAGE;
    } else {
        char *state = state_dir_open(c.state_dir, &rep.errors);
        if (!state || recover_pending(&c, state, true, &rep.notes, &rep.errors) < 0)
            rc = EXIT_FAILED;
        else if (!rep.notes.count)
            diag_add(&rep.notes, "nothing to recover");
        free(state);
    }
    conf_free(&c);
    if (o->json) {
        report_print(&rep, stdout);
    } else {
        report_errors(&rep, stderr);
        for (size_t i = 0; i < rep.notes.count && o->verbosity >= 0; i++)
            printf("%s\n", report_visible(rep.notes.msgs[i]));
    }
    report_free(&rep);
    return rc;
}
