/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The account steps of a run (provision/accounts.c) against the in-memory
 * directory (fake/fake_directory.h): what prepare decides, the pipelined
 * creation and its per-site failures, undo, the recovery helpers and the
 * secrets file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmsg.h"

#include "fake/fake_directory.h"
#include "ldap/password.h"
#include "provision/accounts.h"
#include "testutil.h"

#include <errno.h>
#include <ldap.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIND_ENV "PROVISION_TEST_BIND_PW"

static char tmp[64];
static char *secrets;
static char *groups_buf[2];
static char *adopt_buf[3];
static char *wait_buf[3];
static struct conf conf;
static struct diag msgs;
static struct changes changes;
static int handles_before;

static void conf_reset(void)
{
    memset(&conf, 0, sizeof conf);
    conf.path = (char *)"/etc/provision/test.ini";
    conf.netbios_domain = (char *)"LAB";
    struct conf_directory *d = &conf.dir;
    d->configured = true;
    d->uri = (char *)"ldaps://dc01.lab.test";
    d->bind_dn = (char *)"CN=provision,CN=Users,DC=lab,DC=test";
    d->password_env = (char *)BIND_ENV;
    d->base_dn = (char *)FAKE_DIR_DEFAULT_BASE;
    d->upn_suffix = (char *)"lab.test";
    d->secrets_file = secrets;
    d->timeout_seconds = 5;
    d->groups = groups_buf;
    d->n_groups = 0;
    d->adopt_groups = adopt_buf;
    d->n_adopt_groups = 0;
    d->wait_for = wait_buf;
    d->n_wait_for = 0;
    d->wait_timeout_seconds = 2;
}

static int setup(void **st)
{
    (void)st;
    diag_init(&msgs);
    changes_init(&changes);
    snprintf(tmp, sizeof tmp, "/tmp/provision-accounts-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    secrets = xasprintf("%s/secrets", tmp);
    assert_true(strncmp(secrets, "/tmp/provision-accounts-", 24) == 0);
    setenv(BIND_ENV, "bind-secret", 1);
    fake_dir_reset();
    handles_before = fake_dir_open_handles();
    conf_reset();
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char *cmd = xasprintf("rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(secrets);
    secrets = NULL;
    diag_free(&msgs);
    changes_free(&changes);
    /* every run the test opened was closed */
    assert_int_equal(fake_dir_open_handles(), handles_before);
    return 0;
}

#define assert_quiet(d)                                                                            \
    do {                                                                                           \
        if ((d)->count) {                                                                          \
            dump(d);                                                                               \
            fail_msg("unexpected messages");                                                       \
        }                                                                                          \
    } while (0)

/* The fields of a site model that accounts.c reads. */
static void model(struct site_model *m, const char *site, const char *sam)
{
    memset(m, 0, sizeof *m);
    m->name = xstrdup(site);
    m->origin = xstrdup("/etc/provision/sites.ini:3");
    m->template_name = xstrdup("ad-identity");
    m->identity = IDENTITY_ACCOUNT;
    m->account_name = xstrdup(sam);
    m->account_ou = xstrdup("OU=Sites");
    m->account_description = xasprintf("IIS identity for %s", site);
}

static void model_free(struct site_model *m)
{
    free(m->name);
    free(m->origin);
    free(m->template_name);
    free(m->account_name);
    free(m->account_ou);
    free(m->account_description);
    memset(m, 0, sizeof *m);
}

static struct account_run *open_run(void)
{
    struct account_run *run = accounts_open(&conf, &msgs, NULL);
    if (!run)
        dump(&msgs);
    assert_non_null(run);
    return run;
}

static const struct change *find_change(char op, const char *object)
{
    for (size_t i = 0; i < changes.count; i++)
        if (changes.items[i].op == op && !strcmp(changes.items[i].kind, "account") &&
            !strcmp(changes.items[i].object, object))
            return &changes.items[i];
    return NULL;
}

static const struct change_attr *find_attr(const struct change *ch, const char *name)
{
    for (size_t i = 0; ch && i < ch->n_attrs; i++)
        if (!strcmp(ch->attrs[i].name, name))
            return &ch->attrs[i];
    return NULL;
}

/* ------------------------------------------------------------------ open */

/* accounts_prepare, then the password that executing the plan makes. */
static int prepare_with_password(struct account_run *run, const struct site_model *m, bool has_pw,
                                 bool rotate, struct account_step *step, struct changes *out,
                                 struct diag *d)
{
    int rc = accounts_prepare(run, m, has_pw, rotate, step, out, d);
    if (rc == 0 && accounts_new_password(run, m, step, d) < 0)
        return -1;
    return rc;
}

static void test_open_needs_directory_section(void **st)
{
    (void)st;
    conf.dir.configured = false;
    assert_null(accounts_open(&conf, &msgs, NULL));
    assert_said(&msgs, "/etc/provision/test.ini", "[directory]");
    assert_int_equal(fake_dir_calls(FAKE_FN_OPEN), 0);
}

static void test_open_reports_bind_failure_and_warning(void **st)
{
    (void)st;
    fake_dir_fail_next(FAKE_OP_BIND, 1);
    assert_null(accounts_open(&conf, &msgs, NULL));
    assert_said(&msgs, "cannot bind as", conf.dir.bind_dn, "dc01.lab.test",
                "wrong user name or password");
    diag_free(&msgs);
    /* the password comes from the environment variable */
    unsetenv(BIND_ENV);
    assert_null(accounts_open(&conf, &msgs, NULL));
    assert_said(&msgs, BIND_ENV, "is not set");
    setenv(BIND_ENV, "bind-secret", 1);
    diag_free(&msgs);
    /* tls_insecure: connected, with a warning in notes */
    conf.dir.tls_insecure = true;
    struct diag notes;
    diag_init(&notes);
    struct account_run *run = accounts_open(&conf, &msgs, &notes);
    assert_non_null(run);
    assert_quiet(&msgs);
    assert_int_equal(notes.count, 1);
    assert_said(&notes, "warning: ", "certificate checks are OFF", "dc01.lab.test");
    accounts_close(run);
    diag_free(&notes);
}

/* ------------------------------------------------------------------ prepare */

static void test_prepare_create_when_absent(void **st)
{
    (void)st;
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "shop.example.com", "IUSR_shop");
    struct account_step step;
    assert_int_equal(prepare_with_password(run, &m, false, false, &step, &changes, &msgs), 0);
    assert_quiet(&msgs);
    assert_int_equal(step.action, ACCOUNT_CREATE);
    assert_false(step.done);
    assert_non_null(step.password);
    assert_int_equal(strlen(step.password), PASSWORD_DEFAULT_LEN);
    assert_true(password_ad_complex(step.password, "IUSR_shop", "IUSR_shop"));
    const struct change *ch = find_change('+', "IUSR_shop");
    assert_non_null(ch);
    assert_int_equal(changes.count, 1);
    const struct change_attr *upn = find_attr(ch, "userPrincipalName");
    assert_non_null(upn);
    assert_string_equal(upn->new_value, "IUSR_shop@lab.test");
    assert_string_equal(find_attr(ch, "ou")->new_value, "OU=Sites");
    const struct change_attr *pw = find_attr(ch, "password");
    assert_non_null(pw);
    assert_true(pw->secret);
    assert_null(pw->new_value);
    /* deciding sends no add */
    assert_int_equal(fake_dir_ops(FAKE_OP_SEARCH), 1);
    assert_int_equal(fake_dir_ops(FAKE_OP_ADD), 0);
    assert_false(fake_dir_exists("IUSR_shop"));
    account_step_free(&step);

    /* a dry run generates no password */
    assert_int_equal(accounts_prepare(run, &m, false, false, &step, &changes, &msgs), 0);
    assert_int_equal(step.action, ACCOUNT_CREATE);
    assert_null(step.password);
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
}

static void test_prepare_keep_marked_same_site(void **st)
{
    (void)st;
    const char *dn = fake_dir_add_marked("IUSR_shop", "shop.example.com");
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "SHOP.Example.com", "iusr_SHOP"); /* names compare case-insensitively */
    struct account_step step;
    assert_int_equal(prepare_with_password(run, &m, true, false, &step, &changes, &msgs), 0);
    assert_quiet(&msgs);
    assert_int_equal(step.action, ACCOUNT_KEEP);
    assert_null(step.password);
    assert_int_equal(changes.count, 0);
    assert_string_equal(step.account.dn, dn);
    assert_string_equal(step.account.sid, fake_dir_sid("IUSR_shop"));
    assert_true(step.account.managed);
    assert_false(step.account.adopted);
    /* executing a KEEP does nothing */
    assert_int_equal(accounts_execute(run, &m, &step, &msgs), 0);
    assert_int_equal(fake_dir_ops(FAKE_OP_PASSWORD) + fake_dir_ops(FAKE_OP_ADD), 0);
    assert_string_equal(fake_dir_password("IUSR_shop"), "Old-Pass-123");
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
}

