/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The atomic replace of applicationHost.config: refuses when the file
 * changed since it was read, leaves no temp files, keeps N backups, keeps
 * the file's mode, and the lock stops a second run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "provision/iis/configfile.h"
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[128];

static void write_text(const char *p, const char *text)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int count_entries(const char *suffix)
{
    DIR *dh = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t len = strlen(de->d_name), sl = strlen(suffix);
        if (len >= sl && !strcmp(de->d_name + len - sl, suffix))
            n++;
        if (strstr(de->d_name, ".provision-"))
            fail_msg("temporary file left behind: %s", de->d_name);
    }
    closedir(dh);
    return n;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/provision-cf-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/applicationHost.config", dir);
    write_text(path, "one");
    chmod(path, 0640);
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

static void replace_and_backups(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    const char *versions[] = {"one", "two", "three", "four", "five"};
    for (int i = 0; i < 4; i++) {
        struct configfile cf;
        assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
        assert_int_equal(cf.len, strlen(versions[i]));
        char *bak = NULL;
        assert_int_equal(configfile_replace(&cf, versions[i], strlen(versions[i]), versions[i + 1],
                                            strlen(versions[i + 1]), 2, &bak, &d),
                         0);
        assert_non_null(bak);
        free(bak);
        configfile_close(&cf);
    }
    char *now;
    size_t len;
    assert_int_equal(read_file(path, &now, &len), 0);
    assert_string_equal(now, "five");
    free(now);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(count_entries(".bak"), 2);
    assert_int_equal(d.count, 0);
    diag_free(&d);
}

static void refuses_when_changed_on_disk(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    struct configfile cf;
    assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
    size_t len;
    char *read_bytes = configfile_take(&cf, &len);
    write_text(path, "someone else"); /* e.g. IIS Manager saved meanwhile */
    int baks = count_entries(".bak");
    /* CONFIGFILE_CHANGED, no message: the caller decides (merge or say) */
    assert_int_equal(configfile_replace(&cf, read_bytes, len, "mine", 4, 5, NULL, &d),
                     CONFIGFILE_CHANGED);
    assert_int_equal(d.count, 0);
    assert_int_equal(count_entries(".bak"), baks); /* no backup of a write that did not happen */
    char *now;
    assert_int_equal(read_file(path, &now, &len), 0);
    assert_string_equal(now, "someone else");
    free(now);
    /* what the other tool wrote, for the caller to redo its edits on */
    assert_int_equal(configfile_reread(&cf, &now, &len, &d), 0);
    assert_int_equal(len, strlen("someone else"));
    assert_memory_equal(now, "someone else", len);
    free(now);
    free(read_bytes);
    configfile_close(&cf);
    diag_free(&d);
}

static void lock_is_exclusive(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    struct configfile a, b;
    assert_int_equal(configfile_open(&a, path, NULL, dir, &d), 0);
    assert_int_equal(configfile_open(&b, path, NULL, dir, &d), -1);
    assert_non_null(strstr(d.msgs[0], "another provision run"));
    configfile_close(&a);
    assert_int_equal(configfile_open(&b, path, NULL, dir, &d), 0);
    configfile_close(&b);
    diag_free(&d);
}

/* ---- prepare, then commit or discard -------------------------------- */

/* Our temporary files (.NAME.provision-PID-XXXXXX) in the folder. */
static int count_temps(void)
{
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dh)))
        n += !strncmp(de->d_name, ".applicationHost.config.provision-", 34);
    closedir(dh);
    return n;
}

