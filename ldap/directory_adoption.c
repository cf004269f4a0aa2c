/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The adoption half of directory_accounts.c: whether an existing account
 * may be taken over (dir_check_adoption), checked against the allowed
 * group SIDs (Domain Users, adopt_groups and the groups they are in),
 * which are resolved once per handle and domain. */
#include "ldap/directory_common.h"
#include "ldap/directory_internal.h"

#include "ldap/account.h"
#include "ldap/escape.h"
#include "provision/util.h"

#include <ldap.h>
#include <stdlib.h>
#include <string.h>

/* True when the two DNs (canonical or not) name the same entry. */
static bool same_dn(const char *a, const char *b)
{
    struct dnp pa, pb;
    if (dir_dn_parse(a, &pa) < 0)
        return false;
    if (dir_dn_parse(b, &pb) < 0) {
        dir_dnp_free(&pa);
        return false;
    }
    bool same = pa.n == pb.n && dn_has_suffix(&pa, &pb);
    dir_dnp_free(&pa);
    dir_dnp_free(&pb);
    return same;
}

/* The DN of the object with that SID ("<SID=...>" base search, MS-ADTS
 * 3.1.1.3.1.2.4), or NULL (none, or an error: reported in d when d). */
static char *dn_of_sid(struct dir *dir, const char *sid, struct diag *d)
{
    char *base = xasprintf("<SID=%s>", sid);
    char *attrs[] = {"1.1", NULL};
    LDAPMessage *res;
    int rc = 0;
    char *dn = NULL;
    struct diag quiet;
    diag_init(&quiet);
    if (dir_search_sync(dir, base, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res, DIR_OP_SEARCH,
                        sid, d ? d : &quiet, &rc) == 0) {
        int count;
        LDAPMessage *e = rc == LDAP_SUCCESS ? dir_first_entry(dir->ld, res, &count) : NULL;
        if (e)
            dn = entry_dn(dir->ld, e);
        ldap_lib()->ldap_msgfree(res);
    }
    diag_free(&quiet);
    free(base);
    return dn;
}

static char *sid_of_entry(LDAP *ld, LDAPMessage *e)
{
    size_t n = 0;
    char *bin = dir_first_value(ld, e, "objectSid", &n);
    char buf[200];
    char *sid = bin && dir_sid_to_string(bin, n, buf, sizeof buf) == 0 ? xstrdup(buf) : NULL;
    free(bin);
    return sid;
}

static void allowed_add(struct dir *dir, const char *sid)
{
    for (size_t i = 0; i < dir->n_allowed; i++)
        if (strcmp(dir->allowed[i], sid) == 0)
            return;
    dir->allowed = xrealloc(dir->allowed, (dir->n_allowed + 1) * sizeof *dir->allowed);
    dir->allowed[dir->n_allowed++] = xstrdup(sid);
}

static void allowed_clear(struct dir *dir)
{
    for (size_t i = 0; i < dir->n_allowed; i++)
        free(dir->allowed[i]);
    free(dir->allowed);
    dir->allowed = NULL;
    dir->n_allowed = 0;
    free(dir->adopt_domain);
    dir->adopt_domain = NULL;
}

/* An adopt_group entry: its DN and SID. 0, or -1 reported. */
static int resolve_adopt_group(struct dir *dir, const char *g, char **dn, char **sid,
                               struct diag *d)
{
    *dn = *sid = NULL;
    char *attrs[] = {"objectSid", NULL};
    char *object = xasprintf("adopt_group %s", g);
    LDAPMessage *res = NULL;
    int r = -1, rc = LDAP_SUCCESS;
    if (strchr(g, '=')) {
        char *abs = absolute_dn(dir, g, "adopt_group", d);
        if (abs && dir_search_sync(dir, abs, LDAP_SCOPE_BASE, "(objectClass=group)", attrs, &res,
                                   DIR_OP_SEARCH, object, d, &rc) == 0) {
            int count;
            LDAPMessage *e = rc == LDAP_SUCCESS ? dir_first_entry(dir->ld, res, &count) : NULL;
            if (!e) {
                diag_add(d, "ldap: adopt_group %s does not exist on %s (or is not a group)", abs,
                         dir->server);
            } else {
                *dn = entry_dn(dir->ld, e);
                *sid = sid_of_entry(dir->ld, e);
                r = 0;
            }
        }
        free(abs);
    } else {
        char *v = dir_escape_filter(g, strlen(g));
        char *filter = xasprintf("(&(objectClass=group)(sAMAccountName=%s))", v ? v : "");
        free(v);
        if (dir_search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter, attrs, &res, DIR_OP_SEARCH,
                            object, d, NULL) == 0) {
            int count;
            LDAPMessage *e = dir_first_entry(dir->ld, res, &count);
            if (!e) {
                diag_add(d, "ldap: adopt_group %s not found under %s on %s", g, dir->base,
                         dir->server);
            } else {
                *dn = entry_dn(dir->ld, e);
                *sid = sid_of_entry(dir->ld, e);
                r = 0;
            }
        }
        free(filter);
    }
    if (res)
        ldap_lib()->ldap_msgfree(res);
    if (r == 0 && !*sid) {
        diag_add(d, "ldap: adopt_group %s (%s) on %s has no objectSid", g, *dn, dir->server);
        r = -1;
    }
    if (r == 0 && dir_sid_protected_group(*sid)) {
        diag_add(d,
                 "ldap: adopt_group %s (%s, %s) is an administrative group (%s): its members are "
                 "never adopted; remove it from adopt_group",
                 g, *dn, *sid, dir_sid_protected_group(*sid));
        r = -1;
    }
    if (r < 0) {
        free(*dn);
        free(*sid);
        *dn = *sid = NULL;
    }
    free(object);
    return r;
}

