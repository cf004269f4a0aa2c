/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for provision/ntfs/effective.c: the access check (MS-DTYP
 * 2.5.3.2) on worked examples, each asserting the exact masks and the ACE
 * that decided each right: deny/allow order, canonical or not, inherited and
 * inherit-only ACEs, inheritance to files and folders, groups, generic
 * rights, NULL and empty DACLs, the owner and OWNER RIGHTS, the icacls
 * letters, the evidence list and the IIS scenario that started it all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provision/ntfs/effective.h"
#include "provision/ntfs/sd.h"
#include "provision/ntfs/sddl.h"
#include "provision/ntfs/sid.h"

/* A domain user, the owner in the owner tests. */
#define USER         "S-1-5-21-1004336348-1177238915-682003330-1001"
#define OTHER        "S-1-5-21-1004336348-1177238915-682003330-1002"
#define OWNER_RIGHTS "S-1-3-4"
#define POOL_SID     "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"

#define READ_CONTROL 0x00020000u
#define WRITE_DAC    0x00040000u
#define SYNCHRONIZE  0x00100000u
#define READ_EA      0x00000008u

#define TOKEN_MAX 8

struct tok {
    struct ntfs_sid sids[TOKEN_MAX];
    struct ntfs_token t;
};

static struct ntfs_sid sid_of(const char *text)
{
    struct ntfs_sid s;
    if (ntfs_sid_parse(text, &s) != 0)
        fail_msg("bad test SID %s", text);
    return s;
}

/* A token from blank-separated SID strings (k must not be copied). */
static void tok(struct tok *k, const char *list)
{
    char buf[512], *save = NULL;
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        if (n == TOKEN_MAX)
            fail_msg("test token too long: %s", list);
        k->sids[n++] = sid_of(p);
    }
    k->t.sids = k->sids;
    k->t.count = n;
}

static void sd_from_sddl(const char *text, struct ntfs_sd *sd)
{
    char err[128];
    if (ntfs_sddl_parse(text, sd, err, sizeof err) != 0)
        fail_msg("sddl '%s': %s", text, err);
}

/* Checks desired against the descriptor given as SDDL. */
static uint32_t check(const char *sddl, const struct tok *k, uint32_t desired,
                      struct ntfs_access *a)
{
    struct ntfs_sd sd;
    uint32_t g;
    sd_from_sddl(sddl, &sd);
    g = ntfs_access_check(&sd, &k->t, desired, a);
    ntfs_sd_free(&sd);
    assert_int_equal(g, a->granted);
    return g;
}

static void assert_masks(const struct ntfs_access *a, uint32_t asked, uint32_t granted,
                         uint32_t denied)
{
    if (a->asked != asked || a->granted != granted || a->denied != denied)
        fail_msg("asked 0x%x granted 0x%x denied 0x%x, expected 0x%x 0x%x 0x%x", a->asked,
                 a->granted, a->denied, asked, granted, denied);
}

/* Every bit of bits was decided by by. */
static void assert_by(const struct ntfs_access *a, uint32_t bits, int by)
{
    for (unsigned b = 0; b < 32; b++)
        if ((bits & (1u << b)) && a->by[b] != by)
            fail_msg("bit 0x%x decided by %d, expected %d", 1u << b, a->by[b], by);
}

/* The descriptor a new child (file or folder) of the SDDL parent gets. */
static void inherit_from(const char *parent_sddl, int container, struct ntfs_sd *child)
{
    struct ntfs_sd parent;
    sd_from_sddl(parent_sddl, &parent);
    assert_int_equal(ntfs_sd_inherit(&parent, container, NULL, child), 0);
    ntfs_sd_free(&parent);
}

/* Canonical DACL: an explicit deny before the allow wins, for the user or
 * for a group the token holds; a deny for a SID not in the token does
 * nothing. */
