/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for provision/ntfs/sd.c: byte-exact encode/decode, malformed
 * input, canonical order, merge/remove and inheritance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/ntfs/sd.h"
#include "provision/ntfs/sddl.h"

#define POOL_SID "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"

/* O:BAG:SYD:PAI(A;OICI;0x1301bf;;;<DefaultAppPool>)(A;;0x1200a9;;;S-1-5-17)
 * laid out by hand from MS-DTYP 2.4.6 in Windows' order: header, DACL, owner,
 * group (no SACL). */
/* clang-format off */
static const uint8_t sd_pool[] = {
    /* header: revision 1, sbz1, control 0x9404 (SR|DACL_PROTECTED|AI|DP) */
    0x01, 0x00, 0x04, 0x94,
    0x58, 0x00, 0x00, 0x00, /* owner at 0x58 */
    0x68, 0x00, 0x00, 0x00, /* group at 0x68 */
    0x00, 0x00, 0x00, 0x00, /* no SACL */
    0x14, 0x00, 0x00, 0x00, /* DACL at 0x14 */
    /* 0x14 DACL: revision 2, sbz1, size 0x44, 2 ACEs, sbz2 */
    0x02, 0x00, 0x44, 0x00, 0x02, 0x00, 0x00, 0x00,
    /* 0x1c ACE 1: allow, OI|CI, size 0x28, mask 0x001301bf */
    0x00, 0x03, 0x28, 0x00, 0xbf, 0x01, 0x13, 0x00,
    /* S-1-5-82-...: revision 1, 6 sub-authorities, authority 5 (BE) */
    0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x52, 0x00, 0x00, 0x00, /* 82 */
    0xe2, 0x9c, 0x36, 0xb3, /* 3006700770 */
    0x13, 0x8f, 0x48, 0x19, /* 424185619 */
    0xec, 0x09, 0x0a, 0x68, /* 1745488364 */
    0x2f, 0x26, 0x61, 0x2f, /* 794895919 */
    0x5f, 0xd1, 0xb2, 0xee, /* 4004696415 */
    /* 0x44 ACE 2: allow, no flags, size 0x14, mask 0x001200a9, S-1-5-17 */
    0x00, 0x00, 0x14, 0x00, 0xa9, 0x00, 0x12, 0x00,
    0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00,
    /* 0x58 owner S-1-5-32-544 */
    0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
    /* 0x68 group S-1-5-18 */
    0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x12, 0x00, 0x00, 0x00,
};
/* clang-format on */

/* MS-DTYP 2.5.1.4: "O:BAG:BAD:P(A;CIOI;GRGX;;;BU)(A;CIOI;GA;;;BA)
 * (A;CIOI;GA;;;SY)(A;CIOI;GA;;;CO)S:P(AU;FA;GR;;;WD)" as Windows encodes it:
 * SACL at 0x14, DACL at 0x30, owner at 0x90, group at 0xa0. */
/* clang-format off */
static const uint8_t sd_msdtyp[] = {
    /* 0000 */ 0x01, 0x00, 0x14, 0xb0, 0x90, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
    /* 0010 */ 0x30, 0x00, 0x00, 0x00, 0x02, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x80, 0x14, 0x00,
    /* 0020 */ 0x00, 0x00, 0x00, 0x80, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    /* 0030 */ 0x02, 0x00, 0x60, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x18, 0x00, 0x00, 0x00, 0x00, 0xa0,
    /* 0040 */ 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x21, 0x02, 0x00, 0x00,
    /* 0050 */ 0x00, 0x03, 0x18, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    /* 0060 */ 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 0x10,
    /* 0070 */ 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x12, 0x00, 0x00, 0x00, 0x00, 0x03, 0x14, 0x00,
    /* 0080 */ 0x00, 0x00, 0x00, 0x10, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
    /* 0090 */ 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
    /* 00a0 */ 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
};
/* clang-format on */

static struct ntfs_sid sid_of(const char *text)
{
    struct ntfs_sid s;
    if (ntfs_sid_parse(text, &s) != 0)
        fail_msg("bad test SID %s", text);
    return s;
}

static struct ntfs_ace mk(uint8_t type, uint8_t flags, uint32_t mask, const char *sid)
{
    struct ntfs_ace a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.flags = flags;
    a.mask = mask;
    a.sid = sid_of(sid);
    return a;
}

static void assert_ace(const struct ntfs_ace *a, uint8_t type, uint8_t flags, uint32_t mask,
                       const char *sid)
{
    struct ntfs_sid s = sid_of(sid);
    char got[NTFS_SDDL_ACE_MAX];
    ntfs_sddl_format_ace(a, got, sizeof got);
    if (a->type != type || a->flags != flags || a->mask != mask || !ntfs_sid_equal(&a->sid, &s))
        fail_msg("ACE %s, expected type %u flags 0x%x mask 0x%x %s", got, type, flags, mask, sid);
}

