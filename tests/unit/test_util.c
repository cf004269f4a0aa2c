/* SPDX-License-Identifier: GPL-3.0-or-later */
/* provision/util.c: secret strbufs, and the one write-temp-then-rename
 * implementation (write_temp_file, atomic_replace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/provision-util-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

static void no_temp_left(void)
{
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    struct dirent *de;
    while ((de = readdir(dh)))
        if (strstr(de->d_name, ".provision-"))
            fail_msg("temporary file left behind: %s", de->d_name);
    closedir(dh);
}

static char *slurp(const char *p)
{
    char *data;
    size_t len;
    assert_int_equal(read_file(p, &data, &len), 0);
    return data;
}

static mode_t mode_of(const char *p)
{
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    return st.st_mode & 07777;
}

static bool has_msg(const struct diag *d, const char *text)
{
    for (size_t i = 0; i < d->count; i++)
        if (strstr(d->msgs[i], text))
            return true;
    return false;
}

/* A secret buffer grows like any other (the old blocks it leaves are wiped,
 * which only the sanitizers' view of freed memory could show), and stays
 * secret across detach and free. */
static void secret_strbuf(void **state)
{
    (void)state;
    struct strbuf sb;
    sb_init_secret(&sb);
    assert_true(sb.secret);
    for (int i = 0; i < 500; i++)
        sb_addf(&sb, "%03d", i % 1000);
    sb_adds(&sb, "password");
    sb_addc(&sb, '!');
    assert_int_equal(sb.len, 1500 + 9);
    assert_memory_equal(sb.buf, "000001002", 9);
    assert_string_equal(sb.buf + 1500, "password!");
    char *text = sb_detach(&sb);
    assert_true(sb.secret);
    assert_null(sb.buf);
    assert_int_equal(strlen(text), 1509);
    free_secret(text);
    sb_adds(&sb, "again");
    sb_free(&sb);
    assert_true(sb.secret);
    assert_null(sb.buf);

    struct strbuf plain;
    sb_init(&plain);
    assert_false(plain.secret);
    sb_adds(&plain, "x");
    sb_free_secret(&plain);
    assert_null(plain.buf);
}

static void replace_creates_and_replaces(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    mode_t old_umask = umask(022);
    char *p = xasprintf("%s/secrets", dir);
    assert_int_equal(atomic_replace(p, "one\n", 4, 0600, "the secrets file", &d), 0);
    char *text = slurp(p);
    assert_string_equal(text, "one\n");
    free(text);
    assert_int_equal(mode_of(p), 0600);
    /* Replacing: the new mode is the one asked for, not the old file's. */
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(atomic_replace(p, "two\n", 4, 0600, "the secrets file", &d), 0);
    text = slurp(p);
    assert_string_equal(text, "two\n");
    free(text);
    assert_int_equal(mode_of(p), 0600);
    /* An empty file is a file. */
    assert_int_equal(atomic_replace(p, "", 0, 0600, "the secrets file", &d), 0);
    text = slurp(p);
    assert_string_equal(text, "");
    free(text);
    /* Never wider than asked: the umask still narrows it. */
    umask(077);
    char *q = xasprintf("%s/script.ps1", dir);
    assert_int_equal(atomic_replace(q, "x", 1, 0644, "the script", &d), 0);
    assert_int_equal(mode_of(q), 0600);
    umask(old_umask);
    assert_int_equal(d.count, 0);
    no_temp_left();
    free(p);
    free(q);
    diag_free(&d);
}

static void replace_refuses(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    char *target = xasprintf("%s/target", dir), *link = xasprintf("%s/link", dir);
    FILE *f = fopen(target, "wb");
    assert_non_null(f);
    fputs("kept", f);
    fclose(f);
    assert_int_equal(symlink(target, link), 0);
    errno = 0;
    assert_int_equal(atomic_replace(link, "new", 3, 0600, "the plan", &d), -1);
    assert_int_equal(errno, ELOOP);
    assert_true(has_msg(&d, "link: cannot write the plan: it is a symbolic link (refused)"));
    char *text = slurp(target);
    assert_string_equal(text, "kept");
    free(text);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* A folder, and a folder that does not exist. */
    assert_int_equal(atomic_replace(dir, "new", 3, 0600, "the plan", &d), -1);
    assert_true(has_msg(&d, "cannot write the plan: not a regular file"));
    char *missing = xasprintf("%s/nosuch/plan", dir);
    assert_int_equal(atomic_replace(missing, "new", 3, 0600, "the plan", &d), -1);
    assert_int_equal(errno, ENOENT);
    assert_true(has_msg(&d, "nosuch/plan: cannot write the plan: No such file or directory"));
    no_temp_left();
    free(missing);
    free(target);
    free(link);
    diag_free(&d);
}

/* With an owner to keep (configfile's case) the mode is exact, umask or
 * not; the caller renames the file. */
static void temp_file_keeps_mode(void **state)
{
    (void)state;
    mode_t old_umask = umask(077);
    char *tmp = write_temp_file(dir, "applicationHost.config", "<x/>", 4, 0644, getuid(), getgid());
    assert_non_null(tmp);
    assert_non_null(strstr(tmp, "/.applicationHost.config.provision-"));
    assert_int_equal(mode_of(tmp), 0644);
    char *text = slurp(tmp);
    assert_string_equal(text, "<x/>");
    free(text);
    assert_int_equal(unlink(tmp), 0);
    free(tmp);
    char *nodir = xasprintf("%s/nosuch", dir);
    errno = 0;
    assert_null(write_temp_file(nodir, "x", "y", 1, 0600, (uid_t)-1, (gid_t)-1));
    assert_int_equal(errno, ENOENT);
    free(nodir);
    umask(old_umask);
    no_temp_left();
}

static void decimal_and_hex(void **state)
{
    (void)state;
    char buf[24];
    assert_string_equal(ulong_decimal(0, buf), "0");
    assert_string_equal(ulong_decimal(7, buf), "7");
    assert_string_equal(ulong_decimal(4294967295UL, buf), "4294967295");
    assert_string_equal(ulong_decimal(18446744073709551615UL, buf), "18446744073709551615");
    char hex[9];
    const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    hex_into(hex, bytes, sizeof bytes);
    assert_string_equal(hex, "000fa5ff");
}

/* Strings are packed end to end; everything else stays aligned for any
 * type, across blocks, and a request larger than a block gets its own. */
static void arena_packs_strings_and_aligns_the_rest(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char *first = arena_strdup(&a, "abc");
    char *second = arena_strdup(&a, "de");
    assert_ptr_equal(second, first + 4);
    assert_string_equal(first, "abc");
    assert_string_equal(second, "de");
    for (int i = 0; i < 20000; i++) { /* several 64 KiB blocks */
        char *s = arena_strdup(&a, i % 2 ? "x" : "yz");
        assert_string_equal(s, i % 2 ? "x" : "yz");
        unsigned char *p = arena_alloc(&a, 24);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (int k = 0; k < 24; k++) /* zeroed */
            assert_int_equal(p[k], 0);
        memset(p, 0xAA, 24);
    }
    unsigned char *big = arena_alloc(&a, 200 * 1024);
    assert_int_equal((uintptr_t)big % 16, 0);
    memset(big, 1, 200 * 1024);
    assert_string_equal(first, "abc"); /* nothing overwritten */
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_strbuf),
        cmocka_unit_test(replace_creates_and_replaces),
        cmocka_unit_test(replace_refuses),
        cmocka_unit_test(temp_file_keeps_mode),
        cmocka_unit_test(decimal_and_hex),
        cmocka_unit_test(arena_packs_strings_and_aligns_the_rest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
