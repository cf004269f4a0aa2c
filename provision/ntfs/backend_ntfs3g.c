/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ntfs-3g back end: a folder on a local ntfs-3g mount. Descriptors are
 * the raw self-relative bytes of the "system.ntfs_acl" extended attribute
 * (one object, no inheritance done by ntfs-3g on a set); owner and group
 * must both be present. getxattr is asked for the size first: ntfs-3g
 * answers a short buffer with EIO, not the ERANGE of getxattr(2).
 * Symbolic links (and reparse points ntfs-3g shows as links) are never
 * followed. */
#include "provision/ntfs/backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_NAME "system.ntfs_acl"

struct ntfs3g_impl {
    char *root; /* absolute, no trailing '/' (except "/") */
};

static char *path_of(const struct ntfs3g_impl *im, const char *rel)
{
    if (!rel || !*rel)
        return xstrdup(im->root);
    return xasprintf("%s/%s", strcmp(im->root, "/") == 0 ? "" : im->root, rel);
}

static void err(struct diag *d, const char *path, const char *what, int e)
{
    if (d)
        diag_add(d, "%s (ntfs-3g): %s: %s", path, what, strerror(e));
}

/* Fails (-1, message) when a component of rel below the root is a symbolic
 * link; 0 otherwise (missing components are fine). */
static int no_links(const struct ntfs3g_impl *im, const char *rel, struct diag *d)
{
    if (!rel || !*rel)
        return 0;
    char *p = path_of(im, rel);
    size_t rootlen = strlen(im->root);
    for (char *c = p + rootlen + 1;; c++) {
        if (*c == '/' || *c == '\0') {
            char save = *c;
            struct stat st;
            *c = '\0';
            if (lstat(p, &st) != 0) {
                *c = save;
                break;
            }
            if (S_ISLNK(st.st_mode)) {
                diag_add(d, "%s (ntfs-3g): is a symbolic link or reparse point; not followed", p);
                free(p);
                return -1;
            }
            *c = save;
            if (save == '\0')
                break;
        }
    }
    free(p);
    return 0;
}

static int n_exists(struct acl_backend *b, const char *rel, bool *is_dir, struct diag *d)
{
    struct ntfs3g_impl *im = b->impl;
    if (no_links(im, rel, d) != 0)
        return -1;
    char *p = path_of(im, rel);
    struct stat st;
    if (lstat(p, &st) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            free(p);
            return 0;
        }
        err(d, p, "cannot look up", e);
        free(p);
        return -1;
    }
    free(p);
    if (is_dir)
        *is_dir = S_ISDIR(st.st_mode);
    return 1;
}

