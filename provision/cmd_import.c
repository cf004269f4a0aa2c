/* SPDX-License-Identifier: GPL-3.0-or-later */
/* import: a site list describing existing sites (made by hand or by another
 * tool), so that the next plan shows no change and they are managed like
 * any other from then on. Reads the IIS configuration (and, for a pool
 * running as an AD account, that account in the directory); writes nothing
 * but the list. Every key provision manages is written explicitly on the
 * base of the shipped template `imported` (`imported-account`); what it
 * does not manage is listed in comments. Each site is proven before it is
 * written: the list is planned (as `plan` would, quietly) and a site the
 * plan would change, or refuses, is left out with the reason. */
#include "provision/accounts.h"
#include "provision/conf.h"
#include "provision/fold.h"
#include "provision/iis/apphost.h"
#include "provision/planfile.h"
#include "provision/report.h"
#include "provision/run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One site: its section, or why it is left out. */
struct imported {
    char *name;
    char *section; /* the list text of the site, or NULL */
    char *skipped; /* why not, or NULL */
};

static void print_errors(const struct diag *d)
{
    for (size_t i = 0; i < d->count; i++)
        fprintf(stderr, "provision: %s\n", report_visible(d->msgs[i]));
}

/* A value a site list can hold as it is: one line, no inline comment
 * (";" or "#" after a blank), no blanks around it, no "${" (expanded). */
static const char *value_problem(const char *v)
{
    if (!*v)
        return NULL;
    if (v[0] == ' ' || v[0] == '\t' || v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t')
        return "starts or ends with a blank";
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "holds a control character";
        if ((*p == ';' || *p == '#') && p > v && (p[-1] == ' ' || p[-1] == '\t'))
            return "holds ';' or '#' after a blank (an INI comment)";
        if (*p == '$')
            return "holds '$' (a site list expands ${...})";
    }
    return NULL;
}

/* text as comment lines that a site list can read (lines are at most
 * INI_LINE_MAX bytes): broken at blanks, or anywhere in a long word. */