static void test_prepare_rotate(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_shop", "shop.example.com");
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "shop.example.com", "IUSR_shop");
    struct account_step step;
    /* the pool stores no password for it */
    assert_int_equal(prepare_with_password(run, &m, false, false, &step, &changes, &msgs), 0);
    assert_quiet(&msgs);
    assert_int_equal(step.action, ACCOUNT_ROTATE);
    assert_non_null(step.password);
    const struct change *ch = find_change('~', "IUSR_shop");
    assert_non_null(ch);
    assert_non_null(ch->note);
    assert_non_null(strstr(ch->note, "the pool stores no password"));
    assert_true(find_attr(ch, "password")->secret);
    /* prepare does not touch the directory; execute sets the password */
    assert_string_equal(fake_dir_password("IUSR_shop"), "Old-Pass-123");
    assert_int_equal(accounts_execute(run, &m, &step, &msgs), 0);
    assert_true(step.done);
    assert_int_equal(fake_dir_ops(FAKE_OP_PASSWORD), 1);
    assert_string_equal(fake_dir_password("IUSR_shop"), step.password);
    /* undo never deletes a rotated account */
    assert_int_equal(accounts_undo(run, &step, &msgs), 0);
    assert_true(fake_dir_exists("IUSR_shop"));
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 0);
    account_step_free(&step);

    /* on request, even when the pool has one */
    changes_free(&changes);
    changes_init(&changes);
    assert_int_equal(prepare_with_password(run, &m, true, true, &step, &changes, &msgs), 0);
    assert_int_equal(step.action, ACCOUNT_ROTATE);
    ch = find_change('~', "IUSR_shop");
    assert_non_null(ch);
    assert_string_equal(ch->note, "rotated on request");
    /* a failing password set is an error naming the account */
    fake_dir_fail_next(FAKE_OP_PASSWORD, 1);
    assert_int_equal(accounts_execute(run, &m, &step, &msgs), -1);
    assert_false(step.done);
    assert_said(&msgs, "cannot set the password of", "CN=IUSR_shop", "password policy");
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
}

static void test_prepare_refuses_other_sites_account(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_shop", "other.example.com");
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "shop.example.com", "IUSR_shop");
    struct account_step step;
    assert_int_equal(prepare_with_password(run, &m, false, false, &step, &changes, &msgs), -1);
    assert_said(&msgs, "/etc/provision/sites.ini:3", "'shop.example.com'", "IUSR_shop",
                "belongs to site 'other.example.com'");
    assert_int_equal(changes.count, 0);
    assert_null(step.password);
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
}

static void test_prepare_unmarked_needs_adopt(void **st)
{
    (void)st;
    fake_dir_add_unmarked("IUSR_shop");
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "shop.example.com", "IUSR_shop");
    struct account_step step;
    assert_int_equal(prepare_with_password(run, &m, true, false, &step, &changes, &msgs), -1);
    assert_said(&msgs, "IUSR_shop", "not created by provision", "adopt_unmarked = true");
    account_step_free(&step);
    accounts_close(run);

    conf.dir.adopt_unmarked = true;
    diag_free(&msgs);
    run = open_run();
    assert_int_equal(prepare_with_password(run, &m, true, false, &step, &changes, &msgs), 0);
    assert_quiet(&msgs);
    assert_int_equal(step.action, ACCOUNT_KEEP);
    assert_true(step.account.adopted);
    assert_false(step.account.managed);
    /* destroy never deletes an adopted account */
    struct account_step rm;
    assert_int_equal(accounts_prepare_removal(run, &m, &rm, &changes, &msgs), 0);
    assert_int_equal(rm.action, ACCOUNT_KEEP);
    assert_int_equal(accounts_remove(run, &rm, &msgs), 0);
    assert_true(fake_dir_exists("IUSR_shop"));
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 0);
    account_step_free(&rm);
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
}

static void test_prepare_reports_directory_errors(void **st)
{
    (void)st;
    fake_dir_add_group("IUSR_grp");
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "shop.example.com", "IUSR_shop");
    struct account_step step;
    fake_dir_fail_next(FAKE_OP_SEARCH, 1);
    assert_int_equal(prepare_with_password(run, &m, false, false, &step, &changes, &msgs), -1);
    assert_said(&msgs, "cannot look up account IUSR_shop", "dc01.lab.test");
    account_step_free(&step);
    model_free(&m);
    /* a name held by a group */
    diag_free(&msgs);
    model(&m, "grp.example.com", "IUSR_grp");
    assert_int_equal(prepare_with_password(run, &m, false, false, &step, &changes, &msgs), -1);
    assert_said(&msgs, "IUSR_grp", "belongs to a group", "not to a user account");
    assert_int_equal(changes.count, 0);
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
}

static void test_prefetch_one_search(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_a", "a.example");
    fake_dir_add_marked("IUSR_b", "other.example");
    struct account_run *run = open_run();
    struct site_model ms[3];
    model(&ms[0], "a.example", "IUSR_a");
    model(&ms[1], "b.example", "IUSR_b");
    model(&ms[2], "c.example", "IUSR_c");
    const struct site_model *mp[3] = {&ms[0], &ms[1], &ms[2]};
    accounts_prefetch(run, mp, 3);
    assert_int_equal(fake_dir_calls(FAKE_FN_FIND_MANY), 1);
    assert_int_equal(fake_dir_ops(FAKE_OP_SEARCH), 1);
    struct account_step steps[3];
    assert_int_equal(prepare_with_password(run, &ms[0], true, false, &steps[0], &changes, &msgs),
                     0);
    assert_int_equal(steps[0].action, ACCOUNT_KEEP);
    assert_string_equal(steps[0].account.dn, fake_dir_dn("IUSR_a"));
    assert_int_equal(prepare_with_password(run, &ms[1], true, false, &steps[1], &changes, &msgs),
                     -1);
    assert_said(&msgs, "IUSR_b", "belongs to site 'other.example'");
    assert_int_equal(prepare_with_password(run, &ms[2], true, false, &steps[2], &changes, &msgs),
                     0);
    assert_int_equal(steps[2].action, ACCOUNT_CREATE);
    /* the answers came from the prefetch */
    assert_int_equal(fake_dir_ops(FAKE_OP_SEARCH), 1);
    assert_int_equal(fake_dir_calls(FAKE_FN_FIND), 0);
    for (int i = 0; i < 3; i++)
        account_step_free(&steps[i]);
    accounts_close(run);

    /* a failed batch search: nothing is kept, each site looks itself up */
    fake_dir_reset();
    run = open_run();
    fake_dir_fail_next(FAKE_OP_SEARCH, 1);
    accounts_prefetch(run, mp, 3);
    assert_int_equal(fake_dir_ops(FAKE_OP_SEARCH), 1);
    diag_free(&msgs);
    assert_int_equal(prepare_with_password(run, &ms[0], true, false, &steps[0], &changes, &msgs),
                     0);
    assert_int_equal(steps[0].action, ACCOUNT_CREATE);
    assert_int_equal(fake_dir_ops(FAKE_OP_SEARCH), 2);
    assert_int_equal(fake_dir_calls(FAKE_FN_FIND), 1);
    assert_quiet(&msgs);
    account_step_free(&steps[0]);
    accounts_close(run);
    for (int i = 0; i < 3; i++)
        model_free(&ms[i]);
}

/* ------------------------------------------------------------------ execute */

#define N_SITES 4

struct batch {
    struct site_model m[N_SITES];
    const struct site_model *mp[N_SITES];
    struct account_step s[N_SITES];
    struct account_step *sp[N_SITES];
    struct diag e[N_SITES];
    struct diag *ep[N_SITES];
    bool failed[N_SITES];
};

static void batch_prepare(struct account_run *run, struct batch *b)
{
    static const char *const sites[N_SITES] = {"a.example", "b.example", "c.example", "d.example"};
    static const char *const sams[N_SITES] = {"IUSR_a", "IUSR_b", "IUSR_c", "IUSR_d"};
    for (int i = 0; i < N_SITES; i++) {
        model(&b->m[i], sites[i], sams[i]);
        b->mp[i] = &b->m[i];
        b->sp[i] = &b->s[i];
        diag_init(&b->e[i]);
        b->ep[i] = &b->e[i];
        b->failed[i] = false;
    }
    accounts_prefetch(run, b->mp, N_SITES);
    for (int i = 0; i < N_SITES; i++)
        b->failed[i] =
            prepare_with_password(run, &b->m[i], false, false, &b->s[i], &changes, &b->e[i]) < 0;
}

static void batch_free(struct batch *b)
{
    for (int i = 0; i < N_SITES; i++) {
        account_step_free(&b->s[i]);
        diag_free(&b->e[i]);
        model_free(&b->m[i]);
    }
}

