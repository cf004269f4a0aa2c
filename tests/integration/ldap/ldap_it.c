/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Integration driver for ldap/ (directory.h) against the lab DC. Run by
 * tests/integration/ldap/run.sh inside the lab's namespaces, one phase per
 * invocation: `ldap_it PHASE`. Reads the lab's settings from the LAB_*
 * environment variables (lab.env, exported) and a few IT_* ones set by
 * run.sh. Prints one line per check, "PASS name" or "FAIL name: why", and
 * exits 1 if any check failed. Uses raw libldap only to look behind the
 * module's back (group membership, deleting a group mid-run). */
#include "ldap/account.h"
#include "ldap/directory.h"
#include "ldap/escape.h"
#include "ldap/password.h"
#include "provision/util.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures;
/* Detail appended to the next PASS line (one line per check). */
static char note[512];

static void set_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, sizeof note, fmt, ap);
    va_end(ap);
}

static void pass(const char *name)
{
    if (note[0])
        printf("PASS %s [%s]\n", name, note);
    else
        printf("PASS %s\n", name);
    note[0] = '\0';
    fflush(stdout);
}

static void failf(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note[0] = '\0';
    printf("FAIL %s: ", name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    failures++;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "ldap_it: %s is not set (source lab.env with set -a)\n", name);
        exit(2);
    }
    return v;
}

static char *all_diag(struct diag *d)
{
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < d->count; i++) {
        if (i)
            sb_adds(&sb, " | ");
        sb_adds(&sb, d->msgs[i]);
    }
    return sb_detach(&sb);
}

/* check(name, cond, d): PASS, or FAIL with the diagnostics. Clears d. */
static bool check(const char *name, bool ok, struct diag *d)
{
    if (ok) {
        pass(name);
    } else {
        char *t = all_diag(d);
        failf(name, "%s", *t ? t : "(no message)");
        free(t);
    }
    diag_free(d);
    return ok;
}

/* The error path: rc must be as expected and some message must contain
 * every needle. Clears d. */
static bool check_msg(const char *name, bool rc_ok, struct diag *d, const char *n1, const char *n2,
                      const char *n3)
{
    char *t = all_diag(d);
    const char *needles[] = {n1, n2, n3};
    bool ok = rc_ok && d->count > 0;
    for (int i = 0; i < 3 && ok; i++)
        if (needles[i] && !strstr(t, needles[i]))
            ok = false;
    if (ok) {
        char before[sizeof note];
        memcpy(before, note, sizeof note);
        set_note("%s%s%s", before, before[0] ? "; " : "", t);
        pass(name);
    } else {
        failf(name, "rc ok=%d, message: %s (wanted %s%s%s%s%s)", rc_ok, *t ? t : "(none)",
              n1 ? n1 : "", n2 ? " + " : "", n2 ? n2 : "", n3 ? " + " : "", n3 ? n3 : "");
    }
    free(t);
    diag_free(d);
    return ok;
}

static struct dir_config admin_cfg(const char *uri)
{
    struct dir_config c = {0};
    c.uri = uri ? uri : env("LAB_LDAPS_URI");
    c.ca_file = env("LAB_CA");
    c.bind_dn = env("LAB_ADMIN_DN");
    c.password_file = env("LAB_ADMIN_PASSWORD_FILE");
    c.base_dn = env("LAB_BASE_DN");
    c.upn_suffix = env("LAB_DNS_DOMAIN");
    c.timeout_seconds = 10;
    return c;
}

static struct dir *open_or_die(const struct dir_config *c, const char *name)
{
    struct diag d;
    diag_init(&d);
    struct dir *dir = NULL;
    int r = dir_open(c, &dir, &d);
    if (!check(name, r == 0 && dir, &d))
        exit(1);
    return dir;
}

static char *gen(const char *sam, const char *display)
{
    struct diag d;
    diag_init(&d);
    char *pw = password_generate(0, sam, display, &d);
    if (!pw) {
        fprintf(stderr, "ldap_it: password_generate failed\n");
        exit(2);
    }
    diag_free(&d);
    return pw;
}

/* ------------------------------------------------------------------ raw */

static LDAP *raw_open(void)
{
    LDAP *ld;
    if (ldap_initialize(&ld, env("LAB_LDAPS_URI")) != LDAP_SUCCESS)
        return NULL;
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, env("LAB_CA"));
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
    char *pw;
    size_t n;
    if (read_file(env("LAB_ADMIN_PASSWORD_FILE"), &pw, &n) < 0)
        return NULL;
    struct berval cred = {n, pw};
    int rc = ldap_sasl_bind_s(ld, env("LAB_ADMIN_DN"), LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    free_secret(pw);
    if (rc != LDAP_SUCCESS) {
        ldap_unbind_ext_s(ld, NULL, NULL);
        return NULL;
    }
    return ld;
}

/* Number of entries matching filter under base (subtree), or -1. */
static int raw_count(LDAP *ld, const char *base, const char *filter)
{
    LDAPMessage *res = NULL;
    char *attrs[] = {"1.1", NULL};
    int rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, NULL, 0,
                               &res);
    int n = -1;
    if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT) {
        n = 0;
        for (LDAPMessage *m = res; m; m = ldap_next_message(ld, m))
            if (ldap_msgtype(m) == LDAP_RES_SEARCH_ENTRY)
                n++;
    }
    ldap_msgfree(res);
    return n;
}

static int count_sam(LDAP *ld, const char *sam)
{
    char *v = dir_escape_filter(sam, strlen(sam));
    char *f = xasprintf("(sAMAccountName=%s)", v);
    int n = raw_count(ld, env("LAB_BASE_DN"), f);
    free(v);
    free(f);
    return n;
}

/* ------------------------------------------------------------------ phases */

static bool looks_like_sid(const char *s)
{
    return s && strncmp(s, "S-1-5-21-", 9) == 0 && strlen(s) > 20;
}

