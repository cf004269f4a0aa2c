/* SPDX-License-Identifier: GPL-3.0-or-later */
/* provision: onboard web sites onto IIS from Linux. Everything the command
 * line knows is in two tables: the commands (name, function, what it opens,
 * its arguments, a summary and a longer help) and the options (spelling,
 * value, the one command an option is for). The parser, the usage and
 * `provision help COMMAND` are all made from them. */
#include "provision/run.h"
#include "provision/timings.h"
#include "version.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a command may open; some only when the sites need them (its help
 * says when). */
enum opens {
    OPENS_CONF = 1 << 0,
    OPENS_LISTS = 1 << 1,
    OPENS_DIRECTORY = 1 << 2,
    OPENS_CONTENT = 1 << 3,
    OPENS_IIS = 1 << 4,
};

static const char *const opens_names[] = {
    "the configuration file", "the site lists and their templates",
    "the directory (LDAP)",   "the content location (folders and grants)",
    "the IIS configuration",
};

/* The arguments after the command name. */
enum args {
    ARGS_NONE,      /* nothing */
    ARGS_SITES,     /* one or more site lists */
    ARGS_NAMES,     /* one or more names */
    ARGS_COMMAND,   /* at most one command name (help) */
    ARGS_ANY_NAMES, /* zero or more names */
};

static const char *const args_synopsis[] = {"", "SITES...", "NAME...", "[COMMAND]", "[NAME...]"};
static const char *const args_noun[] = {"", "site list", "name", "command", "name"};

typedef int command_fn(const struct options *o, int n, char **args);

struct command {
    const char *name;
    command_fn *run;
    unsigned opens; /* enum opens */
    enum args args;
    const char *summary; /* one line */
    const char *help;    /* a few lines; the options and what it opens are added */
};

static int cmd_list(const struct options *o, int n, char **args)
{
    (void)n;
    (void)args;
    return run_list(o);
}

static int cmd_recover(const struct options *o, int n, char **args)
{
    (void)n;
    (void)args;
    return run_recover(o);
}

static int cmd_help(const struct options *o, int n, char **args);

