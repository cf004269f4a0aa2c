/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Active Directory accounts over libldap: connection and TLS, binds, and
 * the account operations of directory.h. Pure helpers (escaping, marker,
 * SID/GUID, error texts, passwords) live in the other files of ldap/. */
#include "ldap/directory.h"

#include "ldap/account.h"
#include "ldap/errors.h"
#include "ldap/escape.h"
#include "provision/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sasl/sasl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Operations kept in flight by dir_create_accounts. */
#define WINDOW 16
/* userAccountControl: NORMAL_ACCOUNT 0x200 | DONT_EXPIRE_PASSWORD 0x10000. */
#define UAC_NEW         "66048"
#define DEFAULT_TIMEOUT 30

struct dir {
    LDAP *ld;
    struct ldap_conncb conncb;
    bool tcp_connected; /* set by the connect callback, before any TLS */
    bool io_timed_out;  /* the I/O layer gave up waiting for the socket */
    bool broken;        /* connection lost or timed out */
    char *server;       /* host[:port], for messages */
    char *ca_file;
    char *who;  /* bind identity, for messages */
    char *base; /* base_dn, canonical form */
    char *upn_suffix;
    int timeout;
    bool create_ou, adopt_unmarked;
    char **group_names;
    size_t n_groups;
    char **group_dns; /* resolved on first use */
    bool groups_ready;
    char **ous; /* OUs known to exist */
    size_t n_ous;
    char security[96];
};

/* ------------------------------------------------------------------ SIGPIPE */

/* libldap writes to the socket without MSG_NOSIGNAL in some paths (TLS
 * push); a DC that has gone away must give an error, not kill us. Block
 * SIGPIPE in this thread for the call, swallow one raised meanwhile. */
struct pipe_guard {
    sigset_t old;
    bool was_pending;
};

static void guard_on(struct pipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void guard_off(struct pipe_guard *g)
{
    if (!g->was_pending) {
        sigset_t set, pending;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1) {
            struct timespec zero = {0, 0};
            while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                ;
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ------------------------------------------------------------------ errors */

static char *diagnostic_of(LDAP *ld)
{
    char *msg = NULL;
    if (ld)
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
    char *copy = msg ? xstrdup(msg) : NULL;
    if (msg)
        ldap_memfree(msg);
    return copy;
}

static void report(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *diagnostic,
                   const char *object)
{
    char *t = dir_error_text(op, rc, diagnostic, object, dir->server);
    diag_add(d, "%s", t);
    free(t);
}

/* The same with a note of ours (not the server's words) appended. */
static void report_note(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *object,
                        const char *note)
{
    char *t = dir_error_text(op, rc, NULL, object, dir->server);
    diag_add(d, "%s (%s)", t, note);
    free(t);
}

/* Reports an API call that failed before any result arrived; a lost
 * connection makes the handle dead. */
static void report_api(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *object)
{
    char *dm = diagnostic_of(dir->ld);
    report(dir, d, op, rc, dm, object);
    free(dm);
    if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR)
        dir->broken = true;
}

static int alive(struct dir *dir, struct diag *d, enum dir_op op, const char *object)
{
    if (!dir || !dir->ld) {
        diag_add(d, "ldap: no directory connection");
        return -1;
    }
    if (dir->broken) {
        report_note(dir, d, op, LDAP_SERVER_DOWN, object,
                    "the connection was lost earlier; open a new one");
        return -1;
    }
    return 0;
}

/* Waits for the complete result of msgid. 0 and *res, or an LDAP code
 * (timeout, server down) after which the handle is dead. */
static int wait_for(struct dir *dir, int msgid, LDAPMessage **res)
{
    struct timeval tv = {dir->timeout, 0};
    *res = NULL;
    int r = ldap_result(dir->ld, msgid, LDAP_MSG_ALL, &tv, res);
    if (r > 0)
        return 0;
    int rc = LDAP_TIMEOUT;
    if (r < 0) {
        ldap_get_option(dir->ld, LDAP_OPT_RESULT_CODE, &rc);
        if (rc == LDAP_SUCCESS)
            rc = LDAP_SERVER_DOWN;
    } else if (msgid != LDAP_RES_ANY) {
        ldap_abandon_ext(dir->ld, msgid, NULL, NULL);
    }
    if (*res)
        ldap_msgfree(*res);
    *res = NULL;
    dir->broken = true;
    return rc;
}

/* The result code of the final message of a chain (search entries and
 * references are skipped); *dm gets the diagnostic text (caller frees). */
static int result_of(struct dir *dir, LDAPMessage *res, char **dm)
{
    *dm = NULL;
    LDAPMessage *m = res;
    for (; m; m = ldap_next_message(dir->ld, m)) {
        int t = ldap_msgtype(m);
        if (t != LDAP_RES_SEARCH_ENTRY && t != LDAP_RES_SEARCH_REFERENCE &&
            t != LDAP_RES_INTERMEDIATE)
            break;
    }
    if (!m)
        return LDAP_OTHER;
    int rc = LDAP_OTHER;
    char *msg = NULL;
    if (ldap_parse_result(dir->ld, m, &rc, NULL, &msg, NULL, NULL, 0) != LDAP_SUCCESS)
        rc = LDAP_OTHER;
    if (msg) {
        if (*msg)
            *dm = xstrdup(msg);
        ldap_memfree(msg);
    }
    return rc;
}

/* ------------------------------------------------------------------ DNs */

struct rdn {
    char *type, *value; /* value unescaped */
};
struct dnp {
    struct rdn *r;
    size_t n;
};

static void dnp_free(struct dnp *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->r[i].type);
        free(p->r[i].value);
    }
    free(p->r);
    p->r = NULL;
    p->n = 0;
}

/* Parses an LDAPv3 DN of single-valued, string-valued RDNs. 0 or -1. */
static int dn_parse(const char *s, struct dnp *out)
{
    out->r = NULL;
    out->n = 0;
    if (!s || !*s || !utf8_valid(s, strlen(s), NULL))
        return -1;
    LDAPDN dn = NULL;
    if (ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !dn)
        return -1;
    size_t n = 0;
    while (dn[n])
        n++;
    out->r = xcalloc(n ? n : 1, sizeof *out->r);
    for (size_t i = 0; i < n; i++) {
        LDAPRDN rdn = dn[i];
        if (!rdn[0] || rdn[1] || (rdn[0]->la_flags & LDAP_AVA_BINARY) ||
            memchr(rdn[0]->la_value.bv_val, '\0', rdn[0]->la_value.bv_len)) {
            ldap_dnfree(dn);
            dnp_free(out);
            return -1;
        }
        out->r[i].type = xstrndup(rdn[0]->la_attr.bv_val, rdn[0]->la_attr.bv_len);
        out->r[i].value = xstrndup(rdn[0]->la_value.bv_val, rdn[0]->la_value.bv_len);
        out->n = i + 1;
    }
    ldap_dnfree(dn);
    return n ? 0 : -1;
}

static char *dn_format(const struct rdn *r, size_t n)
{
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < n; i++) {
        char *v = dir_escape_dn_value(r[i].value, strlen(r[i].value));
        if (i)
            sb_addc(&sb, ',');
        sb_addf(&sb, "%s=%s", r[i].type, v ? v : "");
        free(v);
    }
    return sb_detach(&sb);
}

static bool dn_has_suffix(const struct dnp *a, const struct dnp *suffix)
{
    if (suffix->n > a->n)
        return false;
    size_t off = a->n - suffix->n;
    for (size_t i = 0; i < suffix->n; i++)
        if (ascii_casecmp(a->r[off + i].type, suffix->r[i].type) != 0 ||
            ascii_casecmp(a->r[off + i].value, suffix->r[i].value) != 0)
            return false;
    return true;
}

/* A DN relative to base_dn (or already absolute) in canonical absolute
 * form, or NULL with a message. */
static char *absolute_dn(struct dir *dir, const char *s, const char *what, struct diag *d)
{
    struct dnp p, base;
    if (dn_parse(s, &p) < 0) {
        diag_add(d, "ldap: %s '%s' is not a valid DN (RFC 4514, e.g. OU=Sites,OU=Hosting)", what,
                 s ? s : "");
        return NULL;
    }
    dn_parse(dir->base, &base);
    char *rel = dn_format(p.r, p.n);
    char *out = dn_has_suffix(&p, &base) ? xstrdup(rel) : xasprintf("%s,%s", rel, dir->base);
    free(rel);
    dnp_free(&p);
    dnp_free(&base);
    return out;
}

