/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The applicationHost.config engine on the real fixtures: create, re-apply
 * (no change), update, remove (back to the original bytes), and the rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "provision/iis/apphost.h"
#include "testutil.h"

static const char *const DEFAULT = "applicationHost.server2016-default.config";
static const char *const PROXY = "applicationHost.reverse-proxy.config";

static struct apphost *load_fixture(const char *name)
{
    size_t len;
    char *text = fixture(name, &len);
    struct diag d;
    diag_init(&d);
    struct apphost *ah = apphost_load(text, len, name, &d);
    if (!ah)
        fail_msg("%s: %s", name, d.count ? d.msgs[0] : "?");
    diag_free(&d);
    return ah;
}

static struct apphost *reload(struct apphost *ah)
{
    size_t len;
    char *text = apphost_render(ah, &len);
    apphost_free(ah);
    struct diag d;
    diag_init(&d);
    ah = apphost_load(text, len, "rendered", &d);
    if (!ah)
        fail_msg("rendered config does not load: %s", d.count ? d.msgs[0] : "?");
    diag_free(&d);
    return ah;
}

static struct iis_binding B(const char *text) {
    struct iis_binding b;
    const char *why = iis_parse_binding(text, &b);
    if (why)
        fail_msg("%s: %s", text, why);
    return b;
}

struct spec {
    struct iis_pool_spec pool;
    struct iis_site_spec site;
    struct iis_binding bindings[4];
};

static void make_spec(struct spec *s, const char *name, const char *binding)
{
    memset(s, 0, sizeof *s);
    s->pool = (struct iis_pool_spec){.name = name,
                                     .runtime = "v4.0",
                                     .pipeline = "Integrated",
                                     .start_mode = "OnDemand",
                                     .auto_start = 1,
                                     .identity = IIS_IDENTITY_APPPOOL,
                                     .load_user_profile = -1};
    s->bindings[0] = B(binding);
    s->site = (struct iis_site_spec){.name = name,
                                     .auto_start = 1,
                                     .pool = name,
                                     .physical_path = "D:\\Sites\\x\\wwwroot",
                                     .bindings = s->bindings,
                                     .n_bindings = 1,
                                     .anonymous_user = ""};
}

static int ensure(struct apphost *ah, struct spec *s, struct changes *ch, struct diag *d)
{
    return apphost_ensure_site(ah, &s->pool, &s->site, ch, d);
}

static char *original(const char *name, size_t *len)
{
    return fixture(name, len);
}

static void unchanged_render_is_identical(void **state)
{
    (void)state;
    const char *names[] = {DEFAULT, PROXY};
    for (int i = 0; i < 2; i++) {
        struct apphost *ah = load_fixture(names[i]);
        size_t len, olen;
        char *out = apphost_render(ah, &len);
        char *orig = original(names[i], &olen);
        assert_int_equal(len, olen);
        assert_memory_equal(out, orig, len);
        assert_false(apphost_dirty(ah));
        free(out);
        free(orig);
        apphost_free(ah);
    }
}

static void create_reapply_remove_round_trip(void **state)
{
    (void)state;
    const char *names[] = {DEFAULT, PROXY};
    for (int f = 0; f < 2; f++) {
        struct apphost *ah = load_fixture(names[f]);
        struct spec s;
        make_spec(&s, "shop.example.com", "http/*:80:shop.example.com");
        struct changes ch;
        struct diag d;
        changes_init(&ch);
        diag_init(&d);
        assert_int_equal(ensure(ah, &s, &ch, &d), 0);
        assert_int_equal(ch.count, 3); /* + pool, + site, + location */
        assert_int_equal(ch.items[0].op, '+');
        assert_string_equal(ch.items[0].kind, "pool");
        assert_string_equal(ch.items[1].kind, "site");
        assert_string_equal(ch.items[2].kind, "location");
        changes_free(&ch);

        ah = reload(ah);
        size_t len;
        char *text = apphost_render(ah, &len);
        /* IIS's own style: CRLF, space before "/>", pass-through vdir. */
        assert_non_null(strstr(text, "            <add name=\"shop.example.com\" "
                                     "managedRuntimeVersion=\"v4.0\" managedPipelineMode="
                                     "\"Integrated\">\r\n                <processModel "
                                     "identityType=\"ApplicationPoolIdentity\" />\r\n"));
        assert_non_null(strstr(text, "<virtualDirectory path=\"/\" physicalPath=\"D:\\Sites\\x\\"
                                     "wwwroot\" />"));
        assert_non_null(strstr(text, "<site name=\"shop.example.com\" id=\"2\">"));
        assert_non_null(strstr(text, "<location path=\"shop.example.com\">"));
        assert_non_null(strstr(text, "<anonymousAuthentication userName=\"\" />"));
        for (size_t i = 0; i < len; i++) /* no bare LF slipped into a CRLF file */
            if (text[i] == '\n')
                assert_int_equal(text[i - 1], '\r');
        free(text);

        /* Re-apply: nothing to do. */
        changes_init(&ch);
        assert_int_equal(ensure(ah, &s, &ch, &d), 0);
        assert_int_equal(ch.count, 0);
        assert_false(apphost_dirty(ah));
        changes_free(&ch);

        /* Remove: back to the original bytes. */
        changes_init(&ch);
        assert_int_equal(apphost_remove_site(ah, "shop.example.com", "shop.example.com", &ch, &d),
                         0);
        assert_int_equal(ch.count, 3);
        changes_free(&ch);
        ah = reload(ah);
        size_t olen;
        char *orig = original(names[f], &olen);
        text = apphost_render(ah, &len);
        assert_int_equal(len, olen);
        assert_memory_equal(text, orig, len);
        free(text);
        free(orig);
        assert_int_equal(d.count, 0);
        diag_free(&d);
        apphost_free(ah);
    }
}

