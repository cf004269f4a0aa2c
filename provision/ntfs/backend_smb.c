/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SMB back end: relative paths under smb://host/share[/path], carried
 * out by provision/smb (libsmbclient). It reads and writes DACLs but not
 * the control bits (see smb.h), so it has neither ACL_CAP_CONTROL nor
 * ACL_CAP_EXACT. */
#include "provision/ntfs/backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provision/smb/smb.h"
#include "provision/smb/smbtext.h"

struct smb_impl {
    struct smb_session *s;
    bool own_session;
    char *base; /* "smb://host/share/encoded/path" without a trailing '/' */
};

static void diag_move(struct diag *to, struct diag *from)
{
    for (size_t i = 0; i < from->count; i++)
        if (to)
            diag_add(to, "%s", from->msgs[i]);
    diag_free(from);
}

static char *url_of(const struct smb_impl *im, const char *rel)
{
    if (!rel || !*rel)
        return xasprintf("%s/", im->base);
    char *enc = smb_url_encode_path(rel);
    char *u = xasprintf("%s/%s", im->base, enc);
    free(enc);
    return u;
}

static int s_exists(struct acl_backend *b, const char *rel, bool *is_dir, struct diag *d)
{
    struct smb_impl *im = b->impl;
    char *u = url_of(im, rel);
    struct smb_stat st;
    int rc = smb_stat(im->s, u, &st, d);
    free(u);
    if (rc == 1 && is_dir)
        *is_dir = st.is_dir;
    return rc;
}

static int s_mkdir(struct acl_backend *b, const char *rel, struct diag *d)
{
    struct smb_impl *im = b->impl;
    char *u = url_of(im, rel);
    struct diag tmp;
    diag_init(&tmp);
    int rc = smb_mkdir(im->s, u, &tmp);
    free(u);
    if (rc == 0) {
        diag_free(&tmp);
        return 0;
    }
    int e = smb_errno(im->s);
    if (e == EEXIST || e == ENOENT) {
        diag_free(&tmp);
        return -e;
    }
    diag_move(d, &tmp);
    return -1;
}

static int s_rmdir(struct acl_backend *b, const char *rel, struct diag *d)
{
    struct smb_impl *im = b->impl;
    char *u = url_of(im, rel);
    struct diag tmp;
    diag_init(&tmp);
    int rc = smb_rmdir(im->s, u, &tmp);
    free(u);
    if (rc == 0) {
        diag_free(&tmp);
        return 0;
    }
    if (smb_errno(im->s) == ENOTEMPTY) {
        diag_free(&tmp);
        return -ENOTEMPTY;
    }
    diag_move(d, &tmp);
    return -1;
}

static int s_get_sd(struct acl_backend *b, const char *rel, struct ntfs_sd *sd, struct diag *d)
{
    struct smb_impl *im = b->impl;
    char *u = url_of(im, rel);
    int rc = smb_get_sd(im->s, u, sd, d);
    free(u);
    return rc;
}

static int s_set_sd(struct acl_backend *b, const char *rel, const struct ntfs_sd *sd,
                    struct diag *d)
{
    struct smb_impl *im = b->impl;
    char *u = url_of(im, rel);
    int rc = smb_set_sd(im->s, u, sd, d);
    free(u);
    return rc;
}

static int s_list(struct acl_backend *b, const char *rel, struct acl_dirent **out, size_t *n,
                  struct diag *d)
{
    struct smb_impl *im = b->impl;
    char *u = url_of(im, rel);
    struct smb_dirent *e;
    size_t k;
    int rc = smb_list(im->s, u, &e, &k, d);
    free(u);
    *out = NULL;
    *n = 0;
    if (rc != 0)
        return -1;
    size_t m = 0;
    if (k) {
        *out = xcalloc(k, sizeof **out);
        for (size_t i = 0; i < k; i++) {
            /* folders that are reparse points (junctions, symbolic links)
             * may lead anywhere: not followed, as on the ntfs-3g side */
            if (e[i].is_dir && e[i].reparse)
                continue;
            (*out)[m].name = e[i].name;
            (*out)[m].is_dir = e[i].is_dir;
            e[i].name = NULL;
            m++;
        }
    }
    *n = m;
    smb_dirents_free(e, k);
    if (m == 0) {
        free(*out);
        *out = NULL;
    }
    return 0;
}

