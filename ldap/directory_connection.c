/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The connection half of directory.h: the URI, TLS (ldaps:// or StartTLS)
 * or Kerberos sealing, simple and SASL GSSAPI binds, timeouts, the
 * security description; dir_open, dir_close, dir_check_password. Also the
 * plumbing that directory_accounts.c uses over the connection (SIGPIPE
 * guard, error reports, waiting for results, searches, DNs), declared in
 * directory_internal.h. */
#include "ldap/directory_common.h"
#include "ldap/directory_internal.h"

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

#define DEFAULT_TIMEOUT 30

/* ------------------------------------------------------------------ SIGPIPE */

/* libldap writes to the socket without MSG_NOSIGNAL in some paths (TLS
 * push); a DC that has gone away must give an error, not kill us. Block
 * SIGPIPE in this thread for the call, swallow one raised meanwhile. */
void dir_guard_on(struct pipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

void dir_guard_off(struct pipe_guard *g)
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

char *dir_diagnostic_of(LDAP *ld)
{
    char *msg = NULL;
    if (ld)
        ldap_lib()->ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
    char *copy = msg ? xstrdup(msg) : NULL;
    if (msg)
        ldap_lib()->ldap_memfree(msg);
    return copy;
}

void dir_report(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *diagnostic,
                const char *object)
{
    char *t = dir_error_text(op, rc, diagnostic, object, dir->server);
    diag_add(d, "%s", t);
    free(t);
}

void dir_report_note(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *object,
                     const char *note)
{
    char *t = dir_error_text(op, rc, NULL, object, dir->server);
    diag_add(d, "%s (%s)", t, note);
    free(t);
}

void dir_report_api(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *object)
{
    char *dm = dir_diagnostic_of(dir->ld);
    dir_report(dir, d, op, rc, dm, object);
    free(dm);
    if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR)
        dir->broken = true;
}

int dir_alive(struct dir *dir, struct diag *d, enum dir_op op, const char *object)
{
    if (!dir || !dir->ld) {
        diag_add(d, "ldap: no directory connection");
        return -1;
    }
    if (dir->broken) {
        dir_report_note(dir, d, op, LDAP_SERVER_DOWN, object,
                        "the connection was lost earlier; open a new one");
        return -1;
    }
    return 0;
}

int dir_wait_for(struct dir *dir, int msgid, LDAPMessage **res)
{
    struct timeval tv = {dir->timeout, 0};
    *res = NULL;
    int r = ldap_lib()->ldap_result(dir->ld, msgid, LDAP_MSG_ALL, &tv, res);
    if (r > 0)
        return 0;
    int rc = LDAP_TIMEOUT;
    if (r < 0) {
        ldap_lib()->ldap_get_option(dir->ld, LDAP_OPT_RESULT_CODE, &rc);
        if (rc == LDAP_SUCCESS)
            rc = LDAP_SERVER_DOWN;
    } else if (msgid != LDAP_RES_ANY) {
        ldap_lib()->ldap_abandon_ext(dir->ld, msgid, NULL, NULL);
    }
    if (*res)
        ldap_lib()->ldap_msgfree(*res);
    *res = NULL;
    dir->broken = true;
    return rc;
}

int dir_result_of(struct dir *dir, LDAPMessage *res, char **dm)
{
    *dm = NULL;
    LDAPMessage *m = res;
    for (; m; m = ldap_lib()->ldap_next_message(dir->ld, m)) {
        int t = ldap_lib()->ldap_msgtype(m);
        if (t != LDAP_RES_SEARCH_ENTRY && t != LDAP_RES_SEARCH_REFERENCE &&
            t != LDAP_RES_INTERMEDIATE)
            break;
    }
    if (!m)
        return LDAP_OTHER;
    int rc = LDAP_OTHER;
    char *msg = NULL;
    if (ldap_lib()->ldap_parse_result(dir->ld, m, &rc, NULL, &msg, NULL, NULL, 0) != LDAP_SUCCESS)
        rc = LDAP_OTHER;
    if (msg) {
        if (*msg)
            *dm = xstrdup(msg);
        ldap_lib()->ldap_memfree(msg);
    }
    return rc;
}

/* ------------------------------------------------------------------ DNs */

void dir_dnp_free(struct dnp *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->r[i].type);
        free(p->r[i].value);
    }
    free(p->r);
    p->r = NULL;
    p->n = 0;
}

