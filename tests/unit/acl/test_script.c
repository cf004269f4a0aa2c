/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Golden tests for the script back ends: the exact PowerShell and icacls
 * text for folders with awkward names (spaces, quotes, $, backticks, %,
 * &, ^, !, brackets, typographic quotes, non-ASCII), grants with every
 * flag, a deny and a custom mask, protection and removal. The expected
 * files are in tests/unit/acl/golden; ACL_GOLDEN_UPDATE=1 rewrites them.
 * Runs from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../testmsg.h"
#include "provision/ntfs/grants.h"

#define POOL   "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"
#define GOLDEN "tests/unit/acl/golden/"

static struct ntfs_ace ace(uint8_t type, uint8_t flags, uint32_t mask, const char *sid)
{
    struct ntfs_ace a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.flags = flags;
    a.mask = mask;
    assert_int_equal(ntfs_sid_parse(sid, &a.sid), 0);
    return a;
}

#define OICI (NTFS_ACE_OI | NTFS_ACE_CI)

static const char *site = "it's $(shop) `x` 100% & co ^! [1]";
static const char *odd = "caf\xc3\xa9 \xe2\x80\x98quoted\xe2\x80\x99";

static void apply_all(struct acl_backend *b, struct changes *c, struct diag *d)
{
    char root_rel[128], wwwroot[160], data[160], uploads[200], oddrel[64];
    snprintf(root_rel, sizeof root_rel, "%s", site);
    snprintf(wwwroot, sizeof wwwroot, "%s\\wwwroot", site);
    snprintf(data, sizeof data, "%s\\data", site);
    snprintf(uploads, sizeof uploads, "%s\\data\\uploads", site);
    snprintf(oddrel, sizeof oddrel, "%s", odd);
    struct acl_grant_spec s[] = {
        {root_rel, ace(0, OICI, NTFS_RIGHTS_F, "S-1-5-32-544"), true, false},
        {root_rel, ace(0, OICI, NTFS_RIGHTS_F, "S-1-5-18"), true, false},
        {root_rel, ace(0, 0, NTFS_RIGHTS_RX, POOL), true, false},
        {wwwroot, ace(0, OICI, NTFS_RIGHTS_RX, POOL), false, false},
        {wwwroot, ace(0, OICI, NTFS_RIGHTS_R, "S-1-5-17"), false, false},
        {data, ace(0, OICI, NTFS_RIGHTS_M, POOL), false, false},
        {uploads, ace(1, NTFS_ACE_OI | NTFS_ACE_IO, NTFS_RIGHTS_W, "S-1-5-17"), false, false},
        {uploads, ace(0, NTFS_ACE_CI | NTFS_ACE_NP, 0x000200a9u, "S-1-5-17"), false, false},
        {oddrel, ace(0, OICI, 0x10000000u, "S-1-5-21-1-2-3-1104"), false, false},
    };
    size_t n = sizeof s / sizeof s[0];
    assert_int_equal(acl_apply_site(b, s, n, false, c, d), 0);
    size_t before = c->count;
    /* the same again adds nothing to the script and reports nothing */
    assert_int_equal(acl_apply_site(b, s, n, false, c, d), 0);
    assert_int_equal(c->count, before);
    /* and the removal of the wwwroot grants and of the empty uploads */
    assert_int_equal(acl_remove_site(b, s + 3, 2, false, false, c, d), 0);
    assert_int_equal(acl_remove_site(b, s + 6, 2, true, false, c, d), 0);
    assert_int_equal(d->count, 0);
}

static void check_golden(const char *name, const char *text)
{
    char *path = xasprintf(GOLDEN "%s", name);
    if (getenv("ACL_GOLDEN_UPDATE")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    }
    char *want;
    size_t len;
    if (read_file(path, &want, &len) != 0)
        fail_msg("cannot read %s (run from the repository root)", path);
    if (strcmp(want, text) != 0) {
        FILE *f = fopen("/tmp/acl-golden-got", "wb");
        if (f) {
            fputs(text, f);
            fclose(f);
        }
        fail_msg("%s differs (what was made: /tmp/acl-golden-got)", path);
    }
    free(want);
    free(path);
}

static void run_flavour(const char *loc, const char *root, const char *golden, bool with_crlf)
{
    struct acl_backend *b;
    struct changes c;
    struct diag d;
    struct acl_backend_options o = {.script_root = root};
    changes_init(&c);
    diag_init(&d);
    assert_int_equal(acl_backend_open(loc, &o, &b, &d), 0);
    apply_all(b, &c, &d);
    char *text = acl_script_render(b);
    check_golden(golden, text);
    /* every line ends in CRLF */
    if (with_crlf)
        for (const char *p = strchr(text, '\n'); p; p = strchr(p + 1, '\n'))
            assert_true(p > text && p[-1] == '\r');
    free(text);
    /* close writes the same text */
    assert_int_equal(acl_backend_close(b, &d), 0);
    char *written;
    size_t len;
    assert_int_equal(read_file(loc + 7, &written, &len), 0);
    check_golden(golden, written);
    free(written);
    remove(loc + 7);
    changes_free(&c);
    diag_free(&d);
}

