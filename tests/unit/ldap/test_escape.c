/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for ldap/escape.c: RFC 4515 filter values and RFC 4514 DN
 * values, with hostile input (filter injection, DN injection, NUL, bad
 * UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ldap/escape.h"

static void filter_is(const char *in, size_t n, const char *want)
{
    char *got = dir_escape_filter(in, n);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void dn_is(const char *in, size_t n, const char *want)
{
    char *got = dir_escape_dn_value(in, n);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

#define F(s, w)  filter_is(s, sizeof(s) - 1, w)
#define DN(s, w) dn_is(s, sizeof(s) - 1, w)

static void test_filter_plain(void **state)
{
    (void)state;
    F("IUSR_shop", "IUSR_shop");
    F("", "");
    F("a b.c-d", "a b.c-d");
}

static void test_filter_hostile(void **state)
{
    (void)state;
    F("*", "\\2a");
    F("x*)(", "x\\2a\\29\\28");
    F("*)(objectClass=*", "\\2a\\29\\28objectClass=\\2a");
    F("a)(|(sAMAccountName=*", "a\\29\\28|\\28sAMAccountName=\\2a");
    F("\\", "\\5c");
    F("\\2a", "\\5c2a");
    F("\"quoted\"", "\"quoted\"");
    F("it's", "it's");
    F(",CN=x", ",CN=x");
    /* NUL inside a length-delimited value is escaped, not a terminator */
    F("a\0b", "a\\00b");
    F("\0", "\\00");
}

static void test_filter_utf8(void **state)
{
    (void)state;
    F("Jürgen", "Jürgen");
    F("日本*", "日本\\2a");
    F("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80");
    /* broken UTF-8 is refused */
    assert_null(dir_escape_filter("\xC3", 1));
    assert_null(dir_escape_filter("a\xFF", 2));
    assert_null(dir_escape_filter("\xED\xA0\x80", 3)); /* surrogate */
    assert_null(dir_escape_filter("\xC0\xAF", 2));     /* overlong '/' */
    assert_null(dir_escape_filter(NULL, 0));
}

static void test_filter_bytes(void **state)
{
    (void)state;
    const unsigned char b[] = {0x00, 0x2a, 0xff, 0x10};
    char *got = dir_escape_filter_bytes(b, sizeof b);
    assert_string_equal(got, "\\00\\2a\\ff\\10");
    free(got);
    got = dir_escape_filter_bytes(b, 0);
    assert_string_equal(got, "");
    free(got);
}

static void test_dn_specials(void **state)
{
    (void)state;
    DN("IUSR_shop", "IUSR_shop");
    DN(",CN=x", "\\,CN\\=x");
    DN("Web, Inc.", "Web\\, Inc.");
    DN("a+b", "a\\+b");
    DN("\"q\"", "\\\"q\\\"");
    DN("\\", "\\\\");
    DN("<x>", "\\<x\\>");
    DN("a;b", "a\\;b");
    DN("a=b", "a\\=b");
    DN("x*)(", "x*)(");
}

static void test_dn_edges(void **state)
{
    (void)state;
    DN(" lead", "\\ lead");
    DN("trail ", "trail\\ ");
    DN(" ", "\\ ");
    DN("  ", "\\ \\ ");
    DN("a b", "a b");
    DN("#hash", "\\#hash");
    DN("a#b", "a#b");
    DN("a\0b", "a\\00b");
    DN("line\nbreak", "line\\0abreak");
    DN("cr\r", "cr\\0d");
    DN("del\x7f", "del\\7f");
    DN("", "");
}

static void test_dn_utf8(void **state)
{
    (void)state;
    DN("Müller, Jürgen", "Müller\\, Jürgen");
    DN("日本", "日本");
    assert_null(dir_escape_dn_value("\xE6\x97", 2));
    assert_null(dir_escape_dn_value("ok\x80", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_plain), cmocka_unit_test(test_filter_hostile),
        cmocka_unit_test(test_filter_utf8),  cmocka_unit_test(test_filter_bytes),
        cmocka_unit_test(test_dn_specials),  cmocka_unit_test(test_dn_edges),
        cmocka_unit_test(test_dn_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
