/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The state folder, the write-ahead journal and the audit log (journal.h):
 * the folder's safety checks, the record format and its escaping, the
 * locks that tell a live run from a dead one, and the codecs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmsg.h"

#include "provision/journal.h"
#include "provision/digest.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[64];    /* a fresh folder per test */
static char *state;      /* BASE/state, opened by the set-up */
static struct diag msgs; /* reset per test */

static const struct journal_targets targets = {
    .config = "smb://iis01/C$/Windows/System32/inetsrv/config/applicationHost.config",
    .content = "smb://files01/sites",
    .directory = "ldaps://dc01.lab.test DC=lab,DC=test",
};

static int setup(void **st)
{
    (void)st;
    diag_init(&msgs);
    snprintf(base, sizeof base, "/tmp/provision-journal-XXXXXX");
    assert_non_null(mkdtemp(base));
    char *want = xasprintf("%s/state", base);
    /* never anywhere but under /tmp (the tests chmod and remove things) */
    assert_true(strncmp(want, "/tmp/provision-journal-", 23) == 0);
    state = state_dir_open(want, &msgs);
    for (size_t i = 0; !state && i < msgs.count; i++)
        print_message("  message: %s\n", msgs.msgs[i]);
    assert_non_null(state);
    assert_string_equal(state, want);
    free(want);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char *cmd = xasprintf("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", base, base);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(state);
    state = NULL;
    diag_free(&msgs);
    unsetenv("PROVISION_STATE_DIR");
    return 0;
}

static char *path_in(const char *rel)
{
    return xasprintf("%s/%s", base, rel);
}

static char *read_all(const char *path)
{
    char *data;
    size_t len;
    if (read_file(path, &data, &len) < 0)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    return data;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A journal reaches the disk with its first record beyond begin (see
 * journal.h): this announces one, as a run does before its first effect. */
static void announce(struct journal *j)
{
    journal_add(j, "mkdir", "a.example", "rel", "wwwroot", NULL);
    assert_int_equal(journal_commit(j, &msgs), 0);
}

/* A journal of an apply that announced one record (on disk, published);
 * *path is its path (heap). */
static struct journal *begin_announced(char **path)
{
    struct journal *j = journal_begin(state, "apply", &targets, false, &msgs);
    assert_non_null(j);
    *path = xstrdup(journal_path(j));
    announce(j);
    return j;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ------------------------------------------------------------------ state folder */

static void test_state_dir_created_private(void **st)
{
    (void)st;
    mode_t old = umask(0); /* the modes must not depend on the caller's umask */
    char *want = path_in("fresh");
    char *got = state_dir_open(want, &msgs);
    umask(old);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(mode_of(want), 0700);
    char *journals = xasprintf("%s/journals", want);
    assert_int_equal(mode_of(journals), 0700);
    assert_int_equal(msgs.count, 0);
    /* opening it again is fine */
    char *again = state_dir_open(want, &msgs);
    assert_non_null(again);
    assert_int_equal(msgs.count, 0);
    free(again);
    free(journals);
    free(got);
    free(want);
}

static void test_state_dir_refuses_symlink(void **st)
{
    (void)st;
    char *real = path_in("real"), *link = path_in("link");
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    assert_null(state_dir_open(link, &msgs));
    assert_said(&msgs, link, "symbolic link", "refused");
    /* and nothing was created through it */
    char *through = xasprintf("%s/journals", real);
    assert_false(exists(through));
    free(through);
    free(real);
    free(link);
}

static void test_state_dir_refuses_group_or_other_writable(void **st)
{
    (void)st;
    const unsigned modes[] = {0770, 0720, 0703, 0777};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        char name[32];
        snprintf(name, sizeof name, "open%o", modes[i]);
        char *dir = path_in(name);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, modes[i]), 0);
        diag_free(&msgs);
        assert_null(state_dir_open(dir, &msgs));
        assert_said(&msgs, dir, "writable by group or others", "chmod 700");
        free(dir);
    }
    /* readable by others is not a risk: accepted */
    char *dir = path_in("readable");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    char *got = state_dir_open(dir, &msgs);
    assert_non_null(got);
    free(got);
    free(dir);
}

static void test_state_dir_refuses_open_journals_folder(void **st)
{
    (void)st;
    char *journals = xasprintf("%s/journals", state);
    assert_int_equal(chmod(journals, 0777), 0);
    assert_null(state_dir_open(state, &msgs));
    assert_said(&msgs, journals, "writable by group or others");
    free(journals);
}

static void test_state_dir_refuses_relative(void **st)
{
    (void)st;
    assert_null(state_dir_open("var/lib/provision", &msgs));
    assert_said(&msgs, "var/lib/provision", "absolute");
    diag_free(&msgs);
    setenv("PROVISION_STATE_DIR", "relative/state", 1);
    assert_null(state_dir_open(NULL, &msgs));
    assert_said(&msgs, "relative/state", "absolute");
}

static void test_state_dir_refuses_regular_file(void **st)
{
    (void)st;
    char *file = path_in("file");
    write_text(file, "x");
    assert_int_equal(chmod(file, 0700), 0);
    assert_null(state_dir_open(file, &msgs));
    assert_said(&msgs, file, "not a folder");
    free(file);
}

