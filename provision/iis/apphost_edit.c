/* SPDX-License-Identifier: GPL-3.0-or-later */
/* applicationHost.config edits: application pools, sites and the per-site
 * anonymous identity, created, brought in line or removed through the
 * splice primitives of apphost.c (apphost_internal.h). */
#include "provision/iis/apphost_internal.h"

#include "provision/fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pools ---------------------------------------------------------- */

static const char *bool_text(int b)
{
    return b ? "true" : "false";
}

/* A canonical text of a pool spec, to notice two sites asking for the same
 * pool with different settings in one run. */
static char *pool_key(const struct iis_pool_spec *p)
{
    return xasprintf("%s|%s|%s|%d|%d|%s|%s|%d", p->runtime, p->pipeline, p->start_mode,
                     p->auto_start, (int)p->identity, p->user_name ? p->user_name : "",
                     p->idle_timeout ? p->idle_timeout : "", p->load_user_profile);
}

static void pool_model_attrs(struct strbuf *sb, const struct iis_pool_spec *p, struct change *ch)
{
    sb_addf(sb, "<processModel identityType=\"%s\"", iis_identity_name(p->identity));
    change_attr(ch, "identityType", NULL, iis_identity_name(p->identity));
    if (p->identity == IIS_IDENTITY_SPECIFICUSER) {
        ah_attr_text(sb, "userName", p->user_name);
        change_attr(ch, "userName", NULL, p->user_name);
        if (p->password) {
            ah_attr_text(sb, "password", p->password);
            change_secret(ch, "password");
        }
    }
    if (p->idle_timeout) {
        ah_attr_text(sb, "idleTimeout", p->idle_timeout);
        change_attr(ch, "idleTimeout", NULL, p->idle_timeout);
    }
    if (p->load_user_profile >= 0) {
        ah_attr_text(sb, "loadUserProfile", bool_text(p->load_user_profile));
        change_attr(ch, "loadUserProfile", NULL, bool_text(p->load_user_profile));
    }
    sb_adds(sb, " />");
}

static void create_pool(struct apphost *ah, const struct iis_pool_spec *p, struct changes *out)
{
    struct change *ch = changes_add(out, '+', "pool", p->name);
    struct strbuf line;
    sb_init(&line);
    sb_adds(&line, "<add");
    ah_attr_text(&line, "name", p->name);
    ah_attr_text(&line, "managedRuntimeVersion", p->runtime);
    ah_attr_text(&line, "managedPipelineMode", p->pipeline);
    change_attr(ch, "managedRuntimeVersion", NULL, p->runtime);
    change_attr(ch, "managedPipelineMode", NULL, p->pipeline);
    char *auto_start = ah_effective(ah, -1, ah->pool_defaults_el, "autoStart", "true");
    if (!ascii_equal_ci(auto_start, bool_text(p->auto_start))) {
        ah_attr_text(&line, "autoStart", bool_text(p->auto_start));
        change_attr(ch, "autoStart", NULL, bool_text(p->auto_start));
    }
    free(auto_start);
    char *start_mode = ah_effective(ah, -1, ah->pool_defaults_el, "startMode", "OnDemand");
    if (!ascii_equal_ci(start_mode, p->start_mode)) {
        ah_attr_text(&line, "startMode", p->start_mode);
        change_attr(ch, "startMode", NULL, p->start_mode);
    }
    free(start_mode);
    sb_adds(&line, ">");

    /* New pools go after the last <add>, before applicationPoolDefaults. */
    int32_t anchor = ah_last_live(ah, true);
    struct frag f = {ah, {0}, NULL};
    char *base = anchor >= 0 ? xml_indent_of(&ah->doc, anchor) : ah_child_indent(ah, ah->pools_el);
    f.base = base;
    ah_frag_line(&f, 0, line.buf);
    struct strbuf pm;
    sb_init_secret(&pm);
    pool_model_attrs(&pm, p, ch);
    ah_frag_line(&f, 1, pm.buf);
    ah_frag_line(&f, 0, "</add>");
    sb_free_secret(&pm);
    sb_free(&line);
    char *text = ah_frag_take(&f);
    if (anchor >= 0)
        ah_queue_edit(ah, ah->doc.elems[anchor].end, ah->doc.elems[anchor].end, text);
    else if (ah->pool_defaults_el >= 0) {
        /* Before applicationPoolDefaults: its own line block. */
        uint32_t at = ah_block_start(ah, ah->pool_defaults_el);
        ah_queue_edit(ah, at, at, text);
    } else
        ah_insert_child(ah, ah->pools_el, text);
    free(base);
    ah_add_pool_state(ah, p->name, -1);
}

