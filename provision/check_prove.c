/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check --prove: the probes of check.c tried for real over SMB, logged on
 * as the pool's account (check.h check_prove_fn). A write probe creates a
 * small file in the folder and deletes it again at once. */
#include "provision/check_prove.h"

#include "provision/smb/smb.h"
#include "provision/smb/smbtext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The folder's URL: the location and the encoded path below it. */
static char *folder_url(const char *location, const char *rel)
{
    size_t n = strlen(location);
    while (n && location[n - 1] == '/')
        n--;
    if (!*rel)
        return xstrndup(location, n);
    char *enc = smb_url_encode_path(rel);
    char *url = xasprintf("%.*s/%s", (int)n, location, enc);
    free(enc);
    return url;
}

/* 1 allowed, 0 denied (EACCES, EPERM), -1 anything else (why set). */
static int outcome(struct smb_session *s, int rc, char **why, struct diag *d)
{
    if (rc == 0)
        return 1;
    int e = smb_errno(s);
    if (e == EACCES || e == EPERM)
        return 0;
    *why = xstrdup(d->count ? d->msgs[d->count - 1] : strerror(e));
    return -1;
}

static void try_read(struct smb_session *s, const char *url, struct check_probe *p)
{
    struct diag d;
    diag_init(&d);
    struct smb_dirent *ents = NULL;
    size_t n = 0;
    int got = outcome(s, smb_list(s, url, &ents, &n, &d), &p->why, &d);
    /* Listing is not reading: read the first file there too. */
    for (size_t i = 0; got == 1 && i < n; i++) {
        if (ents[i].is_dir || ents[i].reparse)
            continue;
        char *enc = smb_url_encode_path(ents[i].name);
        char *file = xasprintf("%s/%s", url, enc);
        free(enc);
        char *data = NULL;
        size_t len = 0;
        diag_free(&d);
        diag_init(&d);
        got = outcome(s, smb_read_file(s, file, 1u << 20, &data, &len, &d), &p->why, &d);
        free(data);
        free(file);
        break;
    }
    smb_dirents_free(ents, n);
    diag_free(&d);
    p->got = got;
}

static void try_write(struct smb_session *s, const char *url, struct check_probe *p, unsigned seq)
{
    char *file = xasprintf("%s/.provision-prove-%ld-%u.tmp", url, (long)getpid(), seq);
    static const char text[] = "provision check --prove: written and deleted at once\n";
    struct diag d;
    diag_init(&d);
    p->got = outcome(s, smb_write_new_file(s, file, text, sizeof text - 1, &d), &p->why, &d);
    if (p->got == 1) {
        diag_free(&d);
        diag_init(&d);
        if (smb_unlink(s, file, &d) < 0)
            p->why = xasprintf("the probe file could not be deleted again: %s (remove it: %s)",
                               d.count ? d.msgs[0] : "error", file);
    }
    diag_free(&d);
    free(file);
}

int check_prove_smb(const char *location, const char *user, const char *password,
                    struct check_probe *probes, size_t n, char **why)
{
    const char *slash = strchr(user, '\\');
    char *domain = slash ? xstrndup(user, (size_t)(slash - user)) : NULL;
    struct smb_options o = {
        .user = slash ? slash + 1 : user, .domain = domain, .password = password};
    struct smb_session *s = NULL;
    struct diag d;
    diag_init(&d);
    if (smb_session_open(&o, &s, &d) < 0) {
        *why = xstrdup(d.count ? d.msgs[0] : "SMB session failed");
        diag_free(&d);
        free(domain);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char *url = folder_url(location, probes[i].rel);
        if (probes[i].kind == CHECK_PROBE_READ)
            try_read(s, url, &probes[i]);
        else
            try_write(s, url, &probes[i], (unsigned)i);
        free(url);
    }
    smb_session_close(s);
    diag_free(&d);
    free(domain);
    return 0;
}
