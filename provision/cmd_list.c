/* SPDX-License-Identifier: GPL-3.0-or-later */
/* list: the sites of the IIS configuration with their pool, identity,
 * path, anonymous identity and bindings (reads only). */
#include "provision/conf.h"
#include "provision/iis/apphost.h"
#include "provision/iis/configfile.h"
#include "provision/journal.h"
#include "provision/report.h"
#include "provision/run.h"
#include "provision/run_internal.h"

#include <stdio.h>
#include <stdlib.h>

struct list_state {
    const struct options *o;
    size_t n;
};

static void list_one(const struct iis_site_info *info, void *arg)
{
    struct list_state *st = arg;
    if (st->o->json) {
        printf("%s{\"name\":", st->n ? "," : "");
        json_string(stdout, info->name);
        printf(",\"id\":%lu,\"pool\":", info->id);
        json_string(stdout, info->pool);
        printf(",\"identity\":");
        json_string(stdout, info->identity);
        printf(",\"identity_user\":");
        json_string(stdout, info->identity_user);
        printf(",\"physical_path\":");
        json_string(stdout, info->physical_path);
        printf(",\"anonymous_user\":");
        json_string(stdout, info->anonymous_user);
        printf(",\"bindings\":[");
        for (size_t i = 0; i < info->n_bindings; i++) {
            if (i)
                putchar(',');
            json_string(stdout, info->bindings[i]);
        }
        printf("]}");
    } else {
        printf("%-30s %5lu  %-24s %s%s%s\n", report_visible(info->name), info->id,
               report_visible(info->pool), report_visible(info->identity),
               info->identity_user ? " " : "",
               info->identity_user ? report_visible(info->identity_user) : "");
        printf("%-30s        path %s; anonymous %s\n", "", report_visible(info->physical_path),
               *info->anonymous_user ? report_visible(info->anonymous_user) : "(pool identity)");
        for (size_t i = 0; i < info->n_bindings; i++)
            printf("%-30s        %s\n", "", report_visible(info->bindings[i]));
    }
    st->n++;
}

struct apphost *read_iis_config(const struct conf *c, struct diag *d)
{
    struct configfile cf;
    struct apphost *ah = NULL;
    struct smb_options iis_smb = {.auth_file = c->iis_auth_file,
                                  .kerberos = c->iis_kerberos,
                                  .timeout_ms = c->iis_timeout_ms};
    if (configfile_open(&cf, c->iis_config, &iis_smb, NULL, d) == 0) {
        size_t len;
        char *text = configfile_take(&cf, &len);
        ah = apphost_load(text, len, c->iis_config, d);
        configfile_close(&cf);
    }
    return ah;
}

int run_list(const struct options *o)
{
    struct diag d;
    diag_init(&d);
    struct conf c;
    if (conf_load(o->conf_path, &c, &d) < 0) {
        for (size_t i = 0; i < d.count; i++)
            fprintf(stderr, "provision: %s\n", report_visible(d.msgs[i]));
        conf_free(&c);
        diag_free(&d);
        return EXIT_USAGE;
    }
    struct apphost *ah = read_iis_config(&c, &d);
    int rc = EXIT_DONE;
    /* list never recovers; it says when a journal waits. */
    char *waiting = journal_waiting_note(c.state_dir);
    if (!ah) {
        for (size_t i = 0; i < d.count; i++)
            fprintf(stderr, "provision: %s\n", report_visible(d.msgs[i]));
        rc = EXIT_FAILED;
    } else {
        struct list_state st = {o, 0};
        if (o->json)
            printf("{\"version\":%d,\"sites\":[", REPORT_JSON_VERSION);
        apphost_list(ah, list_one, &st);
        if (o->json) {
            printf("],\"notes\":[");
            if (waiting)
                json_string(stdout, waiting);
            printf("]}\n");
        } else if (o->verbosity >= 0) {
            printf("%zu site%s\n", st.n, st.n == 1 ? "" : "s");
        }
    }
    if (waiting && !o->json && o->verbosity >= 0)
        fprintf(stderr, "provision: note: %s\n", waiting);
    free(waiting);
    apphost_free(ah);
    conf_free(&c);
    diag_free(&d);
    return rc;
}
