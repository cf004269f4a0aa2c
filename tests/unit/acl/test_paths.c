/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for the back-end common part (grants.c): relative-path checks,
 * location strings and the read-back comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/ntfs/backend.h"
#include "provision/ntfs/sddl.h"

static void test_good_paths(void **state)
{
    static const struct {
        const char *in, *norm;
    } good[] = {
        {"a", "a"},
        {"shop.example.com\\data", "shop.example.com/data"},
        {"shop.example.com/wwwroot/img", "shop.example.com/wwwroot/img"},
        {"my site\\$data's `x` & y%z", "my site/$data's `x` & y%z"},
        {"caf\xc3\xa9\\d\xc3\xa9j\xc3\xa0", "caf\xc3\xa9/d\xc3\xa9j\xc3\xa0"},
        {"a.b\\.hidden", "a.b/.hidden"},
        {"console\\nul1", "console/nul1"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct diag d;
        char *norm;
        diag_init(&d);
        if (acl_path_check(good[i].in, false, &norm, &d) != 0)
            fail_msg("refused '%s': %s", good[i].in, d.count ? d.msgs[0] : "?");
        assert_string_equal(norm, good[i].norm);
        free(norm);
        diag_free(&d);
    }
}

static void test_bad_paths(void **state)
{
    static const char *bad[] = {
        "",
        "..",
        ".",
        "a\\..\\..\\b",
        "a/../b",
        "\\\\server\\share\\x",
        "//server/share",
        "\\abs",
        "/abs",
        "C:",
        "C:\\Windows",
        "file.txt:stream",
        "a\tb",
        "a\nb",
        "a\x7f",
        "a//b",
        "a\\",
        "a.",
        "a ",
        "CON",
        "x\\nul.txt",
        "COM1",
        "lpt9.log",
        "a<b",
        "a>b",
        "a|b",
        "a?b",
        "a*b",
        "a\"b",
        "\xff\xfe",
        "caf\xc3",
    };
    char *norm;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct diag d;
        diag_init(&d);
        if (acl_path_check(bad[i], false, &norm, &d) == 0)
            fail_msg("accepted bad path %zu", i);
        assert_null(norm);
        assert_int_equal(d.count, 1);
        diag_free(&d);
    }
    char longc[300];
    memset(longc, 'x', sizeof longc - 1);
    longc[sizeof longc - 1] = '\0';
    struct diag d;
    diag_init(&d);
    assert_int_equal(acl_path_check(longc, false, &norm, &d), -1);
    /* the root only when asked for */
    assert_int_equal(acl_path_check("", true, &norm, &d), 0);
    assert_string_equal(norm, "");
    free(norm);
    diag_free(&d);
}

static void test_locations(void **state)
{
    static const char *bad[] = {
        "",
        "ftp://host/share",
        "smb://",
        "smb://host",
        "smb://host/",
        "smb://user@host/share",
        "smb://host/share?opt=1",
        "smb://host/share/../x",
        "smb://host/share/a%20b",
        "smb://-host/share",
        "smb://ho st/share",
        "script:/tmp/out.txt",
        "script:out.ps1",
        "script:/nonexistent-folder-xyz/out.ps1",
        "relative/path",
        "C:\\sites",
        "\\\\server\\share",
        "/nonexistent-folder-xyz",
        "/tmp", /* exists but is not ntfs-3g */
        "smb://host/sh\x01re",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct diag d;
        struct acl_backend *b = (struct acl_backend *)1;
        diag_init(&d);
        if (acl_backend_open(bad[i], NULL, &b, &d) == 0)
            fail_msg("accepted location '%s'", bad[i]);
        assert_null(b);
        assert_true(d.count >= 1);
        diag_free(&d);
    }
    /* scripts open without touching anything until closed */
    struct diag d;
    struct acl_backend *b;
    diag_init(&d);
    assert_int_equal(acl_backend_open("script:/tmp/acl-unit-test.PS1", NULL, &b, &d), 0);
    assert_int_equal(acl_backend_kind(b), ACL_BACKEND_SCRIPT_PS1);
    assert_int_equal(acl_backend_caps(b), 0);
    assert_string_equal(acl_backend_name(b), "PowerShell script");
    /* descriptor operations are refused with a message */
    struct ntfs_sd sd;
    assert_int_equal(acl_read_sd(b, "a", &sd, &d), -1);
    assert_int_equal(d.count, 1);
    /* closing without writing anything is allowed: remove the file after */
    assert_int_equal(acl_backend_close(b, &d), 0);
    assert_int_equal(remove("/tmp/acl-unit-test.PS1"), 0);
    /* an SMB location opens without network traffic */
    struct smb_options so = {.kerberos = true};
    struct acl_backend_options o = {.smb_opts = &so};
    assert_int_equal(acl_backend_open("smb://files.example.com/D$/sites", &o, &b, &d), 0);
    assert_int_equal(acl_backend_kind(b), ACL_BACKEND_SMB);
    assert_int_equal(acl_backend_caps(b), ACL_CAP_DESCRIPTORS);
    assert_int_equal(acl_backend_close(b, &d), 0);
    diag_free(&d);
}