/* ------------------------------------------------------------------ entries */

static char *first_value(LDAP *ld, LDAPMessage *e, const char *attr, size_t *len)
{
    struct berval **v = ldap_get_values_len(ld, e, attr);
    if (!v || !v[0]) {
        if (v)
            ldap_value_free_len(v);
        return NULL;
    }
    char *s = xmalloc(v[0]->bv_len + 1);
    memcpy(s, v[0]->bv_val, v[0]->bv_len);
    s[v[0]->bv_len] = '\0';
    if (len)
        *len = v[0]->bv_len;
    ldap_value_free_len(v);
    return s;
}

/* "user", "computer", "group", ... : the most specific structural class we
 * care about. */
static const char *kind_of(LDAP *ld, LDAPMessage *e)
{
    struct berval **v = ldap_get_values_len(ld, e, "objectClass");
    bool user = false, computer = false, group = false;
    for (size_t i = 0; v && v[i]; i++) {
        if (v[i]->bv_len == 4 && ascii_ncasecmp(v[i]->bv_val, "user", 4) == 0)
            user = true;
        else if (v[i]->bv_len == 8 && ascii_ncasecmp(v[i]->bv_val, "computer", 8) == 0)
            computer = true;
        else if (v[i]->bv_len == 5 && ascii_ncasecmp(v[i]->bv_val, "group", 5) == 0)
            group = true;
    }
    if (v)
        ldap_value_free_len(v);
    return computer ? "computer" : user ? "user" : group ? "group" : "object";
}

static char *entry_dn(LDAP *ld, LDAPMessage *e)
{
    char *dn = ldap_get_dn(ld, e);
    char *copy = xstrdup(dn ? dn : "");
    if (dn)
        ldap_memfree(dn);
    return copy;
}

static void fill_account(LDAP *ld, LDAPMessage *e, struct dir_account *a)
{
    memset(a, 0, sizeof *a);
    a->dn = entry_dn(ld, e);
    a->sam = first_value(ld, e, "sAMAccountName", NULL);
    a->upn = first_value(ld, e, "userPrincipalName", NULL);
    a->description = first_value(ld, e, "description", NULL);
    size_t n = 0;
    char *bin = first_value(ld, e, "objectSid", &n);
    char buf[200];
    if (bin && dir_sid_to_string(bin, n, buf, sizeof buf) == 0)
        a->sid = xstrdup(buf);
    free(bin);
    bin = first_value(ld, e, "objectGUID", &n);
    if (bin && dir_guid_to_string(bin, n, buf, sizeof buf) == 0)
        a->guid = xstrdup(buf);
    free(bin);
    char *marker = first_value(ld, e, DIR_MARKER_ATTR, NULL);
    a->managed = dir_marker_parse(marker, &a->managed_site);
    free(marker);
}

void dir_account_free(struct dir_account *a)
{
    if (!a)
        return;
    free(a->dn);
    free(a->sam);
    free(a->sid);
    free(a->guid);
    free(a->upn);
    free(a->description);
    free(a->managed_site);
    memset(a, 0, sizeof *a);
}

static char *account_attrs[] = {"sAMAccountName", "userPrincipalName", "description", "objectSid",
                                "objectGUID",     DIR_MARKER_ATTR,     "objectClass", NULL};

static LDAPMessage *first_entry(LDAP *ld, LDAPMessage *res, int *count)
{
    LDAPMessage *first = NULL;
    *count = 0;
    for (LDAPMessage *m = res; m; m = ldap_next_message(ld, m))
        if (ldap_msgtype(m) == LDAP_RES_SEARCH_ENTRY) {
            if (!first)
                first = m;
            (*count)++;
        }
    return first;
}

/* Sends a search; msgid in *msgid. LDAP code. */
static int send_search(struct dir *dir, const char *base, int scope, const char *filter,
                       char **attrs, int *msgid)
{
    struct timeval tv = {dir->timeout, 0};
    return ldap_search_ext(dir->ld, base, scope, filter, attrs, 0, NULL, NULL, &tv, 0, msgid);
}

/* Synchronous search. 0 and *res (caller ldap_msgfree), or -1 reported. */
static int search_sync(struct dir *dir, const char *base, int scope, const char *filter,
                       char **attrs, LDAPMessage **res, enum dir_op op, const char *object,
                       struct diag *d, int *rc_out)
{
    int msgid, rc;
    *res = NULL;
    if ((rc = send_search(dir, base, scope, filter, attrs, &msgid)) != LDAP_SUCCESS) {
        report_api(dir, d, op, rc, object);
        return -1;
    }
    if ((rc = wait_for(dir, msgid, res)) != 0) {
        report_api(dir, d, op, rc, object);
        return -1;
    }
    char *dm;
    rc = result_of(dir, *res, &dm);
    if (rc_out)
        *rc_out = rc;
    if (rc != LDAP_SUCCESS && !(rc_out && rc == LDAP_NO_SUCH_OBJECT)) {
        report(dir, d, op, rc, dm, object);
        free(dm);
        ldap_msgfree(*res);
        *res = NULL;
        return -1;
    }
    free(dm);
    return 0;
}

/* Synchronous modify/add/delete result. 0 or the LDAP code (*dm set). */
static int finish_sync(struct dir *dir, int msgid, char **dm)
{
    LDAPMessage *res;
    *dm = NULL;
    int rc = wait_for(dir, msgid, &res);
    if (rc != 0) {
        *dm = diagnostic_of(dir->ld);
        return rc;
    }
    rc = result_of(dir, res, dm);
    ldap_msgfree(res);
    return rc;
}

/* ------------------------------------------------------------------ connect */

/* An I/O layer between TCP and TLS that waits at most timeout seconds for
 * the socket before each read or write. libldap 2.5 runs the TLS handshake
 * on a non-blocking socket without polling when a network timeout is set
 * and the connect is synchronous: against a DC that accepts the connection
 * but does not answer (a frozen process), it spins at 100% CPU for ever
 * (checked in the lab with SIGSTOP). With this layer the handshake, and any
 * later read or write, fails with ETIMEDOUT instead. */
static int wait_io(Sockbuf_IO_Desc *sbiod, short events)
{
    struct dir *dir = sbiod->sbiod_pvt;
    ber_socket_t fd = -1;
    ber_sockbuf_ctrl(sbiod->sbiod_sb, LBER_SB_OPT_GET_FD, &fd);
    if (fd < 0)
        return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    do
        r = poll(&p, 1, dir->timeout * 1000);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        dir->io_timed_out = true;
        errno = ETIMEDOUT;
        return -1;
    }
    return r < 0 ? -1 : 0;
}

static ber_slen_t tl_read(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
    if (wait_io(sbiod, POLLIN) < 0)
        return -1;
    return LBER_SBIOD_READ_NEXT(sbiod, buf, len);
}

static ber_slen_t tl_write(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
    if (wait_io(sbiod, POLLOUT) < 0)
        return -1;
    return LBER_SBIOD_WRITE_NEXT(sbiod, buf, len);
}

static int tl_setup(Sockbuf_IO_Desc *sbiod, void *arg)
{
    sbiod->sbiod_pvt = arg;
    return 0;
}

static int tl_remove(Sockbuf_IO_Desc *sbiod)
{
    (void)sbiod;
    return 0;
}

static int tl_ctrl(Sockbuf_IO_Desc *sbiod, int opt, void *arg)
{
    return LBER_SBIOD_CTRL_NEXT(sbiod, opt, arg);
}

static Sockbuf_IO timeout_layer = {tl_setup, tl_remove, tl_ctrl, tl_read, tl_write, NULL};

/* Called by libldap right after the TCP connect, before any TLS. */
static int conn_add_cb(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
                       struct ldap_conncb *ctx)
{
    (void)ld, (void)srv, (void)addr;
    struct dir *dir = ctx->lc_arg;
    dir->tcp_connected = true;
    /* Requests are small and several may be in flight: without NODELAY,
     * Nagle holds each one back until the previous is acknowledged, and the
     * DC idles for a round trip between requests. */
    ber_socket_t fd = -1;
    int one = 1;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Below TLS (level 20), above TCP (10, added after this callback). */
    if (ber_sockbuf_add_io(sb, &timeout_layer, LBER_SBIOD_LEVEL_PROVIDER + 5, dir) != 0)
        return -1;
    return 0;
}