static void test_state_dir_refuses_missing_parent(void **st)
{
    (void)st;
    char *deep = path_in("no/such/parent");
    assert_null(state_dir_open(deep, &msgs));
    assert_said(&msgs, deep, "cannot create");
    free(deep);
}

static void test_state_dir_refuses_foreign_owner(void **st)
{
    (void)st;
    if (geteuid() != 0)
        skip(); /* only root can make a folder someone else owns */
    char *dir = path_in("foreign");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chown(dir, 65534, 65534), 0);
    assert_null(state_dir_open(dir, &msgs));
    assert_said(&msgs, dir, "owned by uid 65534", "refused");
    free(dir);
}

static void test_state_dir_from_environment(void **st)
{
    (void)st;
    char *env = path_in("from-env");
    setenv("PROVISION_STATE_DIR", env, 1);
    char *got = state_dir_open(NULL, &msgs);
    assert_non_null(got);
    assert_string_equal(got, env);
    assert_int_equal(mode_of(env), 0700);
    free(got);
    /* an empty configured value counts as none */
    got = state_dir_open("", &msgs);
    assert_non_null(got);
    assert_string_equal(got, env);
    free(got);
    /* a configured value wins over the environment */
    char *conf = path_in("from-conf");
    got = state_dir_open(conf, &msgs);
    assert_non_null(got);
    assert_string_equal(got, conf);
    free(got);
    free(conf);
    free(env);
}

/* ------------------------------------------------------------------ journal */

/* A value with everything the format escapes, '=' and UTF-8. */
#define NASTY "a\tb\nc\\d=e==\\t\\n\\\\ \xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80 end\\"

static void test_round_trip(void **st)
{
    (void)st;
    struct journal *j = journal_begin(state, "apply", &targets, true, &msgs);
    assert_non_null(j);
    assert_non_null(journal_run_id(j));
    char *run = xstrdup(journal_run_id(j));
    assert_true(strlen(run) > 20);
    char *want_path = xasprintf("%s/journals/%s.journal", state, run);
    assert_string_equal(journal_path(j), want_path);
    /* nothing announced yet: only the unpublished file, empty */
    char *fresh = xasprintf("%s.new", want_path);
    assert_false(exists(want_path));
    assert_int_equal(mode_of(fresh), 0600);
    char *text = read_all(fresh);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(journal_commit(j, &msgs), 0); /* begin alone is not published */
    assert_false(exists(want_path));

    journal_add(j, "sd", "shop.example.com", "rel", NASTY, "old", "", "new", "0a1b", NULL);
    journal_add(j, "config-committed", NULL, NULL);
    journal_add(j, "mkdir", "", "rel", "wwwroot", NULL);
    journal_add(j, "mkdir", "we\\ird\tsite\n", "rel", "x", NULL);
    /* queued, not written */
    assert_false(exists(want_path));
    assert_int_equal(journal_commit(j, &msgs), 0);
    /* published: begin first, then the records; the .new name is gone */
    assert_false(exists(fresh));
    free(fresh);
    assert_int_equal(mode_of(want_path), 0600);
    text = read_all(want_path);
    assert_true(strncmp(text, "provision-journal\t1\nbegin\t-\trun=", 32) == 0);
    /* the escaped form on disk: TAB, LF and backslash as \t \n \\ */
    assert_non_null(strstr(text, "\nsd\tshop.example.com\trel=a\\tb\\nc\\\\d=e==\\\\t\\\\n"
                                 "\\\\\\\\ \xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80 end\\\\\told=\tnew="
                                 "0a1b\n"));
    assert_non_null(strstr(text, "\nconfig-committed\t-\n"));
    assert_non_null(strstr(text, "\nmkdir\t-\trel=wwwroot\n"));
    assert_int_equal(count_lines(text), 6);
    free(text);

    /* another open file description: the writer's flock is seen in this process */
    struct journal_file f;
    assert_int_equal(journal_load(want_path, &f, &msgs), 1);
    assert_int_equal(msgs.count, 0);

    journal_abandon(j);
    assert_true(exists(want_path));
    assert_int_equal(journal_load(want_path, &f, &msgs), 0);
    assert_int_equal(f.n, 5);
    assert_ptr_equal(f.begin, &f.records[0]);
    assert_string_equal(f.path, want_path);
    const struct journal_record *b = f.begin;
    assert_string_equal(b->type, "begin");
    assert_string_equal(b->site, "-");
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    assert_string_equal(journal_get(b, "pid"), pid);
    assert_string_equal(journal_get(b, "command"), "apply");
    assert_string_equal(journal_get(b, "config"), targets.config);
    assert_string_equal(journal_get(b, "content"), targets.content);
    assert_string_equal(journal_get(b, "directory"), targets.directory);
    assert_string_equal(journal_get(b, "remove_folders"), "1");
    assert_non_null(journal_get(b, "time"));
    assert_string_equal(journal_get(b, "run"), run);
    free(run);
    free(want_path);
    want_path = NULL;

    const struct journal_record *r = &f.records[1];
    assert_string_equal(r->type, "sd");
    assert_string_equal(r->site, "shop.example.com");
    assert_int_equal(r->n, 3);
    assert_string_equal(r->keys[0], "rel");
    assert_string_equal(r->keys[1], "old");
    assert_string_equal(r->keys[2], "new");
    assert_string_equal(journal_get(r, "rel"), NASTY);
    assert_string_equal(journal_get(r, "old"), "");
    assert_string_equal(journal_get(r, "new"), "0a1b");
    assert_null(journal_get(r, "missing"));
    assert_null(journal_get(NULL, "rel"));

    assert_string_equal(f.records[2].type, "config-committed");
    assert_string_equal(f.records[2].site, "-");
    assert_int_equal(f.records[2].n, 0);
    assert_string_equal(f.records[3].site, "-"); /* "" is the whole run too */
    assert_string_equal(f.records[4].site, "we\\ird\tsite\n");

    /* recovery's own progress goes to the same file */
    assert_int_equal(
        journal_file_append(&f, "site-undone", "shop.example.com", &msgs, "why", "x\ty", NULL), 0);
    char *path = xstrdup(f.path);
    journal_file_free(&f);
    assert_int_equal(f.fd, -1);
    assert_int_equal(journal_load(path, &f, &msgs), 0);
    assert_int_equal(f.n, 6);
    assert_string_equal(f.records[5].type, "site-undone");
    assert_string_equal(journal_get(&f.records[5], "why"), "x\ty");
    journal_file_remove(&f);
    assert_false(exists(path));
    free(path);
    assert_int_equal(msgs.count, 0);
}