static void update_pool(struct apphost *ah, struct pool_state *ps, const struct iis_pool_spec *p,
                        struct changes *out)
{
    struct change *ch = NULL;
    int32_t el = ps->elem, defs = ah->pool_defaults_el;
    ah_reconcile(ah, el, defs, "managedRuntimeVersion", "", p->runtime, true, &ch, out, "pool",
                 p->name);
    ah_reconcile(ah, el, defs, "managedPipelineMode", "Integrated", p->pipeline, true, &ch, out,
                 "pool", p->name);
    ah_reconcile(ah, el, defs, "startMode", "OnDemand", p->start_mode, true, &ch, out, "pool",
                 p->name);
    ah_reconcile(ah, el, defs, "autoStart", "true", bool_text(p->auto_start), true, &ch, out,
                 "pool", p->name);

    int32_t pm = xml_child(&ah->doc, el, "processModel");
    int32_t pm_defs = ah->pool_defaults_pm_el;
    if (pm < 0) {
        /* Nothing set on the pool yet: add a processModel when the defaults
         * do not already give what we want. */
        char *type = ah_effective(ah, -1, pm_defs, "identityType", "ApplicationPoolIdentity");
        char *idle = ah_effective(ah, -1, pm_defs, "idleTimeout", "00:20:00");
        char *profile = ah_effective(ah, -1, pm_defs, "loadUserProfile", "false");
        bool need = !ascii_equal_ci(type, iis_identity_name(p->identity)) ||
                    p->identity == IIS_IDENTITY_SPECIFICUSER ||
                    (p->idle_timeout && strcmp(idle, p->idle_timeout) != 0) ||
                    (p->load_user_profile >= 0 &&
                     !ascii_equal_ci(profile, bool_text(p->load_user_profile)));
        free(idle);
        free(profile);
        if (need) {
            if (!ch)
                ch = changes_add(out, '~', "pool", p->name);
            struct strbuf sb;
            sb_init_secret(&sb);
            pool_model_attrs(&sb, p, ch);
            char *base = ah_child_indent(ah, el);
            struct frag f = {ah, {0}, base};
            ah_frag_line(&f, 0, sb.buf);
            sb_free_secret(&sb);
            ah_insert_child(ah, el, ah_frag_take(&f));
            free(base);
        }
        free(type);
        return;
    }
    ah_reconcile(ah, pm, pm_defs, "identityType", "ApplicationPoolIdentity",
                 iis_identity_name(p->identity), true, &ch, out, "pool", p->name);
    if (p->identity == IIS_IDENTITY_SPECIFICUSER) {
        ah_reconcile(ah, pm, -1, "userName", "", p->user_name, true, &ch, out, "pool", p->name);
        if (p->password) {
            char *have = xml_get(&ah->doc, pm, "password");
            if (have && strncmp(have, "[enc:", 5) == 0) {
                /* Encrypted with the host's keys: it cannot be compared or
                 * rewritten from here, so it is kept byte for byte. */
            } else if (!have || strcmp(have, p->password) != 0) {
                if (!ch)
                    ch = changes_add(out, '~', "pool", p->name);
                change_secret(ch, "password");
                ah_set_attr(ah, pm, "password", p->password);
            }
            free_secret(have);
        }
    } else {
        char *user = xml_get(&ah->doc, pm, "userName");
        if (user) {
            if (!ch)
                ch = changes_add(out, '~', "pool", p->name);
            change_attr(ch, "userName", user, NULL);
            ah_remove_attr(ah, pm, "userName");
            struct xml_attr a;
            if (xml_attr_find(&ah->doc, pm, "password", &a)) {
                change_secret(ch, "password");
                ah_remove_attr(ah, pm, "password");
            }
        }
        free(user);
    }
    if (p->idle_timeout)
        ah_reconcile(ah, pm, pm_defs, "idleTimeout", "00:20:00", p->idle_timeout, false, &ch, out,
                     "pool", p->name);
    if (p->load_user_profile >= 0)
        ah_reconcile(ah, pm, pm_defs, "loadUserProfile", "false", bool_text(p->load_user_profile),
                     true, &ch, out, "pool", p->name);
}

/* ---- sites ---------------------------------------------------------- */