static const struct command commands[] = {
    {"validate", run_validate, OPENS_CONF | OPENS_LISTS, ARGS_SITES,
     "check configuration, templates and site lists; no connection",
     "Reads the configuration, the templates and the site lists and checks them:\n"
     "keys, variables, names, bindings, grants, and that whoever serves the\n"
     "files can read them. Connects to nothing and changes nothing."},
    {"plan", run_plan, OPENS_CONF | OPENS_LISTS | OPENS_DIRECTORY | OPENS_CONTENT | OPENS_IIS,
     ARGS_SITES, "show what apply would change; changes nothing",
     "Reads the IIS configuration (the directory and the content location only\n"
     "when the sites need them) and prints what apply would change: + created,\n"
     "~ changed, - removed. Changes nothing. With -o FILE the plan is also\n"
     "saved, for apply --plan FILE."},
    {"apply", run_apply, OPENS_CONF | OPENS_LISTS | OPENS_DIRECTORY | OPENS_CONTENT | OPENS_IIS,
     ARGS_SITES, "make it so; a second apply changes nothing",
     "Makes the IIS configuration, the sites' AD accounts, folders and grants\n"
     "match the site lists; a second apply changes nothing. The IIS\n"
     "configuration is changed under a lock, after a backup; the directory and\n"
     "the content location are opened only when the sites need them.\n"
     "With --plan FILE it executes a plan saved by plan -o instead (give site\n"
     "lists or --plan, not both). --rotate-passwords sets new passwords for\n"
     "the sites' AD accounts and stores them in their pools."},
    {"destroy", run_destroy, OPENS_CONF | OPENS_LISTS | OPENS_DIRECTORY | OPENS_CONTENT | OPENS_IIS,
     ARGS_SITES, "remove the sites, their locations and dedicated pools",
     "Removes the sites, their anonymous-identity locations and their pools\n"
     "when nothing else uses them (the directory and the content location only\n"
     "when the sites need them). --remove-folders also removes the sites'\n"
     "folders that are then empty; files are never deleted."},
    {"list", cmd_list, OPENS_CONF | OPENS_IIS, ARGS_NONE, "the sites in the IIS configuration",
     "Prints the sites of the IIS configuration with their pool, identity,\n"
     "anonymous user and bindings. Changes nothing."},
    {"check", run_check, OPENS_CONF | OPENS_DIRECTORY | OPENS_CONTENT | OPENS_IIS, ARGS_ANY_NAMES,
     "who can read and write each site's folders, and why a site answers 401",
     "Reads the sites of the IIS configuration (NAMEs, or all), the descriptors\n"
     "of their folders in the content location and, for a pool running as a\n"
     "domain account, its SID in the directory. Prints the classic failures\n"
     "with the entries behind them and a one-line fix: the anonymous identity\n"
     "cannot read static files (401.3), the pool cannot read web.config\n"
     "(500.19), the pool can write the content it serves, anonymous write,\n"
     "another tenant's pool or a group every tenant holds can read the site,\n"
     "a pool running as LocalSystem. With NAMEs or -v, also each identity's\n"
     "access to each folder. With --sites, the arguments are site lists: their\n"
     "sites are checked and what apply would change in them is shown as\n"
     "drift. Changes nothing. Exit status: 0 nothing found, 4 findings, 3 some\n"
     "sites could not be checked, 1 failed, 2 bad input."},
    {"import", run_import, OPENS_CONF | OPENS_DIRECTORY | OPENS_IIS, ARGS_ANY_NAMES,
     "describe existing sites as a site list (-o FILE)",
     "Writes a site list (-o FILE, a new file) describing the sites of the IIS\n"
     "configuration (NAMEs, or all) made by hand or by another tool, on the\n"
     "base of the templates imported and imported-account, so that the next\n"
     "plan shows no change. What provision does not manage is listed in\n"
     "comments; a site it cannot describe is left out with the reason. Reads\n"
     "the directory only for a pool running as an AD account; writes nothing\n"
     "but the list. Exit status: 0 all described, 3 some left out."},
    {"sid", run_sid, OPENS_CONF | OPENS_DIRECTORY, ARGS_NAMES,
     "the SID of a well-known name, IIS AppPool\\NAME or DOMAIN\\name",
     "Prints the SID of each NAME: a well-known name (IUSR, IIS_IUSRS, ...) or\n"
     "IIS AppPool\\NAME, computed; DOMAIN\\name or name@upn, looked up in the\n"
     "directory of the configuration (only then are both opened)."},
    {"recover", cmd_recover, OPENS_CONF | OPENS_DIRECTORY | OPENS_CONTENT | OPENS_IIS, ARGS_NONE,
     "bring the sites of interrupted runs to before or as planned",
     "Finds the journals of interrupted runs whose targets are this\n"
     "configuration's and brings their sites to as they were before the run\n"
     "or as it planned them."},
    {"help", cmd_help, 0, ARGS_COMMAND, "the commands, or what COMMAND does and opens",
     "Prints the commands and options, or what COMMAND does, its options and\n"
     "what it opens."},
};

enum { N_COMMANDS = sizeof commands / sizeof *commands };

enum option_id {
    OPT_CONFIG,
    OPT_VERBOSE,
    OPT_QUIET,
    OPT_JSON,
    OPT_OUTPUT,
    OPT_PLAN,
    OPT_ROTATE,
    OPT_REMOVE,
    OPT_SITES,
    OPT_DEEP,
    OPT_PROVE,
    OPT_TIMINGS,
    OPT_VERSION,
    OPT_HELP,
    N_OPTIONS
};

struct option_def {
    const char *short_name; /* "-c", or NULL */
    const char *long_name;  /* "--config" */
    const char *value;      /* what follows it ("FILE"), or NULL */
    const char *only_for;   /* the commands it is for ("plan/apply"), or NULL: any */
    int replaces_args;      /* the command then takes no arguments */
    const char *help;
};