static void sd_from_sddl(const char *text, struct ntfs_sd *sd)
{
    char err[128];
    if (ntfs_sddl_parse(text, sd, err, sizeof err) != 0)
        fail_msg("sddl '%s': %s", text, err);
}

static void test_encode_by_hand(void **state)
{
    struct ntfs_sd sd;
    uint8_t *buf;
    size_t len;
    (void)state;

    sd_from_sddl("O:BAG:SYD:PAI(A;OICI;0x1301bf;;;" POOL_SID ")(A;;0x1200a9;;;S-1-5-17)", &sd);
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_int_equal(len, sizeof sd_pool);
    assert_memory_equal(buf, sd_pool, sizeof sd_pool);
    free(buf);
    ntfs_sd_free(&sd);
}

static void test_decode_by_hand(void **state)
{
    struct ntfs_sd sd;
    uint8_t *buf;
    size_t len;
    char *text;
    (void)state;

    assert_int_equal(ntfs_sd_decode(sd_pool, sizeof sd_pool, &sd), 0);
    assert_int_equal(sd.control, 0x9404);
    assert_true(sd.has_owner);
    assert_true(sd.has_group);
    assert_true(sd.has_dacl);
    assert_null(sd.sacl);
    assert_int_equal(sd.ace_count, 2);
    {
        struct ntfs_sid ba = sid_of("S-1-5-32-544"), sy = sid_of("S-1-5-18");
        assert_true(ntfs_sid_equal(&sd.owner, &ba));
        assert_true(ntfs_sid_equal(&sd.group, &sy));
    }
    assert_ace(&sd.aces[0], NTFS_ACE_ALLOW, NTFS_ACE_OI | NTFS_ACE_CI, NTFS_RIGHTS_M, POOL_SID);
    assert_ace(&sd.aces[1], NTFS_ACE_ALLOW, 0, NTFS_RIGHTS_RX, "S-1-5-17");
    text = ntfs_sddl_format(&sd);
    assert_string_equal(text,
                        "O:BAG:SYD:PAI(A;OICI;0x1301bf;;;" POOL_SID ")(A;;0x1200a9;;;S-1-5-17)");
    free(text);
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_int_equal(len, sizeof sd_pool);
    assert_memory_equal(buf, sd_pool, len);
    free(buf);
    ntfs_sd_free(&sd);
}

static void test_msdtyp_example(void **state)
{
    struct ntfs_sd sd, fromtext;
    uint8_t *buf;
    size_t len;
    (void)state;

    assert_int_equal(ntfs_sd_decode(sd_msdtyp, sizeof sd_msdtyp, &sd), 0);
    assert_int_equal(sd.control, 0xb014);
    assert_non_null(sd.sacl);
    assert_int_equal(sd.sacl_len, 0x1c);
    assert_memory_equal(sd.sacl, sd_msdtyp + 0x14, 0x1c);
    assert_int_equal(sd.ace_count, 4);
    assert_ace(&sd.aces[0], 0, 3, 0xa0000000, "S-1-5-32-545");
    assert_ace(&sd.aces[1], 0, 3, 0x10000000, "S-1-5-32-544");
    assert_ace(&sd.aces[2], 0, 3, 0x10000000, "S-1-5-18");
    assert_ace(&sd.aces[3], 0, 3, 0x10000000, "S-1-3-0");
    /* Same layout as Windows: byte-exact round trip, SACL included. */
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_int_equal(len, sizeof sd_msdtyp);
    assert_memory_equal(buf, sd_msdtyp, len);
    free(buf);

    /* The DACL part from SDDL gives the same DACL. */
    sd_from_sddl("O:BAG:BAD:P(A;CIOI;GRGX;;;BU)(A;CIOI;GA;;;BA)(A;CIOI;GA;;;SY)(A;CIOI;GA;;;CO)",
                 &fromtext);
    assert_int_equal(fromtext.ace_count, 4);
    for (size_t i = 0; i < 4; i++)
        assert_ace(&fromtext.aces[i], sd.aces[i].type, sd.aces[i].flags, sd.aces[i].mask,
                   i == 0   ? "S-1-5-32-545"
                   : i == 1 ? "S-1-5-32-544"
                   : i == 2 ? "S-1-5-18"
                            : "S-1-3-0");
    /* Adding the SACL makes the two identical. */
    fromtext.sacl = malloc(sd.sacl_len);
    memcpy(fromtext.sacl, sd.sacl, sd.sacl_len);
    fromtext.sacl_len = sd.sacl_len;
    fromtext.control |= NTFS_SD_SACL_PRESENT | NTFS_SD_SACL_PROTECTED;
    assert_true(ntfs_sd_equal(&sd, &fromtext));
    ntfs_sd_free(&fromtext);
    ntfs_sd_free(&sd);
}

