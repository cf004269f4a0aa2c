/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the binary security descriptor decoder: anything that
 * decodes must encode, decode again to the same descriptor, re-encode to the
 * same bytes, and survive the SDDL printer/parser and the DACL operations.
 * Build (not part of CMake):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     tests/unit/ntfs/fuzz_sd.c provision/ntfs/{sid,sd,sddl,grant}.c -lnettle */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provision/ntfs/sd.h"
#include "provision/ntfs/sddl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sddl(const struct ntfs_sd *sd)
{
    struct ntfs_sd back;
    char *text = ntfs_sddl_format(sd);
    if (!text)
        abort();
    if (ntfs_sddl_parse(text, &back, NULL, 0) != 0)
        abort();
    if (!back.has_owner != !sd->has_owner || !back.has_group != !sd->has_group ||
        !back.has_dacl != !sd->has_dacl || back.ace_count != sd->ace_count)
        abort();
    if (sd->has_owner && !ntfs_sid_equal(&back.owner, &sd->owner))
        abort();
    if (sd->has_group && !ntfs_sid_equal(&back.group, &sd->group))
        abort();
    for (size_t i = 0; i < sd->ace_count; i++) {
        const struct ntfs_ace *a = &sd->aces[i], *b = &back.aces[i];
        if (a->type != b->type || a->mask != b->mask || (a->flags & 0x1F) != b->flags ||
            !ntfs_sid_equal(&a->sid, &b->sid))
            abort();
    }
    ntfs_sd_free(&back);
    free(text);
}

static void exercise(const struct ntfs_sd *sd)
{
    struct ntfs_sd copy, out;
    if (ntfs_sd_copy(&copy, sd) != 0)
        abort();
    ntfs_dacl_canonicalize(&copy);
    if (!ntfs_dacl_is_canonical(&copy))
        abort();
    if (ntfs_sd_inherit(sd, 1, sd, &out) == 0)
        ntfs_sd_free(&out);
    if (ntfs_sd_inherit(sd, 0, NULL, &out) == 0)
        ntfs_sd_free(&out);
    if (copy.ace_count) {
        struct ntfs_ace g = copy.aces[0];
        g.flags &= (uint8_t)~NTFS_ACE_ID;
        if (ntfs_dacl_merge_grant(&copy, &g) >= 0 &&
            ntfs_dacl_remove_explicit(&copy, &g.sid, g.type, g.mask, g.flags) < 1)
            abort();
    }
    ntfs_sd_free(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntfs_sd sd, again, third;
    uint8_t *buf, *buf2;
    size_t len, len2;

    if (ntfs_sd_decode(data, size, &sd) != 0)
        return 0;
    if (ntfs_sd_encode(&sd, &buf, &len) != 0)
        abort();
    if (len > 20 + 2 * NTFS_ACL_MAX + 2 * NTFS_SID_MAX_BYTES)
        abort();
    if (ntfs_sd_decode(buf, len, &again) != 0)
        abort();
    if (!ntfs_sd_equal(&sd, &again))
        abort();
    if (ntfs_sd_encode(&again, &buf2, &len2) != 0)
        abort();
    if (len2 != len || memcmp(buf, buf2, len) != 0)
        abort();
    if (ntfs_sd_decode(buf2, len2, &third) != 0 || !ntfs_sd_equal(&third, &sd))
        abort();
    check_sddl(&sd);
    exercise(&sd);
    ntfs_sd_free(&third);
    ntfs_sd_free(&again);
    ntfs_sd_free(&sd);
    free(buf);
    free(buf2);
    return 0;
}
