/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for ldap/account.c: sAMAccountName rules, the marker,
 * objectSid / objectGUID text forms (values read from the lab DC and
 * decoded with Samba's own NDR code), the unicodePwd encoding, and what
 * adoption and the replication wait decide and say without a connection
 * (SID/RID, administrative groups, userAccountControl; the texts of
 * ldap/directory_common.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ldap/account.h"
#include "ldap/directory_common.h"

static void test_sam_rules(void **state)
{
    (void)state;
    assert_null(dir_sam_problem("IUSR_shop"));
    assert_null(dir_sam_problem("IUSR_123456789012345"));      /* 20 */
    assert_non_null(dir_sam_problem("IUSR_1234567890123456")); /* 21: Samba would take it */
    assert_null(dir_sam_problem("a(b)c d#e"));
    assert_null(dir_sam_problem("Jürgen"));
    /* 20 UTF-16 units of non-ASCII is fine, a non-BMP character counts 2 */
    assert_null(dir_sam_problem("ääääääääääääääääääää"));
    assert_non_null(dir_sam_problem("äääääääääääääääääää\xF0\x9F\x98\x80"));
    const char *bad[] = {"x*)(", "a\"b",  "a/b",    "a\\b", "a[b",  "a]b",   "a:b",
                         "a;b",  "a|b",   "a=b",    "a,b",  "a+b",  "a*b",   "a?b",
                         "a<b",  "a>b",   "a@b",    "a\tb", "a\nb", "a\x7f", "a\xC2\x85",
                         "",     " lead", "trail ", "...",  ". .",  "\xC3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_non_null(dir_sam_problem(bad[i]));
    assert_non_null(dir_sam_problem(NULL));
    assert_string_equal(dir_sam_problem("IUSR_1234567890123456"), "is longer than 20 characters");
}

static void test_marker(void **state)
{
    (void)state;
    char *v = dir_marker_value("shop.example.com");
    assert_string_equal(v, "provision:site=shop.example.com");
    char *site;
    assert_true(dir_marker_parse(v, &site));
    assert_string_equal(site, "shop.example.com");
    free(site);
    free(v);
    v = dir_marker_value(NULL);
    assert_string_equal(v, "provision:");
    assert_true(dir_marker_parse(v, &site));
    assert_null(site);
    free(v);
    assert_false(dir_marker_parse("Provisioned by hand", &site));
    assert_null(site);
    assert_false(dir_marker_parse(NULL, NULL));
    assert_false(dir_marker_parse("xprovision:site=a", NULL));
}

static size_t unb64(const char *s, unsigned char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        acc = acc << 6 | (unsigned)(strchr(t, *s) - t);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

static void test_sid(void **state)
{
    (void)state;
    unsigned char b[80];
    char s[200];
    /* objectSid of lab accounts (ldapsearch base64) and Samba's text */
    size_t n = unb64("AQUAAAAAAAUVAAAAQDDMKJEa1CVcYtWgTgQAAA==", b);
    assert_int_equal(dir_sid_to_string(b, n, s, sizeof s), 0);
    assert_string_equal(s, "S-1-5-21-684470336-634657425-2698338908-1102");
    n = unb64("AQUAAAAAAAUVAAAAQDDMKJEa1CVcYtWg9AEAAA==", b);
    assert_int_equal(dir_sid_to_string(b, n, s, sizeof s), 0);
    assert_string_equal(s, "S-1-5-21-684470336-634657425-2698338908-500");
    /* S-1-1-0, S-1-5-32-568 */
    const unsigned char everyone[] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    assert_int_equal(dir_sid_to_string(everyone, sizeof everyone, s, sizeof s), 0);
    assert_string_equal(s, "S-1-1-0");
    const unsigned char iis[] = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x38, 2, 0, 0};
    assert_int_equal(dir_sid_to_string(iis, sizeof iis, s, sizeof s), 0);
    assert_string_equal(s, "S-1-5-32-568");
    /* large authority in hex, max sub-authority */
    const unsigned char big[] = {1, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(dir_sid_to_string(big, sizeof big, s, sizeof s), 0);
    assert_string_equal(s, "S-1-0x000100000000-4294967295");
    /* malformed */
    assert_int_equal(dir_sid_to_string(b, n - 1, s, sizeof s), -1);
    assert_int_equal(dir_sid_to_string(b, 7, s, sizeof s), -1);
    unsigned char bad[8 + 16 * 4] = {1, 16};
    assert_int_equal(dir_sid_to_string(bad, sizeof bad, s, sizeof s), -1);
    unsigned char rev2[] = {2, 0, 0, 0, 0, 0, 0, 5};
    assert_int_equal(dir_sid_to_string(rev2, sizeof rev2, s, sizeof s), -1);
    assert_int_equal(dir_sid_to_string(everyone, sizeof everyone, s, 5), -1);
}

static void test_guid(void **state)
{
    (void)state;
    unsigned char b[20], back[16];
    char s[40];
    size_t n = unb64("BbxrKFmOD0aduscZ5xSVrg==", b);
    assert_int_equal(n, 16);
    assert_int_equal(dir_guid_to_string(b, n, s, sizeof s), 0);
    assert_string_equal(s, "286bbc05-8e59-460f-9dba-c719e71495ae");
    assert_int_equal(dir_guid_from_string(s, back), 0);
    assert_memory_equal(back, b, 16);
    n = unb64("dqlWQjSXC0SYVF3UP9cg9w==", b);
    assert_int_equal(dir_guid_to_string(b, n, s, sizeof s), 0);
    assert_string_equal(s, "4256a976-9734-440b-9854-5dd43fd720f7");
    assert_int_equal(dir_guid_from_string("4256A976-9734-440B-9854-5DD43FD720F7", back), 0);
    assert_memory_equal(back, b, 16);
    assert_int_equal(dir_guid_to_string(b, 15, s, sizeof s), -1);
    assert_int_equal(dir_guid_to_string(b, 16, s, 36), -1);
    assert_int_equal(dir_guid_from_string("4256a976-9734-440b-9854-5dd43fd720f", back), -1);
    assert_int_equal(dir_guid_from_string("4256a976x9734-440b-9854-5dd43fd720f7", back), -1);
    assert_int_equal(dir_guid_from_string("g256a976-9734-440b-9854-5dd43fd720f7", back), -1);
    assert_int_equal(dir_guid_from_string(NULL, back), -1);
}

static void test_unicode_pwd(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = dir_unicode_pwd("Ab1", &n);
    const unsigned char want[] = {'"', 0, 'A', 0, 'b', 0, '1', 0, '"', 0};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(p, want, n);
    free(p);
    p = dir_unicode_pwd("\xC3\xA9\xF0\x9F\x98\x80", &n); /* é U+1F600 */
    const unsigned char want2[] = {'"', 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, '"', 0};
    assert_int_equal(n, sizeof want2);
    assert_memory_equal(p, want2, n);
    free(p);
    assert_null(dir_unicode_pwd("", &n));
    assert_null(dir_unicode_pwd(NULL, &n));
    assert_null(dir_unicode_pwd("bad\xFF", &n));
}

static void test_sid_domain_rid(void **state)
{
    (void)state;
    char dom[64];
    unsigned long rid = 0;
    assert_true(
        dir_sid_domain_rid("S-1-5-21-684470336-634657425-2698338908-1102", dom, sizeof dom, &rid));
    assert_int_equal(rid, 1102);
    assert_string_equal(dom, "S-1-5-21-684470336-634657425-2698338908");
    assert_true(dir_sid_domain_rid("S-1-5-21-1-2-3-500", NULL, 0, &rid));
    assert_int_equal(rid, 500);
    assert_true(dir_sid_domain_rid("S-1-5-21-1-2-3-4294967295", NULL, 0, &rid));
    assert_int_equal(rid, 4294967295ul);
    /* not a domain account's SID, or malformed */
    const char *bad[] = {"S-1-5-32-544",
                         "S-1-5-18",
                         "S-1-5-21-1-2-3",
                         "S-1-5-21-1-2-3-4-5",
                         "S-1-5-21-1-2-3-",
                         "S-1-5-21-1-2-3-4x",
                         "S-1-5-21-1-2-3-4294967296",
                         "",
                         NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(dir_sid_domain_rid(bad[i], dom, sizeof dom, &rid));
    /* the domain part must fit */
    assert_false(dir_sid_domain_rid("S-1-5-21-1-2-3-500", dom, 10, &rid));
}

static void test_protected_groups(void **state)
{
    (void)state;
    assert_string_equal(dir_sid_protected_group("S-1-5-21-1-2-3-512"), "Domain Admins");
    assert_string_equal(dir_sid_protected_group("S-1-5-21-9-8-7-519"), "Enterprise Admins");
    assert_string_equal(dir_sid_protected_group("S-1-5-21-9-8-7-518"), "Schema Admins");
    assert_string_equal(dir_sid_protected_group("S-1-5-21-9-8-7-520"),
                        "Group Policy Creator Owners");
    assert_string_equal(dir_sid_protected_group("S-1-5-32-544"), "Administrators");
    assert_string_equal(dir_sid_protected_group("S-1-5-32-548"), "Account Operators");
    assert_string_equal(dir_sid_protected_group("S-1-5-32-551"), "Backup Operators");
    /* ordinary ones */
    assert_null(dir_sid_protected_group("S-1-5-21-1-2-3-513"));
    assert_null(dir_sid_protected_group("S-1-5-21-1-2-3-572"));
    assert_null(dir_sid_protected_group("S-1-5-21-1-2-3-1512"));
    assert_null(dir_sid_protected_group("S-1-5-32-545"));
    assert_null(dir_sid_protected_group("S-1-5-32-5440"));
    assert_null(dir_sid_protected_group(NULL));
}

static void test_uac_problem(void **state)
{
    (void)state;
    assert_null(dir_uac_problem(66048)); /* what provision creates */
    assert_null(dir_uac_problem(512));
    assert_null(dir_uac_problem(514)); /* disabled: still an ordinary account */
    assert_non_null(strstr(dir_uac_problem(4096), "WORKSTATION_TRUST_ACCOUNT"));
    assert_non_null(strstr(dir_uac_problem(532480), "SERVER_TRUST_ACCOUNT")); /* a DC */
    assert_non_null(strstr(dir_uac_problem(2080), "INTERDOMAIN_TRUST_ACCOUNT"));
    assert_non_null(strstr(dir_uac_problem(0x4001000), "WORKSTATION_TRUST_ACCOUNT"));
    assert_non_null(strstr(dir_uac_problem(0x4000200), "PARTIAL_SECRETS_ACCOUNT"));
    assert_non_null(strstr(dir_uac_problem(0x100), "TEMP_DUPLICATE_ACCOUNT"));
    assert_non_null(strstr(dir_uac_problem(0x80200), "TRUSTED_FOR_DELEGATION"));
    assert_non_null(strstr(dir_uac_problem(0x1000200), "TRUSTED_TO_AUTH_FOR_DELEGATION"));
    assert_non_null(strstr(dir_uac_problem(0x10000), "NORMAL_ACCOUNT is not set"));
}

static void test_adoption_texts(void **state)
{
    (void)state;
    char *t = dir_adoption_object_problem("computer", true, 4096, "S-1-5-21-1-2-3-1001");
    assert_non_null(strstr(t, "computer account"));
    free(t);
    t = dir_adoption_object_problem("group", false, 0, "S-1-5-21-1-2-3-1001");
    assert_non_null(strstr(t, "a group, not a user account"));
    free(t);
    t = dir_adoption_object_problem("object", false, 0, NULL); /* a contact */
    assert_non_null(strstr(t, "not a user account"));
    free(t);
    t = dir_adoption_object_problem("user", true, 512, "S-1-5-21-1-2-3-500");
    assert_non_null(strstr(t, "built-in account (S-1-5-21-1-2-3-500, RID 500"));
    free(t);
    t = dir_adoption_object_problem("user", true, 4096, "S-1-5-21-1-2-3-1500");
    assert_non_null(strstr(t, "WORKSTATION_TRUST_ACCOUNT) (userAccountControl 0x1000)"));
    free(t);
    assert_null(dir_adoption_object_problem("user", true, 66048, "S-1-5-21-1-2-3-1000"));
    t = dir_adoption_object_problem("user", true, 512, "S-1-5-32-544");
    assert_non_null(strstr(t, "not that of a domain account"));
    free(t);

    /* offenders: not allowed, or administrative even when allowed; the
     * administrative ones first */
    const char *token[] = {"S-1-5-21-1-2-3-513", "S-1-5-21-1-2-3-1103", "S-1-5-32-545",
                           "S-1-5-21-1-2-3-512"};
    const char *allowed[] = {"S-1-5-21-1-2-3-513", "S-1-5-32-545", "S-1-5-21-1-2-3-512"};
    size_t out[4];
    assert_int_equal(dir_adoption_offenders(token, 4, allowed, 3, out), 2);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 1);
    assert_int_equal(dir_adoption_offenders(token, 3, allowed, 2, out), 1);
    assert_int_equal(dir_adoption_offenders(token, 1, allowed, 1, out), 0);
    assert_int_equal(dir_adoption_offenders(token, 1, NULL, 0, out), 1);

    const char *sids[] = {"S-1-5-21-1-2-3-512",  "S-1-5-21-1-2-3-1103", "S-1-5-21-1-2-3-1104",
                          "S-1-5-21-1-2-3-1105", "S-1-5-21-1-2-3-1106", "S-1-5-21-1-2-3-1107"};
    const char *dns[] = {"CN=Domain Admins,CN=Users,DC=lab,DC=test",
                         "CN=Helpdesk,DC=lab,DC=test",
                         NULL,
                         NULL,
                         NULL,
                         NULL};
    t = dir_adoption_groups_reason(sids, dns, 6);
    assert_non_null(strstr(t, "member of CN=Domain Admins,CN=Users,DC=lab,DC=test "
                              "(S-1-5-21-1-2-3-512, Domain Admins, an administrative group: "
                              "never adopted), CN=Helpdesk,DC=lab,DC=test (S-1-5-21-1-2-3-1103), "
                              "S-1-5-21-1-2-3-1104 (no object found for it)"));
    assert_non_null(strstr(t, " and 2 more (tokenGroups"));
    assert_non_null(strstr(t, "which are not in adopt_group"));
    assert_null(strstr(t, "1106"));
    free(t);
    t = dir_adoption_groups_reason(sids + 1, dns + 1, 1);
    assert_non_null(strstr(t, "member of CN=Helpdesk,DC=lab,DC=test (S-1-5-21-1-2-3-1103) "
                              "(tokenGroups: directly or through nested groups), which is not in "
                              "adopt_group"));
    free(t);
    t = dir_adoption_groups_reason(sids, dns, 1); /* administrative only */
    assert_null(strstr(t, "not in adopt_group"));
    assert_non_null(strstr(t, "never to an administrative group"));
    free(t);
    t = dir_adoption_refusal("IUSR_x", "CN=IUSR_x,OU=Sites", "dc1", "why");
    assert_string_equal(t,
                        "ldap: refusing to adopt account IUSR_x (CN=IUSR_x,OU=Sites) on dc1: why");
    free(t);
}

static void test_replica_texts(void **state)
{
    (void)state;
    long d = 0;
    long want[] = {250, 500, 1000, 2000, 4000, 5000, 5000};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        d = dir_replica_next_delay(d);
        assert_int_equal(d, want[i]);
    }
    struct dir_replica_item items[8] = {0};
    char labels[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(labels[i], sizeof labels[i], "IUSR_%d", i);
        items[i].label = labels[i];
        items[i].seen = i == 0;
    }
    items[1].pwd_last_set = 1;
    char *t = dir_replica_failure("dc2.lab.test", 60049, "wait_timeout", items, 8, "it went away");
    assert_string_equal(t, "ldap: replication wait: 7 of 8 account(s) not confirmed on "
                           "dc2.lab.test after 60.0 s (wait_timeout): IUSR_1 (its new password), "
                           "IUSR_2, IUSR_3, IUSR_4, IUSR_5 and 2 more; last error: it went away");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sam_rules),
        cmocka_unit_test(test_marker),
        cmocka_unit_test(test_sid),
        cmocka_unit_test(test_guid),
        cmocka_unit_test(test_unicode_pwd),
        cmocka_unit_test(test_sid_domain_rid),
        cmocka_unit_test(test_protected_groups),
        cmocka_unit_test(test_uac_problem),
        cmocka_unit_test(test_adoption_texts),
        cmocka_unit_test(test_replica_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