static const struct option_def options_table[N_OPTIONS] = {
    [OPT_CONFIG] = {"-c", "--config", "CONF", NULL, 0,
                    "configuration file (default: $PROVISION_CONF or\n"
                    "/etc/provision/provision.ini)"},
    [OPT_VERBOSE] = {"-v", "--verbose", NULL, NULL, 0, "also list unchanged sites"},
    [OPT_QUIET] = {"-q", "--quiet", NULL, NULL, 0, "print errors only"},
    [OPT_JSON] = {NULL, "--json", NULL, NULL, 0, "print one JSON document"},
    [OPT_OUTPUT] = {"-o", "--output", "FILE", "plan/import", 0,
                    "save the plan (plan) or write the site list\n(import) to FILE"},
    [OPT_PLAN] = {NULL, "--plan", "FILE", "apply", 1,
                  "execute the plan saved in FILE (instead of site lists)"},
    [OPT_ROTATE] = {NULL, "--rotate-passwords", NULL, "apply", 0,
                    "set new passwords for the sites' AD accounts"},
    [OPT_REMOVE] = {NULL, "--remove-folders", NULL, "destroy", 0,
                    "also remove the sites' folders that are empty\n(files are never deleted)"},
    [OPT_SITES] = {NULL, "--sites", NULL, "check", 0,
                   "the arguments are site lists: check their sites\nand show where they "
                   "drifted from the lists"},
    [OPT_DEEP] = {NULL, "--deep", NULL, "plan/apply/check", 0,
                  "also the files and folders below the sites'\nfolders: their inherited "
                  "entries (reads them all)"},
    [OPT_PROVE] = {NULL, "--prove", NULL, "check", 0,
                   "log on over SMB as each pool's AD account and\ntry its accesses for real"},
    [OPT_TIMINGS] = {NULL, "--timings", NULL, "plan/apply/destroy", 0,
                     "print on stderr where the run's time went:\nconfig, directory, content, "
                     "journal"},
    [OPT_VERSION] = {NULL, "--version", NULL, NULL, 0, "print the version"},
    [OPT_HELP] = {"-h", "--help", NULL, NULL, 0, "this text; after a command, that command's help"},
};

/* Whether option d is for the command named name. */
static bool option_for(const struct option_def *d, const char *name)
{
    if (!d->only_for)
        return true;
    size_t n = strlen(name);
    for (const char *p = d->only_for; *p;) {
        size_t len = strcspn(p, "/");
        if (len == n && !strncmp(p, name, n))
            return true;
        p += len + (p[len] == '/');
    }
    return false;
}

/* "plan/apply/check" as people write it: "plan, apply and check". */
static void commands_text(const char *only_for, char *buf, size_t len)
{
    size_t used = 0, n = 1;
    for (const char *p = only_for; *p; p++)
        n += *p == '/';
    size_t k = 0;
    buf[0] = '\0';
    for (const char *p = only_for; *p && used < len;) {
        size_t w = strcspn(p, "/");
        const char *sep = k == 0 ? "" : k + 1 == n ? " and " : ", ";
        used += (size_t)snprintf(buf + used, len - used, "%s%.*s", sep, (int)w, p);
        p += w + (p[w] == '/');
        k++;
    }
}

enum { COLUMN = 24 }; /* where the descriptions start */

/* Prints TEXT; every line after the first starts at column INDENT. */
static void print_indented(FILE *f, const char *text, int indent)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (p != text)
            fprintf(f, "%*s", indent, "");
        fprintf(f, "%.*s\n", (int)len, p);
        p += len + (nl != NULL);
    }
}

/* "TEXT" after a left part, at COLUMN or after two spaces when it is wider. */
static void print_item(FILE *f, const char *left, const char *text)
{
    int w = fprintf(f, "%s", left);
    fprintf(f, "%*s", w < COLUMN - 1 ? COLUMN - w : 2, "");
    print_indented(f, text, COLUMN);
}

static void print_option(FILE *f, const struct option_def *d, int with_command)
{
    char left[64], text[256];
    snprintf(left, sizeof left, "  %s%s%s%s%s", d->short_name ? d->short_name : "    ",
             d->short_name ? ", " : "", d->long_name, d->value ? " " : "",
             d->value ? d->value : "");
    if (with_command && d->only_for)
        snprintf(text, sizeof text, "%s: %s", d->only_for, d->help);
    else
        snprintf(text, sizeof text, "%s", d->help);
    print_item(f, left, text);
}

static void print_usage(FILE *f)
{
    fputs("usage: provision [OPTIONS] COMMAND [ARGS...]\n\nCommands:\n", f);
    for (size_t k = 0; k < N_COMMANDS; k++) {
        char left[64];
        snprintf(left, sizeof left, "  %s%s%s", commands[k].name,
                 commands[k].args != ARGS_NONE ? " " : "", args_synopsis[commands[k].args]);
        print_item(f, left, commands[k].summary);
    }
    fputs("\nOptions (before or after the command; -- ends them):\n", f);
    for (size_t k = 0; k < N_OPTIONS; k++)
        print_option(f, &options_table[k], 1);
    fputs("\n'provision help COMMAND': what COMMAND does, its options and what it opens.\n"
          "\n"
          "Exit status: 0 done (or nothing to do), 1 failed, 2 bad usage or input,\n"
          "3 some sites failed and the rest were done; check: 4 findings.\n",
          f);
}

