/* SPDX-License-Identifier: GPL-3.0-or-later */
/* provision/fold.c: names that are one name on Windows (REFERENCE.md §9):
 * equal under the simple upper-case OR the simple lower-case mapping, the
 * key (case classes), refusal of unknown characters and invalid UTF-8, the
 * name-keyed map, the AppPool SID that hashes the simple lower case, and
 * folders refused when the content location holds another spelling (on the
 * in-memory back end, unit/fake/backend_mem.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake/backend_mem.h"
#include "provision/fold.h"
#include "provision/folders.h"
#include "provision/ntfs/sid.h"
#include "testmsg.h"
#include "testutil.h"

#define KELVIN         "\xE2\x84\xAA"     /* U+212A KELVIN SIGN */
#define SIGMA_UP       "\xCE\xA3"         /* U+03A3 */
#define SIGMA          "\xCF\x83"         /* U+03C3 */
#define SIGMA_FINAL    "\xCF\x82"         /* U+03C2 */
#define A_UML_UP       "\xC3\x84"         /* U+00C4 */
#define A_UML          "\xC3\xA4"         /* U+00E4 */
#define SHARP_S        "\xC3\x9F"         /* U+00DF */
#define SHARP_S_UP     "\xE1\xBA\x9E"     /* U+1E9E */
#define I_DOT_UP       "\xC4\xB0"         /* U+0130 */
#define I_DOTLESS      "\xC4\xB1"         /* U+0131 */
#define THETA_SYM      "\xCF\x91"         /* U+03D1 */
#define THETA_CAP_SYM  "\xCF\xB4"         /* U+03F4 */
#define CHEROKEE_A     "\xE1\x8E\xA0"     /* U+13A0 */
#define CHEROKEE_a     "\xEA\xAD\xB0"     /* U+AB70 */
#define CHEROKEE_YE    "\xE1\x8F\xB0"     /* U+13F0 */
#define CHEROKEE_ye    "\xE1\x8F\xB8"     /* U+13F8 */
#define GEO_AN         "\xE1\x83\x90"     /* U+10D0 Mkhedruli */
#define GEO_AN_MTAV    "\xE1\xB2\x90"     /* U+1C90 Mtavruli */
#define GEO_AN_ASOM    "\xE1\x82\xA0"     /* U+10A0 Asomtavruli */
#define GEO_AN_NUSKH   "\xE2\xB4\x80"     /* U+2D00 Nuskhuri */
#define DESERET_LONG_I "\xF0\x90\x90\x80" /* U+10400 */
#define DESERET_long_i "\xF0\x90\x90\xA8" /* U+10428 */
#define UNASSIGNED     "\xCD\xB8"         /* U+0378 */
#define UNASSIGNED_SMP "\xF0\xAF\xBF\xBF" /* U+2FFFF */
#define NONCHAR        "\xEF\xBF\xBF"     /* U+FFFF */

static void collide(const char *a, const char *b)
{
    if (!names_collide(a, b) || !names_collide(b, a))
        fail_msg("'%s' and '%s' should collide", a, b);
    assert_true(name_fold_hash(a) == name_fold_hash(b));
    char *ka, *kb;
    assert_int_equal(name_fold_key(a, &ka, NULL), 0);
    assert_int_equal(name_fold_key(b, &kb, NULL), 0);
    assert_string_equal(ka, kb);
    free(ka);
    free(kb);
}

static void apart(const char *a, const char *b)
{
    if (names_collide(a, b) || names_collide(b, a))
        fail_msg("'%s' and '%s' should not collide", a, b);
    char *ka, *kb;
    assert_int_equal(name_fold_key(a, &ka, NULL), 0);
    assert_int_equal(name_fold_key(b, &kb, NULL), 0);
    assert_string_not_equal(ka, kb);
    free(ka);
    free(kb);
}

static void kelvin_sign(void **state)
{
    (void)state;
    /* Upper-casing keeps U+212A, lower-casing gives k: one name. */
    assert_int_equal(fold_simple_upper(0x212A), 0x212A);
    assert_int_equal(fold_simple_lower(0x212A), 'k');
    assert_int_equal(fold_simple_upper('k'), 'K');
    collide(KELVIN "elvin.example.com", "kelvin.example.com");
    collide(KELVIN "elvin.example.com", "Kelvin.example.com");
    collide("KELVIN", "kelvin");
    apart(KELVIN "elvin", "celvin");
}

