/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as the security-descriptor text libsmbclient
 * returns for system.nt_sec_desc.* (provision/smb/smbtext.h
 * smb_sd_from_text: what the SMB back end reads from the server). Anything
 * that parses must be written back (smb_sd_to_text, the text the back end
 * sends), read again to the same DACL, and survive the binary encoding
 * and SDDL. Nothing may crash or leak; a refusal leaves the descriptor
 * empty and says why in one line. */
#include "provision/ntfs/sd.h"
#include "provision/ntfs/sddl.h"
#include "provision/smb/smbtext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct ntfs_sd sd, back;
    char err[128];
    memset(err, 'x', sizeof err);
    if (smb_sd_from_text(s, &sd, err, sizeof err) != 0) {
        if (sd.aces || sd.ace_count || sd.has_owner || sd.has_group)
            abort(); /* "out is then empty" */
        if (!memchr(err, '\0', sizeof err) || !err[0] || strchr(err, '\n'))
            abort();
        free(s);
        return 0;
    }
    if (!sd.has_dacl || !(sd.control & NTFS_SD_DACL_PRESENT))
        abort();
    char *text = smb_sd_to_text(&sd);
    if (!text != !sd.ace_count)
        abort(); /* NULL exactly when there is no ACE to write */
    if (text) {
        if (smb_sd_from_text(text, &back, err, sizeof err) != 0 || back.ace_count != sd.ace_count)
            abort();
        for (size_t i = 0; i < sd.ace_count; i++)
            if (back.aces[i].type != sd.aces[i].type || back.aces[i].flags != sd.aces[i].flags ||
                back.aces[i].mask != sd.aces[i].mask ||
                !ntfs_sid_equal(&back.aces[i].sid, &sd.aces[i].sid))
                abort();
        ntfs_sd_free(&back);
        free(text);
    }
    uint8_t *bin;
    size_t len;
    int rc = ntfs_sd_encode(&sd, &bin, &len);
    if (rc == 0) {
        if (ntfs_sd_decode(bin, len, &back) != 0 || !ntfs_sd_equal(&sd, &back))
            abort();
        ntfs_sd_free(&back);
        free(bin);
    } else if (rc != NTFS_SD_ETOOBIG) {
        abort();
    }
    char *sddl = ntfs_sddl_format(&sd);
    if (!sddl)
        abort();
    free(sddl);
    ntfs_sd_free(&sd);
    free(s);
    return 0;
}