static void test_other_layout(void **state)
{
    /* Same descriptor as sd_pool with owner and group first, then the DACL
     * (Samba's order): decodes to the same thing, re-encodes in our order. */
    uint8_t b[sizeof sd_pool];
    struct ntfs_sd a, c;
    uint8_t *buf;
    size_t len;
    (void)state;

    memcpy(b, sd_pool, 20);
    memcpy(b + 20, sd_pool + 0x58, 16);   /* owner at 0x14 */
    memcpy(b + 36, sd_pool + 0x68, 12);   /* group at 0x24 */
    memcpy(b + 48, sd_pool + 0x14, 0x44); /* DACL at 0x30 */
    b[4] = 0x14, b[8] = 0x24, b[16] = 0x30;
    assert_int_equal(ntfs_sd_decode(b, sizeof b, &a), 0);
    assert_int_equal(ntfs_sd_decode(sd_pool, sizeof sd_pool, &c), 0);
    assert_true(ntfs_sd_equal(&a, &c));
    assert_int_equal(ntfs_sd_encode(&a, &buf, &len), 0);
    assert_memory_equal(buf, sd_pool, sizeof sd_pool);
    free(buf);
    ntfs_sd_free(&a);
    ntfs_sd_free(&c);
}

static int decode_err(const uint8_t *b, size_t len)
{
    struct ntfs_sd sd;
    int rc = ntfs_sd_decode(b, len, &sd);
    if (rc == 0)
        ntfs_sd_free(&sd);
    else {
        assert_null(sd.aces);
        assert_null(sd.sacl);
        assert_non_null(ntfs_sd_strerror(rc));
    }
    return rc;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}

static void test_truncated(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof sd_pool; n++)
        if (decode_err(sd_pool, n) != NTFS_SD_ETRUNC)
            fail_msg("prefix of %zu bytes not refused as truncated", n);
    for (size_t n = 0; n < sizeof sd_msdtyp; n++)
        assert_int_not_equal(decode_err(sd_msdtyp, n), 0);
    assert_int_equal(decode_err(NULL, 10), NTFS_SD_ETRUNC);
    /* Trailing bytes after the last component are fine. */
    {
        uint8_t b[sizeof sd_pool + 8];
        memcpy(b, sd_pool, sizeof sd_pool);
        memset(b + sizeof sd_pool, 0xEE, 8);
        assert_int_equal(decode_err(b, sizeof b), 0);
    }
}

static void test_bad_header(void **state)
{
    uint8_t b[sizeof sd_pool];
    (void)state;
#define RESET() memcpy(b, sd_pool, sizeof b)
    RESET();
    b[0] = 2;
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EREVISION);
    RESET();
    wr16(b + 2, 0x1404); /* not self-relative */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ECONTROL);
    RESET();
    wr16(b + 2, 0x9400); /* DACL offset without DACL_PRESENT */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ECONTROL);
    RESET();
    wr32(b + 12, 0x14); /* SACL offset without SACL_PRESENT */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ECONTROL);
    RESET();
    wr32(b + 4, 0x10); /* owner inside the header */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EOFFSET);
    RESET();
    wr32(b + 16, 0x04);
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EOFFSET);
    RESET();
    wr32(b + 4, sizeof sd_pool); /* owner just past the end */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ETRUNC);
    RESET();
    wr32(b + 4, 0xFFFFFFFF);
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ETRUNC);
    RESET();
    wr32(b + 8, 0x70); /* group 4 bytes from the end */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ETRUNC);
    RESET();
    wr32(b + 16, 0x70); /* DACL header runs past the end */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ETRUNC);
    RESET();
    wr32(b + 16, 0xFFFFFFF0);
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ETRUNC);
    RESET();
    b[0x59] = 16; /* owner claims 16 sub-authorities */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ESID);
    RESET();
    b[0x58] = 2; /* owner SID revision 2 */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ESID);
    RESET();
    b[0x59] = 6; /* owner claims 6 sub-authorities: runs past the end */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ETRUNC);
    /* RM_CONTROL_VALID and its byte are dropped. */
    RESET();
    b[1] = 0x55;
    wr16(b + 2, 0x9404 | NTFS_SD_RM_CONTROL_VALID);
    {
        struct ntfs_sd sd;
        assert_int_equal(ntfs_sd_decode(b, sizeof b, &sd), 0);
        assert_int_equal(sd.control, 0x9404);
        ntfs_sd_free(&sd);
    }
}

