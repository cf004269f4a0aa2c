/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as a site template, then as a site list.
 * Nothing may crash or leak; errors are fine. */
#include "provision/site.h"
#include "provision/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void cleanup(void)
{
    static const char *const names[] = {"conf.ini", "sites.ini", "t.ini", "l.ini"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/provision-fuzz-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
        static const char conf[] = "[iis]\nconfig = x\n[content]\nroot = D:\\S\n[templates]\n"
                                   "dir = .\n[directory]\nnetbios = LAB\n";
        static const char list[] = "[site a.example.com]\ntemplate = t\nid = a\n";
        write_file("conf.ini", (const uint8_t *)conf, sizeof conf - 1);
        write_file("sites.ini", (const uint8_t *)list, sizeof list - 1);
    }
    write_file("t.ini", data, size);
    struct diag d;
    diag_init(&d);
    struct conf c;
    char path[128];
    snprintf(path, sizeof path, "%s/conf.ini", dir);
    if (conf_load(path, &c, &d) != 0)
        abort();
    struct template_set ts;
    template_set_init(&ts, dir);
    struct site_list list = {0};
    snprintf(path, sizeof path, "%s/sites.ini", dir);
    if (site_list_load(&list, path, &d) != 0)
        abort();
    struct site_model m;
    site_model_build(&c, &ts, &list.items[0], &m, &d);
    site_model_free(&m);
    site_list_free(&list);
    template_set_free(&ts);
    conf_free(&c);
    /* The same bytes as a site list. */
    struct site_list list2 = {0};
    write_file("l.ini", data, size);
    snprintf(path, sizeof path, "%s/l.ini", dir);
    site_list_load(&list2, path, &d);
    site_list_free(&list2);
    diag_free(&d);
    return 0;
}
