/* SPDX-License-Identifier: GPL-3.0-or-later */
/* INI files through inih, with what Debian's build of it lacks: line numbers
 * for every key and section, a clear error for lines longer than inih's
 * 200-byte buffer (which it would otherwise cut into bogus keys), UTF-8
 * checks, and no silent continuation lines (inih's INI_ALLOW_MULTILINE,
 * on in that build, would join an indented line to the value above). Values
 * do not span lines: an indented line is an error. */
#ifndef PROVISION_INI_H
#define PROVISION_INI_H

#include "provision/util.h"

struct ini_entry {
    char *section; /* as written between [ ], trimmed */
    char *key;
    char *value;
    unsigned line;
};

struct ini_section {
    char *name;
    unsigned line;
};

struct ini_file {
    char *path;
    struct ini_entry *entries; /* in file order */
    size_t count;
    struct ini_section *sections; /* every [section] line, in order, repeats included */
    size_t n_sections;
};

/* The longest line accepted, newline excluded. */
#define INI_LINE_MAX 198

/* Reads path. On error adds messages naming path and line and returns -1,
 * with nothing left allocated and *out zeroed. */
int ini_load(const char *path, struct ini_file *out, struct diag *d);
/* The same on bytes already in memory; name is used in messages. */
int ini_load_text(const char *name, const char *text, size_t len, struct ini_file *out,
                  struct diag *d);
/* Frees and zeroes *f; safe on a zeroed struct, and so twice. */
void ini_free(struct ini_file *f);

#endif
