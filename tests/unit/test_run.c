/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The run logic, the injected failures, crashes and recovery without the
 * lab: run_sites() (provision/run_internal.h) and run_recover() on a copy
 * of the Windows Server 2016 applicationHost.config, with the in-memory
 * directory (fake/fake_directory.h) and the in-memory content back end
 * (fake/backend_mem.h), both persisted in files so that a run killed with
 * SIGKILL leaves its effects behind.
 *
 * Every run_sites() and run_recover() runs in a forked child, its output
 * in a log file: a crash kills the process, and PROVISION_TEST_HOOK is read
 * once per process (faults.c), at the first fault point reached, so that
 * this process must never reach one itself (its children would inherit
 * "no hooks"). The checks run here, after the child is gone.
 *
 * A site NAME (id ID, account IUSR_ID) is judged from the fakes' state
 * files and from the config's bytes read with libxml2, never through
 * provision's own reading:
 *   whole   the config has exactly one <site name=NAME>, one pool NAME
 *           running as SpecificUser LAB\IUSR_ID with the password the
 *           directory holds for the account, and one <location path=NAME>;
 *           the directory has IUSR_ID marked for NAME; the share has the
 *           folders NAME, NAME/wwwroot and NAME/data, NAME isolated (no
 *           Everyone, Administrators and SYSTEM full control) and granting
 *           the account RX, wwwroot (OI)(CI)RX, data (OI)(CI)M;
 *   absent  none of: the site, the pool, the location, the account, the
 *           folder NAME;
 *   half    anything else.
 * And for the whole world: the config is well-formed, the share's root
 * descriptor is as it was, no descriptor names a domain SID that is not a
 * site's existing account (no orphan grant), no folder lies outside the
 * sites' folders, and the directory holds no other object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake/backend_mem.h"
#include "fake/fake_directory.h"
#include "provision/ntfs/sddl.h"
#include "provision/run.h"
#include "provision/run_internal.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIND_ENV "PROVISION_TEST_BIND_PW"
#define N_SITES  3
#define MAX_N    60 /* the adaptive loops stop there (a point reached more often) */

#define SID_BA "S-1-5-32-544"
#define SID_SY "S-1-5-18"
#define SID_WD "S-1-1-0"

static char tmp[64];
static char *cfg, *conf, *sites, *state, *memfs, *dirstate, *secrets, *templates;
static char *fixture_bytes;
static size_t fixture_len;
static unsigned n_children;
/* The children end with exit(), so that the sanitizers' leak check runs
 * in them (a leak is then exit status 23), or with _exit(), skipping it:
 * the adaptive loops check the leaks of their first pass only (the check
 * is most of a sanitized child's time). */
static bool leak_check;

/* A list of sites: PREFIX1.example.com ... PREFIXn.example.com, ids
 * PREFIXk, accounts IUSR_PREFIXk. */
struct siteset {
    const char *prefix;
    int n;
};
static const struct siteset R = {"r", N_SITES};
static const struct siteset O = {"o", 2}; /* the other targets' sites (case e) */

/* ------------------------------------------------------------------ files */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path, size_t *len)
{
    char *data;
    size_t l = 0;
    if (len)
        *len = 0;
    if (read_file(path, &data, &l) < 0)
        return NULL;
    if (len)
        *len = l;
    return data;
}

static bool same_bytes(const char *path, const char *bytes, size_t len)
{
    size_t l;
    char *data = slurp(path, &l);
    bool same = data && l == len && memcmp(data, bytes, len) == 0;
    free(data);
    return same;
}

static void site_names(const struct siteset *s, int k, char *name, char *id, char *sam)
{
    snprintf(name, 64, "%s%d.example.com", s->prefix, k);
    snprintf(id, 32, "%s%d", s->prefix, k);
    snprintf(sam, 40, "IUSR_%s%d", s->prefix, k);
}

static void write_sites(const char *path, const struct siteset *s)
{
    struct strbuf sb;
    sb_init(&sb);
    for (int k = 1; k <= s->n; k++) {
        char name[64], id[32], sam[40];
        site_names(s, k, name, id, sam);
        sb_addf(&sb, "[site %s]\ntemplate = ad-identity\nid = %s\n\n", name, id);
    }
    write_text(path, sb.buf);
    sb_free(&sb);
}

static void write_conf(const char *path, const char *config)
{
    char *text = xasprintf("[iis]\nconfig = %s\nplain_passwords = accept\nbackups = 2\n\n"
                           "[content]\nroot = D:\\Sites\nlocation = %s\n\n"
                           "[templates]\ndir = %s\n\n"
                           "[state]\ndir = %s\n\n"
                           "[directory]\nnetbios = LAB\nuri = ldaps://dc01.lab.test\n"
                           "bind_dn = CN=provision,CN=Users,DC=lab,DC=test\n"
                           "password_env = " BIND_ENV "\nbase_dn = " FAKE_DIR_DEFAULT_BASE "\n"
                           "upn_suffix = lab.test\nsecrets_file = %s\n",
                           config, memfs, templates, state, secrets);
    write_text(path, text);
    free(text);
}

/* A dead run's journal that had announced nothing yet: never renamed
 * from RUNID.journal.new (journal.h); the next scan removes it. */
static size_t unpublished_journals(void)
{
    char *dir = xasprintf("%s/journals", state);
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        n += l > 12 && !strcmp(e->d_name + l - 12, ".journal.new");
    }
    if (d)
        closedir(d);
    free(dir);
    return n;
}

/* The journals waiting in the state folder. */
static size_t journals(char ***names)
{
    char *dir = xasprintf("%s/journals", state);
    DIR *d = opendir(dir);
    size_t n = 0;
    if (names)
        *names = NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 8 || strcmp(e->d_name + l - 8, ".journal") != 0)
            continue;
        if (names) {
            *names = xrealloc(*names, (n + 1) * sizeof **names);
            (*names)[n] = xasprintf("%s/%s", dir, e->d_name);
        }
        n++;
    }
    if (d)
        closedir(d);
    free(dir);
    return n;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The world before anything ran: the fixture, an empty share, an empty
 * directory, no secrets file. */
static void reset_world(void)
{
    write_text(cfg, fixture_bytes);
    assert_int_equal(mem_fs_create(memfs, NULL), 0);
    fake_dir_reset();
    unlink(secrets);
    assert_int_equal(journals(NULL), 0);
}