static void test_execute_all_pipelined(void **st)
{
    (void)st;
    fake_dir_add_group("IIS_Sites");
    groups_buf[0] = (char *)"IIS_Sites";
    conf.dir.n_groups = 1;
    fake_dir_add_marked("IUSR_d", "d.example"); /* exists: KEEP (the pool has none: ROTATE) */
    struct account_run *run = open_run();
    struct batch b;
    batch_prepare(run, &b);
    for (int i = 0; i < 3; i++)
        assert_int_equal(b.s[i].action, ACCOUNT_CREATE);
    assert_int_equal(b.s[3].action, ACCOUNT_ROTATE);
    accounts_execute_all(run, b.mp, b.sp, b.ep, &msgs, b.failed, N_SITES);
    /* one batch, three adds; the rotation waits for the configuration */
    assert_int_equal(fake_dir_calls(FAKE_FN_CREATE_MANY), 1);
    assert_int_equal(fake_dir_calls(FAKE_FN_CREATE), 0);
    assert_int_equal(fake_dir_ops(FAKE_OP_ADD), 3);
    assert_int_equal(fake_dir_ops(FAKE_OP_GROUP), 3);
    assert_int_equal(fake_dir_ops(FAKE_OP_PASSWORD), 0);
    for (int i = 0; i < 3; i++) {
        const char *sam = b.m[i].account_name;
        assert_false(b.failed[i]);
        assert_quiet(&b.e[i]);
        assert_true(b.s[i].done);
        assert_true(fake_dir_exists(sam));
        assert_string_equal(fake_dir_password(sam), b.s[i].password);
        char *marker = xasprintf("provision:site=%s", b.m[i].name);
        assert_string_equal(fake_dir_marker(sam), marker);
        free(marker);
        assert_string_equal(fake_dir_description(sam), b.m[i].account_description);
        assert_true(fake_dir_is_member(sam, "IIS_Sites"));
        /* the step holds what the directory made */
        assert_string_equal(b.s[i].account.dn, fake_dir_dn(sam));
        assert_string_equal(b.s[i].account.sid, fake_dir_sid(sam));
        assert_string_equal(b.s[i].account.managed_site, b.m[i].name);
        assert_string_equal(b.s[i].account.upn, fake_dir_upn(sam));
    }
    /* RIDs in order of creation, after the two seeded objects (1100, 1101) */
    assert_string_equal(fake_dir_sid("IUSR_a"), "S-1-5-21-1-2-3-1102");
    assert_string_equal(fake_dir_sid("IUSR_c"), "S-1-5-21-1-2-3-1104");
    assert_string_equal(fake_dir_dn("IUSR_a"), "CN=IUSR_a,OU=Sites,DC=lab,DC=test");
    assert_false(b.s[3].done);
    assert_string_equal(fake_dir_password("IUSR_d"), "Old-Pass-123");
    /* the secrets file gets the created ones (the rotation is not done yet) */
    assert_int_equal(accounts_save_secrets(&conf, b.mp, b.sp, N_SITES, &msgs), 0);
    char *text;
    size_t len;
    assert_int_equal(read_file(secrets, &text, &len), 0);
    char *want = xasprintf("IUSR_a\ta.example\t%s\nIUSR_b\tb.example\t%s\nIUSR_c\tc.example\t%s\n",
                           b.s[0].password, b.s[1].password, b.s[2].password);
    assert_string_equal(text, want);
    free(want);
    free(text);
    batch_free(&b);
    accounts_close(run);
}

static void test_execute_all_one_add_fails(void **st)
{
    (void)st;
    struct account_run *run = open_run();
    struct batch b;
    batch_prepare(run, &b);
    fake_dir_fail_account(FAKE_OP_ADD, "IUSR_b");
    b.failed[3] = true; /* failed before: skipped */
    diag_add(&b.e[3], "an IIS rule");
    accounts_execute_all(run, b.mp, b.sp, b.ep, &msgs, b.failed, N_SITES);
    assert_int_equal(fake_dir_ops(FAKE_OP_ADD), 3);
    assert_false(fake_dir_exists("IUSR_d"));
    assert_true(b.failed[1]);
    assert_false(b.s[1].done);
    assert_false(fake_dir_exists("IUSR_b"));
    assert_int_equal(b.e[1].count, 1);
    assert_said(&b.e[1], "cannot create account IUSR_b", "CN=IUSR_b,OU=Sites,DC=lab,DC=test",
                "dc01.lab.test", "insufficient access");
    /* the others are done, and hear nothing of it */
    for (int i = 0; i < 3; i += 2) {
        assert_false(b.failed[i]);
        assert_true(b.s[i].done);
        assert_true(fake_dir_exists(b.m[i].account_name));
        assert_quiet(&b.e[i]);
    }
    assert_int_equal(b.e[3].count, 1); /* only its own earlier message */
    batch_free(&b);
    accounts_close(run);
}

/* Each failed site gets the messages naming its own account, also when
 * one account's name starts with another's. */
static void test_execute_all_each_site_its_own_message(void **st)
{
    (void)st;
    static const char *const sams[3] = {"IUSR_s", "IUSR_s2", "IUSR_s-3"};
    struct account_run *run = open_run();
    struct site_model m[3];
    const struct site_model *mp[3];
    struct account_step s[3], *sp[3];
    struct diag e[3], *ep[3];
    bool failed[3] = {false, false, false};
    for (int i = 0; i < 3; i++) {
        char site[32];
        snprintf(site, sizeof site, "s%d.example", i);
        model(&m[i], site, sams[i]);
        mp[i] = &m[i];
        sp[i] = &s[i];
        diag_init(&e[i]);
        ep[i] = &e[i];
        assert_int_equal(prepare_with_password(run, &m[i], false, false, &s[i], &changes, &e[i]),
                         0);
        fake_dir_fail_account(FAKE_OP_ADD, sams[i]);
    }
    accounts_execute_all(run, mp, sp, ep, &msgs, failed, 3);
    for (int i = 0; i < 3; i++) {
        assert_true(failed[i]);
        if (e[i].count != 1)
            dump(&e[i]);
        assert_int_equal(e[i].count, 1);
        char *own = xasprintf("cannot create account %s (CN=%s,", sams[i], sams[i]);
        assert_said(&e[i], own);
        free(own);
        account_step_free(&s[i]);
        diag_free(&e[i]);
        model_free(&m[i]);
    }
    accounts_close(run);
}

static void test_execute_all_message_naming_no_one(void **st)
{
    (void)st;
    groups_buf[0] = (char *)"No_Such_Group";
    conf.dir.n_groups = 1;
    struct account_run *run = open_run();
    struct batch b;
    batch_prepare(run, &b);
    accounts_execute_all(run, b.mp, b.sp, b.ep, &msgs, b.failed, N_SITES);
    assert_int_equal(fake_dir_ops(FAKE_OP_ADD), 0);
    /* the batch's reason, once, for the run; each site points to it */
    assert_said(&msgs, "group No_Such_Group not found");
    assert_said(&msgs, "no account was created");
    for (int i = 0; i < N_SITES; i++) {
        assert_true(b.failed[i]);
        assert_false(b.s[i].done);
        assert_said(&b.e[i], "was not made (see the directory's error above)");
        assert_false(said(&b.e[i], "No_Such_Group", (const char *)NULL));
    }
    assert_int_equal(fake_dir_count(), 0);
    batch_free(&b);
    accounts_close(run);
}

static void test_execute_all_account_appeared(void **st)
{
    (void)st;
    struct account_run *run = open_run();
    struct batch b;
    batch_prepare(run, &b);
    /* made by someone else between the look-up and the add */
    fake_dir_add_marked("IUSR_c", "c.example");
    accounts_execute_all(run, b.mp, b.sp, b.ep, &msgs, b.failed, N_SITES);
    assert_true(b.failed[2]);
    assert_false(b.s[2].done);
    assert_said(&b.e[2], "IUSR_c", "appeared while this run was creating it");
    assert_false(b.failed[0]);
    assert_quiet(&b.e[0]);
    /* undo deletes only what this run created */
    assert_int_equal(accounts_undo(run, &b.s[2], &msgs), 0);
    assert_true(fake_dir_exists("IUSR_c"));
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 0);
    assert_int_equal(accounts_undo(run, &b.s[0], &msgs), 0);
    assert_false(fake_dir_exists("IUSR_a"));
    assert_false(b.s[0].done);
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 1);
    assert_said(&msgs, "account IUSR_a, created in this run, was deleted again");
    batch_free(&b);
    accounts_close(run);
}