static void test_begin_without_content_or_directory(void **st)
{
    (void)st;
    struct journal_targets t = {.config = "/srv/iis/applicationHost.config"};
    struct journal *j = journal_begin(state, "destroy", &t, false, &msgs);
    assert_non_null(j);
    char *path = xstrdup(journal_path(j));
    announce(j);
    journal_abandon(j);
    struct journal_file f;
    assert_int_equal(journal_load(path, &f, &msgs), 0);
    assert_string_equal(journal_get(f.begin, "command"), "destroy");
    assert_string_equal(journal_get(f.begin, "content"), "");
    assert_string_equal(journal_get(f.begin, "directory"), "");
    assert_string_equal(journal_get(f.begin, "remove_folders"), "0");
    assert_true(journal_same_targets(&f, &t));
    journal_file_free(&f);
    free(path);
}

static void test_begin_needs_the_state_folder(void **st)
{
    (void)st;
    char *nowhere = path_in("not-opened");
    assert_null(journal_begin(nowhere, "apply", &targets, false, &msgs));
    assert_said(&msgs, nowhere, "cannot create", "nothing was changed");
    free(nowhere);
}

static void test_finish_removes_after_end(void **st)
{
    (void)st;
    char *path;
    struct journal *j = begin_announced(&path);
    /* a second name for the file, to read what finish wrote last */
    char *keep = path_in("kept-link");
    assert_int_equal(link(path, keep), 0);
    journal_add(j, "site-done", "a.example", NULL);
    journal_finish(j);
    assert_false(exists(path));
    char *text = read_all(keep);
    size_t len = strlen(text);
    assert_true(len > 20);
    const char *tail = "site-done\ta.example\nend\t-\n";
    assert_string_equal(text + len - strlen(tail), tail);
    free(text);
    assert_int_equal(journal_count_waiting(state), 0);
    journal_finish(NULL); /* fine */
    journal_abandon(NULL);
    free(keep);
    free(path);
}

static void test_abandon_keeps_and_commits(void **st)
{
    (void)st;
    struct journal *j = journal_begin(state, "apply", &targets, false, &msgs);
    assert_non_null(j);
    char *path = xstrdup(journal_path(j));
    journal_add(j, "account-create", "a.example", "sam", "IUSR_a", NULL);
    journal_abandon(j);
    assert_true(exists(path));
    assert_int_equal(journal_count_waiting(state), 1);
    char *text = read_all(path);
    assert_non_null(strstr(text, "\naccount-create\ta.example\tsam=IUSR_a\n"));
    assert_null(strstr(text, "\nend\t"));
    free(text);
    free(path);
}

/* In a forked child: cmocka's handlers would turn a crash into a failed
 * test and go on running the other tests in the child. */
static void child_defaults(void)
{
    const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        signal(sigs[i], SIG_DFL);
}

/* In a forked child: the journal at path cannot grow (writes to it fail
 * with EFBIG, as on a full disk); _exit(3) when that cannot be set up. */
static void child_cannot_grow(const char *path)
{
    child_defaults();
    struct stat sb;
    if (stat(path, &sb) < 0)
        _exit(3);
    struct rlimit rl = {(rlim_t)sb.st_size, (rlim_t)sb.st_size};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
        _exit(3);
}