static void test_powershell(void **state)
{
    (void)state;
    run_flavour("script:/tmp/acl-golden-test.ps1", "D:\\Sites (web)\\it's", "site.ps1", true);
}

static void test_powershell_without_root(void **state)
{
    (void)state;
    run_flavour("script:/tmp/acl-golden-test2.ps1", NULL, "site-noroot.ps1", true);
}

static void test_cmd(void **state)
{
    (void)state;
    run_flavour("script:/tmp/acl-golden-test.cmd", "D:\\Sites 100%\\", "site.cmd", true);
}

static void test_report(void **state)
{
    struct acl_backend *b;
    struct changes c;
    struct diag d;
    (void)state;
    changes_init(&c);
    diag_init(&d);
    assert_int_equal(acl_backend_open("script:/tmp/acl-golden-test3.cmd", NULL, &b, &d), 0);
    struct acl_grant_spec s[] = {
        {"a\\data", ace(0, OICI, NTFS_RIGHTS_M, POOL), false, false},
    };
    /* a dry run reports and leaves the script as it was */
    char *empty = acl_script_render(b);
    assert_int_equal(acl_apply_site(b, s, 1, true, &c, &d), 0);
    assert_int_equal(c.count, 2);
    char *after = acl_script_render(b);
    assert_string_equal(empty, after);
    free(empty);
    free(after);
    changes_free(&c);
    assert_int_equal(acl_apply_site(b, s, 1, false, &c, &d), 0);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.items[0].op, '+');
    assert_string_equal(c.items[0].kind, "folder");
    assert_string_equal(c.items[0].object, "a\\data");
    assert_string_equal(c.items[1].kind, "grant");
    assert_string_equal(c.items[1].attrs[0].new_value, "(A;OICI;0x1301bf;;;" POOL ")");
    changes_free(&c);
    assert_int_equal(acl_backend_close(b, &d), 0);
    remove("/tmp/acl-golden-test3.cmd");
    diag_free(&d);
}

/* One run of the script back end: folder a\data with a Modify grant for
 * site's pool, or no step at all. */
static int one_run(const char *loc, const char *site_rel, struct diag *d)
{
    struct acl_backend *b;
    struct changes c;
    changes_init(&c);
    if (acl_backend_open(loc, NULL, &b, d) != 0)
        return -1;
    if (site_rel) {
        struct acl_grant_spec s[] = {
            {site_rel, ace(0, OICI, NTFS_RIGHTS_M, POOL), false, false},
        };
        assert_int_equal(acl_apply_site(b, s, 1, false, &c, d), 0);
    }
    changes_free(&c);
    return acl_backend_close(b, d);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A second run appends its section: the first run's grants stay (plan
 * says "appends"), the prologue is written once, a run without steps adds
 * nothing, and a file that is not such a script is refused untouched. */
static void test_append(void **state)
{
    (void)state;
    const char *loc = "script:/tmp/acl-golden-append.cmd", *path = loc + 7;
    struct diag d;
    diag_init(&d);
    remove(path);
    assert_int_equal(one_run(loc, "one\\data", &d), 0);
    assert_int_equal(one_run(loc, "two\\data", &d), 0);
    assert_int_equal(one_run(loc, NULL, &d), 0);
    char *text;
    size_t len;
    assert_int_equal(read_file(path, &text, &len), 0);
    assert_int_equal(count(text, "@echo off"), 1);
    assert_int_equal(count(text, "\n:fail\r\n"), 1);
    assert_int_equal(count(text, "rem ---- provision run of "), 2);
    assert_non_null(strstr(text, "\\one\\data"));
    assert_non_null(strstr(text, "\\two\\data"));
    assert_true(strstr(text, "\\one\\data") < strstr(text, "\\two\\data"));
    free(text);

    /* PowerShell: the BOM once, at the start. */
    const char *ps = "script:/tmp/acl-golden-append.ps1";
    remove(ps + 7);
    assert_int_equal(one_run(ps, "one\\data", &d), 0);
    assert_int_equal(one_run(ps, "two\\data", &d), 0);
    assert_int_equal(read_file(ps + 7, &text, &len), 0);
    assert_int_equal(count(text, "\xEF\xBB\xBF"), 1);
    assert_memory_equal(text, "\xEF\xBB\xBF", 3);
    assert_int_equal(count(text, "# ---- provision run of "), 2);
    assert_int_equal(count(text, "param("), 1);
    free(text);
    remove(ps + 7);

    /* Another file at that path is not extended, nor replaced. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("@echo off\r\necho mine\r\n", f);
    fclose(f);
    assert_int_equal(one_run(loc, "three\\data", &d), -1);
    assert_said(&d, "does not start as this run's script would");
    assert_int_equal(read_file(path, &text, &len), 0);
    assert_string_equal(text, "@echo off\r\necho mine\r\n");
    free(text);
    remove(path);
    diag_free(&d);
}

int main(void)
{
    setenv("SOURCE_DATE_EPOCH", "1796083200", 1); /* fixed section headers */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_powershell),
        cmocka_unit_test(test_powershell_without_root),
        cmocka_unit_test(test_cmd),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