static void write_bytes(const char *p, const char *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void assert_holds(const char *file, const char *data, size_t len)
{
    char *now;
    size_t now_len;
    assert_int_equal(read_file(file, &now, &now_len), 0);
    assert_int_equal(now_len, len);
    assert_memory_equal(now, data, len);
    free(now);
}

/* The config file (path) holds exactly data. */
static void assert_file_holds(const char *data, size_t len)
{
    assert_holds(path, data, len);
}

static void prepare_many_pieces_then_commit(void **state)
{
    (void)state;
    write_text(path, "one");
    struct diag d;
    diag_init(&d);
    struct configfile cf;
    assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
    /* more pieces than one writev takes (IOV_MAX is 1024 on Linux), some
     * empty, some at the edges of a batch, of all sizes from 0 to 40 */
    enum { N = 3000 };
    static char bytes[N * 40];
    static struct iovec pieces[N];
    struct strbuf all;
    sb_init(&all);
    size_t at = 0;
    for (size_t i = 0; i < N; i++) {
        size_t n = (i * 7919) % 41;
        if (i % 10 == 3 || i == 1023 || i == 1024 || i == 2047 || i == N - 1)
            n = 0;
        for (size_t k = 0; k < n; k++)
            bytes[at + k] = (char)('A' + (i + k) % 53);
        pieces[i].iov_base = bytes + at;
        pieces[i].iov_len = n;
        sb_add(&all, bytes + at, n);
        at += n;
    }
    assert_true(all.len > 50000);
    assert_int_equal(configfile_prepare(&cf, pieces, N, &d), 0);
    assert_int_equal(count_temps(), 1);
    assert_file_holds("one", 3); /* not yet in place */
    char *bak = (char *)1;
    assert_int_equal(configfile_commit(&cf, "one", 3, 0, &bak, &d), 0);
    assert_null(bak); /* no backups asked for */
    assert_int_equal(d.count, 0);
    assert_file_holds(all.buf, all.len);
    assert_int_equal(count_temps(), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* the original's mode */
    configfile_close(&cf);
    sb_free(&all);
    diag_free(&d);
}

static void prepare_then_discard(void **state)
{
    (void)state;
    write_text(path, "one");
    struct diag d;
    diag_init(&d);
    struct configfile cf;
    assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
    int baks = count_entries(".bak");
    struct iovec piece = {(void *)"discarded", 9};
    assert_int_equal(configfile_prepare(&cf, &piece, 1, &d), 0);
    assert_int_equal(count_temps(), 1);
    /* prepared again: the first version goes */
    assert_int_equal(configfile_prepare(&cf, &piece, 1, &d), 0);
    assert_int_equal(count_temps(), 1);
    configfile_discard(&cf);
    assert_int_equal(count_temps(), 0);
    assert_file_holds("one", 3);
    configfile_discard(&cf); /* twice is harmless */
    /* nothing left to commit */
    assert_int_equal(configfile_commit(&cf, "one", 3, 2, NULL, &d), -1);
    assert_int_equal(d.count, 1);
    assert_non_null(strstr(d.msgs[0], "nothing prepared"));
    assert_file_holds("one", 3);
    assert_int_equal(count_entries(".bak"), baks);
    configfile_close(&cf);
    diag_free(&d);
}

static void close_after_prepare(void **state)
{
    (void)state;
    write_text(path, "one");
    struct diag d;
    diag_init(&d);
    struct configfile cf;
    assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
    struct iovec pieces[] = {{(void *)"never ", 6}, {(void *)"written", 7}};
    assert_int_equal(configfile_prepare(&cf, pieces, 2, &d), 0);
    assert_int_equal(count_temps(), 1);
    configfile_close(&cf);
    assert_int_equal(count_temps(), 0);
    assert_file_holds("one", 3);
    assert_int_equal(d.count, 0);
    diag_free(&d);
}

/* Another writer between prepare and commit: its bytes stay, ours go. */
static void commit_refuses_same_length_change(void **state)
{
    (void)state;
    write_text(path, "one");
    struct diag d;
    diag_init(&d);
    struct configfile cf;
    assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
    size_t len;
    char *read_bytes = configfile_take(&cf, &len);
    int baks = count_entries(".bak");
    struct iovec piece = {(void *)"mine", 4};
    assert_int_equal(configfile_prepare(&cf, &piece, 1, &d), 0);
    write_text(path, "two"); /* as long as what we read */
    assert_int_equal(configfile_commit(&cf, read_bytes, len, 3, NULL, &d), CONFIGFILE_CHANGED);
    assert_int_equal(d.count, 0);
    assert_file_holds("two", 3);
    assert_int_equal(count_temps(), 0);
    assert_int_equal(count_entries(".bak"), baks);
    free(read_bytes);
    configfile_close(&cf);
    diag_free(&d);
}

/* The compare reads 256 KiB at a time: a difference in the last chunk of
 * a file of three must be seen, and an unchanged file must compare equal
 * across the chunks. */
static void commit_compares_every_chunk(void **state)
{
    (void)state;
    size_t big_len = 600 * 1024 + 123;
    char *big = xmalloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + (i * 31) % 26);
    const size_t changed_at[] = {big_len - 1, 512 * 1024, 256 * 1024 - 1, 0};
    for (size_t c = 0; c < sizeof changed_at / sizeof *changed_at; c++) {
        write_bytes(path, big, big_len);
        struct diag d;
        diag_init(&d);
        struct configfile cf;
        assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
        assert_int_equal(cf.len, big_len);
        struct iovec piece = {(void *)"mine", 4};
        assert_int_equal(configfile_prepare(&cf, &piece, 1, &d), 0);
        char *theirs = xmalloc(big_len);
        memcpy(theirs, big, big_len);
        theirs[changed_at[c]] = 'Z'; /* the letters are lower case: a change */
        write_bytes(path, theirs, big_len);
        assert_int_equal(configfile_commit(&cf, cf.data, cf.len, 1, NULL, &d), CONFIGFILE_CHANGED);
        assert_int_equal(d.count, 0);
        assert_file_holds(theirs, big_len);
        assert_int_equal(count_temps(), 0);
        free(theirs);
        configfile_close(&cf);
        diag_free(&d);
    }
    /* unchanged: the commit goes through, with a backup of the big file */
    write_bytes(path, big, big_len);
    struct diag d;
    diag_init(&d);
    struct configfile cf;
    assert_int_equal(configfile_open(&cf, path, NULL, dir, &d), 0);
    struct iovec piece = {(void *)"mine", 4};
    assert_int_equal(configfile_prepare(&cf, &piece, 1, &d), 0);
    char *bak = NULL;
    assert_int_equal(configfile_commit(&cf, big, big_len, 1, &bak, &d), 0);
    assert_int_equal(d.count, 0);
    assert_file_holds("mine", 4);
    assert_non_null(bak);
    assert_holds(bak, big, big_len);
    free(bak);
    assert_int_equal(count_temps(), 0);
    configfile_close(&cf);
    diag_free(&d);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replace_and_backups),
        cmocka_unit_test(refuses_when_changed_on_disk),
        cmocka_unit_test(lock_is_exclusive),
        cmocka_unit_test(prepare_many_pieces_then_commit),
        cmocka_unit_test(prepare_then_discard),
        cmocka_unit_test(close_after_prepare),
        cmocka_unit_test(commit_refuses_same_length_change),
        cmocka_unit_test(commit_compares_every_chunk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
