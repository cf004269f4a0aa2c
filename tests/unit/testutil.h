/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared by the unit tests: fixtures are read from tests/fixtures (the tests
 * run from the repository root). */
#ifndef PROVISION_TESTUTIL_H
#define PROVISION_TESTUTIL_H

#include "provision/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *fixture(const char *name, size_t *len)
{
    char *path = xasprintf("tests/fixtures/%s", name);
    char *data;
    if (read_file(path, &data, len) < 0) {
        fprintf(stderr, "cannot read %s (run from the repository root)\n", path);
        abort();
    }
    free(path);
    return data;
}

static inline char *dup_text(const char *s, size_t *len)
{
    *len = strlen(s);
    return xstrdup(s);
}

#endif