static void binding_lines(struct frag *f, int level, const struct iis_site_spec *s)
{
    ah_frag_line(f, level, "<bindings>");
    for (size_t i = 0; i < s->n_bindings; i++) {
        struct strbuf sb;
        sb_init(&sb);
        sb_adds(&sb, "<binding");
        ah_attr_text(&sb, "protocol", s->bindings[i].protocol);
        ah_attr_text(&sb, "bindingInformation", s->bindings[i].information);
        if (s->bindings[i].ssl_flags)
            sb_addf(&sb, " sslFlags=\"%u\"", s->bindings[i].ssl_flags);
        sb_adds(&sb, " />");
        ah_frag_line(f, level + 1, sb.buf);
        sb_free(&sb);
    }
    ah_frag_line(f, level, "</bindings>");
}

static char *bindings_summary(const struct iis_site_spec *s)
{
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < s->n_bindings; i++)
        sb_addf(&sb, "%s%s/%s%s", i ? ", " : "", s->bindings[i].protocol,
                s->bindings[i].information, s->bindings[i].ssl_flags ? ";sni" : "");
    return sb_detach(&sb);
}

static void vdir_line(struct strbuf *sb, const struct iis_site_spec *s)
{
    sb_adds(sb, "<virtualDirectory path=\"/\"");
    ah_attr_text(sb, "physicalPath", s->physical_path);
    if (s->vdir_user) {
        ah_attr_text(sb, "userName", s->vdir_user);
        if (s->vdir_password)
            ah_attr_text(sb, "password", s->vdir_password);
    }
    sb_adds(sb, " />");
}

static void create_site(struct apphost *ah, const struct iis_site_spec *s, unsigned long id,
                        struct changes *out)
{
    struct change *ch = changes_add(out, '+', "site", s->name);
    struct strbuf sb;
    sb_init_secret(&sb);
    sb_adds(&sb, "<site");
    ah_attr_text(&sb, "name", s->name);
    sb_addf(&sb, " id=\"%lu\"", id);
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lu", id);
    change_attr(ch, "id", NULL, idtext);
    char *auto_start = ah_effective(ah, -1, ah->site_defaults_el, "serverAutoStart", "true");
    if (!ascii_equal_ci(auto_start, bool_text(s->auto_start))) {
        ah_attr_text(&sb, "serverAutoStart", bool_text(s->auto_start));
        change_attr(ch, "serverAutoStart", NULL, bool_text(s->auto_start));
    }
    free(auto_start);
    sb_adds(&sb, ">");

    int32_t anchor = ah_last_live(ah, false);
    char *base = anchor >= 0 ? xml_indent_of(&ah->doc, anchor) : ah_child_indent(ah, ah->sites_el);
    struct frag f = {ah, {0}, base};
    ah_frag_line(&f, 0, sb.buf);
    sb.len = 0;
    sb_adds(&sb, "<application path=\"/\"");
    ah_attr_text(&sb, "applicationPool", s->pool);
    sb_adds(&sb, ">");
    ah_frag_line(&f, 1, sb.buf);
    change_attr(ch, "applicationPool", NULL, s->pool);
    sb.len = 0;
    vdir_line(&sb, s);
    ah_frag_line(&f, 2, sb.buf);
    change_attr(ch, "physicalPath", NULL, s->physical_path);
    change_attr(ch, "connectAs", NULL, s->vdir_user ? s->vdir_user : "pass-through");
    if (s->vdir_user && s->vdir_password)
        change_secret(ch, "password");
    ah_frag_line(&f, 1, "</application>");
    binding_lines(&f, 1, s);
    char *summary = bindings_summary(s);
    change_attr(ch, "bindings", NULL, summary);
    free(summary);
    ah_frag_line(&f, 0, "</site>");
    sb_free_secret(&sb);
    char *text = ah_frag_take(&f);
    if (anchor >= 0)
        ah_queue_edit(ah, ah->doc.elems[anchor].end, ah->doc.elems[anchor].end, text);
    else {
        int32_t first = xml_first_child(&ah->doc, ah->sites_el);
        if (first >= 0) {
            uint32_t at = ah_block_start(ah, first);
            ah_queue_edit(ah, at, at, text);
        } else
            ah_insert_child(ah, ah->sites_el, text);
    }
    free(base);
    struct site_state *ss = ah_add_site_state(ah, s->name, -1, id);
    for (size_t i = 0; i < s->n_bindings; i++) {
        char k[640];
        iis_binding_key(s->bindings[i].protocol, s->bindings[i].information, k, sizeof k);
        ah_site_add_key(ah, ss, k);
    }
    ah_site_add_app_pool(ah, ss, s->pool);
}

