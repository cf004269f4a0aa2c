/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Escaping of values that go into LDAP filters (RFC 4515) and into DN
 * attribute values (RFC 4514). Pure functions: no I/O, no libldap. Inputs are
 * length-delimited so that a NUL inside a hostile value is escaped, not
 * silently cut off. */
#ifndef PROVISION_LDAP_ESCAPE_H
#define PROVISION_LDAP_ESCAPE_H

#include <stddef.h>

/* RFC 4515 assertion value: '*', '(', ')', '\' and NUL become \2a \28 \29
 * \5c \00. Other bytes, including UTF-8 sequences, are kept as they are.
 * Returns a new string (caller frees), or NULL if [s, s+n) is not valid
 * UTF-8 (AD compares strings as Unicode; a broken sequence is a caller bug
 * or an attack, never something to send). */
char *dir_escape_filter(const char *s, size_t n);

/* RFC 4515 assertion value for binary data (objectGUID, objectSid): every
 * byte as \xx. Never fails. */
char *dir_escape_filter_bytes(const void *p, size_t n);

/* RFC 4514 attribute value for a DN: '"', '+', ',', ';', '<', '>', '\' and
 * '=' get a backslash; a leading '#' or space and a trailing space get a
 * backslash; NUL and the other C0 controls and DEL become \xx (AD writes
 * CR and LF that way too). Non-ASCII UTF-8 is kept. Returns a new string, or
 * NULL if not valid UTF-8. */
char *dir_escape_dn_value(const char *s, size_t n);

#endif
