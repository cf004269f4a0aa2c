/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Self-relative security descriptors (MS-DTYP 2.4.6): decode, encode, DACL
 * canonical order, merge/remove of explicit grants and Windows-style
 * inheritance to a child. Pure logic; the only allocation is the ACE array
 * and the raw SACL copy owned by struct ntfs_sd. */
#ifndef PROVISION_NTFS_SD_H
#define PROVISION_NTFS_SD_H

#include <stddef.h>
#include <stdint.h>

#include "provision/ntfs/sid.h"

/* ACE types (only these two are supported in a DACL). */
#define NTFS_ACE_ALLOW 0
#define NTFS_ACE_DENY  1

/* ACE flags. */
#define NTFS_ACE_OI 0x01 /* OBJECT_INHERIT */
#define NTFS_ACE_CI 0x02 /* CONTAINER_INHERIT */
#define NTFS_ACE_NP 0x04 /* NO_PROPAGATE_INHERIT */
#define NTFS_ACE_IO 0x08 /* INHERIT_ONLY */
#define NTFS_ACE_ID 0x10 /* INHERITED */

/* Security descriptor control bits. */
#define NTFS_SD_OWNER_DEFAULTED      0x0001
#define NTFS_SD_GROUP_DEFAULTED      0x0002
#define NTFS_SD_DACL_PRESENT         0x0004
#define NTFS_SD_DACL_DEFAULTED       0x0008
#define NTFS_SD_SACL_PRESENT         0x0010
#define NTFS_SD_SACL_DEFAULTED       0x0020
#define NTFS_SD_DACL_AUTO_INHERIT_RQ 0x0100
#define NTFS_SD_SACL_AUTO_INHERIT_RQ 0x0200
#define NTFS_SD_DACL_AUTO_INHERITED  0x0400
#define NTFS_SD_SACL_AUTO_INHERITED  0x0800
#define NTFS_SD_DACL_PROTECTED       0x1000
#define NTFS_SD_SACL_PROTECTED       0x2000
#define NTFS_SD_RM_CONTROL_VALID     0x4000
#define NTFS_SD_SELF_RELATIVE        0x8000

/* icacls simple rights (the icacls command reference; masks as MS-DTYP
 * 2.4.3 ACCESS_MASK). */
#define NTFS_RIGHTS_F  0x001F01FFu
#define NTFS_RIGHTS_M  0x001301BFu
#define NTFS_RIGHTS_RX 0x001200A9u
#define NTFS_RIGHTS_R  0x00120089u
#define NTFS_RIGHTS_W  0x00100116u

/* Generic rights and their file mapping (FILE_GENERIC_*). */
#define NTFS_GENERIC_READ       0x80000000u
#define NTFS_GENERIC_WRITE      0x40000000u
#define NTFS_GENERIC_EXECUTE    0x20000000u
#define NTFS_GENERIC_ALL        0x10000000u
#define NTFS_FILE_GENERIC_READ  0x00120089u
#define NTFS_FILE_GENERIC_WRITE 0x00120116u
#define NTFS_FILE_GENERIC_EXEC  0x001200A0u
#define NTFS_FILE_ALL_ACCESS    0x001F01FFu

/* Largest ACL: its size field is 16 bits and ACLs are 4-byte aligned. */
#define NTFS_ACL_MAX 65532u

struct ntfs_ace {
    uint8_t type;  /* NTFS_ACE_ALLOW or NTFS_ACE_DENY */
    uint8_t flags; /* NTFS_ACE_* flags (other bits are kept as read) */
    uint32_t mask;
    struct ntfs_sid sid;
};

struct ntfs_sd {
    /* As read, minus RM_CONTROL_VALID (the RM byte is not kept). Encode
     * always sets SELF_RELATIVE, and DACL_PRESENT / SACL_PRESENT when a DACL
     * / SACL is there. DACL_PRESENT with has_dacl == 0 is a NULL DACL. */
    uint16_t control;
    int has_owner, has_group;
    struct ntfs_sid owner, group;
    int has_dacl;
    size_t ace_count;
    struct ntfs_ace *aces; /* heap (malloc), ace_count entries, NULL if 0 */
    /* SACL kept opaque: its raw bytes (ACL header included), heap, or NULL. */
    uint8_t *sacl;
    size_t sacl_len;
};

/* Error codes (negative) returned by the functions below. */
enum ntfs_sd_error {
    NTFS_SD_ENOMEM = -1,
    NTFS_SD_ETRUNC = -2,    /* a component lies outside the buffer */
    NTFS_SD_EREVISION = -3, /* SD revision is not 1 */
    NTFS_SD_ECONTROL = -4,  /* not self-relative, or offset without PRESENT bit */
    NTFS_SD_EOFFSET = -5,   /* an offset points into the header */
    NTFS_SD_ESID = -6,      /* malformed SID */
    NTFS_SD_EACL = -7,      /* bad ACL header (revision, size) */
    NTFS_SD_EACE = -8,      /* bad ACE size or ACE outside its ACL */
    NTFS_SD_EACETYPE = -9,  /* DACL ACE type other than allow/deny */
    NTFS_SD_ETOOBIG = -10,  /* an ACL would exceed 64 KiB */
    NTFS_SD_EINVAL = -11,   /* bad argument */
};

