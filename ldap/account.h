/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pure pieces of an AD account: the sAMAccountName rules, the marker that
 * says "managed by provision", objectSid and objectGUID in text form, and
 * the unicodePwd encoding. No I/O, no libldap. */
#ifndef PROVISION_LDAP_ACCOUNT_H
#define PROVISION_LDAP_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest sAMAccountName of a user, in UTF-16 code units (Windows counts
 * that way; Samba 4.17 accepts 21, so this module enforces it itself). */
#define DIR_SAM_MAX 20

/* NULL if sam is an acceptable sAMAccountName for a new user, else a short
 * phrase saying why not ("is longer than 20 characters"). Rules: valid
 * UTF-8, 1..20 UTF-16 code units, none of " / \ [ ] : ; | = , + * ? < > @,
 * no control characters (C0, DEL, C1), no leading or trailing space, not
 * only dots and spaces. */
const char *dir_sam_problem(const char *sam);

/* The marker. Attribute adminDescription, value "provision:site=<site>".
 * Why adminDescription (checked against the lab DC):
 *  - it is in every object's schema (top), single-valued, up to 1024
 *    characters, and no tool or person uses it for day-to-day notes;
 *  - its property set is General-Information, which a user may NOT write
 *    on their own object, whereas `info` (Notes) and the telephone fields
 *    belong to Personal-Information, which SELF may write by default: a plain
 *    user could mark their own account "managed" and get the tool to delete
 *    it or reset its password. Checked: a bind as an ordinary user can
 *    replace its own `info`, and gets 00002098 insufficient access on
 *    adminDescription;
 *  - ADUC shows it in the Attribute Editor only, so it is not edited by
 *    accident. */
#define DIR_MARKER_ATTR   "adminDescription"
#define DIR_MARKER_PREFIX "provision:"

/* "provision:site=<site>" (caller frees). site may be NULL or empty:
 * "provision:". */
char *dir_marker_value(const char *site);
/* True if value is a provision marker; *site (if not NULL) gets the site
 * name as a new string, or NULL when the marker names none. */
bool dir_marker_parse(const char *value, char **site);

/* objectSid (binary) to "S-1-5-21-...". buf needs 192 bytes at most.
 * Returns 0, or -1 if the bytes are not a SID (revision 1, at most 15
 * sub-authorities, exact length). */
int dir_sid_to_string(const void *bin, size_t n, char *buf, size_t len);

/* objectGUID (16 bytes as AD stores them: the first three fields little-
 * endian) to "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case. buf needs
 * 37 bytes. Returns 0, or -1 if n != 16 or buf is too small. */
int dir_guid_to_string(const void *bin, size_t n, char *buf, size_t len);
/* The reverse (upper or lower case hex). Returns 0, or -1 if malformed. */
int dir_guid_from_string(const char *s, unsigned char out[16]);

/* The RID (last sub-authority) of a domain account's SID
 * "S-1-5-21-A-B-C-RID": true, *rid set and, when domain is not NULL, the
 * SID without "-RID" copied there (len bytes; false if it does not fit).
 * False for any other SID (S-1-5-32-544, S-1-5-18, a malformed string). */
bool dir_sid_domain_rid(const char *sid, char *domain, size_t len, unsigned long *rid);

/* Lowest RID of an account made by someone: below it are the built-in
 * accounts and groups (Administrator 500, Guest 501, krbtgt 502,
 * DefaultAccount 503, Domain Admins 512, Domain Users 513, ...). */
#define DIR_FIRST_ORDINARY_RID 1000
#define DIR_RID_DOMAIN_USERS   513

/* The name of the administrative group sid is, or NULL. These groups are
 * never acceptable for an adopted account, whatever [directory]
 * adopt_group says: the groups AdminSDHolder protects (MS-ADTS 3.1.1.6.1.2:
 * Administrators, Account, Server, Print and Backup Operators, Replicator;
 * Domain Admins, Domain Controllers, Schema Admins, Enterprise Admins,
 * Read-only Domain Controllers, Key Admins, Enterprise Key Admins) plus
 * Enterprise Read-only Domain Controllers and Group Policy Creator Owners
 * (whose members write the policies every computer applies). Domain RIDs
 * are matched in any domain of the forest (S-1-5-21-*-RID). */
const char *dir_sid_protected_group(const char *sid);

/* userAccountControl (MS-ADTS 2.2.16) bits that make an object something
 * else than an ordinary user account a pool could run as. */
#define DIR_UAC_TEMP_DUPLICATE_ACCOUNT         0x100u
#define DIR_UAC_NORMAL_ACCOUNT                 0x200u
#define DIR_UAC_INTERDOMAIN_TRUST_ACCOUNT      0x800u
#define DIR_UAC_WORKSTATION_TRUST_ACCOUNT      0x1000u
#define DIR_UAC_SERVER_TRUST_ACCOUNT           0x2000u
#define DIR_UAC_TRUSTED_FOR_DELEGATION         0x80000u
#define DIR_UAC_TRUSTED_TO_AUTH_FOR_DELEGATION 0x1000000u
#define DIR_UAC_PARTIAL_SECRETS_ACCOUNT        0x4000000u

/* NULL when uac is that of an ordinary user account (NORMAL_ACCOUNT set,
 * none of the bits above), else a phrase naming the first bit that makes
 * it something else, e.g. "a workstation trust (computer) account
 * (WORKSTATION_TRUST_ACCOUNT)" or "trusted for delegation
 * (TRUSTED_FOR_DELEGATION): its password would let anyone who reads the
 * IIS configuration act as other users". Delegation
 * is refused because a password written in clear into
 * applicationHost.config would hand that right to every reader. */
const char *dir_uac_problem(unsigned long uac);

/* unicodePwd value: the password in double quotes, UTF-16LE. Returns a new
 * buffer (wipe and free it) and its size in *len, or NULL if the password
 * is not valid UTF-8 or contains a NUL-free but empty string. */
unsigned char *dir_unicode_pwd(const char *password, size_t *len);

#endif