static bool looks_like_guid(const char *s)
{
    unsigned char b[16];
    return s && dir_guid_from_string(s, b) == 0;
}

static void phase_lifecycle(void)
{
    struct dir_config c = admin_cfg(NULL);
    struct dir *dir = open_or_die(&c, "LDAPS: open + simple bind (DN, password file 0600)");
    struct diag d;
    diag_init(&d);
    check("LDAPS: transport is TLS with a verified certificate",
          strcmp(dir_security(dir), "LDAPS (TLS), certificate verified") == 0, &d);

    const char *sam = "IUSR_it_life";
    char *pw = gen(sam, "IIS shop.example.com");
    struct dir_account_spec spec = {.sam = sam,
                                    .ou = "OU=Sites,OU=Hosting",
                                    .display_name = "IIS shop.example.com",
                                    .description = "IIS identity for shop.example.com",
                                    .site = "shop.example.com"};
    struct dir_account a;
    int r = dir_create_account(dir, &spec, pw, &a, &d);
    char *want_dn = xasprintf("CN=%s,%s", sam, env("LAB_SITES_OU"));
    char *want_upn = xasprintf("%s@%s", sam, env("LAB_DNS_DOMAIN"));
    set_note("%s %s %s", a.dn ? a.dn : "?", a.sid ? a.sid : "?", a.guid ? a.guid : "?");
    check("create: one add, read back DN, SID, GUID, UPN, marker",
          r == 1 && a.dn && ascii_casecmp(a.dn, want_dn) == 0 && looks_like_sid(a.sid) &&
              looks_like_guid(a.guid) && a.upn && strcmp(a.upn, want_upn) == 0 && a.managed &&
              a.managed_site && strcmp(a.managed_site, "shop.example.com") == 0 && a.sam &&
              strcmp(a.sam, sam) == 0,
          &d);

    r = dir_check_password(&c, a.upn, pw, &d);
    check("bind as the new account with its generated password (dir_check_password)", r == 1, &d);

    struct dir_account f;
    r = dir_find_account(dir, sam, &f, &d);
    check("find again: found, managed, same GUID and SID",
          r == 1 && f.managed && f.guid && a.guid && strcmp(f.guid, a.guid) == 0 && f.sid &&
              a.sid && strcmp(f.sid, a.sid) == 0 && !f.adopted,
          &d);
    dir_account_free(&f);

    r = dir_create_account(dir, &spec, pw, &f, &d);
    check("create again for the same site: 0 (existing managed account used, no change)",
          r == 0 && f.managed && !f.adopted && f.guid && strcmp(f.guid, a.guid) == 0, &d);
    dir_account_free(&f);

    char *pw2 = gen(sam, NULL);
    r = dir_set_password(dir, a.dn, pw2, &d);
    check("set_password (administrative reset)", r == 0, &d);
    r = dir_check_password(&c, a.upn, pw2, &d);
    check("bind with the new password works", r == 1, &d);
    /* Not the old password: like Windows for NTLM, Samba accepts the
     * previous password for "old password allowed period" (60 min) after
     * a change, and a simple bind is checked that way (checked in the lab). */
    r = dir_check_password(&c, a.upn, "Wrong-Password-123", &d);
    check_msg("bind with a wrong password is refused with a clear message", r == 0, &d,
              "wrong user name or password", a.upn, "dc1.lab.test");
    /* Many checks on one connection (check: a password per pool): a
     * refusal, then an acceptance, then a refusal again, each answered
     * on the same kept connection. */
    struct dir_logons *lg;
    dir_logons_open(&c, &lg);
    r = dir_logons_check(lg, a.upn, "Wrong-Password-123", &d);
    check_msg("logons: a wrong password is refused", r == 0, &d, "wrong user name or password",
              a.upn, NULL);
    r = dir_logons_check(lg, a.upn, pw2, &d);
    check("logons: then the right one is accepted on the same connection", r == 1, &d);
    r = dir_logons_check(lg, env("LAB_ADMIN_UPN"), "Wrong-Password-123", &d);
    check_msg("logons: then another account's wrong password is refused", r == 0, &d,
              "wrong user name or password", NULL, NULL);
    dir_logons_close(lg);

    r = dir_delete_account(dir, &a, &d);
    check("delete the marked account", r == 1, &d);
    r = dir_find_account(dir, sam, &f, &d);
    check("find after delete: absent", r == 0, &d);
    r = dir_delete_account(dir, &a, &d);
    check("delete again: 0 (already gone)", r == 0, &d);

    free_secret(pw);
    free_secret(pw2);
    free(want_dn);
    free(want_upn);
    dir_account_free(&a);
    dir_close(dir);
}