/* True when the site's <bindings> already hold exactly the wanted ones. */
static bool bindings_match(const struct apphost *ah, int32_t bindings,
                           const struct iis_site_spec *s)
{
    size_t have = 0;
    for (int32_t x = bindings >= 0 ? xml_first_child(&ah->doc, bindings) : -1; x >= 0;
         x = ah->doc.elems[x].next) {
        if (!xml_is(&ah->doc, x, "binding"))
            return false; /* a <clear/> or anything else: rewrite */
        char *proto = xml_get(&ah->doc, x, "protocol");
        char *info = xml_get(&ah->doc, x, "bindingInformation");
        char *flags = xml_get(&ah->doc, x, "sslFlags");
        bool found = false;
        for (size_t i = 0; proto && info && i < s->n_bindings; i++) {
            if (ascii_equal_ci(proto, s->bindings[i].protocol) &&
                ascii_equal_ci(info, s->bindings[i].information) &&
                strtoul(flags ? flags : "0", NULL, 10) == s->bindings[i].ssl_flags)
                found = true;
        }
        free(proto);
        free(info);
        free(flags);
        if (!found)
            return false;
        have++;
    }
    return have == s->n_bindings;
}

static void update_site(struct apphost *ah, struct site_state *ss, const struct iis_site_spec *s,
                        unsigned long id, struct changes *out)
{
    struct change *ch = NULL;
    int32_t el = ss->elem;
    if (id != ss->id) {
        char from[32], to[32];
        snprintf(from, sizeof from, "%lu", ss->id);
        snprintf(to, sizeof to, "%lu", id);
        ch = changes_add(out, '~', "site", s->name);
        change_attr(ch, "id", from, to);
        ah_set_attr(ah, el, "id", to);
        strmap_del(&ah->ids, from);
        strmap_put(&ah->ids, arena_strdup(&ah->arena, to), ss); /* the map borrows keys */
        ss->id = id;
    }
    ah_reconcile(ah, el, ah->site_defaults_el, "serverAutoStart", "true", bool_text(s->auto_start),
                 true, &ch, out, "site", s->name);

    /* The root application and its root virtual directory. */
    int32_t root_app = ah_root_app(ah, el);
    if (root_app < 0) {
        if (!ch)
            ch = changes_add(out, '~', "site", s->name);
        char *base = ah_child_indent(ah, el);
        struct frag f = {ah, {0}, base};
        struct strbuf sb;
        sb_init_secret(&sb);
        sb_adds(&sb, "<application path=\"/\"");
        ah_attr_text(&sb, "applicationPool", s->pool);
        sb_adds(&sb, ">");
        ah_frag_line(&f, 0, sb.buf);
        sb.len = 0;
        vdir_line(&sb, s);
        ah_frag_line(&f, 1, sb.buf);
        ah_frag_line(&f, 0, "</application>");
        sb_free_secret(&sb);
        ah_insert_child(ah, el, ah_frag_take(&f));
        free(base);
        change_attr(ch, "applicationPool", NULL, s->pool);
        change_attr(ch, "physicalPath", NULL, s->physical_path);
        ah_site_add_app_pool(ah, ss, s->pool);
    } else {
        char *pool = ah_app_pool_of(ah, root_app);
        if (!names_collide(pool, s->pool)) {
            if (!ch)
                ch = changes_add(out, '~', "site", s->name);
            change_attr(ch, "applicationPool", pool, s->pool);
            ah_set_attr(ah, root_app, "applicationPool", s->pool);
            /* Move one reference from the old pool to the new one. */
            for (size_t i = 0; i < ss->n_app_pools; i++) {
                if (names_collide(ss->app_pools[i], pool)) {
                    struct pool_state *old = strmap_get(&ah->pools, pool);
                    if (old && old->refs)
                        old->refs--;
                    ss->app_pools[i] = arena_strdup(&ah->arena, s->pool);
                    struct pool_state *np = strmap_get(&ah->pools, s->pool);
                    if (np)
                        np->refs++;
                    break;
                }
            }
        }
        free(pool);
        int32_t vdir = -1;
        for (int32_t v = xml_child(&ah->doc, root_app, "virtualDirectory"); v >= 0;
             v = xml_next_named(&ah->doc, v, "virtualDirectory")) {
            char *path = xml_get(&ah->doc, v, "path");
            if (path && strcmp(path, "/") == 0)
                vdir = v;
            free(path);
            if (vdir >= 0)
                break;
        }
        if (vdir < 0) {
            if (!ch)
                ch = changes_add(out, '~', "site", s->name);
            char *base = ah_child_indent(ah, root_app);
            struct frag f = {ah, {0}, base};
            struct strbuf sb;
            sb_init_secret(&sb);
            vdir_line(&sb, s);
            ah_frag_line(&f, 0, sb.buf);
            sb_free_secret(&sb);
            ah_insert_child(ah, root_app, ah_frag_take(&f));
            free(base);
            change_attr(ch, "physicalPath", NULL, s->physical_path);
        } else {
            ah_reconcile(ah, vdir, -1, "physicalPath", "", s->physical_path, false, &ch, out,
                         "site", s->name);
            char *user = xml_get(&ah->doc, vdir, "userName");
            if (!s->vdir_user && user) {
                /* Pass-through: no userName/password on the root directory. */
                if (!ch)
                    ch = changes_add(out, '~', "site", s->name);
                change_attr(ch, "connectAs", user, "pass-through");
                ah_remove_attr(ah, vdir, "userName");
                struct xml_attr a;
                if (xml_attr_find(&ah->doc, vdir, "password", &a))
                    ah_remove_attr(ah, vdir, "password");
                if (xml_attr_find(&ah->doc, vdir, "logonMethod", &a))
                    ah_remove_attr(ah, vdir, "logonMethod");
            } else if (s->vdir_user) {
                ah_reconcile(ah, vdir, -1, "userName", "", s->vdir_user, true, &ch, out, "site",
                             s->name);
                char *pw = xml_get(&ah->doc, vdir, "password");
                if (s->vdir_password && !(pw && strncmp(pw, "[enc:", 5) == 0) &&
                    (!pw || strcmp(pw, s->vdir_password) != 0)) {
                    if (!ch)
                        ch = changes_add(out, '~', "site", s->name);
                    change_secret(ch, "password");
                    ah_set_attr(ah, vdir, "password", s->vdir_password);
                }
                free_secret(pw);
            }
            free(user);
        }
    }

    int32_t bindings = xml_child(&ah->doc, el, "bindings");
    if (!bindings_match(ah, bindings, s)) {
        if (!ch)
            ch = changes_add(out, '~', "site", s->name);
        char *summary = bindings_summary(s);
        struct strbuf old;
        sb_init(&old);
        for (size_t i = 0; i < ss->n_keys; i++)
            sb_addf(&old, "%s%s", i ? ", " : "", ss->keys[i]);
        change_attr(ch, "bindings", old.len ? old.buf : "", summary);
        sb_free(&old);
        free(summary);
        if (bindings >= 0) {
            char *base = xml_indent_of(&ah->doc, bindings);
            struct frag f = {ah, {0}, base};
            binding_lines(&f, 0, s);
            char *text = ah_frag_take(&f);
            /* The fragment starts with newline + indentation: replace the
             * element's whole line block with it. */
            ah_queue_edit(ah, ah_block_start(ah, bindings), ah->doc.elems[bindings].end, text);
            free(base);
        } else {
            char *base = ah_child_indent(ah, el);
            struct frag f = {ah, {0}, base};
            binding_lines(&f, 0, s);
            ah_insert_child(ah, el, ah_frag_take(&f));
            free(base);
        }
        ah_site_drop_keys(ah, ss);
        for (size_t i = 0; i < s->n_bindings; i++) {
            char k[640];
            iis_binding_key(s->bindings[i].protocol, s->bindings[i].information, k, sizeof k);
            ah_site_add_key(ah, ss, k);
        }
    }
}

