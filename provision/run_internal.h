/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Between the command files: the one engine that validate, plan, apply and
 * destroy share (run.c; run_site.c for one site's steps, run_config.c for
 * its write of the IIS configuration), and the saved plans built on it
 * (cmd_plan_apply.c). */
#ifndef PROVISION_RUN_INTERNAL_H
#define PROVISION_RUN_INTERNAL_H

#include "provision/planfile.h"
#include "provision/run.h"

#include "provision/conf.h"
#include "provision/iis/apphost.h"
#include "provision/iis/configfile.h"
#include "provision/report.h"
#include "provision/site.h"
#include "provision/template.h"
#include "provision/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mode { MODE_VALIDATE, MODE_PLAN, MODE_APPLY, MODE_DESTROY };

/* One command over its site lists: the input it loaded and its report. */
struct session {
    const struct options *o;
    struct conf conf;
    bool conf_loaded;
    struct template_set ts;
    struct site_list list;
    struct site_model *models;
    size_t n_models;
    struct report rep;
    char *state_dir; /* apply, destroy */
    /* plan: record what the plan relies on and its changes (saved plans);
     * quiet: print nothing (apply --plan's check) */
    struct planfile *capture;
    bool quiet;
};

/* The write-ahead journal's view of the grant engine: which site the
 * effects belong to. */
struct effect_ctx {
    struct journal *journal;
    struct strmap planned;    /* folders announced in the current site's group */
    const char *planned_site; /* the site they belong to */
    struct planfile *deps;    /* plan: the descriptors read */
    const char *site;
    bool stop_on_interrupt; /* apply: a SIGINT undoes the current site */
};

/* What one run holds open: the directory, the content location, the
 * journal. */
struct systems {
    struct account_run *accts;
    struct folder_run *folders; /* NULL: folders and grants are not managed */
    struct journal *journal;    /* apply and destroy */
    struct effect_ctx effects;
};

/* One run once its input is loaded: what it opened, what it decided per
 * site, and how far it got. */
struct run {
    enum mode mode;
    bool changes; /* apply or destroy */
    struct configfile cf;
    bool cf_open;
    struct apphost *ah;
    struct systems sys;
    struct account_step *steps; /* per site */
    bool *failed;               /* per site */
    bool left;                  /* work left for provision recover (after the write) */
    bool recover_now;           /* the run's own journal is recovered at its end */
};

/* Classifies the messages a call added (util.h's error model) and passes
 * its result on. */
static inline int classified(int rc, struct diag *d, size_t mark, enum diag_class c,
                             const char *object)
{
    diag_classify(d, mark, c, object);
    return rc;
}

/* How often a write is tried again after other tools wrote the file. */
#define CONFIG_WRITE_ATTEMPTS 10

/* One site's steps (run_site.c). prepare_site: the IIS rules checked and
 * the account looked up and decided (plan and apply). create_accounts: the
 * accounts of all sites made together (apply); with early (per site, 0 on
 * entry) a site's folders and grants are made as soon as its account is,
 * early[i] then 1 (done) or -1 (failed). complete_site: the site's folders
 * and grants (unless early says they were done) and its IIS edits, undone
 * when a step fails. destroy_site: the account looked up, the IIS
 * configuration edited; the grants and the account go after the write.
 * Each returns 0 or -1 with the site's messages in sr. */
int prepare_site(struct session *s, struct apphost *ah, struct systems *sys, struct site_model *m,
                 struct account_step *step, struct site_report *sr);
void create_accounts(struct session *s, struct run *r, int8_t *early);
int complete_site(struct apphost *ah, struct systems *sys, struct site_model *m,
                  struct account_step *step, struct site_report *sr, bool dry_run, int early);
int destroy_site(struct apphost *ah, struct systems *sys, struct site_model *m,
                 struct account_step *step, struct site_report *sr);

/* The one replace of the config with the run's edits, announced in the
 * journal first (run_config.c). */
int write_config(struct session *s, struct systems *sys, struct apphost *ah, struct configfile *cf);

/* Another tool wrote the config meanwhile: the run's edits redone on its content. */
int merge_other_change(struct session *s, struct run *r);

/* Runs one command over the site lists. With capture (plan only), records
 * the plan's dependencies and changes there; quiet prints only errors. */
int run_sites(const struct options *o, int n, char **lists, enum mode mode,
              struct planfile *capture, bool quiet);

/* plan -o: records in s->capture what the plan relies on (the inputs'
 * hashes, the config objects of its sites, the accounts it looked up) and
 * its changes (cmd_plan_apply.c). */
void capture_plan(struct session *s, const struct apphost *ah, const struct account_step *steps,
                  char **lists, int n_lists);

/* Reads the IIS configuration of c, without a lock, and loads it: for the
 * commands that only read it (list, check, import; cmd_list.c). NULL with
 * messages in d. */
struct apphost *read_iis_config(const struct conf *c, struct diag *d);

#endif