static void phase_policy(void)
{
    struct dir_config c = admin_cfg(NULL);
    struct dir *dir = open_or_die(&c, "policy: open");
    struct diag d;
    diag_init(&d);
    LDAP *raw = raw_open();
    /* The lab keeps Samba's default policy: complexity on, 7 characters,
     * history 24. Generated passwords, at the minimum and default length,
     * with names whose tokens a random password could contain. */
    int accepted = 0, total = 0;
    char why[512] = "";
    for (int i = 0; i < 12; i++) {
        char sam[32], disp[64];
        snprintf(sam, sizeof sam, "IUSR_it_pol%d", i);
        snprintf(disp, sizeof disp, "IIS pol%d.example.com", i);
        char *pw = NULL;
        struct diag g;
        diag_init(&g);
        pw = password_generate(i % 2 ? PASSWORD_MIN_LEN : PASSWORD_DEFAULT_LEN, sam, disp, &g);
        diag_free(&g);
        struct dir_account_spec spec = {.sam = sam,
                                        .ou = "OU=Sites,OU=Hosting",
                                        .display_name = disp,
                                        .site = "policy.example.com"};
        struct dir_account a;
        total++;
        int r = dir_create_account(dir, &spec, pw, &a, &d);
        if (r == 1 && dir_check_password(&c, a.upn, pw, &d) == 1)
            accepted++;
        else if (!*why && d.count)
            snprintf(why, sizeof why, "%s", d.msgs[0]);
        diag_free(&d);
        if (r == 1)
            dir_delete_account(dir, &a, &d);
        diag_free(&d);
        dir_account_free(&a);
        free_secret(pw);
    }
    if (accepted == total)
        pass("default policy: 12 generated passwords (16 and 24 chars) accepted, each binds");
    else
        failf("default policy: generated passwords accepted", "%d of %d; %s", accepted, total, why);

    struct dir_account_spec weak = {
        .sam = "IUSR_it_weak", .ou = "OU=Sites,OU=Hosting", .site = "weak.example.com"};
    struct dir_account a;
    int r = dir_create_account(dir, &weak, "abcdefghijklmnop", &a, &d);
    check_msg("weak password: clear policy message naming account and server", r == -1, &d,
              "password does not meet the domain's password policy", "IUSR_it_weak",
              "dc1.lab.test");
    check("weak password: nothing was created (one atomic add)",
          raw && count_sam(raw, "IUSR_it_weak") == 0, &d);
    dir_account_free(&a);
    if (raw)
        ldap_unbind_ext_s(raw, NULL, NULL);
    dir_close(dir);
}

/* run.sh created IUSR_it_unmarked with ldapadd (no marker). */
static void phase_collide(void)
{
    struct dir_config c = admin_cfg(NULL);
    struct dir *dir = open_or_die(&c, "collide: open");
    struct diag d;
    diag_init(&d);
    const char *sam = "IUSR_it_unmarked";
    char *pw = gen(sam, NULL);
    struct dir_account_spec spec = {
        .sam = sam, .ou = "OU=Sites,OU=Hosting", .site = "unmarked.example.com"};
    struct dir_account a, f;
    int r = dir_create_account(dir, &spec, pw, &a, &d);
    check_msg("unmarked account of the wanted name: create refuses", r == -1, &d,
              "was not created by provision", "adopt_unmarked", sam);
    dir_account_free(&a);
    r = dir_find_account(dir, sam, &f, &d);
    check("find reports it unmarked", r == 1 && !f.managed && !f.adopted, &d);
    r = dir_delete_account(dir, &f, &d);
    check_msg("delete refuses the unmarked account", r == -1, &d, "refusing to delete",
              "not created by provision", NULL);
    r = dir_set_password(dir, f.dn, pw, &d);
    check_msg("set_password refuses the unmarked account", r == -1, &d, "refusing", NULL, NULL);
    dir_close(dir);

    c.adopt_unmarked = true;
    dir = open_or_die(&c, "collide: open with adopt_unmarked");
    r = dir_create_account(dir, &spec, pw, &a, &d);
    check("adopt_unmarked: create returns 0 with adopted set, marker not added",
          r == 0 && a.adopted && !a.managed && a.guid && f.guid && strcmp(a.guid, f.guid) == 0, &d);
    r = dir_set_password(dir, a.dn, pw, &d);
    check("adopt_unmarked: set_password allowed", r == 0, &d);
    r = dir_delete_account(dir, &a, &d);
    check_msg("adopt_unmarked: delete still refuses (never delete what we did not create)", r == -1,
              &d, "refusing to delete", NULL, NULL);
    dir_account_free(&a);
    dir_account_free(&f);

    /* managed for another site */
    struct dir_account_spec sa = {
        .sam = "IUSR_it_sitea", .ou = "OU=Sites,OU=Hosting", .site = "a.example.com"};
    struct dir_account_spec sb = sa;
    sb.site = "b.example.com";
    r = dir_create_account(dir, &sa, pw, &a, &d);
    check("marked for site a: created", r == 1, &d);
    r = dir_create_account(dir, &sb, pw, &f, &d);
    check_msg("same name for site b: refused, names the owning site", r == -1, &d,
              "managed by provision for site a.example.com", "b.example.com", NULL);
    dir_account_free(&f);
    struct dir_account wrong = {0};
    wrong.dn = a.dn;
    wrong.guid = a.guid;
    wrong.managed_site = "b.example.com";
    r = dir_delete_account(dir, &wrong, &d);
    check_msg("delete for the wrong site is refused", r == -1, &d, "names site a.example.com", NULL,
              NULL);
    r = dir_delete_account(dir, &a, &d);
    check("delete for the right site", r == 1, &d);
    dir_account_free(&a);
    free_secret(pw);
    dir_close(dir);
}

