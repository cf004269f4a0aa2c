/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Effective access: what a token may do to a file or folder with a given
 * security descriptor, decided the way Windows' access check does
 * (MS-DTYP 2.5.3.2, without privileges, object ACEs or conditional ACEs),
 * with the ACE that decided each right as evidence. Pure logic.
 *
 * The walk: the owner first gets READ_CONTROL and WRITE_DAC unless an
 * OWNER RIGHTS (S-1-3-4) ACE applies; then the DACL in its order (a
 * non-canonical DACL is evaluated as it stands): an ACE applies when its
 * SID is in the token (OWNER RIGHTS when the token holds the owner) and it
 * is not inherit-only; a deny ACE refuses the asked bits still undecided,
 * an allow ACE grants them; a bit once decided stays so. No DACL: all is
 * allowed; an empty DACL: nothing. Generic bits, asked or in ACEs, are
 * mapped to file rights first. */
#ifndef PROVISION_NTFS_EFFECTIVE_H
#define PROVISION_NTFS_EFFECTIVE_H

#include "provision/ntfs/sd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The SIDs of one logon: the identity first, then its groups. */
struct ntfs_token {
    const struct ntfs_sid *sids;
    size_t count;
};

/* Evidence values besides an ACE index. */
#define NTFS_DECIDED_NOTHING   (-1) /* no ACE applied: not granted */
#define NTFS_DECIDED_OWNER     (-2) /* granted to the owner implicitly */
#define NTFS_DECIDED_NULL_DACL (-3) /* the object has no DACL: granted */

/* The rights checks ask about, for files (folder meaning in brackets). */
#define NTFS_ACCESS_READ_DATA   0x0001u /* read data (list the folder) */
#define NTFS_ACCESS_WRITE_DATA  0x0002u /* write data (create files in it) */
#define NTFS_ACCESS_APPEND_DATA 0x0004u /* append (create subfolders) */
#define NTFS_ACCESS_EXECUTE     0x0020u /* execute (traverse) */
#define NTFS_ACCESS_DELETE      0x10000u

struct ntfs_access {
    uint32_t asked;   /* the mapped rights asked for */
    uint32_t granted; /* of those, granted */
    uint32_t denied;  /* of those, refused by a deny ACE */
    /* Per bit of asked: the index in the DACL of the ACE that granted or
     * denied it, or NTFS_DECIDED_*. */
    int by[32];
};

/* Decides every bit of desired for the token. Returns out->granted. */
uint32_t ntfs_access_check(const struct ntfs_sd *sd, const struct ntfs_token *t, uint32_t desired,
                           struct ntfs_access *out);

/* The indices of the ACEs that decided any of the bits in mask, in DACL
 * order, each once; returns how many (at most max are stored). */
size_t ntfs_access_evidence(const struct ntfs_access *a, uint32_t mask, int *idx, size_t max);

/* The usual names of a granted mask as icacls shows them: "F", "M", "RX",
 * "R", "W", "RW" and so on, "-" for nothing that reads, writes or executes,
 * or "special" (static text). */
const char *ntfs_access_letters(uint32_t granted);

/* True when the token holds sid. */
bool ntfs_token_has(const struct ntfs_token *t, const struct ntfs_sid *sid);

#endif
