/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for provision/ntfs/sddl.c: round trips, aliases, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/ntfs/sddl.h"

#define POOL_SID "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"

static void expect_format(const char *in, const char *out)
{
    struct ntfs_sd sd, back;
    char err[160];
    char *t, *t2;
    uint8_t *buf;
    size_t len;

    if (ntfs_sddl_parse(in, &sd, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", in, err);
    t = ntfs_sddl_format(&sd);
    assert_non_null(t);
    if (strcmp(t, out) != 0)
        fail_msg("'%s' formatted as '%s', expected '%s'", in, t, out);
    /* Printed text parses back to the same descriptor. */
    if (ntfs_sddl_parse(t, &back, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", t, err);
    assert_true(ntfs_sd_equal(&sd, &back));
    t2 = ntfs_sddl_format(&back);
    assert_string_equal(t, t2);
    /* And through the binary form. */
    ntfs_sd_free(&back);
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_int_equal(ntfs_sd_decode(buf, len, &back), 0);
    assert_true(ntfs_sd_equal(&sd, &back));
    free(buf);
    free(t);
    free(t2);
    ntfs_sd_free(&back);
    ntfs_sd_free(&sd);
}

static void test_roundtrip(void **state)
{
    static const char *same[] = {
        "O:BAG:SYD:PAI(A;OICI;0x1301bf;;;" POOL_SID ")(A;;0x1200a9;;;S-1-5-17)",
        "O:SYG:SYD:(D;;0x100116;;;WD)(A;OICIIOID;0x10000000;;;CO)",
        "D:PARAI(A;NP;0x1;;;S-1-5-21-1-2-3-500)",
        "D:NO_ACCESS_CONTROL",
        "D:PNO_ACCESS_CONTROL",
        "D:",
        "D:P",
        "O:S-1-5-21-1-2-3-1001",
        "G:BU",
        "",
        ("D:(A;;0x1;;;AU)(A;;0x1;;;NS)(A;;0x1;;;LS)(A;;0x1;;;IU)(A;;0x1;;;AN)(A;;0x1;;;CG)"
         "(A;;0x1;;;BU)(A;;0x1;;;BA)(A;;0x0;;;S-1-5-32-568)"),
        "D:(A;OICINPIOID;0xffffffff;;;S-1-0xffffffffffff-4294967295)",
    };
    (void)state;
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        expect_format(same[i], same[i]);
}

static void test_normalise(void **state)
{
    (void)state;
    expect_format("O:BA G:SY D:PAI (A;OICI;FA;;;SY) (A;;FRFX;;;BU)",
                  "O:BAG:SYD:PAI(A;OICI;0x1f01ff;;;SY)(A;;0x1200a9;;;BU)");
    expect_format("D:AIP(A;CIOI;GRGX;;;S-1-5-32-545)", "D:PAI(A;OICI;0xa0000000;;;BU)");
    expect_format("D:(A;;GAGRGWGX;;;S-1-1-0)", "D:(A;;0xf0000000;;;WD)");
    expect_format("D:(A;;SDRCWDWO;;;SY)", "D:(A;;0xf0000;;;SY)");
    expect_format("D:(A;;0X1F01FF;;;SY)", "D:(A;;0x1f01ff;;;SY)");
    expect_format("D:(A;;0x00000001;;;SY)", "D:(A;;0x1;;;SY)");
    expect_format("D:(A;;2032127;;;SY)", "D:(A;;0x1f01ff;;;SY)");
    expect_format("D:(A;;FW;;;SY)", "D:(A;;0x120116;;;SY)");
    expect_format("D:(A;;FX;;;SY)", "D:(A;;0x1200a0;;;SY)");
    expect_format("G:SYO:BA", "O:BAG:SY");
    expect_format("D:(A;IDCI;0x1;;;S-1-0x000000000005-18)", "D:(A;CIID;0x1;;;SY)");
    expect_format("\tO:BA\n", "O:BA");
    expect_format("O:S-1-5-32-544G:S-1-5-18D:P", "O:BAG:SYD:P");
}

static void test_large(void **state)
{
    /* 4095 ACEs: the most an ACL can hold; one more is refused. */
    size_t cap = 4096 * 40 + 64, n = 0;
    char *s = malloc(cap), err[128];
    struct ntfs_sd sd;
    char *t;
    (void)state;
    n += (size_t)snprintf(s, cap, "D:");
    for (int i = 0; i < 4095; i++)
        n += (size_t)snprintf(s + n, cap - n, "(A;;0x%x;;;S-1-5)", i);
    assert_int_equal(ntfs_sddl_parse(s, &sd, err, sizeof err), 0);
    assert_int_equal(sd.ace_count, 4095);
    t = ntfs_sddl_format(&sd);
    assert_string_equal(t, s);
    free(t);
    ntfs_sd_free(&sd);
    snprintf(s + n, cap - n, "(A;;0x1;;;SY)");
    assert_int_equal(ntfs_sddl_parse(s, &sd, err, sizeof err), -1);
    assert_non_null(strstr(err, "too many ACEs"));
    free(s);
}

static void expect_error(const char *in, const char *msg)
{
    struct ntfs_sd sd;
    char err[200];
    if (ntfs_sddl_parse(in, &sd, err, sizeof err) != -1)
        fail_msg("'%s' accepted", in);
    if (strcmp(err, msg) != 0)
        fail_msg("'%s': got '%s', expected '%s'", in, err, msg);
    assert_false(sd.has_dacl);
    assert_null(sd.aces);
    assert_int_equal(sd.ace_count, 0);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("X:BA", "at offset 0: expected O:, G: or D:");
    expect_error("O", "at offset 0: expected O:, G: or D:");
    expect_error("O:", "at offset 2: missing SID");
    expect_error("O:XX", "at offset 2: unknown SID alias 'XX'");
    expect_error("O:sy", "at offset 2: unknown SID alias 'sy'");
    expect_error("O:S-1-5-", "at offset 2: invalid SID 'S-1-5-'");
    expect_error("O:Bob", "at offset 2: unknown SID 'Bob' (use S-1-... or an alias)");
    expect_error("O:BAO:SY", "at offset 4: O: given twice");
    expect_error("G:BAG:SY", "at offset 4: G: given twice");
    expect_error("D:(A;;0x1;;;SY)D:", "at offset 15: D: given twice");
    expect_error("S:(AU;FA;GR;;;WD)", "at offset 0: SACL (S:) is not supported");
    expect_error("O:BAS:", "at offset 4: SACL (S:) is not supported");
    expect_error("D:Q", "at offset 2: unknown DACL flag 'Q' (use P, AI, AR)");
    expect_error("D:PP", "at offset 3: DACL flag 'P' given twice");
    expect_error("D:AIAI", "at offset 4: DACL flag 'AI' given twice");
    expect_error("D:ARAR", "at offset 4: DACL flag 'AR' given twice");
    expect_error("D:AX", "at offset 2: unknown DACL flag 'A' (use P, AI, AR)");
    expect_error("D:(X;;0x1;;;SY)", "at offset 3: unsupported ACE type 'X' (use A or D)");
    expect_error("D:(OA;;0x1;;;SY)", "at offset 3: unsupported ACE type 'OA' (use A or D)");
    expect_error("D:(AU;;0x1;;;SY)", "at offset 3: unsupported ACE type 'AU' (use A or D)");
    expect_error("D:(;;0x1;;;SY)", "at offset 3: missing ACE type");
    expect_error("D:(A", "at offset 4: expected ';' after ACE type");
    expect_error("D:(A;XX;0x1;;;SY)",
                 "at offset 5: unknown ACE flag 'XX' (use OI, CI, NP, IO, ID)");
    expect_error("D:(A;SA;0x1;;;SY)",
                 "at offset 5: unknown ACE flag 'SA' (use OI, CI, NP, IO, ID)");
    expect_error("D:(A;OIOI;0x1;;;SY)", "at offset 7: ACE flag 'OI' given twice");
    expect_error("D:(A;OIC;0x1;;;SY)", "at offset 7: unknown ACE flag 'C'");
    expect_error("D:(A;OI", "at offset 7: expected ';' after ACE flags");
    expect_error("D:(A;;;;;SY)", "at offset 6: missing access rights");
    expect_error("D:(A;;0x;;;SY)", "at offset 6: missing hex digits after 0x");
    expect_error("D:(A;;0x1g;;;SY)", "at offset 9: bad hex digit 'g' in access mask");
    expect_error("D:(A;;0x100000000;;;SY)", "at offset 6: access mask larger than 32 bits");
    expect_error("D:(A;;4294967296;;;SY)", "at offset 6: access mask larger than 32 bits");
    expect_error("D:(A;;12a;;;SY)", "at offset 8: bad digit 'a' in access mask");
    expect_error("D:(A;;QQ;;;SY)", "at offset 6: unknown access right 'QQ'");
    expect_error("D:(A;;F;;;SY)", "at offset 6: unknown access right 'F'");
    expect_error("D:(A;;FAF;;;SY)", "at offset 8: unknown access right 'F'");
    expect_error("D:(A;;0x1", "at offset 9: expected ';' after access rights");
    expect_error("D:(A;;0x1)", "at offset 9: expected ';' after access rights");
    expect_error("D:(A;;0x1;abc;;SY)", "at offset 10: object GUIDs are not supported");
    expect_error("D:(A;;0x1;;abc;SY)", "at offset 11: object GUIDs are not supported");
    expect_error("D:(A;;0x1;)", "at offset 10: expected ';' after object GUID");
    expect_error("D:(A;;0x1;;;SY;x)",
                 "at offset 14: unexpected ';' (resource attributes are not supported)");
    expect_error("D:(A;;0x1;;;SY", "at offset 14: missing ')' at end of ACE");
    expect_error("D:(A;;0x1;;;SY(", "at offset 14: missing ')' at end of ACE");
    expect_error("D:(A;;0x1;;;)", "at offset 12: missing SID");
    expect_error("D:(A;;0x1;;;S-1-5-18 )", "at offset 12: invalid SID 'S-1-5-18 '");
    expect_error("D:NO_ACCESS_CONTROL(A;;0x1;;;SY)",
                 "at offset 19: a NULL DACL (NO_ACCESS_CONTROL) cannot hold ACEs");
    expect_error("D:NO_ACCESS_CONTROLNO_ACCESS_CONTROL",
                 "at offset 19: NO_ACCESS_CONTROL given twice");
    expect_error("O:BA junk", "at offset 5: expected O:, G: or D:");
    expect_error("D:(A;;0x1;;;SY)x", "at offset 15: expected O:, G: or D:");
    expect_error("D:(A;;0x1;;;SY)(A;;0x1;;;SY", "at offset 27: missing ')' at end of ACE");
}

static void test_error_buffers(void **state)
{
    struct ntfs_sd sd;
    char small[12];
    (void)state;
    memset(small, 'x', sizeof small);
    assert_int_equal(ntfs_sddl_parse("D:(A;;QQ;;;SY)", &sd, small, sizeof small), -1);
    assert_string_equal(small, "at offset 6");
    assert_int_equal(ntfs_sddl_parse("D:(A;;QQ;;;SY)", &sd, NULL, 0), -1);
    assert_int_equal(ntfs_sddl_parse("D:(A;;QQ;;;SY)", &sd, small, 0), -1);
    assert_int_equal(ntfs_sddl_parse(NULL, &sd, small, sizeof small), -1);
    /* Success clears err. */
    assert_int_equal(ntfs_sddl_parse("D:", &sd, small, sizeof small), 0);
    assert_string_equal(small, "");
    ntfs_sd_free(&sd);
}

static void test_format_ace(void **state)
{
    struct ntfs_ace a;
    char buf[NTFS_SDDL_ACE_MAX], tiny[6];
    (void)state;
    memset(&a, 0, sizeof a);
    a.type = NTFS_ACE_DENY;
    a.flags = NTFS_ACE_OI | NTFS_ACE_IO | NTFS_ACE_CI;
    a.mask = NTFS_RIGHTS_W;
    assert_int_equal(ntfs_sid_parse("S-1-5-17", &a.sid), 0);
    ntfs_sddl_format_ace(&a, buf, sizeof buf);
    assert_string_equal(buf, "(D;OICIIO;0x100116;;;S-1-5-17)");
    ntfs_sddl_format_ace(&a, tiny, sizeof tiny);
    assert_string_equal(tiny, "(D;OI");
    /* Longest possible ACE fits. */
    a.flags = 0xFF;
    a.mask = 0xFFFFFFFF;
    assert_int_equal(ntfs_sid_parse("S-1-0xffffffffffff-4294967295-4294967295-4294967295-"
                                    "4294967295-4294967295-4294967295-4294967295-4294967295-"
                                    "4294967295-4294967295-4294967295-4294967295-4294967295-"
                                    "4294967295-4294967295",
                                    &a.sid),
                     0);
    ntfs_sddl_format_ace(&a, buf, sizeof buf);
    assert_true(strlen(buf) < sizeof buf - 1);
    assert_int_equal(buf[strlen(buf) - 1], ')');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_large),         cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_buffers), cmocka_unit_test(test_format_ace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
