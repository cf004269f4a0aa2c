/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SMB system, through libsmbclient: one session (libsmbclient context)
 * per run, whole-file reads and writes, folders, listings, security
 * descriptors of single objects and the replace-with-backup of a remote
 * file. Every error becomes one message naming the URL and the cause.
 *
 * URLs are "smb://host/share/path" with the path percent-encoded
 * (smb_url_encode_path in smbtext.h; libsmbclient decodes them).
 *
 * Security descriptors go through libsmbclient's "system.nt_sec_desc.*"
 * text, which (Samba 4.17, checked in the lab) has these limits:
 *  - the text has no control word: PROTECTED and AUTO_INHERITED can be
 *    neither read nor written. smb_get_sd returns control
 *    SELF_RELATIVE|DACL_PRESENT; smb_set_sd sends a descriptor whose control
 *    is SELF_RELATIVE|DACL_PRESENT, so the server stores the DACL unprotected
 *    and without AUTO_INHERITED (Samba then gives new children of that folder
 *    copies of its inheritable ACEs without the INHERITED flag);
 *  - libsmbclient sorts the DACL before sending (non-inherited first, deny
 *    before allow, then by SID, flags, mask) and drops exact duplicates;
 *  - "0x" masks are misread as 0 on the way in, so decimal is sent;
 *  - only the DACL is written (no owner or group), which needs WRITE_DAC on
 *    the object (libsmbclient opens it with WRITE_DAC|WRITE_OWNER). */
#ifndef PROVISION_SMB_SMB_H
#define PROVISION_SMB_SMB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision/ntfs/sd.h"
#include "provision/util.h"

struct smb_session;

struct smb_options {
    /* smbclient -A style file (username/password/domain); must be a regular
     * file of mode 0600 or stricter. Ignored when kerberos is set. */
    const char *auth_file;
    /* Use the caller's Kerberos ticket (KRB5CCNAME) instead of a password;
     * no NTLM fallback. user (optional) is the name presented with it. */
    bool kerberos;
    const char *user;
    /* Without auth_file and kerberos: log on as user (with domain, may be
     * NULL) with this password, copied into the session's buffer (the
     * caller wipes its own). For `check --prove`, which logs on as a pool's
     * account with the password the IIS configuration holds. */
    const char *domain;
    const char *password;
    /* Per-request timeout in milliseconds; 0 means 20000. */
    int timeout_ms;
};

/* Creates the session (no network traffic yet: connections are made on
 * first use and kept, one per server and share, plus one IPC$ connection
 * for descriptors). The password read from the auth file is kept only in
 * one buffer owned by the session, wiped by smb_session_drop_password or
 * smb_session_close (libsmbclient keeps its own copy inside its connection
 * credentials, which this module cannot reach). Returns 0, or -1 with a
 * message in d. */
int smb_session_open(const struct smb_options *o, struct smb_session **out, struct diag *d);
/* Wipes the password buffer; connections already made stay usable, new ones
 * (another server or share) then fail with a logon error. */
void smb_session_drop_password(struct smb_session *s);
/* Wipes the password, frees the context and closes its connections. NULL ok. */
void smb_session_close(struct smb_session *s);
/* errno of the last failed call on s (ENOENT, EEXIST, EACCES, ...). */
int smb_errno(const struct smb_session *s);

/* In every function below d may be NULL: then no message is added and the
 * caller looks at smb_errno(s). */

struct smb_stat {
    bool is_dir;
    uint64_t size;
    int64_t mtime;
};
/* Returns 1 and fills st (may be NULL) if url exists, 0 if it does not
 * (no message), -1 on any other error. */
int smb_stat(struct smb_session *s, const char *url, struct smb_stat *st, struct diag *d);

/* Reads a whole file of at most max bytes. *data is malloc'd and
 * NUL-terminated (not counted in *len); caller frees. 0 or -1. */
int smb_read_file(struct smb_session *s, const char *url, size_t max, char **data, size_t *len,
                  struct diag *d);
/* Creates url (which must not exist: O_EXCL) holding exactly data. On a
 * failure after creation the partial file is unlinked. 0 or -1. */
int smb_write_new_file(struct smb_session *s, const char *url, const void *data, size_t len,
                       struct diag *d);
