/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for provision/ntfs/sid.c: text and binary SIDs, well-known
 * names, IIS AppPool SIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "provision/ntfs/sid.h"

static void roundtrip(const char *in, const char *expect)
{
    struct ntfs_sid s;
    char buf[NTFS_SID_STRING_MAX];
    assert_int_equal(ntfs_sid_parse(in, &s), 0);
    ntfs_sid_format(&s, buf, sizeof buf);
    assert_string_equal(buf, expect);
}

static void test_parse_format(void **state)
{
    (void)state;
    roundtrip("S-1-5-32-544", "S-1-5-32-544");
    roundtrip("S-1-1-0", "S-1-1-0");
    roundtrip("S-1-5", "S-1-5");
    roundtrip("s-1-5-18", "S-1-5-18");
    roundtrip("S-1-0x5-18", "S-1-5-18");
    roundtrip("S-1-5-00018", "S-1-5-18");
    roundtrip("S-1-4294967295-1", "S-1-4294967295-1");
    roundtrip("S-1-4294967296-1", "S-1-0x000100000000-1");
    roundtrip("S-1-281474976710655", "S-1-0xffffffffffff");
    roundtrip("S-1-0xABCDEF012345-4294967295", "S-1-0xabcdef012345-4294967295");
    roundtrip("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15",
              "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15");
    roundtrip("S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415",
              "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415");
}

static void test_parse_rejects(void **state)
{
    static const char *bad[] = {
        "",
        "S",
        "S-",
        "S-1",
        "S-1-",
        "S-1-5-",
        "S-2-5",
        "S-0-5",
        "S-01x-5",
        "S-1-5--1",
        "S-1-5-+1",
        "S-1-5- 1",
        " S-1-5",
        "S-1-5-32-544 ",
        "S-1-5-32-544\n",
        "S-1-5-4294967296",
        "S-1-5-99999999999999999999999",
        "S-1-281474976710656",
        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
        "S-1-5-32-544x",
        "S-1-0x",
        "S-1-0x1234567890abc",
        "S-1-0x-1",
        "S-1-0xg",
        "X-1-5",
        "S_1_5",
        "S-1-5-32-0x220",
        "S-1--5",
        "S-256-5",
    };
    struct ntfs_sid s;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ntfs_sid_parse(bad[i], &s) != -1)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(ntfs_sid_parse(NULL, &s), -1);
}

static void test_format_truncates(void **state)
{
    struct ntfs_sid s;
    char buf[8];
    (void)state;
    assert_int_equal(ntfs_sid_parse("S-1-5-32-544", &s), 0);
    memset(buf, 'x', sizeof buf);
    ntfs_sid_format(&s, buf, sizeof buf);
    assert_string_equal(buf, "S-1-5-3");
    ntfs_sid_format(&s, buf, 0); /* no write, no crash */
}

static void test_binary(void **state)
{
    static const uint8_t ba[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
                                 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00};
    struct ntfs_sid s, t;
    uint8_t buf[NTFS_SID_MAX_BYTES];
    size_t used = 0;
    (void)state;

    assert_int_equal(ntfs_sid_parse("S-1-5-32-544", &s), 0);
    assert_int_equal(ntfs_sid_size(&s), 16);
    assert_int_equal(ntfs_sid_to_bytes(&s, buf, sizeof buf), 16);
    assert_memory_equal(buf, ba, sizeof ba);
    assert_int_equal(ntfs_sid_to_bytes(&s, buf, 15), -1);

    assert_int_equal(ntfs_sid_from_bytes(ba, sizeof ba, &t, &used), 0);
    assert_int_equal(used, 16);
    assert_true(ntfs_sid_equal(&s, &t));
    /* Extra bytes after the SID are not consumed. */
    {
        uint8_t more[20];
        memcpy(more, ba, 16);
        memset(more + 16, 0xAA, 4);
        assert_int_equal(ntfs_sid_from_bytes(more, sizeof more, &t, &used), 0);
        assert_int_equal(used, 16);
    }
    /* Truncated at every length. */
    for (size_t n = 0; n < sizeof ba; n++)
        assert_int_equal(ntfs_sid_from_bytes(ba, n, &t, &used), -1);
    /* Bad revision, too many sub-authorities. */
    memcpy(buf, ba, sizeof ba);
    buf[0] = 2;
    assert_int_equal(ntfs_sid_from_bytes(buf, sizeof ba, &t, NULL), -1);
    {
        uint8_t big[8 + 4 * 16] = {1, 16, 0, 0, 0, 0, 0, 5};
        assert_int_equal(ntfs_sid_from_bytes(big, sizeof big, &t, NULL), -1);
    }
    /* Authority >= 2^32 is big-endian in the 6 bytes. */
    assert_int_equal(ntfs_sid_parse("S-1-0x0102030405a6-7", &s), 0);
    assert_int_equal(ntfs_sid_to_bytes(&s, buf, sizeof buf), 12);
    {
        static const uint8_t e[] = {1, 1, 1, 2, 3, 4, 5, 0xa6, 7, 0, 0, 0};
        assert_memory_equal(buf, e, sizeof e);
    }
    /* Invalid struct. */
    s.count = 16;
    assert_int_equal(ntfs_sid_to_bytes(&s, buf, sizeof buf), -1);
}

