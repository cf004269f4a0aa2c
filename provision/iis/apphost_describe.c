/* SPDX-License-Identifier: GPL-3.0-or-later */
/* apphost_describe_site: an existing site read back in the terms of a site
 * list, for `import` (apphost.h). Reads only. */
#include "provision/iis/apphost_internal.h"

#include <stdlib.h>
#include <string.h>

static void add_unmanaged(struct iis_site_desc *d, char *text)
{
    d->unmanaged = xrealloc(d->unmanaged, (d->n_unmanaged + 1) * sizeof *d->unmanaged);
    d->unmanaged[d->n_unmanaged++] = text;
}

static bool truthy(char *v)
{
    bool t = v && ascii_equal_ci(v, "true");
    free(v);
    return t;
}

/* The bindings as site lists write them, or why they cannot be. */
static void describe_bindings(const struct apphost *ah, int32_t site, struct iis_site_desc *d)
{
    const struct xml_doc *doc = &ah->doc;
    int32_t b = xml_child(doc, site, "bindings");
    for (int32_t x = b >= 0 ? xml_first_child(doc, b) : -1; x >= 0 && !d->bindings_problem;
         x = doc->elems[x].next) {
        if (!xml_is(doc, x, "binding")) {
            d->bindings_problem = xstrdup("its <bindings> hold more than <binding> elements");
            break;
        }
        char *proto = xml_get(doc, x, "protocol");
        char *info = xml_get(doc, x, "bindingInformation");
        char *flags = xml_get(doc, x, "sslFlags");
        unsigned long f = flags ? strtoul(flags, NULL, 10) : 0;
        const char *why = NULL;
        if (!proto || !info || (!ascii_equal_ci(proto, "http") && !ascii_equal_ci(proto, "https")))
            d->bindings_problem =
                xasprintf("binding '%s/%s': provision manages http and https bindings only",
                          proto ? proto : "", info ? info : "");
        else if (f > 1)
            d->bindings_problem = xasprintf(
                "binding '%s/%s' has sslFlags %lu: provision writes 0 or 1 (SNI)", proto, info, f);
        else if ((why = iis_check_binding_information(proto, info, (unsigned)f)))
            d->bindings_problem = xasprintf("binding '%s/%s': %s", proto, info, why);
        else if (strchr(info, ','))
            d->bindings_problem = xasprintf(
                "binding '%s/%s' holds a comma, which a site list cannot write", proto, info);
        if (!d->bindings_problem) {
            d->bindings = xrealloc(d->bindings, (d->n_bindings + 1) * sizeof *d->bindings);
            d->bindings[d->n_bindings++] = xasprintf("%s/%s%s", proto, info, f ? ";sni" : "");
        }
        free(proto);
        free(info);
        free(flags);
    }
}

/* Applications other than the root, virtual directories other than the
 * root application's "/": provision leaves them alone. */
static void describe_extras(const struct apphost *ah, int32_t site, int32_t root,
                            struct iis_site_desc *d)
{
    const struct xml_doc *doc = &ah->doc;
    for (int32_t a = xml_child(doc, site, "application"); a >= 0;
         a = xml_next_named(doc, a, "application")) {
        char *path = xml_get(doc, a, "path");
        if (a != root) {
            char *pool = ah_app_pool_of(ah, a);
            add_unmanaged(d, xasprintf("application %s (pool %s)", path ? path : "?", pool));
            free(pool);
        }
        for (int32_t v = xml_child(doc, a, "virtualDirectory"); v >= 0;
             v = xml_next_named(doc, v, "virtualDirectory")) {
            char *vpath = xml_get(doc, v, "path");
            if (a != root || !vpath || strcmp(vpath, "/") != 0) {
                char *phys = xml_get(doc, v, "physicalPath");
                char *user = xml_get(doc, v, "userName");
                bool app_root = !path || !strcmp(path, "/");
                bool vdir_root = !vpath || !strcmp(vpath, "/");
                add_unmanaged(d, xasprintf("virtual directory %s%s -> %s%s%s", app_root ? "" : path,
                                           vdir_root && !app_root ? "" : (vpath ? vpath : "/"),
                                           phys ? phys : "?", user && *user ? ", connects as " : "",
                                           user && *user ? user : ""));
                free(phys);
                free(user);
            }
            free(vpath);
        }
        free(path);
    }
}