static void test_bad_acl(void **state)
{
    uint8_t b[sizeof sd_pool];
    (void)state;
    RESET();
    b[0x14] = 3; /* ACL revision */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACL);
    RESET();
    wr16(b + 0x16, 0x43); /* ACL size not 4-aligned */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACL);
    RESET();
    wr16(b + 0x16, 4); /* ACL size below its header */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACL);
    RESET();
    wr16(b + 0x16, 0x40); /* ACL size lie: too small for its ACEs */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACE);
    RESET();
    wr16(b + 0x16, 0xFFFC); /* ACL size lie: past the buffer */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ETRUNC);
    RESET();
    wr16(b + 0x16, 0x48); /* bigger than its ACEs: free space is allowed */
    assert_int_equal(decode_err(b, sizeof b), 0);
    RESET();
    wr16(b + 0x18, 3); /* ACE count lie */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACE);
    RESET();
    wr16(b + 0x18, 0xFFFF);
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACE);
    RESET();
    wr16(b + 0x18, 1); /* fewer ACEs than space: fine */
    assert_int_equal(decode_err(b, sizeof b), 0);
    RESET();
    wr16(b + 0x1e, 0); /* ACE size 0 */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACE);
    RESET();
    wr16(b + 0x1e, 0x2a); /* ACE size not aligned */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACE);
    RESET();
    wr16(b + 0x1e, 0x20); /* ACE size lie: smaller than its SID */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ESID);
    RESET();
    wr16(b + 0x1e, 0x1000); /* ACE size lie: past the ACL */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACE);
    RESET();
    wr16(b + 0x46, 0x18); /* last ACE one word past the ACL end */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACE);
    RESET();
    b[0x1c] = 5; /* object ACE type in the DACL */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_EACETYPE);
    RESET();
    b[0x25] = 7; /* ACE SID claims 7 sub-authorities: past the ACE */
    assert_int_equal(decode_err(b, sizeof b), NTFS_SD_ESID);
    /* SACL walk. */
    {
        uint8_t m[sizeof sd_msdtyp];
        memcpy(m, sd_msdtyp, sizeof m);
        wr16(m + 0x1e, 0x20); /* SACL ACE past its ACL */
        assert_int_equal(decode_err(m, sizeof m), NTFS_SD_EACE);
        memcpy(m, sd_msdtyp, sizeof m);
        wr16(m + 0x18, 2); /* SACL ACE count lie */
        assert_int_equal(decode_err(m, sizeof m), NTFS_SD_EACE);
        memcpy(m, sd_msdtyp, sizeof m);
        wr16(m + 0x16, 0x200); /* SACL size lie */
        assert_int_equal(decode_err(m, sizeof m), NTFS_SD_ETRUNC);
    }
#undef RESET
}

static void test_ace_padding(void **state)
{
    /* An ACE larger than its SID (padding) decodes; encode drops the pad. */
    uint8_t b[sizeof sd_pool + 4];
    struct ntfs_sd a, c;
    (void)state;
    memcpy(b, sd_pool, 0x44);
    memset(b + 0x44, 0, 4); /* pad ACE 1 */
    memcpy(b + 0x48, sd_pool + 0x44, sizeof sd_pool - 0x44);
    wr16(b + 0x1e, 0x2c);
    wr16(b + 0x16, 0x48);
    b[4] = 0x5c;
    b[8] = 0x6c;
    assert_int_equal(ntfs_sd_decode(b, sizeof b, &a), 0);
    assert_int_equal(ntfs_sd_decode(sd_pool, sizeof sd_pool, &c), 0);
    assert_true(ntfs_sd_equal(&a, &c));
    ntfs_sd_free(&a);
    ntfs_sd_free(&c);
}

static void test_null_and_empty_dacl(void **state)
{
    static const uint8_t nul[] = {1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t empty[] = {1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0x14, 0,    0, 0, 2, 0, 8, 0, 0, 0, 0, 0};
    struct ntfs_sd sd;
    uint8_t *buf;
    size_t len;
    char *t;
    (void)state;

    assert_int_equal(ntfs_sd_decode(nul, sizeof nul, &sd), 0);
    assert_false(sd.has_dacl);
    assert_int_equal(sd.control, 0x8004);
    t = ntfs_sddl_format(&sd);
    assert_string_equal(t, "D:NO_ACCESS_CONTROL");
    free(t);
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_int_equal(len, sizeof nul);
    assert_memory_equal(buf, nul, len);
    free(buf);
    ntfs_sd_free(&sd);

    assert_int_equal(ntfs_sd_decode(empty, sizeof empty, &sd), 0);
    assert_true(sd.has_dacl);
    assert_int_equal(sd.ace_count, 0);
    t = ntfs_sddl_format(&sd);
    assert_string_equal(t, "D:");
    free(t);
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_memory_equal(buf, empty, sizeof empty);
    free(buf);
    ntfs_sd_free(&sd);
}

static void test_acl_limit(void **state)
{
    struct ntfs_sd sd;
    struct ntfs_ace small = mk(0, 0, 1, "S-1-5"), one = mk(0, 0, 1, "S-1-5-18");
    uint8_t *buf;
    size_t len;
    (void)state;

    /* 4094 ACEs of 16 bytes + one of 20 = 65524 + 8 = 65532: the maximum. */
    ntfs_sd_init(&sd);
    sd.control = NTFS_SD_SELF_RELATIVE;
    for (int i = 0; i < 4094; i++)
        assert_int_equal(ntfs_dacl_append(&sd, &small), 0);
    assert_int_equal(ntfs_dacl_append(&sd, &one), 0);
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_int_equal(len, 20 + 65532);
    assert_int_equal(buf[22] | buf[23] << 8, 65532);
    {
        struct ntfs_sd back;
        assert_int_equal(ntfs_sd_decode(buf, len, &back), 0);
        assert_true(ntfs_sd_equal(&sd, &back));
        ntfs_sd_free(&back);
    }
    free(buf);
    /* One more byte-worth of ACE and it no longer fits. */
    sd.aces[0] = one;
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), NTFS_SD_ETOOBIG);
    assert_null(buf);
    /* merge_grant refuses to grow past it too. */
    sd.aces[0] = small;
    one.sid = sid_of("S-1-5-19");
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &one), NTFS_SD_ETOOBIG);
    ntfs_sd_free(&sd);

    /* A DACL far over 64 KiB built by hand. */
    ntfs_sd_init(&sd);
    sd.has_dacl = 1;
    sd.ace_count = 5000;
    sd.aces = calloc(sd.ace_count, sizeof *sd.aces);
    for (size_t i = 0; i < sd.ace_count; i++)
        sd.aces[i] = mk(0, 0, 1, POOL_SID);
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), NTFS_SD_ETOOBIG);
    ntfs_sd_free(&sd);
}