/* The groups dn is in, directly or through nesting (LDAP_MATCHING_RULE_IN_CHAIN,
 * 1.2.840.113556.1.4.1941), searched under search_base: their SIDs go to
 * the allowed set. 0, or -1 reported. */
static int allow_groups_of(struct dir *dir, const char *search_base, const char *dn, struct diag *d)
{
    char *v = dir_escape_filter(dn, strlen(dn));
    char *filter = xasprintf("(member:1.2.840.113556.1.4.1941:=%s)", v ? v : "");
    free(v);
    char *attrs[] = {"objectSid", NULL};
    char *object = xasprintf("the groups %s is in", dn);
    LDAPMessage *res;
    int r = -1;
    if (dir_search_sync(dir, search_base, LDAP_SCOPE_SUBTREE, filter, attrs, &res, DIR_OP_SEARCH,
                        object, d, NULL) == 0) {
        for (LDAPMessage *m = res; m; m = ldap_lib()->ldap_next_message(dir->ld, m)) {
            if (ldap_lib()->ldap_msgtype(m) != LDAP_RES_SEARCH_ENTRY)
                continue;
            char *sid = sid_of_entry(dir->ld, m);
            if (sid)
                allowed_add(dir, sid);
            free(sid);
        }
        ldap_lib()->ldap_msgfree(res);
        r = 0;
    }
    free(filter);
    free(object);
    return r;
}

/* The SIDs an adopted account of domain `domain` (a domain SID) may have
 * in its tokenGroups: Domain Users, the adopt_group groups, and every
 * group those are in (transitively). Made once per handle and domain.
 * 0, or -1 reported. */
static int ensure_allowed(struct dir *dir, const char *domain, struct diag *d)
{
    if (dir->adopt_domain && strcmp(dir->adopt_domain, domain) == 0)
        return 0;
    allowed_clear(dir);
    /* The in-chain searches run from the domain's root (the DC= part of
     * base_dn): Builtin groups live in CN=Builtin there. */
    struct dnp base;
    dir_dn_parse(dir->base, &base);
    size_t k = base.n;
    while (k > 0 && ascii_casecmp(base.r[k - 1].type, "DC") == 0)
        k--;
    char *root = k < base.n ? dir_dn_format(base.r + k, base.n - k) : xstrdup(dir->base);
    dir_dnp_free(&base);

    char *users = xasprintf("%s-%d", domain, DIR_RID_DOMAIN_USERS);
    char *users_dn = dn_of_sid(dir, users, d);
    int r = 0;
    if (!users_dn) {
        diag_add(d,
                 "ldap: cannot find Domain Users (%s) on %s, against which adoptions are checked",
                 users, dir->server);
        r = -1;
    } else {
        allowed_add(dir, users);
        r = allow_groups_of(dir, root, users_dn, d);
    }
    for (size_t i = 0; r == 0 && i < dir->n_adopt; i++) {
        char *dn, *sid;
        r = resolve_adopt_group(dir, dir->adopt_names[i], &dn, &sid, d);
        if (r == 0) {
            allowed_add(dir, sid);
            r = allow_groups_of(dir, root, dn, d);
        }
        free(dn);
        free(sid);
    }
    free(users);
    free(users_dn);
    free(root);
    if (r < 0) {
        allowed_clear(dir);
        return -1;
    }
    dir->adopt_domain = xstrdup(domain);
    return 0;
}

static char *adopt_attrs[] = {"sAMAccountName", "objectClass", "userAccountControl",
                              "objectSid",      "tokenGroups", NULL};