int dir_dn_parse(const char *s, struct dnp *out)
{
    out->r = NULL;
    out->n = 0;
    if (!s || !*s || !utf8_valid(s, strlen(s), NULL))
        return -1;
    LDAPDN dn = NULL;
    if (ldap_lib()->ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !dn)
        return -1;
    size_t n = 0;
    while (dn[n])
        n++;
    out->r = xcalloc(n ? n : 1, sizeof *out->r);
    for (size_t i = 0; i < n; i++) {
        LDAPRDN rdn = dn[i];
        if (!rdn[0] || rdn[1] || (rdn[0]->la_flags & LDAP_AVA_BINARY) ||
            memchr(rdn[0]->la_value.bv_val, '\0', rdn[0]->la_value.bv_len)) {
            ldap_lib()->ldap_dnfree(dn);
            dir_dnp_free(out);
            return -1;
        }
        out->r[i].type = xstrndup(rdn[0]->la_attr.bv_val, rdn[0]->la_attr.bv_len);
        out->r[i].value = xstrndup(rdn[0]->la_value.bv_val, rdn[0]->la_value.bv_len);
        out->n = i + 1;
    }
    ldap_lib()->ldap_dnfree(dn);
    return n ? 0 : -1;
}

char *dir_dn_format(const struct rdn *r, size_t n)
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

/* ------------------------------------------------------------------ requests */

LDAPMessage *dir_first_entry(LDAP *ld, LDAPMessage *res, int *count)
{
    LDAPMessage *first = NULL;
    *count = 0;
    for (LDAPMessage *m = res; m; m = ldap_lib()->ldap_next_message(ld, m))
        if (ldap_lib()->ldap_msgtype(m) == LDAP_RES_SEARCH_ENTRY) {
            if (!first)
                first = m;
            (*count)++;
        }
    return first;
}

int dir_send_search(struct dir *dir, const char *base, int scope, const char *filter, char **attrs,
                    int *msgid)
{
    struct timeval tv = {dir->timeout, 0};
    return ldap_lib()->ldap_search_ext(dir->ld, base, scope, filter, attrs, 0, NULL, NULL, &tv, 0,
                                       msgid);
}

int dir_search_sync(struct dir *dir, const char *base, int scope, const char *filter, char **attrs,
                    LDAPMessage **res, enum dir_op op, const char *object, struct diag *d,
                    int *rc_out)
{
    int msgid, rc;
    *res = NULL;
    if ((rc = dir_send_search(dir, base, scope, filter, attrs, &msgid)) != LDAP_SUCCESS) {
        dir_report_api(dir, d, op, rc, object);
        return -1;
    }
    if ((rc = dir_wait_for(dir, msgid, res)) != 0) {
        dir_report_api(dir, d, op, rc, object);
        return -1;
    }
    char *dm;
    rc = dir_result_of(dir, *res, &dm);
    if (rc_out)
        *rc_out = rc;
    if (rc != LDAP_SUCCESS && !(rc_out && rc == LDAP_NO_SUCH_OBJECT)) {
        dir_report(dir, d, op, rc, dm, object);
        free(dm);
        ldap_lib()->ldap_msgfree(*res);
        *res = NULL;
        return -1;
    }
    free(dm);
    return 0;
}