/* "usage: provision [OPTIONS] plan [-o FILE] SITES...", and one more line
 * for each option that takes the place of the arguments. */
static void print_synopsis(FILE *f, const struct command *c)
{
    char flags[256] = "";
    size_t used = 0;
    for (size_t k = 0; k < N_OPTIONS; k++) {
        const struct option_def *d = &options_table[k];
        if (d->only_for && option_for(d, c->name) && !d->replaces_args)
            used += snprintf(flags + used, sizeof flags - used, " [%s%s%s]",
                             d->short_name ? d->short_name : d->long_name, d->value ? " " : "",
                             d->value ? d->value : "");
        if (used >= sizeof flags)
            used = sizeof flags - 1;
    }
    fprintf(f, "usage: provision [OPTIONS] %s%s%s%s\n", c->name, flags,
            c->args != ARGS_NONE ? " " : "", args_synopsis[c->args]);
    for (size_t k = 0; k < N_OPTIONS; k++) {
        const struct option_def *d = &options_table[k];
        if (d->only_for && option_for(d, c->name) && d->replaces_args)
            fprintf(f, "       provision [OPTIONS] %s%s %s %s\n", c->name, flags, d->long_name,
                    d->value ? d->value : "");
    }
}

static void print_command_help(FILE *f, const struct command *c)
{
    print_synopsis(f, c);
    fprintf(f, "\n%s: %s.\n\n  ", c->name, c->summary);
    print_indented(f, c->help, 2);
    int any = 0;
    for (size_t k = 0; k < N_OPTIONS; k++) {
        const struct option_def *d = &options_table[k];
        if (!d->only_for || !option_for(d, c->name))
            continue;
        if (!any++)
            fprintf(f, "\nOptions for %s (before or after the command):\n", c->name);
        print_option(f, d, 0);
    }
    fputs("\nOpens:", f);
    if (!c->opens)
        fputs(" nothing", f);
    fputc('\n', f);
    for (size_t b = 0; b < sizeof opens_names / sizeof *opens_names; b++)
        if ((c->opens >> b) & 1)
            fprintf(f, "  %s\n", opens_names[b]);
    fputs("\nThe general options (-c, -v, -q, --json): provision --help.\n", f);
}

static const struct command *find_command(const char *name)
{
    for (size_t k = 0; k < N_COMMANDS; k++)
        if (!strcmp(commands[k].name, name))
            return &commands[k];
    return NULL;
}

static void print_command_names(FILE *f)
{
    for (size_t k = 0; k < N_COMMANDS; k++)
        fprintf(f, "%s%s", k ? ", " : "", commands[k].name);
    fputc('\n', f);
}

static int cmd_help(const struct options *o, int n, char **args)
{
    (void)o;
    if (n == 0) {
        print_usage(stdout);
        return EXIT_DONE;
    }
    const struct command *c = find_command(args[0]);
    if (!c) {
        fprintf(stderr, "provision: help: no command '%s'; the commands are: ", args[0]);
        print_command_names(stderr);
        return EXIT_USAGE;
    }
    print_command_help(stdout, c);
    return EXIT_DONE;
}

static int usage_error(void)
{
    print_usage(stderr);
    return EXIT_USAGE;
}

/* A usage error of command C: its synopsis, not the whole usage. */
static int command_error(const struct command *c)
{
    print_synopsis(stderr, c);
    fprintf(stderr, "(provision help %s)\n", c->name);
    return EXIT_USAGE;
}

/* The option argv[*i] (taking its value from the next argument when it has
 * one, or after '=' in --name=VALUE): its index, with *value and *spelled
 * (the name as written); or -1 after a message. */