static void add_comment(struct strbuf *sb, const char *raw)
{
    enum { WIDTH = 76 };
    /* Control characters (a name may hold a newline) as \xNN: a comment
     * must stay one comment. */
    const char *text = report_visible(raw);
    const char *p = text;
    while (*p) {
        size_t n = strlen(p);
        if (n > WIDTH) {
            n = WIDTH;
            while (n > WIDTH / 2 && p[n] != ' ')
                n--;
            if (p[n] != ' ')
                n = WIDTH;
        }
        sb_addf(sb, "; %.*s\n", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

struct writer {
    struct strbuf sb;
    char *problem; /* the first value that cannot be written, or NULL */
};

static void put(struct writer *w, const char *key, const char *value)
{
    const char *why = value_problem(value);
    if (why && !w->problem)
        w->problem = xasprintf("%s '%s' %s", key, value, why);
    sb_addf(&w->sb, "%s = %s\n", key, value);
}

static const char *identity_key(const char *type)
{
    static const struct {
        const char *iis, *list;
    } map[] = {{"ApplicationPoolIdentity", "apppool"},
               {"NetworkService", "networkservice"},
               {"LocalService", "localservice"},
               {"LocalSystem", "localsystem"},
               {"SpecificUser", "account"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (ascii_equal_ci(type, map[i].iis))
            return map[i].list;
    return NULL;
}

/* The parent of dn (its OU or container), or NULL. */
static char *parent_dn(const char *dn)
{
    for (const char *p = dn; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == ',')
            return xstrdup(p + 1);
    }
    return NULL;
}

struct import_ctx {
    const struct conf *c;
    struct account_run *accts;
    bool accts_tried;
    char *accts_error;
};

/* The account a SpecificUser pool runs as: its variables for
 * imported-account, or why it cannot be described. */
static char *account_vars(struct import_ctx *ic, const struct iis_site_desc *s, struct writer *w)
{
    const char *user = s->identity_user ? s->identity_user : "";
    const char *slash = strchr(user, '\\');
    if (!slash || strchr(slash + 1, '\\'))
        return xasprintf("its pool runs as '%s', not DOMAIN\\name", user);
    size_t dlen = (size_t)(slash - user);
    if (!ic->c->netbios_domain || strlen(ic->c->netbios_domain) != dlen ||
        ascii_ncasecmp(user, ic->c->netbios_domain, dlen) != 0)
        return xasprintf("its pool runs as %s, not an account of [directory] netbios %s", user,
                         ic->c->netbios_domain ? ic->c->netbios_domain : "(not set)");
    if (!ic->c->dir.configured)
        return xasprintf("its pool runs as the AD account %s: describing it needs [directory]",
                         user);
    if (!ic->accts_tried) {
        ic->accts_tried = true;
        struct diag d;
        diag_init(&d);
        ic->accts = accounts_open(ic->c, &d, NULL);
        if (!ic->accts)
            ic->accts_error = xstrdup(d.count ? d.msgs[0] : "the directory could not be opened");
        diag_free(&d);
    }
    if (!ic->accts)
        return xstrdup(ic->accts_error);
    struct diag d;
    diag_init(&d);
    struct dir_account a;
    int found = accounts_find(ic->accts, user, &a, &d);
    char *why = NULL;
    if (found < 0)
        why = xstrdup(d.count ? d.msgs[0] : "the directory look-up failed");
    else if (found == 0)
        why = xasprintf("its pool runs as %s, which the directory does not have", user);
    else {
        char *ou = parent_dn(a.dn);
        put(w, "account", slash + 1);
        put(w, "ou", ou ? ou : "");
        free(ou);
    }
    if (found == 1)
        dir_account_free(&a);
    diag_free(&d);
    return why;
}

static void describe(struct import_ctx *ic, const struct apphost *ah, struct imported *out)
{
    struct iis_site_desc s;
    if (apphost_describe_site(ah, out->name, &s) < 0) {
        out->skipped = xstrdup("not in the IIS configuration");
        return;
    }
    const char *identity = identity_key(s.identity);
    /* A site without its own anonymous identity keeps the server's. */
    const char *anon = !s.anonymous_own                           ? "server"
                       : !*s.anonymous_user                       ? "pool"
                       : ascii_equal_ci(s.anonymous_user, "IUSR") ? "iusr"
                                                                  : NULL;
    const char *name_why = value_problem(s.name);
    if (!name_why && strchr(s.name, ']'))
        name_why = "holds ']'";
    if (name_why)
        out->skipped = xasprintf("its name %s: a site list section cannot hold it", name_why);
    else if (!s.physical_path)
        out->skipped = xstrdup("its root application has no root virtual directory");
    else if (s.vdir_user)
        out->skipped = xasprintf("its root connects as %s; provision manages pass-through only "
                                 "(a specific user would keep a password in the configuration)",
                                 s.vdir_user);
    else if (s.bindings_problem)
        out->skipped = xstrdup(s.bindings_problem);
    else if (!s.pool_exists)
        out->skipped = xasprintf("its pool '%s' is not defined in applicationPools", s.pool);
    else if (!identity)
        out->skipped = xasprintf("its pool runs as identityType '%s'", s.identity);
    else if (!anon)
        out->skipped = xasprintf("anonymous requests run as %s; provision manages the pool "
                                 "identity or IUSR",
                                 s.anonymous_user);
    if (out->skipped) {
        iis_site_desc_free(&s);
        return;
    }
    struct writer w;
    sb_init(&w.sb);
    w.problem = NULL;
    sb_addf(&w.sb, "\n[site %s]\n", s.name);
    bool account = !strcmp(identity, "account");
    put(&w, "template", account ? "imported-account" : "imported");
    if (account) {
        char *why = account_vars(ic, &s, &w);
        if (why) {
            out->skipped = why;
            sb_free(&w.sb);
            free(w.problem);
            iis_site_desc_free(&s);
            return;
        }
    }
    for (size_t i = 0; i < s.n_unmanaged; i++) {
        char *text = xasprintf("not managed: %s", s.unmanaged[i]);
        add_comment(&w.sb, text);
        free(text);
    }
    char num[32];
    put(&w, "pool.name", s.pool);
    put(&w, "pool.runtime", *s.runtime ? s.runtime : "none");
    put(&w, "pool.pipeline", s.pipeline);
    put(&w, "pool.start_mode", s.start_mode);
    put(&w, "pool.auto_start", s.pool_auto_start ? "true" : "false");
    if (!account)
        put(&w, "pool.identity", identity);
    put(&w, "pool.idle_timeout", s.idle_timeout);
    put(&w, "pool.load_user_profile", s.load_user_profile ? "true" : "false");
    snprintf(num, sizeof num, "%lu", s.id);
    put(&w, "site.id", num);
    put(&w, "site.auto_start", s.auto_start ? "true" : "false");
    put(&w, "site.path", s.physical_path);
    put(&w, "site.anonymous", anon);
    for (size_t i = 0; i < s.n_bindings; i++)
        put(&w, "site.bindings", s.bindings[i]);
    if (!s.n_bindings)
        w.problem = w.problem ? w.problem : xstrdup("it has no binding");
    if (w.problem) {
        out->skipped = w.problem;
        sb_free(&w.sb);
    } else {
        out->section = sb_detach(&w.sb);
    }
    iis_site_desc_free(&s);
}

struct collect {
    char **names;
    size_t n;
};

static void collect_name(const struct iis_site_info *info, void *arg)
{
    struct collect *c = arg;
    c->names = xrealloc(c->names, (c->n + 1) * sizeof *c->names);
    c->names[c->n++] = xstrdup(info->name);
}

/* Writes the sections of the sites still in, to path. */
static int write_sections(const char *path, const char *header, struct imported *sites, size_t n,
                          bool with_skipped, struct diag *d)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_adds(&sb, header);
    for (size_t i = 0; i < n; i++)
        if (sites[i].section)
            sb_adds(&sb, sites[i].section);
    if (with_skipped)
        for (size_t i = 0; i < n; i++)
            if (sites[i].skipped) {
                char *text = xasprintf("left out: %s: %s", sites[i].name, sites[i].skipped);
                sb_addc(&sb, '\n');
                add_comment(&sb, text);
                free(text);
            }
    int rc = atomic_replace(path, sb.buf ? sb.buf : "", sb.len, 0644, "the site list", d);
    sb_free(&sb);
    return rc;
}

/* Plans the list at path (quietly) and leaves out each site the plan
 * would change or refuses, with the reason. Returns how many were left
 * out, or -1 when the plan failed as a whole. */
static int prove(const struct options *o, const char *path, struct imported *sites, size_t n)
{
    struct options quiet = *o;
    quiet.json = false;
    quiet.verbosity = -1;
    struct planfile plan;
    planfile_init(&plan);
    char *lists[] = {(char *)path};
    int rc = run_sites(&quiet, 1, lists, MODE_PLAN, &plan, true);
    int out = 0;
    if (rc == EXIT_USAGE || rc == EXIT_FAILED) {
        planfile_free(&plan);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!sites[i].section)
            continue;
        size_t len = strlen(sites[i].name);
        struct strbuf why;
        sb_init(&why);
        size_t lines = 0;
        for (size_t k = 0; k < plan.n_changes; k++) {
            const char *line = plan.changes[k];
            if (!strcmp(line, sites[i].name)) {
                sb_addf(&why, "%sthe plan of it failed (provision plan says why)",
                        why.len ? "; " : "");
                lines++;
            } else if (!strncmp(line, sites[i].name, len) && !strncmp(line + len, ": ", 2) &&
                       lines++ < 3) {
                sb_addf(&why, "%s%s", why.len ? "; " : "", line + len + 2);
            }
        }
        if (lines) {
            sites[i].skipped = xasprintf("the next plan would change it (%s%s)", why.buf,
                                         lines > 3 ? "; ..." : "");
            free(sites[i].section);
            sites[i].section = NULL;
            out++;
        }
        sb_free(&why);
    }
    planfile_free(&plan);
    return out;
}

int run_import(const struct options *o, int n, char **names)
{
    struct diag d;
    diag_init(&d);
    if (!o->plan_out) {
        fputs("provision: import needs -o FILE (the site list to write)\n", stderr);
        return EXIT_USAGE;
    }
    struct stat st;
    if (lstat(o->plan_out, &st) == 0) {
        fprintf(stderr, "provision: %s exists: import writes a new site list, never over one\n",
                o->plan_out);
        return EXIT_USAGE;
    }
    struct conf c;
    if (conf_load(o->conf_path, &c, &d) < 0) {
        print_errors(&d);
        conf_free(&c);
        diag_free(&d);
        return EXIT_USAGE;
    }
    int rc = EXIT_FAILED;
    struct apphost *ah = read_iis_config(&c, &d);
    char *tpl = conf_relative(&c, c.templates_dir);
    char *base = xasprintf("%s/imported.ini", tpl);
    char *base2 = xasprintf("%s/imported-account.ini", tpl);
    struct collect all = {0};
    struct imported *sites = NULL;
    size_t n_sites = 0;
    if (ah && (access(base, R_OK) != 0 || access(base2, R_OK) != 0)) {
        diag_add(&d,
                 "%s: the templates imported.ini and imported-account.ini are missing (they are "
                 "shipped in templates/): import describes sites on their base",
                 tpl);
        rc = EXIT_USAGE;
    } else if (ah) {
        apphost_list(ah, collect_name, &all);
        /* The sites asked for (all when none), each once, as IIS compares
         * names. */
        char **want = n ? names : all.names;
        size_t n_want = n ? (size_t)n : all.n;
        rc = EXIT_DONE;
        sites = xcalloc(n_want ? n_want : 1, sizeof *sites);
        for (size_t i = 0; i < n_want; i++) {
            size_t k = 0;
            while (k < all.n && !names_collide(all.names[k], want[i]))
                k++;
            if (k == all.n) {
                diag_add(&d, "import: '%s' is not a site of the IIS configuration", want[i]);
                rc = EXIT_USAGE;
                continue;
            }
            bool dup = false;
            for (size_t j = 0; j < n_sites; j++)
                dup |= !strcmp(sites[j].name, all.names[k]);
            if (!dup)
                sites[n_sites++].name = xstrdup(all.names[k]);
        }
    }
    if (rc == EXIT_DONE) {
        struct import_ctx ic = {.c = &c};
        for (size_t i = 0; i < n_sites; i++)
            describe(&ic, ah, &sites[i]);
        accounts_close(ic.accts);
        free(ic.accts_error);

        char stamp[64];
        time_t now = time(NULL);
        struct tm tm;
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
        char *header =
            xasprintf("; Site list written by `provision import` on %s from %s.\n"
                      "; Every key provision manages is set explicitly; the templates imported\n"
                      "; and imported-account manage no folder and no grant. What provision does\n"
                      "; not manage is listed under each site and left alone by later runs.\n",
                      stamp, c.iis_config);
        /* Proven in a scratch copy next to the output, then written. */
        char *scratch = xasprintf("%s.import-%ld", o->plan_out, (long)getpid());
        int left = -1;
        if (write_sections(scratch, header, sites, n_sites, false, &d) == 0)
            left = prove(o, scratch, sites, n_sites);
        if (left < 0) {
            /* Refused as a whole: find the sites the plan refuses, one by
             * one, then prove the rest together again. */
            for (size_t i = 0; i < n_sites; i++) {
                if (!sites[i].section)
                    continue;
                if (write_sections(scratch, header, &sites[i], 1, false, &d) < 0)
                    break;
                if (prove(o, scratch, &sites[i], 1) < 0) {
                    sites[i].skipped = xstrdup("the plan refuses it (provision plan of its "
                                               "section says why)");
                    free(sites[i].section);
                    sites[i].section = NULL;
                }
            }
            if (write_sections(scratch, header, sites, n_sites, false, &d) == 0)
                left = prove(o, scratch, sites, n_sites);
        }
        unlink(scratch);
        free(scratch);
        if (left < 0) {
            diag_add(&d, "import: the plan of the described sites failed as a whole (provision "
                         "plan of such a list says why); nothing written");
            rc = EXIT_FAILED;
        } else if (write_sections(o->plan_out, header, sites, n_sites, true, &d) < 0) {
            rc = EXIT_FAILED;
        } else {
            size_t written = 0, skipped = 0;
            for (size_t i = 0; i < n_sites; i++) {
                written += sites[i].section != NULL;
                if (sites[i].skipped) {
                    skipped++;
                    if (o->verbosity >= 0)
                        fprintf(stderr, "provision: import: %s left out: %s\n",
                                report_visible(sites[i].name), report_visible(sites[i].skipped));
                }
            }
            if (o->verbosity >= 0)
                printf("import: %zu site%s described in %s (the next plan shows no change), %zu "
                       "left out\n",
                       written, written == 1 ? "" : "s", o->plan_out, skipped);
            rc = skipped ? EXIT_PARTIAL : EXIT_DONE;
        }
        free(header);
    }
    print_errors(&d);
    for (size_t i = 0; i < n_sites; i++) {
        free(sites[i].name);
        free(sites[i].section);
        free(sites[i].skipped);
    }
    free(sites);
    for (size_t i = 0; i < all.n; i++)
        free(all.names[i]);
    free(all.names);
    free(base);
    free(base2);
    free(tpl);
    apphost_free(ah);
    conf_free(&c);
    diag_free(&d);
    return rc;
}