static void phase_hostile(void)
{
    struct dir_config c = admin_cfg(NULL);
    c.create_ou = false;
    struct dir *dir = open_or_die(&c, "hostile: open");
    struct diag d;
    diag_init(&d);
    struct dir_account a;
    char *pw = gen("x", NULL);
    const char *bad[] = {"x*)(", "*",   "a)(sAMAccountName=*", "IUSR_1234567890123456", "a,CN=x",
                         "a\\b", "a\"b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char name[128];
        snprintf(name, sizeof name, "sam '%s' refused before LDAP (find and create)", bad[i]);
        int r1 = dir_find_account(dir, bad[i], &a, &d);
        struct dir_account_spec s = {.sam = bad[i], .ou = "OU=Sites,OU=Hosting"};
        int r2 = dir_create_account(dir, &s, pw, &a, &d);
        check_msg(name, r1 == -1 && r2 == -1, &d, "sAMAccountName rules", NULL, NULL);
    }
    /* The same refusal without any connection at all: no traffic is needed. */
    check_msg("sam 'x*)(' refused with no connection at all (NULL handle)",
              dir_find_account(NULL, "x*)(", &a, &d) == -1, &d, "not looked up", NULL, NULL);

    /* Allowed but special characters go through escaped, in the filter
     * (parentheses) and in the DN (leading '#', space). */
    const char *sam = "#it (1) a";
    struct dir_account_spec s = {.sam = sam,
                                 .ou = "OU=Sites,OU=Hosting",
                                 .display_name = "x*)(|(cn=*",
                                 .description = "desc with *)( and , + \" \\ < > ; =",
                                 .site = "hostile.example.com"};
    int r = dir_create_account(dir, &s, pw, &a, &d);
    char *want = xasprintf("CN=\\#it (1) a,%s", env("LAB_SITES_OU"));
    set_note("%s", a.dn ? a.dn : "?");
    check("sam '#it (1) a': created with an escaped DN",
          r == 1 && a.dn && ascii_casecmp(a.dn, want) == 0, &d);
    struct dir_account f;
    r = dir_find_account(dir, sam, &f, &d);
    check("sam '#it (1) a': found through the escaped filter",
          r == 1 && f.description && strcmp(f.description, s.description) == 0, &d);
    dir_account_free(&f);
    r = dir_find_account(dir, "#it (1) *", &f, &d);
    check("a '*' is never a wildcard", r == -1, &d);
    r = dir_delete_account(dir, &a, &d);
    check("sam '#it (1) a': deleted", r == 1, &d);
    dir_account_free(&a);
    free(want);

    /* OU path missing, no create_ou */
    struct dir_account_spec m = {
        .sam = "IUSR_it_ou", .ou = "OU=Web\\, Inc.,OU=Sites,OU=Hosting", .site = "ou.example.com"};
    r = dir_create_account(dir, &m, pw, &a, &d);
    check_msg("missing OU without create_ou: clear message", r == -1, &d, "does not exist",
              "create_ou", "OU=Web\\, Inc.");
    dir_close(dir);

    c.create_ou = true;
    dir = open_or_die(&c, "hostile: open with create_ou");
    m.ou = "OU=Web\\, Inc.,OU=Deep,OU=Sites,OU=Hosting";
    r = dir_create_account(dir, &m, pw, &a, &d);
    want = xasprintf("CN=IUSR_it_ou,OU=Web\\, Inc.,OU=Deep,%s", env("LAB_SITES_OU"));
    set_note("%s", a.dn ? a.dn : "?");
    check("create_ou: OU chain with a comma in a name created, account inside",
          r == 1 && a.dn && ascii_casecmp(a.dn, want) == 0, &d);
    LDAP *raw = raw_open();
    char *ou1 = xasprintf("OU=Web\\, Inc.,OU=Deep,%s", env("LAB_SITES_OU"));
    char *ou2 = xasprintf("OU=Deep,%s", env("LAB_SITES_OU"));
    check("create_ou: the OU really is named 'Web, Inc.'",
          raw && raw_count(raw, ou2, "(ou=Web, Inc.)") == 1, &d);
    r = dir_delete_account(dir, &a, &d);
    check("create_ou: account deleted", r == 1, &d);
    if (raw) {
        ldap_delete_ext_s(raw, ou1, NULL, NULL);
        ldap_delete_ext_s(raw, ou2, NULL, NULL);
        ldap_unbind_ext_s(raw, NULL, NULL);
    }
    free(ou1);
    free(ou2);
    free(want);
    dir_account_free(&a);
    free_secret(pw);
    dir_close(dir);
}

/* run.sh created the group IT_Sites (sAMAccountName IT_Sites) under
 * OU=Hosting and IT_Gone. */
static void phase_groups(void)
{
    struct dir_config c = admin_cfg(NULL);
    const char *groups[] = {"IT_Sites", "CN=IT_Gone,OU=Hosting"};
    c.groups = groups;
    c.n_groups = 2;
    struct dir *dir = open_or_die(&c, "groups: open");
    struct diag d;
    diag_init(&d);
    LDAP *raw = raw_open();
    char *pw = gen("IUSR_it_grp", NULL);
    struct dir_account_spec s = {
        .sam = "IUSR_it_grp", .ou = "OU=Sites,OU=Hosting", .site = "grp.example.com"};
    struct dir_account a;
    int r = dir_create_account(dir, &s, pw, &a, &d);
    char *f1 = xasprintf("(&(sAMAccountName=IT_Sites)(member=%s))", a.dn ? a.dn : "none");
    char *f2 = xasprintf("(&(sAMAccountName=IT_Gone)(member=%s))", a.dn ? a.dn : "none");
    check("groups (by name and by relative DN): new account is a member of both",
          r == 1 && raw && raw_count(raw, env("LAB_BASE_DN"), f1) == 1 &&
              raw_count(raw, env("LAB_BASE_DN"), f2) == 1,
          &d);
    free(f1);
    free(f2);
    dir_delete_account(dir, &a, &d);
    diag_free(&d);
    dir_account_free(&a);

    /* The group vanishes after it was resolved: the group add fails and the
     * account must be deleted again. */
    char *gone = xasprintf("CN=IT_Gone,OU=Hosting,%s", env("LAB_BASE_DN"));
    int drc = raw ? ldap_delete_ext_s(raw, gone, NULL, NULL) : -1;
    s.sam = "IUSR_it_grp2";
    r = dir_create_account(dir, &s, pw, &a, &d);
    check_msg("group add fails: clear message, account deleted again", drc == 0 && r == -1, &d,
              "cannot add account IUSR_it_grp2 to group", "deleted again", NULL);
    check("group add fails: nothing half-made left", raw && count_sam(raw, "IUSR_it_grp2") == 0,
          &d);
    dir_account_free(&a);
    dir_close(dir);

    const char *nogroup[] = {"No_Such_Group"};
    c.groups = nogroup;
    c.n_groups = 1;
    dir = open_or_die(&c, "groups: open with an unknown group");
    s.sam = "IUSR_it_grp3";
    r = dir_create_account(dir, &s, pw, &a, &d);
    check_msg("unknown group: refused before any account is created", r == -1, &d, "No_Such_Group",
              "not found", NULL);
    check("unknown group: no account", raw && count_sam(raw, "IUSR_it_grp3") == 0, &d);
    dir_account_free(&a);
    dir_close(dir);
    free(gone);
    free_secret(pw);
    if (raw)
        ldap_unbind_ext_s(raw, NULL, NULL);
}