static void test_execute_single_create_and_undo_failure(void **st)
{
    (void)st;
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "shop.example.com", "IUSR_shop");
    struct account_step step;
    assert_int_equal(prepare_with_password(run, &m, false, false, &step, &changes, &msgs), 0);
    assert_int_equal(accounts_execute(run, &m, &step, &msgs), 0);
    assert_quiet(&msgs);
    assert_true(step.done);
    assert_int_equal(fake_dir_calls(FAKE_FN_CREATE), 1);
    assert_string_equal(fake_dir_password("IUSR_shop"), step.password);
    assert_string_equal(fake_dir_marker("IUSR_shop"), "provision:site=shop.example.com");
    /* the delete fails: said, and the account is still there */
    fake_dir_fail_next(FAKE_OP_DELETE, 1);
    assert_int_equal(accounts_undo(run, &step, &msgs), -1);
    assert_said(&msgs, "cannot delete", "CN=IUSR_shop", "insufficient access");
    assert_said(&msgs, "IUSR_shop", "could not be deleted now", "recovery");
    assert_true(fake_dir_exists("IUSR_shop"));
    assert_true(step.done);
    /* again, now it works */
    diag_free(&msgs);
    assert_int_equal(accounts_undo(run, &step, &msgs), 0);
    assert_false(fake_dir_exists("IUSR_shop"));
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 2);
    /* undoing twice deletes nothing more */
    assert_int_equal(accounts_undo(run, &step, &msgs), 0);
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 2);
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
}

static void test_execute_after_lost_connection(void **st)
{
    (void)st;
    struct account_run *run = open_run();
    struct batch b;
    batch_prepare(run, &b);
    fake_dir_fail_next_with(FAKE_OP_ADD, 1, LDAP_SERVER_DOWN, NULL);
    accounts_execute_all(run, b.mp, b.sp, b.ep, &msgs, b.failed, N_SITES);
    assert_int_equal(fake_dir_ops(FAKE_OP_ADD), 1);
    for (int i = 0; i < N_SITES; i++)
        assert_true(b.failed[i]);
    assert_said(&b.e[0], "IUSR_a", "may or may not have been created");
    /* "not attempted" names no account: said once, for the run; each site
     * not made points to it */
    assert_said(&msgs, "3 account(s) not attempted");
    for (int i = 1; i < N_SITES; i++) {
        assert_said(&b.e[i], "was not made (see the directory's error above)");
        assert_false(said(&b.e[i], "not attempted", (const char *)NULL));
    }
    /* the handle is dead from now on */
    assert_int_equal(accounts_set_password(run, "IUSR_a", "Xy-2345678901", &msgs), -1);
    assert_said(&msgs, "the connection was lost earlier");
    batch_free(&b);
    accounts_close(run);
}

/* ------------------------------------------------------------------ removal, recovery */

static void test_prepare_removal_and_remove(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_a", "a.example");
    fake_dir_add_marked("IUSR_b", "other.example");
    struct account_run *run = open_run();
    struct site_model ma, mb, mc;
    model(&ma, "a.example", "IUSR_a");
    model(&mb, "b.example", "IUSR_b");
    model(&mc, "c.example", "IUSR_c");
    struct account_step sa, sb, sc;
    assert_int_equal(accounts_prepare_removal(run, &ma, &sa, &changes, &msgs), 1);
    const struct change *ch = find_change('-', "IUSR_a");
    assert_non_null(ch);
    assert_string_equal(find_attr(ch, "dn")->old_value, fake_dir_dn("IUSR_a"));
    assert_int_equal(accounts_prepare_removal(run, &mb, &sb, &changes, &msgs), 0);
    assert_said(&msgs, "IUSR_b", "belongs to site 'other.example'", "kept");
    assert_null(find_change('-', "IUSR_b"));
    assert_int_equal(accounts_prepare_removal(run, &mc, &sc, &changes, &msgs), 0);
    assert_int_equal(changes.count, 1);
    assert_int_equal(accounts_remove(run, &sa, &msgs), 0);
    assert_int_equal(accounts_remove(run, &sb, &msgs), 0);
    assert_int_equal(accounts_remove(run, &sc, &msgs), 0);
    assert_false(fake_dir_exists("IUSR_a"));
    assert_true(fake_dir_exists("IUSR_b"));
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 1);
    account_step_free(&sa);
    account_step_free(&sb);
    account_step_free(&sc);
    accounts_close(run);
    model_free(&ma);
    model_free(&mb);
    model_free(&mc);
}

static void test_delete_marked_only_that_sites(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_a", "a.example");
    fake_dir_add_unmarked("IUSR_u");
    fake_dir_add_marked("IUSR_o", "other.example");
    fake_dir_add_marked("IUSR_n", NULL); /* a marker naming no site */
    struct account_run *run = open_run();
    assert_int_equal(accounts_delete_marked(run, "IUSR_u", "u.example", &msgs), 0);
    assert_int_equal(accounts_delete_marked(run, "IUSR_o", "a.example", &msgs), 0);
    assert_int_equal(accounts_delete_marked(run, "IUSR_n", "n.example", &msgs), 0);
    assert_int_equal(accounts_delete_marked(run, "IUSR_x", "x.example", &msgs), 0); /* absent */
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 0);
    assert_true(fake_dir_exists("IUSR_u"));
    assert_true(fake_dir_exists("IUSR_o"));
    assert_true(fake_dir_exists("IUSR_n"));
    assert_int_equal(accounts_delete_marked(run, "IUSR_a", "A.EXAMPLE", &msgs), 1);
    assert_false(fake_dir_exists("IUSR_a"));
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 1);
    /* again: nothing left (recovery may run twice) */
    assert_int_equal(accounts_delete_marked(run, "IUSR_a", "a.example", &msgs), 0);
    assert_quiet(&msgs);
    /* a look-up error is an error */
    fake_dir_fail_next(FAKE_OP_SEARCH, 1);
    assert_int_equal(accounts_delete_marked(run, "IUSR_o", "other.example", &msgs), -1);
    assert_said(&msgs, "cannot look up account IUSR_o");
    assert_true(fake_dir_exists("IUSR_o"));
    accounts_close(run);

    /* with adopt_unmarked the unmarked one is still never deleted */
    conf.dir.adopt_unmarked = true;
    run = open_run();
    assert_int_equal(accounts_delete_marked(run, "IUSR_u", "u.example", &msgs), 0);
    assert_true(fake_dir_exists("IUSR_u"));
    accounts_close(run);
}

static void test_set_password(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_a", "a.example");
    fake_dir_add_unmarked("IUSR_u");
    struct account_run *run = open_run();
    const char *pw = "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N";
    assert_int_equal(accounts_set_password(run, "IUSR_a", pw, &msgs), 0);
    assert_quiet(&msgs);
    assert_string_equal(fake_dir_password("IUSR_a"), pw);
    assert_int_equal(fake_dir_ops(FAKE_OP_PASSWORD), 1);
    /* absent */
    assert_int_equal(accounts_set_password(run, "IUSR_x", pw, &msgs), -1);
    assert_said(&msgs, "account IUSR_x: not found");
    /* not ours */
    assert_int_equal(accounts_set_password(run, "IUSR_u", pw, &msgs), -1);
    assert_said(&msgs, "refusing to set the password", "CN=IUSR_u");
    assert_string_equal(fake_dir_password("IUSR_u"), "Old-Pass-123");
    /* refused by the domain's policy */
    assert_int_equal(accounts_set_password(run, "IUSR_a", "short", &msgs), -1);
    assert_said(&msgs, "cannot set the password of", "password policy");
    assert_string_equal(fake_dir_password("IUSR_a"), pw);
    accounts_close(run);
}

static void test_lookup_sid(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_a", "a.example");
    struct account_run *run = open_run();
    char *sid = NULL;
    assert_int_equal(accounts_lookup_sid(run, "LAB\\IUSR_a", &sid, &msgs), 0);
    assert_string_equal(sid, fake_dir_sid("IUSR_a"));
    free(sid);
    sid = NULL;
    assert_int_equal(accounts_lookup_sid(run, "iusr_a@lab.test", &sid, &msgs), 0);
    assert_string_equal(sid, "S-1-5-21-1-2-3-1100");
    free(sid);
    sid = NULL;
    assert_int_equal(accounts_lookup_sid(run, "LAB\\nobody", &sid, &msgs), -1);
    assert_null(sid);
    assert_said(&msgs, "no user 'LAB\\nobody'");
    accounts_close(run);
}

/* ------------------------------------------------------------------ secrets file */

