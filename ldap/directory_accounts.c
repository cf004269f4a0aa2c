/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The accounts half of directory.h: find (one or batched), create (several
 * adds in flight on the one connection), OUs and group membership, set a
 * password, delete. Talks over the handle of directory_connection.c
 * through directory_internal.h; adoption is in directory_adoption.c, the
 * pure helpers (escaping, marker, SID/GUID, error texts, passwords) in
 * the other files of ldap/. */
#include "ldap/directory_common.h"
#include "ldap/directory_internal.h"

#include "ldap/account.h"
#include "ldap/errors.h"
#include "ldap/escape.h"
#include "provision/util.h"

#include <errno.h>
#include <ldap.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Operations kept in flight by dir_create_accounts. */
#define WINDOW 16
/* userAccountControl: NORMAL_ACCOUNT 0x200 | DONT_EXPIRE_PASSWORD 0x10000. */
#define UAC_NEW "66048"

/* ------------------------------------------------------------------ DNs */

bool dn_has_suffix(const struct dnp *a, const struct dnp *suffix)
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
char *absolute_dn(struct dir *dir, const char *s, const char *what, struct diag *d)
{
    struct dnp p, base;
    if (dir_dn_parse(s, &p) < 0) {
        diag_add(d, "ldap: %s '%s' is not a valid DN (RFC 4514, e.g. OU=Sites,OU=Hosting)", what,
                 s ? s : "");
        return NULL;
    }
    dir_dn_parse(dir->base, &base);
    char *rel = dir_dn_format(p.r, p.n);
    char *out = dn_has_suffix(&p, &base) ? xstrdup(rel) : xasprintf("%s,%s", rel, dir->base);
    free(rel);
    dir_dnp_free(&p);
    dir_dnp_free(&base);
    return out;
}

/* ------------------------------------------------------------------ entries */

char *dir_first_value(LDAP *ld, LDAPMessage *e, const char *attr, size_t *len)
{
    struct berval **v = ldap_lib()->ldap_get_values_len(ld, e, attr);
    if (!v || !v[0]) {
        if (v)
            ldap_lib()->ldap_value_free_len(v);
        return NULL;
    }
    char *s = xmalloc(v[0]->bv_len + 1);
    memcpy(s, v[0]->bv_val, v[0]->bv_len);
    s[v[0]->bv_len] = '\0';
    if (len)
        *len = v[0]->bv_len;
    ldap_lib()->ldap_value_free_len(v);
    return s;
}

/* "user", "computer", "group", ... : the most specific structural class we
 * care about. */
const char *kind_of(LDAP *ld, LDAPMessage *e)
{
    struct berval **v = ldap_lib()->ldap_get_values_len(ld, e, "objectClass");
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
        ldap_lib()->ldap_value_free_len(v);
    return computer ? "computer" : user ? "user" : group ? "group" : "object";
}

char *entry_dn(LDAP *ld, LDAPMessage *e)
{
    char *dn = ldap_lib()->ldap_get_dn(ld, e);
    char *copy = xstrdup(dn ? dn : "");
    if (dn)
        ldap_lib()->ldap_memfree(dn);
    return copy;
}

static void fill_account(LDAP *ld, LDAPMessage *e, struct dir_account *a)
{
    memset(a, 0, sizeof *a);
    a->dn = entry_dn(ld, e);
    a->sam = dir_first_value(ld, e, "sAMAccountName", NULL);
    a->upn = dir_first_value(ld, e, "userPrincipalName", NULL);
    a->description = dir_first_value(ld, e, "description", NULL);
    size_t n = 0;
    char *bin = dir_first_value(ld, e, "objectSid", &n);
    char buf[200];
    if (bin && dir_sid_to_string(bin, n, buf, sizeof buf) == 0)
        a->sid = xstrdup(buf);
    free(bin);
    bin = dir_first_value(ld, e, "objectGUID", &n);
    if (bin && dir_guid_to_string(bin, n, buf, sizeof buf) == 0)
        a->guid = xstrdup(buf);
    free(bin);
    char *marker = dir_first_value(ld, e, DIR_MARKER_ATTR, NULL);
    a->managed = dir_marker_parse(marker, &a->managed_site);
    free(marker);
}

