/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Private to grants*.c: grants.c holds the engine (walk, compute, undo,
 * report, scripts and the entry points), grants_inherit.c the descriptor
 * arithmetic it uses (pure functions on descriptors, no engine state);
 * not for the back ends nor for callers of the library. */
#ifndef PROVISION_NTFS_GRANTS_INTERNAL_H
#define PROVISION_NTFS_GRANTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "provision/ntfs/sd.h"
#include "provision/ntfs/sid.h"

/* ---- grants_inherit.c ------------------------------------------------- */

/* a and b are the same ACE: type, flags, mask and SID. */
bool ace_same(const struct ntfs_ace *a, const struct ntfs_ace *b);
/* Removes the ACEs of sd whose drop[i] is set, keeping the order. */
void drop_aces(struct ntfs_sd *sd, const bool *drop);
/* sd's explicit ACEs (*expl, heap) and whether it is protected; 0 or -1. */
int split_explicit(const struct ntfs_sd *sd, const struct ntfs_sd *parent, bool is_dir,
                   unsigned caps, struct ntfs_sd *expl, bool *prot);
/* acl_lost_entries' judgement: 1 with *kept = child's explicit ACEs (heap). */
int lost_explicit(const struct ntfs_sd *child, const struct ntfs_sd *parent, bool is_dir,
                  unsigned caps, const struct ntfs_sid *ours, size_t n_ours, struct ntfs_sd *kept);

#endif
