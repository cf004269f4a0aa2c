/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check --prove over SMB (check_prove.c): the probes check.c prepared, tried
 * logged on as a pool's account. */
#ifndef PROVISION_CHECK_PROVE_H
#define PROVISION_CHECK_PROVE_H

#include "provision/check.h"

/* Logs on to the smb:// content location as DOMAIN\user with password and
 * tries each probe in the folder it names (below location): a read lists
 * the folder and reads its first file; a write creates a small file and
 * deletes it again. Each probe's got: 1 allowed, 0 denied (access denied),
 * -1 other error (why). 0, or -1 with why (heap) when the session could not
 * be made. */
int check_prove_smb(const char *location, const char *user, const char *password,
                    struct check_probe *probes, size_t n, char **why);

#endif
