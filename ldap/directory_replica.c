/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Replication (directory.h: dir_pwd_last_set, dir_wait_replica): whether
 * the run's accounts have reached the other DCs named by [directory]
 * wait_for, polled on connections of their own. */
#include "ldap/account.h"
#include "ldap/directory_common.h"
#include "ldap/directory_internal.h"
#include "ldap/escape.h"
#include "provision/util.h"

#include <errno.h>
#include <ldap.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ replication */

int dir_pwd_last_set(struct dir *dir, const char *dn, long long *out, struct diag *d)
{
    *out = 0;
    if (dir_alive(dir, d, DIR_OP_SEARCH, dn ? dn : "an account") < 0)
        return -1;
    struct pipe_guard g;
    dir_guard_on(&g);
    char *attrs[] = {"pwdLastSet", NULL};
    LDAPMessage *res;
    int rc = 0, r = -1;
    char *object = xasprintf("pwdLastSet of %s", dn ? dn : "");
    if (dn && dir_search_sync(dir, dn, LDAP_SCOPE_BASE, "(objectClass=user)", attrs, &res,
                              DIR_OP_SEARCH, object, d, &rc) == 0) {
        int count;
        LDAPMessage *e = rc == LDAP_SUCCESS ? dir_first_entry(dir->ld, res, &count) : NULL;
        char *v = e ? dir_first_value(dir->ld, e, "pwdLastSet", NULL) : NULL;
        char *end = NULL;
        long long n = v ? strtoll(v, &end, 10) : 0;
        if (v && *v && end && !*end && n > 0) {
            *out = n;
            r = 0;
        } else {
            diag_add(d, "ldap: cannot read the pwdLastSet of %s on %s%s", dn, dir->server,
                     e ? "" : ": no such account");
        }
        free(v);
        ldap_lib()->ldap_msgfree(res);
    }
    free(object);
    dir_guard_off(&g);
    return r;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* host[:port] of uri for messages (as dir_open names the server), or uri.
 * Runs before any connection: when libldap cannot be loaded, uri as it is
 * (the connection then fails with ldap_api_load's message, the wait's last
 * error). */
static char *server_of(const char *uri)
{
    const struct ldap_api *lib = ldap_api_load(NULL);
    LDAPURLDesc *lud = NULL;
    char *s = NULL;
    if (lib && uri && lib->ldap_url_parse(uri, &lud) == LDAP_URL_SUCCESS && lud->lud_host &&
        *lud->lud_host) {
        int defport = ascii_casecmp(lud->lud_scheme, "ldaps") == 0 ? 636 : 389;
        s = lud->lud_port && lud->lud_port != defport
                ? xasprintf("%s:%d", lud->lud_host, lud->lud_port)
                : xstrdup(lud->lud_host);
    }
    if (lud)
        lib->ldap_free_urldesc(lud);
    return s ? s : xstrdup(uri ? uri : "");
}

static char *joined(const struct diag *d, size_t from)
{
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = from; i < d->count; i++) {
        if (d->msgs[i] && sb.len)
            sb_adds(&sb, "; ");
        if (d->msgs[i])
            sb_adds(&sb, d->msgs[i]);
    }
    return sb_detach(&sb);
}

/* One look at the DC for the items not seen yet. 0, or -1 with the error
 * in *err (caller frees). */
