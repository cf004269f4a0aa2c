/* SPDX-License-Identifier: GPL-3.0-or-later */
/* IIS naming, binding and account-name rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "provision/iis/names.h"
#include "provision/site.h"

#include <string.h>

static void pool_names(void **state)
{
    (void)state;
    assert_null(iis_check_pool_name("shop.example.com"));
    assert_null(iis_check_pool_name(".NET v4.5 Classic"));
    const char *bad[] = {"",    "a/b", "a\\b", "a\"b", "a|b",   "a<b",    "a>b",
                         "a:b", "a*b", "a?b",  "a]b",  "a[b",   "a+b",    "a=b",
                         "a;b", "a,b", "a@b",  "a&b",  " lead", "trail ", "tab\there"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_non_null(iis_check_pool_name(bad[i]));
}

static void site_names(void **state)
{
    (void)state;
    assert_null(iis_check_site_name("Default Web Site"));
    assert_null(iis_check_site_name("shop.example.com"));
    assert_non_null(iis_check_site_name(""));
    assert_non_null(iis_check_site_name("a/b"));
    assert_non_null(iis_check_site_name("a?b"));
    assert_non_null(iis_check_site_name("a\\b"));
    assert_non_null(iis_check_site_name("new\nline"));
}

static void bindings_valid(void **state)
{
    (void)state;
    struct iis_binding b;
    assert_null(iis_parse_binding("http/*:80:shop.example.com", &b));
    assert_string_equal(b.protocol, "http");
    assert_string_equal(b.information, "*:80:shop.example.com");
    assert_int_equal(b.ssl_flags, 0);
    assert_null(iis_parse_binding("HTTPS/10.0.0.1:443:shop.example.com;sni", &b));
    assert_string_equal(b.protocol, "https");
    assert_int_equal(b.ssl_flags, 1);
    assert_null(iis_parse_binding("http/[2001:db8::1]:8080:", &b));
    assert_null(iis_parse_binding("http/*:80:*.example.com", &b));
    assert_null(iis_parse_binding("https/*:443:", &b)); /* no SNI: host optional */
    assert_null(iis_parse_binding("http/[::1]:80:x", &b));
}

static void bindings_invalid(void **state)
{
    (void)state;
    struct iis_binding b;
    const char *bad[] = {
        "*:80:x",                      /* no protocol */
        "ftp/*:21:x",                  /* protocol */
        "http/*:0:x",                  /* port 0 */
        "http/*:65536:x",              /* port too big */
        "http/*:08:x",                 /* leading zero */
        "http/*:80",                   /* no host part */
        "http/256.1.1.1:80:x",         /* IPv4 range */
        "http/1.2.3:80:x",             /* IPv4 parts */
        "http/[2001:db8::1:80:x",      /* IPv6 bracket */
        "http/[2001:zz::1]:80:x",      /* IPv6 hex */
        "http/[1::2::3]:80:x",         /* two :: */
        "http/*:80:www.*.example.com", /* wildcard not leftmost */
        "http/*:80:bad host",          /* space */
        "http/*:80:-x.example.com-",   /* trailing hyphen */
        "https/*:443:;sni",            /* SNI without a host */
        "http/*:80:x;sni",             /* SNI on http */
        "http/*:80:x;foo",             /* unknown option */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!iis_parse_binding(bad[i], &b))
            fail_msg("accepted bad binding %s", bad[i]);
    }
}

static void binding_keys_fold_case(void **state)
{
    (void)state;
    char a[320], b[320];
    iis_binding_key("http", "*:80:Shop.Example.COM", a, sizeof a);
    iis_binding_key("HTTP", "*:80:shop.example.com", b, sizeof b);
    assert_string_equal(a, b);
}

static void timespans(void **state)
{
    (void)state;
    assert_int_equal(iis_parse_timespan("00:20:00"), 1200);
    assert_int_equal(iis_parse_timespan("1.05:00:00"), 104400);
    assert_int_equal(iis_parse_timespan("24:00:00"), -1);
    assert_int_equal(iis_parse_timespan("0:20:00"), -1);
    assert_int_equal(iis_parse_timespan("00:60:00"), -1);
    assert_int_equal(iis_parse_timespan("abc"), -1);
}

static void windows_paths(void **state)
{
    (void)state;
    assert_null(check_windows_path("D:\\Sites\\shop\\wwwroot"));
    assert_null(check_windows_path("\\\\fs01\\sites\\shop"));
    assert_null(check_windows_path("%SystemDrive%\\inetpub\\wwwroot"));
    const char *bad[] = {"",
                         "Sites\\shop",
                         "/srv/shop",
                         "D:\\Sites\\..\\Windows",
                         "D:\\Sites\\.\\x",
                         "D:\\a/b",
                         "D:\\a|b",
                         "D:\\a\"b",
                         "D:\\a:b",
                         "\\\\?\\D:\\x",
                         "\\\\.\\pipe\\x",
                         "D:\\a\nb"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (!check_windows_path(bad[i]))
            fail_msg("accepted bad path %s", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_names),
        cmocka_unit_test(site_names),
        cmocka_unit_test(bindings_valid),
        cmocka_unit_test(bindings_invalid),
        cmocka_unit_test(binding_keys_fold_case),
        cmocka_unit_test(timespans),
        cmocka_unit_test(windows_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
