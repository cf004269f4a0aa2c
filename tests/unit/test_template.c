/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Templates and site lists: extends, expansion, and each kind of bad input
 * with a message naming the file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "provision/ini.h"
#include "provision/site.h"
#include "provision/template.h"
#include "testutil.h"

#include <unistd.h>

static char dir[64];

static void put(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/provision-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    put("base.ini",
        "[pool]\nname = ${site}\nidentity = apppool\n[site]\n"
        "bindings = http/*:80:${site}\nbindings = http/*:80:www.${site}\n"
        "path = ${root}\\${site}\\wwwroot\n[folders]\nwwwroot = ${root}\\${site}\\wwwroot\n"
        "[grants]\nwwwroot = pool:(OI)(CI)RX\n");
    put("child.ini",
        "[template]\nextends = base\n[pool]\nruntime = none\n[site]\n"
        "anonymous = iusr\n[grants]\nwwwroot = pool:(OI)(CI)RX, anonymous:(OI)(CI)R\n");
    put("acct.ini", "[template]\nextends = base\n[pool]\nidentity = account\n[account]\n"
                    "ou = OU=Sites\n");
    put("cycle-a.ini", "[template]\nextends = cycle-b\n");
    put("cycle-b.ini", "[template]\nextends = cycle-a\n");
    put("selfcase.ini", "[template]\nextends = SelfCase\n");
    put("upper.ini", "[template]\nextends = Base\n");
    put("orphan.ini", "[template]\nextends = nowhere\n[pool]\nruntime = none\n");
    put("bad-base.ini", "[pool]\nnmae = x\n");
    put("kid1.ini", "[template]\nextends = bad-base\n");
    put("kid2.ini", "[template]\nextends = bad-base\n");
    put("unknown-key.ini", "[pool]\nnmae = x\n");
    put("unknown-section.ini", "[pools]\nname = x\n");
    put("dup.ini", "[pool]\nname = a\nname = b\n");
    put("undefined.ini", "[template]\nextends = base\n[site]\npath = D:\\${nope}\n");
    put("conf.ini", "[iis]\nconfig = x.config\n[content]\nroot = D:\\Sites\n[templates]\ndir = .\n"
                    "[directory]\nnetbios = LAB\n");
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

static bool has_msg(const struct diag *d, const char *a, const char *b)
{
    for (size_t i = 0; i < d->count; i++)
        if (strstr(d->msgs[i], a) && (!b || strstr(d->msgs[i], b)))
            return true;
    return false;
}

static void expect_template_error(const char *name, const char *msg, const char *where)
{
    struct template_set ts;
    template_set_init(&ts, dir);
    struct diag d;
    diag_init(&d);
    if (template_get(&ts, name, "sites.ini:1", &d))
        fail_msg("template %s loaded", name);
    if (!has_msg(&d, msg, where))
        fail_msg("%s: no message with '%s' and '%s' (first: %s)", name, msg, where ? where : "",
                 d.count ? d.msgs[0] : "none");
    diag_free(&d);
    template_set_free(&ts);
}

static void template_errors(void **state)
{
    (void)state;
    expect_template_error("cycle-a", "cycle", "cycle-a <- cycle-b <- cycle-a");
    expect_template_error("unknown-key", "unknown key 'nmae'", "unknown-key.ini:2");
    expect_template_error("unknown-section", "unknown section [pools]", "unknown-section.ini:1");
    expect_template_error("dup", "set twice", "dup.ini:3");
    expect_template_error("missing", "template 'missing' not found", "sites.ini:1");
    expect_template_error("../etc/passwd", "invalid template name", NULL);
}

/* One rule for template names (exact file names; case variants refused in
 * one run), and a template whose parent cannot be loaded never loads
 * without it: "not found", "cycle" or the reason is always said. */
static void template_names(void **state)
{
    (void)state;
    expect_template_error("selfcase", "differs only in case from template 'selfcase'",
                          "selfcase.ini:2");
    expect_template_error("orphan", "template 'nowhere' not found", "orphan.ini:2");
    struct template_set ts;
    template_set_init(&ts, dir);
    struct diag d;
    diag_init(&d);
    /* base loads; then a template naming it Base is refused, whatever the
     * order, instead of silently getting base's values */
    assert_non_null(template_get(&ts, "base", "sites.ini:1", &d));
    assert_null(template_get(&ts, "upper", "sites.ini:2", &d));
    assert_true(
        has_msg(&d, "template 'Base' differs only in case from template 'base'", "upper.ini:2"));
    assert_null(template_get(&ts, "Base", "sites.ini:3", &d));
    assert_true(has_msg(&d, "sites.ini:3", "differs only in case"));
    /* two children of one broken parent: both fail, each says why */
    size_t before = d.count;
    assert_null(template_get(&ts, "kid1", "sites.ini:4", &d));
    assert_true(d.count > before);
    before = d.count;
    assert_null(template_get(&ts, "kid2", "sites.ini:5", &d));
    assert_true(d.count > before);
    assert_true(has_msg(&d, "kid2.ini:2", "extends 'bad-base', which could not be loaded"));
    diag_free(&d);
    template_set_free(&ts);
}

static void extends_and_lists(void **state)
{
    (void)state;
    struct template_set ts;
    template_set_init(&ts, dir);
    struct diag d;
    diag_init(&d);
    const struct template *t = template_get(&ts, "child", "x", &d);
    assert_non_null(t);
    const struct tvalue *b = template_value(t, "site", "bindings");
    assert_non_null(b);
    assert_int_equal(b->n_values, 2); /* inherited list */
    assert_string_equal(template_value(t, "pool", "runtime")->values[0], "none");
    assert_string_equal(template_value(t, "pool", "name")->values[0], "${site}");
    assert_non_null(strstr(template_value(t, "pool", "name")->file, "base.ini"));
    diag_free(&d);
    template_set_free(&ts);
}

static void expansion(void **state)
{
    (void)state;
    struct vars v = {0};
    vars_set(&v, "site", "shop");
    vars_set(&v, "id", "s1");
    char *why;
    char *out = expand("IUSR_${id} at ${site} costs $$5", &v, &why);
    assert_string_equal(out, "IUSR_s1 at shop costs $5");
    free(out);
    assert_null(expand("${nope}", &v, &why));
    assert_non_null(strstr(why, "undefined variable ${nope}"));
    assert_non_null(strstr(why, "site, id"));
    free(why);
    assert_null(expand("${open", &v, &why));
    free(why);
    assert_null(expand("$x", &v, &why));
    free(why);
    vars_free(&v);
}

static int build(const char *list_text, struct site_model *m, struct diag *d, struct conf *c,
                 struct template_set *ts, struct site_list *list)
{
    put("sites.ini", list_text);
    char *conf_path = xasprintf("%s/conf.ini", dir);
    assert_int_equal(conf_load(conf_path, c, d), 0);
    free(conf_path);
    template_set_init(ts, dir);
    memset(list, 0, sizeof *list);
    char *path = xasprintf("%s/sites.ini", dir);
    int rc = site_list_load(list, path, d);
    free(path);
    memset(m, 0, sizeof *m);
    if (rc == 0)
        rc = site_model_build(c, ts, &list->items[0], m, d);
    return rc;
}

static void done(struct site_model *m, struct diag *d, struct conf *c, struct template_set *ts,
                 struct site_list *list)
{
    site_model_free(m);
    diag_free(d);
    conf_free(c);
    template_set_free(ts);
    site_list_free(list);
}

static void model_from_site_list(void **state)
{
    (void)state;
    struct site_model m;
    struct diag d;
    struct conf c;
    struct template_set ts;
    struct site_list list;
    diag_init(&d);
    assert_int_equal(build("[site shop.example.com]\ntemplate = child\nid = shop\n"
                           "site.bindings = https/*:443:shop.example.com;sni\n",
                           &m, &d, &c, &ts, &list),
                     0);
    assert_string_equal(m.pool.name, "shop.example.com");
    assert_string_equal(m.pool.runtime, ""); /* none = No Managed Code */
    assert_string_equal(m.site.physical_path, "D:\\Sites\\shop.example.com\\wwwroot");
    assert_int_equal(m.site.n_bindings, 1); /* the override replaces the list */
    assert_int_equal(m.bindings[0].ssl_flags, 1);
    assert_string_equal(m.site.anonymous_user, "IUSR");
    assert_int_equal(m.anonymous, ANONYMOUS_IUSR);
    assert_int_equal(m.n_grants, 2);
    assert_int_equal(m.grants[1].grant.kind, NTFS_PRINCIPAL_ANONYMOUS);
    done(&m, &d, &c, &ts, &list);

    diag_init(&d);
    assert_int_equal(
        build("[site a.example.com]\ntemplate = acct\nid = a\n", &m, &d, &c, &ts, &list), 0);
    assert_int_equal(m.identity, IDENTITY_ACCOUNT);
    assert_int_equal(m.anonymous, ANONYMOUS_POOL); /* the conf default */
    assert_string_equal(m.account_name, "IUSR_a");
    assert_string_equal(m.pool.user_name, "LAB\\IUSR_a");
    assert_int_equal(m.pool.identity, IIS_IDENTITY_SPECIFICUSER);
    done(&m, &d, &c, &ts, &list);

    /* Grants naming accounts in the three forms. */
    diag_init(&d);
    assert_int_equal(
        build("[site b]\ntemplate = base\ngrants.wwwroot = pool:RX, LAB\\J\xc3\xbcrgen:R, "
              "alice@lab.test:R, bob:R\n",
              &m, &d, &c, &ts, &list),
        0);
    assert_int_equal(m.n_grants, 4);
    for (size_t i = 1; i < 4; i++)
        assert_int_equal(m.grants[i].grant.kind, NTFS_PRINCIPAL_NAME);
    done(&m, &d, &c, &ts, &list);
}

static void expect_model_error(const char *list_text, const char *msg, const char *where)
{
    struct site_model m;
    struct diag d;
    struct conf c;
    struct template_set ts;
    struct site_list list;
    diag_init(&d);
    if (build(list_text, &m, &d, &c, &ts, &list) != -1)
        fail_msg("accepted: %s", list_text);
    if (!has_msg(&d, msg, where))
        fail_msg("no message with '%s' and '%s' (first: %s)", msg, where ? where : "",
                 d.count ? d.msgs[0] : "none");
    done(&m, &d, &c, &ts, &list);
}

static void model_errors(void **state)
{
    (void)state;
    /* The sAMAccountName rules themselves are tested in
     * tests/unit/ldap/test_account.c; here, that the core applies them to
     * account.name and to grants naming an account, with file and line. */
    expect_model_error("[site a]\ntemplate = acct\nid = 1234567890123456\n",
                       "'IUSR_1234567890123456': the account name (sAMAccountName) is longer "
                       "than 20 characters",
                       "sites.ini:1");
    expect_model_error("[site a]\ntemplate = acct\nid = x*)(\n", "contains one of", NULL);
    expect_model_error("[site a]\ntemplate = acct\nid = a,CN=x\n", "contains one of", NULL);
    expect_model_error("[site a]\ntemplate = undefined\n", "undefined variable ${nope}",
                       "undefined.ini:4");
    expect_model_error("[site a]\ntemplate = base\nsite.bindings = http/*:99999:a\n",
                       "port must be", "sites.ini:3");
    expect_model_error("[site a]\ntemplate = base\npool.name = a:b\n", "pool name cannot",
                       "sites.ini:3");
    expect_model_error("[site a]\ntemplate = base\nsite.nosuch = 1\n", "unknown override",
                       "sites.ini:3");
    expect_model_error("[site a]\ntemplate = base\nsite.id = 0\n", "from 1 to 4294967295", NULL);
    expect_model_error("[site a]\ntemplate = base\nsite.id = 4294967296\n", "from 1 to", NULL);
    expect_model_error("[site a]\ntemplate = base\nsite.path = D:\\x\\..\\y\n",
                       "'..' components are not allowed", NULL);
    expect_model_error("[site a]\ntemplate = base\npool.identity = admin\n", "must be apppool",
                       NULL);
    expect_model_error("[site a]\ntemplate = base\ngrants.wwwroot = pool:(OI)(CI)Q\n",
                       "unknown right", NULL);
    expect_model_error("[site a]\ntemplate = base\ngrants.logs = pool:R\n", "names no folder",
                       NULL);
    expect_model_error("[site a]\ntemplate = base\ngrants.wwwroot = LAB\\a;b:R\n",
                       "grants.wwwroot (site 'a'): 'LAB\\a;b:R': the account name 'a;b' contains "
                       "one of",
                       "sites.ini:3");
    expect_model_error("[site a]\ntemplate = base\ngrants.wwwroot = pool:RX, "
                       "IUSR_1234567890123456@lab.test:R\n",
                       "the account name 'IUSR_1234567890123456' is longer than 20", "sites.ini:3");
    expect_model_error("[site a]\ntemplate = base\ngrants.wwwroot = LAB\\ alice:R\n",
                       "the account name ' alice' starts or ends with a space", "sites.ini:3");
    expect_model_error("[site a]\ntemplate = base\ngrants.wwwroot = al@ce@lab:R\n",
                       "more than one '@'", "sites.ini:3");
    expect_model_error("[site a]\ntemplate = base\nsite.bindings = http/*:80:a, http/*:80:A\n",
                       "listed twice", NULL);
}

static void site_list_errors(void **state)
{
    (void)state;
    expect_model_error("[site a]\ntemplate = base\n[site A]\ntemplate = base\n", "listed twice",
                       "sites.ini:3");
    expect_model_error("[site a]\nid = 1\n", "'template' is required", "sites.ini:1");
    expect_model_error("[sites a]\ntemplate = base\n", "unknown section", "sites.ini:1");
    expect_model_error("[site a]\ntemplate = base\nBad-Var = 1\n", "invalid variable name",
                       "sites.ini:3");
    expect_model_error("[site a/b]\ntemplate = base\n", "cannot contain / or ?", "sites.ini:1");
    expect_model_error("[site a]\ntemplate = base\nsite = x\n", "built-in", NULL);
}

static void ini_rejections(void **state)
{
    (void)state;
    struct {
        const char *text, *msg;
    } cases[] = {
        {"[site a]\ntemplate = base\n  id = continued\n", "indented line"},
        {"[site a]\ntemplate = b\xff\n", "invalid UTF-8"},
        {"[site a]\nno equals sign here\n", "not an INI line"},
        {"key = before section\n", "before any [section]"},
        {"[site a]\rtemplate = base\rid = 1\r", "carriage return without a line feed"},
        {"[site a]\r\ntemplate = base\rid = 1\r\n", "carriage return without a line feed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        put("x.ini", cases[i].text);
        char *path = xasprintf("%s/x.ini", dir);
        struct ini_file f;
        struct diag d;
        diag_init(&d);
        assert_int_equal(ini_load(path, &f, &d), -1);
        if (!has_msg(&d, cases[i].msg, "x.ini:"))
            fail_msg("case %zu: %s", i, d.count ? d.msgs[0] : "no message");
        ini_free(&f);
        diag_free(&d);
        free(path);
    }
    /* A line longer than inih's buffer is an error, not silently split. */
    struct strbuf long_line;
    sb_init(&long_line);
    sb_adds(&long_line, "[site a]\nsite.bindings = ");
    for (int i = 0; i < 30; i++)
        sb_addf(&long_line, "http/*:80:host%02d.example.com, ", i);
    sb_adds(&long_line, "\n");
    put("long.ini", long_line.buf);
    sb_free(&long_line);
    char *path = xasprintf("%s/long.ini", dir);
    struct ini_file f;
    struct diag d;
    diag_init(&d);
    assert_int_equal(ini_load(path, &f, &d), -1);
    assert_true(has_msg(&d, "line too long", "long.ini:2"));
    ini_free(&f);
    diag_free(&d);
    free(path);
}

/* The length limit counts a line's characters whatever its file's line
 * ends, and not a UTF-8 BOM: INI_LINE_MAX passes with LF, CRLF and after a
 * BOM, one more is refused, naming the count and the limit. */
static void ini_line_limit(void **state)
{
    (void)state;
    const char *starts[] = {"", "\xEF\xBB\xBF"};
    const char *ends[] = {"\n", "\r\n"};
    for (int b = 0; b < 2; b++)
        for (int e = 0; e < 2; e++)
            for (int extra = 0; extra < 2; extra++) {
                struct strbuf t;
                sb_init(&t);
                /* line 1 holds the key: the BOM (if any) comes before it */
                sb_adds(&t, starts[b]);
                sb_adds(&t, "k = ");
                while (t.len - strlen(starts[b]) < (size_t)INI_LINE_MAX + (size_t)extra)
                    sb_addc(&t, 'v');
                sb_adds(&t, ends[e]);
                char *text = xasprintf("[s]%s%s", ends[e], t.buf);
                /* the BOM belongs at the file's start: put the section after */
                if (b) {
                    free(text);
                    text = xasprintf("%s%s[s]%s", t.buf, "", ends[e]);
                }
                sb_free(&t);
                struct ini_file f;
                struct diag d;
                diag_init(&d);
                int rc = ini_load_text("lim.ini", text, strlen(text), &f, &d);
                if (b) /* a key before any section: the length check comes first */
                    assert_true(extra ? has_msg(&d, "line too long (199 characters; at most 198)",
                                                "lim.ini:1")
                                      : !has_msg(&d, "line too long", NULL));
                else if (extra)
                    assert_true(rc == -1 && has_msg(&d,
                                                    "line too long (199 characters; at most "
                                                    "198)",
                                                    "lim.ini:2"));
                else
                    assert_int_equal(rc, 0);
                ini_free(&f);
                diag_free(&d);
                free(text);
            }
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* A constructor that fails frees what it made; freeing again is harmless
 * (leaks and double frees show under the sanitizers). */
static void constructors_clean_up(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);

    put("badconf.ini", "[iis]\nconfig = x.config\nbackups = many\n[directory]\ngroup = a\n"
                       "group = b\nuri = ldaps://dc\n[nosuch]\n");
    char *path = xasprintf("%s/badconf.ini", dir);
    struct conf c;
    memset(&c, 0xA5, sizeof c);
    assert_int_equal(conf_load(path, &c, &d), -1);
    assert_true(all_zero(&c, sizeof c));
    conf_free(&c);
    conf_free(&c);
    free(path);
    path = xasprintf("%s/no-such-conf.ini", dir);
    assert_int_equal(conf_load(path, &c, &d), -1);
    assert_true(all_zero(&c, sizeof c));
    conf_free(&c);
    free(path);

    put("x.ini", "[a]\nk = v\nno equals sign here\n");
    path = xasprintf("%s/x.ini", dir);
    struct ini_file f;
    assert_int_equal(ini_load(path, &f, &d), -1);
    assert_true(all_zero(&f, sizeof f));
    ini_free(&f);
    free(path);

    /* A list that fails leaves the list as it was. */
    struct site_list list = {0};
    put("ok.ini", "[site a]\ntemplate = base\n");
    put("bad.ini", "[site b]\ntemplate = base\nBad-Var = 1\n[site c]\ntemplate = base\n");
    path = xasprintf("%s/bad.ini", dir);
    assert_int_equal(site_list_load(&list, path, &d), -1);
    assert_true(all_zero(&list, sizeof list));
    free(path);
    path = xasprintf("%s/ok.ini", dir);
    assert_int_equal(site_list_load(&list, path, &d), 0);
    free(path);
    path = xasprintf("%s/bad.ini", dir);
    assert_int_equal(site_list_load(&list, path, &d), -1);
    free(path);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].name, "a");
    site_list_free(&list);
    site_list_free(&list);

    struct template_set ts;
    template_set_init(&ts, dir);
    assert_null(template_get(&ts, "cycle-a", "x", &d));
    template_set_free(&ts);
    template_set_free(&ts);
    diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_errors),      cmocka_unit_test(template_names),
        cmocka_unit_test(extends_and_lists),    cmocka_unit_test(expansion),
        cmocka_unit_test(model_from_site_list), cmocka_unit_test(model_errors),
        cmocka_unit_test(site_list_errors),     cmocka_unit_test(ini_rejections),
        cmocka_unit_test(ini_line_limit),       cmocka_unit_test(constructors_clean_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
