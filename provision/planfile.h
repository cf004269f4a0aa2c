/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Saved plans: `provision plan -o FILE` writes what apply would change and
 * what that relies on; `provision apply --plan FILE` executes it only when
 * nothing it relies on changed since.
 *
 * Format (version 1), TAB-separated fields escaped as journal.h says:
 *   provision-plan  1
 *   conf    PATH  SHA256          the configuration file
 *   list    PATH  SHA256          each site list, in order
 *   dep     KIND  NAME  VALUE     what the plan relies on, sorted: config
 *                                 objects ("site", "pool", "location",
 *                                 "defaults": SHA-256 of their bytes, or
 *                                 "absent"), accounts (DN, SID and marker,
 *                                 or "absent"), descriptors read (SHA-256)
 *   change  TEXT                  the planned changes, one line each
 *   hmac    HEX                   HMAC-SHA256 of every line above, keyed
 *                                 with STATE/plan.key
 * No secrets: passwords are generated when the plan is executed. The key
 * is made (32 random bytes, 0600) by the first `plan -o` on a machine, so
 * a plan applies only with the state folder it was made with: an edited
 * plan, or one made elsewhere, is refused. */
#ifndef PROVISION_PLANFILE_H
#define PROVISION_PLANFILE_H

#include "provision/util.h"

#include <stdbool.h>
#include <stddef.h>

#define PLANFILE_VERSION 1

struct plan_dep {
    char *kind, *name, *value;
};

struct planfile {
    char *conf_path, *conf_hash;
    char **lists, **list_hashes;
    size_t n_lists;
    struct plan_dep *deps;
    size_t n_deps;
    char **changes;
    size_t n_changes;
};

void planfile_init(struct planfile *p);
void planfile_free(struct planfile *p);
/* Records a dependency; a second one of the same kind and name keeps the
 * first value (what the plan saw first). */
void planfile_dep(struct planfile *p, const char *kind, const char *name, const char *value);
void planfile_change(struct planfile *p, const char *line);
void planfile_list(struct planfile *p, const char *path, const char *hash);
/* Sorts the dependencies (kind, then name). */
void planfile_sort(struct planfile *p);

/* SHA-256 hex of a file's bytes into out[65]. 0 or -1 with a message. */
int file_sha256(const char *path, char out[65], struct diag *d);

/* Writes p to path (0600, replacing it) with the HMAC. 0 or -1. */
int planfile_write(const struct planfile *p, const char *path, const char *state_dir,
                   struct diag *d);
/* Reads and checks (version, HMAC). 0 or -1 with a message naming the
 * file (and the line). */
int planfile_read(struct planfile *p, const char *path, const char *state_dir, struct diag *d);

/* The lines of a plan (from the version line up to the hmac line, which
 * is not part of it), without the signature check: for planfile_read and
 * the fuzz target. name is used in messages. 0 or -1. */
int planfile_parse(struct planfile *p, const char *data, size_t len, const char *name,
                   struct diag *d);

/* Compares a saved plan with the same plan made now: each dependency that
 * changed, appeared or vanished, and a difference in the changes, as
 * messages naming the object. 0 when equal. */
int planfile_compare(const struct planfile *saved, const struct planfile *now, struct diag *d);

#endif
