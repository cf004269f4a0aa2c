/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/ntfs/effective.h"

#include "provision/ntfs/sid.h"

#include <string.h>

#define READ_CONTROL 0x00020000u
#define WRITE_DAC    0x00040000u

bool ntfs_token_has(const struct ntfs_token *t, const struct ntfs_sid *sid)
{
    for (size_t i = 0; i < t->count; i++)
        if (ntfs_sid_equal(&t->sids[i], sid))
            return true;
    return false;
}

static bool is_owner_rights(const struct ntfs_sid *s)
{
    /* S-1-3-4 */
    static const uint8_t creator_authority[6] = {0, 0, 0, 0, 0, 3};
    return s->count == 1 && s->sub[0] == 4 && !memcmp(s->authority, creator_authority, 6);
}

static void decide(struct ntfs_access *a, uint32_t bits, bool grant, int by)
{
    for (unsigned b = 0; b < 32; b++) {
        uint32_t bit = 1u << b;
        if (!(bits & bit))
            continue;
        if (grant)
            a->granted |= bit;
        else
            a->denied |= bit;
        a->by[b] = by;
    }
}

uint32_t ntfs_access_check(const struct ntfs_sd *sd, const struct ntfs_token *t, uint32_t desired,
                           struct ntfs_access *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned b = 0; b < 32; b++)
        out->by[b] = NTFS_DECIDED_NOTHING;
    out->asked = ntfs_map_generic_file(desired);
    if (!sd->has_dacl) {
        decide(out, out->asked, true, NTFS_DECIDED_NULL_DACL);
        return out->granted;
    }
    bool is_owner = sd->has_owner && ntfs_token_has(t, &sd->owner);
    bool owner_rights_ace = false;
    for (size_t i = 0; i < sd->ace_count && is_owner; i++)
        owner_rights_ace |= !(sd->aces[i].flags & NTFS_ACE_IO) && is_owner_rights(&sd->aces[i].sid);
    if (is_owner && !owner_rights_ace)
        decide(out, out->asked & (READ_CONTROL | WRITE_DAC), true, NTFS_DECIDED_OWNER);
    for (size_t i = 0; i < sd->ace_count; i++) {
        const struct ntfs_ace *ace = &sd->aces[i];
        if (ace->flags & NTFS_ACE_IO)
            continue;
        if (ace->type != NTFS_ACE_ALLOW && ace->type != NTFS_ACE_DENY)
            continue; /* audit, object or callback ACEs: not this walk's business */
        bool applies = ntfs_token_has(t, &ace->sid) || (is_owner && is_owner_rights(&ace->sid));
        if (!applies)
            continue;
        uint32_t open = out->asked & ~(out->granted | out->denied);
        uint32_t bits = ntfs_map_generic_file(ace->mask) & open;
        if (bits)
            decide(out, bits, ace->type == NTFS_ACE_ALLOW, (int)i);
        if (!(out->asked & ~(out->granted | out->denied)))
            break;
    }
    return out->granted;
}

size_t ntfs_access_evidence(const struct ntfs_access *a, uint32_t mask, int *idx, size_t max)
{
    size_t n = 0;
    int last = -1;
    /* ACE indices come out in DACL order: repeatedly take the smallest
     * index above the last one taken. */
    for (;;) {
        int next = -1;
        for (unsigned b = 0; b < 32; b++)
            if ((mask & a->asked & (1u << b)) && a->by[b] > last && (next < 0 || a->by[b] < next))
                next = a->by[b];
        if (next < 0)
            break;
        if (n < max)
            idx[n] = next;
        n++;
        last = next;
    }
    return n < max ? n : max;
}

const char *ntfs_access_letters(uint32_t granted)
{
    /* SYNCHRONIZE is not needed over SMB or by IIS: not required. */
    const uint32_t sync = 0x00100000u;
    if ((granted & (NTFS_RIGHTS_F & ~sync)) == (NTFS_RIGHTS_F & ~sync))
        return "F";
    if ((granted & (NTFS_RIGHTS_M & ~sync)) == (NTFS_RIGHTS_M & ~sync))
        return "M";
    /* R = read data, attributes, extended attributes and the descriptor;
     * W = write data, append, attributes and extended attributes; X =
     * execute. */
    bool r = (granted & 0x00020089u) == 0x00020089u;
    bool w = (granted & 0x00000116u) == 0x00000116u;
    bool x = (granted & NTFS_ACCESS_EXECUTE) != 0;
    static const char *const names[8] = {"-", "R", "W", "RW", "X", "RX", "WX", "RWX"};
    const char *s = names[(r ? 1 : 0) | (w ? 2 : 0) | (x ? 4 : 0)];
    if (s[0] == '-' && (granted & 0x000F01FFu))
        return "special";
    return s;
}
