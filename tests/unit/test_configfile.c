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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replace_and_backups),
        cmocka_unit_test(refuses_when_changed_on_disk),
        cmocka_unit_test(lock_is_exclusive),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