static void sd_of(const char *sddl, struct ntfs_sd *sd)
{
    char err[128];
    if (ntfs_sddl_parse(sddl, sd, err, sizeof err) != 0)
        fail_msg("%s: %s", sddl, err);
}

static void test_equivalent(void **state)
{
    struct ntfs_sd a, b;
    char why[200];
    (void)state;
    /* the order libsmbclient writes: same groups, other order inside */
    sd_of("O:BAG:SYD:PAI(D;;0x100116;;;S-1-5-17)(A;OICI;0x1301bf;;;S-1-5-82-1-2-3-4-5)"
          "(A;;0x1200a9;;;S-1-5-17)(A;OICIID;0x1f01ff;;;SY)(A;OICIID;0x1f01ff;;;BA)",
          &a);
    sd_of("O:BAG:SYD:(D;;0x100116;;;S-1-5-17)(A;;0x1200a9;;;S-1-5-17)"
          "(A;OICI;0x1301bf;;;S-1-5-82-1-2-3-4-5)(A;OICIID;0x1f01ff;;;BA)"
          "(A;OICIID;0x1f01ff;;;SY)(A;OICIID;0x1f01ff;;;SY)",
          &b);
    assert_true(acl_sd_equivalent(&a, &b, ACL_CAP_DESCRIPTORS, why, sizeof why));
    /* with the control bits stored, PAI vs nothing differs */
    assert_false(acl_sd_equivalent(&a, &b, ACL_CAP_DESCRIPTORS | ACL_CAP_CONTROL, why, sizeof why));
    assert_non_null(strstr(why, "control"));
    /* exact back ends compare in order */
    assert_false(acl_sd_equivalent(&a, &b, ACL_CAP_DESCRIPTORS | ACL_CAP_EXACT, why, sizeof why));
    ntfs_sd_free(&b);
    /* an ACE moved from explicit to inherited is a difference */
    sd_of("O:BAG:SYD:(D;;0x100116;;;S-1-5-17)(A;ID;0x1200a9;;;S-1-5-17)"
          "(A;OICI;0x1301bf;;;S-1-5-82-1-2-3-4-5)(A;OICIID;0x1f01ff;;;BA)"
          "(A;OICIID;0x1f01ff;;;SY)",
          &b);
    assert_false(acl_sd_equivalent(&a, &b, ACL_CAP_DESCRIPTORS, why, sizeof why));
    assert_non_null(strstr(why, "S-1-5-17"));
    ntfs_sd_free(&b);
    /* a missing ACE */
    sd_of("O:BAG:SYD:(D;;0x100116;;;S-1-5-17)(A;;0x1200a9;;;S-1-5-17)"
          "(A;OICIID;0x1f01ff;;;BA)(A;OICIID;0x1f01ff;;;SY)",
          &b);
    assert_false(acl_sd_equivalent(&a, &b, ACL_CAP_DESCRIPTORS, why, sizeof why));
    assert_non_null(strstr(why, "missing"));
    ntfs_sd_free(&b);
    /* generic rights stored mapped (Samba) */
    ntfs_sd_free(&a);
    sd_of("O:BAG:SYD:(A;OICIIO;GA;;;CO)", &a);
    sd_of("O:BAG:SYD:(A;OICIIO;0x1f01ff;;;CO)", &b);
    assert_true(acl_sd_equivalent(&a, &b, ACL_CAP_DESCRIPTORS, why, sizeof why));
    ntfs_sd_free(&b);
    /* another owner */
    sd_of("O:SYG:SYD:(A;OICIIO;GA;;;CO)", &b);
    assert_false(acl_sd_equivalent(&a, &b, ACL_CAP_DESCRIPTORS, why, sizeof why));
    ntfs_sd_free(&b);
    ntfs_sd_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_paths),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_equivalent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