static void phase_bind(void)
{
    struct diag d;
    diag_init(&d);
    struct dir *dir = NULL;
    struct dir_config c = admin_cfg(NULL);
    c.password_file = NULL;
    c.password_env = "IT_WRONG_PASSWORD";
    int r = dir_open(&c, &dir, &d);
    check_msg("wrong bind password: clear message naming the bind DN and server", r == -1, &d,
              "wrong user name or password", env("LAB_ADMIN_DN"), "dc1.lab.test");

    c.bind_dn = env("LAB_ADMIN_UPN");
    c.password_env = "IT_ADMIN_PASSWORD";
    r = dir_open(&c, &dir, &d);
    check("bind by UPN, password from an environment variable", r == 0, &d);
    dir_close(dir);
    dir = NULL;

    c.password_env = NULL;
    c.password_file = env("IT_LOOSE_PASSWORD_FILE");
    r = dir_open(&c, &dir, &d);
    check_msg("group/world-readable password file refused", r == -1, &d, "chmod 600", NULL, NULL);

    c.password_file = env("LAB_ADMIN_PASSWORD_FILE");
    c.base_dn = "DC=other,DC=test";
    r = dir_open(&c, &dir, &d);
    check_msg("base_dn of another domain: clear message", r == -1, &d, "DC=other,DC=test",
              "dc1.lab.test", NULL);

    c = admin_cfg(NULL);
    r = dir_check_password(&c, env("LAB_ADMIN_UPN"), "", &d);
    check_msg("empty password never binds (no anonymous 'success')", r == -1, &d, "empty password",
              NULL, NULL);
}

static void phase_tls(void)
{
    struct diag d;
    diag_init(&d);
    struct dir *dir = NULL;
    struct dir_config c = admin_cfg(NULL);
    c.ca_file = env("IT_BAD_CA");
    int r = dir_open(&c, &dir, &d);
    check_msg("LDAPS with a CA that does not match: TLS error with the host-name hint", r == -1, &d,
              "TLS with dc1.lab.test failed", "not by an IP address", env("IT_BAD_CA"));

    c.uri = env("LAB_LDAP_URI");
    r = dir_open(&c, &dir, &d);
    check_msg("StartTLS with a CA that does not match: TLS error, no plain fallback", r == -1, &d,
              "TLS with dc1.lab.test failed", "not by an IP address", NULL);

    c = admin_cfg("ldaps://127.0.0.1");
    r = dir_open(&c, &dir, &d);
    check_msg("LDAPS by IP address (certificate names dc1): TLS error with the hint", r == -1, &d,
              "TLS with 127.0.0.1 failed", "connect by that name", NULL);

    c = admin_cfg(env("LAB_LDAP_URI"));
    r = dir_open(&c, &dir, &d);
    check("ldap:// URI: StartTLS succeeds", r == 0, &d);
    check("ldap:// URI: transport is StartTLS with a verified certificate",
          r == 0 && strcmp(dir_security(dir), "StartTLS, certificate verified") == 0, &d);
    if (r == 0) {
        char *pw = gen("IUSR_it_stls", NULL);
        struct dir_account_spec s = {
            .sam = "IUSR_it_stls", .ou = "OU=Sites,OU=Hosting", .site = "stls.example.com"};
        struct dir_account a;
        int cr = dir_create_account(dir, &s, pw, &a, &d);
        int ck = cr == 1 ? dir_check_password(&c, a.upn, pw, &d) : -1;
        int dl = cr == 1 ? dir_delete_account(dir, &a, &d) : -1;
        check("StartTLS: create (unicodePwd needs encryption), check, delete",
              cr == 1 && ck == 1 && dl == 1, &d);
        dir_account_free(&a);
        free_secret(pw);
        dir_close(dir);
        dir = NULL;
    }

    c = admin_cfg(NULL);
    c.ca_file = env("IT_BAD_CA");
    c.tls_insecure = true;
    r = dir_open(&c, &dir, &d);
    check("tls_insecure: connects despite the wrong CA and says so",
          r == 0 && strstr(dir_security(dir), "NOT verified"), &d);
    /* The library never prints: the warning is for the caller to show. */
    if (r == 0 && dir_warning(dir))
        fprintf(stderr, "warning: %s\n", dir_warning(dir));
    dir_close(dir);
    dir = NULL;

    c = admin_cfg("ldap://dc1.lab.test:3899");
    c.timeout_seconds = 3;
    r = dir_open(&c, &dir, &d);
    check_msg("nothing listening: unreachable message", r == -1, &d, "cannot be reached",
              "dc1.lab.test:3899", NULL);
    c = admin_cfg("ldapi:///");
    r = dir_open(&c, &dir, &d);
    check_msg("other URI schemes refused", r == -1, &d, "not supported", NULL, NULL);
}

