/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Security identifiers (MS-DTYP 2.4.2): text and binary forms, the well-known
 * names the provisioner needs, and IIS AppPool virtual-account SIDs. Pure
 * logic: no I/O, no allocation. */
#ifndef PROVISION_NTFS_SID_H
#define PROVISION_NTFS_SID_H

#include <stddef.h>
#include <stdint.h>

#define NTFS_SID_MAX_SUB 15
/* Largest binary SID: 8 + 15 * 4 bytes. */
#define NTFS_SID_MAX_BYTES 68
/* Enough for "S-255-0xffffffffffff" plus 15 "-4294967295" and the NUL. */
#define NTFS_SID_STRING_MAX 192

/* Well-known SIDs, named as in MS-DTYP 2.4.2.4 (Well-Known SID
 * Structures). The string forms, for ntfs_sid_parse. */
#define NTFS_SID_EVERYONE               "S-1-1-0"
#define NTFS_SID_CREATOR_OWNER          "S-1-3-0"
#define NTFS_SID_CREATOR_GROUP          "S-1-3-1"
#define NTFS_SID_INTERACTIVE            "S-1-5-4"
#define NTFS_SID_ANONYMOUS              "S-1-5-7"
#define NTFS_SID_AUTHENTICATED_USERS    "S-1-5-11"
#define NTFS_SID_IUSR                   "S-1-5-17"
#define NTFS_SID_LOCAL_SYSTEM           "S-1-5-18"
#define NTFS_SID_LOCAL_SERVICE          "S-1-5-19"
#define NTFS_SID_NETWORK_SERVICE        "S-1-5-20"
#define NTFS_SID_BUILTIN_ADMINISTRATORS "S-1-5-32-544"
#define NTFS_SID_BUILTIN_USERS          "S-1-5-32-545"
#define NTFS_SID_IIS_IUSRS              "S-1-5-32-568"

struct ntfs_sid {
    uint8_t revision;     /* always 1 */
    uint8_t count;        /* number of sub-authorities, 0..15 */
    uint8_t authority[6]; /* identifier authority, big-endian */
    uint32_t sub[NTFS_SID_MAX_SUB];
};

/* Parses "S-1-5-32-544" (also "s-", and a 0x-hex authority as Windows
 * accepts). Strict: revision must be 1, no sign, blank or junk, no overflow,
 * at most 15 sub-authorities, authority <= 2^48-1. Unused sub[] entries are
 * zeroed. Returns 0, or -1 (out is then unspecified). */
int ntfs_sid_parse(const char *text, struct ntfs_sid *out);

/* Writes the string form into buf (NTFS_SID_STRING_MAX is always enough);
 * truncates safely if len is smaller. Authorities >= 2^32 are written as
 * 0x + 12 lowercase hex digits, as Windows does. */
void ntfs_sid_format(const struct ntfs_sid *sid, char *buf, size_t len);

/* Binary form: revision | count | authority (6, BE) | count x uint32 LE. */
size_t ntfs_sid_size(const struct ntfs_sid *sid);
/* Returns the number of bytes written, or -1 if len is too small or the SID
 * is invalid (count > 15). */
int ntfs_sid_to_bytes(const struct ntfs_sid *sid, uint8_t *buf, size_t len);
/* Reads one SID from the start of buf. Returns 0 and sets *used (if not
 * NULL) to the bytes consumed, or -1 if truncated, revision != 1 or
 * count > 15. */
int ntfs_sid_from_bytes(const uint8_t *buf, size_t len, struct ntfs_sid *out, size_t *used);

/* 1 if both SIDs are the same (unused sub[] entries are ignored), else 0. */
int ntfs_sid_equal(const struct ntfs_sid *a, const struct ntfs_sid *b);

/* Well-known names, ASCII case-insensitive: SYSTEM / LocalSystem /
 * NT AUTHORITY\SYSTEM, LOCAL SERVICE / LocalService, NETWORK SERVICE /
 * NetworkService (each also with NT AUTHORITY\), IUSR, IIS_IUSRS (also
 * BUILTIN\), Administrators, Users (also BUILTIN\), Authenticated Users,
 * Everyone, CREATOR OWNER, CREATOR GROUP. Returns 0 found, -1 not. */
int ntfs_sid_wellknown(const char *name, struct ntfs_sid *out);

/* SID of the virtual account "IIS AppPool\<pool_name>": S-1-5-82 followed by
 * the SHA-1 of the lower-cased name in UTF-16LE, as five LE uint32.
 * pool_name is UTF-8; returns -1 if it is NULL, empty or not valid UTF-8.
 * Lower-casing: the Unicode simple lower-case mapping (UnicodeData.txt
 * field 13, provision/fold.h), U+0130 included. Windows uses its own
 * tables: only ASCII names are verified against Windows. */
int ntfs_sid_apppool(const char *pool_name, struct ntfs_sid *out);

/* Resolves what needs no directory: a SID string, a well-known name, or
 * "IIS AppPool\NAME" (prefix case-insensitive). Returns 0, or -1 if the name
 * needs a directory lookup or is invalid. */
int ntfs_sid_resolve_builtin(const char *name, struct ntfs_sid *out);

/* 1 if s is valid UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
int ntfs_utf8_valid(const char *s);

#endif