static void test_equal(void **state)
{
    struct ntfs_sid a, b;
    (void)state;
    assert_int_equal(ntfs_sid_parse("S-1-5-32-544", &a), 0);
    assert_int_equal(ntfs_sid_parse("S-1-5-32-544", &b), 0);
    b.sub[5] = 77; /* unused entries do not matter */
    assert_true(ntfs_sid_equal(&a, &b));
    assert_int_equal(ntfs_sid_parse("S-1-5-32-545", &b), 0);
    assert_false(ntfs_sid_equal(&a, &b));
    assert_int_equal(ntfs_sid_parse("S-1-5-32", &b), 0);
    assert_false(ntfs_sid_equal(&a, &b));
    assert_int_equal(ntfs_sid_parse("S-1-3-32-544", &b), 0);
    assert_false(ntfs_sid_equal(&a, &b));
}

static void expect_wk(const char *name, const char *sid)
{
    struct ntfs_sid s;
    char buf[NTFS_SID_STRING_MAX];
    if (ntfs_sid_wellknown(name, &s) != 0)
        fail_msg("well-known '%s' not found", name);
    ntfs_sid_format(&s, buf, sizeof buf);
    assert_string_equal(buf, sid);
}

static void test_wellknown(void **state)
{
    struct ntfs_sid s;
    (void)state;
    expect_wk("SYSTEM", "S-1-5-18");
    expect_wk("nt authority\\system", "S-1-5-18");
    expect_wk("LocalSystem", "S-1-5-18");
    expect_wk("LOCAL SERVICE", "S-1-5-19");
    expect_wk("localservice", "S-1-5-19");
    expect_wk("NT AUTHORITY\\LOCAL SERVICE", "S-1-5-19");
    expect_wk("NETWORK SERVICE", "S-1-5-20");
    expect_wk("NetworkService", "S-1-5-20");
    expect_wk("NT AUTHORITY\\NETWORK SERVICE", "S-1-5-20");
    expect_wk("Network Service", "S-1-5-20");
    expect_wk("IUSR", "S-1-5-17");
    expect_wk("NT AUTHORITY\\IUSR", "S-1-5-17");
    expect_wk("IIS_IUSRS", "S-1-5-32-568");
    expect_wk("BUILTIN\\IIS_IUSRS", "S-1-5-32-568");
    expect_wk("Administrators", "S-1-5-32-544");
    expect_wk("BUILTIN\\ADMINISTRATORS", "S-1-5-32-544");
    expect_wk("Users", "S-1-5-32-545");
    expect_wk("Everyone", "S-1-1-0");
    expect_wk("CREATOR OWNER", "S-1-3-0");
    expect_wk("Authenticated Users", "S-1-5-11");
    assert_int_equal(ntfs_sid_wellknown("LAB\\alice", &s), -1);
    assert_int_equal(ntfs_sid_wellknown("SYSTEM ", &s), -1);
    assert_int_equal(ntfs_sid_wellknown("", &s), -1);
    assert_int_equal(ntfs_sid_wellknown(NULL, &s), -1);
}

static void expect_pool(const char *pool, const char *sid)
{
    struct ntfs_sid s;
    char buf[NTFS_SID_STRING_MAX];
    if (ntfs_sid_apppool(pool, &s) != 0)
        fail_msg("pool '%s' refused", pool);
    ntfs_sid_format(&s, buf, sizeof buf);
    assert_string_equal(buf, sid);
}

static void test_apppool_vectors(void **state)
{
    (void)state;
    /* Checked on Windows: the SIDs it gives these pools' virtual accounts. */
    expect_pool("DefaultAppPool", "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415");
    expect_pool(".NET v4.5", "S-1-5-82-271721585-897601226-2024613209-625570482-296978595");
    expect_pool(".NET v2.0", "S-1-5-82-3682073875-1643277370-2842298652-3532359455-2406259117");
    /* Lower-cased before hashing. */
    expect_pool("DEFAULTAPPPOOL", "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415");
    expect_pool("defaultapppool", "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415");
}