static int setup(void **st)
{
    (void)st;
    snprintf(tmp, sizeof tmp, "/tmp/provision-run-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    cfg = xasprintf("%s/applicationHost.config", tmp);
    conf = xasprintf("%s/provision.ini", tmp);
    sites = xasprintf("%s/sites.ini", tmp);
    state = xasprintf("%s/state", tmp);
    memfs = xasprintf("%s/content" MEM_FS_SUFFIX, tmp);
    dirstate = xasprintf("%s/directory.state", tmp);
    secrets = xasprintf("%s/secrets", tmp);
    templates = realpath("templates", NULL);
    assert_non_null(templates);
    setenv(BIND_ENV, "bind-secret", 1);
    setenv(FAKE_DIR_STATE_ENV, dirstate, 1);
    unsetenv("PROVISION_TEST_HOOK");
    leak_check = true;
    write_conf(conf, cfg);
    write_sites(sites, &R);
    reset_world();
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char *cmd = xasprintf("rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    unsetenv(FAKE_DIR_STATE_ENV);
    fake_dir_reset(); /* frees the objects; writes nothing: the variable is gone */
    free(cfg);
    free(conf);
    free(sites);
    free(state);
    free(memfs);
    free(dirstate);
    free(secrets);
    free(templates);
    return 0;
}

/* ------------------------------------------------------------------ runs */

enum what { DO_APPLY, DO_DESTROY, DO_RECOVER };

struct run_opts {
    const char *conf;    /* NULL: conf */
    const char *sites;   /* NULL: sites */
    const char *hook;    /* PROVISION_TEST_HOOK, or NULL */
    const char *out;     /* where stdout goes (NULL: /dev/null) */
    bool rotate, remove; /* --rotate-passwords, --remove-folders */
    char log[128];       /* out: the child's stderr */
};

#define KILLED 1000 /* + the signal */

static int run_in_child(enum what w, struct run_opts *ro)
{
    snprintf(ro->log, sizeof ro->log, "%s/child-%u.log", tmp, ++n_children);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (ro->hook)
            setenv("PROVISION_TEST_HOOK", ro->hook, 1);
        if (!freopen(ro->out ? ro->out : "/dev/null", "w", stdout) ||
            !freopen(ro->log, "w", stderr))
            _exit(100);
        struct options o = {.conf_path = ro->conf ? ro->conf : conf,
                            .rotate_passwords = ro->rotate,
                            .remove_folders = ro->remove};
        char *lists[] = {(char *)(ro->sites ? ro->sites : sites)};
        int rc = w == DO_RECOVER ? run_recover(&o)
                 : w == DO_APPLY ? run_sites(&o, 1, lists, MODE_APPLY, NULL, false)
                                 : run_sites(&o, 1, lists, MODE_DESTROY, NULL, false);
        fflush(stdout);
        fflush(stderr);
        if (leak_check)
            exit(rc);
        _exit(rc);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        return KILLED + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static void show_log(const char *log)
{
    char *text = slurp(log, NULL);
    print_message("---- %s\n%s----\n", log, text ? text : "(no log)\n");
    free(text);
}

#define assert_status(got, want, ro, what)                                                         \
    do {                                                                                           \
        int g_ = (got), w_ = (want);                                                               \
        if (g_ != w_) {                                                                            \
            show_log((ro)->log);                                                                   \
            fail_msg("%s: status %d, want %d (%d = killed by signal %d)", (what), g_, w_,          \
                     KILLED + SIGKILL, SIGKILL);                                                   \
        }                                                                                          \
    } while (0)

/* apply or destroy in a child; returns its status. */
static int child_run(enum what w, const char *hook, bool rotate, bool remove, struct run_opts *ro)
{
    struct run_opts local = {0};
    if (!ro)
        ro = &local;
    ro->hook = hook;
    ro->rotate = rotate;
    ro->remove = remove;
    return run_in_child(w, ro);
}

/* run_recover in a child of its own, as `provision recover` runs (not in
 * this process: recovery reaches the fault point "recover", see the top).
 * Its output in out (NULL: /dev/null), its errors in log. */
static int recover_child(const char *conf_path, const char *out, char *log, size_t loglen)
{
    struct run_opts ro = {.conf = conf_path, .out = out};
    int rc = run_in_child(DO_RECOVER, &ro);
    snprintf(log, loglen, "%s", ro.log);
    return rc;
}

static void recover_ok(const char *conf_path, const char *label)
{
    char log[128];
    int rc = recover_child(conf_path, NULL, log, sizeof log);
    if (rc != EXIT_DONE) {
        show_log(log);
        fail_msg("%s: recover exit %d", label, rc);
    }
}

/* ------------------------------------------------------------------ judging */

enum site_state { ABSENT, WHOLE, HALF };

struct cfg_view {
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
};

static bool cfg_open(struct cfg_view *v, const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    v->doc = data ? xmlReadMemory(data, (int)len, path, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                  : NULL;
    free(data);
    v->ctx = v->doc ? xmlXPathNewContext(v->doc) : NULL;
    return v->ctx != NULL;
}

static void cfg_close(struct cfg_view *v)
{
    if (v->ctx)
        xmlXPathFreeContext(v->ctx);
    if (v->doc)
        xmlFreeDoc(v->doc);
}

/* The nodes an XPath (with one %s: a name without quotes) selects. */
static xmlXPathObjectPtr xp(struct cfg_view *v, const char *fmt, const char *name)
{
    char expr[512];
    snprintf(expr, sizeof expr, fmt, name);
    return xmlXPathEvalExpression((const xmlChar *)expr, v->ctx);
}

static int xp_count(struct cfg_view *v, const char *fmt, const char *name)
{
    xmlXPathObjectPtr r = xp(v, fmt, name);
    int n = r && r->nodesetval ? r->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(r);
    return n;
}

/* An attribute of the first node selected (heap), or NULL. */
static char *xp_attr(struct cfg_view *v, const char *fmt, const char *name, const char *attr)
{
    xmlXPathObjectPtr r = xp(v, fmt, name);
    char *value = NULL;
    if (r && r->nodesetval && r->nodesetval->nodeNr > 0) {
        xmlChar *a = xmlGetProp(r->nodesetval->nodeTab[0], (const xmlChar *)attr);
        if (a)
            value = xstrdup((const char *)a);
        xmlFree(a);
    }
    xmlXPathFreeObject(r);
    return value;
}

#define XP_SITE     "/configuration/system.applicationHost/sites/site[@name='%s']"
#define XP_POOL     "/configuration/system.applicationHost/applicationPools/add[@name='%s']"
#define XP_POOL_PM  XP_POOL "/processModel"
#define XP_LOCATION "/configuration/location[@path='%s']"
#define XP_VDIR     XP_SITE "/application[@path='/']/virtualDirectory[@path='/']"

/* An explicit allow ACE for sid with exactly mask and these inheritance
 * flags, in the SDDL of a folder. */
static bool has_ace(const char *sddl, const char *sid, uint32_t mask, uint8_t flags)
{
    struct ntfs_sd sd;
    char err[128];
    if (!sddl || ntfs_sddl_parse(sddl, &sd, err, sizeof err) != 0)
        return false;
    bool found = false;
    for (size_t i = 0; i < sd.ace_count && !found; i++) {
        const struct ntfs_ace *a = &sd.aces[i];
        char s[NTFS_SID_STRING_MAX];
        ntfs_sid_format(&a->sid, s, sizeof s);
        found = a->type == NTFS_ACE_ALLOW && !(a->flags & NTFS_ACE_ID) && a->mask == mask &&
                (a->flags & 0x0f) == flags && !strcmp(s, sid);
    }
    ntfs_sd_free(&sd);
    return found;
}

/* Every SID an SDDL names, appended to sb, one per line. */
static void sids_of(const char *sddl, struct strbuf *sb)
{
    struct ntfs_sd sd;
    char err[128];
    if (!sddl || ntfs_sddl_parse(sddl, &sd, err, sizeof err) != 0) {
        sb_adds(sb, "(unparsable)\n");
        return;
    }
    for (size_t i = 0; i < sd.ace_count; i++) {
        char s[NTFS_SID_STRING_MAX];
        ntfs_sid_format(&sd.aces[i].sid, s, sizeof s);
        sb_addf(sb, "%s\n", s);
    }
    ntfs_sd_free(&sd);
}

static bool names_sid(const char *sddl, const char *sid)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_addc(&sb, '\n');
    sids_of(sddl, &sb);
    char *needle = xasprintf("\n%s\n", sid);
    bool r = strstr(sb.buf, needle) != NULL;
    free(needle);
    sb_free(&sb);
    return r;
}

static enum site_state judge_site(struct cfg_view *v, const struct siteset *s, int k,
                                  struct strbuf *why)
{
    char name[64], id[32], sam[40];
    site_names(s, k, name, id, sam);
    int n_site = xp_count(v, XP_SITE, name), n_pool = xp_count(v, XP_POOL, name),
        n_loc = xp_count(v, XP_LOCATION, name);
    bool account = fake_dir_exists(sam);
    int folder = mem_fs_exists(memfs, name, NULL);
    if (!n_site && !n_pool && !n_loc && !account && folder == 0)
        return ABSENT;
    size_t before = why->len;
    if (n_site != 1 || n_pool != 1 || n_loc != 1 || !account || folder != 1)
        sb_addf(why, " site=%d pool=%d location=%d account=%d folder=%d;", n_site, n_pool, n_loc,
                account, folder);
    if (account) {
        char *marker = xasprintf("provision:site=%s", name);
        const char *have = fake_dir_marker(sam);
        if (!have || strcmp(have, marker) != 0)
            sb_addf(why, " marker %s;", have ? have : "(none)");
        free(marker);
        char *identity = xp_attr(v, XP_POOL_PM, name, "identityType");
        char *user = xp_attr(v, XP_POOL_PM, name, "userName");
        char *pw = xp_attr(v, XP_POOL_PM, name, "password");
        char *want_user = xasprintf("LAB\\%s", sam);
        const char *dir_pw = fake_dir_password(sam);
        if (!identity || strcmp(identity, "SpecificUser") || !user || strcmp(user, want_user))
            sb_addf(why, " pool identity %s %s;", identity ? identity : "-", user ? user : "-");
        if (!pw || !dir_pw || strcmp(pw, dir_pw) != 0)
            sb_addf(why, " the pool's password is not the account's;");
        free(identity);
        free(user);
        free_secret(pw);
        free(want_user);
        char *path = xp_attr(v, XP_VDIR, name, "physicalPath");
        char *want_path = xasprintf("D:\\Sites\\%s\\wwwroot", name);
        if (n_site && (!path || strcmp(path, want_path)))
            sb_addf(why, " physicalPath %s;", path ? path : "-");
        free(path);
        free(want_path);
        const char *sid = fake_dir_sid(sam);
        char *rel_www = xasprintf("%s/wwwroot", name), *rel_data = xasprintf("%s/data", name);
        char *sd_site = mem_fs_sddl(memfs, name), *sd_www = mem_fs_sddl(memfs, rel_www),
             *sd_data = mem_fs_sddl(memfs, rel_data);
        if (!sd_site || !has_ace(sd_site, SID_BA, NTFS_RIGHTS_F, NTFS_ACE_OI | NTFS_ACE_CI) ||
            !has_ace(sd_site, SID_SY, NTFS_RIGHTS_F, NTFS_ACE_OI | NTFS_ACE_CI) ||
            !has_ace(sd_site, sid, NTFS_RIGHTS_RX, 0) || names_sid(sd_site, SID_WD))
            sb_addf(why, " %s: %s;", name, sd_site ? sd_site : "(missing)");
        if (!has_ace(sd_www, sid, NTFS_RIGHTS_RX, NTFS_ACE_OI | NTFS_ACE_CI))
            sb_addf(why, " %s: %s;", rel_www, sd_www ? sd_www : "(missing)");
        if (!has_ace(sd_data, sid, NTFS_RIGHTS_M, NTFS_ACE_OI | NTFS_ACE_CI))
            sb_addf(why, " %s: %s;", rel_data, sd_data ? sd_data : "(missing)");
        free(rel_www);
        free(rel_data);
        free(sd_site);
        free(sd_www);
        free(sd_data);
    }
    if (why->len == before)
        return WHOLE;
    char *detail = xstrdup(why->buf + before);
    why->len = before;
    why->buf[before] = '\0';
    sb_addf(why, "  %s half:%s\n", name, detail);
    free(detail);
    return HALF;
}

/* The checks of the whole world (see the top); problems appended to why. */
static void judge_world(struct cfg_view *v, bool cfg_ok, struct strbuf *why)
{
    if (!cfg_ok)
        sb_adds(why, "  the config is not well-formed XML\n");
    (void)v; /* the sites' parts of the config are judge_site's */
    char *root = mem_fs_sddl(memfs, "");
    struct ntfs_sd want;
    char err[128];
    assert_int_equal(ntfs_sddl_parse(MEM_FS_SHARE_ROOT, &want, err, sizeof err), 0);
    char *want_text = ntfs_sddl_format(&want);
    ntfs_sd_free(&want);
    if (!root || strcmp(root, want_text) != 0)
        sb_addf(why, "  the share's root changed: %s\n", root ? root : "(missing)");
    free(root);
    free(want_text);
    /* the accounts the sites may have, their SIDs */
    struct strbuf known;
    sb_init(&known);
    size_t accounts = 0;
    const struct siteset *sets[] = {&R, &O};
    for (size_t i = 0; i < 2; i++)
        for (int k = 1; k <= sets[i]->n; k++) {
            char name[64], id[32], sam[40];
            site_names(sets[i], k, name, id, sam);
            if (fake_dir_exists(sam)) {
                accounts++;
                sb_addf(&known, "\n%s\n", fake_dir_sid(sam));
            }
        }
    if (fake_dir_count() != accounts)
        sb_addf(why, "  the directory holds %zu objects, %zu of them the sites' accounts\n",
                fake_dir_count(), accounts);
    size_t n;
    char **paths = mem_fs_paths(memfs, &n);
    for (size_t i = 0; paths && i < n; i++) {
        if (!*paths[i])
            continue;
        bool ours = false;
        for (size_t s = 0; s < 2 && !ours; s++)
            for (int k = 1; k <= sets[s]->n && !ours; k++) {
                char name[64], id[32], sam[40];
                site_names(sets[s], k, name, id, sam);
                size_t l = strlen(name);
                ours = !ascii_ncasecmp(paths[i], name, l) && (!paths[i][l] || paths[i][l] == '/');
            }
        if (!ours)
            sb_addf(why, "  a folder outside the sites' folders: %s\n", paths[i]);
        char *sddl = mem_fs_sddl(memfs, paths[i]);
        struct strbuf sids;
        sb_init(&sids);
        sids_of(sddl, &sids);
        for (char *line = sids.buf; *line;) {
            char *end = strchr(line, '\n');
            *end = '\0';
            char *needle = xasprintf("\n%s\n", line);
            if (!strncmp(line, "S-1-5-21-", 9) && !strstr(known.buf, needle))
                sb_addf(why, "  %s grants %s, which is no site's account\n", paths[i], line);
            free(needle);
            line = end + 1;
        }
        sb_free(&sids);
        free(sddl);
    }
    if (!paths)
        sb_adds(why, "  the share's state cannot be read\n");
    mem_fs_free_list(paths, n);
    sb_free(&known);
}

/* The problems of the world alone (heap, "" when none). */
static char *world_problems(void)
{
    struct cfg_view v = {0};
    bool ok = cfg_open(&v, cfg);
    struct strbuf why;
    sb_init(&why);
    judge_world(&v, ok, &why);
    cfg_close(&v);
    return sb_detach(&why);
}

/* Judges every site of set; states[k-1] gets site k's state. Returns the
 * problems of the world (heap, "" when none) including the half sites. */
static char *judge(const struct siteset *set, enum site_state *states)
{
    struct cfg_view v = {0};
    bool ok = cfg_open(&v, cfg);
    struct strbuf why;
    sb_init(&why);
    for (int k = 1; k <= set->n; k++)
        states[k - 1] = ok ? judge_site(&v, set, k, &why) : HALF;
    judge_world(&v, ok, &why);
    cfg_close(&v);
    return sb_detach(&why);
}

static const char *state_name(enum site_state s)
{
    return s == WHOLE ? "whole" : s == ABSENT ? "absent" : "half";
}

/* Every site of the set in state want, and nothing wrong in the world. */
static void expect_all(const struct siteset *set, enum site_state want, const char *label)
{
    enum site_state st[16];
    char *why = judge(set, st);
    struct strbuf bad;
    sb_init(&bad);
    for (int k = 0; k < set->n; k++)
        if (st[k] != want)
            sb_addf(&bad, " %s%d.example.com is %s;", set->prefix, k + 1, state_name(st[k]));
    if (bad.len || *why)
        fail_msg("%s: want every site %s:%s\n%s", label, state_name(want), bad.buf, why);
    sb_free(&bad);
    free(why);
}

/* Exactly one site absent, the others whole; returns its number. */
static int expect_one_absent(const struct siteset *set, const char *label)
{
    enum site_state st[16];
    char *why = judge(set, st);
    int absent = 0, whole = 0, which = 0;
    for (int k = 0; k < set->n; k++) {
        absent += st[k] == ABSENT;
        whole += st[k] == WHOLE;
        if (st[k] == ABSENT)
            which = k + 1;
    }
    if (absent != 1 || whole != set->n - 1 || *why)
        fail_msg("%s: want one site absent and %d whole, have %d absent, %d whole\n%s", label,
                 set->n - 1, absent, whole, why);
    free(why);
    return which;
}

/* The secrets file has, for every site of the set, the password the
 * directory holds. */
static void expect_secrets(const struct siteset *set, const char *label)
{
    char *text = slurp(secrets, NULL);
    if (!text)
        fail_msg("%s: no secrets file", label);
    for (int k = 1; k <= set->n; k++) {
        char name[64], id[32], sam[40];
        site_names(set, k, name, id, sam);
        char *line = xasprintf("%s\t%s\t%s\n", sam, name, fake_dir_password(sam));
        if (!strstr(text, line))
            fail_msg("%s: the secrets file does not hold %s's current password", label, sam);
        free_secret(line);
    }
    free_secret(text);
}

/* apply converges (every site whole) and destroy --remove-folders brings
 * back the fixture's bytes, an empty directory and an empty share. */
static void converge_and_clean(const char *label)
{
    struct run_opts ro = {0};
    char *what = xasprintf("%s: converging apply", label);
    assert_status(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE, &ro, what);
    expect_all(&R, WHOLE, what);
    free(what);
    what = xasprintf("%s: destroy", label);
    assert_status(child_run(DO_DESTROY, NULL, false, true, &ro), EXIT_DONE, &ro, what);
    expect_all(&R, ABSENT, what);
    if (!same_bytes(cfg, fixture_bytes, fixture_len))
        fail_msg("%s: the config is not the fixture's bytes", what);
    size_t n;
    char **paths = mem_fs_paths(memfs, &n);
    mem_fs_free_list(paths, n);
    if (n != 1 || fake_dir_count() != 0 || journals(NULL) != 0)
        fail_msg("%s: left %zu objects on the share, %zu in the directory, %zu journals", what, n,
                 fake_dir_count(), journals(NULL));
    free(what);
}

/* ------------------------------------------------------------------ the fakes */

/* The fakes persist: what a killed child did is seen by the parent; the
 * mem back end behaves like SMB (no control bits kept, sorted ACEs) and
 * both location forms reach it. */
static void test_fakes_persist(void **st)
{
    (void)st;
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fake_dir_add_marked("IUSR_kept", "kept.example.com");
        struct acl_backend *b;
        struct diag d;
        diag_init(&d);
        if (acl_backend_open(memfs, NULL, &b, &d) < 0 || acl_ensure_folder(b, "a/b", NULL, &d))
            _exit(1);
        kill(getpid(), SIGKILL);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(fake_dir_exists("IUSR_kept"));
    assert_string_equal(fake_dir_marker("IUSR_kept"), "provision:site=kept.example.com");
    assert_string_equal(fake_dir_password("IUSR_kept"), "Old-Pass-123");
    bool is_dir = false;
    assert_int_equal(mem_fs_exists(memfs, "a/b", &is_dir), 1);
    assert_true(is_dir);
    /* Samba's copy of the parent's inheritable entries, without INHERITED */
    char *sddl = mem_fs_sddl(memfs, "A/B");
    assert_non_null(sddl);
    assert_true(has_ace(sddl, SID_WD, NTFS_RIGHTS_RX, NTFS_ACE_OI | NTFS_ACE_CI));
    free(sddl);

    /* mem:///PATH is the same store; a protected descriptor loses the bit */
    char *loc = xasprintf(MEM_FS_SCHEME "%s", memfs);
    struct acl_backend *b;
    struct diag d;
    diag_init(&d);
    assert_int_equal(acl_backend_open(loc, NULL, &b, &d), 0);
    assert_string_equal(acl_backend_name(b), "SMB");
    assert_int_equal(acl_backend_caps(b), ACL_CAP_DESCRIPTORS);
    struct ntfs_sd sd, back;
    char err[128];
    assert_int_equal(
        ntfs_sddl_parse("O:BAG:SYD:P(A;OICI;0x1f01ff;;;SY)(A;OICI;0x1f01ff;;;BA)", &sd, err, 128),
        0);
    assert_int_equal(acl_write_sd(b, "a", &sd, &d), 0);
    assert_int_equal(acl_read_sd(b, "a", &back, &d), 0);
    assert_false(back.control & NTFS_SD_DACL_PROTECTED);
    char *text = ntfs_sddl_format(&back);
    /* sorted by SID text: S-1-5-18 before S-1-5-32-544 */
    assert_string_equal(text, "O:BAG:SYD:(A;OICI;0x1f01ff;;;SY)(A;OICI;0x1f01ff;;;BA)");
    free(text);
    ntfs_sd_free(&sd);
    ntfs_sd_free(&back);
    assert_int_equal(acl_remove_empty_folder(b, "a", &d), 0); /* not empty */
    assert_int_equal(acl_remove_empty_folder(b, "a/b", &d), 1);
    assert_int_equal(acl_backend_close(b, &d), 0);
    assert_int_equal(d.count, 0);
    assert_int_equal(mem_fs_exists(memfs, "a/b", NULL), 0);
    /* a missing store is a missing share; other absolute paths stay ntfs-3g's */
    char *missing = xasprintf("%s/none" MEM_FS_SUFFIX, tmp);
    assert_int_equal(acl_backend_open(missing, NULL, &b, &d), -1);
    assert_non_null(strstr(d.msgs[d.count - 1], "cannot read the state"));
    assert_int_equal(acl_backend_open(tmp, NULL, &b, &d), -1);
    assert_non_null(strstr(d.msgs[d.count - 1], "ntfs"));
    diag_free(&d);
    free(missing);
    free(loc);
}

/* ------------------------------------------------------------------ (a) */

static void test_apply_again_destroy(void **st)
{
    (void)st;
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE, &ro, "apply");
    expect_all(&R, WHOLE, "apply");
    expect_secrets(&R, "apply");
    assert_false(same_bytes(cfg, fixture_bytes, fixture_len));
    assert_int_equal(journals(NULL), 0);
    /* a second apply changes nothing: the config, the share, the directory */
    size_t cfg_len, fs_len, dir_len;
    char *cfg_before = slurp(cfg, &cfg_len), *fs_before = slurp(memfs, &fs_len),
         *dir_before = slurp(dirstate, &dir_len);
    char *out_path = xasprintf("%s/second.out", tmp);
    struct run_opts out = {.out = out_path};
    assert_status(child_run(DO_APPLY, NULL, false, false, &out), EXIT_DONE, &out, "second apply");
    assert_true(same_bytes(cfg, cfg_before, cfg_len));
    assert_true(same_bytes(memfs, fs_before, fs_len));
    assert_true(same_bytes(dirstate, dir_before, dir_len));
    char *said = slurp(out_path, NULL), *want = xasprintf("No changes: %d sites", N_SITES);
    assert_non_null(strstr(said, want));
    free(want);
    free(said);
    free(out_path);
    free(cfg_before);
    free(fs_before);
    free_secret(dir_before);
    /* destroy without --remove-folders keeps the folders, without grants */
    assert_status(child_run(DO_DESTROY, NULL, false, false, &ro), EXIT_DONE, &ro, "destroy");
    assert_true(same_bytes(cfg, fixture_bytes, fixture_len));
    assert_int_equal(fake_dir_count(), 0);
    assert_int_equal(mem_fs_exists(memfs, "r1.example.com/data", NULL), 1);
    char *why = world_problems();
    assert_string_equal(why, ""); /* no orphan grant */
    free(why);
    /* apply again, destroy --remove-folders: nothing left at all */
    converge_and_clean("(a)");
}

/* ------------------------------------------------------------------ (b) */

/* fail:POINT:N for N = 1, 2, ... until the point is not reached any more
 * (the run then succeeds); each time exactly one site fails and is taken
 * back, the others are written; then apply converges and destroy cleans.
 * fixed: the Nth pass is site N's (account, site). Returns the passes. */
static int fail_each(const char *point, bool fixed)
{
    int n;
    for (n = 1; n <= MAX_N; n++) {
        leak_check = n == 1;
        reset_world();
        char hook[64];
        snprintf(hook, sizeof hook, "fail:%s:%d", point, n);
        struct run_opts ro = {0};
        int rc = child_run(DO_APPLY, hook, false, false, &ro);
        if (rc == EXIT_DONE) {
            expect_all(&R, WHOLE, hook);
            break;
        }
        assert_status(rc, EXIT_PARTIAL, &ro, hook);
        int which = expect_one_absent(&R, hook);
        if (fixed)
            assert_int_equal(which, n);
        assert_int_equal(journals(NULL), 0); /* the run recovered its own */
        converge_and_clean(hook);
    }
    assert_true(n <= MAX_N);
    return n - 1;
}

static void test_fail_account(void **st)
{
    (void)st;
    assert_int_equal(fail_each("account", true), N_SITES);
}

static void test_fail_site(void **st)
{
    (void)st;
    assert_int_equal(fail_each("site", true), N_SITES);
}

/* The sites' folders are made while the accounts are: killed at the first
 * site's first folder, only its account exists yet (the others are still
 * to be added); recovery then takes every site back. */
static void test_content_overlaps_accounts(void **st)
{
    (void)st;
    reset_world();
    struct run_opts ro = {0};
    int rc = child_run(DO_APPLY, "crash:mkdir:1", false, false, &ro);
    assert_int_equal(rc, KILLED + SIGKILL);
    assert_int_equal(fake_dir_count(), 1);
    recover_ok(conf, "overlap");
    assert_int_equal(fake_dir_count(), 0);
    expect_all(&R, ABSENT, "overlap");
    assert_int_equal(journals(NULL), 0);
    /* and a plain apply makes them all whole */
    assert_int_equal(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE);
    assert_int_equal(fake_dir_count(), N_SITES);
    expect_all(&R, WHOLE, "overlap, apply again");
}

static void test_fail_mkdir(void **st)
{
    (void)st;
    /* three folders per site */
    assert_int_equal(fail_each("mkdir", false), 3 * N_SITES);
}

static void test_fail_sd(void **st)
{
    (void)st;
    int n = fail_each("sd", false);
    print_message("  fail:sd: %d descriptor writes, each failed once\n", n);
    assert_true(n >= 3 * N_SITES);
}

/* The config cannot be written: every site of the run is taken back. */
static void test_fail_config(void **st)
{
    (void)st;
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, "fail:config:1", false, false, &ro), EXIT_FAILED, &ro,
                  "fail:config:1");
    expect_all(&R, ABSENT, "fail:config:1");
    assert_true(same_bytes(cfg, fixture_bytes, fixture_len));
    assert_int_equal(journals(NULL), 0);
    converge_and_clean("fail:config:1");
}