static void test_encode_invalid(void **state)
{
    struct ntfs_sd sd;
    uint8_t *buf;
    size_t len;
    uint8_t junk[12] = {2, 0, 10, 0, 0, 0, 0, 0};
    (void)state;
    ntfs_sd_init(&sd);
    sd.has_owner = 1;
    sd.owner = sid_of("S-1-5-18");
    sd.owner.count = 16;
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), NTFS_SD_EINVAL);
    sd.owner.count = 1;
    sd.sacl = junk; /* size field 10 is not 4-aligned */
    sd.sacl_len = sizeof junk;
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), NTFS_SD_EINVAL);
    junk[2] = 8; /* size says 8, but 12 bytes given */
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), NTFS_SD_EINVAL);
    sd.sacl_len = 8;
    assert_int_equal(ntfs_sd_encode(&sd, &buf, &len), 0);
    assert_int_equal(len, 20 + 8 + 12);
    assert_int_equal(buf[2] | buf[3] << 8, 0x8010);
    free(buf);
}

static void test_canonical(void **state)
{
    struct ntfs_sd sd;
    (void)state;
    ntfs_sd_init(&sd);
    {
        struct ntfs_ace in[] = {
            mk(0, 0, 1, "S-1-5-21-1"),
            mk(0, NTFS_ACE_ID, 2, "S-1-5-21-2"),
            mk(1, 0, 3, "S-1-5-21-3"),
            mk(0, 3, 4, "S-1-5-21-4"),
            mk(1, NTFS_ACE_ID, 5, "S-1-5-21-5"),
            mk(1, 3, 6, "S-1-5-21-6"),
            mk(0, NTFS_ACE_ID | 3, 7, "S-1-5-21-7"),
        };
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
            assert_int_equal(ntfs_dacl_append(&sd, &in[i]), 0);
    }
    assert_false(ntfs_dacl_is_canonical(&sd));
    ntfs_dacl_canonicalize(&sd);
    assert_true(ntfs_dacl_is_canonical(&sd));
    {
        static const uint32_t order[] = {3, 6, 1, 4, 2, 5, 7};
        for (size_t i = 0; i < 7; i++)
            assert_int_equal(sd.aces[i].mask, order[i]);
    }
    ntfs_sd_free(&sd);
}

