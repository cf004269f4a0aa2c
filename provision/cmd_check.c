/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check: opens what check.c reads (the IIS configuration, the content
 * location, the directory only when a domain account's SID is needed) and
 * prints its findings: for people, short enough to paste into a ticket;
 * with --json, one document. Reads only. */
#include "provision/accounts.h"
#include "provision/check.h"
#include "provision/check_prove.h"
#include "provision/conf.h"
#include "provision/iis/apphost.h"
#include "provision/report.h"
#include "provision/run.h"
#include "provision/run_internal.h"
#include "provision/smb/smb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The directory, opened on the first domain account. */
struct resolver {
    const struct conf *c;
    struct account_run *accts;
    bool tried;
    char *open_error;
};

static int open_directory(struct resolver *r, char **why)
{
    if (!r->tried) {
        r->tried = true;
        struct diag d;
        diag_init(&d);
        r->accts = accounts_open(r->c, &d, NULL);
        if (!r->accts)
            r->open_error = xasprintf("the directory could not be opened: %s",
                                      d.count ? d.msgs[0] : "unknown error");
        diag_free(&d);
    }
    if (!r->accts)
        *why = xstrdup(r->open_error);
    return r->accts ? 0 : -1;
}

static int resolve_account(void *arg, const char *name, struct check_account *out, char **why)
{
    struct resolver *r = arg;
    if (open_directory(r, why) < 0)
        return -1;
    struct diag d;
    diag_init(&d);
    struct dir_account_state st;
    int rc = accounts_read_state(r->accts, name, &out->sid, &out->upn, &st, &d);
    if (rc < 0) {
        *why = xstrdup(d.count ? d.msgs[0] : "not found");
    } else {
        out->groups = st.groups;
        out->n_groups = st.n_groups;
        out->groups_read = st.groups_read;
        out->disabled = st.disabled;
        out->locked_out = st.locked_out;
        out->password_expired = st.password_expired;
        out->account_expires = st.account_expires;
        out->password_expires = st.password_expires;
    }
    diag_free(&d);
    return rc;
}

static void prefetch(void *arg, const char *const *names, size_t n)
{
    struct resolver *r = arg;
    char *why = NULL;
    if (open_directory(r, &why) == 0)
        accounts_prefetch_names(r->accts, names, n);
    free(why);
}

static int try_logon(void *arg, const char *upn, const char *password, char **why)
{
    struct resolver *r = arg;
    if (open_directory(r, why) < 0)
        return -1;
    struct diag d;
    diag_init(&d);
    int rc = accounts_try_logon(r->accts, upn, password, &d);
    if (rc <= 0)
        *why = xstrdup(d.count ? d.msgs[0] : "refused");
    diag_free(&d);
    return rc;
}

static int sid_exists(void *arg, const char *sid)
{
    struct resolver *r = arg;
    char *why = NULL;
    if (open_directory(r, &why) < 0) {
        free(why);
        return -1;
    }
    struct diag d;
    diag_init(&d);
    int rc = accounts_sid_exists(r->accts, sid, &d);
    diag_free(&d);
    return rc;
}

static int prove(void *arg, const char *user, const char *password, struct check_probe *probes,
                 size_t n, char **why)
{
    struct resolver *r = arg;
    return check_prove_smb(r->c->content_location, user, password, probes, n, why);
}

/* ---- output -------------------------------------------------------------- */

static void json_or_null(const char *s)
{
    if (s)
        json_string(stdout, s);
    else
        fputs("null", stdout);
}

static void print_json(const struct check_result *r, size_t checked, size_t findings,
                       size_t critical)
{
    printf("{\"version\":%d,\"command\":\"check\",\"sites\":[", REPORT_JSON_VERSION);
    for (size_t i = 0; i < r->n_sites; i++) {
        const struct check_site *s = &r->sites[i];
        printf("%s{\"name\":", i ? "," : "");
        json_string(stdout, s->name);
        printf(",\"pool\":");
        json_string(stdout, s->pool);
        printf(",\"identity\":");
        json_string(stdout, s->identity_type);
        printf(",\"identity_user\":");
        json_or_null(s->identity_user);
        printf(",\"physical_path\":");
        json_string(stdout, s->physical_path);
        printf(",\"anonymous_user\":");
        json_string(stdout, s->anonymous_user);
        printf(",\"checked\":%s,\"reason\":", s->not_checked ? "false" : "true");
        json_or_null(s->not_checked);
        printf(",\"notes\":");
        json_or_null(s->notes);
        printf(",\"columns\":[");
        for (size_t k = 0; k < s->n_columns; k++) {
            if (k)
                putchar(',');
            json_string(stdout, s->columns[k]);
        }
        printf("],\"access\":[");
        for (size_t k = 0; k < s->n_rows; k++) {
            const struct check_row *row = &s->rows[k];
            printf("%s{\"path\":", k ? "," : "");
            json_string(stdout, row->path);
            for (int part = 0; part < 2; part++) {
                printf(",\"%s\":[", part ? "files" : "folder");
                for (size_t c = 0; c < s->n_columns; c++) {
                    if (c)
                        putchar(',');
                    json_string(stdout, part ? row->files[c] : row->folder[c]);
                }
                putchar(']');
            }
            putchar('}');
        }
        printf("],\"probes\":[");
        for (size_t k = 0; k < s->n_probes; k++) {
            const struct check_probe *p = &s->probes[k];
            printf("%s{\"kind\":\"%s\",\"path\":", k ? "," : "",
                   p->kind == CHECK_PROBE_READ ? "read" : "write");
            json_string(stdout, p->path);
            printf(",\"expected\":%s,\"got\":%s,\"why\":", p->expected ? "true" : "false",
                   p->got < 0 ? "null"
                   : p->got   ? "true"
                              : "false");
            json_or_null(p->why);
            putchar('}');
        }
        printf("],\"findings\":[");
        for (size_t k = 0; k < s->n_findings; k++) {
            const struct check_finding *f = &s->findings[k];
            printf("%s{\"id\":", k ? "," : "");
            json_string(stdout, f->id);
            printf(",\"severity\":");
            json_string(stdout, f->severity);
            printf(",\"identity\":");
            json_string(stdout, f->identity);
            printf(",\"path\":");
            json_string(stdout, f->path);
            printf(",\"text\":");
            json_string(stdout, f->text);
            printf(",\"evidence\":[");
            for (size_t e = 0; e < f->n_evidence; e++) {
                printf("%s{\"path\":", e ? "," : "");
                json_string(stdout, f->evidence[e].path);
                printf(",\"ace\":");
                json_string(stdout, f->evidence[e].ace);
                printf(",\"inherited_from\":");
                json_or_null(f->evidence[e].from);
                putchar('}');
            }
            printf("],\"fix\":");
            json_or_null(f->fix);
            putchar('}');
        }
        printf("]}");
    }
    printf("],\"summary\":{\"sites\":%zu,\"checked\":%zu,\"findings\":%zu,\"critical\":%zu}}\n",
           r->n_sites, checked, findings, critical);
}

/* Short column names for the table; the legend gives the long ones. */
static const char *short_column(const struct check_site *s, size_t k)
{
    const char *c = s->columns[k];
    if (!strncmp(c, "anonymous ", 10))
        return "anonymous";
    if (!strncmp(c, "pool ", 5))
        return "pool";
    const char *slash = strrchr(c, '\\');
    return slash ? slash + 1 : c;
}

/* One table cell: the files' access, "/" the folder's when it differs. */
static void cell_text(const struct check_row *row, size_t k, char *buf, size_t n)
{
    if (!strcmp(row->files[k], row->folder[k]))
        snprintf(buf, n, "%s", row->files[k]);
    else
        snprintf(buf, n, "%s/%s", row->files[k], row->folder[k]);
}

static void print_table(const struct check_site *s)
{
    printf("  identities:");
    for (size_t k = 0; k < s->n_columns && k < 2; k++)
        if (!strncmp(s->columns[k], "anonymous ", 10) || !strncmp(s->columns[k], "pool ", 5))
            printf("%s %s", k ? ";" : "", report_visible(s->columns[k]));
    printf("\n  access to the files in each folder (/the folder itself, when it differs):\n");
    int width[1 + CHECK_MAX_COLUMNS] = {6};
    char cell[32];
    for (size_t r = 0; r < s->n_rows; r++)
        if ((int)strlen(report_visible(s->rows[r].path)) > width[0])
            width[0] = (int)strlen(report_visible(s->rows[r].path));
    for (size_t k = 0; k < s->n_columns; k++) {
        width[1 + k] = (int)strlen(short_column(s, k));
        for (size_t r = 0; r < s->n_rows; r++) {
            cell_text(&s->rows[r], k, cell, sizeof cell);
            if ((int)strlen(cell) > width[1 + k])
                width[1 + k] = (int)strlen(cell);
        }
    }
    /* Every column padded but the last, so lines carry no trailing blanks. */
    printf("    %-*s", width[0], "folder");
    for (size_t k = 0; k < s->n_columns; k++)
        printf("  %-*s", k + 1 < s->n_columns ? width[1 + k] : 0, short_column(s, k));
    putchar('\n');
    for (size_t r = 0; r < s->n_rows; r++) {
        printf("    %-*s", width[0], report_visible(s->rows[r].path));
        for (size_t k = 0; k < s->n_columns; k++) {
            cell_text(&s->rows[r], k, cell, sizeof cell);
            printf("  %-*s", k + 1 < s->n_columns ? width[1 + k] : 0, cell);
        }
        putchar('\n');
    }
}

static void print_text(const struct check_result *r, bool table, int verbosity, size_t checked,
                       size_t findings, size_t critical)
{
    for (size_t i = 0; i < r->n_sites; i++) {
        const struct check_site *s = &r->sites[i];
        if (s->not_checked)
            printf("%s: not checked: %s\n", report_visible(s->name),
                   report_visible(s->not_checked));
        else if (!s->n_findings && !table && verbosity < 1)
            continue;
        else if (s->n_findings)
            printf("%s: %zu finding%s\n", report_visible(s->name), s->n_findings,
                   s->n_findings == 1 ? "" : "s");
        else
            printf("%s: no findings\n", report_visible(s->name));
        for (size_t k = 0; k < s->n_findings; k++) {
            const struct check_finding *f = &s->findings[k];
            printf("  %s %s: %s\n", f->severity, f->id, report_visible(f->text));
            for (size_t e = 0; e < f->n_evidence; e++) {
                printf("    evidence: %s: %s", report_visible(f->evidence[e].path),
                       report_visible(f->evidence[e].ace));
                if (f->evidence[e].from)
                    printf(" (inherited from %s)", report_visible(f->evidence[e].from));
                putchar('\n');
            }
            if (f->fix)
                printf("    fix: %s\n", report_visible(f->fix));
        }
        for (size_t k = 0; k < s->n_probes; k++) {
            const struct check_probe *p = &s->probes[k];
            printf("  prove: %s %s: %s%s\n", p->kind == CHECK_PROBE_READ ? "read" : "write in",
                   report_visible(p->path),
                   p->got < 0 ? "not tried"
                   : p->got   ? "allowed"
                              : "denied",
                   p->got < 0 || (p->got == 1) == p->expected ? ""
                                                              : " (the descriptors say otherwise)");
            if (p->why)
                printf("    %s\n", report_visible(p->why));
        }
        if (s->notes)
            printf("  note: %s\n", report_visible(s->notes));
        if ((table || verbosity >= 1) && !s->not_checked)
            print_table(s);
    }
    if (verbosity >= 0)
        printf("check: %zu site%s, %zu checked; %zu finding%s (%zu critical)\n", r->n_sites,
               r->n_sites == 1 ? "" : "s", checked, findings, findings == 1 ? "" : "s", critical);
}

/* ---- the command --------------------------------------------------------- */

/* Now as a FILETIME: 100 ns units since 1601-01-01 UTC. */
static long long filetime_now(void)
{
    return ((long long)time(NULL) + 11644473600LL) * 10000000LL;
}

static void print_errors(struct diag *d)
{
    for (size_t i = 0; i < d->count; i++)
        fprintf(stderr, "provision: %s\n", report_visible(d->msgs[i]));
}

/* check --sites: the plan of the site lists, made as `plan` makes it
 * (reading only, quietly); its sites are the ones checked, its changes
 * are their drift. */
struct drift {
    struct planfile plan;
    int plan_rc;
    char **names; /* the lists' sites */
    size_t n_names;
    char *lists; /* the lists, for messages and the fix */
};

static int drift_plan(const struct options *o, int n, char **lists, struct drift *dr)
{
    memset(dr, 0, sizeof *dr);
    planfile_init(&dr->plan);
    struct options quiet = *o;
    quiet.json = false;
    quiet.verbosity = -1;
    dr->plan_rc = run_sites(&quiet, n, lists, MODE_PLAN, &dr->plan, true);
    if (dr->plan_rc == EXIT_USAGE)
        return -1;
    for (size_t i = 0; i < dr->plan.n_deps; i++)
        if (!strcmp(dr->plan.deps[i].kind, "config site")) {
            dr->names = xrealloc(dr->names, (dr->n_names + 1) * sizeof *dr->names);
            dr->names[dr->n_names++] = dr->plan.deps[i].name;
        }
    struct strbuf sb;
    sb_init(&sb);
    for (int i = 0; i < n; i++)
        sb_addf(&sb, "%s%s", i ? " " : "", lists[i]);
    dr->lists = sb_detach(&sb);
    return 0;
}

/* Adds each site's planned changes ("NAME: + pool x") as its drift. */
static void drift_findings(const struct drift *dr, struct check_result *r)
{
    for (size_t i = 0; i < r->n_sites; i++) {
        struct check_site *s = &r->sites[i];
        size_t len = strlen(s->name), n = 0;
        const char **lines = xcalloc(dr->plan.n_changes + 1, sizeof *lines);
        bool failed = false;
        for (size_t k = 0; k < dr->plan.n_changes; k++) {
            const char *line = dr->plan.changes[k];
            if (!strncmp(line, s->name, len) && !strncmp(line + len, ": ", 2))
                lines[n++] = line + len + 2;
            else if (!strcmp(line, s->name))
                failed = true; /* the plan failed for this site */
        }
        if (n)
            check_add_drift(s, dr->lists, lines, n);
        if (failed || (dr->plan_rc == EXIT_FAILED && !n)) {
            char *note = xasprintf("%sits drift is not known: the plan of %s failed (provision "
                                   "plan says why)",
                                   s->notes ? "; " : "", dr->lists);
            char *all = xasprintf("%s%s", s->notes ? s->notes : "", note);
            free(s->notes);
            s->notes = all;
            free(note);
        }
        free(lines);
    }
}

static void drift_free(struct drift *dr)
{
    planfile_free(&dr->plan);
    free(dr->names);
    free(dr->lists);
}

int run_check(const struct options *o, int n, char **names)
{
    struct drift dr = {0};
    bool with_drift = o->sites_from_lists;
    if (with_drift) {
        if (n == 0) {
            fputs("provision: check --sites needs site lists\n", stderr);
            return EXIT_USAGE;
        }
        if (drift_plan(o, n, names, &dr) < 0) {
            drift_free(&dr);
            return EXIT_USAGE;
        }
        names = dr.names;
        n = (int)dr.n_names;
    }
    struct diag d;
    diag_init(&d);
    struct conf c;
    if (conf_load(o->conf_path, &c, &d) < 0) {
        print_errors(&d);
        conf_free(&c);
        diag_free(&d);
        drift_free(&dr);
        return EXIT_USAGE;
    }
    int rc = EXIT_FAILED;
    struct apphost *ah = read_iis_config(&c, &d);
    struct smb_session *smb = NULL;
    struct acl_backend *content = NULL;
    char *no_content = NULL;
    if (ah && !c.content_location) {
        no_content = xstrdup("the configuration has no [content] location: descriptors "
                             "cannot be read");
    } else if (ah) {
        struct smb_options so = {.auth_file = c.content_auth_file,
                                 .kerberos = c.content_kerberos,
                                 .timeout_ms = c.content_timeout_ms};
        struct acl_backend_options opt = {.smb_opts = &so, .script_root = c.content_root};
        struct diag cd;
        diag_init(&cd);
        if (!strncmp(c.content_location, "smb://", 6) && smb_session_open(&so, &smb, &cd) == 0)
            opt.smb = smb;
        if (!cd.count && acl_backend_open(c.content_location, &opt, &content, &cd) == 0 &&
            !(acl_backend_caps(content) & ACL_CAP_DESCRIPTORS)) {
            no_content = xasprintf("the content location %s is a %s: it holds no descriptors "
                                   "to read",
                                   c.content_location, acl_backend_name(content));
            acl_backend_close(content, NULL);
            content = NULL;
        } else if (!content) {
            no_content = xasprintf("the content location could not be opened: %s",
                                   cd.count ? cd.msgs[0] : "unknown error");
        }
        diag_free(&cd);
    }
    struct resolver res = {.c = &c};
    struct check_result result = {0};
    if (ah) {
        struct check_input in = {.ah = ah,
                                 .content = content,
                                 .content_root = c.content_root,
                                 .no_content_why = no_content,
                                 .resolve = c.dir.configured ? resolve_account : NULL,
                                 .prefetch = c.dir.configured ? prefetch : NULL,
                                 .logon = c.dir.configured ? try_logon : NULL,
                                 .sid_exists = c.dir.configured ? sid_exists : NULL,
                                 .prove = o->prove && c.content_location &&
                                                  !strncmp(c.content_location, "smb://", 6)
                                              ? prove
                                              : NULL,
                                 .ctx = &res,
                                 .now = filetime_now(),
                                 .missing_ok = with_drift,
                                 .deep = o->deep};
        if (check_sites(&in, names, (size_t)n, &result, &d) < 0) {
            rc = EXIT_USAGE;
        } else {
            if (with_drift)
                drift_findings(&dr, &result);
            size_t checked = 0, findings = 0, critical = 0;
            for (size_t i = 0; i < result.n_sites; i++) {
                checked += !result.sites[i].not_checked;
                findings += result.sites[i].n_findings;
                for (size_t k = 0; k < result.sites[i].n_findings; k++)
                    critical += !strcmp(result.sites[i].findings[k].severity, "critical");
            }
            if (o->json)
                print_json(&result, checked, findings, critical);
            else
                print_text(&result, n > 0 && o->verbosity >= 0, o->verbosity, checked, findings,
                           critical);
            rc = findings ? EXIT_FINDINGS : checked < result.n_sites ? EXIT_PARTIAL : EXIT_DONE;
        }
    }
    print_errors(&d);
    check_result_free(&result);
    drift_free(&dr);
    if (res.accts)
        accounts_close(res.accts);
    free(res.open_error);
    acl_backend_close(content, NULL);
    smb_session_close(smb);
    free(no_content);
    apphost_free(ah);
    conf_free(&c);
    diag_free(&d);
    return rc;
}