static void test_canonical_deny_wins(void **state)
{
    struct tok k, nobu;
    struct ntfs_access a;
    (void)state;
    tok(&k, USER " S-1-1-0 S-1-5-11 S-1-5-32-545");
    tok(&nobu, USER " S-1-1-0 S-1-5-11");

    /* Deny WRITE_DATA to the user, then allow everything. */
    assert_int_equal(
        check("O:BAG:SYD:(D;;0x2;;;" USER ")(A;;FA;;;" USER ")", &k, NTFS_FILE_ALL_ACCESS, &a),
        0x1F01FDu);
    assert_masks(&a, 0x1F01FFu, 0x1F01FDu, 0x2u);
    assert_by(&a, NTFS_ACCESS_WRITE_DATA, 0);
    assert_by(&a, 0x1F01FDu, 1);
    assert_by(&a, ~0x1F01FFu, NTFS_DECIDED_NOTHING);

    /* Asking only for the denied bit: refused. */
    check("O:BAG:SYD:(D;;0x2;;;" USER ")(A;;FA;;;" USER ")", &k, NTFS_ACCESS_WRITE_DATA, &a);
    assert_masks(&a, 0x2u, 0, 0x2u);
    assert_by(&a, NTFS_ACCESS_WRITE_DATA, 0);

    /* The deny names a group the token holds (Users). */
    check("O:BAG:SYD:(D;;0x2;;;BU)(A;;FA;;;" USER ")", &k, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, 0x1F01FDu, 0x2u);
    assert_by(&a, NTFS_ACCESS_WRITE_DATA, 0);
    assert_by(&a, 0x1F01FDu, 1);

    /* The same deny for a token without Users: ignored. */
    check("O:BAG:SYD:(D;;0x2;;;BU)(A;;FA;;;" USER ")", &nobu, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, 0x1F01FFu, 0);
    assert_by(&a, 0x1F01FFu, 1);

    /* A deny for SIDs the token does not hold (Anonymous, another user). */
    check("O:BAG:SYD:(D;;FA;;;AN)(D;;FA;;;" OTHER ")(A;;FA;;;" USER ")", &k, NTFS_FILE_ALL_ACCESS,
          &a);
    assert_masks(&a, 0x1F01FFu, 0x1F01FFu, 0);
    assert_by(&a, 0x1F01FFu, 2);
}

/* Non-canonical DACL (allow before deny) is evaluated as it stands: the
 * bits the allow granted stay granted, the deny refuses only the rest; a
 * later allow gets nothing left to decide. Canonical order changes it. */
static void test_noncanonical(void **state)
{
    static const char sddl[] = "O:BAG:SYD:(A;;FR;;;BU)(D;;FA;;;BU)(A;;FA;;;" USER ")";
    struct tok k;
    struct ntfs_access a;
    struct ntfs_sd sd;
    (void)state;
    tok(&k, USER " S-1-5-32-545");

    sd_from_sddl(sddl, &sd);
    assert_false(ntfs_dacl_is_canonical(&sd));
    assert_int_equal(ntfs_access_check(&sd, &k.t, NTFS_FILE_ALL_ACCESS, &a), NTFS_RIGHTS_R);
    assert_masks(&a, 0x1F01FFu, 0x120089u, 0x0D0176u);
    assert_by(&a, 0x120089u, 0);
    assert_by(&a, 0x0D0176u, 1);

    /* Put in canonical order, the deny comes first and refuses all. */
    ntfs_dacl_canonicalize(&sd);
    assert_true(ntfs_dacl_is_canonical(&sd));
    assert_int_equal(ntfs_access_check(&sd, &k.t, NTFS_FILE_ALL_ACCESS, &a), 0);
    assert_masks(&a, 0x1F01FFu, 0, 0x1F01FFu);
    assert_by(&a, 0x1F01FFu, 0);
    ntfs_sd_free(&sd);
}