static void sigma_forms(void **state)
{
    (void)state;
    /* Final sigma lower-cases to itself, upper-cases to U+03A3. */
    assert_int_equal(fold_simple_lower(0x03C2), 0x03C2);
    assert_int_equal(fold_simple_upper(0x03C2), 0x03A3);
    collide("\xCE\x9F\xCE\x94\xCE\x9F" SIGMA_UP, "\xCE\xBF\xCE\xB4\xCE\xBF" SIGMA_FINAL);
    collide("\xCE\xBF\xCE\xB4\xCE\xBF" SIGMA, "\xCE\xBF\xCE\xB4\xCE\xBF" SIGMA_FINAL);
    collide(SIGMA_UP, SIGMA);
}

static void umlaut(void **state)
{
    (void)state;
    collide(A_UML_UP "rger.example.com", A_UML "RGER.example.com");
    collide(A_UML_UP, A_UML);
    apart(A_UML "rger", "arger");
}

static void sharp_s(void **state)
{
    (void)state;
    /* Simple mappings are one code point to one: "ß" is not "SS" (NTFS
     * keeps them apart too), but U+1E9E lower-cases to it. */
    apart("stra" SHARP_S "e", "STRASSE");
    apart(SHARP_S, "ss");
    collide(SHARP_S_UP, SHARP_S);
    collide("STRA" SHARP_S_UP "E", "stra" SHARP_S "e");
}

static void dotted_and_dotless_i(void **state)
{
    (void)state;
    /* UnicodeData.txt: U+0130 lower-cases to i, U+0131 upper-cases to I,
     * and neither has the other mapping. */
    assert_int_equal(fold_simple_lower(0x0130), 'i');
    assert_int_equal(fold_simple_upper(0x0130), 0x0130);
    assert_int_equal(fold_simple_upper(0x0131), 'I');
    assert_int_equal(fold_simple_lower(0x0131), 0x0131);
    collide(I_DOT_UP "stanbul", "istanbul");  /* equal lower-cased */
    collide(I_DOTLESS "stanbul", "Istanbul"); /* equal upper-cased */
    collide(I_DOT_UP "STANBUL", "Istanbul");
    /* Not equal under either mapping, but in one class through I/i: the
     * key is the closure, the safe side (fold.h). */
    collide(I_DOT_UP, I_DOTLESS);
    collide(THETA_SYM, THETA_CAP_SYM);
    /* Mixed: K agrees upper-cased, sigma only lower-cased. */
    collide(KELVIN SIGMA, "K" SIGMA_FINAL);
}

static void other_scripts(void **state)
{
    (void)state;
    /* Cherokee: the upper case came first (U+13A0), the lower case later
     * (U+AB70); U+13F8 upper-cases to U+13F0. */
    collide(CHEROKEE_A, CHEROKEE_a);
    collide(CHEROKEE_YE, CHEROKEE_ye);
    apart(CHEROKEE_A, CHEROKEE_YE);
    /* Georgian: Mkhedruli / Mtavruli, Asomtavruli / Nuskhuri; the two
     * pairs are different letters to these mappings. */
    collide(GEO_AN, GEO_AN_MTAV);
    collide(GEO_AN_ASOM, GEO_AN_NUSKH);
    apart(GEO_AN, GEO_AN_ASOM);
    apart(GEO_AN, GEO_AN_NUSKH);
    /* Deseret, outside the BMP (four-byte UTF-8). */
    assert_int_equal(fold_simple_lower(0x10400), 0x10428);
    assert_int_equal(fold_simple_upper(0x10428), 0x10400);
    collide(DESERET_LONG_I "x", DESERET_long_i "X");
    /* Other characters stand for themselves. */
    collide("\xE4\xB8\xAD\xE6\x96\x87", "\xE4\xB8\xAD\xE6\x96\x87");
    apart("\xE4\xB8\xAD", "\xE4\xB8\xAE");
    apart("a", "ab");
    apart("", "a");
    collide("", "");
}