/* ---- the anonymous identity: <location path="SITE"> ------------------ */

static char *anon_fragment(struct apphost *ah, const char *base, int from_depth,
                           const char *location_path, const char *user)
{
    struct frag f = {ah, {0}, base};
    struct strbuf sb;
    sb_init(&sb);
    int level = 0;
    if (location_path) {
        sb_adds(&sb, "<location");
        ah_attr_text(&sb, "path", location_path);
        sb_adds(&sb, ">");
        ah_frag_line(&f, level++, sb.buf);
    }
    for (int i = from_depth; i < ANON_DEPTH - 1; i++) {
        sb.len = 0;
        sb_addf(&sb, "<%s>", anon_chain[i]);
        ah_frag_line(&f, level++, sb.buf);
    }
    sb.len = 0;
    sb_adds(&sb, "<anonymousAuthentication");
    ah_attr_text(&sb, "userName", user);
    sb_adds(&sb, " />");
    ah_frag_line(&f, level, sb.buf);
    for (int i = ANON_DEPTH - 2; i >= from_depth; i--) {
        sb.len = 0;
        sb_addf(&sb, "</%s>", anon_chain[i]);
        ah_frag_line(&f, --level, sb.buf);
    }
    if (location_path)
        ah_frag_line(&f, --level, "</location>");
    sb_free(&sb);
    return ah_frag_take(&f);
}

