/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/iis/configfile.h"

#include "provision/iis/xmldoc.h"

#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_smb(const char *path)
{
    return !strncmp(path, "smb://", 6);
}

/* The run lock of a target: LOCK_DIR/config-HASH.lock, HASH from the URL
 * of an smb:// file or the resolved path of a local one. */
static char *lock_path_of(const char *lock_dir, const char *path)
{
    char *real = is_smb(path) ? NULL : realpath(path, NULL);
    const char *target = real ? real : path;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = target; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    free(real);
    return xasprintf("%s/config-%016llx.lock", lock_dir, (unsigned long long)h);
}

/* Removes the temporary files that runs killed while writing left beside a
 * local config (write_temp_file names them .BASE.provision-PID-XXXXXX; a
 * complete one holds the new config, plain pool passwords included). Only
 * with the run lock held, and only when that pid is no process here: a
 * live run of another state folder keeps its file. Returns the count. */
static unsigned remove_dead_temps(const char *path)
{
    char *copy1 = xstrdup(path), *copy2 = xstrdup(path);
    const char *dir = dirname(copy1), *base = basename(copy2);
    char *prefix = xasprintf(".%s.provision-", base);
    size_t plen = strlen(prefix);
    unsigned removed = 0;
    DIR *dh = opendir(dir);
    struct dirent *de;
    while (dh && (de = readdir(dh))) {
        if (strncmp(de->d_name, prefix, plen) != 0)
            continue;
        char *end;
        long pid = strtol(de->d_name + plen, &end, 10);
        if (pid <= 0 || *end != '-' || strlen(end + 1) != 6)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to ask): not a leftover */
        char *p = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && unlink(p) == 0)
            removed++;
        free(p);
    }
    if (dh)
        closedir(dh);
    free(prefix);
    free(copy1);
    free(copy2);
    return removed;
}

int configfile_open(struct configfile *cf, const char *path, const struct smb_options *smb_opts,
                    const char *lock_dir, struct diag *d)
{
    memset(cf, 0, sizeof *cf);
    cf->lock_fd = -1;
    cf->path = xstrdup(path);
    if (lock_dir) {
        char *lock_path = lock_path_of(lock_dir, path);
        cf->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (cf->lock_fd < 0) {
            diag_add(d, "%s: cannot create the lock file: %s", lock_path, strerror(errno));
            free(lock_path);
            configfile_close(cf);
            return -1;
        }
        if (flock(cf->lock_fd, LOCK_EX | LOCK_NB) < 0) {
            diag_add(d, "%s: another provision run is changing this file (lock %s is held)", path,
                     lock_path);
            free(lock_path);
            configfile_close(cf);
            return -1;
        }
        free(lock_path);
    }
    if (is_smb(path)) {
        struct smb_options none = {0};
        if (smb_session_open(smb_opts ? smb_opts : &none, &cf->smb, d) < 0 ||
            smb_read_file(cf->smb, path, XMLDOC_MAX_BYTES, &cf->data, &cf->len, d) < 0) {
            configfile_close(cf);
            return -1;
        }
        return 0;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* Replacing it would put a regular file where the link was and
         * leave its target as it was: name the file itself. */
        char *target = realpath(path, NULL);
        diag_add(d, "%s: is a symbolic link%s%s; set [iis] config to the file itself", path,
                 target ? " to " : "", target ? target : "");
        free(target);
        configfile_close(cf);
        return -1;
    }
    if (stat(path, &st) < 0) {
        diag_add(d, "%s: cannot read: %s", path, strerror(errno));
        configfile_close(cf);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) { /* a FIFO would block the run, a device would be read */
        diag_add(d, "%s: not a regular file; refused", path);
        configfile_close(cf);
        return -1;
    }
    if ((uint64_t)st.st_size > XMLDOC_MAX_BYTES) {
        diag_add(d,
                 "%s: %lld bytes is larger than the %u bytes this tool accepts; nothing was "
                 "read",
                 path, (long long)st.st_size, XMLDOC_MAX_BYTES);
        configfile_close(cf);
        return -1;
    }
    if (read_file(path, &cf->data, &cf->len) < 0) {
        diag_add(d, "%s: cannot read: %s", path, strerror(errno));
        configfile_close(cf);
        return -1;
    }
    cf->mode = st.st_mode & 07777;
    cf->uid = st.st_uid;
    cf->gid = st.st_gid;
    if (cf->lock_fd >= 0)
        cf->stale_removed = remove_dead_temps(path);
    return 0;
}