static void phase_gssapi(void)
{
    struct diag d;
    diag_init(&d);
    struct dir *dir = NULL;
    struct dir_config c = admin_cfg(env("LAB_LDAP_URI"));
    c.bind_dn = NULL;
    c.password_file = NULL;
    c.sasl_gssapi = true;
    c.gssapi_seal = true;
    int r = dir_open(&c, &dir, &d);
    check("GSSAPI (kinit ticket) on ldap:// with Kerberos sealing: bound", r == 0, &d);
    if (r == 0) {
        set_note("%s", dir_security(dir));
        check("GSSAPI: the connection is sealed (SSF >= 56)",
              strncmp(dir_security(dir), "SASL GSSAPI sealing (SSF ", 25) == 0 &&
                  atoi(dir_security(dir) + 25) >= 56,
              &d);
        char *pw = gen("IUSR_it_gss", NULL);
        struct dir_account_spec s = {
            .sam = "IUSR_it_gss", .ou = "OU=Sites,OU=Hosting", .site = "gss.example.com"};
        struct dir_account a;
        struct dir_config chk = admin_cfg(NULL);
        int cr = dir_create_account(dir, &s, pw, &a, &d);
        int ck = cr == 1 ? dir_check_password(&chk, a.upn, pw, &d) : -1;
        int dl = cr == 1 ? dir_delete_account(dir, &a, &d) : -1;
        check("GSSAPI: create, check password, delete", cr == 1 && ck == 1 && dl == 1, &d);
        dir_account_free(&a);
        free_secret(pw);
        dir_close(dir);
        dir = NULL;
    }
    c.gssapi_seal = false;
    r = dir_open(&c, &dir, &d);
    check_msg("GSSAPI inside StartTLS against Samba's default: explains gssapi_seal", r == -1, &d,
              "gssapi_seal", "dc1.lab.test", NULL);
    c.gssapi_seal = true;
    c.uri = env("LAB_LDAPS_URI");
    r = dir_open(&c, &dir, &d);
    check_msg("gssapi_seal with ldaps:// refused", r == -1, &d, "ldap:// URI", NULL, NULL);
    c.uri = env("LAB_LDAP_URI");
    setenv("KRB5CCNAME", env("IT_EMPTY_CCACHE"), 1);
    r = dir_open(&c, &dir, &d);
    check_msg("GSSAPI without a ticket: says kinit", r == -1, &d, "kinit", NULL, NULL);
}

/* Prints READY, waits for a line on stdin (run.sh stops or freezes the DC
 * meanwhile), then calls find on the open connection. */
static void phase_dc_gone(const char *mode)
{
    struct dir_config c = admin_cfg(NULL);
    c.timeout_seconds = 3;
    struct dir *dir = open_or_die(&c, "DC gone: open");
    struct diag d;
    diag_init(&d);
    struct dir_account a;
    int r = dir_find_account(dir, "Administrator", &a, &d);
    check("DC gone: find works before", r == 1, &d);
    dir_account_free(&a);
    printf("READY\n");
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        exit(2);
    time_t t0 = time(NULL);
    r = dir_find_account(dir, "Administrator", &a, &d);
    long took = (long)(time(NULL) - t0);
    if (strcmp(mode, "freeze") == 0) {
        check_msg("DC frozen (SIGSTOP): find times out with a clear message", r == -1 && took <= 6,
                  &d, "within the timeout", "dc1.lab.test", "account Administrator");
        /* New connections: TCP connects (the kernel accepts), then the TLS
         * handshake or StartTLS gets no answer. */
        const char *uris[] = {env("LAB_LDAPS_URI"), env("LAB_LDAP_URI")};
        for (int i = 0; i < 2; i++) {
            struct dir_config c2 = admin_cfg(uris[i]);
            c2.timeout_seconds = 3;
            struct dir *d2 = NULL;
            char name[160];
            snprintf(name, sizeof name, "DC frozen: dir_open(%s) gives up after the timeout",
                     uris[i]);
            t0 = time(NULL);
            r = dir_open(&c2, &d2, &d);
            took = (long)(time(NULL) - t0);
            set_note("%ld s", took);
            check_msg(name, r == -1 && took <= 8, &d, "dc1.lab.test", NULL, NULL);
        }
        if (getenv("KRB5CCNAME")) {
            struct dir_config c3 = admin_cfg(env("LAB_LDAP_URI"));
            c3.bind_dn = NULL;
            c3.password_file = NULL;
            c3.sasl_gssapi = c3.gssapi_seal = true;
            c3.timeout_seconds = 3;
            struct dir *d3 = NULL;
            t0 = time(NULL);
            r = dir_open(&c3, &d3, &d);
            took = (long)(time(NULL) - t0);
            set_note("%ld s", took);
            check_msg("DC frozen: GSSAPI dir_open gives up after the timeout", r == -1 && took <= 8,
                      &d, "dc1.lab.test", NULL, NULL);
        }
    } else {
        check_msg("DC stopped: find gives an unreachable error, no crash", r == -1, &d,
                  "cannot be reached", "dc1.lab.test", "account Administrator");
        r = dir_find_account(dir, "Administrator", &a, &d);
        check_msg("DC stopped: the next call fails at once", r == -1, &d, "cannot be reached", NULL,
                  NULL);
        struct dir_account_spec s = {.sam = "IUSR_it_gone", .ou = "OU=Sites,OU=Hosting"};
        r = dir_create_account(dir, &s, "Xx-12345678901234", &a, &d);
        check_msg("DC stopped: create fails cleanly", r == -1, &d, "cannot be reached", NULL, NULL);
        struct dir *d2 = NULL;
        r = dir_open(&c, &d2, &d);
        check_msg("DC stopped: a new dir_open says unreachable", r == -1, &d, "cannot be reached",
                  "dc1.lab.test", NULL);
    }
    dir_close(dir);
}

/* run.sh made these with samba-tool: in OU=Sites,OU=Hosting IUSR_it_admin
 * (a member of Domain Admins), IUSR_it_pool (of the group IT_WebPools),
 * IUSR_it_nested (of IT_Helpdesk, itself a member of Domain Admins) and
 * IUSR_it_plain (no group but Domain Users); IUSR_it_away in OU=Hosting.
 * Every password is IT_ADOPT_PASSWORD. */
static const char *const sites_ou = "OU=Sites,OU=Hosting";

/* Finds sam and asks dir_check_adoption for the sites' OU. */
static int adoption(struct dir *dir, const char *sam, const char *ou, struct diag *d)
{
    struct dir_account a;
    int r = dir_find_account(dir, sam, &a, d);
    if (r == 1)
        r = dir_check_adoption(dir, &a, ou, d);
    else
        r = -2;
    dir_account_free(&a);
    return r;
}