static void test_merge_grant(void **state)
{
    struct ntfs_sd sd;
    struct ntfs_ace g;
    (void)state;

    sd_from_sddl("O:BAG:SYD:AI(D;;0x100116;;;S-1-1-0)(A;OICI;0x1200a9;;;" POOL_SID
                 ")(A;;0x1200a9;;;BU)(A;OICIID;0x1200a9;;;" POOL_SID ")(A;OICIID;0x1f01ff;;;SY)",
                 &sd);
    /* Replace pool's explicit allow in place, keep its inherited one. */
    g = mk(NTFS_ACE_ALLOW, NTFS_ACE_OI | NTFS_ACE_CI, NTFS_RIGHTS_M, POOL_SID);
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), 1);
    assert_int_equal(sd.ace_count, 5);
    assert_ace(&sd.aces[1], 0, 3, NTFS_RIGHTS_M, POOL_SID);
    assert_ace(&sd.aces[3], 0, 0x13, NTFS_RIGHTS_RX, POOL_SID);
    /* Idempotent. */
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), 0);
    assert_int_equal(sd.ace_count, 5);
    /* A deny for the pool lands with the denies; the allow stays. */
    g = mk(NTFS_ACE_DENY, NTFS_ACE_OI, 0x40000, POOL_SID);
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), 1);
    assert_int_equal(sd.ace_count, 6);
    assert_ace(&sd.aces[1], 1, 1, 0x40000, POOL_SID);
    assert_ace(&sd.aces[2], 0, 3, NTFS_RIGHTS_M, POOL_SID);
    assert_true(ntfs_dacl_is_canonical(&sd));
    /* A new principal is appended after the explicit allows. */
    g = mk(NTFS_ACE_ALLOW, 0, NTFS_RIGHTS_R, "S-1-5-17");
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), 1);
    assert_ace(&sd.aces[4], 0, 0, NTFS_RIGHTS_R, "S-1-5-17");
    assert_int_equal(sd.aces[5].flags, 0x13);
    /* Inherited flag refused. */
    g.flags = NTFS_ACE_ID;
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), NTFS_SD_EINVAL);
    g.flags = 0;
    g.type = 5;
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), NTFS_SD_EINVAL);
    ntfs_sd_free(&sd);

    /* Two explicit ACEs for one SID collapse into the new one. */
    sd_from_sddl("D:(A;;0x1200a9;;;BU)(A;OICIIO;0x1301bf;;;BU)(A;;0x1f01ff;;;SY)", &sd);
    g = mk(NTFS_ACE_ALLOW, 3, NTFS_RIGHTS_RX, "S-1-5-32-545");
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), 1);
    assert_int_equal(sd.ace_count, 2);
    assert_ace(&sd.aces[0], 0, 3, NTFS_RIGHTS_RX, "S-1-5-32-545");
    ntfs_sd_free(&sd);

    /* A descriptor without a DACL gets one. */
    ntfs_sd_init(&sd);
    g = mk(NTFS_ACE_ALLOW, 3, NTFS_RIGHTS_F, "S-1-5-18");
    assert_int_equal(ntfs_dacl_merge_grant(&sd, &g), 1);
    assert_true(sd.has_dacl);
    assert_true(sd.control & NTFS_SD_DACL_PRESENT);
    assert_int_equal(sd.ace_count, 1);
    ntfs_sd_free(&sd);
}

static void test_remove_explicit(void **state)
{
    struct ntfs_sd sd;
    struct ntfs_sid pool = sid_of(POOL_SID);
    (void)state;
    sd_from_sddl("D:(A;OICI;0x1301bf;;;" POOL_SID
                 ")(A;;0x1200a9;;;BU)(A;OICIID;0x1301bf;;;" POOL_SID ")",
                 &sd);
    /* Wrong mask / flags / type: nothing. */
    assert_int_equal(ntfs_dacl_remove_explicit(&sd, &pool, 0, NTFS_RIGHTS_F, 3), 0);
    assert_int_equal(ntfs_dacl_remove_explicit(&sd, &pool, 0, NTFS_RIGHTS_M, 1), 0);
    assert_int_equal(ntfs_dacl_remove_explicit(&sd, &pool, 1, NTFS_RIGHTS_M, 3), 0);
    assert_int_equal(sd.ace_count, 3);
    /* Exact: removes the explicit one only. */
    assert_int_equal(ntfs_dacl_remove_explicit(&sd, &pool, 0, NTFS_RIGHTS_M, 3), 1);
    assert_int_equal(sd.ace_count, 2);
    assert_ace(&sd.aces[0], 0, 0, NTFS_RIGHTS_RX, "S-1-5-32-545");
    assert_ace(&sd.aces[1], 0, 0x13, NTFS_RIGHTS_M, POOL_SID);
    ntfs_sd_free(&sd);
}

/* Parent with one ACE per inheritance case; SIDs S-1-5-21-N name the case. */
static const char *parent_sddl = "O:BAG:SYD:PAI"
                                 "(D;OICI;0x100116;;;S-1-5-21-9)"
                                 "(A;OICI;0x1301bf;;;S-1-5-21-1)"
                                 "(A;OI;0x1200a9;;;S-1-5-21-2)"
                                 "(A;CI;0x120089;;;S-1-5-21-3)"
                                 "(A;OICINP;0x100116;;;S-1-5-21-4)"
                                 "(A;;0x1f01ff;;;S-1-5-21-5)"
                                 "(A;OICIIO;0x1301bf;;;S-1-5-21-6)"
                                 "(A;OINP;0x1200a9;;;S-1-5-21-7)"
                                 "(A;CINP;0x1200a9;;;S-1-5-21-8)"
                                 "(A;OICIID;0x1200a9;;;S-1-5-21-10)";