static int replica_poll(struct dir *dir, struct dir_replica_item *items, size_t n, char **err)
{
    struct pipe_guard g;
    dir_guard_on(&g);
    int r = 0;
    for (size_t from = 0; from < n && r == 0;) {
        struct strbuf filter;
        sb_init(&filter);
        sb_adds(&filter, "(|");
        size_t k = 0, to = from;
        for (; to < n && k < DIR_FIND_CHUNK; to++) {
            unsigned char guid[16];
            if (items[to].seen || !items[to].guid || dir_guid_from_string(items[to].guid, guid) < 0)
                continue;
            char *gv = dir_escape_filter_bytes(guid, sizeof guid);
            sb_addf(&filter, "(objectGUID=%s)", gv);
            free(gv);
            k++;
        }
        sb_adds(&filter, ")");
        if (k) {
            char *attrs[] = {"objectGUID", "pwdLastSet", NULL};
            LDAPMessage *res;
            struct diag e;
            diag_init(&e);
            if (dir_search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter.buf, attrs, &res,
                                DIR_OP_SEARCH, "the accounts to wait for", &e, NULL) < 0) {
                *err = joined(&e, 0);
                r = -1;
            } else {
                for (LDAPMessage *m = res; m; m = ldap_lib()->ldap_next_message(dir->ld, m)) {
                    if (ldap_lib()->ldap_msgtype(m) != LDAP_RES_SEARCH_ENTRY)
                        continue;
                    size_t len = 0;
                    char *bin = dir_first_value(dir->ld, m, "objectGUID", &len);
                    char guid[40];
                    bool ok = bin && dir_guid_to_string(bin, len, guid, sizeof guid) == 0;
                    free(bin);
                    char *pls = dir_first_value(dir->ld, m, "pwdLastSet", NULL);
                    long long set = pls ? strtoll(pls, NULL, 10) : 0;
                    free(pls);
                    for (size_t i = from; ok && i < to; i++)
                        if (!items[i].seen && items[i].guid &&
                            ascii_casecmp(items[i].guid, guid) == 0 && set >= items[i].pwd_last_set)
                            items[i].seen = true;
                }
                ldap_lib()->ldap_msgfree(res);
            }
            diag_free(&e);
        }
        sb_free(&filter);
        from = to;
    }
    dir_guard_off(&g);
    return r;
}

int dir_wait_replica(const struct dir_config *cfg, const char *uri, struct dir_replica_item *items,
                     size_t n, long timeout_ms, bool (*stop)(void *), void *stop_arg,
                     struct diag *d)
{
    struct dir_config c = *cfg;
    c.uri = uri;
    int op_timeout = cfg->timeout_seconds > 0 ? cfg->timeout_seconds : 30;
    char *server = server_of(uri);
    long start = now_ms(), delay = 0;
    struct dir *dir = NULL;
    char *last = NULL;
    const char *why = NULL;
    for (bool first = true;; first = false) {
        size_t missing = 0;
        for (size_t i = 0; i < n; i++)
            missing += !items[i].seen;
        if (missing == 0)
            break;
        long left = timeout_ms - (now_ms() - start);
        if (stop && stop(stop_arg)) {
            why = "stopped by a signal";
            break;
        }
        if (!first && left <= 0) {
            why = "wait_timeout";
            break;
        }
        /* Each step may take the operation timeout, cut to the time left. */
        int t = left > 0 ? (int)((left + 999) / 1000) : 1;
        c.timeout_seconds = t < op_timeout ? t : op_timeout;
        if (!dir) {
            struct diag e;
            diag_init(&e);
            bool transient = false;
            if (dir_open_retry(&c, &dir, &e, &transient) < 0) {
                free(last);
                last = joined(&e, 0);
                dir = NULL;
                if (!transient)
                    why = "a failure that waiting does not cure; not retried";
            }
            diag_free(&e);
            if (why)
                break;
        }
        if (dir) {
            dir->timeout = c.timeout_seconds;
            char *err = NULL;
            if (replica_poll(dir, items, n, &err) < 0) {
                free(last);
                last = err;
                if (dir->broken) { /* opened again at the next poll */
                    dir_close(dir);
                    dir = NULL;
                }
            } else {
                free(err);
            }
        }
        missing = 0;
        for (size_t i = 0; i < n; i++)
            missing += !items[i].seen;
        if (missing == 0)
            break;
        delay = dir_replica_next_delay(delay);
        left = timeout_ms - (now_ms() - start);
        if (left <= 0)
            continue; /* the check at the top ends it */
        long pause = delay < left ? delay : left;
        struct timespec ts = {pause / 1000, (pause % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            if (stop && stop(stop_arg))
                break;
    }
    dir_close(dir);
    int r = 0;
    if (why) {
        char *t = dir_replica_failure(server, now_ms() - start, why, items, n, last);
        diag_add(d, "%s", t);
        free(t);
        r = -1;
    }
    free(last);
    free(server);
    return r;
}