static void expect_refused(const char *name, const char *reason)
{
    char why[NAME_WHY_MAX] = "";
    assert_false(name_is_known(name, why));
    if (!strstr(why, reason))
        fail_msg("reason '%s' lacks '%s'", why, reason);
    char *key = (char *)1;
    char why2[NAME_WHY_MAX] = "";
    assert_int_equal(name_fold_key(name, &key, why2), -1);
    assert_null(key);
    assert_string_equal(why, why2);
    assert_false(name_is_known(name, NULL)); /* why is optional */
}

static void unknown_refused(void **state)
{
    (void)state;
    expect_refused("site" UNASSIGNED ".example.com",
                   "U+0378 (byte 5) is not a character of Unicode");
    expect_refused(UNASSIGNED_SMP, "U+2FFFF (byte 1) is not a character of Unicode");
    expect_refused("x" NONCHAR, "U+FFFF (byte 2)");
    expect_refused("\xF4\x8F\xBF\xBF", "U+10FFFF"); /* noncharacter */
    char why[NAME_WHY_MAX] = "";
    assert_true(name_is_known("\xEE\x80\x80", why)); /* U+E000, private use */
    assert_true(name_is_known(A_UML_UP "rger.example.com", why));
    assert_true(name_is_known("", why));
    assert_false(fold_assigned(0x0378));
    assert_false(fold_assigned(0xD800)); /* surrogates are never characters */
    assert_true(fold_assigned(0x4E00));  /* in a First/Last range */
    assert_true(fold_assigned(0x9FFF));
    assert_true(fold_assigned(0x1F600));
    assert_false(fold_assigned(0x110000));
    assert_string_equal(fold_unicode_version_text(), "15.0.0");
}

static void invalid_utf8_refused(void **state)
{
    (void)state;
    expect_refused("a\xFF", "invalid UTF-8 at byte 2");
    expect_refused("\x80", "invalid UTF-8 at byte 1");
    expect_refused("ab\xC3", "invalid UTF-8 at byte 3");       /* truncated */
    expect_refused("\xE2\x84", "invalid UTF-8 at byte 1");     /* truncated */
    expect_refused("\xED\xA0\x80", "invalid UTF-8 at byte 1"); /* surrogate */
    expect_refused("\xF4\x90\x80\x80", "invalid UTF-8");       /* > U+10FFFF */
    expect_refused("\xF8\x88\x80\x80\x80", "invalid UTF-8");   /* 5 bytes */
}

static void overlong_refused(void **state)
{
    (void)state;
    expect_refused("\xC0\xAF", "invalid UTF-8 at byte 1");         /* '/' */
    expect_refused("x\xC1\x8B", "invalid UTF-8 at byte 2");        /* 'K' */
    expect_refused("\xE0\x80\xAF", "invalid UTF-8 at byte 1");     /* '/' */
    expect_refused("\xE0\x81\x8B", "invalid UTF-8");               /* 'K' */
    expect_refused("\xF0\x80\x80\xAF", "invalid UTF-8 at byte 1"); /* '/' */
    expect_refused("\xF0\x82\x84\xAA", "invalid UTF-8");           /* U+212A */
    /* Comparisons stay total and never read an overlong as its letter. */
    assert_false(names_collide("\xC1\x8B", "k"));
    assert_false(names_collide("\xC1\x8B", "K"));
    assert_false(names_collide("\xF0\x82\x84\xAA", KELVIN));
    assert_true(names_collide("x\xFF", "X\xFF"));
    assert_false(names_collide("x\xFF", "x\xFE"));
}

static void tables_are_closed(void **state)
{
    (void)state;
    /* Every code point: its class is the class of its upper and lower
     * case, the representative is the smallest member and its own
     * representative; ASCII letters stand for themselves upper-cased. */
    for (uint32_t c = 0; c <= 0x10FFFF; c++) {
        uint32_t k = fold_class(c);
        if (fold_class(fold_simple_upper(c)) != k || fold_class(fold_simple_lower(c)) != k ||
            fold_class(k) != k || k > c)
            fail_msg("U+%04X: class U+%04X is not closed", (unsigned)c, (unsigned)k);
        if (k != c && !fold_assigned(c))
            fail_msg("U+%04X: mapped but not assigned", (unsigned)c);
    }
    for (uint32_t c = 'a'; c <= 'z'; c++)
        assert_int_equal(fold_class(c), c - 32);
}

