/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for ldap/account.c: sAMAccountName rules, the marker,
 * objectSid / objectGUID text forms (values read from the lab DC and
 * decoded with Samba's own NDR code), and the unicodePwd encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ldap/account.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sam_rules),   cmocka_unit_test(test_marker),
        cmocka_unit_test(test_sid),         cmocka_unit_test(test_guid),
        cmocka_unit_test(test_unicode_pwd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
