/* SPDX-License-Identifier: GPL-3.0-or-later */
/* applicationHost.config on a local (or mounted) file system: an exclusive
 * lock for the run, the bytes as read, and an atomic replace that refuses
 * when someone else changed the file meanwhile and keeps timestamped backups.
 *
 * WAS fails on a half-written file, so a new version is written to a temp
 * file in the same folder, fsync'ed and renamed over the original. */
#ifndef PROVISION_IIS_CONFIGFILE_H
#define PROVISION_IIS_CONFIGFILE_H

#include "provision/smb/smb.h"
#include "provision/util.h"

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct configfile {
    char *path;
    struct smb_session *smb; /* an smb:// path: the IIS host's C$ or a shared-config share */
    int lock_fd;             /* -1 when not locked */
    char *data;              /* the bytes as read (owned until configfile_take) */
    size_t len;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    unsigned stale_removed; /* temp files of dead runs removed at open */
    char *pending_tmp;      /* configfile_prepare: the new version beside the file */
    char *pending_data;     /* the same over SMB: the new bytes, kept for the commit */
    size_t pending_len;
};

/* Reads path: a local file, or smb://HOST/SHARE/PATH through libsmbclient
 * with smb_opts' credentials. With lock_dir (the state folder), first takes
 * an exclusive lock for the run there (held until configfile_close),
 * failing at once if another run holds it: one lock per target, named from
 * the resolved path of a local file or the URL of an smb:// one. It covers
 * the runs of this machine that share the state folder; other writers are
 * caught by configfile_replace's changed-meanwhile check. */
int configfile_open(struct configfile *cf, const char *path, const struct smb_options *smb_opts,
                    const char *lock_dir, struct diag *d);
/* Hands the bytes read to the caller (who frees them). */
char *configfile_take(struct configfile *cf, size_t *len);
/* Reads the file again (the lock, if any, is kept): its bytes now, for
 * the caller to free. 0 or -1. */
int configfile_reread(struct configfile *cf, char **data, size_t *len, struct diag *d);
/* Replaces the file with data, after checking that it still holds `expected`
 * (the bytes the edits were made against). Keeps `backups` copies named
 * PATH.YYYYMMDD-HHMMSS.NNNNNNNNN.bak (0 keeps none); over SMB the previous
 * file itself becomes PATH.provision-bak-STAMP-PID-N (smb_replace_file:
 * readers see the old or the new file, or for a moment none). 0, -1 with
 * a message, or CONFIGFILE_CHANGED without one: the file no longer holds
 * `expected` (another tool wrote it), nothing was written; the caller may
 * configfile_reread, redo its edits on the new bytes and try again. */
#define CONFIGFILE_CHANGED (-2)
int configfile_replace(struct configfile *cf, const char *expected, size_t expected_len,
                       const char *data, size_t len, unsigned backups, char **backup_path,
                       struct diag *d);
/* configfile_replace in two steps, so that the caller can record the write
 * (its journal, with the new bytes' digest computed meanwhile) between
 * them: configfile_prepare writes the new version, given in pieces, beside
 * the file under a temporary name and fsyncs it (over SMB it keeps the
 * bytes for the commit); 0, or -1 with a message and nothing left behind.
 * configfile_commit then does the rest of configfile_replace, with its
 * results; configfile_discard drops a prepared version that will not be
 * put in place (configfile_close does too). */
int configfile_prepare(struct configfile *cf, const struct iovec *pieces, size_t n, struct diag *d);
int configfile_commit(struct configfile *cf, const char *expected, size_t expected_len,
                      unsigned backups, char **backup_path, struct diag *d);
void configfile_discard(struct configfile *cf);
void configfile_close(struct configfile *cf);

#endif