int apphost_describe_site(const struct apphost *ah, const char *name, struct iis_site_desc *out)
{
    memset(out, 0, sizeof *out);
    const struct site_state *ss = strmap_get(&ah->sites, name);
    if (!ss || ss->removed || ss->elem < 0)
        return -1;
    const struct xml_doc *doc = &ah->doc;
    int32_t el = ss->elem;
    out->name = xstrdup(ss->name);
    out->id = ss->id;
    out->auto_start = truthy(ah_effective(ah, el, ah->site_defaults_el, "serverAutoStart", "true"));

    int32_t root = ah_root_app(ah, el);
    out->pool = root >= 0 ? ah_app_pool_of(ah, root) : xstrdup("");
    const struct pool_state *ps = strmap_get(&ah->pools, out->pool);
    int32_t pel = ps && !ps->removed ? ps->elem : -1;
    out->pool_exists = pel >= 0;
    int32_t defs = ah->pool_defaults_el;
    out->runtime = ah_effective(ah, pel, defs, "managedRuntimeVersion", "");
    out->pipeline = ah_effective(ah, pel, defs, "managedPipelineMode", "Integrated");
    out->start_mode = ah_effective(ah, pel, defs, "startMode", "OnDemand");
    out->pool_auto_start = truthy(ah_effective(ah, pel, defs, "autoStart", "true"));
    int32_t pm = pel >= 0 ? xml_child(doc, pel, "processModel") : -1;
    int32_t pm_defs = ah->pool_defaults_pm_el;
    out->identity = ah_effective(ah, pm, pm_defs, "identityType", "ApplicationPoolIdentity");
    out->identity_user = pm >= 0 ? xml_get(doc, pm, "userName") : NULL;
    out->idle_timeout = ah_effective(ah, pm, pm_defs, "idleTimeout", "00:20:00");
    out->load_user_profile = truthy(ah_effective(ah, pm, pm_defs, "loadUserProfile", "false"));

    for (int32_t v = root >= 0 ? xml_child(doc, root, "virtualDirectory") : -1; v >= 0;
         v = xml_next_named(doc, v, "virtualDirectory")) {
        char *vpath = xml_get(doc, v, "path");
        bool is_root = vpath && !strcmp(vpath, "/");
        free(vpath);
        if (!is_root)
            continue;
        out->physical_path = xml_get(doc, v, "physicalPath");
        out->vdir_user = xml_get(doc, v, "userName");
        if (out->vdir_user && !*out->vdir_user) {
            free(out->vdir_user);
            out->vdir_user = NULL;
        }
        break;
    }

    char *global = ah_global_anonymous_user(ah);
    int32_t node = ah_location_of(ah, ss->name);
    for (int k = 0; k < ANON_DEPTH && node >= 0; k++)
        node = xml_child(doc, node, anon_chain[k]);
    out->anonymous_user =
        node >= 0 ? ah_effective(ah, node, -1, "userName", global) : xstrdup(global);
    struct xml_attr attr;
    out->anonymous_own = node >= 0 && xml_attr_find(doc, node, "userName", &attr);
    free(global);
    describe_bindings(ah, el, out);
    describe_extras(ah, el, root, out);
    return 0;
}

void iis_site_desc_free(struct iis_site_desc *d)
{
    free(d->name);
    free(d->pool);
    free(d->runtime);
    free(d->pipeline);
    free(d->start_mode);
    free(d->identity);
    free(d->identity_user);
    free(d->idle_timeout);
    free(d->physical_path);
    free(d->vdir_user);
    free(d->anonymous_user);
    for (size_t i = 0; i < d->n_bindings; i++)
        free(d->bindings[i]);
    free(d->bindings);
    free(d->bindings_problem);
    for (size_t i = 0; i < d->n_unmanaged; i++)
        free(d->unmanaged[i]);
    free(d->unmanaged);
    memset(d, 0, sizeof *d);
}

int apphost_site_vdirs(const struct apphost *ah, const char *site, iis_vdir_visitor visit,
                       void *arg)
{
    const struct site_state *ss = strmap_get(&ah->sites, site);
    if (!ss || ss->removed || ss->elem < 0)
        return -1;
    const struct xml_doc *doc = &ah->doc;
    for (int32_t a = xml_child(doc, ss->elem, "application"); a >= 0;
         a = xml_next_named(doc, a, "application")) {
        char *path = xml_get(doc, a, "path");
        char *pool = ah_app_pool_of(ah, a);
        for (int32_t v = xml_child(doc, a, "virtualDirectory"); v >= 0;
             v = xml_next_named(doc, v, "virtualDirectory")) {
            char *vpath = xml_get(doc, v, "path");
            char *phys = xml_get(doc, v, "physicalPath");
            char *user = xml_get(doc, v, "userName");
            char *password = xml_get(doc, v, "password");
            bool has = password && *password;
            bool encrypted = has && !strncmp(password, "[enc:", 5);
            struct iis_vdir_info info = {
                .app_path = path ? path : "",
                .app_pool = pool,
                .vdir_path = vpath ? vpath : "",
                .physical_path = phys ? phys : "",
                .user = user && *user ? user : NULL,
                .has_password = has,
                .password = has && !encrypted ? password : NULL,
            };
            visit(&info, arg);
            free(vpath);
            free(phys);
            free(user);
            free_secret(password);
        }
        free(path);
        free(pool);
    }
    return 0;
}

int apphost_pool_identity(const struct apphost *ah, const char *pool, char **type, char **user)
{
    const struct pool_state *ps = strmap_get(&ah->pools, pool);
    if (!ps || ps->removed || ps->elem < 0)
        return -1;
    int32_t pm = xml_child(&ah->doc, ps->elem, "processModel");
    *type =
        ah_effective(ah, pm, ah->pool_defaults_pm_el, "identityType", "ApplicationPoolIdentity");
    *user = pm >= 0 ? xml_get(&ah->doc, pm, "userName") : NULL;
    return 0;
}
