/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sid: the SID of a well-known name, IIS AppPool\NAME, or a domain
 * account (looked up in the directory of the configuration). */
#include "provision/accounts.h"
#include "provision/conf.h"
#include "provision/ntfs/sid.h"
#include "provision/report.h"
#include "provision/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int run_sid(const struct options *o, int n, char **names)
{
    int rc = EXIT_DONE;
    struct conf c;
    bool have_conf = false;
    struct account_run *accts = NULL;
    struct diag d, warnings;
    diag_init(&d);
    diag_init(&warnings);
    if (o->json)
        printf("{\"version\":%d,\"sids\":[", REPORT_JSON_VERSION);
    for (int i = 0; i < n; i++) {
        struct ntfs_sid sid;
        char text[NTFS_SID_STRING_MAX];
        char *found = NULL;
        if (ntfs_sid_resolve_builtin(names[i], &sid) == 0) {
            ntfs_sid_format(&sid, text, sizeof text);
        } else if (strchr(names[i], '\\') || strchr(names[i], '@')) {
            /* A domain account: ask the directory of the configuration. */
            if (!have_conf && !accts) {
                have_conf = conf_load(o->conf_path, &c, &d) == 0;
                if (have_conf)
                    accts = accounts_open(&c, &d, &warnings);
            }
            if (!accts || accounts_lookup_sid(accts, names[i], &found, &d) < 0) {
                for (size_t k = 0; k < d.count; k++)
                    fprintf(stderr, "provision: %s\n", d.msgs[k]);
                diag_free(&d);
                diag_init(&d);
                rc = EXIT_FAILED;
                continue;
            }
            snprintf(text, sizeof text, "%s", found);
            free(found);
        } else {
            fprintf(stderr,
                    "provision: sid: '%s' is not a SID, a well-known name, IIS AppPool\\NAME "
                    "or DOMAIN\\name\n",
                    names[i]);
            rc = EXIT_USAGE;
            continue;
        }
        if (o->json) {
            printf("%s{\"name\":", i ? "," : "");
            json_string(stdout, names[i]);
            printf(",\"sid\":\"%s\"}", text);
        } else {
            printf("%s\t%s\n", names[i], text);
        }
    }
    if (o->json)
        printf("]}\n");
    for (size_t k = 0; k < warnings.count; k++)
        fprintf(stderr, "provision: %s\n", warnings.msgs[k]);
    diag_free(&warnings);
    accounts_close(accts);
    if (have_conf)
        conf_free(&c);
    diag_free(&d);
    return rc;
}