static int s_close(struct acl_backend *b, struct diag *d)
{
    struct smb_impl *im = b->impl;
    (void)d;
    if (!im)
        return 0;
    if (im->own_session)
        smb_session_close(im->s);
    free(im->base);
    free(im);
    b->impl = NULL;
    return 0;
}

static const struct acl_backend_ops smb_ops = {
    .exists = s_exists,
    .mkdir = s_mkdir,
    .rmdir = s_rmdir,
    .get_sd = s_get_sd,
    .set_sd = s_set_sd,
    .list = s_list,
    .close = s_close,
};

static bool host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    if (h[0] == '[') /* IPv6 literal */
        return n > 2 && h[n - 1] == ']' && strspn(h + 1, "0123456789abcdefABCDEF:.") == n - 2;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return false;
    }
    return h[0] != '-' && h[0] != '.';
}

static bool smb_match(const char *location)
{
    return ascii_ncasecmp(location, "smb://", 6) == 0;
}

static int smb_init(struct acl_backend *b, const char *location,
                    const struct acl_backend_options *opt, struct diag *d)
{
    const char *p = location + 6; /* after smb:// */
    const char *slash = strchr(p, '/');
    const char *share, *share_end, *path;
    char *norm = NULL;

    b->kind = ACL_BACKEND_SMB;
    if (!slash || !host_ok(p, (size_t)(slash - p))) {
        diag_add(d, "%s: malformed SMB location: expected smb://host/share[/path]", location);
        return -1;
    }
    if (strchr(p, '@') || strchr(p, '?') || strchr(p, '#') || strchr(p, '%')) {
        diag_add(d,
                 "%s: malformed SMB location: user names, options and %%-escapes are not "
                 "accepted (credentials come from the auth file or Kerberos)",
                 location);
        return -1;
    }
    share = slash + 1;
    share_end = strchr(share, '/');
    if (!share_end)
        share_end = share + strlen(share);
    if (share_end == share || (size_t)(share_end - share) > 80) {
        diag_add(d, "%s: malformed SMB location: no share name", location);
        return -1;
    }
    for (const char *c = share; c < share_end; c++)
        if ((unsigned char)*c < 0x20 || strchr("\\[]:|<>+=;,*?\"", *c)) {
            diag_add(d, "%s: malformed SMB location: bad character in the share name", location);
            return -1;
        }
    path = *share_end ? share_end + 1 : share_end;
    /* a trailing '/' is fine */
    char *trimmed = xstrdup(path);
    size_t tl = strlen(trimmed);
    while (tl && trimmed[tl - 1] == '/')
        trimmed[--tl] = '\0';
    if (acl_path_check(trimmed, true, &norm, d) != 0) {
        diag_add(d, "%s: malformed SMB location (folder part)", location);
        free(trimmed);
        return -1;
    }
    free(trimmed);

    struct smb_impl *im = xcalloc(1, sizeof *im);
    char *share_s = xstrndup(share, (size_t)(share_end - share));
    char *share_enc = smb_url_encode_path(share_s);
    char *path_enc = smb_url_encode_path(norm);
    im->base = *norm ? xasprintf("smb://%.*s/%s/%s", (int)(slash - p), p, share_enc, path_enc)
                     : xasprintf("smb://%.*s/%s", (int)(slash - p), p, share_enc);
    free(share_s);
    free(share_enc);
    free(path_enc);
    free(norm);
    if (opt && opt->smb) {
        im->s = opt->smb;
    } else {
        if (smb_session_open(opt ? opt->smb_opts : NULL, &im->s, d) != 0) {
            free(im->base);
            free(im);
            return -1;
        }
        im->own_session = true;
    }
    b->impl = im;
    b->ops = &smb_ops;
    b->caps = ACL_CAP_DESCRIPTORS;
    return 0;
}

const struct acl_backend_type acl_backend_smb = {
    .syntax = "smb://host/share[/path]",
    .match = smb_match,
    .init = smb_init,
};
