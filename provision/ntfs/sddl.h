/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SDDL text for security descriptors (MS-DTYP 2.5.1): owner, group and DACL
 * only. Pure logic. */
#ifndef PROVISION_NTFS_SDDL_H
#define PROVISION_NTFS_SDDL_H

#include <stddef.h>

#include "provision/ntfs/sd.h"

/* Parses "O:sid G:sid D:flags(ace)(ace)...". Components in any order, each at
 * most once; blanks are allowed between components and between ACEs only.
 * - D: flags P (protected), AI (auto-inherited), AR (auto-inherit request);
 *   "D:NO_ACCESS_CONTROL" is a NULL DACL.
 * - ACE "type;flags;rights;;;sid": type A or D; flags OI CI NP IO ID; rights
 *   a number (0x hex or decimal) or concatenated aliases FA FR FW FX GA GR GW
 *   GX SD RC WD WO. FA is FILE_ALL_ACCESS 0x1F01FF as on Windows (Samba maps
 *   FA to 0x1FF; we do not). Object GUID fields must be empty.
 * - sid: "S-1-..." or an alias WD SY BA BU AU CO CG NS LS AN IU (IU is
 *   INTERACTIVE S-1-5-4, not IUSR; IUSR is S-1-5-17 and has no alias).
 * - "S:" (SACL) is refused.
 * Aliases and letters are case-sensitive, as on Windows.
 * On success returns 0 and out owns heap memory (ntfs_sd_free); control has
 * SELF_RELATIVE, DACL_PRESENT if D: was given, and the D: flags. On error
 * returns -1, out is empty and err (if errlen > 0) holds
 * "at offset N: reason". */
int ntfs_sddl_parse(const char *text, struct ntfs_sd *out, char *err, size_t errlen);

/* Formats sd as SDDL: "O:..G:..D:<P><AR><AI>(ace)...", SIDs that have one
 * of the aliases above as that alias, other SIDs numerically, ACE flags in
 * the order OI CI NP IO ID (other flag bits are not written), rights always as lowercase hex
 * "0x1301bf". A NULL DACL is "D:NO_ACCESS_CONTROL". The SACL, if any, is not written. Returns a
 * malloc'd string (caller frees), or NULL on allocation failure. */
char *ntfs_sddl_format(const struct ntfs_sd *sd);

/* Formats one ACE as "(A;OICI;0x1301bf;;;S-1-5-17)" into buf (truncated
 * safely). NTFS_SDDL_ACE_MAX is always enough. */
#define NTFS_SDDL_ACE_MAX 240
void ntfs_sddl_format_ace(const struct ntfs_ace *ace, char *buf, size_t len);

#endif
