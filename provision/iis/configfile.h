/* SPDX-License-Identifier: GPL-3.0-or-later */
/* applicationHost.config on a local (or mounted) file system: an exclusive
 * lock for the run, the bytes as read, and an atomic replace that refuses
 * when someone else changed the file meanwhile and keeps timestamped backups.
 *
 * WAS fails on a half-written file, so a new version is written to a temp
 * file in the same folder, fsync'ed and renamed over the original. */
#ifndef PROVISION_IIS_CONFIGFILE_H
#define PROVISION_IIS_CONFIGFILE_H

#include "provision/util.h"

#include <stddef.h>
#include <sys/types.h>

struct configfile {
    char *path;
    int lock_fd; /* -1 when not locked */
    char *data;  /* the bytes as read (owned until configfile_take) */
    size_t len;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* Reads path; with lock, first takes an exclusive lock on PATH.lock (held
 * until configfile_close) and fails at once if another run holds it. */
int configfile_open(struct configfile *cf, const char *path, bool lock, struct diag *d);
/* Hands the bytes read to the caller (who frees them). */
char *configfile_take(struct configfile *cf, size_t *len);
/* Replaces the file with data, after checking that it still holds `expected`
 * (the bytes the edits were made against). Keeps `backups` copies named
 * PATH.YYYYMMDD-HHMMSS.NNNNNNNNN.bak (0 keeps none). Returns 0 or -1. */
int configfile_replace(struct configfile *cf, const char *expected, size_t expected_len,
                       const char *data, size_t len, unsigned backups, char **backup_path,
                       struct diag *d);
void configfile_close(struct configfile *cf);

#endif