static char *slurp(const char *path)
{
    char *text;
    size_t len;
    if (read_file(path, &text, &len) < 0)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    return text;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_secret_lines(void **st)
{
    (void)st;
    mode_t old = umask(0);
    const char *sams[] = {"IUSR_a", "IUSR_ab"};
    const char *sites[] = {"a.example", "ab.example"};
    const char *pws[] = {"pw-a-1", "pw-ab-1"};
    assert_int_equal(accounts_save_secret_lines(&conf, sams, sites, pws, 2, &msgs), 0);
    umask(old);
    assert_quiet(&msgs);
    assert_int_equal(mode_of(secrets), 0600);
    char *text = slurp(secrets);
    assert_string_equal(text, "IUSR_a\ta.example\tpw-a-1\nIUSR_ab\tab.example\tpw-ab-1\n");
    free(text);
    /* IUSR_a again (replaced, not its prefix-sharing neighbour), IUSR_c new */
    const char *sams2[] = {"IUSR_a", "IUSR_c"};
    const char *sites2[] = {"a.example", "c.example"};
    const char *pws2[] = {"pw-a-2", "pw-c-1"};
    assert_int_equal(accounts_save_secret_lines(&conf, sams2, sites2, pws2, 2, &msgs), 0);
    text = slurp(secrets);
    assert_string_equal(text, "IUSR_ab\tab.example\tpw-ab-1\nIUSR_a\ta.example\tpw-a-2\n"
                              "IUSR_c\tc.example\tpw-c-1\n");
    free(text);
    assert_int_equal(mode_of(secrets), 0600);
    /* no temporary file is left next to it */
    char *cmd = xasprintf("test $(ls -A '%s' | wc -l) -eq 1", tmp);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_secret_lines_refuses_open_file(void **st)
{
    (void)st;
    FILE *f = fopen(secrets, "w");
    assert_non_null(f);
    fputs("IUSR_a\ta.example\told\n", f);
    fclose(f);
    const char *sams[] = {"IUSR_a"};
    const char *sites[] = {"a.example"};
    const char *pws[] = {"new"};
    const unsigned modes[] = {0640, 0604, 0660, 0610};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        assert_int_equal(chmod(secrets, modes[i]), 0);
        diag_free(&msgs);
        assert_int_equal(accounts_save_secret_lines(&conf, sams, sites, pws, 1, &msgs), -1);
        assert_said(&msgs, secrets, "chmod 600", "not saved");
        char *text = slurp(secrets);
        assert_string_equal(text, "IUSR_a\ta.example\told\n");
        free(text);
        assert_int_equal(mode_of(secrets), modes[i]);
    }
    /* no secrets_file: nothing to do */
    conf.dir.secrets_file = NULL;
    diag_free(&msgs);
    assert_int_equal(accounts_save_secret_lines(&conf, sams, sites, pws, 1, &msgs), 0);
    assert_quiet(&msgs);
}

/* ------------------------------------------------------------------ adoption */

#define DOMAIN_ADMINS "S-1-5-21-1-2-3-512"

/* accounts_prepare of site adopt.example.com for an existing account sam,
 * adopt_unmarked on. 0 adopted, -1 refused; messages in msgs. */
static int prepare_adopt(const char *sam, const char *ou)
{
    conf.dir.adopt_unmarked = true;
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "adopt.example.com", sam);
    if (ou) {
        free(m.account_ou);
        m.account_ou = xstrdup(ou);
    }
    struct account_step step;
    int rc = prepare_with_password(run, &m, false, false, &step, &changes, &msgs);
    if (rc == 0) {
        assert_true(step.account.adopted);
        assert_int_equal(step.action, ACCOUNT_ROTATE);
    } else {
        assert_null(step.password);
    }
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
    return rc;
}

static void test_adopt_plain_user_in_ou(void **st)
{
    (void)st;
    /* Domain Users (its primary group) and Builtin Users through it */
    fake_dir_add_group_sid("Domain Users", "S-1-5-21-1-2-3-513");
    fake_dir_add_group_sid("Users", "S-1-5-32-545");
    fake_dir_add_member("Users", "Domain Users");
    fake_dir_add_unmarked("IUSR_plain");
    char *token = fake_dir_token_groups("IUSR_plain");
    assert_string_equal(token, "S-1-5-21-1-2-3-513 S-1-5-32-545");
    free(token);
    assert_int_equal(prepare_adopt("IUSR_plain", NULL), 0);
    assert_quiet(&msgs);
    assert_non_null(find_change('~', "IUSR_plain"));
    assert_int_equal(fake_dir_calls(FAKE_FN_CHECK_ADOPTION), 1);
}

static void test_adopt_refuses_domain_admin(void **st)
{
    (void)st;
    const char *admins = fake_dir_add_group_sid("Domain Admins", DOMAIN_ADMINS);
    const char *dn = fake_dir_add_unmarked("IUSR_boss");
    fake_dir_add_member("Domain Admins", "IUSR_boss");
    assert_int_equal(prepare_adopt("IUSR_boss", NULL), -1);
    assert_said(&msgs, "/etc/provision/sites.ini:3", "site 'adopt.example.com'",
                "refusing to adopt account IUSR_boss", dn, "dc01.lab.test", admins, DOMAIN_ADMINS,
                "an administrative group: never adopted", "tokenGroups");
    assert_int_equal(changes.count, 0);
    /* naming Domain Admins in adopt_group does not make it acceptable */
    diag_free(&msgs);
    adopt_buf[0] = (char *)"Domain Admins";
    conf.dir.n_adopt_groups = 1;
    assert_int_equal(prepare_adopt("IUSR_boss", NULL), -1);
    assert_said(&msgs, "adopt_group Domain Admins", "administrative group", "remove it");
    /* the password is never reset, whatever asks (recovery's path too) */
    conf.dir.n_adopt_groups = 0;
    conf.dir.adopt_unmarked = true;
    struct account_run *run = open_run();
    diag_free(&msgs);
    assert_int_equal(accounts_set_password(run, "IUSR_boss", "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N", &msgs),
                     -1);
    assert_said(&msgs, "refusing to adopt account IUSR_boss", DOMAIN_ADMINS);
    assert_string_equal(fake_dir_password("IUSR_boss"), "Old-Pass-123");
    assert_int_equal(fake_dir_ops(FAKE_OP_PASSWORD), 0);
    accounts_close(run);
}

static void test_adopt_refuses_builtin_account(void **st)
{
    (void)st;
    const char *dn = fake_dir_add_unmarked("Administrator");
    fake_dir_set_rid("Administrator", 500);
    assert_int_equal(prepare_adopt("Administrator", NULL), -1);
    assert_said(&msgs, "refusing to adopt account Administrator", dn, "built-in account",
                "RID 500");
    diag_free(&msgs);
    fake_dir_add_unmarked("krbtgt");
    fake_dir_set_rid("krbtgt", 502);
    assert_int_equal(prepare_adopt("krbtgt", NULL), -1);
    assert_said(&msgs, "krbtgt", "RID 502");
}