/* An internal error when the new config is made (fail:render stands for
 * such a bug, e.g. two overlapping edits): nothing written, every site of
 * the run taken back, its new accounts deleted again, no journal left. */
static void test_fail_render(void **st)
{
    (void)st;
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, "fail:render:1", false, false, &ro), EXIT_FAILED, &ro,
                  "fail:render:1");
    expect_all(&R, ABSENT, "fail:render:1");
    assert_true(same_bytes(cfg, fixture_bytes, fixture_len));
    assert_int_equal(journals(NULL), 0);
    converge_and_clean("fail:render:1");
}

/* SIGINT (signal:POINT:N, as if Ctrl-C was pressed there) stops apply at
 * the next step: the sites done before are written, the current one and
 * the rest are undone; exit 3, or 1 when no site was done. */
static void test_signal(void **st)
{
    (void)st;
    int n, seen[N_SITES + 1] = {0};
    for (n = 1; n <= MAX_N; n++) {
        leak_check = n == 1;
        reset_world();
        char hook[64];
        snprintf(hook, sizeof hook, "signal:sd:%d", n);
        struct run_opts ro = {0};
        int rc = child_run(DO_APPLY, hook, false, false, &ro);
        enum site_state states[N_SITES];
        char *why = judge(&R, states);
        int whole = 0;
        while (whole < N_SITES && states[whole] == WHOLE)
            whole++;
        bool rest_absent = true;
        for (int k = whole; k < N_SITES; k++)
            rest_absent &= states[k] == ABSENT;
        if (*why || !rest_absent)
            fail_msg("%s: want the first sites whole and the others absent\n%s", hook, why);
        free(why);
        assert_int_equal(journals(NULL), 0);
        if (whole == N_SITES) { /* the point was not reached that often */
            assert_status(rc, EXIT_DONE, &ro, hook);
            break;
        }
        assert_status(rc, whole ? EXIT_PARTIAL : EXIT_FAILED, &ro, hook);
        seen[whole]++;
        converge_and_clean(hook);
    }
    assert_true(n <= MAX_N);
    for (int k = 0; k < N_SITES; k++)
        assert_true(seen[k] > 0); /* stopped in each site */
}