/* Renames within one share. Refuses (EEXIST) when to exists: libsmbclient
 * would delete it first. A file created at `to` between that check and the
 * rename would be deleted by libsmbclient: keep renames to names nobody
 * else uses. 0 or -1. */
int smb_rename(struct smb_session *s, const char *from, const char *to, struct diag *d);
int smb_unlink(struct smb_session *s, const char *url, struct diag *d);
/* 0 created, -1 error (smb_errno EEXIST when something exists there). */
int smb_mkdir(struct smb_session *s, const char *url, struct diag *d);
/* Removes an empty folder (ENOTEMPTY otherwise). 0 or -1. */
int smb_rmdir(struct smb_session *s, const char *url, struct diag *d);

struct smb_dirent {
    char *name; /* heap, as the server spells it */
    bool is_dir;
    bool reparse; /* a reparse point: junction, symbolic link, dedup file... */
};
/* Lists a folder without "." and "..". *out is malloc'd (NULL when empty);
 * free with smb_dirents_free. 0 or -1. */
int smb_list(struct smb_session *s, const char *url, struct smb_dirent **out, size_t *n,
             struct diag *d);
void smb_dirents_free(struct smb_dirent *e, size_t n);

/* Largest descriptor text accepted from libsmbclient (bytes). */
#define SMB_SD_TEXT_MAX (512u * 1024u)
/* Reads the descriptor (owner, group, DACL; see the limits above) of one
 * object. out owns heap memory (ntfs_sd_free). 0 or -1. */
int smb_get_sd(struct smb_session *s, const char *url, struct ntfs_sd *out, struct diag *d);
/* Writes the DACL of sd to one object (owner, group and control are not
 * sent; see above). The caller reads back and compares. 0 or -1. */
int smb_set_sd(struct smb_session *s, const char *url, const struct ntfs_sd *sd, struct diag *d);

/* Replaces the file at url by data when it still holds exactly `expected`.
 * libsmbclient has no rename-with-replace (its smbc_rename onto an existing
 * file deletes the target first, and SMB2's ReplaceIfExists is not exposed),
 * so the steps are:
 *   1. create a new temp file in the same folder
 *      (".NAME.provision-tmp-PID-N"), give it the DACL of the target
 *      before writing data into it through the handle opened first (the
 *      content is never readable under the folder's inherited entries),
 *      check its size (owner: the writer; keeping the target's owner
 *      would need SeRestorePrivilege);
 *   2. read the target; not `expected` -> remove temp, fail (ESTALE);
 *   3. rename the target to a fresh backup name
 *      ("NAME.provision-bak-YYYYMMDDTHHMMSSZ-PID-N");
 *   4. rename the temp file to the target name (after checking that nobody
 *      created one meanwhile);
 *   5. read the backup; not `expected` (someone wrote between 2 and 3) ->
 *      move the new file away and the backup back, fail (ESTALE).
 * What a reader of the share can observe: the target name holds a complete
 * file at every moment (old or new content, never a mix or a prefix)
 * except between steps 3 and 4 (one lookup and one rename round trip),
 * when opening it fails with "not found". A crash or a lost connection in
 * that window leaves no target but both complete copies: the old content
 * under the backup name, the new under the temp name. A reader that holds
 * the target open without FILE_SHARE_DELETE makes step 3 fail with a
 * sharing violation: it is retried for about a second, then the call fails
 * with nothing changed. While each rename runs (one round trip) the server
 * holds the file open for DELETE, so a reader opening it at that instant
 * gets a sharing violation (EBUSY) and should retry.
 * On success *backup_url (if not NULL) receives the backup's URL (caller
 * frees) and the backup is kept; with backup_url NULL the backup is
 * deleted. Returns 0, or -1 with nothing changed (or, if a restoring
 * rename itself fails, a message saying where both copies are). */
int smb_replace_file(struct smb_session *s, const char *url, const void *data, size_t len,
                     const void *expected, size_t expected_len, char **backup_url, struct diag *d);

/* Test hook: called by smb_replace_file after each step above with the
 * step number (1..5). For the integration tests (simulated crash). */
void smb_set_replace_hook(struct smb_session *s, void (*hook)(int step, void *arg), void *arg);

#endif