static void test_adopt_refuses_computer_and_trust_accounts(void **st)
{
    (void)st;
    /* a computer: find already refuses the name, and so does the check */
    const char *web = fake_dir_add_computer("WEB01$");
    assert_int_equal(prepare_adopt("WEB01$", "CN=Computers"), -1);
    assert_said(&msgs, "WEB01$", "belongs to a computer");
    conf.dir.adopt_unmarked = true;
    struct account_run *run = open_run();
    struct dir_account acct = {.dn = (char *)web, .sam = (char *)"WEB01$"};
    diag_free(&msgs);
    /* the core's only door is accounts.c: reach the module through a
     * second handle, as the core would */
    struct dir_config cfg = {.uri = "ldaps://dc01.lab.test",
                             .bind_dn = "LAB\\provision",
                             .password_env = BIND_ENV,
                             .base_dn = FAKE_DIR_DEFAULT_BASE,
                             .adopt_unmarked = true};
    struct dir *dir;
    assert_int_equal(dir_open(&cfg, &dir, &msgs), 0);
    assert_int_equal(dir_check_adoption(dir, &acct, NULL, &msgs), 0);
    assert_said(&msgs, "refusing to adopt account WEB01$", web, "computer account");
    dir_close(dir);
    accounts_close(run);
    /* user objects whose userAccountControl makes them something else */
    static const struct {
        const char *sam;
        unsigned long uac;
        const char *why;
    } cases[] = {
        {"IUSR_ws", 0x1000, "WORKSTATION_TRUST_ACCOUNT"},
        {"IUSR_dc", 0x82000, "SERVER_TRUST_ACCOUNT"},
        {"IUSR_trust", 0x800, "INTERDOMAIN_TRUST_ACCOUNT"},
        {"IUSR_deleg", 0x80200, "TRUSTED_FOR_DELEGATION"},
        {"IUSR_s4u", 0x1000200, "TRUSTED_TO_AUTH_FOR_DELEGATION"},
        {"IUSR_rodc", 0x4001000, "WORKSTATION_TRUST_ACCOUNT"},
        {"IUSR_dup", 0x100, "TEMP_DUPLICATE_ACCOUNT"},
        {"IUSR_odd", 0x10000, "NORMAL_ACCOUNT is not set"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fake_dir_add_unmarked(cases[i].sam);
        fake_dir_set_uac(cases[i].sam, cases[i].uac);
        diag_free(&msgs);
        assert_int_equal(prepare_adopt(cases[i].sam, NULL), -1);
        assert_said(&msgs, "refusing to adopt account", cases[i].sam, cases[i].why);
    }
    /* a disabled ordinary account, password never expires: fine */
    fake_dir_add_unmarked("IUSR_off");
    fake_dir_set_uac("IUSR_off", 66050);
    diag_free(&msgs);
    assert_int_equal(prepare_adopt("IUSR_off", NULL), 0);
    assert_quiet(&msgs);
}

static void test_adopt_refuses_outside_ou(void **st)
{
    (void)st;
    const char *dn = fake_dir_add_user("IUSR_away", "OU=Other", NULL, "Old-Pass-123");
    assert_int_equal(prepare_adopt("IUSR_away", NULL), -1);
    assert_said(&msgs, "refusing to adopt account IUSR_away", dn, "OU=Other,DC=lab,DC=test",
                "not in the template's OU OU=Sites,DC=lab,DC=test");
    /* below the OU is not in it either */
    fake_dir_add_user("IUSR_deep", "OU=Deep,OU=Sites", NULL, "Old-Pass-123");
    diag_free(&msgs);
    assert_int_equal(prepare_adopt("IUSR_deep", NULL), -1);
    assert_said(&msgs, "IUSR_deep", "not in the template's OU");
    /* the same OU written absolute and in another case */
    fake_dir_add_unmarked("IUSR_here");
    diag_free(&msgs);
    assert_int_equal(prepare_adopt("IUSR_here", "ou=sites,dc=LAB,dc=test"), 0);
    assert_quiet(&msgs);
}

static void test_adopt_named_groups(void **st)
{
    (void)st;
    const char *pools = fake_dir_add_group("Web Pools");
    fake_dir_add_group("File Readers");
    fake_dir_add_member("File Readers", "Web Pools"); /* follows from Web Pools */
    fake_dir_add_unmarked("IUSR_pool");
    fake_dir_add_member("Web Pools", "IUSR_pool");
    /* not named: refused, naming the group */
    assert_int_equal(prepare_adopt("IUSR_pool", NULL), -1);
    assert_said(&msgs, "IUSR_pool", pools, "not in adopt_group");
    /* named (by name, or by a DN relative to base_dn): allowed, with what it implies */
    const char *names[] = {"Web Pools", "CN=Web Pools,CN=Users"};
    for (int i = 0; i < 2; i++) {
        adopt_buf[0] = (char *)names[i];
        conf.dir.n_adopt_groups = 1;
        diag_free(&msgs);
        assert_int_equal(prepare_adopt("IUSR_pool", NULL), 0);
        assert_quiet(&msgs);
    }
    /* a group that does not exist: an error, not a silent "allowed" */
    adopt_buf[0] = (char *)"No Such Group";
    assert_int_equal(prepare_adopt("IUSR_pool", NULL), -1);
    assert_said(&msgs, "adopt_group No Such Group not found");
}

static void test_adopt_refuses_nested_membership(void **st)
{
    (void)st;
    const char *admins = fake_dir_add_group_sid("Domain Admins", DOMAIN_ADMINS);
    const char *help = fake_dir_add_group("Helpdesk");
    fake_dir_add_member("Domain Admins", "Helpdesk");
    fake_dir_add_unmarked("IUSR_help");
    fake_dir_add_member("Helpdesk", "IUSR_help");
    /* tokenGroups is transitive: Domain Admins through Helpdesk */
    char *token = fake_dir_token_groups("IUSR_help");
    assert_non_null(strstr(token, DOMAIN_ADMINS));
    free(token);
    assert_int_equal(prepare_adopt("IUSR_help", NULL), -1);
    assert_said(&msgs, "IUSR_help", admins, help, "not in adopt_group");
    /* two plain groups, one in the other: both named, not only the direct one */
    const char *inner = fake_dir_add_group("Inner");
    const char *outer = fake_dir_add_group("Outer");
    fake_dir_add_member("Outer", "Inner");
    fake_dir_add_unmarked("IUSR_nest");
    fake_dir_add_member("Inner", "IUSR_nest");
    diag_free(&msgs);
    assert_int_equal(prepare_adopt("IUSR_nest", NULL), -1);
    assert_said(&msgs, "IUSR_nest", inner, outer, "are not in adopt_group");
    /* an allowed group nested in Domain Admins does not open the door */
    fake_dir_add_group("Web Pools");
    fake_dir_add_member("Domain Admins", "Web Pools");
    fake_dir_add_unmarked("IUSR_sneak");
    fake_dir_add_member("Web Pools", "IUSR_sneak");
    adopt_buf[0] = (char *)"Web Pools";
    conf.dir.n_adopt_groups = 1;
    diag_free(&msgs);
    assert_int_equal(prepare_adopt("IUSR_sneak", NULL), -1);
    assert_said(&msgs, "IUSR_sneak", admins, "never adopted");
}

/* The create path (the account appeared between look-up and add) and the
 * marker: an adopted account is never marked, and destroy keeps it. */
static void test_adopt_create_path_and_marker(void **st)
{
    (void)st;
    fake_dir_add_group_sid("Domain Admins", DOMAIN_ADMINS);
    fake_dir_add_unmarked("IUSR_boss");
    fake_dir_add_member("Domain Admins", "IUSR_boss");
    fake_dir_add_unmarked("IUSR_ok");
    conf.dir.adopt_unmarked = true;
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "ok.example.com", "IUSR_ok");
    struct account_step step;
    assert_int_equal(prepare_with_password(run, &m, false, false, &step, &changes, &msgs), 0);
    assert_int_equal(accounts_execute(run, &m, &step, &msgs), 0);
    assert_quiet(&msgs);
    assert_string_equal(fake_dir_password("IUSR_ok"), step.password);
    assert_null(fake_dir_marker("IUSR_ok"));
    struct account_step rm;
    assert_int_equal(accounts_prepare_removal(run, &m, &rm, &changes, &msgs), 0);
    assert_int_equal(accounts_remove(run, &rm, &msgs), 0);
    assert_int_equal(accounts_delete_marked(run, "IUSR_ok", "ok.example.com", &msgs), 0);
    assert_true(fake_dir_exists("IUSR_ok"));
    assert_int_equal(fake_dir_ops(FAKE_OP_DELETE), 0);
    account_step_free(&rm);
    account_step_free(&step);
    model_free(&m);
    accounts_close(run);
    struct dir_config cfg = {.uri = "ldaps://dc01.lab.test",
                             .bind_dn = "LAB\\provision",
                             .password_env = BIND_ENV,
                             .base_dn = FAKE_DIR_DEFAULT_BASE,
                             .adopt_unmarked = true};
    struct dir *dir;
    assert_int_equal(dir_open(&cfg, &dir, &msgs), 0);
    struct dir_account_spec spec = {.sam = "IUSR_boss", .ou = "OU=Sites", .site = "boss.example"};
    struct dir_account a;
    assert_int_equal(dir_create_account(dir, &spec, "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N", &a, &msgs), -1);
    assert_said(&msgs, "refusing to adopt account IUSR_boss", DOMAIN_ADMINS);
    assert_false(a.adopted);
    dir_account_free(&a);
    spec.sam = "IUSR_ok";
    assert_int_equal(dir_create_account(dir, &spec, "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N", &a, &msgs), 0);
    assert_true(a.adopted);
    dir_account_free(&a);
    dir_close(dir);
}

/* ------------------------------------------------------------------ replication */

static void batch_created(struct account_run *run, struct batch *b)
{
    batch_prepare(run, b);
    accounts_execute_all(run, b->mp, b->sp, b->ep, &msgs, b->failed, N_SITES);
    for (int i = 0; i < N_SITES; i++) {
        assert_false(b->failed[i]);
        assert_true(b->s[i].done);
    }
}

static void test_wait_replicated_none_configured(void **st)
{
    (void)st;
    struct account_run *run = open_run();
    struct batch b;
    batch_created(run, &b);
    assert_int_equal(accounts_wait_replicated(run, b.mp, b.sp, b.ep, b.failed, N_SITES), 0);
    assert_int_equal(fake_dir_calls(FAKE_FN_WAIT_REPLICA), 0);
    batch_free(&b);
    accounts_close(run);
}

static void test_wait_replicated_current_dc(void **st)
{
    (void)st;
    wait_buf[0] = (char *)"ldaps://dc01.lab.test";
    wait_buf[1] = (char *)"ldaps://dc02.lab.test";
    conf.dir.n_wait_for = 2;
    struct account_run *run = open_run();
    struct batch b;
    batch_created(run, &b);
    assert_int_equal(accounts_wait_replicated(run, b.mp, b.sp, b.ep, b.failed, N_SITES), 0);
    assert_int_equal(fake_dir_calls(FAKE_FN_WAIT_REPLICA), 2);
    for (int i = 0; i < N_SITES; i++) {
        assert_false(b.failed[i]);
        assert_quiet(&b.e[i]);
        assert_true(fake_dir_exists(b.m[i].account_name));
    }
    batch_free(&b);
    accounts_close(run);
}

static void test_wait_replicated_unreachable(void **st)
{
    (void)st;
    wait_buf[0] = (char *)"ldaps://dc01.lab.test";
    wait_buf[1] = (char *)"ldaps://127.0.0.2:1";
    conf.dir.n_wait_for = 2;
    fake_dir_replica_unreachable("ldaps://127.0.0.2:1");
    struct account_run *run = open_run();
    struct batch b;
    batch_created(run, &b);
    assert_int_equal(accounts_wait_replicated(run, b.mp, b.sp, b.ep, b.failed, N_SITES), N_SITES);
    for (int i = 0; i < N_SITES; i++) {
        assert_true(b.failed[i]);
        assert_false(b.s[i].done);
        assert_said(&b.e[i], b.m[i].name, b.m[i].account_name, "did not reach every DC",
                    "wait_timeout (2 s)", "not confirmed on 127.0.0.2:1", "cannot be reached");
        assert_said(&b.e[i], b.m[i].account_name, "deleted again");
        assert_false(fake_dir_exists(b.m[i].account_name));
    }
    batch_free(&b);
    accounts_close(run);
}