/* A child that starts a journal, says where, and holds it until told. */
static pid_t live_writer(char *path, size_t len, int *release)
{
    int up[2], down[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_defaults();
        close(up[0]);
        close(down[1]);
        struct diag d;
        diag_init(&d);
        struct journal *j = journal_begin(state, "apply", &targets, false, &d);
        journal_add(j, "mkdir", "a.example", "rel", "wwwroot", NULL);
        const char *p = j && journal_commit(j, &d) == 0 ? journal_path(j) : "";
        if (write(up[1], p, strlen(p) + 1) < 0)
            _exit(2);
        char c;
        if (read(down[0], &c, 1) < 0)
            _exit(2);
        _exit(j ? 0 : 1); /* dies with its journal: a dead run's */
    }
    close(up[1]);
    close(down[0]);
    ssize_t n = read(up[0], path, len);
    close(up[0]);
    assert_true(n > 1);
    *release = down[1];
    return pid;
}

static void test_scan_live_and_dead(void **st)
{
    (void)st;
    /* a run of this process still going */
    struct journal *mine = journal_begin(state, "apply", &targets, false, &msgs);
    assert_non_null(mine);
    announce(mine);
    /* a run of another process still going */
    char other[512];
    int release;
    pid_t pid = live_writer(other, sizeof other, &release);
    /* a dead run */
    struct journal *dead = journal_begin(state, "destroy", &targets, false, &msgs);
    assert_non_null(dead);
    char *dead_path = xstrdup(journal_path(dead));
    announce(dead);
    journal_abandon(dead);
    /* not journals */
    char *junk = xasprintf("%s/journals/notes.txt", state);
    write_text(junk, "x");
    free(junk);
    junk = xasprintf("%s/journals/.journal", state);
    write_text(junk, "x");
    free(junk);

    assert_int_equal(journal_count_waiting(state), 3);
    struct journal_file *files;
    size_t n, live;
    assert_int_equal(journal_scan(state, &files, &n, &live, &msgs), 0);
    assert_int_equal(live, 2);
    assert_int_equal(n, 1);
    assert_string_equal(files[0].path, dead_path);
    assert_string_equal(journal_get(files[0].begin, "command"), "destroy");
    /* a loaded journal is held: another scan counts it as live */
    struct journal_file *again;
    size_t n2, live2;
    assert_int_equal(journal_scan(state, &again, &n2, &live2, &msgs), 0);
    assert_int_equal(n2, 0);
    assert_int_equal(live2, 3);
    free(again);
    journal_file_free(&files[0]);
    free(files);

    /* the other process ends without finishing: its journal is a dead run's */
    assert_int_equal(write(release, "x", 1), 1);
    close(release);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(journal_scan(state, &files, &n, &live, &msgs), 0);
    assert_int_equal(live, 1);
    assert_int_equal(n, 2);
    bool found_child = false;
    char child_pid[24];
    snprintf(child_pid, sizeof child_pid, "%ld", (long)pid);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(files[i].path, other)) {
            found_child = true;
            assert_string_equal(journal_get(files[i].begin, "pid"), child_pid);
        }
        journal_file_free(&files[i]);
    }
    free(files);
    assert_true(found_child);
    assert_int_equal(msgs.count, 0);
    journal_finish(mine);
    free(dead_path);
}

static void test_scan_without_journals_folder(void **st)
{
    (void)st;
    char *empty = path_in("empty");
    assert_int_equal(mkdir(empty, 0700), 0);
    struct journal_file *files = (void *)1;
    size_t n = 9, live = 9;
    assert_int_equal(journal_scan(empty, &files, &n, &live, &msgs), 0);
    assert_null(files);
    assert_int_equal(n, 0);
    assert_int_equal(live, 0);
    assert_int_equal(journal_count_waiting(empty), 0);
    free(empty);
}

/* A file in journals/ with these bytes; returns its path. */
static char *planted(const char *name, const char *text)
{
    char *p = xasprintf("%s/journals/%s", state, name);
    write_text(p, text);
    assert_int_equal(chmod(p, 0600), 0);
    return p;
}

#define HEADER "provision-journal\t1\n"
#define BEGIN                                                                                      \
    "begin\t-\trun=R\tpid=1\tcommand=apply\ttime=T\tconfig=/c\tcontent=\tdirectory=\t"             \
    "remove_folders=0\n"

static void test_truncated_last_line_ignored(void **st)
{
    (void)st;
    char *p = planted("cut.journal", HEADER BEGIN "mkdir\tsite\trel=a\n"
                                                  "sd\tsite\trel=b\told=00");
    struct journal_file f;
    assert_int_equal(journal_load(p, &f, &msgs), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.records[1].type, "mkdir");
    assert_string_equal(journal_get(&f.records[1], "rel"), "a");
    journal_file_free(&f);
    free(p);
    assert_int_equal(msgs.count, 0);
}

static void test_bad_header(void **st)
{
    (void)st;
    const char *bad[] = {"provision-journal\t2\n" BEGIN, "provision-journal 1\n" BEGIN,
                         "provision-journal\t1\r\n" BEGIN, BEGIN};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.journal", i);
        char *p = planted(name, bad[i]);
        struct journal_file f;
        diag_free(&msgs);
        assert_int_equal(journal_load(p, &f, &msgs), -1);
        assert_said(&msgs, p, "not a version 1 journal");
        /* the lock was let go: it can be loaded again (and fails again) */
        assert_int_equal(journal_load(p, &f, &msgs), -1);
        unlink(p);
        free(p);
    }
}