static int n_mkdir(struct acl_backend *b, const char *rel, struct diag *d)
{
    struct ntfs3g_impl *im = b->impl;
    if (no_links(im, rel, d) != 0)
        return -1;
    char *p = path_of(im, rel);
    if (mkdir(p, 0755) != 0) {
        int e = errno;
        if (e == EEXIST || e == ENOENT) {
            free(p);
            return -e;
        }
        err(d, p, "cannot create folder", e);
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

static int n_rmdir(struct acl_backend *b, const char *rel, struct diag *d)
{
    struct ntfs3g_impl *im = b->impl;
    if (no_links(im, rel, d) != 0)
        return -1;
    char *p = path_of(im, rel);
    if (rmdir(p) != 0) {
        int e = errno;
        free(p);
        if (e == ENOTEMPTY || e == EEXIST)
            return -ENOTEMPTY;
        char *q = path_of(im, rel);
        err(d, q, "cannot remove folder", e);
        free(q);
        return -1;
    }
    free(p);
    return 0;
}

static int n_get_sd(struct acl_backend *b, const char *rel, struct ntfs_sd *sd, struct diag *d)
{
    struct ntfs3g_impl *im = b->impl;
    uint8_t *buf = NULL;
    ssize_t n = -1;

    ntfs_sd_init(sd);
    if (no_links(im, rel, d) != 0)
        return -1;
    char *p = path_of(im, rel);
    for (int tries = 0; tries < 4; tries++) {
        ssize_t size = lgetxattr(p, XATTR_NAME, NULL, 0);
        if (size < 0) {
            int e = errno;
            if (e == ENODATA || e == ENOTSUP)
                diag_add(d, "%s (ntfs-3g): no %s attribute: not an ntfs-3g mount?", p, XATTR_NAME);
            else
                err(d, p, "cannot read the security descriptor", e);
            free(p);
            return -1;
        }
        if ((size_t)size > ACL_SD_MAX) {
            diag_add(d, "%s (ntfs-3g): security descriptor of %zd bytes is over the 64 KiB limit",
                     p, size);
            free(p);
            return -1;
        }
        free(buf);
        buf = xmalloc(size ? (size_t)size : 1);
        n = lgetxattr(p, XATTR_NAME, buf, (size_t)size);
        if (n >= 0)
            break;
        if (errno != ERANGE && errno != EIO) {
            err(d, p, "cannot read the security descriptor", errno);
            free(buf);
            free(p);
            return -1;
        }
        /* grew between the two calls: ask again */
    }
    if (n < 0) {
        err(d, p, "cannot read the security descriptor (kept changing size)", EIO);
        free(buf);
        free(p);
        return -1;
    }
    int rc = ntfs_sd_decode(buf, (size_t)n, sd);
    free(buf);
    if (rc != 0) {
        diag_add(d, "%s (ntfs-3g): malformed security descriptor: %s", p, ntfs_sd_strerror(rc));
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

static int n_set_sd(struct acl_backend *b, const char *rel, const struct ntfs_sd *sd,
                    struct diag *d)
{
    struct ntfs3g_impl *im = b->impl;
    uint8_t *buf;
    size_t len;

    if (no_links(im, rel, d) != 0)
        return -1;
    char *p = path_of(im, rel);
    if (!sd->has_owner || !sd->has_group) {
        diag_add(d, "%s (ntfs-3g): a descriptor without owner and group cannot be written", p);
        free(p);
        return -1;
    }
    int rc = ntfs_sd_encode(sd, &buf, &len);
    if (rc != 0) {
        diag_add(d, "%s (ntfs-3g): cannot encode the descriptor: %s", p, ntfs_sd_strerror(rc));
        free(p);
        return -1;
    }
    if (len > ACL_SD_MAX) {
        diag_add(d, "%s (ntfs-3g): descriptor of %zu bytes is over the 64 KiB limit", p, len);
        free(buf);
        free(p);
        return -1;
    }
    if (lsetxattr(p, XATTR_NAME, buf, len, 0) != 0) {
        err(d, p, "cannot write the security descriptor", errno);
        free(buf);
        free(p);
        return -1;
    }
    free(buf);
    free(p);
    return 0;
}

static int n_list(struct acl_backend *b, const char *rel, struct acl_dirent **out, size_t *n,
                  struct diag *d)
{
    struct ntfs3g_impl *im = b->impl;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (no_links(im, rel, d) != 0)
        return -1;
    char *p = path_of(im, rel);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        err(d, p, "cannot list folder", errno);
        if (fd >= 0)
            close(fd);
        free(p);
        return -1;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (!de) {
            if (errno) {
                err(d, p, "cannot list folder", errno);
                closedir(dir);
                acl_dirents_free(*out, *n);
                *out = NULL;
                *n = 0;
                free(p);
                return -1;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        bool is_dir;
        if (de->d_type == DT_DIR || de->d_type == DT_REG) {
            is_dir = de->d_type == DT_DIR;
        } else if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                continue;
            is_dir = S_ISDIR(st.st_mode);
        } else {
            continue; /* links, devices, ... */
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[*n].name = xstrdup(de->d_name);
        (*out)[*n].is_dir = is_dir;
        (*n)++;
    }
    closedir(dir);
    free(p);
    return 0;
}

static int n_close(struct acl_backend *b, struct diag *d)
{
    struct ntfs3g_impl *im = b->impl;
    (void)d;
    if (im) {
        free(im->root);
        free(im);
    }
    b->impl = NULL;
    return 0;
}

static const struct acl_backend_ops ntfs3g_ops = {
    .exists = n_exists,
    .mkdir = n_mkdir,
    .rmdir = n_rmdir,
    .get_sd = n_get_sd,
    .set_sd = n_set_sd,
    .list = n_list,
    .close = n_close,
};

static bool ntfs3g_match(const char *location)
{
    return location[0] == '/';
}

static int ntfs3g_init(struct acl_backend *b, const char *root,
                       const struct acl_backend_options *opt, struct diag *d)
{
    struct stat st;
    (void)opt;
    b->kind = ACL_BACKEND_NTFS3G;
    if (root[0] != '/') {
        diag_add(d, "%s: an ntfs-3g location must be an absolute path", root);
        return -1;
    }
    for (const char *c = root; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            diag_add(d, "ntfs-3g location contains a control character");
            return -1;
        }
    if (stat(root, &st) != 0) {
        diag_add(d, "%s (ntfs-3g): %s", root, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        diag_add(d, "%s (ntfs-3g): not a folder", root);
        return -1;
    }
    if (getxattr(root, XATTR_NAME, NULL, 0) < 0) {
        diag_add(d, "%s: not on an ntfs-3g mount (no %s attribute: %s)", root, XATTR_NAME,
                 strerror(errno));
        return -1;
    }
    struct ntfs3g_impl *im = xcalloc(1, sizeof *im);
    im->root = xstrdup(root);
    size_t l = strlen(im->root);
    while (l > 1 && im->root[l - 1] == '/')
        im->root[--l] = '\0';
    b->impl = im;
    b->ops = &ntfs3g_ops;
    b->caps = ACL_CAP_DESCRIPTORS | ACL_CAP_CONTROL | ACL_CAP_EXACT;
    return 0;
}

const struct acl_backend_type acl_backend_ntfs3g = {
    .syntax = "an absolute path on an ntfs-3g mount",
    .match = ntfs3g_match,
    .init = ntfs3g_init,
};
