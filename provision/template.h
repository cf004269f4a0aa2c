/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Site templates: INI files in the templates folder, one per name, with
 * `extends` between them (cycles refused) and ${var} expansion. The keys are
 * documented in templates/README.md; anything else is an error naming file,
 * line and key. */
#ifndef PROVISION_TEMPLATE_H
#define PROVISION_TEMPLATE_H

#include "provision/util.h"

/* One key of a resolved template, with where it was written. Keys that may
 * repeat (lists) keep every value in order. */
struct tvalue {
    char *section, *key;
    char **values;
    size_t n_values;
    char *file;
    unsigned line;
};

struct template
{
    char *name;
    char *path;
    struct tvalue *vals;
    size_t n;
};

struct template_set {
    char *dir;
    struct strmap loaded; /* name -> struct template* */
    struct strmap failed; /* name -> non-NULL: already reported */
};

void template_set_init(struct template_set *ts, const char *dir);
/* Frees and zeroes *ts; safe on a zeroed one. */
void template_set_free(struct template_set *ts);
/* Loads (once) and resolves template `name`. NULL with messages on error;
 * `from` names who asked (file:line) for the "not found" message. */
const struct template *template_get(struct template_set *ts, const char *name, const char *from,
                                    struct diag *d);
const struct tvalue *template_value(const struct template *t, const char *section, const char *key);

/* Variables for ${name} expansion. */
struct vars {
    char **names, **values;
    size_t n;
};
void vars_set(struct vars *v, const char *name, const char *value);
const char *vars_get(const struct vars *v, const char *name);
void vars_free(struct vars *v);
/* Expands ${name} (and $$ to $). NULL with a reason in *why (malloc'd) when
 * a variable is undefined or the syntax is wrong. */
char *expand(const char *text, const struct vars *v, char **why);

#endif