static void test_malformed_record(void **st)
{
    (void)st;
    const char *bad[] = {
        HEADER BEGIN "mkdir\tsite\trel\n",     /* a field without '=' */
        HEADER BEGIN "mkdir\n",                /* no site */
        HEADER BEGIN "\n",                     /* empty line */
        HEADER BEGIN "mkdir\tsite\trel=a\t\n", /* an empty field */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char name[32];
        snprintf(name, sizeof name, "rec%zu.journal", i);
        char *p = planted(name, bad[i]);
        struct journal_file f;
        diag_free(&msgs);
        assert_int_equal(journal_load(p, &f, &msgs), -1);
        assert_said(&msgs, p, "line 3", "malformed record");
        unlink(p);
        free(p);
    }
    /* a journal whose first record is not begin */
    char *p = planted("nobegin.journal", HEADER "mkdir\tsite\trel=a\n");
    struct journal_file f;
    diag_free(&msgs);
    assert_int_equal(journal_load(p, &f, &msgs), -1);
    assert_said(&msgs, p, "no begin record");
    free(p);
}

static void test_scan_reports_bad_and_keeps_good(void **st)
{
    (void)st;
    char *good = planted("good.journal", HEADER BEGIN);
    char *bad = planted("bad.journal", HEADER BEGIN "oops\n");
    struct journal_file *files;
    size_t n, live;
    assert_int_equal(journal_scan(state, &files, &n, &live, &msgs), -1);
    assert_said(&msgs, bad, "line 3");
    assert_int_equal(n, 1);
    assert_string_equal(files[0].path, good);
    journal_file_free(&files[0]);
    free(files);
    free(good);
    free(bad);
}

static void test_load_missing(void **st)
{
    (void)st;
    char *p = xasprintf("%s/journals/none.journal", state);
    struct journal_file f;
    assert_int_equal(journal_load(p, &f, &msgs), -1);
    assert_said(&msgs, p, "cannot open");
    free(p);
}

static void test_same_targets(void **st)
{
    (void)st;
    char *path;
    struct journal *j = begin_announced(&path);
    journal_abandon(j);
    struct journal_file f;
    assert_int_equal(journal_load(path, &f, &msgs), 0);
    assert_true(journal_same_targets(&f, &targets));
    struct journal_targets t = targets;
    t.config = "smb://iis02/C$/Windows/System32/inetsrv/config/applicationHost.config";
    assert_false(journal_same_targets(&f, &t));
    t = targets;
    t.content = NULL;
    assert_false(journal_same_targets(&f, &t));
    t = targets;
    t.content = "smb://files01/sites2";
    assert_false(journal_same_targets(&f, &t));
    t = targets;
    t.directory = "ldaps://dc01.lab.test DC=other,DC=test";
    assert_false(journal_same_targets(&f, &t));
    t = targets;
    t.directory = NULL;
    assert_false(journal_same_targets(&f, &t));
    journal_file_free(&f);
    free(path);
}

static void test_count_waiting(void **st)
{
    (void)st;
    assert_int_equal(journal_count_waiting(state), 0);
    struct journal *a = journal_begin(state, "apply", &targets, false, &msgs);
    assert_non_null(a);
    assert_int_equal(journal_count_waiting(state), 0); /* nothing announced yet */
    announce(a);
    assert_int_equal(journal_count_waiting(state), 1); /* live ones count too */
    struct journal *b = journal_begin(state, "apply", &targets, false, &msgs);
    assert_non_null(b);
    announce(b);
    assert_string_not_equal(journal_path(a), journal_path(b));
    journal_abandon(b);
    char *junk = xasprintf("%s/journals/x.journal.tmp", state);
    write_text(junk, "");
    free(junk);
    assert_int_equal(journal_count_waiting(state), 2);
    journal_finish(a);
    assert_int_equal(journal_count_waiting(state), 1);
    char *nowhere = path_in("nowhere");
    assert_int_equal(journal_count_waiting(nowhere), 0);
    free(nowhere);
}

/* ------------------------------------------------------------------ audit log */

/* Checks that line is one flat JSON object of strings and numbers (RFC
 * 8259: no raw control characters in strings, valid escapes). */
