/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as a site list, against a fixed valid
 * configuration and the shipped templates (the templates folder's .ini files, copied at
 * start-up, plus two written here), so that the input gets past template
 * resolution: what provision's load_input does (provision/run.c) --
 * site_list_load, then per entry site_model_build, access_check_site and
 * folders_check_model -- and then, for every model that builds, the IIS
 * checks and edits on a minimal applicationHost.config, rendered and read
 * back. fuzz_template fuzzes the templates themselves (with a fixed list).
 * Nothing may crash or leak, and:
 *   - a failed site_list_load leaves the list as it was (site.h);
 *   - loading the same list again into a list that holds it fails (every
 *     name is a duplicate) and leaves the list as it was;
 *   - when a model does not build, there are messages saying why;
 *   - a model that passes apphost_check_site is accepted by
 *     apphost_ensure_site (run.c calls that "cannot happen"), the result
 *     loads again and a second ensure finds nothing to do. */
#include "provision/access.h"
#include "provision/folders.h"
#include "provision/iis/apphost.h"
#include "provision/site.h"
#include "provision/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FUZZ_TEMPLATES_DIR
#error "FUZZ_TEMPLATES_DIR (the repository's templates folder) must be defined"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct conf conf;

static const char conf_text[] = "[iis]\nconfig = applicationHost.config\n"
                                "[content]\nroot = D:\\Sites\n"
                                "location = script:/nonexistent/provision-fuzz/grants.ps1\n"
                                "[templates]\ndir = .\n"
                                "[directory]\nnetbios = LAB\n";
/* Every key a template may hold, so that every override is one it knows. */
static const char full_text[] = "[template]\nextends = standard\ndescription = all keys\n"
                                "[pool]\nname = p-${site}\nruntime = v2.0\npipeline = Classic\n"
                                "start_mode = AlwaysRunning\nauto_start = false\n"
                                "identity = networkservice\nidle_timeout = 00:20:00\n"
                                "load_user_profile = true\n"
                                "[site]\nname = ${site}\nid = 7\nauto_start = true\n"
                                "connect_as = pass-through\n"
                                "bindings = https/*:443:${site};sni\n"
                                "[folders]\nlogs = ${root}\\${site}\\logs\n"
                                "[grants]\nlogs = pool:(OI)(CI)M, S-1-5-32-545:R\n";
static const char bad_text[] = "[template]\nextends = nosuch\n";
static const char *const shipped[] = {"standard", "static", "ad-identity"};
static const char apphost_text[] = "<configuration><system.applicationHost><applicationPools/>"
                                   "<sites/></system.applicationHost></configuration>";

static void write_file(const char *name, const void *text, size_t len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(text, 1, len, f) != len) || fclose(f) != 0)
        abort();
}

static void cleanup(void)
{
    static const char *const names[] = {"provision.ini",  "full.ini",     "bad.ini",
                                        "sites.ini",      "standard.ini", "static.ini",
                                        "ad-identity.ini"};
    char path[160];
    conf_free(&conf);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/provision-fuzz-sites-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++) {
        char *src = xasprintf("%s/%s.ini", FUZZ_TEMPLATES_DIR, shipped[i]);
        char *text, *name = xasprintf("%s.ini", shipped[i]);
        size_t len;
        if (read_file(src, &text, &len) < 0) {
            fprintf(stderr, "fuzz_sitelist: cannot read %s\n", src);
            abort();
        }
        write_file(name, text, len);
        free(text);
        free(name);
        free(src);
    }
    write_file("full.ini", full_text, sizeof full_text - 1);
    write_file("bad.ini", bad_text, sizeof bad_text - 1);
    write_file("provision.ini", conf_text, sizeof conf_text - 1);
    char path[160];
    snprintf(path, sizeof path, "%s/provision.ini", dir);
    struct diag d;
    diag_init(&d);
    if (conf_load(path, &conf, &d) != 0) {
        for (size_t i = 0; i < d.count; i++)
            fprintf(stderr, "fuzz_sitelist: %s\n", d.msgs[i]);
        abort();
    }
    diag_free(&d);
    atexit(cleanup);
}

static struct apphost *load_apphost(const char *text, size_t len)
{
    struct diag d;
    diag_init(&d);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    struct apphost *ah = apphost_load(copy, len, "fuzz", &d);
    diag_free(&d);
    return ah;
}

/* The IIS half of a run for one model that built. */
static void iis_edits(const struct site_model *m)
{
    struct apphost *ah = load_apphost(apphost_text, sizeof apphost_text - 1);
    if (!ah)
        abort();
    struct diag d;
    struct changes ch;
    diag_init(&d);
    changes_init(&ch);
    if (apphost_check_site(ah, &m->pool, &m->site, &d) == 0) {
        if (apphost_ensure_site(ah, &m->pool, &m->site, &ch, &d) != 0)
            abort(); /* accepted by the check, refused by the edit */
        size_t len;
        char *out = apphost_render(ah, &len);
        struct apphost *again = load_apphost(out, len);
        if (!again)
            abort(); /* an edit produced a file we cannot read back */
        struct changes ch2;
        changes_init(&ch2);
        if (apphost_ensure_site(again, &m->pool, &m->site, &ch2, &d) != 0 || ch2.count != 0)
            abort(); /* a second apply must find nothing to do */
        changes_free(&ch2);
        apphost_free(again);
        free(out);
    }
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    write_file("sites.ini", data, size);
    char path[160];
    snprintf(path, sizeof path, "%s/sites.ini", dir);

    struct diag d;
    diag_init(&d);
    struct site_list list = {0};
    if (site_list_load(&list, path, &d) != 0) {
        if (list.count != 0 || list.items != NULL || d.count == 0)
            abort(); /* "the list is left as it was", with a reason */
        diag_free(&d);
        return 0;
    }
    /* The same file again: every site is listed twice now. */
    size_t count = list.count;
    int again = site_list_load(&list, path, &d);
    if ((count && again == 0) || list.count != count)
        abort();
    if (!count && again != 0)
        abort(); /* an empty list (comments only) loads again */

    struct template_set ts;
    template_set_init(&ts, conf.templates_dir);
    size_t mark = d.count;
    bool refused = false;
    for (size_t i = 0; i < list.count; i++) {
        struct site_model m;
        int rc = site_model_build(&conf, &ts, &list.items[i], &m, &d);
        refused |= rc != 0;
        if (rc == 0 && access_check_site(&m, &d) == 0 && folders_check_model(&conf, &m, &d) == 0)
            iis_edits(&m);
        site_model_free(&m);
    }
    /* A refusal says why (a template that failed is reported once, for
     * the first site that names it). */
    if (refused && d.count == mark)
        abort();
    template_set_free(&ts);
    site_list_free(&list);
    diag_free(&d);
    return 0;
}
