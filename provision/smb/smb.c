/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SMB system through libsmbclient: session, files, folders,
 * descriptors, replace-with-backup. See smb.h for the contract. */
#include "provision/smb/smb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "provision/smb/smbc_api.h"

#include "provision/smb/smbtext.h"

/* libsmbclient, loaded when the first session is opened (smbc_api.h). */
static const struct smbc_api *lib;

#define AUTHFILE_MAX 65536

/* DOS attributes (MS-FSCC 2.6) */
#define SMB_ATTR_DIRECTORY     0x0010u
#define SMB_ATTR_REPARSE_POINT 0x0400u

struct smb_session {
    SMBCCTX *ctx;
    char *user;     /* heap */
    char *domain;   /* heap or NULL */
    char *password; /* heap or NULL; wiped when dropped */
    size_t password_cap;
    bool kerberos;
    int last_errno;
    struct strmap connected; /* "host/share" that answered at least once */
    char *sdbuf;             /* SMB_SD_TEXT_MAX bytes, reused */
    unsigned long counter;   /* for temp and backup names */
    void (*hook)(int, void *);
    void *hook_arg;
    /* A request timed out: the server stopped answering. It is not asked
     * again in this session (each request would wait the full timeout);
     * what is left goes to the journal and recovery. */
    bool timed_out;
    int timeout_ms; /* per request, as set on the context */
};

/* ------------------------------------------------------------------ text */

/* URL for messages: %XX decoded, control characters shown as '?'. */
static char *display_url(const char *url)
{
    struct strbuf sb;
    sb_init(&sb);
    for (const char *p = url; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end == '\0') {
                c = (unsigned char)v;
                p += 2;
            }
        }
        sb_addc(&sb, (c < 0x20 || c == 0x7f) ? '?' : (char)c);
    }
    return sb_detach(&sb);
}

