/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Descriptor arithmetic for the grant engine: pure functions on
 * descriptors, no engine state. Which ACEs are explicit and which a parent
 * passed down, what propagation makes of a child, whether a child lost its
 * parent's entries, and the entry-by-entry comparison of deep checks. */
#include "provision/ntfs/grants.h"

#include <stdlib.h>

#include "provision/ntfs/grants_internal.h"

bool ace_same(const struct ntfs_ace *a, const struct ntfs_ace *b)
{
    return a->type == b->type && a->flags == b->flags && a->mask == b->mask &&
           ntfs_sid_equal(&a->sid, &b->sid);
}

/* A copy made without the INHERITED flag matches what the parent passes. */
static bool ace_copy_of(const struct ntfs_ace *a, const struct ntfs_ace *inherited)
{
    return a->type == inherited->type &&
           (a->flags & ~NTFS_ACE_ID) == (inherited->flags & ~NTFS_ACE_ID) &&
           ntfs_map_generic_file(a->mask) == ntfs_map_generic_file(inherited->mask) &&
           ntfs_sid_equal(&a->sid, &inherited->sid);
}

void drop_aces(struct ntfs_sd *sd, const bool *drop)
{
    size_t k = 0;
    for (size_t i = 0; i < sd->ace_count; i++)
        if (!drop[i])
            sd->aces[k++] = sd->aces[i];
    sd->ace_count = k;
}

/* What parent passes down to a new child of child's kind, owner and group
 * (heap). 0 or -1. */
static int passed_down(const struct ntfs_sd *child, const struct ntfs_sd *parent, bool is_dir,
                       struct ntfs_sd *passed)
{
    struct ntfs_sd stub;
    ntfs_sd_init(&stub);
    stub.has_owner = child->has_owner;
    stub.owner = child->owner;
    stub.has_group = child->has_group;
    stub.group = child->group;
    return ntfs_sd_inherit(parent, is_dir, &stub, passed) != 0 ? -1 : 0;
}

/* Splits sd into its explicit ACEs (*expl, heap copy of sd without the
 * inherited ones) and whether it is protected. parent is the descriptor
 * sd inherited from (NULL: unknown, then only the INHERITED flag counts).
 * See grants.h for what counts as inherited and as protected. */
int split_explicit(const struct ntfs_sd *sd, const struct ntfs_sd *parent, bool is_dir,
                   unsigned caps, struct ntfs_sd *expl, bool *prot)
{
    bool has_id = false;
    *prot = false;
    if (ntfs_sd_copy(expl, sd) != 0)
        return -1;
    if ((caps & ACL_CAP_CONTROL) && (sd->control & NTFS_SD_DACL_PROTECTED)) {
        *prot = true;
        return 0;
    }
    for (size_t i = 0; i < sd->ace_count; i++)
        if (sd->aces[i].flags & NTFS_ACE_ID)
            has_id = true;
    if (has_id) {
        bool *drop = xcalloc(sd->ace_count, sizeof *drop);
        for (size_t i = 0; i < sd->ace_count; i++)
            drop[i] = (sd->aces[i].flags & NTFS_ACE_ID) != 0;
        drop_aces(expl, drop);
        free(drop);
        return 0;
    }
    if (!parent || sd->ace_count == 0)
        return 0;
    /* no INHERITED flag anywhere: look for copies of the parent's share */
    struct ntfs_sd passed;
    if (passed_down(sd, parent, is_dir, &passed) != 0)
        return -1;
    if (passed.ace_count == 0) {
        ntfs_sd_free(&passed);
        return 0;
    }
    bool *used = xcalloc(sd->ace_count, sizeof *used);
    bool contained = true;
    for (size_t k = 0; k < passed.ace_count && contained; k++) {
        bool found = false;
        for (size_t i = 0; i < sd->ace_count && !found; i++)
            if (!used[i] && ace_copy_of(&sd->aces[i], &passed.aces[k]))
                used[i] = found = true;
        contained = found;
    }
    if (contained)
        drop_aces(expl, used);
    else if (!(caps & ACL_CAP_CONTROL))
        *prot = true; /* cannot see the bit: holds none of its parent's share */
    free(used);
    ntfs_sd_free(&passed);
    return 0;
}