/* Inherited (ID) and explicit ACEs decide alike: only the order counts. */
static void test_inherited_like_explicit(void **state)
{
    static const struct {
        const char *sddl;
        uint32_t granted, denied;
        int by;
    } cases[] = {
        /* An inherited allow before an explicit deny: the allow wins. */
        {"O:BAG:SYD:(A;ID;FR;;;BU)(D;;FR;;;BU)", NTFS_RIGHTS_R, 0, 0},
        {"O:BAG:SYD:(A;;FR;;;BU)(D;;FR;;;BU)", NTFS_RIGHTS_R, 0, 0},
        {"O:BAG:SYD:(A;ID;FR;;;BU)(D;ID;FR;;;BU)", NTFS_RIGHTS_R, 0, 0},
        /* An inherited deny before an explicit allow: the deny wins. */
        {"O:BAG:SYD:(D;ID;FR;;;BU)(A;;FR;;;BU)", 0, NTFS_RIGHTS_R, 0},
        {"O:BAG:SYD:(D;;FR;;;BU)(A;;FR;;;BU)", 0, NTFS_RIGHTS_R, 0},
        {"O:BAG:SYD:(D;;FR;;;BU)(A;ID;FR;;;BU)", 0, NTFS_RIGHTS_R, 0},
        /* Only inherited ACEs: they apply to the object. */
        {"O:BAG:SYD:(A;ID;FR;;;BU)", NTFS_RIGHTS_R, 0, 0},
        {"O:BAG:SYD:(A;OICIID;FA;;;SY)(A;OICIID;FR;;;BU)", NTFS_RIGHTS_R, 0, 1},
    };
    struct tok k;
    struct ntfs_access a;
    (void)state;
    tok(&k, USER " S-1-5-32-545");

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check(cases[i].sddl, &k, NTFS_RIGHTS_R, &a);
        if (a.granted != cases[i].granted || a.denied != cases[i].denied)
            fail_msg("%s: granted 0x%x denied 0x%x, expected 0x%x 0x%x", cases[i].sddl, a.granted,
                     a.denied, cases[i].granted, cases[i].denied);
        assert_int_equal(a.asked, NTFS_RIGHTS_R);
        assert_by(&a, NTFS_RIGHTS_R, cases[i].by);
    }
}

/* Inherit-only ACEs do not apply to the object itself; inherited to a file,
 * an (OI)(IO) ACE with generic bits gives the file the mapped rights. */
static void test_inherit_only(void **state)
{
    static const char folder[] = "O:BAG:SYD:PAI(A;OICIIO;GRGX;;;BU)(A;OICI;FA;;;SY)";
    struct tok k;
    struct ntfs_access a;
    struct ntfs_sd file;
    (void)state;
    tok(&k, USER " S-1-1-0 S-1-5-11 S-1-5-32-545");

    /* Allow IO ACEs before a read allow: only the read is granted. */
    check("O:BAG:SYD:(A;IO;FA;;;BU)(A;OICIIO;FA;;;BU)(A;;FR;;;BU)", &k, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, NTFS_RIGHTS_R, 0);
    assert_by(&a, NTFS_RIGHTS_R, 2);
    assert_by(&a, 0x1F01FFu & ~NTFS_RIGHTS_R, NTFS_DECIDED_NOTHING);

    /* A deny IO ACE does not refuse anything on the object. */
    check("O:BAG:SYD:(D;OIIO;FR;;;BU)(A;;FR;;;BU)", &k, NTFS_RIGHTS_R, &a);
    assert_masks(&a, NTFS_RIGHTS_R, NTFS_RIGHTS_R, 0);
    assert_by(&a, NTFS_RIGHTS_R, 1);

    /* The folder itself: nothing for Users. */
    check(folder, &k, NTFS_GENERIC_READ, &a);
    assert_masks(&a, NTFS_RIGHTS_R, 0, 0);
    assert_by(&a, NTFS_RIGHTS_R, NTFS_DECIDED_NOTHING);

    /* A new file in it: read and execute via Users, from its first ACE. */
    inherit_from(folder, 0, &file);
    assert_int_equal(file.ace_count, 2);
    assert_int_equal(ntfs_access_check(&file, &k.t, NTFS_GENERIC_READ | NTFS_GENERIC_EXECUTE, &a),
                     NTFS_RIGHTS_RX);
    assert_masks(&a, NTFS_RIGHTS_RX, NTFS_RIGHTS_RX, 0);
    assert_by(&a, NTFS_RIGHTS_RX, 0);
    assert_string_equal(ntfs_access_letters(a.granted), "RX");
    /* All rights asked: only RX. */
    assert_int_equal(ntfs_access_check(&file, &k.t, NTFS_FILE_ALL_ACCESS, &a), NTFS_RIGHTS_RX);
    assert_masks(&a, 0x1F01FFu, NTFS_RIGHTS_RX, 0);
    assert_by(&a, 0x1F01FFu & ~NTFS_RIGHTS_RX, NTFS_DECIDED_NOTHING);
    ntfs_sd_free(&file);
}