static void conn_del_cb(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
    (void)ld, (void)sb, (void)ctx;
}

static int sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
    (void)ld, (void)flags, (void)defaults;
    for (sasl_interact_t *it = in; it && it->id != SASL_CB_LIST_END; it++) {
        const char *v = it->defresult ? it->defresult : "";
        it->result = v;
        it->len = (unsigned)strlen(v);
    }
    return LDAP_SUCCESS;
}

static void dir_free(struct dir *dir)
{
    if (!dir)
        return;
    if (dir->ld)
        ldap_unbind_ext_s(dir->ld, NULL, NULL);
    free(dir->server);
    free(dir->ca_file);
    free(dir->who);
    free(dir->base);
    free(dir->upn_suffix);
    for (size_t i = 0; i < dir->n_groups; i++) {
        free(dir->group_names[i]);
        if (dir->group_dns)
            free(dir->group_dns[i]);
    }
    free(dir->group_names);
    free(dir->group_dns);
    for (size_t i = 0; i < dir->n_ous; i++)
        free(dir->ous[i]);
    free(dir->ous);
    free(dir);
}

/* Reads the simple-bind password from a file: regular, owned by us or
 * root, no group/other permissions (checked on the file itself, after
 * symbolic links such as those of mounted container secrets). One trailing
 * "\n" or "\r\n" is dropped. */