static void ensure_anonymous(struct apphost *ah, const char *site, const char *user,
                             struct changes *out)
{
    const char *shown = *user ? user : "(pool identity)";
    int32_t loc = ah_location_of(ah, site);
    if (loc < 0) {
        /* After the last element of <configuration>: with the other
         * locations at the end of the file. */
        int32_t last = xml_last_child(&ah->doc, ah->doc.root);
        char *base = last >= 0 ? xml_indent_of(&ah->doc, last) : xstrdup(ah->unit);
        char *text = anon_fragment(ah, base, 0, site, user);
        if (last >= 0)
            ah_queue_edit(ah, ah->doc.elems[last].end, ah->doc.elems[last].end, text);
        else
            ah_insert_child(ah, ah->doc.root, text);
        free(base);
        struct change *ch = changes_add(out, '+', "location", site);
        change_attr(ch, "anonymousAuthentication.userName", NULL, shown);
        return;
    }
    int32_t node = loc;
    int depth = 0;
    while (depth < ANON_DEPTH) {
        int32_t next = xml_child(&ah->doc, node, anon_chain[depth]);
        if (next < 0)
            break;
        node = next;
        depth++;
    }
    if (depth == ANON_DEPTH) {
        char *have = ah_effective(ah, node, -1, "userName", "IUSR");
        if (strcmp(have, user) != 0) {
            struct change *ch = changes_add(out, '~', "location", site);
            change_attr(ch, "anonymousAuthentication.userName", *have ? have : "(pool identity)",
                        shown);
            ah_set_attr(ah, node, "userName", user);
            struct xml_attr a;
            if (xml_attr_find(&ah->doc, node, "password", &a)) {
                change_secret(ch, "anonymousAuthentication.password");
                ah_remove_attr(ah, node, "password");
            }
        }
        free(have);
        return;
    }
    char *base = ah_child_indent(ah, node);
    ah_insert_child(ah, node, anon_fragment(ah, base, depth, NULL, user));
    free(base);
    struct change *ch = changes_add(out, '~', "location", site);
    change_attr(ch, "anonymousAuthentication.userName", NULL, shown);
}

/* ---- ensure / remove ------------------------------------------------ */

/* Like appcmd: one more than the highest id; when that is taken up to the
 * limit, the lowest free one. 0 when none is left. */
static unsigned long next_free_id(const struct apphost *ah)
{
    if (ah->max_id < MAX_SITE_ID)
        return ah->max_id + 1;
    for (unsigned long id = 1; id < MAX_SITE_ID; id++) {
        char key[32];
        snprintf(key, sizeof key, "%lu", id);
        if (!strmap_get(&ah->ids, key))
            return id;
    }
    return 0;
}

/* Where an element is, for messages: FILE:LINE, or this run's doing. */
static char *where_is(const struct apphost *ah, int32_t elem)
{
    if (elem < 0)
        return xstrdup("created earlier in this run");
    return xasprintf("%s:%u", ah->name, xml_line_of(&ah->doc, ah->doc.elems[elem].start));
}