static void prefix(void **state)
{
    (void)state;
    size_t n = 0;
    assert_true(name_fold_prefix("D:\\Sites\\x", "d:\\sites", &n));
    assert_int_equal(n, 8);
    assert_true(name_fold_prefix(KELVIN "x\\y", "kX", &n));
    assert_int_equal(n, 4);
    assert_true(name_fold_prefix("D:\\" A_UML "rger\\w", "d:\\" A_UML_UP "RGER", &n));
    assert_int_equal(n, 9);
    assert_false(name_fold_prefix("D:\\Si", "d:\\sites", &n));
    assert_false(name_fold_prefix("D:\\Sotes", "d:\\sites", NULL));
    assert_true(name_fold_prefix("abc", "", &n));
    assert_int_equal(n, 0);
}

static void name_map(void **state)
{
    (void)state;
    struct strmap names, ascii;
    int one = 1, two = 2;
    strmap_init_names(&names);
    strmap_init(&ascii);
    strmap_put(&names, A_UML_UP "rger.example.com", &one);
    strmap_put(&ascii, A_UML_UP "rger.example.com", &one);
    assert_ptr_equal(strmap_get(&names, A_UML "RGER.example.com"), &one);
    assert_null(strmap_get(&ascii, A_UML "RGER.example.com"));
    assert_ptr_equal(strmap_get(&names, A_UML_UP "RGER.EXAMPLE.COM"), &one);
    strmap_put(&names, KELVIN "elvin", &two);
    assert_ptr_equal(strmap_get(&names, "kelvin"), &two);
    /* Many keys: growth and deletion keep lookups by class working. */
    for (int i = 0; i < 200; i++) {
        char k[32];
        snprintf(k, sizeof k, A_UML "%d", i);
        strmap_put(&names, k, &one);
    }
    assert_ptr_equal(strmap_del(&names, "KELVIN"), &two);
    assert_null(strmap_get(&names, KELVIN "elvin"));
    assert_ptr_equal(strmap_get(&names, A_UML_UP "199"), &one);
    assert_int_equal(names.count, 201);
    strmap_free(&names);
    assert_true(names.names); /* freed, still a name map */
    strmap_free(&ascii);
}

static void sid_of(const char *pool, struct ntfs_sid *s)
{
    if (ntfs_sid_apppool(pool, s) != 0)
        fail_msg("pool '%s' refused", pool);
}

static void apppool_sid(void **state)
{
    (void)state;
    struct ntfs_sid a, b;
    char text[NTFS_SID_STRING_MAX];
    /* REFERENCE.md §9: these two are one name, and one SID. */
    sid_of(A_UML_UP "rger.example.com", &a);
    sid_of(A_UML "RGER.example.com", &b);
    assert_true(ntfs_sid_equal(&a, &b));
    /* The SID hashes the simple lower case: U+212A is k there. */
    sid_of(KELVIN "elvin", &a);
    sid_of("kelvin", &b);
    assert_true(ntfs_sid_equal(&a, &b));
    sid_of(I_DOT_UP "x", &a);
    sid_of("ix", &b);
    assert_true(ntfs_sid_equal(&a, &b));
    sid_of(DESERET_LONG_I, &a);
    sid_of(DESERET_long_i, &b);
    assert_true(ntfs_sid_equal(&a, &b));
    /* Final sigma lower-cases to itself: another SID, although the names
     * collide (equal upper-cased), which is why such pairs are refused. */
    sid_of("\xCE\xBF\xCE\xB4\xCE\xBF" SIGMA, &a);
    sid_of("\xCE\xBF\xCE\xB4\xCE\xBF" SIGMA_FINAL, &b);
    assert_false(ntfs_sid_equal(&a, &b));
    /* ASCII names as before (checked on Windows). */
    sid_of("DefaultAppPool", &a);
    ntfs_sid_format(&a, text, sizeof text);
    assert_string_equal(text, "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415");
}

/* Plans the folders of a site (dry run) whose folder is ROOT\\name, with
 * wwwroot below it, on run. */