static void test_apppool_unicode(void **state)
{
    struct ntfs_sid a, b;
    (void)state;
    /* Our own choices (not verified on Windows): Latin-1 and Cyrillic are
     * lower-cased; U+1F600 is hashed as a surrogate pair. Expected values
     * are SHA-1 of the lower-case UTF-16LE string. */
    expect_pool("CAF\xC3\x89\xF0\x9F\x98\x80",
                "S-1-5-82-2593892549-4187283485-1293619331-3534080092-3072965561");
    expect_pool("caf\xC3\xA9\xF0\x9F\x98\x80",
                "S-1-5-82-2593892549-4187283485-1293619331-3534080092-3072965561");
    expect_pool("\xD0\x9F\xD0\xA3\xD0\x9B", /* ПУЛ */
                "S-1-5-82-3206526367-2652337177-1074165216-560502019-2138574944");
    /* Latin Extended-A: U+0141 -> U+0142, U+0178 -> U+00FF. */
    assert_int_equal(ntfs_sid_apppool("\xC5\x81", &a), 0);
    assert_int_equal(ntfs_sid_apppool("\xC5\x82", &b), 0);
    assert_true(ntfs_sid_equal(&a, &b));
    assert_int_equal(ntfs_sid_apppool("\xC5\xB8", &a), 0);
    assert_int_equal(ntfs_sid_apppool("\xC3\xBF", &b), 0);
    assert_true(ntfs_sid_equal(&a, &b));
    /* U+00D7 (multiplication sign) has no lower case. */
    assert_int_equal(ntfs_sid_apppool("\xC3\x97", &a), 0);
    assert_int_equal(ntfs_sid_apppool("\xC3\xB7", &b), 0);
    assert_false(ntfs_sid_equal(&a, &b));
}

static void test_apppool_rejects(void **state)
{
    static const char *bad[] = {
        "",
        "\xC0\xAF",         /* overlong '/' */
        "\xE0\x80\xAF",     /* overlong */
        "\xED\xA0\x80",     /* surrogate */
        "\xE2\x82",         /* truncated */
        "pool\xE2",         /* truncated at the end */
        "\xF4\x90\x80\x80", /* > U+10FFFF */
        "\xF8\x88\x80\x80\x80",
        "\x80",
        "a\xFF",
    };
    struct ntfs_sid s;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ntfs_sid_apppool(bad[i], &s) != -1)
            fail_msg("accepted bad pool name #%zu", i);
    assert_int_equal(ntfs_sid_apppool(NULL, &s), -1);
    assert_true(ntfs_utf8_valid("plain"));
    assert_true(ntfs_utf8_valid("\xF4\x8F\xBF\xBF"));
    assert_false(ntfs_utf8_valid("\xF4\x90\x80\x80"));
}

static void expect_resolve(const char *name, const char *sid)
{
    struct ntfs_sid s;
    char buf[NTFS_SID_STRING_MAX];
    if (ntfs_sid_resolve_builtin(name, &s) != 0)
        fail_msg("'%s' not resolved", name);
    ntfs_sid_format(&s, buf, sizeof buf);
    assert_string_equal(buf, sid);
}

static void test_resolve_builtin(void **state)
{
    struct ntfs_sid s;
    (void)state;
    expect_resolve("S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1001");
    expect_resolve("IIS_IUSRS", "S-1-5-32-568");
    expect_resolve("IIS AppPool\\DefaultAppPool",
                   "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415");
    expect_resolve("iis apppool\\.NET v4.5",
                   "S-1-5-82-271721585-897601226-2024613209-625570482-296978595");
    assert_int_equal(ntfs_sid_resolve_builtin("IIS AppPool\\", &s), -1);
    assert_int_equal(ntfs_sid_resolve_builtin("LAB\\IUSR_site1", &s), -1);
    assert_int_equal(ntfs_sid_resolve_builtin("alice@lab.test", &s), -1);
    assert_int_equal(ntfs_sid_resolve_builtin("S-1-5-x", &s), -1);
    assert_int_equal(ntfs_sid_resolve_builtin(NULL, &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format_truncates),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_wellknown),
        cmocka_unit_test(test_apppool_vectors),
        cmocka_unit_test(test_apppool_unicode),
        cmocka_unit_test(test_apppool_rejects),
        cmocka_unit_test(test_resolve_builtin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