/* A (CI)-only ACE on a folder reaches a child folder, not a child file. */
static void test_container_inherit_only(void **state)
{
    static const char parent[] = "O:BAG:SYD:PAI(A;CI;FR;;;BU)(A;OICI;FA;;;SY)";
    struct tok k;
    struct ntfs_access a;
    struct ntfs_sd child;
    (void)state;
    tok(&k, USER " S-1-5-32-545");

    /* The folder itself. */
    check(parent, &k, NTFS_ACCESS_READ_DATA, &a);
    assert_masks(&a, NTFS_ACCESS_READ_DATA, NTFS_ACCESS_READ_DATA, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA, 0);

    /* A file: only SYSTEM's ACE arrives. */
    inherit_from(parent, 0, &child);
    assert_int_equal(child.ace_count, 1);
    assert_int_equal(ntfs_access_check(&child, &k.t, NTFS_ACCESS_READ_DATA, &a), 0);
    assert_masks(&a, NTFS_ACCESS_READ_DATA, 0, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA, NTFS_DECIDED_NOTHING);
    ntfs_sd_free(&child);

    /* A folder: Users read it, from its first ACE. */
    inherit_from(parent, 1, &child);
    assert_int_equal(child.ace_count, 2);
    assert_int_equal(ntfs_access_check(&child, &k.t, NTFS_RIGHTS_R, &a), NTFS_RIGHTS_R);
    assert_masks(&a, NTFS_RIGHTS_R, NTFS_RIGHTS_R, 0);
    assert_by(&a, NTFS_RIGHTS_R, 0);
    ntfs_sd_free(&child);
}

/* A group ACE applies to a token that holds the group and only then. */
static void test_groups(void **state)
{
    static const char sddl[] = "O:BAG:SYD:(A;;FA;;;SY)(A;;FR;;;BU)";
    struct tok users, nousers;
    struct ntfs_access a;
    struct ntfs_sid bu = sid_of("S-1-5-32-545");
    (void)state;
    tok(&users, USER " S-1-1-0 S-1-5-32-545");
    tok(&nousers, USER " S-1-1-0 S-1-5-11");

    assert_true(ntfs_token_has(&users.t, &bu));
    assert_false(ntfs_token_has(&nousers.t, &bu));

    assert_int_equal(check(sddl, &users, NTFS_ACCESS_READ_DATA, &a), NTFS_ACCESS_READ_DATA);
    assert_masks(&a, NTFS_ACCESS_READ_DATA, NTFS_ACCESS_READ_DATA, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA, 1);

    assert_int_equal(check(sddl, &nousers, NTFS_ACCESS_READ_DATA, &a), 0);
    assert_masks(&a, NTFS_ACCESS_READ_DATA, 0, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA, NTFS_DECIDED_NOTHING);
}

