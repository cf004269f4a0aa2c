/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The read-back comparison (acl_sd_equivalent, backend.h): the descriptor
 * a back end stored against the one written, as far as its capabilities
 * let it keep it (owner and group, control bits, then the DACL ACE for ACE
 * or as sets of explicit deny, explicit allow and inherited ACEs). */
#include "provision/ntfs/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/ntfs/sddl.h"

struct ace_key {
    int group; /* 0 explicit deny, 1 explicit allow, 2 inherited */
    struct ntfs_ace ace;
};

static int sid_cmp(const struct ntfs_sid *a, const struct ntfs_sid *b)
{
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    int c = memcmp(a->authority, b->authority, sizeof a->authority);
    if (c)
        return c;
    for (size_t i = 0; i < a->count; i++)
        if (a->sub[i] != b->sub[i])
            return a->sub[i] < b->sub[i] ? -1 : 1;
    return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
    const struct ace_key *a = pa, *b = pb;
    if (a->group != b->group)
        return a->group - b->group;
    if (a->ace.type != b->ace.type)
        return a->ace.type - b->ace.type;
    if (a->ace.flags != b->ace.flags)
        return a->ace.flags - b->ace.flags;
    if (a->ace.mask != b->ace.mask)
        return a->ace.mask < b->ace.mask ? -1 : 1;
    return sid_cmp(&a->ace.sid, &b->ace.sid);
}

static struct ace_key *keys_of(const struct ntfs_sd *sd, size_t *n)
{
    size_t k = 0;
    struct ace_key *keys = xcalloc(sd->ace_count ? sd->ace_count : 1, sizeof *keys);
    for (size_t i = 0; i < sd->ace_count; i++) {
        struct ace_key *x = &keys[k];
        x->ace = sd->aces[i];
        x->ace.mask = ntfs_map_generic_file(x->ace.mask);
        x->group = (x->ace.flags & NTFS_ACE_ID) ? 2 : x->ace.type == NTFS_ACE_DENY ? 0 : 1;
        k++;
    }
    qsort(keys, k, sizeof *keys, key_cmp);
    /* drop exact duplicates */
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || key_cmp(&keys[u - 1], &keys[i]) != 0)
            keys[u++] = keys[i];
    *n = u;
    return keys;
}

bool acl_sd_equivalent(const struct ntfs_sd *want, const struct ntfs_sd *got, unsigned caps,
                       char *why, size_t whylen)
{
    char a[NTFS_SDDL_ACE_MAX], b[NTFS_SDDL_ACE_MAX];
    char dummy[8];
    if (!why) {
        why = dummy;
        whylen = sizeof dummy;
    }
    why[0] = '\0';
    if (want->has_owner && got->has_owner && !ntfs_sid_equal(&want->owner, &got->owner)) {
        snprintf(why, whylen, "owner differs");
        return false;
    }
    if (want->has_group && got->has_group && !ntfs_sid_equal(&want->group, &got->group)) {
        snprintf(why, whylen, "group differs");
        return false;
    }
    if (caps & ACL_CAP_CONTROL) {
        const uint16_t m = NTFS_SD_DACL_PROTECTED | NTFS_SD_DACL_AUTO_INHERITED;
        if ((want->control & m) != (got->control & m)) {
            snprintf(why, whylen, "control 0x%04x instead of 0x%04x", got->control & m,
                     want->control & m);
            return false;
        }
        if (want->has_dacl != got->has_dacl) {
            snprintf(why, whylen, "DACL %s", got->has_dacl ? "present" : "missing");
            return false;
        }
    }
    if (caps & ACL_CAP_EXACT) {
        size_t n = want->ace_count > got->ace_count ? want->ace_count : got->ace_count;
        for (size_t i = 0; i < n; i++) {
            if (i >= got->ace_count) {
                ntfs_sddl_format_ace(&want->aces[i], a, sizeof a);
                snprintf(why, whylen, "ACE %zu %s missing", i + 1, a);
                return false;
            }
            if (i >= want->ace_count) {
                ntfs_sddl_format_ace(&got->aces[i], b, sizeof b);
                snprintf(why, whylen, "unexpected ACE %zu %s", i + 1, b);
                return false;
            }
            const struct ntfs_ace *x = &want->aces[i], *y = &got->aces[i];
            if (x->type != y->type || x->flags != y->flags || x->mask != y->mask ||
                !ntfs_sid_equal(&x->sid, &y->sid)) {
                ntfs_sddl_format_ace(x, a, sizeof a);
                ntfs_sddl_format_ace(y, b, sizeof b);
                snprintf(why, whylen, "ACE %zu is %s instead of %s", i + 1, b, a);
                return false;
            }
        }
        return true;
    }
    size_t nw, ng, i = 0, j = 0;
    struct ace_key *kw = keys_of(want, &nw), *kg = keys_of(got, &ng);
    bool same = true;
    while (i < nw || j < ng) {
        int c = i >= nw ? 1 : j >= ng ? -1 : key_cmp(&kw[i], &kg[j]);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        same = false;
        if (c < 0) {
            ntfs_sddl_format_ace(&kw[i].ace, a, sizeof a);
            snprintf(why, whylen, "%s missing", a);
        } else {
            ntfs_sddl_format_ace(&kg[j].ace, b, sizeof b);
            snprintf(why, whylen, "unexpected %s", b);
        }
        break;
    }
    free(kw);
    free(kg);
    return same;
}
