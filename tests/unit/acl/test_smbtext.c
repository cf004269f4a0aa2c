/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for provision/smb/smbtext.c: libsmbclient's descriptor text
 * (as Samba 4.17 prints it), the decimal form written back, smbclient auth
 * files and URL path encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/ntfs/sddl.h"
#include "provision/smb/smbtext.h"

/* Printed by smbc_getxattr(url, "system.nt_sec_desc.*") in the lab. */
static const char lab_text[] =
    "REVISION:1,OWNER:S-1-5-32-544,GROUP:S-1-5-21-1260202332-694985844-3175454708-513,"
    "ACL:S-1-1-0:0/19/0x001200a9,ACL:S-1-5-32-544:0/3/0x001f01ff,"
    "ACL:S-1-5-21-1-2-3-1102:1/0/0x00100116";

static void test_parse_lab_text(void **state)
{
    struct ntfs_sd sd;
    char err[160];
    (void)state;
    assert_int_equal(smb_sd_from_text(lab_text, &sd, err, sizeof err), 0);
    assert_true(sd.has_owner && sd.has_group && sd.has_dacl);
    assert_int_equal(sd.control, NTFS_SD_SELF_RELATIVE | NTFS_SD_DACL_PRESENT);
    assert_int_equal(sd.ace_count, 3);
    char *sddl = ntfs_sddl_format(&sd);
    assert_string_equal(sddl, "O:BAG:S-1-5-21-1260202332-694985844-3175454708-513"
                              "D:(A;OICIID;0x1200a9;;;WD)(A;OICI;0x1f01ff;;;BA)"
                              "(D;;0x100116;;;S-1-5-21-1-2-3-1102)");
    free(sddl);
    ntfs_sd_free(&sd);
}

static void test_parse_separators_and_numbers(void **state)
{
    struct ntfs_sd sd;
    char err[160];
    (void)state;
    /* tabs and newlines separate too; decimal masks and 0x flags are read */
    assert_int_equal(smb_sd_from_text("REVISION:1\tOWNER:S-1-5-18\nACL:S-1-5-18:0/0x3/2032127\r\n",
                                      &sd, err, sizeof err),
                     0);
    assert_int_equal(sd.ace_count, 1);
    assert_int_equal(sd.aces[0].flags, 3);
    assert_int_equal(sd.aces[0].mask, 0x1f01ff);
    assert_false(sd.has_group);
    ntfs_sd_free(&sd);
    /* nothing at all: an empty DACL */
    assert_int_equal(smb_sd_from_text("", &sd, err, sizeof err), 0);
    assert_true(sd.has_dacl);
    assert_int_equal(sd.ace_count, 0);
    ntfs_sd_free(&sd);
}

static void test_parse_errors(void **state)
{
    struct ntfs_sd sd;
    char err[160];
    static const char *bad[] = {
        "REVISION:2",                               /* revision */
        "OWNER:Administrator",                      /* names are not asked for */
        "OWNER:S-1-5-18,OWNER:S-1-5-18",            /* twice */
        "ACL:S-1-5-18:5/0/0x1",                     /* object ACE type */
        "ACL:S-1-5-18:0/0",                         /* incomplete */
        "ACL:S-1-5-18:0/0/zz",                      /* not a number */
        "ACL:S-1-5-18:0/256/0x1",                   /* flags out of range */
        "ACL:S-1-5-18:0/0/0x1ffffffff",             /* mask out of range */
        "ACL:BUILTIN\\Administrators:0/0/0x1f01ff", /* not numeric */
        "MODE:0x10",                                /* DOS attributes are not asked for */
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (smb_sd_from_text(bad[i], &sd, err, sizeof err) == 0)
            fail_msg("accepted '%s'", bad[i]);
        assert_true(err[0] != '\0');
        assert_int_equal(sd.ace_count, 0);
        assert_null(sd.aces);
    }
}