static void test_wait_replicated_one_missing(void **st)
{
    (void)st;
    wait_buf[0] = (char *)"ldaps://dc02.lab.test";
    conf.dir.n_wait_for = 1;
    fake_dir_replica_lacks("ldaps://dc02.lab.test", "IUSR_b");
    struct account_run *run = open_run();
    struct batch b;
    batch_created(run, &b);
    b.failed[3] = true; /* failed on entry: skipped, kept as it is */
    assert_int_equal(accounts_wait_replicated(run, b.mp, b.sp, b.ep, b.failed, N_SITES), 1);
    assert_false(b.failed[0]);
    assert_true(b.failed[1]);
    assert_said(&b.e[1], "site 'b.example'", "IUSR_b (CN=IUSR_b,OU=Sites,DC=lab,DC=test)",
                "1 of 3 account(s) not confirmed on dc02.lab.test");
    assert_false(fake_dir_exists("IUSR_b"));
    assert_true(fake_dir_exists("IUSR_a"));
    assert_true(fake_dir_exists("IUSR_d"));
    assert_quiet(&b.e[0]);
    assert_quiet(&b.e[2]);
    batch_free(&b);
    accounts_close(run);
}

static void test_wait_replicated_rotation(void **st)
{
    (void)st;
    wait_buf[0] = (char *)"ldaps://dc02.lab.test";
    conf.dir.n_wait_for = 1;
    fake_dir_add_marked("IUSR_r", "r.example");
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "r.example", "IUSR_r");
    struct account_step step, *sp = &step;
    const struct site_model *mp = &m;
    struct diag *ep = &msgs;
    bool failed = false;
    assert_int_equal(prepare_with_password(run, &m, true, true, &step, &changes, &msgs), 0);
    assert_int_equal(step.action, ACCOUNT_ROTATE);
    long long before = fake_dir_pwd_last_set("IUSR_r");
    /* not done yet: nothing to wait for */
    assert_int_equal(accounts_wait_replicated(run, &mp, &sp, &ep, &failed, 1), 0);
    assert_int_equal(fake_dir_calls(FAKE_FN_WAIT_REPLICA), 0);
    assert_int_equal(accounts_execute(run, &m, &step, &msgs), 0);
    assert_true(fake_dir_pwd_last_set("IUSR_r") > before);
    assert_int_equal(accounts_wait_replicated(run, &mp, &sp, &ep, NULL, 1), 0);
    assert_quiet(&msgs);
    fake_dir_replica_lacks("ldaps://dc02.lab.test", "IUSR_r");
    assert_int_equal(accounts_wait_replicated(run, &mp, &sp, &ep, &failed, 1), 1);
    assert_true(failed);
    assert_said(&msgs, "site 'r.example'", "new password of IUSR_r", "cannot be taken back");
    assert_true(fake_dir_exists("IUSR_r"));
    assert_string_equal(fake_dir_password("IUSR_r"), step.password);
    account_step_free(&step);
    model_free(&m);
    accounts_close(run);
}

static void test_wait_replicated_conf_keys(void **st)
{
    (void)st;
    char *path = xasprintf("%s/provision.ini", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[iis]\nconfig = /tmp/applicationHost.config\n[directory]\nnetbios = LAB\n"
          "uri = ldaps://dc1.lab.test\nbind_dn = x@lab.test\npassword_env = X\n"
          "base_dn = DC=lab,DC=test\nupn_suffix = lab.test\nadopt_unmarked = true\n"
          "adopt_group = CN=Web Pools,OU=Groups\nadopt_group = Helpdesk Web\n"
          "wait_for = ldaps://dc2.lab.test\nwait_for = ldap://dc3.lab.test:3389\n"
          "wait_timeout = 90\n",
          f);
    fclose(f);
    struct conf c;
    assert_int_equal(conf_load(path, &c, &msgs), 0);
    assert_quiet(&msgs);
    assert_int_equal(c.dir.n_adopt_groups, 2);
    assert_string_equal(c.dir.adopt_groups[0], "CN=Web Pools,OU=Groups");
    assert_string_equal(c.dir.adopt_groups[1], "Helpdesk Web");
    assert_int_equal(c.dir.n_wait_for, 2);
    assert_string_equal(c.dir.wait_for[1], "ldap://dc3.lab.test:3389");
    assert_int_equal(c.dir.wait_timeout_seconds, 90);
    conf_free(&c);
    f = fopen(path, "w");
    fputs("[iis]\nconfig = /tmp/applicationHost.config\n[directory]\n"
          "wait_for = ldaps://dc2, ldaps://dc3\nwait_for = dc4\nwait_timeout = 0\n"
          "adopt_group =\n",
          f);
    fclose(f);
    assert_int_equal(conf_load(path, &c, &msgs), -1);
    assert_said(&msgs, ":4: wait_for", "the key may repeat");
    assert_said(&msgs, ":5: wait_for", "ldaps://HOST");
    assert_said(&msgs, ":6: wait_timeout", "1 to 3600");
    assert_said(&msgs, ":7: adopt_group", "needs a group");
    free(path);
}

/* ------------------------------------------------------------------ the fake itself */