int configfile_reread(struct configfile *cf, char **data, size_t *len, struct diag *d)
{
    if (cf->smb)
        return smb_read_file(cf->smb, cf->path, XMLDOC_MAX_BYTES, data, len, d);
    if (read_file(cf->path, data, len) < 0) {
        diag_add(d, "%s: cannot read again: %s", cf->path, strerror(errno));
        return -1;
    }
    return 0;
}

char *configfile_take(struct configfile *cf, size_t *len)
{
    char *p = cf->data;
    *len = cf->len;
    cf->data = NULL;
    return p;
}

/* 1 when the file at path holds exactly expected, 0 when not, -1 when it
 * cannot be read. Compared a chunk at a time: no second file-sized buffer. */
static int unchanged_on_disk(const char *path, const char *expected, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -1;
    }
    enum { CHUNK = 256 * 1024 };
    char *buf = xmalloc(CHUNK);
    int same = (uint64_t)st.st_size == len ? 1 : 0;
    size_t at = 0;
    while (same == 1) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            same = -1;
        else if (got == 0)
            same = at == len;
        else if ((size_t)got > len - at || memcmp(buf, expected + at, (size_t)got) != 0)
            same = 0;
        else
            at += (size_t)got;
        if (got == 0)
            break;
    }
    wipe(buf, CHUNK); /* the file can hold plain passwords */
    free(buf);
    close(fd);
    return same;
}

/* Deletes our oldest backups beyond `keep`. The timestamped names sort in
 * time order. */
static void prune_backups(const char *dir, const char *base, unsigned keep)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    char *prefix = xasprintf("%s.", base);
    size_t plen = strlen(prefix);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t len = strlen(de->d_name);
        /* base.YYYYMMDD-HHMMSS.NNNNNNNNN.bak */
        if (strncmp(de->d_name, prefix, plen) == 0 && len == plen + 29 &&
            strcmp(de->d_name + len - 4, ".bak") == 0) {
            names = xrealloc(names, (n + 1) * sizeof *names);
            names[n++] = xstrdup(de->d_name);
        }
    }
    closedir(dh);
    qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; i + keep < n; i++) {
        char *p = xasprintf("%s/%s", dir, names[i]);
        unlink(p);
        free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(prefix);
}

/* Over SMB: the replaced file is the backup; keep the newest `keep`. */
static void prune_smb_backups(struct configfile *cf, unsigned keep)
{
    const char *slash = strrchr(cf->path, '/');
    char *dir = xstrndup(cf->path, (size_t)(slash - cf->path));
    char *prefix = xasprintf("%s.provision-bak-", slash + 1);
    struct smb_dirent *e = NULL;
    size_t n = 0;
    if (smb_list(cf->smb, dir, &e, &n, NULL) == 0) {
        char **names = xcalloc(n ? n : 1, sizeof *names);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!e[i].is_dir && !strncmp(e[i].name, prefix, strlen(prefix)))
                names[m++] = e[i].name;
        qsort(names, m, sizeof *names, compare_names);
        for (size_t i = 0; i + keep < m; i++) {
            char *url = xasprintf("%s/%s", dir, names[i]);
            smb_unlink(cf->smb, url, NULL);
            free(url);
        }
        free(names);
        smb_dirents_free(e, n);
    }
    free(prefix);
    free(dir);
}

static int replace_smb(struct configfile *cf, const char *expected, size_t expected_len,
                       const char *data, size_t len, unsigned backups, char **backup_path,
                       struct diag *d)
{
    char *bak = NULL;
    struct diag why;
    diag_init(&why);
    if (smb_replace_file(cf->smb, cf->path, data, len, expected, expected_len, &bak, &why) < 0) {
        bool changed = smb_errno(cf->smb) == ESTALE;
        for (size_t i = 0; !changed && i < why.count; i++)
            diag_add(d, "%s", why.msgs[i]);
        diag_free(&why);
        return changed ? CONFIGFILE_CHANGED : -1;
    }
    diag_free(&why);
    prune_smb_backups(cf, backups);
    if (backup_path && backups > 0)
        *backup_path = bak;
    else
        free(bak);
    return 0;
}

int configfile_prepare(struct configfile *cf, const struct iovec *pieces, size_t n, struct diag *d)
{
    configfile_discard(cf);
    if (cf->smb) { /* smb_replace_file writes it in one go */
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += pieces[i].iov_len;
        char *at = cf->pending_data = xmalloc(total + 1);
        for (size_t i = 0; i < n; i++) {
            memcpy(at, pieces[i].iov_base, pieces[i].iov_len);
            at += pieces[i].iov_len;
        }
        cf->pending_len = total;
        return 0;
    }
    char *copy1 = xstrdup(cf->path), *copy2 = xstrdup(cf->path);
    const char *dir = dirname(copy1), *base = basename(copy2);
    /* The temporary file gets the original's mode and owner from the start. */
    cf->pending_tmp = write_temp_file_pieces(dir, base, pieces, n, cf->mode, cf->uid, cf->gid);
    if (!cf->pending_tmp)
        diag_add(d, "%s: cannot write a temporary file in %s: %s; nothing was written", cf->path,
                 dir, strerror(errno));
    free(copy1);
    free(copy2);
    return cf->pending_tmp ? 0 : -1;
}