/* ------------------------------------------------------------------ (c) */

/* Kills a child at POINT:N (for N = 1, 2, ... until the point is not
 * reached); recovers here; every site must be `want`; then apply converges
 * and destroy cleans. before: what to run first (an apply, for rotate and
 * destroy). Returns the number of kills. */
static int crash_each(const char *point, enum what w, bool rotate, enum site_state want,
                      bool applied_first, int max)
{
    int kills = 0;
    for (int n = 1; n <= max; n++) {
        leak_check = n == 1;
        reset_world();
        struct run_opts ro = {0};
        if (applied_first) {
            assert_status(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE, &ro, "apply");
            expect_all(&R, WHOLE, "the apply before");
        }
        size_t cfg_len;
        char *cfg_before = slurp(cfg, &cfg_len);
        char hook[64];
        snprintf(hook, sizeof hook, "crash:%s:%d", point, n);
        int rc = child_run(w, hook, rotate, w == DO_DESTROY, &ro);
        if (rc != KILLED + SIGKILL) {
            /* the point was not reached that often: the run finished */
            assert_status(rc, EXIT_DONE, &ro, hook);
            assert_int_equal(journals(NULL), 0);
            free(cfg_before);
            break;
        }
        kills++;
        /* The dead run's journal waits; killed before it announced
         * anything, only its unpublished file is there. */
        assert_int_equal(journals(NULL) + unpublished_journals(), 1);
        recover_ok(conf, hook);
        assert_int_equal(journals(NULL), 0);
        assert_int_equal(unpublished_journals(), 0);
        expect_all(&R, want, hook);
        if (want == WHOLE && strcmp(point, "committed") != 0) /* see test_committed_secrets */
            expect_secrets(&R, hook);
        /* absent: the fixture's bytes; a destroy that did not write: as
         * before it */
        if (want == ABSENT)
            assert_true(same_bytes(cfg, fixture_bytes, fixture_len));
        if (want == WHOLE && w == DO_DESTROY)
            assert_true(same_bytes(cfg, cfg_before, cfg_len));
        free(cfg_before);
        /* a second recover has nothing to do */
        recover_ok(conf, hook);
        expect_all(&R, want, hook);
        converge_and_clean(hook);
    }
    return kills;
}