/* "host/share" of a URL, lower-cased; heap. */
static char *share_key(const char *url)
{
    const char *p = url;
    if (strncmp(p, "smb://", 6) == 0)
        p += 6;
    const char *slash = strchr(p, '/');
    if (!slash)
        return ascii_lower_dup(p);
    const char *end = strchr(slash + 1, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *k = xstrndup(p, n);
    for (char *q = k; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    return k;
}

static const char *reason(int err)
{
    switch (err) {
    case ENOENT:
        return "not found";
    case ENOTDIR:
        return "a component of the path is not a folder";
    case EISDIR:
        return "is a folder";
    case EEXIST:
        return "already exists";
    case ENOTEMPTY:
        return "folder is not empty";
    case EACCES:
    case EPERM:
        return "access denied";
    case EINVAL:
        return "invalid URL, or the host name does not resolve";
    case ECONNREFUSED:
        return "connection refused (no SMB server listening on the host)";
    case ETIMEDOUT:
        return "timed out";
    case EHOSTUNREACH:
    case ENETUNREACH:
        return "host unreachable";
    case ECONNRESET:
        return "connection reset by the server";
    case EBUSY:
    case ETXTBSY:
        return "in use by another process (sharing violation)";
    case ENOSPC:
        return "no space left on the server";
    case ENOMEM:
        return "out of memory";
    case ENODEV:
        return "share not found";
    case EFBIG:
        return "file too large";
    case ERANGE:
        return "value too large";
    case ENOTSUP:
        return "not supported by the server";
    case ESTALE:
        return "the file changed since it was read (it no longer holds the expected content)";
    case 0:
        return "failed (libsmbclient reported no cause)";
    default:
        return strerror(err);
    }
}

static void fail(struct smb_session *s, struct diag *d, const char *url, const char *what, int err)
{
    s->last_errno = err;
    if (err == ETIMEDOUT)
        s->timed_out = true;
    if (!d)
        return;
    char *shown = display_url(url);
    if (err == EACCES || err == EPERM) {
        char *key = share_key(url);
        bool known = strmap_get(&s->connected, key) != NULL;
        if (!known) {
            /* first contact with this share: can we see its root at all? */
            char *root = xasprintf("smb://%s/", key);
            struct stat sb;
            if (lib->getFunctionStat(s->ctx)(s->ctx, root, &sb) == 0) {
                strmap_put(&s->connected, key, s);
                known = true;
            }
            free(root);
        }
        free(key);
        if (!known) {
            diag_add(d,
                     "%s: %s: access denied when connecting as %s%s%s (logon failure, or no "
                     "access to the share)",
                     shown, what, s->domain ? s->domain : "", s->domain ? "\\" : "",
                     s->user ? s->user : (s->kerberos ? "the Kerberos ticket's user" : "?"));
            free(shown);
            return;
        }
    }
    if (err == EINVAL || err == ENOENT || err == ENODEV) {
        char *key = share_key(url);
        bool known = strmap_get(&s->connected, key) != NULL;
        free(key);
        if (!known && err == EINVAL) {
            diag_add(d, "%s: %s: cannot connect: %s", shown, what,
                     s->kerberos ? "no usable Kerberos ticket (see KRB5CCNAME and klist), the "
                                   "host name does not resolve, or the URL is invalid"
                                 : "the host name does not resolve, or the URL is invalid");
            free(shown);
            return;
        }
        if (!known) {
            diag_add(d, "%s: %s: not found (is the share name right?)", shown, what);
            free(shown);
            return;
        }
        if (err == EINVAL) {
            /* libsmbclient's EINVAL after the share has answered: a
             * reconnection it refused, not a bad URL. Ask the share root
             * what it says now. */
            char *root = xasprintf("smb://%s/", key = share_key(url));
            free(key);
            struct stat sb;
            errno = 0;
            int now = lib->getFunctionStat(s->ctx)(s->ctx, root, &sb) == 0 ? 0 : errno;
            free(root);
            if (now == EACCES || now == EPERM)
                diag_add(d, "%s: %s: access denied: the share now refuses %s%s%s", shown, what,
                         s->domain ? s->domain : "", s->domain ? "\\" : "",
                         s->user ? s->user : "this account");
            else if (now == 0 || now == EINVAL) /* what a refused tree connect gives */
                diag_add(d,
                         "%s: %s: the share, which answered earlier in this run, refused to "
                         "reconnect: access denied to %s%s%s, or the connection was lost "
                         "(libsmbclient does not say which)",
                         shown, what, s->domain ? s->domain : "", s->domain ? "\\" : "",
                         s->user ? s->user : "this account");
            else
                diag_add(d,
                         "%s: %s: the share, which answered earlier in this run, stopped "
                         "answering: %s",
                         shown, what, reason(now));
            free(shown);
            return;
        }
    }
    diag_add(d, "%s: %s: %s", shown, what, reason(err));
    free(shown);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libsmbclient's descriptor calls go through an IPC$ connection of its own
 * whose requests keep its built-in 20 s timeout, and report a server that
 * stopped answering as ENODATA or 0: a failure that took the whole timeout
 * is taken for what it is. */
static int as_timeout(const struct smb_session *s, long long started, int err)
{
    return now_ms() - started >= s->timeout_ms ? ETIMEDOUT : err;
}

/* False (with a message) once a request of this session timed out. */
static bool answering(struct smb_session *s, const char *url, const char *what, struct diag *d)
{
    if (!s->timed_out)
        return true;
    s->last_errno = ETIMEDOUT;
    if (d) {
        char *shown = display_url(url);
        diag_add(d,
                 "%s: %s: not tried: the server stopped answering earlier in this run (timed out)",
                 shown, what);
        free(shown);
    }
    return false;
}

static void ok(struct smb_session *s, const char *url)
{
    char *key = share_key(url);
    if (!strmap_get(&s->connected, key))
        strmap_put(&s->connected, key, s);
    free(key);
}

/* ------------------------------------------------------------------ session */

static void auth_fn(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen, char *un,
                    int unlen, char *pw, int pwlen)
{
    struct smb_session *s = lib->getOptionUserData(c);
    (void)srv;
    (void)shr;
    if (!s)
        return;
    if (s->domain && wglen > 0)
        snprintf(wg, (size_t)wglen, "%s", s->domain);
    if (s->user && unlen > 0)
        snprintf(un, (size_t)unlen, "%s", s->user);
    if (pwlen > 0) {
        if (s->password && !s->kerberos)
            snprintf(pw, (size_t)pwlen, "%s", s->password);
        else
            pw[0] = '\0';
    }
}

/* Reads the auth file, refusing anything but a regular file of mode 0600
 * or stricter. The buffer is wiped. */
static int load_authfile(struct smb_session *s, const char *path, struct diag *d)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char err[160];
    if (fd < 0) {
        diag_add(d, "%s: cannot open the SMB credentials file: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        diag_add(d, "%s: the SMB credentials file is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        diag_add(d,
                 "%s: the SMB credentials file is readable by others (mode %04o); it must be 0600 "
                 "(chmod 600 %s)",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -1;
    }
    if (st.st_size > AUTHFILE_MAX) {
        diag_add(d, "%s: the SMB credentials file is too large", path);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            diag_add(d, "%s: cannot read the SMB credentials file: %s", path, strerror(errno));
            close(fd);
            wipe(buf, cap);
            free(buf);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap)
            break; /* grew meanwhile: parse what fits */
    }
    close(fd);
    struct smb_authfile a;
    int rc = smb_authfile_parse(buf, n, &a, err, sizeof err);
    wipe(buf, cap);
    free(buf);
    if (rc != 0) {
        diag_add(d, "%s: %s", path, err);
        return -1;
    }
    s->user = a.username;
    s->domain = a.domain;
    s->password_cap = strlen(a.password) + 1;
    s->password = a.password;
    return 0;
}

int smb_session_open(const struct smb_options *o, struct smb_session **out, struct diag *d)
{
    *out = NULL;
    if (!lib && !(lib = smbc_api_load(d)))
        return -1;
    struct smb_session *s = xcalloc(1, sizeof *s);
    strmap_init(&s->connected);
    s->kerberos = o && o->kerberos;
    if (s->kerberos) {
        if (o->user)
            s->user = xstrdup(o->user);
    } else {
        if (o && !o->auth_file && o->user && o->password) {
            s->user = xstrdup(o->user);
            s->domain = o->domain ? xstrdup(o->domain) : NULL;
            s->password_cap = strlen(o->password) + 1;
            s->password = xstrdup(o->password);
        } else if (!o || !o->auth_file) {
            diag_add(d, "SMB: no credentials (an auth file or Kerberos is needed)");
            free(s);
            return -1;
        } else if (load_authfile(s, o->auth_file, d) != 0) {
            strmap_free(&s->connected);
            free(s);
            return -1;
        }
    }
    s->ctx = lib->new_context();
    if (!s->ctx) {
        diag_add(d, "SMB: cannot create a libsmbclient context: %s", strerror(errno));
        smb_session_close(s);
        return -1;
    }
    lib->setDebug(s->ctx, 0);
    lib->setOptionUserData(s->ctx, s);
    lib->setFunctionAuthDataWithContext(s->ctx, auth_fn);
    lib->setOptionNoAutoAnonymousLogin(s->ctx, 1);
    lib->setOptionUrlEncodeReaddirEntries(s->ctx, 0);
    s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 20000;
    lib->setTimeout(s->ctx, s->timeout_ms);
    if (s->kerberos) {
        lib->setOptionUseKerberos(s->ctx, 1);
        lib->setOptionFallbackAfterKerberos(s->ctx, 0);
        lib->setOptionUseCCache(s->ctx, 1);
    } else {
        lib->setOptionUseKerberos(s->ctx, 0);
        lib->setOptionUseCCache(s->ctx, 0);
    }
    if (!lib->init_context(s->ctx)) {
        diag_add(d, "SMB: cannot initialise libsmbclient: %s", strerror(errno));
        lib->free_context(s->ctx, 1);
        s->ctx = NULL;
        smb_session_close(s);
        return -1;
    }
    if (s->user)
        lib->setUser(s->ctx, s->user);
    if (s->domain)
        lib->setWorkgroup(s->ctx, s->domain);
    s->sdbuf = xmalloc(SMB_SD_TEXT_MAX);
    *out = s;
    return 0;
}

void smb_session_drop_password(struct smb_session *s)
{
    if (s && s->password) {
        wipe(s->password, s->password_cap);
        free(s->password);
        s->password = NULL;
    }
}

void smb_session_close(struct smb_session *s)
{
    if (!s)
        return;
    smb_session_drop_password(s);
    if (s->ctx)
        lib->free_context(s->ctx, 1);
    free(s->user);
    free(s->domain);
    free(s->sdbuf);
    strmap_free(&s->connected);
    free(s);
}

int smb_errno(const struct smb_session *s)
{
    return s ? s->last_errno : EINVAL;
}

void smb_set_replace_hook(struct smb_session *s, void (*hook)(int, void *), void *arg)
{
    s->hook = hook;
    s->hook_arg = arg;
}

/* ------------------------------------------------------------------ objects */

int smb_stat(struct smb_session *s, const char *url, struct smb_stat *st, struct diag *d)
{
    if (!answering(s, url, "cannot look up", d))
        return -1;
    struct stat sb;
    errno = 0;
    if (lib->getFunctionStat(s->ctx)(s->ctx, url, &sb) < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            s->last_errno = e;
            return 0;
        }
        fail(s, d, url, "cannot look up", e);
        return -1;
    }
    ok(s, url);
    if (st) {
        st->is_dir = S_ISDIR(sb.st_mode);
        st->size = (uint64_t)sb.st_size;
        st->mtime = (int64_t)sb.st_mtime;
    }
    return 1;
}

int smb_read_file(struct smb_session *s, const char *url, size_t max, char **data, size_t *len,
                  struct diag *d)
{
    if (!answering(s, url, "cannot read", d))
        return -1;
    SMBCFILE *f;
    size_t cap = 65536, n = 0;
    char *buf;

    *data = NULL;
    *len = 0;
    errno = 0;
    f = lib->getFunctionOpen(s->ctx)(s->ctx, url, O_RDONLY, 0);
    if (!f) {
        fail(s, d, url, "cannot open for reading", errno);
        return -1;
    }
    ok(s, url);
    buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) {
                lib->getFunctionClose(s->ctx)(s->ctx, f);
                free(buf);
                fail(s, d, url, "cannot read", EFBIG);
                return -1;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        errno = 0;
        ssize_t r = lib->getFunctionRead(s->ctx)(s->ctx, f, buf + n, cap - n - 1);
        if (r < 0) {
            int e = errno;
            lib->getFunctionClose(s->ctx)(s->ctx, f);
            free(buf);
            fail(s, d, url, "cannot read", e);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            lib->getFunctionClose(s->ctx)(s->ctx, f);
            free(buf);
            fail(s, d, url, "cannot read", EFBIG);
            return -1;
        }
    }
    lib->getFunctionClose(s->ctx)(s->ctx, f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* smb_write_new_file, and with dacl_from the DACL of that file on the new
 * one before any byte is written: the handle opened first keeps its write
 * access whatever the DACL then says, and the content (a config holds
 * plain pool passwords) is never readable under the folder's inherited
 * entries. */
static int write_new(struct smb_session *s, const char *url, const void *data, size_t len,
                     const char *dacl_from, struct diag *d)
{
    if (!answering(s, url, "cannot create", d))
        return -1;
    SMBCFILE *f;
    size_t n = 0;
    int e;

    errno = 0;
    f = lib->getFunctionOpen(s->ctx)(s->ctx, url, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (!f) {
        fail(s, d, url, "cannot create", errno);
        return -1;
    }
    ok(s, url);
    if (dacl_from) {
        struct ntfs_sd sd;
        int ok_sd = smb_get_sd(s, dacl_from, &sd, d) == 0;
        if (ok_sd) {
            ok_sd = smb_set_sd(s, url, &sd, d) == 0;
            ntfs_sd_free(&sd);
        }
        if (!ok_sd) {
            lib->getFunctionClose(s->ctx)(s->ctx, f);
            lib->getFunctionUnlink(s->ctx)(s->ctx, url);
            return -1;
        }
    }
    while (n < len) {
        size_t chunk = len - n > 1048576 ? 1048576 : len - n;
        errno = 0;
        ssize_t w = lib->getFunctionWrite(s->ctx)(s->ctx, f, (const char *)data + n, chunk);
        if (w <= 0) {
            e = errno ? errno : EIO;
            lib->getFunctionClose(s->ctx)(s->ctx, f);
            lib->getFunctionUnlink(s->ctx)(s->ctx, url);
            fail(s, d, url, "cannot write", e);
            return -1;
        }
        n += (size_t)w;
    }
    errno = 0;
    if (lib->getFunctionClose(s->ctx)(s->ctx, f) < 0) {
        e = errno ? errno : EIO;
        lib->getFunctionUnlink(s->ctx)(s->ctx, url);
        fail(s, d, url, "cannot close after writing", e);
        return -1;
    }
    struct smb_stat st;
    int rc = smb_stat(s, url, &st, d);
    if (rc != 1 || st.size != (uint64_t)len) {
        if (rc == 1) {
            lib->getFunctionUnlink(s->ctx)(s->ctx, url);
            fail(s, d, url, "written file has the wrong size", EIO);
        } else if (rc == 0) {
            fail(s, d, url, "written file vanished", ENOENT);
        }
        return -1;
    }
    return 0;
}

int smb_write_new_file(struct smb_session *s, const char *url, const void *data, size_t len,
                       struct diag *d)
{
    return write_new(s, url, data, len, NULL, d);
}

int smb_rename(struct smb_session *s, const char *from, const char *to, struct diag *d)
{
    if (!answering(s, from, "cannot rename", d))
        return -1;
    int rc = smb_stat(s, to, NULL, d);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        fail(s, d, to, "cannot rename onto it", EEXIST);
        return -1;
    }
    errno = 0;
    if (lib->getFunctionRename(s->ctx)(s->ctx, from, s->ctx, to) < 0) {
        fail(s, d, from, "cannot rename", errno);
        return -1;
    }
    return 0;
}

int smb_unlink(struct smb_session *s, const char *url, struct diag *d)
{
    if (!answering(s, url, "cannot delete", d))
        return -1;
    errno = 0;
    if (lib->getFunctionUnlink(s->ctx)(s->ctx, url) < 0) {
        fail(s, d, url, "cannot delete", errno);
        return -1;
    }
    ok(s, url);
    return 0;
}

int smb_mkdir(struct smb_session *s, const char *url, struct diag *d)
{
    if (!answering(s, url, "cannot create folder", d))
        return -1;
    errno = 0;
    if (lib->getFunctionMkdir(s->ctx)(s->ctx, url, 0755) < 0) {
        fail(s, d, url, "cannot create folder", errno);
        return -1;
    }
    ok(s, url);
    return 0;
}

int smb_rmdir(struct smb_session *s, const char *url, struct diag *d)
{
    if (!answering(s, url, "cannot remove folder", d))
        return -1;
    errno = 0;
    if (lib->getFunctionRmdir(s->ctx)(s->ctx, url) < 0) {
        fail(s, d, url, "cannot remove folder", errno);
        return -1;
    }
    ok(s, url);
    return 0;
}

void smb_dirents_free(struct smb_dirent *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

int smb_list(struct smb_session *s, const char *url, struct smb_dirent **out, size_t *n,
             struct diag *d)
{
    if (!answering(s, url, "cannot list folder", d))
        return -1;
    SMBCFILE *dir;
    const struct libsmb_file_info *fi;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    errno = 0;
    dir = lib->getFunctionOpendir(s->ctx)(s->ctx, url);
    if (!dir) {
        fail(s, d, url, "cannot list folder", errno);
        return -1;
    }
    ok(s, url);
    for (;;) {
        errno = 0;
        /* readdirplus: the DOS attributes come with the name */
        fi = lib->getFunctionReaddirPlus(s->ctx)(s->ctx, dir);
        if (!fi) {
            if (errno != 0 && errno != ENOENT) {
                int e = errno;
                lib->getFunctionClosedir(s->ctx)(s->ctx, dir);
                smb_dirents_free(*out, *n);
                *out = NULL;
                *n = 0;
                fail(s, d, url, "cannot list folder", e);
                return -1;
            }
            break;
        }
        if (!fi->name || strcmp(fi->name, ".") == 0 || strcmp(fi->name, "..") == 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[*n].name = xstrdup(fi->name);
        (*out)[*n].is_dir = (fi->attrs & SMB_ATTR_DIRECTORY) != 0;
        (*out)[*n].reparse = (fi->attrs & SMB_ATTR_REPARSE_POINT) != 0;
        (*n)++;
    }
    lib->getFunctionClosedir(s->ctx)(s->ctx, dir);
    return 0;
}

/* ------------------------------------------------------------------ descriptors */

int smb_get_sd(struct smb_session *s, const char *url, struct ntfs_sd *out, struct diag *d)
{
    if (!answering(s, url, "cannot read the security descriptor", d))
        return -1;
    char err[160];
    ntfs_sd_init(out);
    s->sdbuf[0] = '\0';
    s->sdbuf[SMB_SD_TEXT_MAX - 1] = '\0';
    errno = 0;
    long long started = now_ms();
    /* libsmbclient 4.17 returns 0 (not the length) on success, and 0 for a
     * size query too: hence the fixed buffer. */
    int r = lib->getFunctionGetxattr(s->ctx)(s->ctx, url, "system.nt_sec_desc.*", s->sdbuf,
                                             SMB_SD_TEXT_MAX - 1);
    if (r < 0) {
        int e = as_timeout(s, started, errno);
        if (e == ERANGE) {
            fail(s, d, url, "cannot read the security descriptor (over 512 KiB as text)", e);
            return -1;
        }
        fail(s, d, url, "cannot read the security descriptor", e);
        return -1;
    }
    ok(s, url);
    if (strnlen(s->sdbuf, SMB_SD_TEXT_MAX) >= SMB_SD_TEXT_MAX - 1) {
        fail(s, d, url, "cannot read the security descriptor (over 512 KiB as text)", ERANGE);
        return -1;
    }
    if (smb_sd_from_text(s->sdbuf, out, err, sizeof err) != 0) {
        s->last_errno = EPROTO;
        if (d) {
            char *shown = display_url(url);
            diag_add(d, "%s: unexpected security descriptor text from libsmbclient: %s", shown,
                     err);
            free(shown);
        }
        return -1;
    }
    return 0;
}

int smb_set_sd(struct smb_session *s, const char *url, const struct ntfs_sd *sd, struct diag *d)
{
    if (!answering(s, url, "cannot write the security descriptor", d))
        return -1;
    char *text = smb_sd_to_text(sd);
    if (!text) {
        s->last_errno = EINVAL;
        if (d) {
            char *shown = display_url(url);
            diag_add(d,
                     "%s: cannot write an empty DACL through libsmbclient (it would send no "
                     "DACL at all)",
                     shown);
            free(shown);
        }
        return -1;
    }
    errno = 0;
    long long started = now_ms();
    int r = lib->getFunctionSetxattr(s->ctx)(s->ctx, url, "system.nt_sec_desc.*", text,
                                             strlen(text), 0);
    int e = r < 0 ? as_timeout(s, started, errno) : errno;
    free(text);
    if (r < 0) {
        /* libsmbclient sets errno to 0 when it cannot open the object with
         * WRITE_DAC|WRITE_OWNER, and leaves it alone when the server
         * refuses the descriptor (Samba on ext4 answers DISK_FULL when the
         * stored ACL does not fit in an extended attribute). */
        if (e == 0) {
            s->last_errno = EACCES;
            if (d) {
                char *shown = display_url(url);
                diag_add(d,
                         "%s: cannot write the security descriptor: access denied (WRITE_DAC and "
                         "WRITE_OWNER are needed), the server refused the descriptor, or the "
                         "connection was lost (libsmbclient does not say which)",
                         shown);
                free(shown);
            }
            return -1;
        }
        fail(s, d, url, "cannot write the security descriptor", e);
        return -1;
    }
    ok(s, url);
    return 0;
}

/* ------------------------------------------------------------------ replace */

static int same_content(struct smb_session *s, const char *url, const void *expected,
                        size_t expected_len, struct diag *d)
{
    char *cur;
    size_t len;
    if (smb_read_file(s, url, expected_len + 1, &cur, &len, NULL) != 0) {
        if (s->last_errno == EFBIG)
            return 0; /* longer than expected: different */
        fail(s, d, url, "cannot read", s->last_errno);
        return -1;
    }
    int same = len == expected_len && memcmp(cur, expected, len) == 0;
    free(cur);
    return same;
}

static void hook(struct smb_session *s, int step)
{
    if (s->hook)
        s->hook(step, s->hook_arg);
}

/* Renames from -> to (a name nobody else uses: no existence check), and
 * retries for about a second while a reader holds `from` open without
 * FILE_SHARE_DELETE (sharing violation). */
static int rename_retrying(struct smb_session *s, const char *from, const char *to, struct diag *d)
{
    for (int attempt = 0;; attempt++) {
        errno = 0;
        if (lib->getFunctionRename(s->ctx)(s->ctx, from, s->ctx, to) == 0)
            return 0;
        int e = errno;
        if ((e == EBUSY || e == ETXTBSY) && attempt < 20) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        fail(s, d, from, "cannot rename", e);
        return -1;
    }
}

int smb_replace_file(struct smb_session *s, const char *url, const void *data, size_t len,
                     const void *expected, size_t expected_len, char **backup_url, struct diag *d)
{
    if (backup_url)
        *backup_url = NULL;
    if (!answering(s, url, "cannot replace", d))
        return -1;
    const char *slash = strrchr(url, '/');
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    char *tmp, *bak, *shown;
    int same;

    if (backup_url)
        *backup_url = NULL;
    if (!slash || slash[1] == '\0' || strncmp(url, "smb://", 6) != 0) {
        fail(s, d, url, "cannot replace", EINVAL);
        return -1;
    }
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    s->counter++;
    tmp = xasprintf("%.*s/.%s.provision-tmp-%ld-%lu", (int)(slash - url), url, slash + 1,
                    (long)getpid(), s->counter);
    bak = xasprintf("%s.provision-bak-%s-%ld-%lu", url, stamp, (long)getpid(), s->counter);

    /* 1. the new content, complete, under a temp name, with the DACL of
     *    the file it replaces from before its first byte (on Windows a new
     *    file would only get the folder's inheritable entries) */
    if (write_new(s, tmp, data, len, url, d) != 0)
        goto fail_nothing;
    hook(s, 1);
    /* 2. still what the caller based its change on? */
    same = same_content(s, url, expected, expected_len, d);
    if (same <= 0) {
        if (same == 0)
            fail(s, d, url, "not replaced", ESTALE);
        smb_unlink(s, tmp, NULL);
        goto fail_nothing;
    }
    hook(s, 2);
    /* 3. the original to a fresh backup name (no delete involved). From
     *    here until step 4 the target name is free: keep it short. */
    if (rename_retrying(s, url, bak, d) != 0) {
        smb_unlink(s, tmp, NULL);
        goto fail_nothing;
    }
    hook(s, 3);
    /* 4. the new content into place; refuse if someone created the target
     *    meanwhile (libsmbclient would delete it) */
    if (smb_rename(s, tmp, url, d) != 0) {
        if (smb_errno(s) == EEXIST || rename_retrying(s, bak, url, d) != 0)
            goto fail_restore;
        smb_unlink(s, tmp, NULL);
        goto fail_nothing;
    }
    hook(s, 4);
    /* 5. what was moved away is what step 2 saw (a write between 2 and 3
     *    would be in the backup): otherwise put it back */
    same = same_content(s, bak, expected, expected_len, d);
    if (same != 1) {
        if (same == 0)
            fail(s, d, url, "not replaced (it changed while being replaced)", ESTALE);
        if (rename_retrying(s, url, tmp, d) != 0 || rename_retrying(s, bak, url, d) != 0)
            goto fail_restore;
        smb_unlink(s, tmp, NULL);
        goto fail_nothing;
    }
    hook(s, 5);
    if (backup_url)
        *backup_url = bak;
    else {
        smb_unlink(s, bak, NULL);
        free(bak);
    }
    free(tmp);
    return 0;

fail_restore:
    shown = display_url(url);
    if (d) {
        char *b = display_url(bak), *t = display_url(tmp);
        diag_add(d,
                 "%s: replace interrupted: the previous content is in %s and the new one in %s "
                 "(whichever is not at the target name); check and rename by hand",
                 shown, b, t);
        free(b);
        free(t);
    }
    free(shown);
fail_nothing:
    free(tmp);
    free(bak);
    return -1;
}