static char *password_from_file(const char *path, struct diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        diag_add(d, "ldap: cannot open password file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        diag_add(d, "ldap: password file %s is not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        diag_add(d,
                 "ldap: password file %s may be read or written by others (mode %04o): "
                 "refusing it; chmod 600 it",
                 path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        diag_add(d, "ldap: password file %s belongs to another user (uid %u): refusing it", path,
                 (unsigned)st.st_uid);
        close(fd);
        return NULL;
    }
    if (st.st_size > 4096) {
        diag_add(d, "ldap: password file %s is too large to hold a password", path);
        close(fd);
        return NULL;
    }
    char *buf = xmalloc(4098);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, 4097 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            diag_add(d, "ldap: cannot read password file %s: %s", path, strerror(errno));
            close(fd);
            wipe(buf, 4098);
            free(buf);
            return NULL;
        }
        if (r == 0 || len + (size_t)r >= 4097) {
            len += (size_t)r;
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    if (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (len == 0 || strlen(buf) != len) {
        diag_add(d, "ldap: password file %s is empty or holds a NUL byte", path);
        wipe(buf, 4098);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Everything up to an encrypted, not yet bound connection. */
static int conn_setup(const struct dir_config *cfg, struct dir *dir, struct diag *d)
{
    LDAPURLDesc *lud = NULL;
    if (!cfg->uri || ldap_url_parse(cfg->uri, &lud) != LDAP_URL_SUCCESS) {
        diag_add(d, "ldap: '%s' is not an LDAP URI (want ldaps://host[:port] or ldap://host)",
                 cfg->uri ? cfg->uri : "");
        return -1;
    }
    bool ldaps = ascii_casecmp(lud->lud_scheme, "ldaps") == 0;
    bool plain = ascii_casecmp(lud->lud_scheme, "ldap") == 0;
    bool bad_uri = (!ldaps && !plain) || !lud->lud_host || !*lud->lud_host ||
                   (lud->lud_dn && *lud->lud_dn) || lud->lud_attrs || lud->lud_filter ||
                   strchr(cfg->uri, ' ') != NULL;
    if (!bad_uri) {
        int defport = ldaps ? 636 : 389;
        dir->server = lud->lud_port && lud->lud_port != defport
                          ? xasprintf("%s:%d", lud->lud_host, lud->lud_port)
                          : xstrdup(lud->lud_host);
    }
    ldap_free_urldesc(lud);
    if (bad_uri) {
        diag_add(d,
                 "ldap: URI '%s' is not supported: want exactly one ldaps://host[:port] or "
                 "ldap://host[:port] (StartTLS), without DN or other parts",
                 cfg->uri);
        return -1;
    }
    bool seal = cfg->sasl_gssapi && cfg->gssapi_seal;
    if (cfg->gssapi_seal && !cfg->sasl_gssapi) {
        diag_add(d, "ldap: gssapi_seal needs sasl_gssapi");
        return -1;
    }
    if (seal && ldaps) {
        diag_add(d, "ldap: gssapi_seal replaces TLS and needs an ldap:// URI, not %s", cfg->uri);
        return -1;
    }
    if (cfg->ca_file && !seal && access(cfg->ca_file, R_OK) != 0) {
        diag_add(d, "ldap: cannot read CA file %s: %s", cfg->ca_file, strerror(errno));
        return -1;
    }
    dir->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;

    int rc = ldap_initialize(&dir->ld, cfg->uri);
    if (rc != LDAP_SUCCESS) {
        report(dir, d, DIR_OP_CONNECT, rc, NULL, NULL);
        return -1;
    }
    int v3 = LDAP_VERSION3;
    struct timeval tv = {dir->timeout, 0};
    unsigned int user_timeout_ms = (unsigned)dir->timeout * 1000u;
    dir->conncb.lc_add = conn_add_cb;
    dir->conncb.lc_del = conn_del_cb;
    dir->conncb.lc_arg = dir;
    if (ldap_set_option(dir->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
        ldap_set_option(dir->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        ldap_set_option(dir->ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
        ldap_set_option(dir->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(dir->ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(dir->ld, LDAP_OPT_TCP_USER_TIMEOUT, &user_timeout_ms) != LDAP_OPT_SUCCESS ||
        ldap_set_option(dir->ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
        ldap_set_option(dir->ld, LDAP_OPT_CONNECT_CB, &dir->conncb) != LDAP_OPT_SUCCESS) {
        diag_add(d, "ldap: cannot set the connection options for %s", dir->server);
        return -1;
    }
    if (!seal) {
        /* REFERENCE.md 5: CA file and REQUIRE_CERT on the handle, then
         * NEWCTX so that they take effect, before the first operation. */
        int req = cfg->tls_insecure ? LDAP_OPT_X_TLS_NEVER : LDAP_OPT_X_TLS_DEMAND;
        int minproto = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
        int newctx = 0;
        if (ldap_set_option(dir->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
            (cfg->ca_file && ldap_set_option(dir->ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file) !=
                                 LDAP_OPT_SUCCESS) ||
            ldap_set_option(dir->ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &minproto) != LDAP_OPT_SUCCESS ||
            ldap_set_option(dir->ld, LDAP_OPT_X_TLS_NEWCTX, &newctx) != LDAP_OPT_SUCCESS) {
            char *dm = diagnostic_of(dir->ld);
            char *t = dir_tls_error_text(dir->server, cfg->ca_file,
                                         dm ? dm : "the TLS settings were refused");
            diag_add(d, "%s", t);
            free(t);
            free(dm);
            return -1;
        }
        static bool warned; /* once per process: dir_check_password reconnects */
        if (cfg->tls_insecure && !warned) {
            warned = true;
            fprintf(stderr,
                    "warning: ldap: certificate checks are OFF for %s (tls_insecure): the "
                    "connection is encrypted but the server is not authenticated\n",
                    dir->server);
        }
    } else {
        /* At least DES-strength sealing; Kerberos AES gives 256. */
        ber_len_t ssf_min = 56;
        if (ldap_set_option(dir->ld, LDAP_OPT_X_SASL_SSF_MIN, &ssf_min) != LDAP_OPT_SUCCESS) {
            diag_add(d, "ldap: cannot require SASL sealing for %s", dir->server);
            return -1;
        }
    }

    dir->tcp_connected = false;
    rc = ldap_connect(dir->ld);
    if (rc != LDAP_SUCCESS) {
        if (dir->io_timed_out) {
            report_note(dir, d, DIR_OP_CONNECT, LDAP_TIMEOUT, NULL,
                        "no answer during the TLS handshake");
        } else if (ldaps && dir->tcp_connected) {
            char *dm = diagnostic_of(dir->ld);
            char *t = dir_tls_error_text(dir->server, cfg->ca_file, dm);
            diag_add(d, "%s", t);
            free(t);
            free(dm);
        } else {
            report_api(dir, d, DIR_OP_CONNECT, rc, NULL);
        }
        return -1;
    }
    if (plain && !seal) {
        rc = ldap_start_tls_s(dir->ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            char *dm = diagnostic_of(dir->ld);
            if (dir->io_timed_out || rc == LDAP_TIMEOUT) {
                report_note(dir, d, DIR_OP_CONNECT, LDAP_TIMEOUT, NULL, "no answer to StartTLS");
            } else if (rc == LDAP_CONNECT_ERROR) {
                char *t = dir_tls_error_text(dir->server, cfg->ca_file, dm);
                diag_add(d, "%s", t);
                free(t);
            } else {
                char *t = dir_error_text(DIR_OP_CONNECT, rc, dm, NULL, dir->server);
                diag_add(d, "%s (StartTLS was refused; nothing was sent in clear)", t);
                free(t);
            }
            free(dm);
            return -1;
        }
    }
    if (!seal && !ldap_tls_inplace(dir->ld)) {
        diag_add(d, "ldap: TLS is not in place on the connection to %s; refusing to go on",
                 dir->server);
        return -1;
    }
    if (!seal)
        snprintf(dir->security, sizeof dir->security, "%s, certificate %s",
                 ldaps ? "LDAPS (TLS)" : "StartTLS",
                 cfg->tls_insecure ? "NOT verified (tls_insecure)" : "verified");
    return 0;
}

static int bind_simple(struct dir *dir, const char *who, const char *password, enum dir_op op,
                       struct diag *d)
{
    if (!who || !*who) {
        diag_add(d, "ldap: no bind DN or UPN given for %s", dir->server);
        return -1;
    }
    if (!password || !*password) {
        /* An empty password would make an unauthenticated bind "succeed". */
        diag_add(d, "ldap: empty password for %s on %s: refusing (it would bind anonymously)", who,
                 dir->server);
        return -1;
    }
    struct berval cred;
    cred.bv_len = strlen(password);
    cred.bv_val = xmalloc(cred.bv_len + 1);
    memcpy(cred.bv_val, password, cred.bv_len + 1);
    int msgid = -1;
    int rc = ldap_sasl_bind(dir->ld, who, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid);
    wipe(cred.bv_val, cred.bv_len);
    free(cred.bv_val);
    if (rc != LDAP_SUCCESS) {
        report_api(dir, d, op, rc, who);
        return -1;
    }
    char *dm;
    rc = finish_sync(dir, msgid, &dm);
    if (rc != LDAP_SUCCESS) {
        report(dir, d, op, rc, dm, who);
        free(dm);
        return rc == LDAP_INVALID_CREDENTIALS ? 0 : -1;
    }
    free(dm);
    return 1;
}

static int bind_gssapi(struct dir *dir, bool seal, struct diag *d)
{
    if (!seal) {
        /* Inside TLS: no second security layer (AD and Samba refuse it). */
        ber_len_t ssf_max = 0;
        ldap_set_option(dir->ld, LDAP_OPT_X_SASL_SSF_MAX, &ssf_max);
    }
    int rc = ldap_sasl_interactive_bind_s(dir->ld, NULL, "GSSAPI", NULL, NULL, LDAP_SASL_QUIET,
                                          sasl_interact, NULL);
    if (rc != LDAP_SUCCESS) {
        report_api(dir, d, DIR_OP_BIND, rc, "the Kerberos ticket (SASL GSSAPI)");
        return -1;
    }
    char *authcid = NULL;
    ldap_get_option(dir->ld, LDAP_OPT_X_SASL_USERNAME, &authcid);
    if (authcid) {
        free(dir->who);
        dir->who = xstrdup(authcid);
        ldap_memfree(authcid);
    }
    if (seal) {
        ber_len_t ssf = 0;
        ldap_get_option(dir->ld, LDAP_OPT_X_SASL_SSF, &ssf);
        if (ssf < 56) {
            diag_add(d,
                     "ldap: the GSSAPI bind to %s gave no sealing (SSF %lu): refusing to use an "
                     "unencrypted connection",
                     dir->server, (unsigned long)ssf);
            return -1;
        }
        snprintf(dir->security, sizeof dir->security, "SASL GSSAPI sealing (SSF %lu)",
                 (unsigned long)ssf);
    }
    return 0;
}

/* Checks that the bound session can read base. */
static int check_base(struct dir *dir, struct diag *d)
{
    LDAPMessage *res;
    char *attrs[] = {"1.1", NULL};
    int rc = 0;
    char *what = xasprintf("base_dn %s", dir->base);
    int r = search_sync(dir, dir->base, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res,
                        DIR_OP_SEARCH, what, d, &rc);
    if (r == 0 && rc == LDAP_NO_SUCH_OBJECT) {
        diag_add(d, "ldap: base_dn %s does not exist on %s (or the bind account cannot see it)",
                 dir->base, dir->server);
        r = -1;
    } else if (r == 0) {
        int count;
        if (!first_entry(dir->ld, res, &count)) {
            diag_add(d, "ldap: base_dn %s is not visible on %s to %s", dir->base, dir->server,
                     dir->who ? dir->who : "the bind account");
            r = -1;
        }
    }
    if (res)
        ldap_msgfree(res);
    free(what);
    return r;
}

static struct dir *dir_new(const struct dir_config *cfg, struct diag *d)
{
    struct dir *dir = xcalloc(1, sizeof *dir);
    dir->timeout = cfg->timeout_seconds > 0 ? cfg->timeout_seconds : DEFAULT_TIMEOUT;
    dir->create_ou = cfg->create_ou;
    dir->adopt_unmarked = cfg->adopt_unmarked;
    dir->upn_suffix = cfg->upn_suffix ? xstrdup(cfg->upn_suffix) : NULL;
    struct dnp base;
    if (!cfg->base_dn || dn_parse(cfg->base_dn, &base) < 0) {
        diag_add(d, "ldap: base_dn '%s' is not a valid DN (e.g. DC=example,DC=com)",
                 cfg->base_dn ? cfg->base_dn : "");
        dir_free(dir);
        return NULL;
    }
    dir->base = dn_format(base.r, base.n);
    dnp_free(&base);
    return dir;
}

int dir_open(const struct dir_config *cfg, struct dir **out, struct diag *d)
{
    *out = NULL;
    struct dir *dir = dir_new(cfg, d);
    if (!dir)
        return -1;
    struct pipe_guard g;
    guard_on(&g);
    int r = -1;
    if (cfg->sasl_gssapi && (cfg->bind_dn || cfg->password_file || cfg->password_env)) {
        diag_add(d, "ldap: sasl_gssapi uses the Kerberos ticket: leave bind_dn and the "
                    "password settings empty");
        goto done;
    }
    if (!cfg->sasl_gssapi && (!cfg->bind_dn || !*cfg->bind_dn)) {
        diag_add(d, "ldap: no bind_dn (or sasl_gssapi) given");
        goto done;
    }
    if (!cfg->sasl_gssapi && !!cfg->password_file == !!cfg->password_env) {
        diag_add(d, "ldap: give exactly one of password_file and password_env for %s",
                 cfg->bind_dn);
        goto done;
    }
    for (size_t i = 0; i < cfg->n_groups; i++)
        if (!cfg->groups[i] || !*cfg->groups[i]) {
            diag_add(d, "ldap: group %zu is empty", i + 1);
            goto done;
        }
    /* The password is read before any traffic so that a bad file costs no
     * connection. */
    char *pw = NULL;
    if (!cfg->sasl_gssapi) {
        if (cfg->password_file) {
            pw = password_from_file(cfg->password_file, d);
        } else {
            const char *e = getenv(cfg->password_env);
            if (!e || !*e)
                diag_add(d, "ldap: environment variable %s (password for %s) is not set",
                         cfg->password_env, cfg->bind_dn);
            else
                pw = xstrdup(e);
        }
        if (!pw)
            goto done;
    }
    if (conn_setup(cfg, dir, d) < 0) {
        free_secret(pw);
        goto done;
    }
    if (cfg->sasl_gssapi) {
        dir->who = xstrdup("the Kerberos ticket");
        if (bind_gssapi(dir, cfg->gssapi_seal, d) < 0)
            goto done;
    } else {
        dir->who = xstrdup(cfg->bind_dn);
        int b = bind_simple(dir, cfg->bind_dn, pw, DIR_OP_BIND, d);
        free_secret(pw);
        if (b != 1)
            goto done;
    }
    if (check_base(dir, d) < 0)
        goto done;
    dir->n_groups = cfg->n_groups;
    dir->group_names = xcalloc(cfg->n_groups ? cfg->n_groups : 1, sizeof *dir->group_names);
    for (size_t i = 0; i < cfg->n_groups; i++)
        dir->group_names[i] = xstrdup(cfg->groups[i]);
    r = 0;
done:
    guard_off(&g);
    if (r < 0)
        dir_free(dir);
    else
        *out = dir;
    return r;
}

void dir_close(struct dir *dir)
{
    if (!dir)
        return;
    struct pipe_guard g;
    guard_on(&g);
    dir_free(dir);
    guard_off(&g);
}

const char *dir_security(const struct dir *dir)
{
    return dir ? dir->security : "";
}

int dir_check_password(const struct dir_config *cfg, const char *upn, const char *password,
                       struct diag *d)
{
    struct dir_config c = *cfg;
    c.sasl_gssapi = false;
    c.gssapi_seal = false;
    struct dir *dir = dir_new(&c, d);
    if (!dir)
        return -1;
    struct pipe_guard g;
    guard_on(&g);
    int r = -1;
    if (conn_setup(&c, dir, d) < 0)
        goto done;
    dir->who = xstrdup(upn ? upn : "");
    r = bind_simple(dir, upn, password, DIR_OP_CHECK_PASSWORD, d);
    if (r == 1 && check_base(dir, d) < 0)
        r = -1;
done:
    dir_free(dir);
    guard_off(&g);
    return r;
}

/* ------------------------------------------------------------------ find */

static char *sam_filter(const char *sam)
{
    char *v = dir_escape_filter(sam, strlen(sam));
    char *f = xasprintf("(sAMAccountName=%s)", v ? v : "");
    free(v);
    return f;
}

int dir_find_account(struct dir *dir, const char *sam, struct dir_account *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    const char *why = dir_sam_problem(sam);
    if (why) {
        diag_add(d, "ldap: account name '%s' %s (sAMAccountName rules); not looked up",
                 sam ? sam : "", why);
        return -1;
    }
    char *object = xasprintf("account %s", sam);
    if (alive(dir, d, DIR_OP_SEARCH, object) < 0) {
        free(object);
        return -1;
    }
    struct pipe_guard g;
    guard_on(&g);
    char *filter = sam_filter(sam);
    LDAPMessage *res;
    int r = -1;
    if (search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter, account_attrs, &res, DIR_OP_SEARCH,
                    object, d, NULL) == 0) {
        int count;
        LDAPMessage *e = first_entry(dir->ld, res, &count);
        if (!e) {
            r = 0;
        } else if (count > 1) {
            diag_add(d, "ldap: %d objects named %s under %s on %s", count, sam, dir->base,
                     dir->server);
        } else {
            const char *kind = kind_of(dir->ld, e);
            if (strcmp(kind, "user") != 0) {
                char *dn = entry_dn(dir->ld, e);
                diag_add(d, "ldap: the name %s belongs to a %s (%s) on %s, not to a user account",
                         sam, kind, dn, dir->server);
                free(dn);
            } else {
                fill_account(dir->ld, e, out);
                if (!out->managed && dir->adopt_unmarked)
                    out->adopted = true;
                r = 1;
            }
        }
        ldap_msgfree(res);
    }
    free(filter);
    free(object);
    guard_off(&g);
    return r;
}

/* Looks many names up with one search per chunk: (|(sAMAccountName=a)...).
 * Cheaper for the DC than one search per name, which matters when a batch
 * of sites is applied (each look-up costs the DC about as much as half an
 * add). */
#define FIND_CHUNK 64

int dir_find_accounts(struct dir *dir, const char *const *sams, size_t n, struct dir_account *out,
                      int *found, struct diag *d)
{
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        found[i] = -1;
        const char *why = dir_sam_problem(sams[i]);
        if (why) {
            diag_add(d, "ldap: account name '%s' %s (sAMAccountName rules); not looked up",
                     sams[i] ? sams[i] : "", why);
            return -1;
        }
    }
    if (alive(dir, d, DIR_OP_SEARCH, "accounts") < 0)
        return -1;
    struct pipe_guard g;
    guard_on(&g);
    int rc = 0;
    for (size_t from = 0; from < n && rc == 0; from += FIND_CHUNK) {
        size_t to = from + FIND_CHUNK < n ? from + FIND_CHUNK : n;
        struct strbuf filter;
        sb_init(&filter);
        sb_adds(&filter, "(|");
        for (size_t i = from; i < to; i++) {
            char *one = sam_filter(sams[i]);
            sb_adds(&filter, one);
            free(one);
            found[i] = 0;
        }
        sb_adds(&filter, ")");
        char *object = xasprintf("%zu accounts from %s", to - from, sams[from]);
        LDAPMessage *res;
        if (search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter.buf, account_attrs, &res,
                        DIR_OP_SEARCH, object, d, NULL) < 0) {
            rc = -1;
        } else {
            for (LDAPMessage *m = res; m; m = ldap_next_message(dir->ld, m)) {
                if (ldap_msgtype(m) != LDAP_RES_SEARCH_ENTRY)
                    continue;
                char *sam = first_value(dir->ld, m, "sAMAccountName", NULL);
                for (size_t i = from; sam && i < to; i++) {
                    if (ascii_casecmp(sam, sams[i]) != 0)
                        continue;
                    const char *kind = kind_of(dir->ld, m);
                    if (found[i] == 1 || strcmp(kind, "user") != 0) {
                        char *dn = entry_dn(dir->ld, m);
                        diag_add(d, "ldap: the name %s %s (%s) on %s", sams[i],
                                 found[i] == 1 ? "belongs to several objects"
                                               : "does not belong to a user account",
                                 dn, dir->server);
                        free(dn);
                        found[i] = -1;
                        rc = -1;
                    } else {
                        fill_account(dir->ld, m, &out[i]);
                        if (!out[i].managed && dir->adopt_unmarked)
                            out[i].adopted = true;
                        found[i] = 1;
                    }
                }
                free(sam);
            }
            ldap_msgfree(res);
        }
        free(object);
        sb_free(&filter);
    }
    guard_off(&g);
    return rc;
}

/* ------------------------------------------------------------------ OUs, groups */

static bool ou_known(struct dir *dir, const char *dn)
{
    for (size_t i = 0; i < dir->n_ous; i++)
        if (ascii_casecmp(dir->ous[i], dn) == 0)
            return true;
    return false;
}

static void ou_remember(struct dir *dir, const char *dn)
{
    dir->ous = xrealloc(dir->ous, (dir->n_ous + 1) * sizeof *dir->ous);
    dir->ous[dir->n_ous++] = xstrdup(dn);
}

/* 1 exists, 0 not, -1 error (reported). */
static int dn_exists(struct dir *dir, const char *dn, enum dir_op op, struct diag *d)
{
    LDAPMessage *res;
    char *attrs[] = {"1.1", NULL};
    int rc = 0;
    if (search_sync(dir, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res, op, dn, d, &rc) < 0)
        return -1;
    int count = 0;
    if (rc == LDAP_SUCCESS)
        first_entry(dir->ld, res, &count);
    ldap_msgfree(res);
    return count > 0;
}

/* Makes sure the OU dn (absolute, canonical) exists; creates the missing
 * part of the chain below base_dn when create_ou is set. 0 or -1. */
static int ensure_ou(struct dir *dir, const char *dn, struct diag *d)
{
    if (ou_known(dir, dn))
        return 0;
    int e = dn_exists(dir, dn, DIR_OP_SEARCH, d);
    if (e < 0)
        return -1;
    if (e == 1) {
        ou_remember(dir, dn);
        return 0;
    }
    if (!dir->create_ou) {
        diag_add(d,
                 "ldap: OU %s does not exist on %s: create it, or set create_ou to let "
                 "provision create the missing OUs",
                 dn, dir->server);
        return -1;
    }
    struct dnp p, base;
    dn_parse(dn, &p);
    dn_parse(dir->base, &base);
    int r = 0;
    /* From just below base_dn down to the OU itself. */
    for (size_t k = p.n - base.n; k-- > 0 && r == 0;) {
        char *sub = dn_format(p.r + k, p.n - k);
        if (ou_known(dir, sub)) {
            free(sub);
            continue;
        }
        e = dn_exists(dir, sub, DIR_OP_SEARCH, d);
        if (e == 0 && ascii_casecmp(p.r[k].type, "OU") != 0) {
            diag_add(d, "ldap: %s does not exist on %s and is not an OU, so it is not created", sub,
                     dir->server);
            e = -1;
        }
        if (e == 0) {
            char *oc[] = {"top", "organizationalUnit", NULL};
            char *ouv[] = {p.r[k].value, NULL};
            LDAPMod m_oc = {LDAP_MOD_ADD, "objectClass", {.modv_strvals = oc}};
            LDAPMod m_ou = {LDAP_MOD_ADD, "ou", {.modv_strvals = ouv}};
            LDAPMod *mods[] = {&m_oc, &m_ou, NULL};
            int msgid;
            int rc = ldap_add_ext(dir->ld, sub, mods, NULL, NULL, &msgid);
            char *dm = NULL;
            if (rc == LDAP_SUCCESS)
                rc = finish_sync(dir, msgid, &dm);
            else
                dm = diagnostic_of(dir->ld);
            if (rc != LDAP_SUCCESS && rc != LDAP_ALREADY_EXISTS) {
                report(dir, d, DIR_OP_CREATE_OU, rc, dm, sub);
                e = -1;
            }
            free(dm);
        }
        if (e < 0)
            r = -1;
        else
            ou_remember(dir, sub);
        free(sub);
    }
    dnp_free(&p);
    dnp_free(&base);
    return r;
}

static int resolve_groups(struct dir *dir, struct diag *d)
{
    if (dir->groups_ready)
        return 0;
    char **dns = xcalloc(dir->n_groups ? dir->n_groups : 1, sizeof *dns);
    int r = 0;
    for (size_t i = 0; i < dir->n_groups && r == 0; i++) {
        const char *g = dir->group_names[i];
        if (strchr(g, '=')) {
            dns[i] = absolute_dn(dir, g, "group", d);
            if (!dns[i]) {
                r = -1;
                break;
            }
            int e = dn_exists(dir, dns[i], DIR_OP_SEARCH, d);
            if (e == 0)
                diag_add(d, "ldap: group %s does not exist on %s", dns[i], dir->server);
            if (e != 1)
                r = -1;
            continue;
        }
        char *v = dir_escape_filter(g, strlen(g));
        if (!v) {
            diag_add(d, "ldap: group name '%s' is not valid UTF-8", g);
            r = -1;
            break;
        }
        char *filter = xasprintf("(&(objectClass=group)(sAMAccountName=%s))", v);
        free(v);
        char *object = xasprintf("group %s", g);
        char *attrs[] = {"1.1", NULL};
        LDAPMessage *res;
        if (search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter, attrs, &res, DIR_OP_SEARCH,
                        object, d, NULL) < 0) {
            r = -1;
        } else {
            int count;
            LDAPMessage *e = first_entry(dir->ld, res, &count);
            if (!e) {
                diag_add(d, "ldap: group %s not found under %s on %s", g, dir->base, dir->server);
                r = -1;
            } else {
                dns[i] = entry_dn(dir->ld, e);
            }
            ldap_msgfree(res);
        }
        free(filter);
        free(object);
    }
    if (r < 0) {
        for (size_t i = 0; i < dir->n_groups; i++)
            free(dns[i]);
        free(dns);
        return -1;
    }
    dir->group_dns = dns;
    dir->groups_ready = true;
    return 0;
}

/* ------------------------------------------------------------------ create */

enum stage { ST_FREE, ST_ADD, ST_GROUP, ST_READ, ST_EXISTING, ST_ROLLBACK };

struct job {
    enum stage st;
    int msgid;
    struct dir_create_item *item;
    size_t group_i;
    char *dn;    /* the new account's DN */
    char *label; /* "IUSR_x (CN=...)" */
    int add_rc;
    char *add_dm;
    char *err; /* the group failure, while rolling back */
};

static void job_end(struct job *j, int result)
{
    j->item->result = result;
    free(j->dn);
    free(j->label);
    free(j->add_dm);
    free(j->err);
    memset(j, 0, sizeof *j);
}

/* Sends the add for a prepared job. LDAP code. */
static int send_add(struct dir *dir, struct job *j, struct diag *d)
{
    const struct dir_account_spec *s = j->item->spec;
    size_t pwlen;
    unsigned char *pw = dir_unicode_pwd(j->item->password, &pwlen);
    if (!pw) {
        diag_add(d, "ldap: cannot create account %s: the password is empty or not valid UTF-8",
                 j->label);
        return -1;
    }
    char *upn =
        dir->upn_suffix && *dir->upn_suffix ? xasprintf("%s@%s", s->sam, dir->upn_suffix) : NULL;
    char *marker = dir_marker_value(s->site);
    char *oc[] = {"top", "person", "organizationalPerson", "user", NULL};
    char *sam[] = {(char *)s->sam, NULL};
    char *upnv[] = {upn, NULL};
    char *disp[] = {(char *)(s->display_name && *s->display_name ? s->display_name : s->sam), NULL};
    char *desc[] = {(char *)s->description, NULL};
    char *uac[] = {UAC_NEW, NULL};
    char *mark[] = {marker, NULL};
    struct berval pwbv = {pwlen, (char *)pw};
    struct berval *pwv[] = {&pwbv, NULL};
    LDAPMod m[9] = {
        {LDAP_MOD_ADD, "objectClass", {.modv_strvals = oc}},
        {LDAP_MOD_ADD, "sAMAccountName", {.modv_strvals = sam}},
        {LDAP_MOD_ADD, "displayName", {.modv_strvals = disp}},
        {LDAP_MOD_ADD, "userAccountControl", {.modv_strvals = uac}},
        {LDAP_MOD_ADD, DIR_MARKER_ATTR, {.modv_strvals = mark}},
        {LDAP_MOD_ADD | LDAP_MOD_BVALUES, "unicodePwd", {.modv_bvals = pwv}},
    };
    size_t n = 6;
    if (upn)
        m[n++] = (LDAPMod){LDAP_MOD_ADD, "userPrincipalName", {.modv_strvals = upnv}};
    if (s->description && *s->description)
        m[n++] = (LDAPMod){LDAP_MOD_ADD, "description", {.modv_strvals = desc}};
    LDAPMod *mods[10];
    for (size_t i = 0; i < n; i++)
        mods[i] = &m[i];
    mods[n] = NULL;
    int rc = ldap_add_ext(dir->ld, j->dn, mods, NULL, NULL, &j->msgid);
    wipe(pw, pwlen);
    free(pw);
    free(upn);
    free(marker);
    if (rc != LDAP_SUCCESS)
        report_api(dir, d, DIR_OP_CREATE, rc, j->label);
    else
        j->st = ST_ADD;
    return rc;
}

static int send_member(struct dir *dir, struct job *j, int op, const char *group)
{
    char *vals[] = {j->dn, NULL};
    LDAPMod m = {op, "member", {.modv_strvals = vals}};
    LDAPMod *mods[] = {&m, NULL};
    return ldap_modify_ext(dir->ld, group, mods, NULL, NULL, &j->msgid);
}

/* After the add (or a group): the next group, else the read-back. */
static int send_next(struct dir *dir, struct job *j)
{
    if (j->group_i < dir->n_groups) {
        j->st = ST_GROUP;
        return send_member(dir, j, LDAP_MOD_ADD, dir->group_dns[j->group_i]);
    }
    /* Only what the server made up: the rest is what we wrote, and every
     * attribute returned costs the DC an access check. */
    static char *made_up[] = {"objectSid", "objectGUID", NULL};
    j->st = ST_READ;
    return send_search(dir, j->dn, LDAP_SCOPE_BASE, "(objectClass=*)", made_up, &j->msgid);
}

static bool same_site(const char *a, const char *b)
{
    if (!a || !*a || !b || !*b)
        return (!a || !*a) && (!b || !*b);
    return ascii_casecmp(a, b) == 0;
}

/* The add said "exists": decide from the account found under that name. */
static void judge_existing(struct dir *dir, struct job *j, LDAPMessage *res, struct diag *d)
{
    const struct dir_account_spec *s = j->item->spec;
    int count;
    LDAPMessage *e = first_entry(dir->ld, res, &count);
    if (!e) {
        report(dir, d, DIR_OP_CREATE, j->add_rc, j->add_dm, j->label);
        job_end(j, -1);
        return;
    }
    const char *kind = kind_of(dir->ld, e);
    char *dn = entry_dn(dir->ld, e);
    if (strcmp(kind, "user") != 0) {
        diag_add(d, "ldap: cannot create account %s on %s: the name is taken by a %s (%s)", s->sam,
                 dir->server, kind, dn);
        free(dn);
        job_end(j, -1);
        return;
    }
    struct dir_account a;
    fill_account(dir->ld, e, &a);
    int result = -1;
    if (a.managed && same_site(a.managed_site, s->site)) {
        result = 0;
    } else if (a.managed) {
        diag_add(d,
                 "ldap: account %s (%s) on %s is managed by provision for site %s, not for "
                 "%s: refusing to take it over",
                 s->sam, dn, dir->server, a.managed_site ? a.managed_site : "(none)",
                 s->site ? s->site : "(none)");
    } else if (dir->adopt_unmarked) {
        a.adopted = true;
        result = 0;
    } else {
        diag_add(d,
                 "ldap: account %s already exists on %s (%s) and was not created by provision "
                 "(no " DIR_MARKER_ATTR " marker): refusing to use it; set adopt_unmarked to use "
                 "it as it is, or choose another name",
                 s->sam, dir->server, dn);
    }
    free(dn);
    if (result == 0)
        j->item->account = a;
    else
        dir_account_free(&a);
    job_end(j, result);
}

/* One response for job j. */
static void advance(struct dir *dir, struct job *j, LDAPMessage *res, struct diag *d)
{
    char *dm = NULL;
    int rc = result_of(dir, res, &dm);
    int send_rc = LDAP_SUCCESS;
    switch (j->st) {
    case ST_ADD:
        if (rc == LDAP_SUCCESS) {
            send_rc = send_next(dir, j);
        } else if (rc == LDAP_ALREADY_EXISTS) {
            j->add_rc = rc;
            j->add_dm = dm;
            dm = NULL;
            char *filter = sam_filter(j->item->spec->sam);
            j->st = ST_EXISTING;
            send_rc =
                send_search(dir, dir->base, LDAP_SCOPE_SUBTREE, filter, account_attrs, &j->msgid);
            free(filter);
        } else {
            report(dir, d, DIR_OP_CREATE, rc, dm, j->label);
            job_end(j, -1);
        }
        break;
    case ST_GROUP: {
        unsigned long code = 0;
        bool member_already = rc == LDAP_ALREADY_EXISTS || (rc == LDAP_TYPE_OR_VALUE_EXISTS) ||
                              (dir_ad_code(dm, &code) && code == 0x2071);
        if (rc == LDAP_SUCCESS || member_already) {
            j->group_i++;
            send_rc = send_next(dir, j);
        } else {
            char *obj =
                xasprintf("account %s to group %s", j->item->spec->sam, dir->group_dns[j->group_i]);
            j->err = dir_error_text(DIR_OP_GROUP, rc, dm, obj, dir->server);
            free(obj);
            j->st = ST_ROLLBACK;
            send_rc = ldap_delete_ext(dir->ld, j->dn, NULL, NULL, &j->msgid);
        }
        break;
    }
    case ST_ROLLBACK:
        if (rc == LDAP_SUCCESS) {
            diag_add(d, "%s; the new account %s was deleted again", j->err, j->dn);
        } else {
            char *t = dir_error_text(DIR_OP_DELETE, rc, dm, j->dn, dir->server);
            diag_add(d,
                     "%s; and the new account could not be deleted again (%s): delete %s by "
                     "hand",
                     j->err, t, j->dn);
            free(t);
        }
        job_end(j, -1);
        break;
    case ST_READ: {
        int count;
        LDAPMessage *e = first_entry(dir->ld, res, &count);
        if (rc == LDAP_SUCCESS && e) {
            const struct dir_account_spec *sp = j->item->spec;
            struct dir_account *a = &j->item->account;
            fill_account(dir->ld, e, a);
            a->sam = xstrdup(sp->sam);
            a->upn = dir->upn_suffix && *dir->upn_suffix
                         ? xasprintf("%s@%s", sp->sam, dir->upn_suffix)
                         : NULL;
            a->description = sp->description && *sp->description ? xstrdup(sp->description) : NULL;
            a->managed = true;
            a->managed_site = sp->site && *sp->site ? xstrdup(sp->site) : NULL;
            job_end(j, 1);
        } else {
            report(dir, d, DIR_OP_SEARCH, rc == LDAP_SUCCESS ? LDAP_NO_SUCH_OBJECT : rc, dm,
                   j->label);
            diag_add(d, "ldap: account %s was created on %s but cannot be read back", j->label,
                     dir->server);
            job_end(j, -1);
        }
        break;
    }
    case ST_EXISTING:
        if (rc != LDAP_SUCCESS) {
            report(dir, d, DIR_OP_CREATE, j->add_rc, j->add_dm, j->label);
            job_end(j, -1);
        } else {
            judge_existing(dir, j, res, d);
        }
        break;
    case ST_FREE:
        break;
    }
    free(dm);
    if (send_rc != LDAP_SUCCESS && j->st != ST_FREE) {
        report_api(dir, d, DIR_OP_CREATE, send_rc, j->label);
        job_end(j, -1);
    }
}

/* Validates and sends the add of item; the job is in flight on success. */
static void job_start(struct dir *dir, struct job *j, struct dir_create_item *item, struct diag *d)
{
    memset(j, 0, sizeof *j);
    j->item = item;
    item->result = -1;
    const struct dir_account_spec *s = item->spec;
    const char *why = s ? dir_sam_problem(s->sam) : "is missing";
    if (why) {
        diag_add(d,
                 "ldap: cannot create account '%s': the name %s (sAMAccountName rules); "
                 "nothing was sent",
                 s && s->sam ? s->sam : "", why);
        return;
    }
    if (!s->ou || !*s->ou) {
        diag_add(d, "ldap: cannot create account %s: no OU given", s->sam);
        return;
    }
    if ((s->display_name && !utf8_valid(s->display_name, strlen(s->display_name), NULL)) ||
        (s->description && !utf8_valid(s->description, strlen(s->description), NULL)) ||
        (s->site && !utf8_valid(s->site, strlen(s->site), NULL))) {
        diag_add(d,
                 "ldap: cannot create account %s: display name, description or site is not "
                 "valid UTF-8",
                 s->sam);
        return;
    }
    char *ou = absolute_dn(dir, s->ou, "OU", d);
    if (!ou)
        return;
    if (ensure_ou(dir, ou, d) < 0) {
        free(ou);
        return;
    }
    char *cn = dir_escape_dn_value(s->sam, strlen(s->sam));
    j->dn = xasprintf("CN=%s,%s", cn, ou);
    j->label = xasprintf("%s (%s)", s->sam, j->dn);
    free(cn);
    free(ou);
    if (send_add(dir, j, d) != LDAP_SUCCESS) {
        job_end(j, -1);
        return;
    }
}

size_t dir_create_accounts(struct dir *dir, struct dir_create_item *items, size_t n, struct diag *d)
{
    for (size_t i = 0; i < n; i++) {
        items[i].result = -1;
        memset(&items[i].account, 0, sizeof items[i].account);
    }
    if (n == 0)
        return 0;
    char *what = n == 1 && items[0].spec && items[0].spec->sam ? xasprintf("%s", items[0].spec->sam)
                                                               : xasprintf("(%zu accounts)", n);
    int ok = alive(dir, d, DIR_OP_CREATE, what);
    free(what);
    if (ok < 0)
        return n;
    struct pipe_guard g;
    guard_on(&g);
    struct job jobs[WINDOW];
    memset(jobs, 0, sizeof jobs);
    size_t next = 0, active = 0;
    if (resolve_groups(dir, d) < 0) {
        diag_add(d, "ldap: no account was created (the groups for new accounts are wrong)");
        next = n;
    }
    while ((next < n || active > 0) && !dir->broken) {
        for (size_t k = 0; k < WINDOW && next < n && !dir->broken; k++) {
            if (jobs[k].st != ST_FREE)
                continue;
            job_start(dir, &jobs[k], &items[next++], d);
            if (jobs[k].st != ST_FREE)
                active++;
        }
        if (active == 0)
            continue;
        LDAPMessage *res = NULL;
        int rc = wait_for(dir, LDAP_RES_ANY, &res);
        if (rc != 0) {
            for (size_t k = 0; k < WINDOW; k++) {
                if (jobs[k].st == ST_FREE)
                    continue;
                char *t = dir_error_text(DIR_OP_CREATE, rc, NULL, jobs[k].label, dir->server);
                diag_add(d,
                         "%s (the account may or may not have been created: run again to "
                         "check)",
                         t);
                free(t);
                job_end(&jobs[k], -1);
            }
            active = 0;
            break;
        }
        int msgid = ldap_msgid(res);
        for (size_t k = 0; k < WINDOW; k++) {
            if (jobs[k].st != ST_FREE && jobs[k].msgid == msgid) {
                advance(dir, &jobs[k], res, d);
                if (jobs[k].st == ST_FREE)
                    active--;
                break;
            }
        }
        ldap_msgfree(res);
    }
    /* A synchronous step (OU check) lost the connection with jobs in flight. */
    for (size_t k = 0; k < WINDOW; k++) {
        if (jobs[k].st == ST_FREE)
            continue;
        char *t = dir_error_text(DIR_OP_CREATE, LDAP_SERVER_DOWN, NULL, jobs[k].label, dir->server);
        diag_add(d, "%s (the account may or may not have been created: run again to check)", t);
        free(t);
        job_end(&jobs[k], -1);
    }
    if (next < n && dir->broken)
        diag_add(d, "ldap: %zu account(s) not attempted: the connection to %s was lost", n - next,
                 dir->server);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].result < 0)
            failed++;
    guard_off(&g);
    return failed;
}

int dir_create_account(struct dir *dir, const struct dir_account_spec *spec, const char *password,
                       struct dir_account *out, struct diag *d)
{
    struct dir_create_item item = {.spec = spec, .password = password};
    dir_create_accounts(dir, &item, 1, d);
    *out = item.account;
    return item.result;
}

/* ------------------------------------------------------------------ password, delete */

/* Reads the user at dn (base search, optionally also matching filter).
 * 1 found (*a filled), 0 not, -1 error. */
static int read_account(struct dir *dir, const char *dn, const char *filter, struct dir_account *a,
                        enum dir_op op, struct diag *d)
{
    memset(a, 0, sizeof *a);
    LDAPMessage *res;
    int rc = 0;
    if (search_sync(dir, dn, LDAP_SCOPE_BASE, filter, account_attrs, &res, op, dn, d, &rc) < 0)
        return -1;
    int count = 0;
    LDAPMessage *e = rc == LDAP_SUCCESS ? first_entry(dir->ld, res, &count) : NULL;
    int r = 0;
    if (e) {
        const char *kind = kind_of(dir->ld, e);
        if (strcmp(kind, "user") != 0) {
            diag_add(d, "ldap: %s on %s is a %s, not a user account", dn, dir->server, kind);
            r = -1;
        } else {
            fill_account(dir->ld, e, a);
            r = 1;
        }
    }
    ldap_msgfree(res);
    return r;
}

int dir_set_password(struct dir *dir, const char *dn, const char *password, struct diag *d)
{
    if (alive(dir, d, DIR_OP_PASSWORD, dn) < 0)
        return -1;
    struct dnp p;
    if (dn_parse(dn, &p) < 0) {
        diag_add(d, "ldap: cannot set a password: '%s' is not a valid DN", dn ? dn : "");
        return -1;
    }
    dnp_free(&p);
    size_t pwlen;
    unsigned char *pw = dir_unicode_pwd(password, &pwlen);
    if (!pw) {
        diag_add(d,
                 "ldap: cannot set the password of %s: the password is empty or not valid "
                 "UTF-8",
                 dn);
        return -1;
    }
    struct pipe_guard g;
    guard_on(&g);
    int r = -1;
    struct dir_account a;
    int found = read_account(dir, dn, "(objectClass=user)", &a, DIR_OP_PASSWORD, d);
    if (found == 0) {
        diag_add(d, "ldap: cannot set the password of %s on %s: no such account", dn, dir->server);
    } else if (found == 1 && !a.managed && !dir->adopt_unmarked) {
        diag_add(d,
                 "ldap: refusing to set the password of %s on %s: the account was not created "
                 "by provision (no " DIR_MARKER_ATTR " marker) and adopt_unmarked is off",
                 dn, dir->server);
    } else if (found == 1) {
        struct berval bv = {pwlen, (char *)pw};
        struct berval *vals[] = {&bv, NULL};
        LDAPMod m = {LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, "unicodePwd", {.modv_bvals = vals}};
        LDAPMod *mods[] = {&m, NULL};
        int msgid;
        int rc = ldap_modify_ext(dir->ld, a.dn, mods, NULL, NULL, &msgid);
        wipe(pw, pwlen);
        if (rc != LDAP_SUCCESS) {
            report_api(dir, d, DIR_OP_PASSWORD, rc, dn);
        } else {
            char *dm;
            rc = finish_sync(dir, msgid, &dm);
            if (rc == LDAP_SUCCESS)
                r = 0;
            else
                report(dir, d, DIR_OP_PASSWORD, rc, dm, dn);
            free(dm);
        }
    }
    if (found == 1)
        dir_account_free(&a);
    wipe(pw, pwlen);
    free(pw);
    guard_off(&g);
    return r;
}

int dir_delete_account(struct dir *dir, const struct dir_account *acct, struct diag *d)
{
    if (!acct || !acct->dn || !acct->guid) {
        diag_add(d, "ldap: cannot delete an account without its DN and GUID (find it first)");
        return -1;
    }
    if (alive(dir, d, DIR_OP_DELETE, acct->dn) < 0)
        return -1;
    unsigned char guid[16];
    if (dir_guid_from_string(acct->guid, guid) < 0) {
        diag_add(d, "ldap: cannot delete %s: malformed GUID '%s'", acct->dn, acct->guid);
        return -1;
    }
    struct pipe_guard g;
    guard_on(&g);
    char *gv = dir_escape_filter_bytes(guid, sizeof guid);
    char *filter = xasprintf("(objectGUID=%s)", gv);
    free(gv);
    struct dir_account now;
    int r = -1;
    int found = read_account(dir, acct->dn, filter, &now, DIR_OP_DELETE, d);
    free(filter);
    if (found == 0) {
        /* Gone, or another object now has the DN: check which. */
        struct dir_account other;
        int f2 = read_account(dir, acct->dn, "(objectClass=*)", &other, DIR_OP_DELETE, d);
        if (f2 == 0) {
            r = 0;
        } else if (f2 == 1) {
            diag_add(d,
                     "ldap: refusing to delete %s on %s: it is no longer the account that was "
                     "found (GUID %s, now %s)",
                     acct->dn, dir->server, acct->guid, other.guid ? other.guid : "?");
            dir_account_free(&other);
        }
    } else if (found == 1) {
        if (!now.managed) {
            diag_add(d,
                     "ldap: refusing to delete %s on %s: it was not created by provision (no "
                     "" DIR_MARKER_ATTR " marker)",
                     acct->dn, dir->server);
        } else if (acct->managed_site && !same_site(acct->managed_site, now.managed_site)) {
            diag_add(d, "ldap: refusing to delete %s on %s: its marker now names site %s, not %s",
                     acct->dn, dir->server, now.managed_site ? now.managed_site : "(none)",
                     acct->managed_site);
        } else {
            int msgid;
            int rc = ldap_delete_ext(dir->ld, now.dn, NULL, NULL, &msgid);
            if (rc != LDAP_SUCCESS) {
                report_api(dir, d, DIR_OP_DELETE, rc, acct->dn);
            } else {
                char *dm;
                rc = finish_sync(dir, msgid, &dm);
                if (rc == LDAP_SUCCESS)
                    r = 1;
                else if (rc == LDAP_NO_SUCH_OBJECT)
                    r = 0;
                else
                    report(dir, d, DIR_OP_DELETE, rc, dm, acct->dn);
                free(dm);
            }
        }
        dir_account_free(&now);
    }
    guard_off(&g);
    return r;
}
