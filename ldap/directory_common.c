/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The steps of ldap/directory.h that need no connection (see
 * directory_common.h). */
#include "ldap/directory_common.h"

#include "ldap/account.h"
#include "provision/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int dir_bind_settings_check(const struct dir_config *cfg, struct diag *d)
{
    if (cfg->sasl_gssapi && (cfg->bind_dn || cfg->password_file || cfg->password_env)) {
        diag_add(d, "ldap: sasl_gssapi uses the Kerberos ticket: leave bind_dn and the "
                    "password settings empty");
        return -1;
    }
    if (!cfg->sasl_gssapi && (!cfg->bind_dn || !*cfg->bind_dn)) {
        diag_add(d, "ldap: no bind_dn (or sasl_gssapi) given");
        return -1;
    }
    if (!cfg->sasl_gssapi && !!cfg->password_file == !!cfg->password_env) {
        diag_add(d, "ldap: give exactly one of password_file and password_env for %s",
                 cfg->bind_dn);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_groups; i++)
        if (!cfg->groups[i] || !*cfg->groups[i]) {
            diag_add(d, "ldap: group %zu is empty", i + 1);
            return -1;
        }
    for (size_t i = 0; i < cfg->n_adopt_groups; i++)
        if (!cfg->adopt_groups[i] || !*cfg->adopt_groups[i]) {
            diag_add(d, "ldap: adopt_group %zu is empty", i + 1);
            return -1;
        }
    return 0;
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

int dir_bind_credentials(const struct dir_config *cfg, char **password, struct diag *d)
{
    *password = NULL;
    if (dir_bind_settings_check(cfg, d) < 0)
        return -1;
    if (cfg->sasl_gssapi)
        return 0;
    if (cfg->password_file) {
        *password = password_from_file(cfg->password_file, d);
    } else {
        const char *e = getenv(cfg->password_env);
        if (!e || !*e)
            diag_add(d, "ldap: environment variable %s (password for %s) is not set",
                     cfg->password_env, cfg->bind_dn);
        else
            *password = xstrdup(e);
    }
    return *password ? 0 : -1;
}

int dir_transport_check(const struct dir_config *cfg, bool ldaps, struct diag *d)
{
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
    return 0;
}

char *dir_create_begin(struct dir_create_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        items[i].result = -1;
        memset(&items[i].account, 0, sizeof items[i].account);
    }
    if (n == 0)
        return NULL;
    return n == 1 && items[0].spec && items[0].spec->sam ? xasprintf("%s", items[0].spec->sam)
                                                         : xasprintf("(%zu accounts)", n);
}

/* ------------------------------------------------------------------ adoption */

char *dir_adoption_refusal(const char *sam, const char *dn, const char *server, const char *reason)
{
    return xasprintf("ldap: refusing to adopt account %s (%s) on %s: %s", sam ? sam : "?",
                     dn ? dn : "?", server ? server : "?", reason);
}

int dir_adoption_gate(const struct dir_account *acct, bool adopt_unmarked, const char *server,
                      struct diag *d)
{
    if (!acct || !acct->dn) {
        diag_add(d, "ldap: cannot judge an adoption without the account's DN (find it first)");
        return -1;
    }
    if (!adopt_unmarked) {
        char *t = dir_adoption_refusal(acct->sam ? acct->sam : acct->dn, acct->dn, server,
                                       "adopt_unmarked is off (the account was not created by "
                                       "provision: no " DIR_MARKER_ATTR " marker)");
        diag_add(d, "%s", t);
        free(t);
        return 0;
    }
    return 1;
}

char *dir_adoption_object_problem(const char *kind, bool has_uac, unsigned long uac,
                                  const char *sid)
{
    if (strcmp(kind, "computer") == 0)
        return xstrdup("it is a computer account (objectClass computer), not a user account");
    if (strcmp(kind, "group") == 0)
        return xstrdup("it is a group, not a user account");
    if (strcmp(kind, "user") != 0)
        return xstrdup("it is not a user account (no objectClass user)");
    if (!has_uac)
        return xstrdup("it has no userAccountControl, so it is no ordinary user account");
    const char *why = dir_uac_problem(uac);
    if (why)
        return xasprintf("it is %s (userAccountControl 0x%lx)", why, uac);
    unsigned long rid;
    if (!sid || !dir_sid_domain_rid(sid, NULL, 0, &rid))
        return xasprintf("its objectSid (%s) is not that of a domain account", sid ? sid : "none");
    if (rid < DIR_FIRST_ORDINARY_RID)
        return xasprintf("it is a built-in account (%s, RID %lu; built-in accounts have RIDs "
                         "below %d)",
                         sid, rid, DIR_FIRST_ORDINARY_RID);
    return NULL;
}