/* The fake follows directory.h where the core relies on it. */
static void test_fake_contract(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_a", "a.example");
    fake_dir_add_unmarked("IUSR_u");
    fake_dir_add_computer("WEB01$");
    fake_dir_add_duplicate("IUSR_a");
    struct dir_config cfg = {.uri = "ldap://dc01.lab.test:3890",
                             .bind_dn = "LAB\\provision",
                             .password_env = BIND_ENV,
                             .base_dn = FAKE_DIR_DEFAULT_BASE,
                             .upn_suffix = "lab.test"};
    struct dir *dir;
    assert_int_equal(dir_open(&cfg, &dir, &msgs), 0);
    assert_string_equal(dir_security(dir), "StartTLS, certificate verified");
    assert_null(dir_warning(dir));
    /* found[]: 1, 0, -1 (several objects, not a user) and an overall -1 */
    const char *sams[] = {"IUSR_u", "IUSR_none", "IUSR_a", "WEB01$"};
    struct dir_account out[4];
    int found[4];
    assert_int_equal(dir_find_accounts(dir, sams, 4, out, found, &msgs), -1);
    assert_int_equal(found[0], 1);
    assert_int_equal(found[1], 0);
    assert_int_equal(found[2], -1);
    assert_int_equal(found[3], -1);
    assert_false(out[0].managed);
    assert_false(out[0].adopted);
    assert_said(&msgs, "IUSR_a belongs to several objects", "dc01.lab.test:3890");
    assert_said(&msgs, "WEB01$ does not belong to a user account");
    for (int i = 0; i < 4; i++)
        dir_account_free(&out[i]);
    /* a bad name: refused before any search */
    unsigned searches = fake_dir_ops(FAKE_OP_SEARCH);
    const char *bad[] = {"IUSR_u", "a*b"};
    assert_int_equal(dir_find_accounts(dir, bad, 2, out, found, &msgs), -1);
    assert_int_equal(fake_dir_ops(FAKE_OP_SEARCH), searches);
    assert_said(&msgs, "'a*b'", "not looked up");
    /* create: 1 new, 0 existing of the same site, -1 another site's or unmarked */
    struct dir_account_spec sp[4] = {
        {.sam = "IUSR_new", .ou = "OU=Sites", .site = "new.example"},
        {.sam = "IUSR_u", .ou = "OU=Sites", .site = "u.example"},
        {.sam = "IUSR_x", .ou = "OU=Sites,DC=lab,DC=test", .site = "x.example"},
        {.sam = "WEB01$", .ou = "OU=Sites", .site = "w.example"},
    };
    struct dir_create_item items[4] = {
        {.spec = &sp[0], .password = "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N"},
        {.spec = &sp[1], .password = "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N"},
        {.spec = &sp[2], .password = "weak"},
        {.spec = &sp[3], .password = "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N"},
    };
    diag_free(&msgs);
    assert_int_equal(dir_create_accounts(dir, items, 4, &msgs), 3);
    assert_int_equal(items[0].result, 1);
    assert_true(items[0].account.managed);
    assert_string_equal(items[0].account.managed_site, "new.example");
    assert_string_equal(items[0].account.upn, "IUSR_new@lab.test");
    assert_int_equal(items[1].result, -1);
    assert_said(&msgs, "IUSR_u", "not created by provision", "adopt_unmarked");
    assert_int_equal(items[2].result, -1);
    assert_said(&msgs, "cannot create account IUSR_x (CN=IUSR_x,OU=Sites,DC=lab,DC=test)",
                "password policy");
    assert_int_equal(items[3].result, -1);
    assert_said(&msgs, "WEB01$", "taken by a computer");
    for (int i = 0; i < 4; i++)
        dir_account_free(&items[i].account);
    /* same site again: 0, the password is not changed */
    struct dir_account acct;
    assert_int_equal(dir_create_account(dir, &sp[0], "Zz9-other-Password", &acct, &msgs), 0);
    assert_string_equal(fake_dir_password("IUSR_new"), "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N");
    assert_string_equal(acct.dn, fake_dir_dn("IUSR_new"));
    /* dir_check_password binds as the account */
    assert_int_equal(
        dir_check_password(&cfg, "IUSR_new@lab.test", "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N", &msgs), 1);
    diag_free(&msgs);
    assert_int_equal(dir_check_password(&cfg, "IUSR_new@lab.test", "wrong", &msgs), 0);
    assert_said(&msgs, "password check failed for IUSR_new@lab.test", "wrong user name");
    fake_dir_disable("IUSR_new");
    assert_int_equal(
        dir_check_password(&cfg, "IUSR_new@lab.test", "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N", &msgs), 0);
    assert_said(&msgs, "the account is disabled");
    /* delete: refuses another site's marker, a replaced object; 0 when gone */
    struct dir_account other = acct;
    other.managed_site = (char *)"else.example";
    assert_int_equal(dir_delete_account(dir, &other, &msgs), -1);
    assert_said(&msgs, "its marker now names site new.example, not else.example");
    struct dir_account moved = acct;
    moved.guid = (char *)"00000000-0000-0000-0000-000000000001";
    assert_int_equal(dir_delete_account(dir, &moved, &msgs), -1);
    assert_said(&msgs, "no longer the account that was found");
    assert_int_equal(dir_delete_account(dir, &acct, &msgs), 1);
    assert_int_equal(dir_delete_account(dir, &acct, &msgs), 0);
    dir_account_free(&acct);
    /* strict OUs: refused without create_ou, made with it */
    fake_dir_strict_ous(true);
    struct dir_account_spec deep = {.sam = "IUSR_deep", .ou = "OU=A,OU=B", .site = "d.example"};
    diag_free(&msgs);
    assert_int_equal(dir_create_account(dir, &deep, "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N", &acct, &msgs), -1);
    assert_said(&msgs, "OU OU=A,OU=B,DC=lab,DC=test does not exist", "create_ou");
    dir_close(dir);
    cfg.create_ou = true;
    assert_int_equal(dir_open(&cfg, &dir, &msgs), 0);
    assert_int_equal(dir_create_account(dir, &deep, "Kq7-Mz.Rt2:Vw9_Hs4+Lp8@N", &acct, &msgs), 1);
    assert_true(fake_dir_ou_exists("OU=B"));
    assert_true(fake_dir_ou_exists("OU=A,OU=B"));
    assert_string_equal(acct.dn, "CN=IUSR_deep,OU=A,OU=B,DC=lab,DC=test");
    dir_account_free(&acct);
    /* a lost connection kills the handle */
    fake_dir_drop_connections();
    assert_int_equal(dir_find_account(dir, "IUSR_u", &acct, &msgs), -1);
    assert_said(&msgs, "cannot look up account IUSR_u", "the connection was lost earlier");
    dir_close(dir);
    /* dir_open's own checks */
    cfg.base_dn = "DC=other,DC=test";
    assert_int_equal(dir_open(&cfg, &dir, &msgs), -1);
    assert_null(dir);
    assert_said(&msgs, "base_dn DC=other,DC=test does not exist");
    cfg.base_dn = FAKE_DIR_DEFAULT_BASE;
    cfg.uri = "ldaps://dc01/DC=lab,DC=test";
    assert_int_equal(dir_open(&cfg, &dir, &msgs), -1);
    assert_said(&msgs, "URI 'ldaps://dc01/DC=lab,DC=test' is not supported");
    assert_int_equal(fake_dir_open_handles(), handles_before);
}

/* ------------------------------------------------------------------ known problems */

/* A marker naming no site ("provision:") is not "the marker for that
 * site": destroy must keep the account (recovery's accounts_delete_marked
 * does), and apply must not take it over (dir_create_account refuses it). */
static void test_siteless_marker_is_nobodys(void **st)
{
    (void)st;
    fake_dir_add_marked("IUSR_n", NULL);
    struct account_run *run = open_run();
    struct site_model m;
    model(&m, "n.example", "IUSR_n");
    struct account_step step;
    int found = accounts_prepare_removal(run, &m, &step, &changes, &msgs);
    if (found == 1)
        accounts_remove(run, &step, &msgs);
    account_step_free(&step);
    bool deleted = !fake_dir_exists("IUSR_n");
    int prepared = prepare_with_password(run, &m, false, false, &step, &changes, &msgs);
    account_step_free(&step);
    accounts_close(run);
    model_free(&m);
    if (deleted)
        fail_msg("destroy of n.example deleted IUSR_n, whose marker names no site");
    assert_int_equal(found, 0);
    assert_int_equal(prepared, -1);
}

/* A failed site gets the messages naming its own account: "a" is not
 * named by a message about "b-a". */
static void test_message_of_hyphenated_name(void **st)
{
    (void)st;
    static const char *const sams[2] = {"web", "shop-web"};
    struct account_run *run = open_run();
    struct site_model m[2];
    const struct site_model *mp[2];
    struct account_step s[2], *sp[2];
    struct diag e[2], *ep[2];
    bool failed[2] = {false, false};
    for (int i = 0; i < 2; i++) {
        model(&m[i], sams[i], sams[i]);
        mp[i] = &m[i];
        sp[i] = &s[i];
        diag_init(&e[i]);
        ep[i] = &e[i];
        assert_int_equal(prepare_with_password(run, &m[i], false, false, &s[i], &changes, &e[i]),
                         0);
        fake_dir_fail_account(FAKE_OP_ADD, sams[i]);
    }
    accounts_execute_all(run, mp, sp, ep, &msgs, failed, 2);
    size_t counts[2] = {e[0].count, e[1].count};
    if (counts[0] != 1)
        dump(&e[0]);
    for (int i = 0; i < 2; i++) {
        account_step_free(&s[i]);
        diag_free(&e[i]);
        model_free(&m[i]);
    }
    accounts_close(run);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 1);
}

/* sAMAccountNames compare case-insensitively: a new line for IUSR_A
 * replaces the one of IUSR_a instead of leaving a stale password. */
static void test_secret_lines_case_insensitive(void **st)
{
    (void)st;
    const char *sams[] = {"IUSR_a"}, *sites[] = {"a.example"}, *pws[] = {"old"};
    assert_int_equal(accounts_save_secret_lines(&conf, sams, sites, pws, 1, &msgs), 0);
    const char *sams2[] = {"IUSR_A"}, *pws2[] = {"new"};
    assert_int_equal(accounts_save_secret_lines(&conf, sams2, sites, pws2, 1, &msgs), 0);
    char *text = slurp(secrets);
    bool stale = strstr(text, "\told\n") != NULL;
    free(text);
    assert_false(stale);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_needs_directory_section),
        T(test_open_reports_bind_failure_and_warning),
        T(test_prepare_create_when_absent),
        T(test_prepare_keep_marked_same_site),
        T(test_prepare_rotate),
        T(test_prepare_refuses_other_sites_account),
        T(test_prepare_unmarked_needs_adopt),
        T(test_prepare_reports_directory_errors),
        T(test_prefetch_one_search),
        T(test_execute_all_pipelined),
        T(test_execute_all_one_add_fails),
        T(test_execute_all_each_site_its_own_message),
        T(test_execute_all_message_naming_no_one),
        T(test_execute_all_account_appeared),
        T(test_execute_single_create_and_undo_failure),
        T(test_execute_after_lost_connection),
        T(test_prepare_removal_and_remove),
        T(test_delete_marked_only_that_sites),
        T(test_set_password),
        T(test_lookup_sid),
        T(test_secret_lines),
        T(test_secret_lines_refuses_open_file),
        T(test_fake_contract),
        T(test_siteless_marker_is_nobodys),
        T(test_message_of_hyphenated_name),
        T(test_secret_lines_case_insensitive),
        T(test_adopt_plain_user_in_ou),
        T(test_adopt_refuses_domain_admin),
        T(test_adopt_refuses_builtin_account),
        T(test_adopt_refuses_computer_and_trust_accounts),
        T(test_adopt_refuses_outside_ou),
        T(test_adopt_named_groups),
        T(test_adopt_refuses_nested_membership),
        T(test_adopt_create_path_and_marker),
        T(test_wait_replicated_none_configured),
        T(test_wait_replicated_current_dc),
        T(test_wait_replicated_unreachable),
        T(test_wait_replicated_one_missing),
        T(test_wait_replicated_rotation),
        T(test_wait_replicated_conf_keys),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