static void batch_ids_and_order(void **state)
{
    (void)state;
    struct apphost *ah = load_fixture(DEFAULT);
    struct changes ch;
    struct diag d;
    changes_init(&ch);
    diag_init(&d);
    char names[20][32], binding[20][64];
    for (int i = 0; i < 20; i++) {
        struct spec s;
        snprintf(names[i], sizeof names[i], "site%02d", i);
        snprintf(binding[i], sizeof binding[i], "http/*:80:site%02d.example.com", i);
        make_spec(&s, names[i], binding[i]);
        assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    }
    ah = reload(ah);
    size_t len;
    char *text = apphost_render(ah, &len);
    const char *prev = text;
    for (int i = 0; i < 20; i++) {
        char want[64];
        snprintf(want, sizeof want, "<site name=\"site%02d\" id=\"%d\">", i, i + 2);
        const char *at = strstr(text, want);
        assert_non_null(at);
        assert_true(at > prev); /* batch order kept */
        prev = at;
    }
    assert_int_equal(apphost_site_count(ah), 21);
    free(text);
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

static void binding_conflicts_are_refused(void **state)
{
    (void)state;
    struct apphost *ah = load_fixture(DEFAULT);
    struct changes ch;
    struct diag d;
    changes_init(&ch);
    diag_init(&d);
    struct spec s;
    make_spec(&s, "other", "http/*:80:"); /* Default Web Site has *:80: */
    assert_int_equal(ensure(ah, &s, &ch, &d), -1);
    assert_int_equal(ch.count, 0);
    assert_false(apphost_dirty(ah));
    assert_non_null(strstr(d.msgs[0], "Default Web Site"));
    assert_non_null(strstr(d.msgs[0], "other"));

    make_spec(&s, "a", "http/*:80:Same.example.com");
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    struct spec t;
    make_spec(&t, "b", "http/*:80:same.EXAMPLE.com");
    assert_int_equal(ensure(ah, &t, &ch, &d), -1); /* case-insensitive host */
    assert_non_null(strstr(d.msgs[d.count - 1], "'a'"));
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

static void ids_and_pool_conflicts(void **state)
{
    (void)state;
    struct apphost *ah = load_fixture(DEFAULT);
    struct changes ch;
    struct diag d;
    changes_init(&ch);
    diag_init(&d);
    struct spec s;
    make_spec(&s, "x", "http/*:80:x");
    s.site.id = 1; /* Default Web Site's */
    assert_int_equal(ensure(ah, &s, &ch, &d), -1);
    assert_non_null(strstr(d.msgs[0], "id 1"));
    s.site.id = 4294967295UL;
    if (ensure(ah, &s, &ch, &d) != 0)
        fail_msg("%s", d.msgs[d.count - 1]);
    /* Two sites asking one pool for different settings in one run. */
    struct spec a, b;
    make_spec(&a, "a", "http/*:80:a");
    make_spec(&b, "b", "http/*:80:b");
    a.pool.name = a.site.pool = b.pool.name = b.site.pool = "shared";
    b.pool.pipeline = "Classic";
    if (ensure(ah, &a, &ch, &d) != 0)
        fail_msg("%s", d.msgs[d.count - 1]);
    assert_int_equal(ensure(ah, &b, &ch, &d), -1);
    assert_non_null(strstr(d.msgs[d.count - 1], "set differently by site 'a'"));
    b.pool.pipeline = "Integrated";
    assert_int_equal(ensure(ah, &b, &ch, &d), 0);
    ah = reload(ah);
    /* Removing a with its pool is refused: b still uses it. */
    changes_free(&ch);
    changes_init(&ch);
    assert_int_equal(apphost_remove_site(ah, "a", "shared", &ch, &d), -1);
    assert_non_null(strstr(d.msgs[d.count - 1], "'b'"));
    assert_int_equal(ch.count, 0);
    assert_false(apphost_dirty(ah));
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

static void updates_are_in_place(void **state)
{
    (void)state;
    struct apphost *ah = load_fixture(DEFAULT);
    struct changes ch;
    struct diag d;
    changes_init(&ch);
    diag_init(&d);
    struct spec s;
    make_spec(&s, "shop", "http/*:80:shop");
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    ah = reload(ah);
    changes_free(&ch);
    changes_init(&ch);
    s.pool.pipeline = "Classic";
    s.pool.identity = IIS_IDENTITY_NETWORKSERVICE;
    s.site.physical_path = "E:\\new\\path";
    s.bindings[1] = B("https/*:443:shop;sni");
    s.site.n_bindings = 2;
    s.site.anonymous_user = "IUSR";
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    assert_int_equal(ch.count, 3); /* ~ pool, ~ site, ~ location */
    for (size_t i = 0; i < ch.count; i++)
        assert_int_equal(ch.items[i].op, '~');
    ah = reload(ah);
    size_t len;
    char *text = apphost_render(ah, &len);
    assert_non_null(strstr(text, "<add name=\"shop\" managedRuntimeVersion=\"v4.0\" "
                                 "managedPipelineMode=\"Classic\">"));
    assert_non_null(strstr(text, "<processModel identityType=\"NetworkService\" />"));
    assert_non_null(strstr(text, "physicalPath=\"E:\\new\\path\""));
    assert_non_null(strstr(text, "<binding protocol=\"https\" bindingInformation=\"*:443:shop\" "
                                 "sslFlags=\"1\" />"));
    assert_non_null(strstr(text, "<anonymousAuthentication userName=\"IUSR\" />"));
    free(text);
    changes_free(&ch);
    changes_init(&ch);
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    assert_int_equal(ch.count, 0);
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

static const char *const WITH_SECRETS =
    "<configuration>\n"
    "  <system.applicationHost>\n"
    "    <applicationPools>\n"
    "      <add name=\"p\" managedRuntimeVersion=\"v4.0\" managedPipelineMode=\"Integrated\">\n"
    "        <processModel identityType=\"SpecificUser\" userName=\"LAB\\IUSR_p\" "
    "password=\"[enc:IISWASOnlyCngProvider:QUJD+/=:enc]\" />\n"
    "      </add>\n"
    "    </applicationPools>\n"
    "    <sites>\n"
    "      <site name=\"p\" id=\"7\">\n"
    "        <application path=\"/\" applicationPool=\"p\">\n"
    "          <virtualDirectory path=\"/\" physicalPath=\"D:\\p\" userName=\"LAB\\u\" "
    "password=\"[enc:IISCngProvider:WFla:enc]\" />\n"
    "        </application>\n"
    "        <bindings>\n"
    "          <binding protocol=\"http\" bindingInformation=\"*:80:p\" />\n"
    "        </bindings>\n"
    "      </site>\n"
    "    </sites>\n"
    "  </system.applicationHost>\n"
    "</configuration>\n";

static void encrypted_passwords_kept_and_passthrough(void **state)
{
    (void)state;
    struct diag d;
    diag_init(&d);
    size_t len;
    char *text = dup_text(WITH_SECRETS, &len);
    struct apphost *ah = apphost_load(text, len, "secrets.config", &d);
    assert_non_null(ah);
    struct spec s;
    make_spec(&s, "p", "http/*:80:p");
    s.pool.identity = IIS_IDENTITY_SPECIFICUSER;
    s.pool.user_name = "LAB\\IUSR_p";
    s.pool.password = "NewSecret-1";
    s.site.physical_path = "D:\\p";
    s.site.anonymous_user = NULL;
    struct changes ch;
    changes_init(&ch);
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    /* The pool's encrypted password cannot be compared: kept. The vdir
     * switches to pass-through: userName and password go. */
    assert_int_equal(ch.count, 1);
    assert_string_equal(ch.items[0].kind, "site");
    char *out = apphost_render(ah, &len);
    assert_non_null(strstr(out, "password=\"[enc:IISWASOnlyCngProvider:QUJD+/=:enc]\""));
    assert_non_null(strstr(out, "<virtualDirectory path=\"/\" physicalPath=\"D:\\p\" />"));
    assert_null(strstr(out, "IISCngProvider"));
    assert_null(strstr(out, "NewSecret"));
    /* LF file stays LF, two-space indentation detected. */
    assert_null(strstr(out, "\r\n"));
    for (size_t i = 0; i < ch.count; i++)
        for (size_t a = 0; a < ch.items[i].n_attrs; a++) {
            const struct change_attr *at = &ch.items[i].attrs[a];
            if (at->old_value)
                assert_null(strstr(at->old_value, "enc:"));
        }
    free(out);
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

static void plain_password_written_and_reported_secret(void **state)
{
    (void)state;
    struct apphost *ah = load_fixture(DEFAULT);
    struct spec s;
    make_spec(&s, "acct", "http/*:80:acct");
    s.pool.identity = IIS_IDENTITY_SPECIFICUSER;
    s.pool.user_name = "LAB\\IUSR_acct";
    s.pool.password = "S3cret&\"<x";
    struct changes ch;
    struct diag d;
    changes_init(&ch);
    diag_init(&d);
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    for (size_t i = 0; i < ch.count; i++)
        for (size_t a = 0; a < ch.items[i].n_attrs; a++) {
            const struct change_attr *at = &ch.items[i].attrs[a];
            if (!strcmp(at->name, "password")) {
                assert_true(at->secret);
                assert_null(at->new_value);
            }
        }
    ah = reload(ah);
    size_t len;
    char *out = apphost_render(ah, &len);
    assert_non_null(strstr(out, "userName=\"LAB\\IUSR_acct\" password=\"S3cret&amp;&quot;&lt;x\""));
    free(out);
    changes_free(&ch);
    changes_init(&ch);
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    assert_int_equal(ch.count, 0);
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

static void refuses_non_iis_documents(void **state)
{
    (void)state;
    static const char no_pools[] =
        "<configuration><system.applicationHost><sites/></system.applicationHost></configuration>";
    const char *bad[] = {"<configuration/>", no_pools, "<root/>"};
    for (size_t i = 0; i < 3; i++) {
        struct diag d;
        diag_init(&d);
        size_t len;
        char *text = dup_text(bad[i], &len);
        assert_null(apphost_load(text, len, "x.config", &d));
        assert_int_equal(d.count, 1);
        assert_non_null(strstr(d.msgs[0], "not an applicationHost.config"));
        diag_free(&d);
    }
}

static void existing_location_content_kept(void **state)
{
    (void)state;
    struct apphost *ah = load_fixture(PROXY);
    struct spec s;
    make_spec(&s, "Default Web Site", "http/*:80:");
    s.bindings[1] = B("https/*:443:");
    s.site.n_bindings = 2;
    s.pool.name = s.site.pool = "DefaultAppPool";
    s.site.physical_path = "%SystemDrive%\\inetpub\\wwwroot";
    s.site.id = 0;
    struct changes ch;
    struct diag d;
    changes_init(&ch);
    diag_init(&d);
    assert_int_equal(ensure(ah, &s, &ch, &d), 0);
    ah = reload(ah);
    size_t len;
    char *out = apphost_render(ah, &len);
    const char *loc = strstr(out, "<location path=\"Default Web Site\">");
    assert_non_null(loc);
    assert_non_null(strstr(loc, "<allowedServerVariables>"));
    assert_non_null(strstr(loc, "<anonymousAuthentication userName=\"\" />"));
    free(out);
    /* Removing the site keeps the rewrite settings, drops only ours. */
    changes_free(&ch);
    changes_init(&ch);
    assert_int_equal(apphost_remove_site(ah, "Default Web Site", NULL, &ch, &d), 0);
    out = apphost_render(ah, &len);
    assert_non_null(strstr(out, "<allowedServerVariables>"));
    assert_null(strstr(out, "anonymousAuthentication userName=\"\""));
    assert_null(strstr(out, "<site name=\"Default Web Site\""));
    free(out);
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unchanged_render_is_identical),
        cmocka_unit_test(create_reapply_remove_round_trip),
        cmocka_unit_test(batch_ids_and_order),
        cmocka_unit_test(binding_conflicts_are_refused),
        cmocka_unit_test(ids_and_pool_conflicts),
        cmocka_unit_test(updates_are_in_place),
        cmocka_unit_test(encrypted_passwords_kept_and_passthrough),
        cmocka_unit_test(plain_password_written_and_reported_secret),
        cmocka_unit_test(refuses_non_iis_documents),
        cmocka_unit_test(existing_location_content_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