char *dir_adoption_ou_reason(const char *parent, const char *ou)
{
    return xasprintf("it is in %s, not in the template's OU %s (only accounts in the OU where "
                     "provision would create them are adopted)",
                     parent, ou);
}

size_t dir_adoption_offenders(const char *const *token, size_t n_token, const char *const *allowed,
                              size_t n_allowed, size_t *out)
{
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n_token; i++) {
            bool admin = dir_sid_protected_group(token[i]) != NULL;
            bool listed = false;
            for (size_t j = 0; !listed && j < n_allowed; j++)
                listed = strcmp(token[i], allowed[j]) == 0;
            if ((admin || !listed) && admin == (pass == 0))
                out[k++] = i;
        }
    return k;
}

#define NAMED_GROUPS 4

char *dir_adoption_groups_reason(const char *const *sids, const char *const *dns, size_t n)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_adds(&sb, "member of ");
    for (size_t i = 0; i < n && i < NAMED_GROUPS; i++) {
        if (i)
            sb_adds(&sb, i + 1 == n ? " and " : ", ");
        const char *admin = dir_sid_protected_group(sids[i]);
        if (dns[i])
            sb_addf(&sb, "%s (%s", dns[i], sids[i]);
        else
            sb_addf(&sb, "%s (", sids[i]);
        if (admin)
            sb_addf(&sb, "%s%s, an administrative group: never adopted", dns[i] ? ", " : "", admin);
        else if (!dns[i])
            sb_adds(&sb, "no object found for it");
        sb_addc(&sb, ')');
    }
    if (n > NAMED_GROUPS)
        sb_addf(&sb, " and %zu more", n - NAMED_GROUPS);
    sb_adds(&sb, " (tokenGroups: directly or through nested groups)");
    size_t plain = 0;
    for (size_t i = 0; i < n; i++)
        plain += !dir_sid_protected_group(sids[i]);
    if (plain)
        sb_addf(&sb, ", which %s not in adopt_group", n == 1 ? "is" : "are");
    sb_adds(&sb, "; an adopted account may belong only to Domain Users, the adopt_group groups "
                 "and the groups those are in, never to an administrative group");
    return sb_detach(&sb);
}

/* ------------------------------------------------------------------ replication */

long dir_replica_next_delay(long prev_ms)
{
    if (prev_ms <= 0)
        return 250;
    return prev_ms >= 2500 ? 5000 : prev_ms * 2;
}

#define NAMED_ITEMS 5

char *dir_replica_failure(const char *server, long waited_ms, const char *why,
                          const struct dir_replica_item *items, size_t n, const char *last_error)
{
    size_t missing = 0;
    for (size_t i = 0; i < n; i++)
        missing += !items[i].seen;
    struct strbuf sb;
    sb_init(&sb);
    sb_addf(&sb,
            "ldap: replication wait: %zu of %zu account(s) not confirmed on %s after %ld.%01ld s "
            "(%s): ",
            missing, n, server ? server : "?", waited_ms / 1000, (waited_ms % 1000) / 100, why);
    size_t named = 0;
    for (size_t i = 0; i < n && named < NAMED_ITEMS; i++) {
        if (items[i].seen)
            continue;
        if (named)
            sb_adds(&sb, ", ");
        sb_addf(&sb, "%s%s", items[i].label ? items[i].label : "?",
                items[i].pwd_last_set ? " (its new password)" : "");
        named++;
    }
    if (missing > named)
        sb_addf(&sb, " and %zu more", missing - named);
    if (last_error)
        sb_addf(&sb, "; last error: %s", last_error);
    return sb_detach(&sb);
}