/* Every rule a site must meet, before anything is queued. Computes its id. */
static int check_site(struct apphost *ah, const struct iis_pool_spec *pool,
                      const struct iis_site_spec *site, unsigned long *id_out, struct diag *d)
{
    const char *why;
    int rc = 0;
    if ((why = iis_check_pool_name(pool->name))) {
        diag_add(d, "pool '%s': %s", pool->name, why);
        return -1;
    }
    if ((why = iis_check_site_name(site->name))) {
        diag_add(d, "site '%s': %s", site->name, why);
        return -1;
    }
    char unknown[NAME_WHY_MAX];
    if (!name_is_known(pool->name, unknown)) {
        diag_add(d, "pool '%s': %s", pool->name, unknown);
        return -1;
    }
    if (!name_is_known(site->name, unknown)) {
        diag_add(d, "site '%s': %s", site->name, unknown);
        return -1;
    }
    struct site_state *ss = strmap_get(&ah->sites, site->name);
    if (ss && strcmp(ss->name, site->name) != 0) {
        char *at = where_is(ah, ss->elem);
        diag_add(d, "site '%s' collides with site '%s' (%s): %s", site->name, ss->name, at,
                 NAMES_COLLIDE_WHY);
        free(at);
        return -1;
    }
    if (ss && ss->removed) {
        diag_add(d, "site '%s' is removed earlier in this run", site->name);
        return -1;
    }
    if (ss && ss->elem < 0) {
        diag_add(d, "site '%s' is created twice in this run", site->name);
        return -1;
    }
    /* The id: explicit, kept, or the next free one. */
    unsigned long id = site->id ? site->id : ss ? ss->id : next_free_id(ah);
    if (id == 0 || id > MAX_SITE_ID) {
        diag_add(d, "site '%s': no free site id left (ids go up to %lu)", site->name, MAX_SITE_ID);
        return -1;
    }
    char idkey[32];
    snprintf(idkey, sizeof idkey, "%lu", id);
    struct site_state *owner = strmap_get(&ah->ids, idkey);
    if (owner && owner != ss && !owner->removed) {
        diag_add(d, "site '%s': id %lu is already used by site '%s'", site->name, id, owner->name);
        rc = -1;
    }
    if (site->n_bindings == 0) {
        diag_add(d, "site '%s': at least one binding is needed", site->name);
        rc = -1;
    }
    for (size_t i = 0; i < site->n_bindings; i++) {
        const struct iis_binding *b = &site->bindings[i];
        if ((why = iis_check_binding_information(b->protocol, b->information, b->ssl_flags))) {
            diag_add(d, "site '%s': binding %s/%s: %s", site->name, b->protocol, b->information,
                     why);
            rc = -1;
            continue;
        }
        char key[640];
        iis_binding_key(b->protocol, b->information, key, sizeof key);
        struct site_state *holder = strmap_get(&ah->bindings, key);
        if (holder && holder != ss && !holder->removed) {
            diag_add(d, "site '%s': binding %s is already used by site '%s'", site->name, key,
                     holder->name);
            rc = -1;
        }
        for (size_t j = 0; j < i; j++) {
            char k2[640];
            iis_binding_key(site->bindings[j].protocol, site->bindings[j].information, k2,
                            sizeof k2);
            if (strcmp(key, k2) == 0) {
                diag_add(d, "site '%s': binding %s is listed twice", site->name, key);
                rc = -1;
            }
        }
    }
    struct pool_state *ps = strmap_get(&ah->pools, pool->name);
    char *key = pool_key(pool);
    if (ps && strcmp(ps->name, pool->name) != 0) {
        char *at = where_is(ah, ps->elem);
        diag_add(d, "site '%s': pool '%s' collides with pool '%s' (%s): %s", site->name, pool->name,
                 ps->name, at, NAMES_COLLIDE_WHY);
        free(at);
        rc = -1;
    } else if (ps && ps->removed) {
        diag_add(d, "site '%s': pool '%s' is removed earlier in this run", site->name, pool->name);
        rc = -1;
    } else if (ps && ps->claimed_key && strcmp(ps->claimed_key, key) != 0) {
        diag_add(d, "site '%s': pool '%s' is set differently by site '%s' in this run", site->name,
                 pool->name, ps->claimed_by);
        rc = -1;
    }
    if (pool->identity == IIS_IDENTITY_SPECIFICUSER && (!pool->user_name || !*pool->user_name)) {
        diag_add(d, "pool '%s': SpecificUser needs a user name", pool->name);
        rc = -1;
    }
    free(key);
    *id_out = id;
    return rc;
}

int apphost_check_site(struct apphost *ah, const struct iis_pool_spec *pool,
                       const struct iis_site_spec *site, struct diag *d)
{
    unsigned long id;
    return check_site(ah, pool, site, &id, d);
}

int apphost_ensure_site(struct apphost *ah, const struct iis_pool_spec *pool,
                        const struct iis_site_spec *site, struct changes *out, struct diag *d)
{
    unsigned long id;
    if (check_site(ah, pool, site, &id, d) < 0)
        return -1;
    struct site_state *ss = strmap_get(&ah->sites, site->name);
    struct pool_state *ps = strmap_get(&ah->pools, pool->name);
    char *key = pool_key(pool);
    /* All checks passed: queue the edits. */
    if (!ps) {
        create_pool(ah, pool, out);
        ps = strmap_get(&ah->pools, pool->name);
    } else if (!ps->claimed_key && ps->elem >= 0) {
        update_pool(ah, ps, pool, out);
    }
    if (!ps->claimed_key) {
        ps->claimed_key = key;
        ps->claimed_by = xstrdup(site->name);
    } else {
        free(key);
    }
    if (!ss)
        create_site(ah, site, id, out);
    else
        update_site(ah, ss, site, id, out);
    if (site->anonymous_user)
        ensure_anonymous(ah, site->name, site->anonymous_user, out);
    return 0;
}

/* The highest element in the anonymous-identity chain that holds nothing but
 * the chain: removing it removes the setting and nothing else. */
