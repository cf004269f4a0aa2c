/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for ldap/password.c: length limits, the four classes in every
 * password, the alphabet, the first character, AD's complexity rule
 * (account name and display-name tokens), unbiased index choice and a loose
 * frequency check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ldap/password.h"
#include "provision/util.h"

static void test_lengths(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    char *p = password_generate(0, NULL, NULL, &d);
    assert_non_null(p);
    assert_int_equal(strlen(p), PASSWORD_DEFAULT_LEN);
    free_secret(p);
    for (size_t len = PASSWORD_MIN_LEN; len <= PASSWORD_MAX_LEN; len += 7) {
        p = password_generate(len, "IUSR_x", "IUSR x", &d);
        assert_non_null(p);
        assert_int_equal(strlen(p), len);
        free_secret(p);
    }
    assert_int_equal(d.count, 0);
    assert_null(password_generate(PASSWORD_MIN_LEN - 1, NULL, NULL, &d));
    assert_null(password_generate(PASSWORD_MAX_LEN + 1, NULL, NULL, &d));
    assert_int_equal(d.count, 2);
    diag_free(&d);
}

static void test_classes_many_runs(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    const char *forbidden = "IOl01 \"'&<>$`\\!;|*?~#()[]{}%^,=/";
    for (int i = 0; i < 5000; i++) {
        size_t len = (i % 2) ? PASSWORD_MIN_LEN : PASSWORD_DEFAULT_LEN;
        char *p = password_generate(len, "IUSR_shop", "IUSR shop.example.com", &d);
        assert_non_null(p);
        int up = 0, lo = 0, dig = 0, sym = 0;
        for (char *c = p; *c; c++) {
            assert_non_null(strchr(password_alphabet, *c));
            assert_null(strchr(forbidden, *c));
            up |= *c >= 'A' && *c <= 'Z';
            lo |= *c >= 'a' && *c <= 'z';
            dig |= *c >= '0' && *c <= '9';
            sym |= strchr("-_.:+@", *c) != NULL;
        }
        assert_true(up && lo && dig && sym);
        assert_true((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'));
        assert_true(password_ad_complex(p, "IUSR_shop", "IUSR shop.example.com"));
        free_secret(p);
    }
    diag_free(&d);
}

static void test_ad_complex(void **state)
{
    (void)state;
    /* three of four classes */
    assert_true(password_ad_complex("Abcdefgh1", NULL, NULL));
    assert_true(password_ad_complex("abcdefg1!", NULL, NULL));
    assert_false(password_ad_complex("abcdefghij", NULL, NULL));
    assert_false(password_ad_complex("abcdefgh12", NULL, NULL));
    assert_false(password_ad_complex("ABCDEFGH!!", NULL, NULL));
    /* account name, case-insensitive, only when >= 3 characters */
    assert_false(password_ad_complex("xxIUSR_SHOPxx1!", "IUSR_shop", NULL));
    assert_true(password_ad_complex("xxABxx1!A", "ab", NULL));
    /* display name tokens of >= 3 characters */
    assert_false(password_ad_complex("Q9-shopZZ", NULL, "IUSR shop.example.com"));
    assert_false(password_ad_complex("Q9-COMzz", NULL, "IUSR shop.example.com"));
    assert_true(password_ad_complex("Q9-EXAMPLzz", NULL, "IUSR shop.example.com"));
    assert_true(password_ad_complex("Q9-abzz", NULL, "ab,cd"));
    assert_false(password_ad_complex(NULL, NULL, NULL));
}

static void test_uniform_index(void **state)
{
    (void)state;
    /* n = 63: 256 - 256 % 63 = 252 accepted byte values, 4 each */
    unsigned counts[63] = {0};
    int rejected = 0;
    for (unsigned b = 0; b < 256; b++) {
        int i = password_uniform_index((unsigned char)b, 63);
        if (i < 0)
            rejected++;
        else
            counts[i]++;
    }
    assert_int_equal(rejected, 4);
    for (int i = 0; i < 63; i++)
        assert_int_equal(counts[i], 4);
    /* powers of two never reject */
    for (unsigned b = 0; b < 256; b++)
        assert_true(password_uniform_index((unsigned char)b, 64) >= 0);
    assert_int_equal(password_uniform_index(0, 0), -1);
    assert_int_equal(strlen(password_alphabet), 63);
}

/* Loose check that no character is wildly over- or under-represented
 * (positions after the first; the class rule skews the mix a little). */
static void test_frequency(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    unsigned counts[256] = {0};
    size_t total = 0;
    for (int i = 0; i < 4000; i++) {
        char *p = password_generate(PASSWORD_DEFAULT_LEN, NULL, NULL, &d);
        for (char *c = p + 1; *c; c++, total++)
            counts[(unsigned char)*c]++;
        free_secret(p);
    }
    double expect = (double)total / 63.0;
    for (const char *c = password_alphabet; *c; c++) {
        double got = counts[(unsigned char)*c];
        assert_true(got > expect * 0.85 && got < expect * 1.25);
    }
    diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),    cmocka_unit_test(test_classes_many_runs),
        cmocka_unit_test(test_ad_complex), cmocka_unit_test(test_uniform_index),
        cmocka_unit_test(test_frequency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
