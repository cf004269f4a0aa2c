/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared by the cmocka unit tests that check messages (include after
 * cmocka.h): "some message says all of these", and the messages shown when
 * it fails. */
#ifndef PROVISION_TESTMSG_H
#define PROVISION_TESTMSG_H

#include "provision/util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

/* True when some message contains every one of the NULL-ended needles. */
static inline bool said(const struct diag *d, ...)
{
    for (size_t i = 0; i < d->count; i++) {
        va_list ap;
        va_start(ap, d);
        bool all = true;
        for (const char *s; (s = va_arg(ap, const char *));)
            all = all && strstr(d->msgs[i], s) != NULL;
        va_end(ap);
        if (all)
            return true;
    }
    return false;
}

static inline void dump(const struct diag *d)
{
    for (size_t i = 0; i < d->count; i++)
        print_message("  message: %s\n", d->msgs[i]);
}

#define assert_said(d, ...)                                                                        \
    do {                                                                                           \
        if (!said(d, __VA_ARGS__, (const char *)NULL)) {                                           \
            dump(d);                                                                               \
            fail_msg("no message with: %s", #__VA_ARGS__);                                         \
        }                                                                                          \
    } while (0)

#endif