static bool only_child(const struct apphost *ah, int32_t parent, int32_t child)
{
    const struct xml_elem *p = &ah->doc.elems[parent], *c = &ah->doc.elems[child];
    if (xml_first_child(&ah->doc, parent) != child || c->next >= 0)
        return false;
    for (uint32_t i = xml_stag_end(&ah->doc, parent); i < c->start; i++)
        if (!strchr(" \t\r\n", ah->doc.text[i]))
            return false;
    for (uint32_t i = c->end; i < p->end && ah->doc.text[i] != '<'; i++)
        if (!strchr(" \t\r\n", ah->doc.text[i]))
            return false;
    return true;
}

int apphost_remove_site(struct apphost *ah, const char *site_name, const char *pool_name,
                        struct changes *out, struct diag *d)
{
    struct site_state *ss = strmap_get(&ah->sites, site_name);
    if (ss && strcmp(ss->name, site_name) != 0) {
        char *at = where_is(ah, ss->elem);
        diag_add(d, "site '%s' collides with site '%s' (%s): %s; nothing was removed", site_name,
                 ss->name, at, NAMES_COLLIDE_WHY);
        free(at);
        return -1;
    }
    if (ss && ss->elem < 0) {
        diag_add(d, "site '%s' is created earlier in this run", site_name);
        return -1;
    }
    struct pool_state *ps = pool_name ? strmap_get(&ah->pools, pool_name) : NULL;
    if (ps && strcmp(ps->name, pool_name) != 0) {
        char *at = where_is(ah, ps->elem);
        diag_add(d, "site '%s': pool '%s' collides with pool '%s' (%s): %s; nothing was removed",
                 site_name, pool_name, ps->name, at, NAMES_COLLIDE_WHY);
        free(at);
        return -1;
    }
    if (ps && (ps->removed || ps->elem < 0))
        ps = NULL;
    if (ps) {
        size_t own = 0;
        for (size_t i = 0; ss && !ss->removed && i < ss->n_app_pools; i++)
            own += names_collide(ss->app_pools[i], ps->name);
        if (ps->refs > own) {
            struct strbuf users;
            sb_init(&users);
            for (size_t i = 0; i < ah->n_sites; i++) {
                struct site_state *o = ah->site_list[i];
                if (o == ss || o->removed)
                    continue;
                for (size_t k = 0; k < o->n_app_pools; k++)
                    if (names_collide(o->app_pools[k], ps->name)) {
                        sb_addf(&users, "%s'%s'", users.len ? ", " : "", o->name);
                        break;
                    }
            }
            diag_add(d, "site '%s': pool '%s' is also used by site %s; nothing was removed",
                     site_name, ps->name, users.buf ? users.buf : "(another application)");
            sb_free(&users);
            return -1;
        }
    }
    if (ss && !ss->removed) {
        struct change *ch = changes_add(out, '-', "site", site_name);
        char idtext[32];
        snprintf(idtext, sizeof idtext, "%lu", ss->id);
        change_attr(ch, "id", idtext, NULL);
        ah_remove_elem(ah, ss->elem);
        ss->removed = true;
        ah->last_stale = true;
        ah_site_drop_keys(ah, ss);
        ah_site_drop_app_pools(ah, ss);
        strmap_del(&ah->ids, idtext);
    }
    int32_t loc = ah_location_of(ah, site_name);
    if (loc >= 0) {
        int32_t chain[ANON_DEPTH + 1];
        chain[0] = loc;
        int depth = 0;
        while (depth < ANON_DEPTH) {
            int32_t next = xml_child(&ah->doc, chain[depth], anon_chain[depth]);
            if (next < 0)
                break;
            chain[++depth] = next;
        }
        if (depth == ANON_DEPTH) {
            int top = ANON_DEPTH;
            while (top > 0 && only_child(ah, chain[top - 1], chain[top]))
                top--;
            ah_remove_elem(ah, chain[top]);
            strmap_del(&ah->locations, site_name);
            struct change *ch = changes_add(out, '-', "location", site_name);
            if (top > 0)
                change_note(ch, "anonymous identity removed; the location's other settings kept");
        }
    }
    if (ps) {
        char *default_pool = ah_default_app_pool(ah);
        /* The pool named by <applicationDefaults> is where new applications
         * land: it stays, even when no site uses it any more. */
        if (!names_collide(default_pool, ps->name)) {
            changes_add(out, '-', "pool", ps->name);
            ah_remove_elem(ah, ps->elem);
            ps->removed = true;
            ah->last_stale = true;
        }
        free(default_pool);
    }
    return 0;
}