static void test_to_text_is_decimal(void **state)
{
    struct ntfs_sd sd;
    char err[160];
    (void)state;
    assert_int_equal(smb_sd_from_text(lab_text, &sd, err, sizeof err), 0);
    char *t = smb_sd_to_text(&sd);
    /* decimal masks (libsmbclient misreads 0x), no owner or group */
    assert_string_equal(t, "ACL:S-1-1-0:0/19/1179817,ACL:S-1-5-32-544:0/3/2032127,"
                           "ACL:S-1-5-21-1-2-3-1102:1/0/1048854");
    struct ntfs_sd again;
    assert_int_equal(smb_sd_from_text(t, &again, err, sizeof err), 0);
    assert_int_equal(again.ace_count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(again.aces[i].mask, sd.aces[i].mask);
        assert_int_equal(again.aces[i].flags, sd.aces[i].flags);
        assert_int_equal(again.aces[i].type, sd.aces[i].type);
    }
    free(t);
    ntfs_sd_free(&again);
    /* an empty DACL cannot be written through libsmbclient */
    sd.ace_count = 0;
    assert_null(smb_sd_to_text(&sd));
    sd.ace_count = 3;
    ntfs_sd_free(&sd);
}

static void test_authfile(void **state)
{
    struct smb_authfile a;
    char err[160];
    (void)state;
    const char ok[] = "# comment\n; another\n\n  username = Administrator \n"
                      "password =  pa ss=word \ndomain=LAB\n";
    assert_int_equal(smb_authfile_parse(ok, strlen(ok), &a, err, sizeof err), 0);
    assert_string_equal(a.username, "Administrator");
    assert_string_equal(a.password, "pa ss=word");
    assert_string_equal(a.domain, "LAB");
    smb_authfile_free(&a);

    const char bs[] = "username = LAB\\svc_prov\r\npassword = x\r\n";
    assert_int_equal(smb_authfile_parse(bs, strlen(bs), &a, err, sizeof err), 0);
    assert_string_equal(a.username, "svc_prov");
    assert_string_equal(a.domain, "LAB");
    smb_authfile_free(&a);

    const char upn[] = "username = svc@LAB.TEST\npassword = x";
    assert_int_equal(smb_authfile_parse(upn, strlen(upn), &a, err, sizeof err), 0);
    assert_string_equal(a.username, "svc");
    assert_string_equal(a.domain, "LAB.TEST");
    smb_authfile_free(&a);

    static const char *bad[] = {
        "username = x\n",                          /* no password */
        "password = x\n",                          /* no user */
        "username = x\npassword = y\nrealm = z\n", /* unknown key */
        "username = x\nusername = y\npassword = z\n",
        "username x\npassword = y\n",
        "username = \\\npassword = y\n",
        /* an empty DOMAIN or REALM in the user name (found by fuzz_credentials) */
        "username = \\svc\npassword = y\n",
        "username = svc@\npassword = y\n",
        /* user and domain names are text: no control character, valid UTF-8 */
        "username = sv\x1b[31mc\npassword = y\n",
        "username = svc\npassword = y\ndomain = LA\007B\n", /* octal: \x07B is one escape */
        "username = sv\xff\npassword = y\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (smb_authfile_parse(bad[i], strlen(bad[i]), &a, err, sizeof err) == 0)
            fail_msg("accepted auth file %zu", i);
        assert_true(err[0] != '\0');
        assert_null(a.password);
    }
    /* with a domain line, the user name's own domain part does not matter */
    const char dom[] = "username = \\svc\npassword = y\ndomain = LAB\n";
    assert_int_equal(smb_authfile_parse(dom, strlen(dom), &a, err, sizeof err), 0);
    assert_string_equal(a.username, "svc");
    assert_string_equal(a.domain, "LAB");
    smb_authfile_free(&a);

    /* the password is never in the message */
    const char secret[] = "username = x\npassword = TopSecret99\nbogus = 1\n";
    assert_int_equal(smb_authfile_parse(secret, strlen(secret), &a, err, sizeof err), -1);
    assert_null(strstr(err, "TopSecret99"));
    assert_non_null(strstr(err, "line 3"));
}

static void test_url_encode(void **state)
{
    (void)state;
    char *u = smb_url_encode_path("shop site\\data/100%?#[x]");
    assert_string_equal(u, "shop%20site/data/100%25%3F%23%5Bx%5D");
    free(u);
    u = smb_url_encode_path("D$/caf\xc3\xa9/a'b(c)");
    assert_string_equal(u, "D$/caf%C3%A9/a'b(c)");
    free(u);
    u = smb_url_encode_path("");
    assert_string_equal(u, "");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_lab_text), cmocka_unit_test(test_parse_separators_and_numbers),
        cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_to_text_is_decimal),
        cmocka_unit_test(test_authfile),       cmocka_unit_test(test_url_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