static void assert_json_object(const char *line)
{
    const char *p = line;
    assert_int_equal(*p++, '{');
    for (;;) {
        for (int part = 0; part < 2; part++) {
            if (part == 1 && (*p == '-' || (*p >= '0' && *p <= '9'))) {
                while ((*p >= '0' && *p <= '9') || *p == '-')
                    p++;
                break;
            }
            if (*p++ != '"')
                fail_msg("expected a string at: %s", p - 1);
            for (; *p != '"'; p++) {
                if ((unsigned char)*p < 0x20)
                    fail_msg("raw control character in: %s", line);
                if (*p != '\\')
                    continue;
                p++;
                if (*p == 'u') {
                    for (int k = 1; k <= 4; k++)
                        if (!strchr("0123456789abcdefABCDEF", p[k]) || !p[k])
                            fail_msg("bad \\u escape in: %s", line);
                    p += 4;
                } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                    fail_msg("bad escape in: %s", line);
                }
            }
            p++;
            if (part == 0 && *p++ != ':')
                fail_msg("expected ':' at: %s", p - 1);
        }
        if (*p == ',') {
            p++;
            continue;
        }
        break;
    }
    assert_int_equal(*p++, '}');
    assert_int_equal(*p, '\0');
}

static void test_audit_log(void **st)
{
    (void)st;
    mode_t old = umask(0);
    audit_log(state, "RUN-1", "shop.example.com", "account-create", "IUSR_shop", "ok");
    umask(old);
    audit_log(state, "RUN-1", "we\"ird\\site", "sd", "a\tb\nc\x01\x1f\x7f d/\xc3\xa9",
              "failed: \"x\"");
    audit_log(state, NULL, NULL, NULL, NULL, NULL);
    char *path = xasprintf("%s/audit.log", state);
    assert_int_equal(mode_of(path), 0600);
    char *text = read_all(path);
    assert_int_equal(count_lines(text), 3);
    assert_int_equal(text[strlen(text) - 1], '\n');

    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    for (int i = 0; line; i++, line = strtok_r(NULL, "\n", &save)) {
        assert_true(strncmp(line, "{\"v\":1,\"time\":\"", 15) == 0);
        /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
        const char *t = line + 15;
        assert_int_equal(strlen(t) > 28, 1);
        assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
                    t[19] == '.' && t[26] == 'Z' && t[27] == '"');
        assert_json_object(line);
        if (i == 0) {
            assert_non_null(strstr(line, ",\"run\":\"RUN-1\",\"site\":\"shop.example.com\","
                                         "\"step\":\"account-create\",\"object\":\"IUSR_shop\","
                                         "\"result\":\"ok\"}"));
        } else if (i == 1) {
            assert_non_null(strstr(line, "\"site\":\"we\\\"ird\\\\site\""));
            assert_non_null(strstr(line, "\"object\":\"a\\u0009b\\u000ac\\u0001\\u001f\\u007f "
                                         "d/\xc3\xa9\""));
            assert_non_null(strstr(line, "\"result\":\"failed: \\\"x\\\"\"}"));
        } else {
            assert_non_null(strstr(line, "\"run\":\"\",\"site\":\"\",\"step\":\"\""));
        }
    }
    free(text);
    free(path);
}

static void test_journal_audit_uses_run_id(void **st)
{
    (void)st;
    struct journal *j = journal_begin(state, "apply", &targets, false, &msgs);
    assert_non_null(j);
    journal_audit(j, "a.example", "mkdir", "D:\\Sites\\a", "ok");
    journal_audit(j, "a.example", "grant", "wwwroot", "ok");
    journal_audit(NULL, "a", "b", "c", "d"); /* fine */
    char *want = xasprintf("\"run\":\"%s\",\"site\":\"a.example\",\"step\":\"mkdir\","
                           "\"object\":\"D:\\\\Sites\\\\a\"",
                           journal_run_id(j));
    journal_finish(j);
    char *path = xasprintf("%s/audit.log", state);
    char *text = read_all(path);
    assert_int_equal(count_lines(text), 2);
    assert_non_null(strstr(text, want));
    assert_int_equal(mode_of(path), 0600);
    free(text);
    free(path);
    free(want);
}

static void test_audit_log_refuses_symlink(void **st)
{
    (void)st;
    char *target = path_in("elsewhere.log");
    write_text(target, "");
    char *path = xasprintf("%s/audit.log", state);
    assert_int_equal(symlink(target, path), 0);
    audit_log(state, "R", "s", "step", "o", "ok");
    char *text = read_all(target);
    assert_string_equal(text, ""); /* never written through a link */
    free(text);
    free(path);
    free(target);
}

/* ------------------------------------------------------------------ codecs */