static void test_crash_apply_before_commit(void **st)
{
    (void)st;
    struct {
        const char *point;
        int min;
    } points[] = {{"accounts", 1},     {"account", N_SITES}, {"mkdir", 3 * N_SITES},
                  {"sd", 3 * N_SITES}, {"site", N_SITES},    {"config", 1}};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        int kills = crash_each(points[i].point, DO_APPLY, false, ABSENT, false, MAX_N);
        print_message("  crash:%s: %d kills, every site absent after recover\n", points[i].point,
                      kills);
        assert_true(kills >= points[i].min);
    }
}

static void test_crash_apply_committed(void **st)
{
    (void)st;
    assert_int_equal(crash_each("committed", DO_APPLY, false, WHOLE, false, MAX_N), 1);
}

/* An apply killed right after its write: recovery rolls it forward and,
 * as recover.h says, writes the secrets file ([directory] secrets_file)
 * with the passwords the config holds for the run's new accounts. */
static void test_committed_secrets(void **st)
{
    (void)st;
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, "crash:committed:1", false, false, &ro), KILLED + SIGKILL,
                  &ro, "crash:committed:1");
    recover_ok(conf, "crash:committed:1");
    expect_all(&R, WHOLE, "crash:committed:1");
    char *text = slurp(secrets, NULL);
    if (!text)
        fail_msg("no secrets file after the recovery of an apply killed after its write: the "
                 "journal's account-create records carry no pool=/user= (provision/run.c, "
                 "create_accounts), so recover.c's roll_forward_apply finds no password for "
                 "the new accounts");
    free_secret(text);
    expect_secrets(&R, "crash:committed:1");
}

