/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for provision/ntfs/grant.c: the template grant syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "provision/ntfs/grant.h"
#include "provision/ntfs/sd.h"

#define POOL_SID "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"

static struct ntfs_grant expect_ok(const char *text, enum ntfs_principal_kind kind,
                                   const char *principal, int deny, uint8_t flags, uint32_t mask,
                                   const char *formatted)
{
    struct ntfs_grant g, back;
    char err[200], buf[NTFS_GRANT_STRING_MAX];

    if (ntfs_grant_parse(text, &g, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", text, err);
    assert_string_equal(err, "");
    assert_int_equal(g.kind, kind);
    assert_string_equal(g.principal, principal);
    assert_int_equal(g.deny, deny);
    assert_int_equal(g.ace_flags, flags);
    assert_int_equal(g.mask, mask);
    ntfs_grant_format(&g, buf, sizeof buf);
    if (strcmp(buf, formatted) != 0)
        fail_msg("'%s' formatted as '%s', expected '%s'", text, buf, formatted);
    /* The canonical text parses back to the same grant. */
    if (ntfs_grant_parse(buf, &back, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", buf, err);
    assert_int_equal(back.kind, g.kind);
    assert_int_equal(back.deny, g.deny);
    assert_int_equal(back.ace_flags, g.ace_flags);
    assert_int_equal(back.mask, g.mask);
    if (g.kind == NTFS_PRINCIPAL_SID)
        assert_true(ntfs_sid_equal(&back.sid, &g.sid));
    return g;
}

static void expect_sid(const struct ntfs_grant *g, const char *sid)
{
    char buf[NTFS_SID_STRING_MAX];
    ntfs_sid_format(&g->sid, buf, sizeof buf);
    assert_string_equal(buf, sid);
}

static void test_pseudo_principals(void **state)
{
    (void)state;
    expect_ok("pool:(OI)(CI)M", NTFS_PRINCIPAL_POOL, "pool", 0, 3, NTFS_RIGHTS_M, "pool:(OI)(CI)M");
    expect_ok("  Pool : (ci)(oi) m  ", NTFS_PRINCIPAL_POOL, "Pool", 0, 3, NTFS_RIGHTS_M,
              "pool:(OI)(CI)M");
    expect_ok("ANONYMOUS:R", NTFS_PRINCIPAL_ANONYMOUS, "ANONYMOUS", 0, 0, NTFS_RIGHTS_R,
              "anonymous:R");
    expect_ok("deny pool:(OI)(CI)(IO)W", NTFS_PRINCIPAL_POOL, "pool", 1, 0x0b, NTFS_RIGHTS_W,
              "deny pool:(OI)(CI)(IO)W");
    expect_ok("pool:(OI)(CI)(NP)(IO)F", NTFS_PRINCIPAL_POOL, "pool", 0, 0x0f, NTFS_RIGHTS_F,
              "pool:(OI)(CI)(NP)(IO)F");
    expect_ok("pool:(NP)(CI)RX", NTFS_PRINCIPAL_POOL, "pool", 0, 0x06, NTFS_RIGHTS_RX,
              "pool:(CI)(NP)RX");
    expect_ok("pool:(OI)(CI)(M)", NTFS_PRINCIPAL_POOL, "pool", 0, 3, NTFS_RIGHTS_M,
              "pool:(OI)(CI)M");
    expect_ok("pool:(rx)", NTFS_PRINCIPAL_POOL, "pool", 0, 0, NTFS_RIGHTS_RX, "pool:RX");
    expect_ok("pool: (OI) (CI) M", NTFS_PRINCIPAL_POOL, "pool", 0, 3, NTFS_RIGHTS_M,
              "pool:(OI)(CI)M");
    expect_ok("pool:(OI) (M) ", NTFS_PRINCIPAL_POOL, "pool", 0, 1, NTFS_RIGHTS_M, "pool:(OI)M");
}

static void test_sid_principals(void **state)
{
    struct ntfs_grant g;
    (void)state;
    g = expect_ok("deny S-1-1-0:(OI)W", NTFS_PRINCIPAL_SID, "S-1-1-0", 1, 1, NTFS_RIGHTS_W,
                  "deny S-1-1-0:(OI)W");
    expect_sid(&g, "S-1-1-0");
    g = expect_ok("DENY   Everyone:(OI)W", NTFS_PRINCIPAL_SID, "Everyone", 1, 1, NTFS_RIGHTS_W,
                  "deny S-1-1-0:(OI)W");
    g = expect_ok("*S-1-5-32-544:F", NTFS_PRINCIPAL_SID, "*S-1-5-32-544", 0, 0, NTFS_RIGHTS_F,
                  "S-1-5-32-544:F");
    expect_sid(&g, "S-1-5-32-544");
    g = expect_ok("IIS AppPool\\DefaultAppPool:(OI)(CI)RX", NTFS_PRINCIPAL_SID,
                  "IIS AppPool\\DefaultAppPool", 0, 3, NTFS_RIGHTS_RX, POOL_SID ":(OI)(CI)RX");
    expect_sid(&g, POOL_SID);
    g = expect_ok("iis apppool\\.NET v4.5:R", NTFS_PRINCIPAL_SID, "iis apppool\\.NET v4.5", 0, 0,
                  NTFS_RIGHTS_R, "S-1-5-82-271721585-897601226-2024613209-625570482-296978595:R");
    g = expect_ok("NT AUTHORITY\\NETWORK SERVICE:(CI)R", NTFS_PRINCIPAL_SID,
                  "NT AUTHORITY\\NETWORK SERVICE", 0, 2, NTFS_RIGHTS_R, "S-1-5-20:(CI)R");
    g = expect_ok("BUILTIN\\IIS_IUSRS:(OI)(CI)RX", NTFS_PRINCIPAL_SID, "BUILTIN\\IIS_IUSRS", 0, 3,
                  NTFS_RIGHTS_RX, "S-1-5-32-568:(OI)(CI)RX");
    g = expect_ok("IUSR:RX", NTFS_PRINCIPAL_SID, "IUSR", 0, 0, NTFS_RIGHTS_RX, "S-1-5-17:RX");
    g = expect_ok("s-1-5-18:F", NTFS_PRINCIPAL_SID, "s-1-5-18", 0, 0, NTFS_RIGHTS_F, "S-1-5-18:F");
    (void)g;
}

static void test_name_principals(void **state)
{
    char p256[300], text[320];
    (void)state;
    expect_ok("LAB\\IUSR_site1:(OI)(CI)(NP)M", NTFS_PRINCIPAL_NAME, "LAB\\IUSR_site1", 0, 7,
              NTFS_RIGHTS_M, "LAB\\IUSR_site1:(OI)(CI)(NP)M");
    expect_ok("alice@lab.test:0x1f01ff", NTFS_PRINCIPAL_NAME, "alice@lab.test", 0, 0, NTFS_RIGHTS_F,
              "alice@lab.test:F");
    expect_ok("webuser:0x120089", NTFS_PRINCIPAL_NAME, "webuser", 0, 0, NTFS_RIGHTS_R, "webuser:R");
    expect_ok("LAB\\Web Users:RX", NTFS_PRINCIPAL_NAME, "LAB\\Web Users", 0, 0, NTFS_RIGHTS_RX,
              "LAB\\Web Users:RX");
    expect_ok("LAB\\J\xC3\xBCrgen:RX", NTFS_PRINCIPAL_NAME, "LAB\\J\xC3\xBCrgen", 0, 0,
              NTFS_RIGHTS_RX, "LAB\\J\xC3\xBCrgen:RX");
    expect_ok("S-Admins:R", NTFS_PRINCIPAL_NAME, "S-Admins", 0, 0, NTFS_RIGHTS_R, "S-Admins:R");
    expect_ok("deny:R", NTFS_PRINCIPAL_NAME, "deny", 0, 0, NTFS_RIGHTS_R, "deny:R");
    /* 256 bytes is the limit. */
    memset(p256, 'a', 256);
    p256[256] = '\0';
    snprintf(text, sizeof text, "%s:M", p256);
    expect_ok(text, NTFS_PRINCIPAL_NAME, p256, 0, 0, NTFS_RIGHTS_M, text);
    /* The account name is the caller's to check (sAMAccountName rules). */
    expect_ok("LAB\\a;b:R", NTFS_PRINCIPAL_NAME, "LAB\\a;b", 0, 0, NTFS_RIGHTS_R, "LAB\\a;b:R");
}

static void expect_account(const char *principal, const char *account)
{
    size_t n;
    const char *a = ntfs_principal_account(principal, &n);
    assert_int_equal(n, strlen(account));
    assert_memory_equal(a, account, n);
}

static void test_principal_account(void **state)
{
    (void)state;
    expect_account("LAB\\IUSR_site1", "IUSR_site1");
    expect_account("alice@lab.test", "alice");
    expect_account("webuser", "webuser");
    expect_account("LAB\\al@ce", "al@ce"); /* after the '\\', all of it */
}

static void test_masks(void **state)
{
    (void)state;
    expect_ok("pool:0x00100000", NTFS_PRINCIPAL_POOL, "pool", 0, 0, 0x100000, "pool:0x100000");
    expect_ok("pool:(OI)(CI)(IO)0xF0000000", NTFS_PRINCIPAL_POOL, "pool", 0, 0x0b, 0xF0000000u,
              "pool:(OI)(CI)(IO)0xf0000000");
    expect_ok("pool:0XF01F01FF", NTFS_PRINCIPAL_POOL, "pool", 0, 0, 0xF01F01FFu, "pool:0xf01f01ff");
    expect_ok("pool:0x1", NTFS_PRINCIPAL_POOL, "pool", 0, 0, 1, "pool:0x1");
    expect_ok("pool:0x001301BF", NTFS_PRINCIPAL_POOL, "pool", 0, 0, NTFS_RIGHTS_M, "pool:M");
    expect_ok("pool:0x100116", NTFS_PRINCIPAL_POOL, "pool", 0, 0, NTFS_RIGHTS_W, "pool:W");
    expect_ok("pool:0x1200a9", NTFS_PRINCIPAL_POOL, "pool", 0, 0, NTFS_RIGHTS_RX, "pool:RX");
}

static void expect_err(const char *text, const char *msg)
{
    struct ntfs_grant g;
    char err[200];
    if (ntfs_grant_parse(text, &g, err, sizeof err) != -1)
        fail_msg("'%s' accepted", text);
    if (strcmp(err, msg) != 0)
        fail_msg("'%s': got '%s', expected '%s'", text, err, msg);
    assert_null(strchr(err, '\n'));
}

static void test_errors(void **state)
{
    (void)state;
    expect_err("", "empty grant");
    expect_err("   ", "empty grant");
    expect_err("pool", "missing ':' between principal and rights");
    expect_err(":M", "empty principal before ':'");
    expect_err("deny :M", "empty principal before ':'");
    expect_err("pool:", "missing rights (use F, M, RX, R, W or a 0x mask)");
    expect_err("pool:(OI)(CI)", "missing rights (use F, M, RX, R, W or a 0x mask)");
    expect_err("pool:Q", "unknown right 'Q' (use F, M, RX, R, W or a 0x mask)");
    expect_err("pool:FULL", "unknown right 'FULL' (use F, M, RX, R, W or a 0x mask)");
    expect_err("pool:(XX)M", "unknown flag '(XX)' (use (OI), (CI), (NP) or (IO))");
    expect_err("pool:(I)M", "unknown flag '(I)' (use (OI), (CI), (NP) or (IO))");
    expect_err("pool:(OI)(OI)M", "flag (OI) given twice");
    expect_err("pool:(oi)(OI)M", "flag (OI) given twice");
    expect_err("pool:(IO)M", "(IO) needs (OI) or (CI): an inherit-only ACE that is not "
                             "inherited applies to nothing");
    expect_err("pool:(NP)M", "(NP) needs (OI) or (CI): it limits inheritance, and there is none");
    expect_err("pool:(OI", "missing ')' after '('");
    expect_err("pool:()M", "empty '()'");
    expect_err("pool:(R,W)", "rights lists like '(R,W)' are not supported (use a 0x mask)");
    expect_err("pool:M(OI)", "flags must come before the rights");
    expect_err("pool:(M)(OI)", "flags must come before the rights");
    expect_err("pool:(M)x", "unexpected text after the rights");
    expect_err("pool:(O I)M", "unknown flag '(O I)' (use (OI), (CI), (NP) or (IO))");
    expect_err("pool:R X", "unknown right 'R X' (use F, M, RX, R, W or a 0x mask)");
    expect_err("pool:0x", "missing hex digits after '0x'");
    expect_err("pool:0xZZ", "bad hex mask '0xZZ'");
    expect_err("pool:0x100000000", "mask '0x100000000' is larger than 32 bits");
    expect_err("pool:0x0", "mask 0x0 grants nothing");
    expect_err("pool:0x2000000",
               "mask 0x2000000 has bits that are not file access rights (0x2000000)");
    expect_err("pool:0x1000000",
               "mask 0x1000000 has bits that are not file access rights (0x1000000)");
    expect_err("pool:0x200", "mask 0x200 has bits that are not file access rights (0x200)");
    expect_err("pool:0x1f03ff", "mask 0x1f03ff has bits that are not file access rights (0x200)");
    expect_err("pool:0x8000000",
               "mask 0x8000000 has bits that are not file access rights (0x8000000)");
}

static void test_principal_errors(void **state)
{
    char longp[300], text[320];
    static const char forbidden[] = "\"/[];|=,+*?<>";
    (void)state;
    expect_err("S-1-5-x:M", "invalid SID 'S-1-5-x'");
    expect_err("*Everyone:M", "invalid SID 'Everyone'");
    expect_err("IIS AppPool\\:M", "missing pool name after 'IIS AppPool\\'");
    expect_err("IIS AppPool\\a&b:M", "character '&' is not allowed in a pool name");
    expect_err("IIS AppPool\\a\\b:M", "character '\\' is not allowed in a pool name");
    expect_err("IIS AppPool\\a@b:M", "character '@' is not allowed in a pool name");
    /* The account name is only split off here; the core checks it with
     * the sAMAccountName rules (tests/unit/ldap/test_account.c). */
    for (const char *c = forbidden; *c; c++) {
        char t[32], msg[96];
        snprintf(t, sizeof t, "L%cB\\ab:M", *c);
        snprintf(msg, sizeof msg, "character '%c' is not allowed in domain 'L%cB'", *c, *c);
        expect_err(t, msg);
        snprintf(t, sizeof t, "ab@lab%ctest:M", *c);
        snprintf(msg, sizeof msg, "character '%c' is not allowed in UPN suffix 'lab%ctest'", *c,
                 *c);
        expect_err(t, msg);
    }
    expect_err("L*B\\alice:M", "character '*' is not allowed in domain 'L*B'");
    expect_err("alice@lab|test:M", "character '|' is not allowed in UPN suffix 'lab|test'");
    expect_err("LAB\\a\\b:M", "more than one '\\' in principal 'LAB\\a\\b'");
    expect_err("a@b@c:M", "more than one '@' in principal 'a@b@c'");
    expect_err("\\alice:M", "missing domain in principal");
    expect_err("LAB\\:M", "missing account name in principal");
    expect_err("@lab.test:M", "missing account name in principal");
    expect_err("alice@:M", "missing UPN suffix in principal");
    expect_err("LAB \\alice:M", "domain 'LAB ' starts or ends with a blank");
    expect_err("pool\x01:M", "control character in grant");
    expect_err("pool:M\x7f", "control character in grant");
    expect_err("po\tol:M", "control character in grant");
    expect_err("LAB\\\xff:M", "principal is not valid UTF-8");
    memset(longp, 'a', 257);
    longp[257] = '\0';
    snprintf(text, sizeof text, "%s:M", longp);
    expect_err(text, "principal longer than 256 bytes");
}

static void test_error_buffers(void **state)
{
    struct ntfs_grant g;
    char small[8];
    (void)state;
    assert_int_equal(ntfs_grant_parse("pool:Q", &g, small, sizeof small), -1);
    assert_string_equal(small, "unknown");
    assert_int_equal(ntfs_grant_parse("pool:Q", &g, NULL, 0), -1);
    assert_int_equal(ntfs_grant_parse(NULL, &g, small, sizeof small), -1);
    assert_int_equal(ntfs_grant_parse("pool:M", NULL, small, sizeof small), -1);
}

static void test_format_truncates(void **state)
{
    struct ntfs_grant g;
    char err[100], buf[10], big[NTFS_GRANT_STRING_MAX];
    (void)state;
    assert_int_equal(ntfs_grant_parse("deny LAB\\someone:(OI)(CI)M", &g, err, sizeof err), 0);
    ntfs_grant_format(&g, buf, sizeof buf);
    assert_string_equal(buf, "deny LAB\\");
    /* The longest grant fits. */
    memset(&g, 0, sizeof g);
    g.kind = NTFS_PRINCIPAL_NAME;
    memset(g.principal, 'a', 256);
    g.deny = 1;
    g.ace_flags = 0x0f;
    g.mask = 0xf01f01fe;
    ntfs_grant_format(&g, big, sizeof big);
    assert_int_equal(strlen(big), 5 + 256 + 1 + 16 + 10);
    g.kind = NTFS_PRINCIPAL_SID;
    assert_int_equal(ntfs_sid_parse("S-1-0xffffffffffff-4294967295-4294967295-4294967295-"
                                    "4294967295-4294967295-4294967295-4294967295-4294967295-"
                                    "4294967295-4294967295-4294967295-4294967295-4294967295-"
                                    "4294967295-4294967295",
                                    &g.sid),
                     0);
    ntfs_grant_format(&g, big, sizeof big);
    assert_true(strlen(big) < sizeof big - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pseudo_principals),
        cmocka_unit_test(test_sid_principals),
        cmocka_unit_test(test_name_principals),
        cmocka_unit_test(test_principal_account),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_principal_errors),
        cmocka_unit_test(test_error_buffers),
        cmocka_unit_test(test_format_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
