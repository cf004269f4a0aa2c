/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dir_read_account_state: an account's groups and whether it can log on,
 * for `check` (directory.h). */
#include "ldap/account.h"
#include "ldap/directory_internal.h"
#include "provision/util.h"

#include <stdlib.h>
#include <string.h>

#define UF_ACCOUNTDISABLE   0x2ul
#define UF_LOCKOUT          0x10ul
#define UF_PASSWORD_EXPIRED 0x800000ul
/* accountExpires and the computed password expiry say "never" so. */
#define FILETIME_NEVER 0x7FFFFFFFFFFFFFFFll

void dir_account_state_free(struct dir_account_state *st)
{
    for (size_t i = 0; i < st->n_groups; i++)
        free(st->groups[i]);
    free(st->groups);
    memset(st, 0, sizeof *st);
}

/* A number attribute of e, or dflt when absent or not a number. */
static long long number_of(LDAP *ld, LDAPMessage *e, const char *attr, long long dflt)
{
    char *v = dir_first_value(ld, e, attr, NULL);
    char *end = NULL;
    long long n = v && *v ? strtoll(v, &end, 10) : dflt;
    if (!v || !*v || !end || *end)
        n = dflt;
    free(v);
    return n;
}

static char *state_attrs[] = {"userAccountControl",
                              "msDS-User-Account-Control-Computed",
                              "accountExpires",
                              "msDS-UserPasswordExpiryTimeComputed",
                              "pwdLastSet",
                              "tokenGroups",
                              NULL};

int dir_read_account_state(struct dir *dir, const struct dir_account *acct,
                           struct dir_account_state *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    const char *name = acct->sam ? acct->sam : acct->dn;
    char *object = xasprintf("account %s", name);
    if (dir_alive(dir, d, DIR_OP_SEARCH, object) < 0) {
        free(object);
        return -1;
    }
    struct pipe_guard g;
    dir_guard_on(&g);
    LDAPMessage *res = NULL;
    int rc = 0, r = -1;
    if (dir_search_sync(dir, acct->dn, LDAP_SCOPE_BASE, "(objectClass=user)", state_attrs, &res,
                        DIR_OP_SEARCH, object, d, &rc) == 0) {
        int count;
        LDAPMessage *e = rc == LDAP_SUCCESS ? dir_first_entry(dir->ld, res, &count) : NULL;
        if (!e) {
            r = 0;
        } else {
            unsigned long uac = (unsigned long)number_of(dir->ld, e, "userAccountControl", 0);
            unsigned long computed =
                (unsigned long)number_of(dir->ld, e, "msDS-User-Account-Control-Computed", 0);
            out->disabled = uac & UF_ACCOUNTDISABLE;
            out->locked_out = computed & UF_LOCKOUT;
            /* pwdLastSet 0: the password must be changed at the next logon,
             * which a pool's logon cannot do. */
            out->password_expired =
                (computed & UF_PASSWORD_EXPIRED) || number_of(dir->ld, e, "pwdLastSet", -1) == 0;
            long long expires = number_of(dir->ld, e, "accountExpires", 0);
            out->account_expires = expires == FILETIME_NEVER ? 0 : expires;
            expires = number_of(dir->ld, e, "msDS-UserPasswordExpiryTimeComputed", 0);
            out->password_expires = expires == FILETIME_NEVER ? 0 : expires;
            struct berval **v = ldap_lib()->ldap_get_values_len(dir->ld, e, "tokenGroups");
            size_t n = 0;
            while (v && v[n])
                n++;
            out->groups = xcalloc(n ? n : 1, sizeof *out->groups);
            for (size_t i = 0; i < n; i++) {
                char buf[200];
                if (dir_sid_to_string(v[i]->bv_val, v[i]->bv_len, buf, sizeof buf) == 0)
                    out->groups[out->n_groups++] = xstrdup(buf);
            }
            /* Every account is at least in its primary group. */
            out->groups_read = out->n_groups > 0;
            if (v)
                ldap_lib()->ldap_value_free_len(v);
            r = 1;
        }
    }
    ldap_lib()->ldap_msgfree(res);
    free(object);
    dir_guard_off(&g);
    return r;
}

int dir_sid_exists(struct dir *dir, const char *sid, struct diag *d)
{
    for (const char *p = sid; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == 'S')) {
            diag_add(d, "ldap: '%s' is not a SID; not looked up", sid);
            return -1;
        }
    if (dir_alive(dir, d, DIR_OP_SEARCH, sid) < 0)
        return -1;
    struct pipe_guard g;
    dir_guard_on(&g);
    char *base = xasprintf("<SID=%s>", sid);
    char *attrs[] = {"1.1", NULL};
    LDAPMessage *res = NULL;
    int rc = 0, r = -1;
    if (dir_search_sync(dir, base, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res, DIR_OP_SEARCH,
                        sid, d, &rc) == 0) {
        int count = 0;
        r = rc == LDAP_SUCCESS && dir_first_entry(dir->ld, res, &count) ? 1 : 0;
    }
    ldap_lib()->ldap_msgfree(res);
    free(base);
    dir_guard_off(&g);
    return r;
}