/* --rotate-passwords killed while setting the new passwords (after the
 * config holds them): recovery sets them from the file. */
static void test_crash_rotate(void **st)
{
    (void)st;
    assert_int_equal(crash_each("rotate", DO_APPLY, true, WHOLE, true, MAX_N), N_SITES);
    /* killed before its write: nothing of the rotation happened */
    assert_int_equal(crash_each("config", DO_APPLY, true, WHOLE, true, MAX_N), 1);
}

/* destroy killed after its write (taking grants, folders, accounts away)
 * or before it (nothing happened yet). */
static void test_crash_destroy(void **st)
{
    (void)st;
    assert_int_equal(crash_each("delete", DO_DESTROY, false, ABSENT, true, MAX_N), N_SITES);
    assert_true(crash_each("rmdir", DO_DESTROY, false, ABSENT, true, MAX_N) >= 3 * N_SITES);
    assert_int_equal(crash_each("config", DO_DESTROY, false, WHOLE, true, MAX_N), 1);
}

/* The sites' folders exist before the run, with content (uploaded ahead
 * of provisioning): a run killed at any descriptor write is taken back to
 * exactly the share as it was (descriptors written back byte for byte,
 * nothing removed), since recovery cannot delete those folders. */
static void precreate_content(void)
{
    for (int k = 1; k <= R.n; k++) {
        char name[64], id[32], sam[40];
        site_names(&R, k, name, id, sam);
        char *www = xasprintf("%s/wwwroot", name), *page = xasprintf("%s/wwwroot/index.html", name);
        assert_int_equal(mem_fs_add(memfs, name, true), 0);
        assert_int_equal(mem_fs_add(memfs, www, true), 0);
        assert_int_equal(mem_fs_add(memfs, page, false), 0);
        free(www);
        free(page);
    }
}