/* One ACE as acl_sd_same_entries compares it. */
static bool entry_same(const struct ntfs_ace *a, const struct ntfs_ace *b)
{
    return a->type == b->type && (a->flags & ~NTFS_ACE_ID) == (b->flags & ~NTFS_ACE_ID) &&
           ntfs_map_generic_file(a->mask) == ntfs_map_generic_file(b->mask) &&
           ntfs_sid_equal(&a->sid, &b->sid);
}

/* Every ACE of a matched by one of b, each used once. */
static bool entries_in(const struct ntfs_sd *a, const struct ntfs_sd *b)
{
    bool *used = xcalloc(b->ace_count ? b->ace_count : 1, sizeof *used);
    bool all = true;
    for (size_t i = 0; i < a->ace_count && all; i++) {
        bool found = false;
        for (size_t k = 0; k < b->ace_count && !found; k++)
            if (!used[k] && entry_same(&a->aces[i], &b->aces[k]))
                used[k] = found = true;
        all = found;
    }
    free(used);
    return all;
}

bool acl_sd_same_entries(const struct ntfs_sd *a, const struct ntfs_sd *b)
{
    if (a->has_dacl != b->has_dacl || a->ace_count != b->ace_count)
        return false;
    return entries_in(a, b) && entries_in(b, a);
}

/* acl_lost_entries' judgement: 1 with *kept = child's entries without its
 * copies of what parent passes (its explicit ones), 0, or -1. */
int lost_explicit(const struct ntfs_sd *child, const struct ntfs_sd *parent, bool is_dir,
                  unsigned caps, const struct ntfs_sid *ours, size_t n_ours, struct ntfs_sd *kept)
{
    if (caps & ACL_CAP_CONTROL)
        return 0; /* the PROTECTED bit says it all */
    for (size_t i = 0; i < child->ace_count; i++)
        if (child->aces[i].flags & NTFS_ACE_ID)
            return 0; /* split_explicit goes by the flag then */
    struct ntfs_sd passed;
    if (passed_down(child, parent, is_dir, &passed) != 0)
        return -1;
    bool *used = xcalloc(child->ace_count ? child->ace_count : 1, sizeof *used);
    size_t present = 0;
    bool only_ours = true;
    for (size_t k = 0; k < passed.ace_count; k++) {
        bool found = false;
        for (size_t i = 0; i < child->ace_count && !found; i++)
            if (!used[i] && ace_copy_of(&child->aces[i], &passed.aces[k]))
                used[i] = found = true;
        if (found) {
            present++;
            continue;
        }
        bool mine = false;
        for (size_t o = 0; o < n_ours && !mine; o++)
            mine = ntfs_sid_equal(&passed.aces[k].sid, &ours[o]);
        only_ours &= mine;
    }
    int rc = 0;
    if (present > 0 && present < passed.ace_count && only_ours) {
        if (ntfs_sd_copy(kept, child) != 0) {
            rc = -1;
        } else {
            drop_aces(kept, used);
            kept->control &= (uint16_t)~NTFS_SD_DACL_PROTECTED;
            rc = 1;
        }
    }
    free(used);
    ntfs_sd_free(&passed);
    return rc;
}

int acl_lost_entries(const struct ntfs_sd *child, const struct ntfs_sd *parent, bool is_dir,
                     unsigned caps, const struct ntfs_sid *ours, size_t n_ours,
                     struct ntfs_sd *repaired)
{
    struct ntfs_sd kept;
    int rc = lost_explicit(child, parent, is_dir, caps, ours, n_ours, &kept);
    if (rc != 1)
        return rc;
    rc = ntfs_sd_inherit(parent, is_dir, &kept, repaired) != 0 ? -1 : 1;
    ntfs_sd_free(&kept);
    return rc;
}

int acl_propagated(const struct ntfs_sd *child, const struct ntfs_sd *parent, bool is_dir,
                   unsigned caps, struct ntfs_sd *out, bool *protected_out)
{
    struct ntfs_sd expl;
    bool prot;
    if (split_explicit(child, parent, is_dir, caps, &expl, &prot) != 0)
        return -1;
    *protected_out = prot;
    if (prot) {
        *out = expl;
        return 0;
    }
    expl.control &= (uint16_t)~NTFS_SD_DACL_PROTECTED;
    int rc = ntfs_sd_inherit(parent, is_dir, &expl, out) != 0 ? -1 : 0;
    ntfs_sd_free(&expl);
    return rc;
}
