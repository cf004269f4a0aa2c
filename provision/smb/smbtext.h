/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The text formats the SMB module speaks, as pure functions (no I/O, no
 * libsmbclient): libsmbclient's security-descriptor text, smbclient-style
 * authentication files and the percent-encoding of SMB URL paths. */
#ifndef PROVISION_SMB_SMBTEXT_H
#define PROVISION_SMB_SMBTEXT_H

#include <stddef.h>

#include "provision/ntfs/sd.h"

/* Parses what smbc_getxattr(url, "system.nt_sec_desc.*") returns:
 * "REVISION:1,OWNER:S-1-..,GROUP:S-1-..,ACL:S-1-..:TYPE/FLAGS/MASK,..."
 * (entries separated by ',', tab, CR or LF; TYPE and FLAGS decimal or 0x
 * hex, MASK 0x hex or decimal; SIDs numeric). The text carries no control
 * word: out->control is SELF_RELATIVE | DACL_PRESENT and the DACL is present
 * (possibly empty: libsmbclient prints a NULL DACL and an empty one alike).
 * ACE types other than allow (0) and deny (1) are refused.
 * Returns 0 (out owns heap memory: ntfs_sd_free) or -1 with a reason in err;
 * out is then empty. */
int smb_sd_from_text(const char *text, struct ntfs_sd *out, char *err, size_t errlen);

/* Formats the DACL of sd for smbc_setxattr(url, "system.nt_sec_desc.*"):
 * "ACL:S-1-..:TYPE/FLAGS/MASK,..." with TYPE, FLAGS and MASK in DECIMAL.
 * Owner and group are left out on purpose (so only the DACL is written and
 * no WRITE_OWNER / owner rules come into play). Decimal because
 * libsmbclient 4.17 reads "0x..." masks with sscanf("%u") and stores 0.
 * Returns a malloc'd string (caller frees), or NULL when sd has no DACL
 * entries (libsmbclient cannot write an empty DACL: it would send none). */
char *smb_sd_to_text(const struct ntfs_sd *sd);

/* An smbclient -A file: "username = X", "password = Y", "domain = Z"
 * (blank lines and lines starting with '#' or ';' are ignored; white space
 * around '=' and at both ends is trimmed; the password keeps inner
 * blanks). username may be "DOMAIN\user" or "user@REALM" (then domain is
 * taken from it when the file has no domain line). */
struct smb_authfile {
    char *username; /* heap */
    char *password; /* heap; wipe with free_secret */
    char *domain;   /* heap, may be NULL */
};
/* Parses text (not NUL-required; len bytes). Returns 0 or -1 with a reason
 * (naming the line number, never the password) in err. On success the
 * caller frees with smb_authfile_free. */
int smb_authfile_parse(const char *text, size_t len, struct smb_authfile *out, char *err,
                       size_t errlen);
/* Wipes the password and frees everything; NULL members are fine. */
void smb_authfile_free(struct smb_authfile *a);

/* Percent-encodes one path for an SMB URL: bytes outside
 * [A-Za-z0-9-._~!$&'()*+,;=@/] become %XX ('/' is kept as the separator,
 * '\' is turned into '/'). libsmbclient percent-decodes URL paths and
 * treats '?' as the start of options, so every name must go through this.
 * Returns a malloc'd string (caller frees). */
char *smb_url_encode_path(const char *path);

#endif