void configfile_discard(struct configfile *cf)
{
    if (cf->pending_tmp)
        unlink(cf->pending_tmp);
    free(cf->pending_tmp);
    cf->pending_tmp = NULL;
    if (cf->pending_data)
        wipe(cf->pending_data, cf->pending_len);
    free(cf->pending_data);
    cf->pending_data = NULL;
    cf->pending_len = 0;
}

int configfile_commit(struct configfile *cf, const char *expected, size_t expected_len,
                      unsigned backups, char **backup_path, struct diag *d)
{
    if (backup_path)
        *backup_path = NULL;
    if (cf->smb) {
        int rc = cf->pending_data ? replace_smb(cf, expected, expected_len, cf->pending_data,
                                                cf->pending_len, backups, backup_path, d)
                                  : -1;
        configfile_discard(cf);
        return rc;
    }
    if (!cf->pending_tmp) {
        diag_add(d, "%s: internal error: nothing prepared to write", cf->path);
        return -1;
    }
    char *copy1 = xstrdup(cf->path), *copy2 = xstrdup(cf->path);
    const char *dir = dirname(copy1), *base = basename(copy2);
    char *bak = NULL;
    int rc = -1;
    /* Last look just before the swap: what is left is the backup's link and
     * the rename. (One full compare, here: an earlier one would only save a
     * temp file's write when another tool got in first.) */
    int same = unchanged_on_disk(cf->path, expected, expected_len);
    if (same != 1) {
        if (same == 0)
            rc = CONFIGFILE_CHANGED;
        else
            diag_add(d, "%s: cannot be read again while writing; nothing was written", cf->path);
        goto out;
    }
    bool linked = false;
    if (backups > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        bak = xasprintf("%s/%s.%s.%09ld.bak", dir, base, stamp, ts.tv_nsec);
        /* The original itself becomes the backup: a second name for its
         * inode, made 0600 once the new file has taken the name (backups
         * can hold plain passwords). Where the filesystem has no hard
         * links, a copy written 0600 from the start. */
        linked = link(cf->path, bak) == 0;
        if (!linked) {
            char *btmp = write_temp_file(dir, base, expected, expected_len, 0600, cf->uid, cf->gid);
            if (!btmp || rename(btmp, bak) < 0) {
                diag_add(d, "%s: cannot write the backup %s: %s; nothing was written", cf->path,
                         bak, strerror(errno));
                if (btmp)
                    unlink(btmp);
                free(btmp);
                goto out;
            }
            free(btmp);
        }
    }
    if (rename(cf->pending_tmp, cf->path) < 0) {
        diag_add(d, "%s: cannot replace: %s; nothing was written", cf->path, strerror(errno));
        goto out;
    }
    free(cf->pending_tmp); /* it is the file now */
    cf->pending_tmp = NULL;
    if (linked)
        chmod(bak, 0600);
    sync_folder(dir);
    if (backups > 0)
        prune_backups(dir, base, backups); /* only after a write: never for a failed one */
    if (backup_path && bak) {
        *backup_path = bak;
        bak = NULL;
    }
    rc = 0;
out:
    if (rc != 0 && bak)
        unlink(bak); /* a copy of the file as it still is: not a backup of anything */
    configfile_discard(cf);
    free(bak);
    free(copy1);
    free(copy2);
    return rc;
}

int configfile_replace(struct configfile *cf, const char *expected, size_t expected_len,
                       const char *data, size_t len, unsigned backups, char **backup_path,
                       struct diag *d)
{
    if (backup_path)
        *backup_path = NULL;
    struct iovec one = {(void *)data, len};
    if (configfile_prepare(cf, &one, 1, d) < 0)
        return -1;
    return configfile_commit(cf, expected, expected_len, backups, backup_path, d);
}

void configfile_close(struct configfile *cf)
{
    configfile_discard(cf);
    smb_session_close(cf->smb);
    if (cf->lock_fd >= 0)
        close(cf->lock_fd);
    free(cf->path);
    if (cf->data)
        wipe(cf->data, cf->len);
    free(cf->data);
    memset(cf, 0, sizeof *cf);
    cf->lock_fd = -1;
}