/* Generic rights, in ACEs and asked, are mapped to file rights. */
static void test_generic_mapping(void **state)
{
    struct tok k;
    struct ntfs_access a;
    (void)state;
    tok(&k, USER " S-1-5-32-545");

    /* An ACE with GENERIC_ALL grants FILE_ALL_ACCESS. */
    assert_int_equal(check("O:BAG:SYD:(A;;GA;;;BU)", &k, NTFS_FILE_ALL_ACCESS, &a), 0x1F01FFu);
    assert_masks(&a, 0x1F01FFu, 0x1F01FFu, 0);
    assert_by(&a, 0x1F01FFu, 0);
    /* Asking GENERIC_ALL asks FILE_ALL_ACCESS. */
    check("O:BAG:SYD:(A;;GA;;;BU)", &k, NTFS_GENERIC_ALL, &a);
    assert_masks(&a, 0x1F01FFu, 0x1F01FFu, 0);

    /* Asking GENERIC_READ asks 0x120089, GENERIC_WRITE 0x120116,
     * GENERIC_EXECUTE 0x1200A0. */
    check("O:BAG:SYD:(A;;FR;;;BU)", &k, NTFS_GENERIC_READ, &a);
    assert_masks(&a, 0x120089u, 0x120089u, 0);
    assert_by(&a, 0x120089u, 0);
    check("O:BAG:SYD:(A;;FR;;;BU)", &k, NTFS_GENERIC_WRITE, &a);
    assert_masks(&a, 0x120116u, 0x120000u, 0);
    assert_by(&a, 0x120000u, 0);
    assert_by(&a, 0x116u, NTFS_DECIDED_NOTHING);
    check("O:BAG:SYD:(A;;FR;;;BU)", &k, NTFS_GENERIC_EXECUTE, &a);
    assert_masks(&a, 0x1200A0u, 0x120080u, 0);
    assert_by(&a, NTFS_ACCESS_EXECUTE, NTFS_DECIDED_NOTHING);

    /* An ACE with GENERIC_READ grants read data, not write data. */
    check("O:BAG:SYD:(A;;GR;;;BU)", &k, NTFS_ACCESS_READ_DATA | NTFS_ACCESS_WRITE_DATA, &a);
    assert_masks(&a, 0x3u, NTFS_ACCESS_READ_DATA, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA, 0);
    assert_by(&a, NTFS_ACCESS_WRITE_DATA, NTFS_DECIDED_NOTHING);

    /* A deny with GENERIC_WRITE refuses the mapped write rights. */
    check("O:BAG:SYD:(D;;GW;;;BU)(A;;GA;;;BU)", &k, NTFS_GENERIC_ALL, &a);
    assert_masks(&a, 0x1F01FFu, 0x0D00E9u, 0x120116u);
    assert_by(&a, 0x120116u, 0);
    assert_by(&a, 0x0D00E9u, 1);
}

/* No DACL: everything is granted; an empty DACL: nothing. */
static void test_null_and_empty_dacl(void **state)
{
    struct tok k;
    struct ntfs_access a;
    struct ntfs_sd sd;
    (void)state;
    tok(&k, USER " S-1-5-32-545");

    assert_int_equal(check("O:BAG:SYD:NO_ACCESS_CONTROL", &k, NTFS_FILE_ALL_ACCESS, &a), 0x1F01FFu);
    assert_masks(&a, 0x1F01FFu, 0x1F01FFu, 0);
    assert_by(&a, 0x1F01FFu, NTFS_DECIDED_NULL_DACL);
    assert_by(&a, ~0x1F01FFu, NTFS_DECIDED_NOTHING);

    check("O:BAG:SYD:NO_ACCESS_CONTROL", &k, NTFS_GENERIC_READ, &a);
    assert_masks(&a, 0x120089u, 0x120089u, 0);
    assert_by(&a, 0x120089u, NTFS_DECIDED_NULL_DACL);

    /* No DACL at all (a fresh descriptor), and an empty token. */
    ntfs_sd_init(&sd);
    {
        struct ntfs_token empty = {NULL, 0};
        assert_int_equal(ntfs_access_check(&sd, &empty, NTFS_ACCESS_WRITE_DATA, &a),
                         NTFS_ACCESS_WRITE_DATA);
    }
    assert_masks(&a, 0x2u, 0x2u, 0);
    assert_by(&a, NTFS_ACCESS_WRITE_DATA, NTFS_DECIDED_NULL_DACL);
    ntfs_sd_free(&sd);

    /* Empty DACL, not the owner: nothing, and nothing denied either. */
    assert_int_equal(check("O:BAG:SYD:", &k, NTFS_FILE_ALL_ACCESS, &a), 0);
    assert_masks(&a, 0x1F01FFu, 0, 0);
    assert_by(&a, 0xFFFFFFFFu, NTFS_DECIDED_NOTHING);
    check("O:BAG:SYD:P", &k, NTFS_GENERIC_READ, &a);
    assert_masks(&a, 0x120089u, 0, 0);

    /* Empty DACL, the owner: READ_CONTROL and WRITE_DAC only. */
    check("O:" USER " G:SY D:", &k, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, READ_CONTROL | WRITE_DAC, 0);
    assert_by(&a, READ_CONTROL | WRITE_DAC, NTFS_DECIDED_OWNER);
}

/* The owner gets READ_CONTROL and WRITE_DAC whatever the DACL says, unless
 * an OWNER RIGHTS ACE applies: then that ACE's mask is what the owner gets
 * as owner. */