static char *account_attrs[] = {"sAMAccountName", "userPrincipalName", "description", "objectSid",
                                "objectGUID",     DIR_MARKER_ATTR,     "objectClass", NULL};

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
    if (dir_alive(dir, d, DIR_OP_SEARCH, object) < 0) {
        free(object);
        return -1;
    }
    struct pipe_guard g;
    dir_guard_on(&g);
    char *filter = sam_filter(sam);
    LDAPMessage *res;
    int r = -1;
    if (dir_search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter, account_attrs, &res,
                        DIR_OP_SEARCH, object, d, NULL) == 0) {
        int count;
        LDAPMessage *e = dir_first_entry(dir->ld, res, &count);
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
        ldap_lib()->ldap_msgfree(res);
    }
    free(filter);
    free(object);
    dir_guard_off(&g);
    return r;
}

/* Looks many names up with one search per chunk: (|(sAMAccountName=a)...).
 * Cheaper for the DC than one search per name, which matters when a batch
 * of sites is applied (each look-up costs the DC about as much as half an
 * add). The chunk size is DIR_FIND_CHUNK (directory_internal.h). */

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
    if (dir_alive(dir, d, DIR_OP_SEARCH, "accounts") < 0)
        return -1;
    struct pipe_guard g;
    dir_guard_on(&g);
    int rc = 0;
    for (size_t from = 0; from < n && rc == 0; from += DIR_FIND_CHUNK) {
        size_t to = from + DIR_FIND_CHUNK < n ? from + DIR_FIND_CHUNK : n;
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
        if (dir_search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter.buf, account_attrs, &res,
                            DIR_OP_SEARCH, object, d, NULL) < 0) {
            rc = -1;
        } else {
            for (LDAPMessage *m = res; m; m = ldap_lib()->ldap_next_message(dir->ld, m)) {
                if (ldap_lib()->ldap_msgtype(m) != LDAP_RES_SEARCH_ENTRY)
                    continue;
                char *sam = dir_first_value(dir->ld, m, "sAMAccountName", NULL);
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
            ldap_lib()->ldap_msgfree(res);
        }
        free(object);
        sb_free(&filter);
    }
    dir_guard_off(&g);
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
    if (dir_search_sync(dir, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res, op, dn, d, &rc) <
        0)
        return -1;
    int count = 0;
    if (rc == LDAP_SUCCESS)
        dir_first_entry(dir->ld, res, &count);
    ldap_lib()->ldap_msgfree(res);
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
    dir_dn_parse(dn, &p);
    dir_dn_parse(dir->base, &base);
    int r = 0;
    /* From just below base_dn down to the OU itself. */
    for (size_t k = p.n - base.n; k-- > 0 && r == 0;) {
        char *sub = dir_dn_format(p.r + k, p.n - k);
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
            int rc = ldap_lib()->ldap_add_ext(dir->ld, sub, mods, NULL, NULL, &msgid);
            char *dm = NULL;
            if (rc == LDAP_SUCCESS)
                rc = dir_finish_sync(dir, msgid, &dm);
            else
                dm = dir_diagnostic_of(dir->ld);
            if (rc != LDAP_SUCCESS && rc != LDAP_ALREADY_EXISTS) {
                dir_report(dir, d, DIR_OP_CREATE_OU, rc, dm, sub);
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
    dir_dnp_free(&p);
    dir_dnp_free(&base);
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
        if (dir_search_sync(dir, dir->base, LDAP_SCOPE_SUBTREE, filter, attrs, &res, DIR_OP_SEARCH,
                            object, d, NULL) < 0) {
            r = -1;
        } else {
            int count;
            LDAPMessage *e = dir_first_entry(dir->ld, res, &count);
            if (!e) {
                diag_add(d, "ldap: group %s not found under %s on %s", g, dir->base, dir->server);
                r = -1;
            } else {
                dns[i] = entry_dn(dir->ld, e);
            }
            ldap_lib()->ldap_msgfree(res);
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
    int rc = ldap_lib()->ldap_add_ext(dir->ld, j->dn, mods, NULL, NULL, &j->msgid);
    wipe(pw, pwlen);
    free(pw);
    free(upn);
    free(marker);
    if (rc != LDAP_SUCCESS)
        dir_report_api(dir, d, DIR_OP_CREATE, rc, j->label);
    else
        j->st = ST_ADD;
    return rc;
}

static int send_member(struct dir *dir, struct job *j, int op, const char *group)
{
    char *vals[] = {j->dn, NULL};
    LDAPMod m = {op, "member", {.modv_strvals = vals}};
    LDAPMod *mods[] = {&m, NULL};
    return ldap_lib()->ldap_modify_ext(dir->ld, group, mods, NULL, NULL, &j->msgid);
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
    return dir_send_search(dir, j->dn, LDAP_SCOPE_BASE, "(objectClass=*)", made_up, &j->msgid);
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
    LDAPMessage *e = dir_first_entry(dir->ld, res, &count);
    if (!e) {
        dir_report(dir, d, DIR_OP_CREATE, j->add_rc, j->add_dm, j->label);
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
        if (check_adoption(dir, &a, s->ou, d) == 1) {
            a.adopted = true;
            result = 0;
        }
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
    int rc = dir_result_of(dir, res, &dm);
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
            send_rc = dir_send_search(dir, dir->base, LDAP_SCOPE_SUBTREE, filter, account_attrs,
                                      &j->msgid);
            free(filter);
        } else {
            dir_report(dir, d, DIR_OP_CREATE, rc, dm, j->label);
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
            send_rc = ldap_lib()->ldap_delete_ext(dir->ld, j->dn, NULL, NULL, &j->msgid);
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
        LDAPMessage *e = dir_first_entry(dir->ld, res, &count);
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
            dir_report(dir, d, DIR_OP_SEARCH, rc == LDAP_SUCCESS ? LDAP_NO_SUCH_OBJECT : rc, dm,
                       j->label);
            diag_add(d, "ldap: account %s was created on %s but cannot be read back", j->label,
                     dir->server);
            job_end(j, -1);
        }
        break;
    }
    case ST_EXISTING:
        if (rc != LDAP_SUCCESS) {
            dir_report(dir, d, DIR_OP_CREATE, j->add_rc, j->add_dm, j->label);
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
        dir_report_api(dir, d, DIR_OP_CREATE, send_rc, j->label);
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
    return dir_create_accounts_notify(dir, items, n, NULL, NULL, d);
}

size_t dir_create_accounts_notify(struct dir *dir, struct dir_create_item *items, size_t n,
                                  dir_created_fn fn, void *ctx, struct diag *d)
{
    char *what = dir_create_begin(items, n);
    if (!what)
        return 0;
    int ok = dir_alive(dir, d, DIR_OP_CREATE, what);
    free(what);
    if (ok < 0)
        return n;
    struct pipe_guard g;
    dir_guard_on(&g);
    struct job jobs[WINDOW];
    memset(jobs, 0, sizeof jobs);
    size_t next = 0, active = 0;
    if (resolve_groups(dir, d) < 0) {
        diag_add(d, "ldap: no account was created (the groups for new accounts are wrong)");
        next = n;
    }
    struct dir_create_item *finished = NULL; /* made, not told yet */
    while ((next < n || active > 0 || finished) && !dir->broken) {
        for (size_t k = 0; k < WINDOW && next < n && !dir->broken; k++) {
            if (jobs[k].st != ST_FREE)
                continue;
            job_start(dir, &jobs[k], &items[next++], d);
            if (jobs[k].st != ST_FREE)
                active++;
        }
        /* Told once the window is full again: the server works on the
         * other adds while the caller works on this one's site. */
        if (finished) {
            fn(ctx, (size_t)(finished - items));
            finished = NULL;
        }
        if (active == 0)
            continue;
        LDAPMessage *res = NULL;
        int rc = dir_wait_for(dir, LDAP_RES_ANY, &res);
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
        int msgid = ldap_lib()->ldap_msgid(res);
        for (size_t k = 0; k < WINDOW; k++) {
            if (jobs[k].st != ST_FREE && jobs[k].msgid == msgid) {
                struct dir_create_item *item = jobs[k].item;
                advance(dir, &jobs[k], res, d);
                if (jobs[k].st == ST_FREE) {
                    active--;
                    if (fn && item->result == 1)
                        finished = item;
                }
                break;
            }
        }
        ldap_lib()->ldap_msgfree(res);
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
    dir_guard_off(&g);
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
    if (dir_search_sync(dir, dn, LDAP_SCOPE_BASE, filter, account_attrs, &res, op, dn, d, &rc) < 0)
        return -1;
    int count = 0;
    LDAPMessage *e = rc == LDAP_SUCCESS ? dir_first_entry(dir->ld, res, &count) : NULL;
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
    ldap_lib()->ldap_msgfree(res);
    return r;
}

int dir_set_password(struct dir *dir, const char *dn, const char *password, struct diag *d)
{
    if (dir_alive(dir, d, DIR_OP_PASSWORD, dn) < 0)
        return -1;
    struct dnp p;
    if (dir_dn_parse(dn, &p) < 0) {
        diag_add(d, "ldap: cannot set a password: '%s' is not a valid DN", dn ? dn : "");
        return -1;
    }
    dir_dnp_free(&p);
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
    dir_guard_on(&g);
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
    } else if (found == 1 && !a.managed && check_adoption(dir, &a, NULL, d) != 1) {
        /* refused or failed: said by check_adoption */
    } else if (found == 1) {
        struct berval bv = {pwlen, (char *)pw};
        struct berval *vals[] = {&bv, NULL};
        LDAPMod m = {LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, "unicodePwd", {.modv_bvals = vals}};
        LDAPMod *mods[] = {&m, NULL};
        int msgid;
        int rc = ldap_lib()->ldap_modify_ext(dir->ld, a.dn, mods, NULL, NULL, &msgid);
        wipe(pw, pwlen);
        if (rc != LDAP_SUCCESS) {
            dir_report_api(dir, d, DIR_OP_PASSWORD, rc, dn);
        } else {
            char *dm;
            rc = dir_finish_sync(dir, msgid, &dm);
            if (rc == LDAP_SUCCESS)
                r = 0;
            else
                dir_report(dir, d, DIR_OP_PASSWORD, rc, dm, dn);
            free(dm);
        }
    }
    if (found == 1)
        dir_account_free(&a);
    wipe(pw, pwlen);
    free(pw);
    dir_guard_off(&g);
    return r;
}

int dir_delete_account(struct dir *dir, const struct dir_account *acct, struct diag *d)
{
    if (!acct || !acct->dn || !acct->guid) {
        diag_add(d, "ldap: cannot delete an account without its DN and GUID (find it first)");
        return -1;
    }
    if (dir_alive(dir, d, DIR_OP_DELETE, acct->dn) < 0)
        return -1;
    unsigned char guid[16];
    if (dir_guid_from_string(acct->guid, guid) < 0) {
        diag_add(d, "ldap: cannot delete %s: malformed GUID '%s'", acct->dn, acct->guid);
        return -1;
    }
    struct pipe_guard g;
    dir_guard_on(&g);
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
            int rc = ldap_lib()->ldap_delete_ext(dir->ld, now.dn, NULL, NULL, &msgid);
            if (rc != LDAP_SUCCESS) {
                dir_report_api(dir, d, DIR_OP_DELETE, rc, acct->dn);
            } else {
                char *dm;
                rc = dir_finish_sync(dir, msgid, &dm);
                if (rc == LDAP_SUCCESS)
                    r = 1;
                else if (rc == LDAP_NO_SUCH_OBJECT)
                    r = 0;
                else
                    dir_report(dir, d, DIR_OP_DELETE, rc, dm, acct->dn);
                free(dm);
            }
        }
        dir_account_free(&now);
    }
    dir_guard_off(&g);
    return r;
}
