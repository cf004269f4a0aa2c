/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The template grant syntax, icacls-like: "[deny ]PRINCIPAL:(FLAGS)...RIGHTS".
 * Pure logic: parsing, validation and canonical formatting. */
#ifndef PROVISION_NTFS_GRANT_H
#define PROVISION_NTFS_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "provision/ntfs/sid.h"

enum ntfs_principal_kind {
    NTFS_PRINCIPAL_SID,       /* resolved now: SID string, well-known name, IIS AppPool\X */
    NTFS_PRINCIPAL_POOL,      /* "pool": the site's application pool identity */
    NTFS_PRINCIPAL_ANONYMOUS, /* "anonymous": the site's anonymous identity */
    NTFS_PRINCIPAL_NAME,      /* DOMAIN\name, name@upn or name: resolved later (LDAP) */
};

struct ntfs_grant {
    enum ntfs_principal_kind kind;
    char principal[257]; /* as written, trimmed (for messages and for NAME lookups) */
    struct ntfs_sid sid; /* valid when kind == NTFS_PRINCIPAL_SID */
    int deny;            /* 1 = deny ACE */
    uint8_t ace_flags;   /* OI CI NP IO */
    uint32_t mask;
};

/* Access-mask bits a 0x mask may carry: file-specific rights 0x000001FF,
 * standard rights (DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER,
 * SYNCHRONIZE) 0x001F0000 and generic rights 0xF0000000. Refused:
 * ACCESS_SYSTEM_SECURITY, MAXIMUM_ALLOWED and reserved bits. */
#define NTFS_GRANT_VALID_MASK 0xF01F01FFu

/* Long enough for any grant ntfs_grant_format writes. */
#define NTFS_GRANT_STRING_MAX 320

/* Parses one grant "[deny ]PRINCIPAL:(FLAGS)...RIGHTS". Returns 0, or -1 with
 * a one-line reason in err (out is then untouched). Details:
 * - Blanks around the whole text, the principal, each flag and the rights
 *   are skipped (not inside a name's edges, a flag or a right);
 *   "deny" (any case) followed by blanks makes a deny ACE.
 * - The principal ends at the LAST ':'.
 * - PRINCIPAL: "pool" / "anonymous" (any case); a SID "S-1-..." (icacls'
 *   "*S-1-..." too), a well-known name (sid.h) or "IIS AppPool\NAME" -> kind
 *   SID; otherwise "DOMAIN\name", "name@upn.suffix" or "name" -> kind NAME.
 *   At most 256 bytes, valid UTF-8, no control characters; one '\' or
 *   one '@' at most; none of " / [ ] : ; | = , + * ? < > @ in a domain or
 *   UPN suffix (pool names: none of \ / " | < > : * ? ] [ + = ; , @ &).
 *   The account name of a NAME is only split off (ntfs_principal_account):
 *   the caller checks it against the sAMAccountName rules.
 * - FLAGS: (OI) (CI) (NP) (IO), any case, each at most once; (IO) and (NP)
 *   need (OI) or (CI).
 * - RIGHTS: F, M, RX, R, W (any case, also written "(M)" as icacls prints
 *   it) or a non-zero 0x mask within NTFS_GRANT_VALID_MASK. icacls lists
 *   such as "(R,W)" are not supported: use a 0x mask. */
int ntfs_grant_parse(const char *text, struct ntfs_grant *out, char *err, size_t errlen);

/* The account name of a principal of kind NAME: after the '\' of
 * DOMAIN\name, before the '@' of name@upn.suffix, else all of it. Returns
 * a pointer into principal and its length in *len (not NUL-terminated). The
 * directory looks this name up as a sAMAccountName, so callers check it with
 * dir_sam_problem (ldap/account.h). */
const char *ntfs_principal_account(const char *principal, size_t *len);

/* Formats back to canonical text, e.g. "pool:(OI)(CI)M", "deny S-1-1-0:(OI)W",
 * masks not matching a simple right as 0x... Kind SID is written as the SID string, NAME as
 * written; flags in the order (OI)(CI)(NP)(IO); other masks as lowercase "0x1f0000". Truncates
 * safely; NTFS_GRANT_STRING_MAX is always enough. */
void ntfs_grant_format(const struct ntfs_grant *g, char *buf, size_t len);

#endif