static void phase_adopt(void)
{
    struct dir_config c = admin_cfg(NULL);
    c.adopt_unmarked = true;
    struct dir *dir = open_or_die(&c, "adopt: open with adopt_unmarked");
    struct diag d;
    diag_init(&d);

    int r = adoption(dir, "IUSR_it_plain", sites_ou, &d);
    check("adopt: a plain user in the OU (Domain Users, Builtin Users by nesting): allowed", r == 1,
          &d);

    r = adoption(dir, "IUSR_it_admin", sites_ou, &d);
    char *admins = xasprintf("CN=Domain Admins,CN=Users,%s", env("LAB_BASE_DN"));
    check_msg("adopt: a Domain Admins member is refused, naming the group, its DN and SID", r == 0,
              &d, "refusing to adopt account IUSR_it_admin", admins,
              "-512, Domain Admins, an administrative group: never adopted");
    r = adoption(dir, "IUSR_it_admin", sites_ou, &d);
    check_msg("adopt: the message names the account's DN and the real tokenGroups path", r == 0, &d,
              "CN=IUSR_it_admin,OU=Sites,OU=Hosting", "tokenGroups", "S-1-5-21-");

    r = adoption(dir, "IUSR_it_nested", sites_ou, &d);
    check_msg("adopt: Domain Admins through a nested group (IT_Helpdesk) is refused too", r == 0,
              &d, "IUSR_it_nested", admins, "CN=IT_Helpdesk,OU=Hosting");

    r = adoption(dir, "IUSR_it_pool", sites_ou, &d);
    check_msg("adopt: a member of IT_WebPools without adopt_group: refused, naming the group",
              r == 0, &d, "IUSR_it_pool", "CN=IT_WebPools,OU=Hosting", "not in adopt_group");

    r = adoption(dir, "IUSR_it_away", sites_ou, &d);
    check_msg("adopt: an account outside the template's OU is refused", r == 0, &d, "IUSR_it_away",
              "OU=Hosting,DC=lab,DC=test", "not in the template's OU");

    r = adoption(dir, "Administrator", "CN=Users", &d);
    check_msg("adopt: Administrator (RID 500) is refused as built-in", r == 0, &d,
              "refusing to adopt account Administrator", "built-in account", "RID 500");

    struct dir_account dc = {.dn = NULL, .sam = "DC1$"};
    char *dc_dn = xasprintf("CN=DC1,OU=Domain Controllers,%s", env("LAB_BASE_DN"));
    dc.dn = dc_dn;
    r = dir_check_adoption(dir, &dc, NULL, &d);
    check_msg("adopt: the DC's computer account is refused", r == 0, &d, "DC1$", "computer account",
              NULL);
    free(dc_dn);

    /* dir_set_password asks too: the Domain Admin's password stays */
    struct dir_account a;
    r = dir_find_account(dir, "IUSR_it_admin", &a, &d);
    char *pw = gen("IUSR_it_admin", NULL);
    int s = r == 1 ? dir_set_password(dir, a.dn, pw, &d) : -2;
    check_msg("adopt: set_password refuses the Domain Admins member", s == -1, &d,
              "refusing to adopt account IUSR_it_admin", NULL, NULL);
    char *upn = xasprintf("IUSR_it_admin@%s", env("LAB_DNS_DOMAIN"));
    r = dir_check_password(&c, upn, env("IT_ADOPT_PASSWORD"), &d);
    check("adopt: its password is unchanged (it still binds with the old one)", r == 1, &d);
    free(upn);
    dir_account_free(&a);
    /* and so does create (the name taken by an unmarked account) */
    struct dir_account_spec spec = {.sam = "IUSR_it_admin", .ou = sites_ou, .site = "x.example"};
    r = dir_create_account(dir, &spec, pw, &a, &d);
    check_msg("adopt: create of that name refuses to adopt it", r == -1 && !a.adopted, &d,
              "refusing to adopt account IUSR_it_admin", NULL, NULL);
    dir_account_free(&a);
    free_secret(pw);
    dir_close(dir);

    /* adopt_group names IT_WebPools: IUSR_it_pool may be adopted, and used */
    const char *groups[] = {"IT_WebPools"};
    c.adopt_groups = groups;
    c.n_adopt_groups = 1;
    dir = open_or_die(&c, "adopt: open with adopt_group IT_WebPools");
    r = adoption(dir, "IUSR_it_pool", sites_ou, &d);
    check("adopt: a member of an adopt_group group: allowed", r == 1, &d);
    r = adoption(dir, "IUSR_it_admin", sites_ou, &d);
    check("adopt: the Domain Admins member is still refused", r == 0, &d);
    spec.sam = "IUSR_it_pool";
    pw = gen("IUSR_it_pool", NULL);
    r = dir_create_account(dir, &spec, pw, &a, &d);
    int sp = r == 0 ? dir_set_password(dir, a.dn, pw, &d) : -2;
    upn = xasprintf("IUSR_it_pool@%s", env("LAB_DNS_DOMAIN"));
    int ck = sp == 0 ? dir_check_password(&c, upn, pw, &d) : -2;
    check("adopt: create returns it adopted, its password is set and binds",
          r == 0 && a.adopted && !a.managed && sp == 0 && ck == 1, &d);
    r = dir_delete_account(dir, &a, &d);
    check_msg("adopt: an adopted account is never deleted", r == -1, &d, "refusing to delete",
              "not created by provision", NULL);
    free(upn);
    free_secret(pw);
    dir_account_free(&a);
    dir_close(dir);

    const char *admin_group[] = {"Domain Admins"};
    c.adopt_groups = admin_group;
    dir = open_or_die(&c, "adopt: open with adopt_group Domain Admins");
    r = adoption(dir, "IUSR_it_admin", sites_ou, &d);
    check_msg("adopt: adopt_group naming Domain Admins is an error", r == -1, &d,
              "adopt_group Domain Admins", "administrative group", NULL);
    dir_close(dir);
    free(admins);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void phase_replica(void)
{
    struct dir_config c = admin_cfg(NULL);
    c.timeout_seconds = 5;
    struct dir *dir = open_or_die(&c, "replica: open");
    struct diag d;
    diag_init(&d);
    char *pw = gen("IUSR_it_repl", NULL);
    struct dir_account_spec spec = {.sam = "IUSR_it_repl", .ou = sites_ou, .site = "r.example"};
    struct dir_account a;
    int r = dir_create_account(dir, &spec, pw, &a, &d);
    check("replica: an account to wait for", r == 1, &d);
    struct dir_replica_item item = {.label = "IUSR_it_repl", .guid = a.guid};

    double t0 = now_s();
    r = dir_wait_replica(&c, env("LAB_LDAPS_URI"), &item, 1, 30000, NULL, NULL, &d);
    double took = now_s() - t0;
    set_note("%.2f s", took);
    check("replica: waiting on the lab's own DC (by its URI) succeeds at once",
          r == 0 && item.seen && took < 5, &d);

    char *pw2 = gen("IUSR_it_repl", NULL);
    long long before = 0, after = 0;
    dir_pwd_last_set(dir, a.dn, &before, &d);
    sleep(1); /* pwdLastSet counts 100 ns, but let it differ visibly */
    r = dir_set_password(dir, a.dn, pw2, &d);
    int p = r == 0 ? dir_pwd_last_set(dir, a.dn, &after, &d) : -1;
    item.seen = false;
    item.pwd_last_set = after;
    t0 = now_s();
    int w =
        p == 0 ? dir_wait_replica(&c, env("LAB_LDAP_URI"), &item, 1, 30000, NULL, NULL, &d) : -2;
    took = now_s() - t0;
    set_note("pwdLastSet %lld -> %lld, %.2f s", before, after, took);
    check("replica: a password set is seen by its pwdLastSet (StartTLS URI)",
          r == 0 && p == 0 && after > before && w == 0 && item.seen, &d);

    /* not there (yet): a GUID the DC does not have */
    struct dir_replica_item missing = {.label = "IUSR_it_ghost (CN=IUSR_it_ghost)",
                                       .guid = "0badf00d-0000-4000-8000-000000000001"};
    t0 = now_s();
    r = dir_wait_replica(&c, env("LAB_LDAPS_URI"), &missing, 1, 2000, NULL, NULL, &d);
    took = now_s() - t0;
    set_note("%.2f s", took);
    check_msg("replica: an account the DC lacks times out after wait_timeout (2 s)",
              r == -1 && !missing.seen && took >= 1.9 && took < 6, &d,
              "1 of 1 account(s) not confirmed on dc1.lab.test", "(wait_timeout)", "IUSR_it_ghost");

    /* an unreachable DC: retried until the timeout, then a clear error */
    item.seen = false;
    item.pwd_last_set = 0;
    t0 = now_s();
    r = dir_wait_replica(&c, "ldaps://127.0.0.2:1", &item, 1, 3000, NULL, NULL, &d);
    took = now_s() - t0;
    set_note("%.2f s", took);
    check_msg("replica: an unreachable DC (ldaps://127.0.0.2:1) fails after the timeout (3 s)",
              r == -1 && took >= 2.9 && took < 8, &d, "not confirmed on 127.0.0.2:1",
              "(wait_timeout)", "cannot be reached");

    /* a failure waiting cannot cure is not retried (a refused bind could
     * lock the account out; a TLS name mismatch stays one) */
    item.seen = false;
    t0 = now_s();
    r = dir_wait_replica(&c, "ldaps://127.0.0.1", &item, 1, 20000, NULL, NULL, &d);
    took = now_s() - t0;
    set_note("%.2f s", took);
    check_msg("replica: a TLS failure (certificate names dc1, not 127.0.0.1) ends the wait at once",
              r == -1 && took < 5, &d, "not retried", "TLS with 127.0.0.1 failed", NULL);
    struct dir_config wrong = c;
    wrong.password_file = NULL;
    wrong.password_env = "IT_WRONG_PASSWORD";
    t0 = now_s();
    r = dir_wait_replica(&wrong, env("LAB_LDAPS_URI"), &item, 1, 20000, NULL, NULL, &d);
    took = now_s() - t0;
    set_note("%.2f s", took);
    check_msg("replica: a refused bind ends the wait at once (no lockout by retrying)",
              r == -1 && took < 5, &d, "not retried", "wrong user name or password", NULL);

    r = dir_delete_account(dir, &a, &d);
    check("replica: clean up", r == 1, &d);
    dir_account_free(&a);
    free_secret(pw);
    free_secret(pw2);
    dir_close(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: ldap_it lifecycle|policy|collide|hostile|groups|bind|tls|gssapi|"
                        "adopt|replica|dc-stop|dc-freeze\n");
        return 2;
    }
    const char *p = argv[1];
    if (strcmp(p, "lifecycle") == 0)
        phase_lifecycle();
    else if (strcmp(p, "policy") == 0)
        phase_policy();
    else if (strcmp(p, "collide") == 0)
        phase_collide();
    else if (strcmp(p, "hostile") == 0)
        phase_hostile();
    else if (strcmp(p, "groups") == 0)
        phase_groups();
    else if (strcmp(p, "bind") == 0)
        phase_bind();
    else if (strcmp(p, "tls") == 0)
        phase_tls();
    else if (strcmp(p, "gssapi") == 0)
        phase_gssapi();
    else if (strcmp(p, "adopt") == 0)
        phase_adopt();
    else if (strcmp(p, "replica") == 0)
        phase_replica();
    else if (strcmp(p, "dc-stop") == 0)
        phase_dc_gone("stop");
    else if (strcmp(p, "dc-freeze") == 0)
        phase_dc_gone("freeze");
    else {
        fprintf(stderr, "ldap_it: unknown phase %s\n", p);
        return 2;
    }
    return failures ? 1 : 0;
}