static void test_hex(void **st)
{
    (void)st;
    const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char *h = hex_encode(bytes, sizeof bytes);
    assert_string_equal(h, "00017f80abff");
    unsigned char *back;
    size_t n;
    assert_int_equal(hex_decode(h, &back, &n), 0);
    assert_int_equal(n, sizeof bytes);
    assert_memory_equal(back, bytes, sizeof bytes);
    free(back);
    free(h);
    /* upper case is read too */
    assert_int_equal(hex_decode("ABFF", &back, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(back[0], 0xab);
    assert_int_equal(back[1], 0xff);
    free(back);
    /* empty */
    h = hex_encode(bytes, 0);
    assert_string_equal(h, "");
    free(h);
    assert_int_equal(hex_decode("", &back, &n), 0);
    assert_int_equal(n, 0);
    free(back);
    /* refused */
    const char *bad[] = {"abc", "0", "0g", "g0", "zz", "00 1", "0x00", "ab\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        back = (void *)1;
        n = 7;
        assert_int_equal(hex_decode(bad[i], &back, &n), -1);
        assert_null(back);
        assert_int_equal(n, 0);
    }
    /* every byte */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    h = hex_encode(all, sizeof all);
    assert_int_equal(strlen(h), 512);
    assert_int_equal(hex_decode(h, &back, &n), 0);
    assert_int_equal(n, 256);
    assert_memory_equal(back, all, 256);
    free(back);
    free(h);
}

static void test_sha256(void **st)
{
    (void)st;
    char out[65];
    sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* The digest of the concatenation, however the bytes are cut. */
static void test_sha256_pieces(void **st)
{
    (void)st;
    unsigned char buf[200];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    char whole[65], out[65];
    sha256_hex(buf, sizeof buf, whole);
    assert_int_equal(strlen(whole), 64);
    for (size_t i = 0; i <= sizeof buf; i++) {
        struct iovec two[] = {{buf, i}, {buf + i, sizeof buf - i}};
        memset(out, 'x', sizeof out);
        sha256_hex_pieces(two, 2, out);
        assert_string_equal(out, whole);
        /* and in three, around an empty piece */
        for (size_t j = i; j <= sizeof buf; j += 13) {
            struct iovec three[] = {
                {buf, i}, {buf + i, 0}, {buf + i, j - i}, {buf + j, 0}, {buf + j, sizeof buf - j}};
            sha256_hex_pieces(three, 5, out);
            assert_string_equal(out, whole);
        }
    }
    /* one byte a piece */
    struct iovec each[sizeof buf];
    for (size_t i = 0; i < sizeof buf; i++)
        each[i] = (struct iovec){buf + i, 1};
    sha256_hex_pieces(each, sizeof buf, out);
    assert_string_equal(out, whole);
    /* a piece left out changes it */
    sha256_hex_pieces(each, sizeof buf - 1, out);
    assert_string_not_equal(out, whole);
    /* no pieces, or only empty ones: the digest of nothing */
    sha256_hex_pieces(NULL, 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    struct iovec empty[] = {{buf, 0}, {buf + 5, 0}};
    sha256_hex_pieces(empty, 2, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    struct iovec abc[] = {{(void *)"a", 1}, {(void *)"", 0}, {(void *)"bc", 2}};
    sha256_hex_pieces(abc, 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* On another thread: the same digest, from a copy of the pieces array. */
static void test_sha256_job(void **st)
{
    (void)st;
    size_t len = 4u << 20; /* long enough to be still running below */
    unsigned char *data = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i ^ (i >> 9));
    char whole[65], out[65];
    sha256_hex(data, len, whole);

    enum { N = 7 };
    size_t cuts[N + 1] = {0, 1, 1000, 65536, 65537, len / 2, len - 3, len};
    struct iovec *pieces = xmalloc(N * sizeof *pieces);
    for (size_t i = 0; i < N; i++)
        pieces[i] = (struct iovec){data + cuts[i], cuts[i + 1] - cuts[i]};
    char direct[65];
    sha256_hex_pieces(pieces, N, direct);
    assert_string_equal(direct, whole);
    struct sha256_job *job = sha256_start(pieces, N);
    assert_non_null(job);
    /* the caller's array is its own again at once: pointed elsewhere, then freed */
    static const unsigned char decoy[64];
    for (size_t i = 0; i < N; i++)
        pieces[i] = (struct iovec){(void *)decoy, sizeof decoy};
    free(pieces);
    memset(out, 'x', sizeof out);
    sha256_finish(job, out);
    assert_string_equal(out, whole);

    /* on the stack, overwritten while it runs */
    struct iovec halves[2] = {{data, len / 3}, {data + len / 3, len - len / 3}};
    job = sha256_start(halves, 2);
    halves[0] = halves[1] = (struct iovec){(void *)decoy, sizeof decoy};
    sha256_finish(job, out);
    assert_string_equal(out, whole);

    /* several at once */
    struct sha256_job *jobs[4];
    const char *texts[4] = {"abc", "", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                            "abc"};
    const char *want[4] = {"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"};
    for (int i = 0; i < 4; i++) {
        struct iovec one = {(void *)texts[i], strlen(texts[i])};
        jobs[i] = sha256_start(&one, 1);
    }
    for (int i = 3; i >= 0; i--) {
        sha256_finish(jobs[i], out);
        assert_string_equal(out, want[i]);
    }
    /* no pieces at all */
    sha256_finish(sha256_start(NULL, 0), out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(data);
}

/* ------------------------------------------------------------------ known problems */

/* journal_finish and journal_abandon pass a NULL diag to journal_commit,
 * which calls diag_add(NULL, ...) when the write fails (disk full, EIO,
 * file size limit): the process crashes instead of leaving the journal. */
static void test_abandon_survives_a_failed_write(void **st)
{
    (void)st;
    char *path;
    struct journal *j = begin_announced(&path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_cannot_grow(path);
        journal_add(j, "site-failed", "a.example", NULL);
        journal_abandon(j);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("journal_abandon died of signal %d on a failed write", WTERMSIG(status));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    journal_abandon(j);
    free(path);
}

/* A run that announces nothing leaves nothing: no journal, no .new file. */
static void test_nothing_announced_leaves_nothing(void **st)
{
    (void)st;
    for (int abandon = 0; abandon < 2; abandon++) {
        struct journal *j = journal_begin(state, "apply", &targets, false, &msgs);
        assert_non_null(j);
        char *path = xstrdup(journal_path(j));
        char *fresh = xasprintf("%s.new", path);
        assert_true(exists(fresh));
        assert_false(journal_announced(j));
        assert_int_equal(journal_commit(j, &msgs), 0);
        assert_int_equal(journal_write(j, &msgs), 0);
        assert_false(journal_announced(j));
        if (abandon)
            journal_abandon(j);
        else
            journal_finish(j);
        assert_false(exists(path));
        assert_false(exists(fresh));
        assert_int_equal(journal_count_waiting(state), 0);
        free(fresh);
        free(path);
    }
    assert_int_equal(msgs.count, 0);
}

/* Before the first commit journal_write writes nothing: what it was given
 * waits, and goes to the disk with the first commit. */
static void test_write_waits_for_a_commit(void **st)
{
    (void)st;
    struct journal *j = journal_begin(state, "apply", &targets, false, &msgs);
    assert_non_null(j);
    char *path = xstrdup(journal_path(j));
    journal_add(j, "site-done", "a.example", NULL);
    assert_int_equal(journal_write(j, &msgs), 0);
    assert_false(journal_announced(j));
    assert_false(exists(path));
    announce(j);
    char *text = read_all(path);
    assert_non_null(strstr(text, "\nsite-done\ta.example\nmkdir\ta.example\trel=wwwroot\n"));
    free(text);
    journal_abandon(j);
    free(path);
}

/* journal_write appends like journal_commit (a killed process loses
 * nothing written), only without the fsync. */
static void test_write_appends(void **st)
{
    (void)st;
    char *path;
    struct journal *j = begin_announced(&path);
    assert_true(journal_announced(j));
    journal_add(j, "config-committed", "-", NULL);
    assert_int_equal(journal_write(j, &msgs), 0);
    char *text = read_all(path);
    assert_non_null(strstr(text, "\nmkdir\ta.example\trel=wwwroot\nconfig-committed\t-\n"));
    free(text);
    journal_abandon(j);
    free(path);
}

/* After a failed write nothing more may be announced: the records lost
 * with it would be missing before later ones. */
static void test_failed_write_stops_announcing(void **st)
{
    (void)st;
    char *path;
    struct journal *j = begin_announced(&path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_cannot_grow(path);
        struct diag d;
        diag_init(&d);
        journal_add(j, "sd", "a.example", "rel", "x", "old", "", "new", "00", NULL);
        if (journal_commit(j, &d) != -1 || d.count != 1)
            _exit(4);
        struct rlimit room = {RLIM_INFINITY, RLIM_INFINITY}; /* the disk has room again */
        setrlimit(RLIMIT_FSIZE, &room);
        journal_add(j, "sd", "a.example", "rel", "y", "old", "", "new", "00", NULL);
        if (journal_commit(j, &d) != -1 || d.count != 2 || !strstr(d.msgs[1], "earlier write"))
            _exit(5);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    journal_abandon(j);
    free(path);
}

/* A crash between journal_begin's open and its first fsync leaves an empty
 * (or cut) journal: nothing had been changed, yet it makes every later
 * apply and destroy fail ("no begin record") until someone deletes it. */
/* A run killed before its journal had its begin record left only a
 * RUNID.journal.new file (journal_begin renames it once begin is on disk):
 * it had changed nothing, so a scan removes it and finds no journal. */
static void test_scan_accepts_journal_cut_before_begin(void **st)
{
    (void)st;
    const char *cut[] = {"", "provision-jou", HEADER, HEADER "begin\t-\trun=R\tpid=1"};
    char *paths[4];
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        char name[32];
        snprintf(name, sizeof name, "cut%zu.journal.new", i);
        paths[i] = planted(name, cut[i]);
    }
    struct journal_file *files;
    size_t n, live;
    int rc = journal_scan(state, &files, &n, &live, &msgs);
    if (rc != 0)
        dump(&msgs);
    for (size_t i = 0; i < n; i++)
        journal_file_free(&files[i]);
    free(files);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(access(paths[i], F_OK), -1);
        free(paths[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_dir_created_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_refuses_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_refuses_group_or_other_writable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_refuses_open_journals_folder, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_refuses_relative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_refuses_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_refuses_missing_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_refuses_foreign_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_dir_from_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_without_content_or_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_needs_the_state_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_removes_after_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandon_keeps_and_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_live_and_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_without_journals_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_last_line_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_reports_bad_and_keeps_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_audit_uses_run_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_log_refuses_symlink, setup, teardown),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_sha256_pieces),
        cmocka_unit_test(test_sha256_job),
        cmocka_unit_test_setup_teardown(test_abandon_survives_a_failed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_announced_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_waits_for_a_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_stops_announcing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_accepts_journal_cut_before_begin, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
