/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the files behind backend.h and grants.h (backend.c,
 * acl_paths.c, grants.c); not for the back ends nor for callers of the
 * library. */
#ifndef PROVISION_NTFS_ACL_INTERNAL_H
#define PROVISION_NTFS_ACL_INTERNAL_H

#include "provision/ntfs/backend.h"

/* ---- acl_paths.c ------------------------------------------------------ */

/* A string safe to show: control characters as \xNN; heap. */
char *acl_shown(const char *s);
/* rel with '\' between components, as Windows writes it; heap. */
char *acl_winpath(const char *rel);
/* The parent of a normalised rel ("" for a top-level one); heap. */
char *acl_parent_of(const char *rel);

/* ---- backend.c -------------------------------------------------------- */

/* "'REL' in LOCATION (BACKEND)" for messages ("(root)" for ""); heap. */
char *acl_where(const struct acl_backend *b, const char *rel);
/* Calls b's observer (acl_backend_observe) if it has one: its return
 * value, or 0 without an observer. */
int acl_announce(struct acl_backend *b, enum acl_effect what, const char *rel,
                 const struct ntfs_sd *old, const struct ntfs_sd *new, struct diag *d);
/* 0 when sd encodes within ACL_SD_MAX bytes; otherwise -1 with a message
 * naming rel and saying the descriptor `what` ("is", "would be") over the
 * limit or not encodable. */
int acl_sd_size_ok(struct acl_backend *b, const char *rel, const struct ntfs_sd *sd,
                   const char *what, struct diag *d);

#endif