static void test_owner(void **state)
{
    struct tok owner, group_owner, other;
    struct ntfs_access a;
    (void)state;
    tok(&owner, USER " S-1-1-0 S-1-5-32-545");
    tok(&group_owner, OTHER " S-1-5-32-544");
    tok(&other, OTHER " S-1-1-0 S-1-5-32-545");

    /* Nothing in the DACL for the owner. */
    check("O:" USER " G:SY D:(A;;FA;;;BA)", &owner, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, READ_CONTROL | WRITE_DAC, 0);
    assert_by(&a, READ_CONTROL | WRITE_DAC, NTFS_DECIDED_OWNER);
    assert_by(&a, 0x1F01FFu & ~(READ_CONTROL | WRITE_DAC), NTFS_DECIDED_NOTHING);
    /* Only asked bits are decided: asking read data gives nothing. */
    check("O:" USER " G:SY D:(A;;FA;;;BA)", &owner, NTFS_ACCESS_READ_DATA, &a);
    assert_masks(&a, NTFS_ACCESS_READ_DATA, 0, 0);
    assert_by(&a, READ_CONTROL | WRITE_DAC, NTFS_DECIDED_NOTHING);
    /* A non-owner gets nothing. */
    check("O:" USER " G:SY D:(A;;FA;;;BA)", &other, READ_CONTROL | WRITE_DAC, &a);
    assert_masks(&a, READ_CONTROL | WRITE_DAC, 0, 0);
    /* The owner may be a group of the token (Administrators). */
    check("O:BAG:SYD:(A;;FR;;;SY)", &group_owner, READ_CONTROL | WRITE_DAC, &a);
    assert_masks(&a, READ_CONTROL | WRITE_DAC, READ_CONTROL | WRITE_DAC, 0);
    assert_by(&a, READ_CONTROL | WRITE_DAC, NTFS_DECIDED_OWNER);

    /* A deny to the owner cannot take the two rights back. */
    check("O:" USER " G:SY D:(D;;FA;;;" USER ")", &owner, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, READ_CONTROL | WRITE_DAC, 0x1901FFu);
    assert_by(&a, READ_CONTROL | WRITE_DAC, NTFS_DECIDED_OWNER);
    assert_by(&a, 0x1901FFu, 0);

    /* OWNER RIGHTS allows read: the owner gets READ_CONTROL from it and no
     * WRITE_DAC. */
    check("O:" USER " G:SY D:(A;;FR;;;" OWNER_RIGHTS ")", &owner, READ_CONTROL | WRITE_DAC, &a);
    assert_masks(&a, READ_CONTROL | WRITE_DAC, READ_CONTROL, 0);
    assert_by(&a, READ_CONTROL, 0);
    assert_by(&a, WRITE_DAC, NTFS_DECIDED_NOTHING);
    check("O:" USER " G:SY D:(A;;FR;;;" OWNER_RIGHTS ")", &owner, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, NTFS_RIGHTS_R, 0);
    assert_by(&a, NTFS_RIGHTS_R, 0);
    /* ... and it does not apply to a non-owner. */
    check("O:" USER " G:SY D:(A;;FR;;;" OWNER_RIGHTS ")", &other, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, 0, 0);

    /* OWNER RIGHTS denied WRITE_DAC: the owner loses it despite an allow. */
    check("O:" USER " G:SY D:(D;;WD;;;" OWNER_RIGHTS ")(A;;FA;;;" USER ")", &owner,
          NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, 0x1B01FFu, WRITE_DAC);
    assert_by(&a, WRITE_DAC, 0);
    assert_by(&a, 0x1B01FFu, 1);

    /* An OWNER RIGHTS ACE that is inherit-only does not apply to the object
     * (effective.h): the implicit rights stay. */
    check("O:" USER " G:SY D:(A;OICIIO;FR;;;" OWNER_RIGHTS ")", &owner, NTFS_FILE_ALL_ACCESS, &a);
    assert_masks(&a, 0x1F01FFu, READ_CONTROL | WRITE_DAC, 0);
    assert_by(&a, READ_CONTROL | WRITE_DAC, NTFS_DECIDED_OWNER);
}