static int plan_folders(struct folder_run *run, const char *name, struct diag *d)
{
    char *site = xasprintf("D:\\Sites\\%s", name), *www = xasprintf("%s\\wwwroot", site);
    struct folder_spec folders[] = {{"site", site}, {"wwwroot", www}};
    struct site_model m = {.name = (char *)name,
                           .identity = IDENTITY_NETWORKSERVICE,
                           .folders = folders,
                           .n_folders = 2};
    struct changes out;
    changes_init(&out);
    int rc = folders_apply_site(run, &m, NULL, NULL, true, &out, d);
    changes_free(&out);
    free(site);
    free(www);
    return rc;
}

static void folders_on_disk(void **state)
{
    (void)state;
    char dir[] = "/tmp/provision-fold-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *memfs = xasprintf("%s/content" MEM_FS_SUFFIX, dir);
    assert_int_equal(mem_fs_create(memfs, NULL), 0);
    assert_int_equal(mem_fs_add(memfs, A_UML_UP "rger.example.com", true), 0);
    assert_int_equal(mem_fs_add(memfs, "shop.example.com", true), 0);
    assert_int_equal(mem_fs_add(memfs, "shop.example.com/wwwroot", true), 0);
    struct conf c = {
        .path = "provision.ini", .content_root = "D:\\Sites\\", .content_location = memfs};
    struct diag d;
    diag_init(&d);
    struct folder_run *run = folders_open(&c, &d);
    assert_non_null(run);
    /* Another tenant's folder, spelled in another case: refused. */
    assert_int_equal(plan_folders(run, A_UML "RGER.example.com", &d), -1);
    assert_said(&d, "site '" A_UML "RGER.example.com': folder D:\\Sites\\" A_UML
                    "RGER.example.com: '" A_UML
                    "RGER.example.com' is already in D:\\Sites as '" A_UML_UP
                    "rger.example.com', and NTFS treats names equal without regard to "
                    "case");
    diag_free(&d);
    diag_init(&d);
    assert_int_equal(plan_folders(run, KELVIN "elvin.example.com", &d), 0);
    /* The same spelling, existing or new, is fine; a later site of the
     * run may not take another spelling of what an earlier one makes. */
    assert_int_equal(plan_folders(run, A_UML_UP "rger.example.com", &d), 0);
    assert_int_equal(plan_folders(run, "shop.example.com", &d), 0);
    assert_int_equal(d.count, 0);
    assert_int_equal(plan_folders(run, "kelvin.example.com", &d), -1);
    assert_said(&d,
                "'kelvin.example.com' is already in D:\\Sites as '" KELVIN "elvin.example.com'");
    diag_free(&d);
    diag_init(&d);
    assert_int_equal(plan_folders(run, "SHOP.example.com", &d), -1);
    assert_said(&d, "'SHOP.example.com' is already in D:\\Sites as 'shop.example.com'");
    diag_free(&d);
    diag_init(&d);
    assert_int_equal(folders_close(run, &d), 0);
    diag_free(&d);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(memfs);
}

/* name_is_known skips the table for ASCII: every ASCII character must be
 * assigned in it (and a name of them all is known). */
static void ascii_all_assigned(void **state)
{
    (void)state;
    char all[128];
    for (uint32_t c = 0; c < 0x80; c++) {
        assert_true(fold_assigned(c));
        all[c] = (char)(c + 1 < 0x80 ? c + 1 : 'x'); /* 1..127, no NUL inside */
    }
    all[127] = '\0';
    char why[NAME_WHY_MAX];
    assert_true(name_is_known(all, why));
    assert_false(name_is_known("a\xcd\xb8"
                               "b",
                               why)); /* U+0378: unassigned */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kelvin_sign),
        cmocka_unit_test(sigma_forms),
        cmocka_unit_test(umlaut),
        cmocka_unit_test(sharp_s),
        cmocka_unit_test(dotted_and_dotless_i),
        cmocka_unit_test(other_scripts),
        cmocka_unit_test(unknown_refused),
        cmocka_unit_test(invalid_utf8_refused),
        cmocka_unit_test(overlong_refused),
        cmocka_unit_test(tables_are_closed),
        cmocka_unit_test(prefix),
        cmocka_unit_test(name_map),
        cmocka_unit_test(apppool_sid),
        cmocka_unit_test(folders_on_disk),
        cmocka_unit_test(ascii_all_assigned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
