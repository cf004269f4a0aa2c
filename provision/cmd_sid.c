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

/* One name's answer: its SID, or the messages saying why there is none. */
static void print_one(const struct options *o, bool *first, const char *name, const char *sid,
                      const struct diag *why)
{
    if (!o->json) {
        if (sid)
            printf("%s\t%s\n", report_visible(name), sid);
        for (size_t k = 0; why && k < why->count; k++)
            fprintf(stderr, "provision: %s\n", report_visible(why->msgs[k]));
        return;
    }
    printf("%s{\"name\":", *first ? "" : ",");
    *first = false;
    json_string(stdout, name);
    if (sid) {
        printf(",\"sid\":\"%s\"}", sid);
        return;
    }
    printf(",\"errors\":[");
    for (size_t k = 0; why && k < why->count; k++) {
        printf("%s{\"class\":\"%s\",\"object\":", k ? "," : "",
               diag_class_name((enum diag_class)why->classes[k]));
        json_string(stdout, why->objects[k]);
        printf(",\"message\":");
        json_string(stdout, why->msgs[k]);
        putchar('}');
    }
    printf("]}");
}

int run_sid(const struct options *o, int n, char **names)
{
    int rc = EXIT_DONE;
    struct conf c;
    bool conf_tried = false, have_conf = false, first = true;
    struct account_run *accts = NULL;
    struct diag conf_errors, warnings;
    diag_init(&conf_errors);
    diag_init(&warnings);
    if (o->json)
        printf("{\"version\":%d,\"sids\":[", REPORT_JSON_VERSION);
    for (int i = 0; i < n; i++) {
        struct ntfs_sid sid;
        char text[NTFS_SID_STRING_MAX];
        struct diag why;
        diag_init(&why);
        if (ntfs_sid_resolve_builtin(names[i], &sid) == 0) {
            ntfs_sid_format(&sid, text, sizeof text);
            print_one(o, &first, names[i], text, NULL);
        } else if (strchr(names[i], '\\') || strchr(names[i], '@')) {
            /* A domain account: ask the directory of the configuration,
             * opened once for all the names. */
            if (!conf_tried) {
                conf_tried = true;
                have_conf = conf_load(o->conf_path, &c, &conf_errors) == 0;
                diag_classify(&conf_errors, 0, DIAG_CONFIG, o->conf_path);
                if (have_conf)
                    accts = accounts_open(&c, &conf_errors, &warnings);
                diag_classify(&conf_errors, 0, DIAG_DIRECTORY, NULL);
            }
            char *found = NULL;
            if (!accts) {
                diag_add(&why, "sid: '%s' needs the directory, which is not available%s", names[i],
                         conf_errors.count ? ":" : "");
                for (size_t k = 0; k < conf_errors.count; k++)
                    diag_add(&why, "%s", conf_errors.msgs[k]);
                diag_classify(&why, 0, DIAG_DIRECTORY, names[i]);
                rc = rc == EXIT_USAGE ? rc : EXIT_FAILED;
            } else if (accounts_lookup_sid(accts, names[i], &found, &why) < 0) {
                diag_classify(&why, 0, DIAG_DIRECTORY, names[i]);
                rc = rc == EXIT_USAGE ? rc : EXIT_FAILED;
            }
            print_one(o, &first, names[i], found, &why);
            free(found);
        } else {
            diag_add(&why,
                     "sid: '%s' is not a SID, a well-known name, IIS AppPool\\NAME or "
                     "DOMAIN\\name",
                     names[i]);
            diag_classify(&why, 0, DIAG_INPUT, names[i]);
            print_one(o, &first, names[i], NULL, &why);
            rc = EXIT_USAGE;
        }
        diag_free(&why);
    }
    if (o->json) {
        printf("],\"notes\":[");
        for (size_t k = 0; k < warnings.count; k++) {
            if (k)
                putchar(',');
            json_string(stdout, warnings.msgs[k]);
        }
        printf("]}\n");
    } else {
        for (size_t k = 0; k < warnings.count; k++)
            fprintf(stderr, "provision: %s\n", report_visible(warnings.msgs[k]));
    }
    diag_free(&warnings);
    diag_free(&conf_errors);
    accounts_close(accts);
    if (have_conf)
        conf_free(&c);
    return rc;
}