/* The icacls names of granted masks. */
static void test_letters(void **state)
{
    (void)state;
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_F), "F");
    assert_string_equal(ntfs_access_letters(0xFFFFFFFFu), "F");
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_M), "M");
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_RX), "RX");
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_R), "R");
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_R & ~SYNCHRONIZE), "R");
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_W), "W");
    assert_string_equal(ntfs_access_letters(NTFS_FILE_GENERIC_WRITE), "W");
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_R | NTFS_RIGHTS_W), "RW");
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_RX | NTFS_RIGHTS_W), "RWX");
    assert_string_equal(ntfs_access_letters(NTFS_ACCESS_EXECUTE), "X");
    assert_string_equal(ntfs_access_letters(0), "-");
    assert_string_equal(ntfs_access_letters(SYNCHRONIZE), "-");
    /* Read data without READ_CONTROL is not R. */
    assert_string_equal(ntfs_access_letters(NTFS_RIGHTS_R & ~READ_CONTROL), "special");
    assert_string_equal(ntfs_access_letters(NTFS_ACCESS_READ_DATA), "special");
    assert_string_equal(ntfs_access_letters(NTFS_ACCESS_DELETE), "special");
    assert_string_equal(ntfs_access_letters(READ_CONTROL | WRITE_DAC), "special");
}

/* The ACEs that decided a mask: DACL order (not bit order), each once,
 * at most max, owner / NULL DACL / undecided bits left out. */
static void test_evidence(void **state)
{
    /* ACE 0 decides bit 16, ACE 1 bits 0 and 3, ACE 2 bit 1, ACE 3 bit 5
     * (its bit 0 is already decided). */
    static const char sddl[] = "O:" USER " G:SYD:(A;;0x10000;;;BU)(A;;0x9;;;BU)(D;;0x2;;;WD)"
                               "(A;;0x21;;;AU)(A;;FA;;;AU)";
    const uint32_t asked = NTFS_ACCESS_DELETE | NTFS_ACCESS_READ_DATA | READ_EA |
                           NTFS_ACCESS_WRITE_DATA | NTFS_ACCESS_EXECUTE | READ_CONTROL;
    struct tok k;
    struct ntfs_access a;
    int idx[8];
    (void)state;
    tok(&k, USER " S-1-1-0 S-1-5-11 S-1-5-32-545");

    check(sddl, &k, asked, &a);
    assert_masks(&a, asked, asked & ~NTFS_ACCESS_WRITE_DATA, NTFS_ACCESS_WRITE_DATA);
    assert_by(&a, NTFS_ACCESS_DELETE, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA | READ_EA, 1);
    assert_by(&a, NTFS_ACCESS_WRITE_DATA, 2);
    assert_by(&a, NTFS_ACCESS_EXECUTE, 3);
    assert_by(&a, READ_CONTROL, NTFS_DECIDED_OWNER);

    /* All: 0 1 2 3, ACE 4 decided nothing, the owner is no ACE. */
    memset(idx, 0x55, sizeof idx);
    assert_int_equal(ntfs_access_evidence(&a, 0xFFFFFFFFu, idx, 8), 4);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
    assert_int_equal(idx[3], 3);
    assert_int_equal(idx[4], 0x55555555);

    /* At most max, the first ones in DACL order. */
    memset(idx, 0x55, sizeof idx);
    assert_int_equal(ntfs_access_evidence(&a, 0xFFFFFFFFu, idx, 2), 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 0x55555555);
    memset(idx, 0x55, sizeof idx);
    assert_int_equal(ntfs_access_evidence(&a, 0xFFFFFFFFu, idx, 0), 0);
    assert_int_equal(idx[0], 0x55555555);

    /* Only the bits of mask: execute (ACE 3) and write data (ACE 2). */
    memset(idx, 0x55, sizeof idx);
    assert_int_equal(ntfs_access_evidence(&a, NTFS_ACCESS_EXECUTE | NTFS_ACCESS_WRITE_DATA, idx, 8),
                     2);
    assert_int_equal(idx[0], 2);
    assert_int_equal(idx[1], 3);
    assert_int_equal(idx[2], 0x55555555);

    /* Two bits decided by one ACE: it appears once. */
    assert_int_equal(ntfs_access_evidence(&a, NTFS_ACCESS_READ_DATA | READ_EA, idx, 8), 1);
    assert_int_equal(idx[0], 1);
    /* Decided by the owner only, or not asked: no ACE. */
    assert_int_equal(ntfs_access_evidence(&a, READ_CONTROL, idx, 8), 0);
    assert_int_equal(ntfs_access_evidence(&a, WRITE_DAC, idx, 8), 0);

    /* A NULL DACL has no evidence; an undecided bit neither. */
    check("O:BAG:SYD:NO_ACCESS_CONTROL", &k, NTFS_FILE_ALL_ACCESS, &a);
    assert_int_equal(ntfs_access_evidence(&a, 0xFFFFFFFFu, idx, 8), 0);
    check("O:BAG:SYD:(A;;FA;;;SY)", &k, NTFS_FILE_ALL_ACCESS, &a);
    assert_int_equal(ntfs_access_evidence(&a, 0xFFFFFFFFu, idx, 8), 0);
}