/* Static message for an error code (never NULL). */
const char *ntfs_sd_strerror(int err);

/* Empties sd without freeing (use on fresh structs). */
void ntfs_sd_init(struct ntfs_sd *sd);
/* Frees aces and sacl and re-initialises sd. NULL is fine. */
void ntfs_sd_free(struct ntfs_sd *sd);
/* Deep copy into dst (dst is overwritten, not freed first). 0 or ENOMEM. */
int ntfs_sd_copy(struct ntfs_sd *dst, const struct ntfs_sd *src);
/* 1 if equal (control, owner, group, DACL ACEs in order, SACL bytes). */
int ntfs_sd_equal(const struct ntfs_sd *a, const struct ntfs_sd *b);
/* Appends one ACE to the DACL as is (creates the DACL if absent). 0 or ENOMEM. */
int ntfs_dacl_append(struct ntfs_sd *sd, const struct ntfs_ace *ace);

/* Decodes a self-relative SD. Strict bounds checks on every offset and size;
 * DACL ACL revision 2 or 4, ACEs of type allow/deny only (trailing bytes in
 * an ACE beyond its SID and free space at the end of an ACL are accepted and
 * dropped). The SACL is bounds-checked (header and ACE sizes) and kept raw.
 * On success out owns heap memory (ntfs_sd_free). Returns 0 or an error. */
int ntfs_sd_decode(const uint8_t *buf, size_t len, struct ntfs_sd *out);

/* Encodes sd. Layout as Windows writes it (MS-DTYP 2.5.1.4 example): header,
 * SACL, DACL (revision 2, no free space), owner, group. *out is malloc'd,
 * caller frees. Returns 0, NTFS_SD_ETOOBIG, NTFS_SD_EINVAL or ENOMEM. */
int ntfs_sd_encode(const struct ntfs_sd *sd, uint8_t **out, size_t *outlen);

/* Stable sort into canonical order: explicit deny, explicit allow, inherited
 * (inherited ACEs keep their relative order). */
void ntfs_dacl_canonicalize(struct ntfs_sd *sd);
/* 1 if the DACL is in canonical order. */
int ntfs_dacl_is_canonical(const struct ntfs_sd *sd);

/* Replaces every explicit ACE with the same SID and type as ace by ace (at
 * the place of the first one, else appended), keeps all others, then
 * canonical order. A missing or NULL DACL becomes a DACL holding ace.
 * ace must not carry NTFS_ACE_ID. Returns 1 changed, 0 already so, or an
 * error (EINVAL, ENOMEM). */
int ntfs_dacl_merge_grant(struct ntfs_sd *sd, const struct ntfs_ace *ace);

/* Removes the explicit ACEs equal to (sid, type, mask, flags). Returns the
 * number removed (0 if none). */
int ntfs_dacl_remove_explicit(struct ntfs_sd *sd, const struct ntfs_sid *sid, uint8_t type,
                              uint32_t mask, uint8_t flags);

/* Computes the child's descriptor as Windows propagation would. out gets the
 * child's owner, group and SACL (or, if child_existing is NULL, the parent's
 * owner and group and no SACL). If the child is DACL_PROTECTED, out is a copy
 * of it. Otherwise out's DACL = the child's explicit ACEs (in their order)
 * followed by the ACEs inherited from each inheritable parent ACE in parent
 * order, and control = the child's owner/group/SACL bits | SELF_RELATIVE |
 * DACL_PRESENT | DACL_AUTO_INHERITED.
 * Per parent ACE: (OI)(CI) -> file ID, folder OI|CI|ID; OI -> file ID,
 * folder OI|IO|ID; CI -> file nothing, folder CI|ID; NP -> ID only where it
 * applies; no OI/CI -> nothing. An ACE for CREATOR OWNER / CREATOR GROUP or
 * with generic bits is split as Windows does: an effective ID ACE for the
 * child's owner/group with generic bits mapped to file rights, plus (on a
 * folder, unless NP) the unchanged ACE with IO|ID. out is overwritten.
 * Returns 0 or ENOMEM. */
int ntfs_sd_inherit(const struct ntfs_sd *parent, int child_is_container,
                    const struct ntfs_sd *child_existing, struct ntfs_sd *out);

/* Maps generic bits of mask to file-specific rights. */
uint32_t ntfs_map_generic_file(uint32_t mask);

#endif