static void test_crash_existing_content(void **st)
{
    (void)st;
    int kills = 0, n;
    for (n = 1; n <= MAX_N; n++) {
        leak_check = n == 1;
        reset_world();
        precreate_content();
        size_t before_len;
        char *before = slurp(memfs, &before_len);
        char hook[64];
        snprintf(hook, sizeof hook, "crash:sd:%d", n);
        struct run_opts ro = {0};
        int rc = child_run(DO_APPLY, hook, false, false, &ro);
        if (rc != KILLED + SIGKILL) {
            assert_status(rc, EXIT_DONE, &ro, hook);
            expect_all(&R, WHOLE, hook);
            free(before);
            break;
        }
        kills++;
        assert_false(same_bytes(memfs, before, before_len)); /* it did write something */
        recover_ok(conf, hook);
        assert_int_equal(journals(NULL), 0);
        if (!same_bytes(memfs, before, before_len)) {
            char *now = slurp(memfs, NULL);
            fail_msg("%s: the share is not as before the run:\n%s----\nnow:\n%s", hook, before,
                     now);
        }
        assert_true(same_bytes(cfg, fixture_bytes, fixture_len));
        assert_int_equal(fake_dir_count(), 0);
        free(before);
    }
    assert_true(n <= MAX_N);
    print_message("  crash:sd with existing content: %d kills, the share as before each time\n",
                  kills);
    /* the first write of the first site may only announce: at least one
     * kill per site's writes */
    assert_true(kills >= 3 * N_SITES);
    /* apply, then destroy: the content stays, without any grant of the
     * deleted accounts */
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE, &ro, "apply");
    expect_all(&R, WHOLE, "apply over existing content");
    assert_status(child_run(DO_DESTROY, NULL, false, true, &ro), EXIT_DONE, &ro, "destroy");
    assert_true(same_bytes(cfg, fixture_bytes, fixture_len));
    assert_int_equal(fake_dir_count(), 0);
    assert_int_equal(mem_fs_exists(memfs, "r1.example.com/wwwroot/index.html", NULL), 1);
    char *why = world_problems();
    assert_string_equal(why, "");
    free(why);
}

/* A step after the write fails (a password the directory does not take, a
 * destroy's grants and account): the site is reported failed, the journal
 * stays, and recover finishes it. */
static void test_fail_after_write(void **st)
{
    (void)st;
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE, &ro, "apply");
    assert_status(child_run(DO_APPLY, "fail:rotate:2", true, false, &ro), EXIT_PARTIAL, &ro,
                  "fail:rotate:2");
    assert_int_equal(journals(NULL), 1);
    recover_ok(conf, "fail:rotate:2");
    assert_int_equal(journals(NULL), 0);
    expect_all(&R, WHOLE, "fail:rotate:2, recovered"); /* the passwords match again */
    expect_secrets(&R, "fail:rotate:2, recovered");
    assert_status(child_run(DO_DESTROY, "fail:delete:2", false, true, &ro), EXIT_PARTIAL, &ro,
                  "fail:delete:2");
    assert_true(same_bytes(cfg, fixture_bytes, fixture_len));
    assert_int_equal(journals(NULL), 1);
    recover_ok(conf, "fail:delete:2");
    assert_int_equal(journals(NULL), 0);
    expect_all(&R, ABSENT, "fail:delete:2, recovered");
    converge_and_clean("fail after the write");
}

/* Failures while the sites are whole already never take them down: a
 * site's step failing, a rotation whose config write fails (nothing of it
 * is kept: the old passwords stay on both sides). */
static void test_fail_on_whole_sites(void **st)
{
    (void)st;
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE, &ro, "apply");
    size_t len;
    char *applied = slurp(cfg, &len);
    assert_status(child_run(DO_APPLY, "fail:site:2", false, false, &ro), EXIT_PARTIAL, &ro,
                  "fail:site:2 on whole sites");
    expect_all(&R, WHOLE, "fail:site:2 on whole sites");
    assert_status(child_run(DO_APPLY, "fail:config:1", true, false, &ro), EXIT_FAILED, &ro,
                  "rotation, fail:config:1");
    expect_all(&R, WHOLE, "rotation, fail:config:1");
    assert_true(same_bytes(cfg, applied, len));
    assert_status(child_run(DO_APPLY, "fail:site:3", true, false, &ro), EXIT_PARTIAL, &ro,
                  "rotation, fail:site:3");
    expect_all(&R, WHOLE, "rotation, fail:site:3");
    assert_int_equal(journals(NULL), 0);
    free_secret(applied);
    converge_and_clean("failures on whole sites");
}

