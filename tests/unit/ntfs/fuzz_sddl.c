/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the SDDL parser: anything that parses must print,
 * parse back to the same descriptor, and survive encode/decode.
 * Build (not part of CMake):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     tests/unit/ntfs/fuzz_sddl.c provision/ntfs/{sid,sd,sddl,grant}.c -lnettle */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provision/ntfs/grant.h"
#include "provision/ntfs/sd.h"
#include "provision/ntfs/sddl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntfs_sd sd, back;
    struct ntfs_grant g;
    char err[128], *text, *text2;
    char *s = malloc(size + 1);
    uint8_t *buf;
    size_t len;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    /* The grant parser reads the same kind of text. */
    if (ntfs_grant_parse(s, &g, err, sizeof err) == 0) {
        char gb[NTFS_GRANT_STRING_MAX];
        struct ntfs_grant g2;
        ntfs_grant_format(&g, gb, sizeof gb);
        if (ntfs_grant_parse(gb, &g2, err, sizeof err) != 0 || g2.kind != g.kind ||
            g2.deny != g.deny || g2.ace_flags != g.ace_flags || g2.mask != g.mask)
            abort();
    } else if (err[0] == '\0' || strchr(err, '\n')) {
        abort();
    }

    if (ntfs_sddl_parse(s, &sd, err, sizeof err) != 0) {
        if (strncmp(err, "at offset ", 10) != 0)
            abort();
        free(s);
        return 0;
    }
    text = ntfs_sddl_format(&sd);
    if (!text)
        abort();
    if (ntfs_sddl_parse(text, &back, err, sizeof err) != 0 || !ntfs_sd_equal(&sd, &back))
        abort();
    text2 = ntfs_sddl_format(&back);
    if (!text2 || strcmp(text, text2) != 0)
        abort();
    ntfs_sd_free(&back);
    if (ntfs_sd_encode(&sd, &buf, &len) == 0) {
        if (ntfs_sd_decode(buf, len, &back) != 0 || !ntfs_sd_equal(&sd, &back))
            abort();
        ntfs_sd_free(&back);
        free(buf);
    }
    free(text);
    free(text2);
    ntfs_sd_free(&sd);
    free(s);
    return 0;
}
