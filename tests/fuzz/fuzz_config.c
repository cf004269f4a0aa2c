/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as applicationHost.config. Whatever loads
 * must take a site and still load after the edit; removing it again must
 * give back a loadable file. Whatever is refused must be refused without
 * an internal error (our scanner and libxml2 must agree). */
#include "provision/iis/apphost.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct apphost *load(const char *data, size_t len)
{
    struct diag d;
    diag_init(&d);
    char *copy = xmalloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = '\0';
    struct apphost *ah = apphost_load(copy, len, "fuzz", &d);
    /* The scanner and libxml2 disagreeing on where elements are is a bug
     * of the scanner (xmldoc.c), however the file is refused. */
    for (size_t i = 0; i < d.count; i++)
        if (!strncmp(d.msgs[i], "fuzz: internal error:", 21))
            abort();
    diag_free(&d);
    return ah;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct apphost *ah = load((const char *)data, size);
    if (!ah)
        return 0;
    struct iis_binding b;
    iis_parse_binding("http/*:80:fuzz.example.com", &b);
    struct iis_pool_spec pool = {.name = "fuzz",
                                 .runtime = "v4.0",
                                 .pipeline = "Integrated",
                                 .start_mode = "OnDemand",
                                 .auto_start = 1,
                                 .identity = IIS_IDENTITY_APPPOOL,
                                 .load_user_profile = -1};
    struct iis_site_spec site = {.name = "fuzz",
                                 .auto_start = 1,
                                 .pool = "fuzz",
                                 .physical_path = "D:\\fuzz",
                                 .bindings = &b,
                                 .n_bindings = 1,
                                 .anonymous_user = ""};
    struct changes ch;
    struct diag d;
    changes_init(&ch);
    diag_init(&d);
    if (apphost_ensure_site(ah, &pool, &site, &ch, &d) == 0) {
        size_t len;
        char *out = apphost_render(ah, &len);
        struct apphost *again = load(out, len);
        if (!again)
            abort(); /* an edit produced a file we cannot read back */
        struct changes ch2;
        changes_init(&ch2);
        if (apphost_ensure_site(again, &pool, &site, &ch2, &d) != 0 || ch2.count != 0)
            abort(); /* a second apply must find nothing to do */
        if (apphost_remove_site(again, "fuzz", "fuzz", &ch2, &d) == 0) {
            char *back = apphost_render(again, &len);
            struct apphost *third = load(back, len);
            if (!third)
                abort();
            apphost_free(third);
            free(back);
        }
        changes_free(&ch2);
        apphost_free(again);
        free(out);
    }
    changes_free(&ch);
    diag_free(&d);
    apphost_free(ah);
    return 0;
}