/* The config was written by someone else after an apply died before its
 * own write: the file matches neither hash of the journal, none of the
 * run's sites is in it, so the run did not commit: rolled back, and the
 * other writer's change kept. */
static void test_config_edited_after_crash(void **st)
{
    (void)st;
    struct run_opts ro = {0};
    assert_status(child_run(DO_APPLY, "crash:config:1", false, false, &ro), KILLED + SIGKILL, &ro,
                  "crash:config:1");
    char *edited = xasprintf("%s<!-- edited by hand -->\r\n", fixture_bytes);
    write_text(cfg, edited);
    recover_ok(conf, "recover after an edit");
    assert_int_equal(journals(NULL), 0);
    expect_all(&R, ABSENT, "recover after an edit");
    assert_true(same_bytes(cfg, edited, strlen(edited)));
    free(edited);
}

/* ------------------------------------------------------------------ (d) */

/* A recovery killed at its Nth action, then recovered again. */
static int recover_killed(const char *crash, enum what w, bool rotate, bool applied_first,
                          enum site_state want)
{
    int kills = 0;
    for (int n = 1; n <= MAX_N; n++) {
        leak_check = n == 1;
        reset_world();
        struct run_opts ro = {0};
        if (applied_first)
            assert_status(child_run(DO_APPLY, NULL, false, false, &ro), EXIT_DONE, &ro, "apply");
        assert_status(child_run(w, crash, rotate, w == DO_DESTROY, &ro), KILLED + SIGKILL, &ro,
                      crash);
        char hook[64];
        snprintf(hook, sizeof hook, "crash:recover:%d", n);
        int rc = child_run(DO_RECOVER, hook, false, false, &ro);
        if (rc != KILLED + SIGKILL) {
            assert_status(rc, EXIT_DONE, &ro, hook);
            expect_all(&R, want, hook);
            break;
        }
        kills++;
        assert_int_equal(journals(NULL), 1);
        recover_ok(conf, hook);
        assert_int_equal(journals(NULL), 0);
        expect_all(&R, want, hook);
        converge_and_clean(hook);
    }
    return kills;
}

static void test_crash_recover(void **st)
{
    (void)st;
    /* an apply killed at its 5th descriptor write: accounts, folders and
     * descriptors of the first sites to take back */
    int k1 = recover_killed("crash:sd:5", DO_APPLY, false, false, ABSENT);
    /* a destroy killed after its write: grants and accounts to take away */
    int k2 = recover_killed("crash:delete:1", DO_DESTROY, false, true, ABSENT);
    /* a rotation killed after its write: passwords to set */
    int k3 = recover_killed("crash:rotate:1", DO_APPLY, true, true, WHOLE);
    print_message("  crash:recover: %d kills after an apply, %d after a destroy, %d after a "
                  "rotation\n",
                  k1, k2, k3);
    assert_true(k1 >= 3);
    assert_true(k2 >= N_SITES);
    assert_true(k3 >= N_SITES);
}

/* ------------------------------------------------------------------ (e) */

/* A journal of another configuration file: apply and recover of this one
 * leave it alone and say so; its own configuration recovers it. */
static void test_other_targets(void **st)
{
    (void)st;
    char *other_cfg = xasprintf("%s/other.config", tmp);
    char *other_conf = xasprintf("%s/other.ini", tmp);
    char *other_sites = xasprintf("%s/other-sites.ini", tmp);
    write_text(other_cfg, fixture_bytes);
    write_conf(other_conf, other_cfg);
    write_sites(other_sites, &O);
    struct run_opts ro = {.conf = other_conf, .sites = other_sites};
    assert_status(child_run(DO_APPLY, "crash:sd:4", false, false, &ro), KILLED + SIGKILL, &ro,
                  "other apply");
    char **names;
    assert_int_equal(journals(&names), 1);
    size_t jlen;
    char *jbytes = slurp(names[0], &jlen);
    assert_non_null(jbytes);
    assert_true(fake_dir_exists("IUSR_o1")); /* its half-made site */

    char *out = xasprintf("%s/apply.out", tmp);
    struct run_opts mine = {.out = out};
    assert_status(child_run(DO_APPLY, NULL, false, false, &mine), EXIT_DONE, &mine, "apply");
    expect_all(&R, WHOLE, "apply next to another run's journal");
    assert_true(same_bytes(names[0], jbytes, jlen));
    assert_true(fake_dir_exists("IUSR_o1"));
    assert_true(same_bytes(other_cfg, fixture_bytes, fixture_len));
    char *said = slurp(out, NULL);
    assert_non_null(said);
    if (!strstr(said, names[0]) || !strstr(said, "other targets") || !strstr(said, other_cfg))
        fail_msg("apply did not mention the other journal:\n%s", said);
    free(said);

    /* recover of this configuration leaves it too, and says so */
    char log[128];
    assert_int_equal(recover_child(conf, out, log, sizeof log), EXIT_DONE);
    assert_true(same_bytes(names[0], jbytes, jlen));
    said = slurp(out, NULL);
    assert_non_null(strstr(said, names[0]));
    free(said);

    /* its own configuration recovers it */
    recover_ok(other_conf, "recover of the other configuration");
    assert_int_equal(journals(NULL), 0);
    expect_all(&O, ABSENT, "the other run, recovered");
    expect_all(&R, WHOLE, "this configuration's sites, after the other's recovery");
    assert_true(same_bytes(other_cfg, fixture_bytes, fixture_len));
    converge_and_clean("(e)");
    free_names(names, 1);
    free(jbytes);
    free(out);
    free(other_cfg);
    free(other_conf);
    free(other_sites);
}

int main(void)
{
    fixture_bytes = fixture("applicationHost.server2016-default.config", &fixture_len);
    xmlInitParser();
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_fakes_persist),
        T(test_apply_again_destroy),
        T(test_fail_account),
        T(test_fail_site),
        T(test_content_overlaps_accounts),
        T(test_fail_mkdir),
        T(test_fail_sd),
        T(test_fail_config),
        T(test_fail_render),
        T(test_signal),
        T(test_crash_apply_before_commit),
        T(test_crash_apply_committed),
        T(test_committed_secrets),
        T(test_crash_rotate),
        T(test_crash_destroy),
        T(test_crash_existing_content),
        T(test_fail_after_write),
        T(test_fail_on_whole_sites),
        T(test_config_edited_after_crash),
        T(test_crash_recover),
        T(test_other_targets),
    };
#undef T
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    free(fixture_bytes);
    return rc;
}