/* The seed scenario: an IIS site folder grants IIS_IUSRS RX (OI)(CI) and
 * nothing to IUSR; the anonymous identity cannot read a file created in it.
 * Granting IUSR RX (OI)(CI) on the folder fixes it. */
static void test_iis_seed(void **state)
{
    static const char folder[] = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
                                 "(A;OICI;0x1200a9;;;S-1-5-32-568)";
    static const char fixed[] = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
                                "(A;OICI;0x1200a9;;;S-1-5-32-568)(A;OICI;0x1200a9;;;S-1-5-17)";
    struct tok iusr, pool;
    struct ntfs_access a;
    struct ntfs_sd file;
    int idx[4];
    (void)state;
    tok(&iusr, "S-1-5-17 S-1-1-0 S-1-5-11 S-1-5-32-545");
    tok(&pool, POOL_SID " S-1-5-32-568 S-1-1-0 S-1-5-11 S-1-5-32-545");

    inherit_from(folder, 0, &file);
    assert_int_equal(file.ace_count, 3);
    assert_int_equal(ntfs_access_check(&file, &iusr.t, NTFS_ACCESS_READ_DATA, &a), 0);
    assert_masks(&a, NTFS_ACCESS_READ_DATA, 0, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA, NTFS_DECIDED_NOTHING);
    assert_int_equal(ntfs_access_evidence(&a, NTFS_ACCESS_READ_DATA, idx, 4), 0);
    assert_int_equal(ntfs_access_check(&file, &iusr.t, NTFS_FILE_ALL_ACCESS, &a), 0);
    assert_string_equal(ntfs_access_letters(a.granted), "-");
    /* The pool identity (in IIS_IUSRS) reads it, from the third ACE. */
    assert_int_equal(ntfs_access_check(&file, &pool.t, NTFS_ACCESS_READ_DATA, &a),
                     NTFS_ACCESS_READ_DATA);
    assert_by(&a, NTFS_ACCESS_READ_DATA, 2);
    ntfs_sd_free(&file);

    inherit_from(fixed, 0, &file);
    assert_int_equal(file.ace_count, 4);
    assert_int_equal(ntfs_access_check(&file, &iusr.t, NTFS_ACCESS_READ_DATA, &a),
                     NTFS_ACCESS_READ_DATA);
    assert_masks(&a, NTFS_ACCESS_READ_DATA, NTFS_ACCESS_READ_DATA, 0);
    assert_by(&a, NTFS_ACCESS_READ_DATA, 3);
    assert_int_equal(ntfs_access_evidence(&a, NTFS_ACCESS_READ_DATA, idx, 4), 1);
    assert_int_equal(idx[0], 3);
    assert_int_equal(ntfs_access_check(&file, &iusr.t, NTFS_FILE_ALL_ACCESS, &a), NTFS_RIGHTS_RX);
    assert_masks(&a, 0x1F01FFu, NTFS_RIGHTS_RX, 0);
    assert_string_equal(ntfs_access_letters(a.granted), "RX");
    ntfs_sd_free(&file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_deny_wins),
        cmocka_unit_test(test_noncanonical),
        cmocka_unit_test(test_inherited_like_explicit),
        cmocka_unit_test(test_inherit_only),
        cmocka_unit_test(test_container_inherit_only),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_generic_mapping),
        cmocka_unit_test(test_null_and_empty_dacl),
        cmocka_unit_test(test_owner),
        cmocka_unit_test(test_letters),
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_iis_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
