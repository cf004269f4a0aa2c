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

/* Adoption (dir_check_adoption), the parts that need no connection.
 * The message: "ldap: refusing to adopt account SAM (DN) on SERVER:
 * REASON". Caller frees. */
char *dir_adoption_refusal(const char *sam, const char *dn, const char *server, const char *reason);
/* The first steps of dir_check_adoption, the same for the directory and
 * its fake: -1 (no DN: a caller's error), 0 refused because adopt_unmarked
 * is off (said in d), 1 to go on judging the account itself. */
int dir_adoption_gate(const struct dir_account *acct, bool adopt_unmarked, const char *server,
                      struct diag *d);
/* The reason an object is no ordinary user account, or NULL: kind as the
 * objectClass values say ("user", "computer", "group", "object"), uac
 * (has_uac false: the object has none), sid (objectSid, text; NULL: none).
 * Caller frees. */
char *dir_adoption_object_problem(const char *kind, bool has_uac, unsigned long uac,
                                  const char *sid);
/* The reason for an account outside the template's OU: parent is the DN
 * it sits in, ou the template's (absolute). Caller frees. */
char *dir_adoption_ou_reason(const char *parent, const char *ou);
/* Which tokenGroups SIDs are not acceptable: those not in allowed[] and
 * the administrative ones (account.h dir_sid_protected_group) wherever
 * they are. Their indexes go to out (room for n_token), administrative
 * ones first; returns how many. */
size_t dir_adoption_offenders(const char *const *token, size_t n_token, const char *const *allowed,
                              size_t n_allowed, size_t *out);
/* The reason for those: sids[i] with dns[i] (NULL when unknown), the
 * first four named. Caller frees. */
char *dir_adoption_groups_reason(const char *const *sids, const char *const *dns, size_t n);

/* Replication wait (dir_wait_replica): the pause after a poll that did
 * not see everything, prev_ms the one before (0: the first): 250 ms,
 * doubling, at most 5 s. */
long dir_replica_next_delay(long prev_ms);
/* The message when the wait ends without every item seen: names the
 * server, the time waited, why (timeout, stopped, or a failure that is not
 * retried), the items not seen (the first five) and the last error (may be
 * NULL). Caller frees. */
char *dir_replica_failure(const char *server, long waited_ms, const char *why,
                          const struct dir_replica_item *items, size_t n, const char *last_error);

#endif
