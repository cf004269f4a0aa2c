/* SPDX-License-Identifier: GPL-3.0-or-later */
/* For the implementations of ldap/directory.h only (the module, and the
 * in-memory directory of the unit tests, tests/unit/fake/): the steps of
 * the contract that need no connection, written once so that both give the
 * same answers and messages. */
#ifndef LDAP_DIRECTORY_COMMON_H
#define LDAP_DIRECTORY_COMMON_H

#include "ldap/directory.h"

#include <stdbool.h>

/* The bind settings of cfg (either sasl_gssapi alone, or bind_dn with
 * exactly one of password_file and password_env; no empty group) and the
 * password they name, read before any traffic: a password file must be a
 * regular file of this user or root, mode 0600, at most 4 KiB. *password
 * (heap, free_secret it) stays NULL with sasl_gssapi. 0, or -1 with a
 * message. */
int dir_bind_credentials(const struct dir_config *cfg, char **password, struct diag *d);

/* The transport settings for a URI of that scheme: gssapi_seal needs
 * sasl_gssapi and an ldap:// URI; the CA file, when TLS uses it, is
 * readable. 0, or -1 with a message. */
int dir_transport_check(const struct dir_config *cfg, bool ldaps, struct diag *d);

/* Starts dir_create_accounts: every item's result set to -1 and account
 * cleared; returns the label messages use for the batch (caller frees), or
 * NULL when n is 0. */
char *dir_create_begin(struct dir_create_item *items, size_t n);

#endif