/* dir_check_adoption inside the SIGPIPE guard. */
int check_adoption(struct dir *dir, const struct dir_account *acct, const char *ou, struct diag *d)
{
    int gate = dir_adoption_gate(acct, dir->adopt_unmarked, dir->server, d);
    if (gate <= 0)
        return gate;
    const char *sam = acct->sam ? acct->sam : acct->dn;
    char *filter = NULL;
    unsigned char guid[16];
    if (acct->guid && dir_guid_from_string(acct->guid, guid) == 0) {
        char *gv = dir_escape_filter_bytes(guid, sizeof guid);
        filter = xasprintf("(objectGUID=%s)", gv);
        free(gv);
    } else {
        filter = xstrdup("(objectClass=*)");
    }
    char *object = xasprintf("account %s", sam);
    LDAPMessage *res;
    int rc = 0;
    int r = dir_search_sync(dir, acct->dn, LDAP_SCOPE_BASE, filter, adopt_attrs, &res,
                            DIR_OP_SEARCH, object, d, &rc);
    free(filter);
    free(object);
    if (r < 0)
        return -1;
    int count;
    LDAPMessage *e = rc == LDAP_SUCCESS ? dir_first_entry(dir->ld, res, &count) : NULL;
    if (!e) {
        diag_add(d,
                 "ldap: account %s (%s) is no longer on %s, or another object has its DN now: "
                 "not adopted",
                 sam, acct->dn, dir->server);
        ldap_lib()->ldap_msgfree(res);
        return -1;
    }
    char *uac_text = dir_first_value(dir->ld, e, "userAccountControl", NULL);
    char *end = NULL;
    unsigned long uac = uac_text ? strtoul(uac_text, &end, 10) : 0;
    bool has_uac = uac_text && *uac_text && end && !*end;
    free(uac_text);
    char *sid = sid_of_entry(dir->ld, e);
    char *reason = dir_adoption_object_problem(kind_of(dir->ld, e), has_uac, uac, sid);
    if (!reason && ou) {
        struct dnp p;
        char *abs = absolute_dn(dir, ou, "OU", d);
        if (!abs) {
            r = -1;
        } else if (dir_dn_parse(acct->dn, &p) < 0 || p.n < 2) {
            diag_add(d, "ldap: account %s has a DN that cannot be parsed (%s)", sam, acct->dn);
            if (p.r)
                dir_dnp_free(&p);
            r = -1;
        } else {
            char *parent = dir_dn_format(p.r + 1, p.n - 1);
            dir_dnp_free(&p);
            if (!same_dn(parent, abs))
                reason = dir_adoption_ou_reason(parent, abs);
            free(parent);
        }
        free(abs);
    }
    if (!reason && r == 0) {
        struct berval **v = ldap_lib()->ldap_get_values_len(dir->ld, e, "tokenGroups");
        size_t n = 0;
        while (v && v[n])
            n++;
        char **token = xcalloc(n ? n : 1, sizeof *token);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            char buf[200];
            if (dir_sid_to_string(v[i]->bv_val, v[i]->bv_len, buf, sizeof buf) == 0)
                token[k++] = xstrdup(buf);
        }
        if (v)
            ldap_lib()->ldap_value_free_len(v);
        char domain[200];
        unsigned long rid;
        dir_sid_domain_rid(sid, domain, sizeof domain, &rid); /* checked above */
        if (k == 0) {
            reason = xstrdup("its group membership (tokenGroups) could not be read, so it cannot "
                             "be checked: the bind account needs to read tokenGroups");
        } else if (ensure_allowed(dir, domain, d) < 0) {
            r = -1;
        } else {
            size_t *bad = xcalloc(k, sizeof *bad);
            size_t nb =
                dir_adoption_offenders((const char *const *)token, k,
                                       (const char *const *)dir->allowed, dir->n_allowed, bad);
            if (nb) {
                const char **sids = xcalloc(nb, sizeof *sids);
                char **dns = xcalloc(nb, sizeof *dns);
                for (size_t i = 0; i < nb; i++) {
                    sids[i] = token[bad[i]];
                    if (i < 4) /* the ones the message names */
                        dns[i] = dn_of_sid(dir, sids[i], NULL);
                }
                reason = dir_adoption_groups_reason(sids, (const char *const *)dns, nb);
                for (size_t i = 0; i < nb; i++)
                    free(dns[i]);
                free(dns);
                free(sids);
            }
            free(bad);
        }
        for (size_t i = 0; i < k; i++)
            free(token[i]);
        free(token);
    }
    ldap_lib()->ldap_msgfree(res);
    free(sid);
    if (r < 0) {
        free(reason);
        return -1;
    }
    if (reason) {
        char *t = dir_adoption_refusal(sam, acct->dn, dir->server, reason);
        diag_add(d, "%s", t);
        free(t);
        free(reason);
        return 0;
    }
    return 1;
}

int dir_check_adoption(struct dir *dir, const struct dir_account *acct, const char *ou,
                       struct diag *d)
{
    if (dir_alive(dir, d, DIR_OP_SEARCH, acct && acct->dn ? acct->dn : "an account") < 0)
        return -1;
    struct pipe_guard g;
    dir_guard_on(&g);
    int r = check_adoption(dir, acct, ou, d);
    dir_guard_off(&g);
    return r;
}