static void test_inherit_folder(void **state)
{
    struct ntfs_sd parent, child, out;
    char *t;
    (void)state;
    sd_from_sddl(parent_sddl, &parent);
    sd_from_sddl("O:S-1-5-21-100G:SYD:AI(A;;0x1f01ff;;;S-1-5-21-50)(A;OICIID;0x1f01ff;;;S-1-5-21-"
                 "60)(D;;0x10000;;;S-1-5-21-51)",
                 &child);
    assert_int_equal(ntfs_sd_inherit(&parent, 1, &child, &out), 0);
    t = ntfs_sddl_format(&out);
    assert_string_equal(t, "O:S-1-5-21-100G:SYD:AI"
                           /* explicit ones, in their order; old inherited dropped */
                           "(A;;0x1f01ff;;;S-1-5-21-50)"
                           "(D;;0x10000;;;S-1-5-21-51)"
                           /* from the parent, in parent order */
                           "(D;OICIID;0x100116;;;S-1-5-21-9)"
                           "(A;OICIID;0x1301bf;;;S-1-5-21-1)"
                           "(A;OIIOID;0x1200a9;;;S-1-5-21-2)"
                           "(A;CIID;0x120089;;;S-1-5-21-3)"
                           "(A;ID;0x100116;;;S-1-5-21-4)"
                           "(A;OICIID;0x1301bf;;;S-1-5-21-6)"
                           "(A;ID;0x1200a9;;;S-1-5-21-8)"
                           "(A;OICIID;0x1200a9;;;S-1-5-21-10)");
    free(t);
    assert_int_equal(out.control, 0x8404);
    ntfs_sd_free(&out);
    ntfs_sd_free(&child);
    ntfs_sd_free(&parent);
}

static void test_inherit_file(void **state)
{
    struct ntfs_sd parent, out;
    char *t;
    (void)state;
    sd_from_sddl(parent_sddl, &parent);
    /* A new file: no existing descriptor, owner and group from the parent. */
    assert_int_equal(ntfs_sd_inherit(&parent, 0, NULL, &out), 0);
    t = ntfs_sddl_format(&out);
    assert_string_equal(t, "O:BAG:SYD:AI"
                           "(D;ID;0x100116;;;S-1-5-21-9)"
                           "(A;ID;0x1301bf;;;S-1-5-21-1)"
                           "(A;ID;0x1200a9;;;S-1-5-21-2)"
                           "(A;ID;0x100116;;;S-1-5-21-4)"
                           "(A;ID;0x1301bf;;;S-1-5-21-6)"
                           "(A;ID;0x1200a9;;;S-1-5-21-7)"
                           "(A;ID;0x1200a9;;;S-1-5-21-10)");
    free(t);
    assert_int_equal(out.control, 0x8404);
    {
        uint8_t *buf;
        size_t len;
        assert_int_equal(ntfs_sd_encode(&out, &buf, &len), 0);
        assert_int_equal(buf[2] | buf[3] << 8, 0x8404);
        free(buf);
    }
    ntfs_sd_free(&out);
    ntfs_sd_free(&parent);
}

static void test_inherit_ntfs3g_reference(void **state)
{
    /* Checked with ntfs-3g (MS-DTYP 2.5.3.4 inheritance): under D:PAI with
     * specific-rights (OI)(CI) ACEs a new file gets them with ID, a new folder
     * with OI|CI|ID, control 0x8404; non-inheritable ones are dropped. */
    struct ntfs_sd parent, f, d;
    (void)state;
    sd_from_sddl("O:BAG:SYD:PAI(A;OICI;0x1301bf;;;" POOL_SID ")(A;;0x1200a9;;;S-1-5-17)"
                 "(A;OICI;0x1f01ff;;;SY)",
                 &parent);
    assert_int_equal(ntfs_sd_inherit(&parent, 0, NULL, &f), 0);
    assert_int_equal(ntfs_sd_inherit(&parent, 1, NULL, &d), 0);
    assert_int_equal(f.ace_count, 2);
    assert_int_equal(d.ace_count, 2);
    assert_ace(&f.aces[0], 0, 0x10, NTFS_RIGHTS_M, POOL_SID);
    assert_ace(&f.aces[1], 0, 0x10, NTFS_RIGHTS_F, "S-1-5-18");
    assert_ace(&d.aces[0], 0, 0x13, NTFS_RIGHTS_M, POOL_SID);
    assert_ace(&d.aces[1], 0, 0x13, NTFS_RIGHTS_F, "S-1-5-18");
    assert_int_equal(f.control, 0x8404);
    assert_int_equal(d.control, 0x8404);
    ntfs_sd_free(&f);
    ntfs_sd_free(&d);
    ntfs_sd_free(&parent);
}

