/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as the tool's own configuration file
 * (provision.ini, provision/conf.h: conf_load on a file, as the tool reads
 * it), then conf_free, twice. Nothing may crash or leak. What conf.h
 * promises is checked too: a failed load leaves *c zeroed and says why; a
 * successful one holds a usable configuration (the [iis] config path, an
 * absolute templates folder, valid pool defaults, values in their ranges,
 * a complete [directory] when it has a uri). */
#include "provision/conf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[128];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static void check_loaded(const struct conf *c)
{
    if (!c->path || !c->iis_config || !*c->iis_config)
        abort(); /* [iis] config is required */
    if (c->iis_config[0] != '/' && strncmp(c->iis_config, "smb://", 6) != 0)
        abort(); /* local paths are resolved against the file's folder */
    if (!c->templates_dir || c->templates_dir[0] != '/')
        abort(); /* resolved against the (absolute) file's folder */
    if (check_runtime(c->runtime) || check_pipeline(c->pipeline) ||
        check_start_mode(c->start_mode) || !c->identity || !c->anonymous)
        abort();
    if (c->auto_start != 0 && c->auto_start != 1)
        abort();
    if (c->backups > 1000)
        abort();
    if (c->iis_timeout_ms < 0 || c->iis_timeout_ms > 3600 * 1000 || c->content_timeout_ms < 0 ||
        c->content_timeout_ms > 3600 * 1000)
        abort();
    if (c->state_dir && c->state_dir[0] != '/')
        abort();
    if (c->iis_auth_file && c->iis_auth_file[0] != '/')
        abort();
    if (c->content_auth_file && c->content_auth_file[0] != '/')
        abort();
    const struct conf_directory *d = &c->dir;
    if (d->configured &&
        (!d->uri || !d->base_dn || !d->upn_suffix || !c->netbios_domain ||
         (d->password_file && d->password_env) ||
         (!d->sasl_gssapi && (!d->bind_dn || (!d->password_file && !d->password_env)))))
        abort(); /* an incomplete [directory] must be refused */
    if (d->password_length && (d->password_length < 16 || d->password_length > 128))
        abort();
    if (d->timeout_seconds < 0 || d->timeout_seconds > 3600)
        abort();
    for (size_t i = 0; i < d->n_groups; i++)
        if (!d->groups[i])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/provision-fuzz-conf-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/provision.ini", dir);
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    struct diag d;
    diag_init(&d);
    struct conf c;
    memset(&c, 0xA5, sizeof c); /* conf_load must not read what was there */
    if (conf_load(path, &c, &d) == 0) {
        check_loaded(&c);
    } else {
        static const struct conf zero;
        if (memcmp(&c, &zero, sizeof c) != 0)
            abort(); /* "on failure ... *c is zeroed" */
        if (d.count == 0)
            abort(); /* a refusal says why */
    }
    for (size_t i = 0; i < d.count; i++)
        if (!d.msgs[i] || !*d.msgs[i])
            abort();
    conf_free(&c);
    conf_free(&c); /* "safe on a zeroed struct, and so twice" */
    diag_free(&d);
    return 0;
}
