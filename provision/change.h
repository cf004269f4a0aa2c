/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a run changes, object by object: the common currency between the
 * system modules (which find the differences) and the reporting (which prints
 * them). A change is "+" created, "~" changed, "-" removed. Attributes marked
 * secret never carry their values. */
#ifndef PROVISION_CHANGE_H
#define PROVISION_CHANGE_H

#include <stdbool.h>
#include <stddef.h>

struct change_attr {
    char *name;
    char *old_value; /* NULL when the attribute was absent or is secret */
    char *new_value; /* NULL when removed or secret */
    bool secret;
};

struct change {
    char op;      /* '+', '~' or '-' */
    char *kind;   /* "pool", "site", "location", "account", "folder", "grant" */
    char *object; /* its name */
    char *note;   /* optional remark, e.g. "kept: encrypted by IIS" */
    struct change_attr *attrs;
    size_t n_attrs;
};

struct changes {
    struct change *items;
    size_t count, cap;
};

void changes_init(struct changes *c);
struct change *changes_add(struct changes *c, char op, const char *kind, const char *object);
void change_attr(struct change *ch, const char *name, const char *old_value, const char *new_value);
void change_secret(struct change *ch, const char *name);
void change_note(struct change *ch, const char *note);
/* Drops the entries from index `keep` on (to undo a failed site's records). */
void changes_truncate(struct changes *c, size_t keep);
/* Drops the entries of the NULL-ended kinds and moves every entry of
 * `from` to the end of c (from is left empty). */
void changes_replace_kinds(struct changes *c, const char *const *kinds, struct changes *from);
void changes_free(struct changes *c);

#endif