int dir_finish_sync(struct dir *dir, int msgid, char **dm)
{
    LDAPMessage *res;
    *dm = NULL;
    int rc = dir_wait_for(dir, msgid, &res);
    if (rc != 0) {
        *dm = dir_diagnostic_of(dir->ld);
        return rc;
    }
    rc = dir_result_of(dir, res, dm);
    ldap_lib()->ldap_msgfree(res);
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
    ldap_lib()->ber_sockbuf_ctrl(sbiod->sbiod_sb, LBER_SB_OPT_GET_FD, &fd);
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
    if (ldap_lib()->ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Below TLS (level 20), above TCP (10, added after this callback). */
    if (ldap_lib()->ber_sockbuf_add_io(sb, &timeout_layer, LBER_SBIOD_LEVEL_PROVIDER + 5, dir) != 0)
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
        ldap_lib()->ldap_unbind_ext_s(dir->ld, NULL, NULL);
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
    for (size_t i = 0; i < dir->n_adopt; i++)
        free(dir->adopt_names[i]);
    free(dir->adopt_names);
    free(dir->adopt_domain);
    for (size_t i = 0; i < dir->n_allowed; i++)
        free(dir->allowed[i]);
    free(dir->allowed);
    free(dir->warning);
    free(dir);
}

/* Everything up to an encrypted, not yet bound connection. */
static int conn_setup(const struct dir_config *cfg, struct dir *dir, struct diag *d)
{
    /* Loaded by dir_new, which made dir. */
    const struct ldap_api *lib = ldap_lib();
    LDAPURLDesc *lud = NULL;
    if (!cfg->uri || lib->ldap_url_parse(cfg->uri, &lud) != LDAP_URL_SUCCESS) {
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
    lib->ldap_free_urldesc(lud);
    if (bad_uri) {
        diag_add(d,
                 "ldap: URI '%s' is not supported: want exactly one ldaps://host[:port] or "
                 "ldap://host[:port] (StartTLS), without DN or other parts",
                 cfg->uri);
        return -1;
    }
    bool seal = cfg->sasl_gssapi && cfg->gssapi_seal;
    if (dir_transport_check(cfg, ldaps, d) < 0)
        return -1;
    dir->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;

    int rc = lib->ldap_initialize(&dir->ld, cfg->uri);
    if (rc != LDAP_SUCCESS) {
        dir_report(dir, d, DIR_OP_CONNECT, rc, NULL, NULL);
        return -1;
    }
    int v3 = LDAP_VERSION3;
    struct timeval tv = {dir->timeout, 0};
    unsigned int user_timeout_ms = (unsigned)dir->timeout * 1000u;
    dir->conncb.lc_add = conn_add_cb;
    dir->conncb.lc_del = conn_del_cb;
    dir->conncb.lc_arg = dir;
    /* LDAP_OPT_ON: the macro names liblber's ber_pvt_opt_on, reached through the table. */
    void *on = lib->ber_pvt_opt_on;
    if (lib->ldap_set_option(dir->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
        lib->ldap_set_option(dir->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        lib->ldap_set_option(dir->ld, LDAP_OPT_RESTART, on) != LDAP_OPT_SUCCESS ||
        lib->ldap_set_option(dir->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        lib->ldap_set_option(dir->ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        lib->ldap_set_option(dir->ld, LDAP_OPT_TCP_USER_TIMEOUT, &user_timeout_ms) !=
            LDAP_OPT_SUCCESS ||
        lib->ldap_set_option(dir->ld, LDAP_OPT_X_SASL_NOCANON, on) != LDAP_OPT_SUCCESS ||
        lib->ldap_set_option(dir->ld, LDAP_OPT_CONNECT_CB, &dir->conncb) != LDAP_OPT_SUCCESS) {
        diag_add(d, "ldap: cannot set the connection options for %s", dir->server);
        return -1;
    }
    if (!seal) {
        /* CA file and REQUIRE_CERT on the handle, then NEWCTX (0: a client
         * context; ldap_get_option(3)) so that they take effect, before the
         * first operation. */
        int req = cfg->tls_insecure ? LDAP_OPT_X_TLS_NEVER : LDAP_OPT_X_TLS_DEMAND;
        int minproto = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
        int newctx = 0;
        if (lib->ldap_set_option(dir->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
            (cfg->ca_file && lib->ldap_set_option(dir->ld, LDAP_OPT_X_TLS_CACERTFILE,
                                                  cfg->ca_file) != LDAP_OPT_SUCCESS) ||
            lib->ldap_set_option(dir->ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &minproto) !=
                LDAP_OPT_SUCCESS ||
            lib->ldap_set_option(dir->ld, LDAP_OPT_X_TLS_NEWCTX, &newctx) != LDAP_OPT_SUCCESS) {
            char *dm = dir_diagnostic_of(dir->ld);
            char *t = dir_tls_error_text(dir->server, cfg->ca_file,
                                         dm ? dm : "the TLS settings were refused");
            diag_add(d, "%s", t);
            free(t);
            free(dm);
            return -1;
        }
        /* For the caller to show (dir_warning): a library prints nothing. */
        if (cfg->tls_insecure)
            dir->warning = xasprintf("ldap: certificate checks are OFF for %s (tls_insecure): the "
                                     "connection is encrypted but the server is not authenticated",
                                     dir->server);
    } else {
        /* At least DES-strength sealing; Kerberos AES gives 256. */
        ber_len_t ssf_min = 56;
        if (lib->ldap_set_option(dir->ld, LDAP_OPT_X_SASL_SSF_MIN, &ssf_min) != LDAP_OPT_SUCCESS) {
            diag_add(d, "ldap: cannot require SASL sealing for %s", dir->server);
            return -1;
        }
    }

    dir->tcp_connected = false;
    rc = lib->ldap_connect(dir->ld);
    if (rc != LDAP_SUCCESS) {
        if (dir->io_timed_out) {
            dir_report_note(dir, d, DIR_OP_CONNECT, LDAP_TIMEOUT, NULL,
                            "no answer during the TLS handshake");
        } else if (ldaps && dir->tcp_connected) {
            char *dm = dir_diagnostic_of(dir->ld);
            char *t = dir_tls_error_text(dir->server, cfg->ca_file, dm);
            diag_add(d, "%s", t);
            free(t);
            free(dm);
        } else {
            dir_report_api(dir, d, DIR_OP_CONNECT, rc, NULL);
        }
        return -1;
    }
    if (plain && !seal) {
        rc = lib->ldap_start_tls_s(dir->ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            char *dm = dir_diagnostic_of(dir->ld);
            if (dir->io_timed_out || rc == LDAP_TIMEOUT) {
                dir_report_note(dir, d, DIR_OP_CONNECT, LDAP_TIMEOUT, NULL,
                                "no answer to StartTLS");
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
    if (!seal && !lib->ldap_tls_inplace(dir->ld)) {
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
    int rc = ldap_lib()->ldap_sasl_bind(dir->ld, who, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid);
    wipe(cred.bv_val, cred.bv_len);
    free(cred.bv_val);
    if (rc != LDAP_SUCCESS) {
        dir_report_api(dir, d, op, rc, who);
        return -1;
    }
    char *dm;
    rc = dir_finish_sync(dir, msgid, &dm);
    if (rc != LDAP_SUCCESS) {
        dir_report(dir, d, op, rc, dm, who);
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
        ldap_lib()->ldap_set_option(dir->ld, LDAP_OPT_X_SASL_SSF_MAX, &ssf_max);
    }
    int rc = ldap_lib()->ldap_sasl_interactive_bind_s(dir->ld, NULL, "GSSAPI", NULL, NULL,
                                                      LDAP_SASL_QUIET, sasl_interact, NULL);
    if (rc != LDAP_SUCCESS) {
        dir_report_api(dir, d, DIR_OP_BIND, rc, "the Kerberos ticket (SASL GSSAPI)");
        return -1;
    }
    char *authcid = NULL;
    ldap_lib()->ldap_get_option(dir->ld, LDAP_OPT_X_SASL_USERNAME, &authcid);
    if (authcid) {
        free(dir->who);
        dir->who = xstrdup(authcid);
        ldap_lib()->ldap_memfree(authcid);
    }
    if (seal) {
        ber_len_t ssf = 0;
        ldap_lib()->ldap_get_option(dir->ld, LDAP_OPT_X_SASL_SSF, &ssf);
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
    int r = dir_search_sync(dir, dir->base, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res,
                            DIR_OP_SEARCH, what, d, &rc);
    if (r == 0 && rc == LDAP_NO_SUCH_OBJECT) {
        diag_add(d, "ldap: base_dn %s does not exist on %s (or the bind account cannot see it)",
                 dir->base, dir->server);
        r = -1;
    } else if (r == 0) {
        int count;
        if (!dir_first_entry(dir->ld, res, &count)) {
            diag_add(d, "ldap: base_dn %s is not visible on %s to %s", dir->base, dir->server,
                     dir->who ? dir->who : "the bind account");
            r = -1;
        }
    }
    if (res)
        ldap_lib()->ldap_msgfree(res);
    free(what);
    return r;
}

static struct dir *dir_new(const struct dir_config *cfg, struct diag *d)
{
    /* Every connection starts here: libldap is loaded before the first of
     * its functions is needed (ldap_str2dn just below; ldap/ldap_api.h). */
    if (!ldap_api_load(d))
        return NULL;
    struct dir *dir = xcalloc(1, sizeof *dir);
    dir->timeout = cfg->timeout_seconds > 0 ? cfg->timeout_seconds : DEFAULT_TIMEOUT;
    dir->create_ou = cfg->create_ou;
    dir->adopt_unmarked = cfg->adopt_unmarked;
    dir->upn_suffix = cfg->upn_suffix ? xstrdup(cfg->upn_suffix) : NULL;
    struct dnp base;
    if (!cfg->base_dn || dir_dn_parse(cfg->base_dn, &base) < 0) {
        diag_add(d, "ldap: base_dn '%s' is not a valid DN (e.g. DC=example,DC=com)",
                 cfg->base_dn ? cfg->base_dn : "");
        dir_free(dir);
        return NULL;
    }
    dir->base = dir_dn_format(base.r, base.n);
    dir_dnp_free(&base);
    return dir;
}

int dir_open(const struct dir_config *cfg, struct dir **out, struct diag *d)
{
    bool transient;
    return dir_open_retry(cfg, out, d, &transient);
}

int dir_open_retry(const struct dir_config *cfg, struct dir **out, struct diag *d, bool *transient)
{
    *out = NULL;
    *transient = false;
    struct dir *dir = dir_new(cfg, d);
    if (!dir)
        return -1;
    struct pipe_guard g;
    dir_guard_on(&g);
    int r = -1;
    /* The password is read before any traffic so that a bad file costs no
     * connection. */
    char *pw = NULL;
    if (dir_bind_credentials(cfg, &pw, d) < 0)
        goto done;
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
    dir->n_adopt = cfg->n_adopt_groups;
    dir->adopt_names =
        xcalloc(cfg->n_adopt_groups ? cfg->n_adopt_groups : 1, sizeof *dir->adopt_names);
    for (size_t i = 0; i < cfg->n_adopt_groups; i++)
        dir->adopt_names[i] = xstrdup(cfg->adopt_groups[i]);
    r = 0;
done:
    dir_guard_off(&g);
    if (r < 0) {
        /* Not reached, no answer in time, or lost on the way. */
        *transient = dir->broken || dir->io_timed_out || (dir->ld && !dir->tcp_connected);
        dir_free(dir);
    } else {
        *out = dir;
    }
    return r;
}

void dir_close(struct dir *dir)
{
    if (!dir)
        return;
    struct pipe_guard g;
    dir_guard_on(&g);
    dir_free(dir);
    dir_guard_off(&g);
}

const char *dir_security(const struct dir *dir)
{
    return dir ? dir->security : "";
}

const char *dir_warning(const struct dir *dir)
{
    return dir ? dir->warning : NULL;
}

struct dir_logons {
    struct dir_config cfg;
    struct dir *dir; /* made on the first check; again after it broke */
};

int dir_logons_open(const struct dir_config *cfg, struct dir_logons **out)
{
    struct dir_logons *l = xcalloc(1, sizeof *l);
    l->cfg = *cfg;
    l->cfg.sasl_gssapi = false;
    l->cfg.gssapi_seal = false;
    *out = l;
    return 0;
}

int dir_logons_check(struct dir_logons *l, const char *upn, const char *password, struct diag *d)
{
    if (l->dir && l->dir->broken) {
        dir_free(l->dir);
        l->dir = NULL;
    }
    struct pipe_guard g;
    dir_guard_on(&g);
    int r = -1;
    if (!l->dir) {
        l->dir = dir_new(&l->cfg, d);
        if (l->dir && conn_setup(&l->cfg, l->dir, d) < 0) {
            dir_free(l->dir);
            l->dir = NULL;
        }
    }
    if (l->dir) {
        free(l->dir->who);
        l->dir->who = xstrdup(upn ? upn : "");
        r = bind_simple(l->dir, upn, password, DIR_OP_CHECK_PASSWORD, d);
        if (r == 1 && check_base(l->dir, d) < 0)
            r = -1;
    }
    dir_guard_off(&g);
    return r;
}

void dir_logons_close(struct dir_logons *l)
{
    if (!l)
        return;
    dir_free(l->dir);
    free(l);
}

int dir_check_password(const struct dir_config *cfg, const char *upn, const char *password,
                       struct diag *d)
{
    struct dir_logons *l;
    dir_logons_open(cfg, &l);
    int r = dir_logons_check(l, upn, password, d);
    dir_logons_close(l);
    return r;
}