static int parse_option(int argc, char **argv, int *i, const char **value, const char **spelled)
{
    const char *a = argv[*i];
    const char *eq = !strncmp(a, "--", 2) ? strchr(a, '=') : NULL;
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    for (int k = 0; k < N_OPTIONS; k++) {
        const struct option_def *d = &options_table[k];
        int is_short = d->short_name && !eq && !strcmp(a, d->short_name);
        if (!is_short && (strlen(d->long_name) != len || strncmp(a, d->long_name, len) != 0))
            continue;
        *spelled = is_short ? d->short_name : d->long_name;
        *value = NULL;
        if (!d->value) {
            if (eq) {
                fprintf(stderr, "provision: %s takes no value\n", d->long_name);
                return -1;
            }
            return k;
        }
        if (eq)
            *value = eq + 1;
        else if (*i + 1 < argc)
            *value = argv[++*i];
        if (!*value || !**value) {
            fprintf(stderr, "provision: %s needs a file name\n", *spelled);
            return -1;
        }
        return k;
    }
    fprintf(stderr, "provision: unknown option %s\n", a);
    return -1;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    o.conf_path = getenv("PROVISION_CONF");
    if (!o.conf_path || !*o.conf_path)
        o.conf_path = "/etc/provision/provision.ini";

    /* Options anywhere until "--"; the first other argument is the command,
     * the rest its arguments, gathered at the front of argv. */
    const char *given[N_OPTIONS] = {0}; /* as spelled */
    const char *name = NULL;
    int n = 0, end_of_options = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!end_of_options && a[0] == '-' && a[1]) {
            if (!strcmp(a, "--")) {
                end_of_options = 1;
                continue;
            }
            const char *value, *spelled;
            int k = parse_option(argc, argv, &i, &value, &spelled);
            if (k < 0)
                return usage_error();
            given[k] = spelled;
            switch (k) {
            case OPT_CONFIG:
                o.conf_path = value;
                break;
            case OPT_VERBOSE:
                o.verbosity = 1;
                break;
            case OPT_QUIET:
                o.verbosity = -1;
                break;
            case OPT_JSON:
                o.json = true;
                break;
            case OPT_OUTPUT:
                o.plan_out = value;
                break;
            case OPT_PLAN:
                o.plan_in = value;
                break;
            case OPT_ROTATE:
                o.rotate_passwords = true;
                break;
            case OPT_REMOVE:
                o.remove_folders = true;
                break;
            case OPT_SITES:
                o.sites_from_lists = true;
                break;
            case OPT_DEEP:
                o.deep = true;
                break;
            case OPT_PROVE:
                o.prove = true;
                break;
            case OPT_TIMINGS:
                timings_enable();
                break;
            }
            continue;
        }
        if (!name)
            name = a;
        else
            argv[1 + n++] = a; /* 1 + n < i: already read */
    }
    char **args = argv + 1;

    if (given[OPT_VERSION]) {
        printf("provision %s\n", PROVISION_VERSION);
        return EXIT_DONE;
    }
    const struct command *c = name ? find_command(name) : NULL;
    if (name && !c) {
        fprintf(stderr, "provision: unknown command '%s'\n", name);
        return usage_error();
    }
    if (given[OPT_HELP]) {
        if (c)
            print_command_help(stdout, c);
        else
            print_usage(stdout);
        return EXIT_DONE;
    }
    if (!c) {
        fputs("provision: no command\n", stderr);
        return usage_error();
    }

    const struct option_def *instead = NULL; /* an option in place of the arguments */
    for (int k = 0; k < N_OPTIONS; k++) {
        const struct option_def *d = &options_table[k];
        if (given[k] && !option_for(d, c->name)) {
            char list[128];
            commands_text(d->only_for, list, sizeof list);
            fprintf(stderr, "provision: %s is only for %s, not %s\n", given[k], list, c->name);
            return command_error(c);
        }
        if (given[k] && d->replaces_args)
            instead = d;
    }
    if (instead && n > 0) {
        fprintf(stderr, "provision: %s takes %ss or %s %s, not both\n", c->name, args_noun[c->args],
                instead->long_name, instead->value);
        return command_error(c);
    }
    if (!instead && n == 0 && (c->args == ARGS_SITES || c->args == ARGS_NAMES)) {
        const struct option_def *alt = NULL;
        for (int k = 0; k < N_OPTIONS; k++)
            if (options_table[k].replaces_args && options_table[k].only_for &&
                option_for(&options_table[k], c->name))
                alt = &options_table[k];
        if (alt)
            fprintf(stderr, "provision: %s needs %ss or %s %s\n", c->name, args_noun[c->args],
                    alt->long_name, alt->value);
        else
            fprintf(stderr, "provision: %s needs at least one %s\n", c->name, args_noun[c->args]);
        return command_error(c);
    }
    if ((c->args == ARGS_NONE && n > 0) || (c->args == ARGS_COMMAND && n > 1)) {
        fprintf(stderr, "provision: %s takes %s\n", c->name,
                c->args == ARGS_NONE ? "no arguments" : "at most one command");
        return command_error(c);
    }

    xmlInitParser();
    int rc = c->run(&o, n, args);
    xmlCleanupParser();
    timings_print(stderr);
    return rc;
}
