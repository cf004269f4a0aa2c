/* SPDX-License-Identifier: GPL-3.0-or-later */
/* provision: onboard web sites onto IIS from Linux. The command table maps
 * each sub-command to one function in run.c. */
#include "provision/run.h"
#include "version.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: provision [-c CONF] [-v|-q] [--json] COMMAND [ARGS...]\n"
    "\n"
    "  validate SITES...  check configuration, templates and site lists; no connection\n"
    "  plan SITES...      show what apply would change; changes nothing\n"
    "  apply SITES...     make it so; a second apply changes nothing\n"
    "  destroy SITES...   remove the sites, their locations and dedicated pools\n"
    "  list               the sites in the IIS configuration\n"
    "  sid NAME...        the SID of a well-known name or IIS AppPool\\NAME\n"
    "\n"
    "  -c, --config CONF  configuration file (default: $PROVISION_CONF or\n"
    "                     /etc/provision/provision.ini)\n"
    "  -v, --verbose      also list unchanged sites\n"
    "  -q, --quiet        print errors only\n"
    "      --json         print one JSON document\n"
    "      --rotate-passwords  apply: set new passwords for the sites' AD accounts\n"
    "      --remove-folders    destroy: also remove the sites' folders that are empty\n"
    "                          (files are never deleted)\n"
    "      --version      print the version\n"
    "\n"
    "Exit status: 0 done (or nothing to do), 1 failed, 2 bad usage or input,\n"
    "3 some sites failed and the rest were done.\n";

struct command {
    const char *name;
    int needs_args; /* 1: one or more, 0: none */
    int (*run_lists)(const struct options *, int, char **);
};

static const struct command commands[] = {
    {"validate", 1, run_validate}, {"plan", 1, run_plan}, {"apply", 1, run_apply},
    {"destroy", 1, run_destroy},   {"list", 0, NULL},     {"sid", 1, run_sid},
};

int main(int argc, char **argv)
{
    struct options o = {0};
    o.conf_path = getenv("PROVISION_CONF");
    if (!o.conf_path || !*o.conf_path)
        o.conf_path = "/etc/provision/provision.ini";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (++i >= argc) {
                fprintf(stderr, "provision: %s needs a file\n%s", a, usage);
                return EXIT_USAGE;
            }
            o.conf_path = argv[i];
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbosity = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.verbosity = -1;
        } else if (!strcmp(a, "--rotate-passwords")) {
            o.rotate_passwords = true;
        } else if (!strcmp(a, "--remove-folders")) {
            o.remove_folders = true;
        } else if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (!strcmp(a, "--version")) {
            printf("provision %s\n", PROVISION_VERSION);
            return EXIT_DONE;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return EXIT_DONE;
        } else {
            fprintf(stderr, "provision: unknown option %s\n%s", a, usage);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[i++];
    for (size_t k = 0; k < sizeof commands / sizeof *commands; k++) {
        const struct command *c = &commands[k];
        if (strcmp(c->name, name) != 0)
            continue;
        int nargs = argc - i;
        if (c->needs_args && nargs == 0) {
            fprintf(stderr, "provision: %s needs at least one argument\n%s", name, usage);
            return EXIT_USAGE;
        }
        if (!c->needs_args && nargs) {
            fprintf(stderr, "provision: %s takes no arguments\n", name);
            return EXIT_USAGE;
        }
        xmlInitParser();
        int rc = c->run_lists ? c->run_lists(&o, nargs, argv + i) : run_list(&o);
        xmlCleanupParser();
        return rc;
    }
    fprintf(stderr, "provision: unknown command '%s'\n%s", name, usage);
    return EXIT_USAGE;
}