static void test_inherit_creator_generic(void **state)
{
    struct ntfs_sd parent, child, out;
    char *t;
    (void)state;
    sd_from_sddl("O:BAG:SYD:PAI(A;OICIIO;0x1f01ff;;;CO)(A;OICI;GRGX;;;BU)(A;OICINP;GA;;;CG)",
                 &parent);
    sd_from_sddl("O:S-1-5-21-7-1001G:S-1-5-21-7-513D:AI", &child);
    assert_int_equal(ntfs_sd_inherit(&parent, 1, &child, &out), 0);
    t = ntfs_sddl_format(&out);
    assert_string_equal(t, "O:S-1-5-21-7-1001G:S-1-5-21-7-513D:AI"
                           "(A;ID;0x1f01ff;;;S-1-5-21-7-1001)"
                           "(A;OICIIOID;0x1f01ff;;;CO)"
                           "(A;ID;0x1200a9;;;BU)"
                           "(A;OICIIOID;0xa0000000;;;BU)"
                           "(A;ID;0x1f01ff;;;S-1-5-21-7-513)");
    free(t);
    ntfs_sd_free(&out);
    assert_int_equal(ntfs_sd_inherit(&parent, 0, &child, &out), 0);
    t = ntfs_sddl_format(&out);
    assert_string_equal(t, "O:S-1-5-21-7-1001G:S-1-5-21-7-513D:AI"
                           "(A;ID;0x1f01ff;;;S-1-5-21-7-1001)"
                           "(A;ID;0x1200a9;;;BU)"
                           "(A;ID;0x1f01ff;;;S-1-5-21-7-513)");
    free(t);
    ntfs_sd_free(&out);
    ntfs_sd_free(&child);
    ntfs_sd_free(&parent);
    assert_int_equal(ntfs_map_generic_file(0xF0000001u), 0x001F01FFu);
    assert_int_equal(ntfs_map_generic_file(NTFS_GENERIC_WRITE), NTFS_FILE_GENERIC_WRITE);
}

static void test_inherit_protected_and_sacl(void **state)
{
    struct ntfs_sd parent, child, out;
    (void)state;
    sd_from_sddl("D:PAI(A;OICI;0x1f01ff;;;SY)", &parent);
    sd_from_sddl("O:BAG:BAD:PAI(A;;0x1f01ff;;;BA)", &child);
    assert_int_equal(ntfs_sd_inherit(&parent, 1, &child, &out), 0);
    assert_true(ntfs_sd_equal(&out, &child));
    ntfs_sd_free(&out);
    ntfs_sd_free(&child);

    /* The child's SACL and its control bits are kept. */
    assert_int_equal(ntfs_sd_decode(sd_msdtyp, sizeof sd_msdtyp, &child), 0);
    child.control &= (uint16_t)~NTFS_SD_DACL_PROTECTED;
    assert_int_equal(ntfs_sd_inherit(&parent, 0, &child, &out), 0);
    assert_int_equal(out.control, 0x8404 | NTFS_SD_SACL_PRESENT | NTFS_SD_SACL_PROTECTED);
    assert_int_equal(out.sacl_len, child.sacl_len);
    assert_memory_equal(out.sacl, child.sacl, child.sacl_len);
    assert_int_equal(out.ace_count, 5); /* 4 explicit + SYSTEM ID */
    assert_ace(&out.aces[4], 0, 0x10, NTFS_RIGHTS_F, "S-1-5-18");
    ntfs_sd_free(&out);
    ntfs_sd_free(&child);

    /* A parent without a DACL gives nothing. */
    ntfs_sd_free(&parent);
    ntfs_sd_init(&parent);
    assert_int_equal(ntfs_sd_inherit(&parent, 1, NULL, &out), 0);
    assert_true(out.has_dacl);
    assert_int_equal(out.ace_count, 0);
    ntfs_sd_free(&out);
    assert_int_equal(ntfs_sd_inherit(NULL, 1, NULL, &out), NTFS_SD_EINVAL);
}

static void test_copy_equal(void **state)
{
    struct ntfs_sd a, b;
    (void)state;
    assert_int_equal(ntfs_sd_decode(sd_msdtyp, sizeof sd_msdtyp, &a), 0);
    assert_int_equal(ntfs_sd_copy(&b, &a), 0);
    assert_true(ntfs_sd_equal(&a, &b));
    b.sacl[0x10] ^= 1;
    assert_false(ntfs_sd_equal(&a, &b));
    b.sacl[0x10] ^= 1;
    b.aces[3].mask = 1;
    assert_false(ntfs_sd_equal(&a, &b));
    ntfs_sd_free(&b);
    ntfs_sd_free(&a);
    ntfs_sd_free(NULL);
    assert_string_equal(ntfs_sd_strerror(NTFS_SD_ETOOBIG), "ACL larger than 64 KiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_by_hand),
        cmocka_unit_test(test_decode_by_hand),
        cmocka_unit_test(test_msdtyp_example),
        cmocka_unit_test(test_other_layout),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_acl),
        cmocka_unit_test(test_ace_padding),
        cmocka_unit_test(test_null_and_empty_dacl),
        cmocka_unit_test(test_acl_limit),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_merge_grant),
        cmocka_unit_test(test_remove_explicit),
        cmocka_unit_test(test_inherit_folder),
        cmocka_unit_test(test_inherit_file),
        cmocka_unit_test(test_inherit_ntfs3g_reference),
        cmocka_unit_test(test_inherit_creator_generic),
        cmocka_unit_test(test_inherit_protected_and_sacl),
        cmocka_unit_test(test_copy_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
