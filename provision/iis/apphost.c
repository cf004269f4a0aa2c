/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/iis/apphost.h"

#include "provision/iis/xmldoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One splice into the original text: replace [from, to) by text. */
struct edit {
    uint32_t from, to;
    char *text;
    size_t seq;
};

struct pool_state {
    char *name;
    int32_t elem; /* -1 when created in this run */
    bool removed;
    size_t refs;       /* applications (in live sites) that run in it */
    char *claimed_by;  /* the site that set it in this run */
    char *claimed_key; /* that site's spec, to spot a different one */
};

struct site_state {
    char *name;
    int32_t elem; /* -1 when created in this run */
    unsigned long id;
    bool removed;
    char **keys; /* binding keys it holds */
    size_t n_keys;
    char **app_pools; /* pools its applications run in */
    size_t n_app_pools;
};

struct apphost {
    struct xml_doc doc;
    char *name;
    int32_t sites_el, pools_el, pool_defaults_el, pool_defaults_pm_el;
    int32_t site_defaults_el, app_defaults_el;
    char *unit; /* one level of indentation, as the file does it */
    struct strmap pools, sites, ids, bindings, locations;
    unsigned long max_id;
    struct site_state **site_list;
    size_t n_sites;
    struct pool_state **pool_list;
    size_t n_pools;
    struct edit *edits;
    size_t n_edits, cap_edits, seq;
};

#define MAX_SITE_ID 4294967295UL

const char *iis_identity_name(enum iis_identity id)
{
    switch (id) {
    case IIS_IDENTITY_NETWORKSERVICE:
        return "NetworkService";
    case IIS_IDENTITY_LOCALSERVICE:
        return "LocalService";
    case IIS_IDENTITY_LOCALSYSTEM:
        return "LocalSystem";
    case IIS_IDENTITY_SPECIFICUSER:
        return "SpecificUser";
    case IIS_IDENTITY_APPPOOL:
        break;
    }
    return "ApplicationPoolIdentity";
}

/* ---- edits ---------------------------------------------------------- */

static void queue_edit(struct apphost *ah, uint32_t from, uint32_t to, char *text)
{
    if (ah->n_edits == ah->cap_edits) {
        ah->cap_edits = ah->cap_edits ? ah->cap_edits * 2 : 64;
        ah->edits = xrealloc(ah->edits, ah->cap_edits * sizeof *ah->edits);
    }
    ah->edits[ah->n_edits++] = (struct edit){from, to, text, ah->seq++};
}

static int edit_order(const void *pa, const void *pb)
{
    const struct edit *a = pa, *b = pb;
    if (a->from != b->from)
        return a->from < b->from ? -1 : 1;
    /* At one offset, pure insertions go before a replacement starting there. */
    int a_ins = a->from == a->to, b_ins = b->from == b->to;
    if (a_ins != b_ins)
        return a_ins ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

bool apphost_dirty(const struct apphost *ah)
{
    return ah->n_edits > 0;
}

const char *apphost_original(const struct apphost *ah, size_t *len)
{
    *len = ah->doc.len;
    return ah->doc.text;
}

char *apphost_render(const struct apphost *ah, size_t *len)
{
    struct edit *sorted = xmalloc((ah->n_edits ? ah->n_edits : 1) * sizeof *sorted);
    if (ah->n_edits)
        memcpy(sorted, ah->edits, ah->n_edits * sizeof *sorted);
    qsort(sorted, ah->n_edits, sizeof *sorted, edit_order);
    /* The exact size up front: no doubling of a file-sized buffer. */
    size_t size = ah->doc.len;
    for (size_t i = 0; i < ah->n_edits; i++)
        size += strlen(sorted[i].text) - (sorted[i].to - sorted[i].from);
    struct strbuf out;
    sb_init(&out);
    out.buf = xmalloc(size + 1);
    out.cap = size + 1;
    out.buf[0] = '\0';
    uint32_t pos = 0;
    for (size_t i = 0; i < ah->n_edits; i++) {
        const struct edit *e = &sorted[i];
        if (e->from < pos) { /* two edits touch the same bytes: a bug, never a guess */
            fprintf(stderr, "provision: internal error: overlapping edits at offset %u\n", e->from);
            abort();
        }
        sb_add(&out, ah->doc.text + pos, e->from - pos);
        sb_adds(&out, e->text);
        pos = e->to;
    }
    sb_add(&out, ah->doc.text + pos, ah->doc.len - pos);
    free(sorted);
    *len = out.len;
    return sb_detach(&out);
}

/* ---- text generation ------------------------------------------------ */

/* Lines of a new element; each is written as newline + base + level*unit. */
struct frag {
    struct apphost *ah;
    struct strbuf sb;
    const char *base;
};

static void frag_line(struct frag *f, int level, const char *line)
{
    /* Room up front, so that a password line is not left behind in a
     * buffer that realloc moved; frag_take() hands out an exact copy. */
    if (!f->sb.cap)
        sb_grow(&f->sb, 2048);
    sb_adds(&f->sb, f->ah->doc.newline);
    sb_adds(&f->sb, f->base);
    for (int i = 0; i < level; i++)
        sb_adds(&f->sb, f->ah->unit);
    sb_adds(&f->sb, line);
}

/* The fragment's text at its exact size (thousands of them can be queued);
 * the working buffer is wiped, as it may hold a password. */
static char *frag_take(struct frag *f)
{
    char *text = xstrndup(f->sb.buf ? f->sb.buf : "", f->sb.len);
    sb_free_secret(&f->sb);
    return text;
}

static void attr_text(struct strbuf *sb, const char *name, const char *value)
{
    sb_addf(sb, " %s=\"", name);
    xml_escape_attr(sb, value);
    sb_addc(sb, '"');
}

/* Start of the removable block of an element: the line break before its
 * indentation when it stands on its own line, else the element itself. An
 * insertion writes exactly such a block, so removing it restores the bytes. */
static uint32_t block_start(const struct apphost *ah, int32_t elem)
{
    const char *t = ah->doc.text;
    uint32_t p = ah->doc.elems[elem].start;
    while (p > 0 && (t[p - 1] == ' ' || t[p - 1] == '\t'))
        p--;
    if (p > 0 && t[p - 1] == '\n') {
        p--;
        if (p > 0 && t[p - 1] == '\r')
            p--;
        return p;
    }
    return ah->doc.elems[elem].start;
}

static void remove_elem(struct apphost *ah, int32_t elem)
{
    queue_edit(ah, block_start(ah, elem), ah->doc.elems[elem].end, xstrdup(""));
}

/* Indentation for a child of parent: its existing children's, else parent's
 * plus one unit. */
static char *child_indent(const struct apphost *ah, int32_t parent)
{
    int32_t last = ah->doc.elems[parent].last_child;
    if (last >= 0)
        return xml_indent_of(&ah->doc, last);
    char *p = xml_indent_of(&ah->doc, parent);
    char *r = xasprintf("%s%s", p, ah->unit);
    free(p);
    return r;
}

/* Appends a fragment (built with base = child_indent(parent)) as the last
 * child of parent, opening an empty element `<x ... />` when needed. */
static void insert_child(struct apphost *ah, int32_t parent, char *fragment)
{
    const struct xml_elem *p = &ah->doc.elems[parent];
    if (p->last_child >= 0) {
        queue_edit(ah, ah->doc.elems[p->last_child].end, ah->doc.elems[p->last_child].end,
                   fragment);
        return;
    }
    if (!p->empty) {
        queue_edit(ah, p->stag_end, p->stag_end, fragment);
        return;
    }
    /* <x a="1" /> becomes <x a="1">FRAGMENT NL INDENT</x> */
    uint32_t slash = p->stag_end - 2;
    while (slash > p->start && (ah->doc.text[slash - 1] == ' ' || ah->doc.text[slash - 1] == '\t'))
        slash--;
    char *indent = xml_indent_of(&ah->doc, parent);
    char *text = xasprintf(">%s%s%s</%.*s>", fragment, ah->doc.newline, indent, (int)p->name_len,
                           ah->doc.text + p->start + 1);
    free(indent);
    free(fragment);
    queue_edit(ah, slash, p->end, text);
}

/* Sets attribute name on an existing element: in place when present, else
 * appended after the last attribute. */
static void set_attr(struct apphost *ah, int32_t elem, const char *name, const char *value)
{
    struct xml_attr a;
    struct strbuf sb;
    sb_init(&sb);
    if (xml_attr_find(&ah->doc, elem, name, &a)) {
        for (const char *v = value; *v; v++) {
            if (*v == '\'' && a.quote == '\'')
                sb_adds(&sb, "&apos;");
            else {
                char one[2] = {*v, 0};
                xml_escape_attr(&sb, one);
            }
        }
        queue_edit(ah, a.value_off, a.value_off + a.value_len, sb_detach(&sb));
    } else {
        attr_text(&sb, name, value);
        uint32_t at = xml_attr_insert_point(&ah->doc, elem);
        queue_edit(ah, at, at, sb_detach(&sb));
    }
}

static void remove_attr(struct apphost *ah, int32_t elem, const char *name)
{
    struct xml_attr a;
    if (!xml_attr_find(&ah->doc, elem, name, &a))
        return;
    uint32_t from = a.name_off;
    while (from > 0 && strchr(" \t\r\n", ah->doc.text[from - 1]))
        from--;
    queue_edit(ah, from, a.value_off + a.value_len + 1, xstrdup(""));
}

/* ---- loading -------------------------------------------------------- */

static char *line_ref(const struct apphost *ah, int32_t elem)
{
    return xasprintf("%s:%u", ah->name, xml_line_of(&ah->doc, ah->doc.elems[elem].start));
}

static struct pool_state *add_pool_state(struct apphost *ah, const char *name, int32_t elem)
{
    struct pool_state *ps = xcalloc(1, sizeof *ps);
    ps->name = xstrdup(name);
    ps->elem = elem;
    strmap_put(&ah->pools, name, ps);
    ah->pool_list = xrealloc(ah->pool_list, (ah->n_pools + 1) * sizeof *ah->pool_list);
    ah->pool_list[ah->n_pools++] = ps;
    return ps;
}

static struct site_state *add_site_state(struct apphost *ah, const char *name, int32_t elem,
                                         unsigned long id)
{
    struct site_state *ss = xcalloc(1, sizeof *ss);
    ss->name = xstrdup(name);
    ss->elem = elem;
    ss->id = id;
    strmap_put(&ah->sites, name, ss);
    char key[32];
    snprintf(key, sizeof key, "%lu", id);
    strmap_put(&ah->ids, key, ss);
    if (id > ah->max_id)
        ah->max_id = id;
    ah->site_list = xrealloc(ah->site_list, (ah->n_sites + 1) * sizeof *ah->site_list);
    ah->site_list[ah->n_sites++] = ss;
    return ss;
}

static void site_add_key(struct apphost *ah, struct site_state *ss, const char *key)
{
    ss->keys = xrealloc(ss->keys, (ss->n_keys + 1) * sizeof *ss->keys);
    ss->keys[ss->n_keys++] = xstrdup(key);
    if (!strmap_get(&ah->bindings, key))
        strmap_put(&ah->bindings, key, ss);
}

static void site_drop_keys(struct apphost *ah, struct site_state *ss)
{
    for (size_t i = 0; i < ss->n_keys; i++) {
        if (strmap_get(&ah->bindings, ss->keys[i]) == ss)
            strmap_del(&ah->bindings, ss->keys[i]);
        free(ss->keys[i]);
    }
    free(ss->keys);
    ss->keys = NULL;
    ss->n_keys = 0;
}

static void site_add_app_pool(struct apphost *ah, struct site_state *ss, const char *pool)
{
    ss->app_pools = xrealloc(ss->app_pools, (ss->n_app_pools + 1) * sizeof *ss->app_pools);
    ss->app_pools[ss->n_app_pools++] = xstrdup(pool);
    struct pool_state *ps = strmap_get(&ah->pools, pool);
    if (ps)
        ps->refs++;
}

static void site_drop_app_pools(struct apphost *ah, struct site_state *ss)
{
    for (size_t i = 0; i < ss->n_app_pools; i++) {
        struct pool_state *ps = strmap_get(&ah->pools, ss->app_pools[i]);
        if (ps && ps->refs)
            ps->refs--;
        free(ss->app_pools[i]);
    }
    free(ss->app_pools);
    ss->app_pools = NULL;
    ss->n_app_pools = 0;
}

static char *default_app_pool(const struct apphost *ah)
{
    char *p = xml_get(&ah->doc, ah->app_defaults_el, "applicationPool");
    return p ? p : xstrdup("DefaultAppPool");
}

static char *app_pool_of(const struct apphost *ah, int32_t app)
{
    char *p = xml_get(&ah->doc, app, "applicationPool");
    return p ? p : default_app_pool(ah);
}

static int index_pools(struct apphost *ah, struct diag *d)
{
    int rc = 0;
    const struct xml_doc *doc = &ah->doc;
    for (int32_t c = doc->elems[ah->pools_el].first_child; c >= 0; c = doc->elems[c].next) {
        if (xml_is(doc, c, "applicationPoolDefaults")) {
            ah->pool_defaults_el = c;
            ah->pool_defaults_pm_el = xml_child(doc, c, "processModel");
            continue;
        }
        if (!xml_is(doc, c, "add"))
            continue;
        char *name = xml_get(doc, c, "name");
        if (!name || !*name) {
            char *where = line_ref(ah, c);
            diag_add(d, "%s: an application pool without a name", where);
            free(where);
            rc = -1;
        } else if (strmap_get(&ah->pools, name)) {
            struct pool_state *other = strmap_get(&ah->pools, name);
            char *where = line_ref(ah, c), *w2 = line_ref(ah, other->elem);
            diag_add(d, "%s: application pool '%s' is defined twice (also at %s)", where, name, w2);
            free(where);
            free(w2);
            rc = -1;
        } else {
            add_pool_state(ah, name, c);
        }
        free(name);
    }
    return rc;
}

static int index_sites(struct apphost *ah, struct diag *d)
{
    int rc = 0;
    const struct xml_doc *doc = &ah->doc;
    for (int32_t c = doc->elems[ah->sites_el].first_child; c >= 0; c = doc->elems[c].next) {
        if (xml_is(doc, c, "siteDefaults")) {
            ah->site_defaults_el = c;
            continue;
        }
        if (xml_is(doc, c, "applicationDefaults")) {
            ah->app_defaults_el = c;
            continue;
        }
    }
    for (int32_t c = doc->elems[ah->sites_el].first_child; c >= 0; c = doc->elems[c].next) {
        if (!xml_is(doc, c, "site"))
            continue;
        char *name = xml_get(doc, c, "name"), *id_text = xml_get(doc, c, "id");
        char *where = NULL; /* file:line, only for messages */
        char *end = NULL;
        unsigned long id = id_text ? strtoul(id_text, &end, 10) : 0;
        if (!name || !*name) {
            diag_add(d, "%s: a site without a name", where = line_ref(ah, c));
            rc = -1;
        } else if (!id_text || !*id_text || *end || id == 0 || id > MAX_SITE_ID) {
            diag_add(d, "%s: site '%s' has no valid id", where = line_ref(ah, c), name);
            rc = -1;
        } else if (strmap_get(&ah->sites, name)) {
            diag_add(d, "%s: site '%s' is defined twice", where = line_ref(ah, c), name);
            rc = -1;
        } else {
            char key[32];
            snprintf(key, sizeof key, "%lu", id);
            struct site_state *same_id = strmap_get(&ah->ids, key);
            if (same_id) {
                diag_add(d, "%s: site '%s' has id %lu, like site '%s'", where = line_ref(ah, c),
                         name, id, same_id->name);
                rc = -1;
            } else {
                struct site_state *ss = add_site_state(ah, name, c, id);
                int32_t b = xml_child(doc, c, "bindings");
                for (int32_t x = b >= 0 ? doc->elems[b].first_child : -1; x >= 0;
                     x = doc->elems[x].next) {
                    if (!xml_is(doc, x, "binding"))
                        continue;
                    char *proto = xml_get(doc, x, "protocol"),
                         *info = xml_get(doc, x, "bindingInformation");
                    if (proto && info) {
                        char k[640];
                        iis_binding_key(proto, info, k, sizeof k);
                        site_add_key(ah, ss, k);
                    }
                    free(proto);
                    free(info);
                }
                for (int32_t app = xml_child(doc, c, "application"); app >= 0;
                     app = xml_next_named(doc, app, "application")) {
                    char *pool = app_pool_of(ah, app);
                    site_add_app_pool(ah, ss, pool);
                    free(pool);
                }
            }
        }
        free(where);
        free(name);
        free(id_text);
    }
    return rc;
}

static void index_locations(struct apphost *ah)
{
    const struct xml_doc *doc = &ah->doc;
    for (int32_t c = doc->elems[doc->root].first_child; c >= 0; c = doc->elems[c].next) {
        if (!xml_is(doc, c, "location"))
            continue;
        char *path = xml_get(doc, c, "path");
        if (path && !strmap_get(&ah->locations, path))
            strmap_put(&ah->locations, path, (void *)(intptr_t)(c + 1));
        free(path);
    }
}

static int32_t location_of(const struct apphost *ah, const char *site)
{
    return (int32_t)(intptr_t)strmap_get(&ah->locations, site) - 1;
}

static void detect_unit(struct apphost *ah)
{
    const struct xml_doc *doc = &ah->doc;
    int32_t child = doc->elems[doc->root].first_child;
    char *outer = xml_indent_of(doc, doc->root);
    char *inner = child >= 0 ? xml_indent_of(doc, child) : xstrdup("");
    size_t no = strlen(outer), ni = strlen(inner);
    if (ni > no && strncmp(inner, outer, no) == 0)
        ah->unit = xstrdup(inner + no);
    else
        ah->unit = xstrdup("    ");
    free(outer);
    free(inner);
}

struct apphost *apphost_load(char *text, size_t len, const char *name, struct diag *d)
{
    struct apphost *ah = xcalloc(1, sizeof *ah);
    ah->name = xstrdup(name);
    ah->pool_defaults_el = ah->pool_defaults_pm_el = ah->site_defaults_el = ah->app_defaults_el =
        -1;
    strmap_init(&ah->pools);
    strmap_init(&ah->sites);
    strmap_init(&ah->ids);
    strmap_init(&ah->bindings);
    strmap_init(&ah->locations);
    if (xml_doc_load(&ah->doc, text, len, name, d) < 0) {
        apphost_free(ah);
        return NULL;
    }
    const struct xml_doc *doc = &ah->doc;
    if (!xml_is(doc, doc->root, "configuration")) {
        diag_add(d, "%s: the root element is not <configuration>: not an applicationHost.config",
                 name);
        apphost_free(ah);
        return NULL;
    }
    int32_t host = xml_child(doc, doc->root, "system.applicationHost");
    ah->pools_el = xml_child(doc, host, "applicationPools");
    ah->sites_el = xml_child(doc, host, "sites");
    if (ah->pools_el < 0 || ah->sites_el < 0) {
        diag_add(d,
                 "%s: no <system.applicationHost> with <applicationPools> and <sites>: "
                 "not an applicationHost.config",
                 name);
        apphost_free(ah);
        return NULL;
    }
    detect_unit(ah);
    int rc = index_pools(ah, d);
    if (index_sites(ah, d) < 0)
        rc = -1;
    index_locations(ah);
    if (rc < 0) {
        apphost_free(ah);
        return NULL;
    }
    return ah;
}

void apphost_free(struct apphost *ah)
{
    if (!ah)
        return;
    for (size_t i = 0; i < ah->n_sites; i++) {
        struct site_state *ss = ah->site_list[i];
        for (size_t k = 0; k < ss->n_keys; k++)
            free(ss->keys[k]);
        for (size_t k = 0; k < ss->n_app_pools; k++)
            free(ss->app_pools[k]);
        free(ss->keys);
        free(ss->app_pools);
        free(ss->name);
        free(ss);
    }
    for (size_t i = 0; i < ah->n_pools; i++) {
        free(ah->pool_list[i]->name);
        free(ah->pool_list[i]->claimed_by);
        free(ah->pool_list[i]->claimed_key);
        free(ah->pool_list[i]);
    }
    for (size_t i = 0; i < ah->n_edits; i++)
        free_secret(ah->edits[i].text); /* new elements may hold passwords */
    free(ah->edits);
    free(ah->site_list);
    free(ah->pool_list);
    strmap_free(&ah->pools);
    strmap_free(&ah->sites);
    strmap_free(&ah->ids);
    strmap_free(&ah->bindings);
    strmap_free(&ah->locations);
    xml_doc_free(&ah->doc);
    free(ah->unit);
    free(ah->name);
    free(ah);
}

size_t apphost_site_count(const struct apphost *ah)
{
    size_t n = 0;
    for (size_t i = 0; i < ah->n_sites; i++)
        n += !ah->site_list[i]->removed;
    return n;
}

/* ---- effective values ----------------------------------------------- */

/* The value IIS uses: the element's attribute, else the collection default
 * element's, else the schema default. */
static char *effective(const struct apphost *ah, int32_t elem, int32_t defaults, const char *name,
                       const char *schema_default)
{
    char *v = elem >= 0 ? xml_get(&ah->doc, elem, name) : NULL;
    if (!v && defaults >= 0)
        v = xml_get(&ah->doc, defaults, name);
    return v ? v : xstrdup(schema_default);
}

/* Compares an effective value with the wanted one; records and queues the
 * change. ci: compare ASCII case-insensitively (enums, booleans). */
static void reconcile(struct apphost *ah, int32_t elem, int32_t defaults, const char *attr,
                      const char *schema_default, const char *want, bool ci, struct change **ch,
                      struct changes *out, const char *kind, const char *object)
{
    char *have = effective(ah, elem, defaults, attr, schema_default);
    bool same = ci ? ascii_equal_ci(have, want) : strcmp(have, want) == 0;
    if (!same) {
        if (!*ch)
            *ch = changes_add(out, '~', kind, object);
        change_attr(*ch, attr, have, want);
        set_attr(ah, elem, attr, want);
    }
    free(have);
}

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
        attr_text(sb, "userName", p->user_name);
        change_attr(ch, "userName", NULL, p->user_name);
        if (p->password) {
            attr_text(sb, "password", p->password);
            change_secret(ch, "password");
        }
    }
    if (p->idle_timeout) {
        attr_text(sb, "idleTimeout", p->idle_timeout);
        change_attr(ch, "idleTimeout", NULL, p->idle_timeout);
    }
    if (p->load_user_profile >= 0) {
        attr_text(sb, "loadUserProfile", bool_text(p->load_user_profile));
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
    attr_text(&line, "name", p->name);
    attr_text(&line, "managedRuntimeVersion", p->runtime);
    attr_text(&line, "managedPipelineMode", p->pipeline);
    change_attr(ch, "managedRuntimeVersion", NULL, p->runtime);
    change_attr(ch, "managedPipelineMode", NULL, p->pipeline);
    char *auto_start = effective(ah, -1, ah->pool_defaults_el, "autoStart", "true");
    if (!ascii_equal_ci(auto_start, bool_text(p->auto_start))) {
        attr_text(&line, "autoStart", bool_text(p->auto_start));
        change_attr(ch, "autoStart", NULL, bool_text(p->auto_start));
    }
    free(auto_start);
    char *start_mode = effective(ah, -1, ah->pool_defaults_el, "startMode", "OnDemand");
    if (!ascii_equal_ci(start_mode, p->start_mode)) {
        attr_text(&line, "startMode", p->start_mode);
        change_attr(ch, "startMode", NULL, p->start_mode);
    }
    free(start_mode);
    sb_adds(&line, ">");

    /* New pools go after the last <add>, before applicationPoolDefaults. */
    int32_t anchor = -1;
    for (size_t i = 0; i < ah->n_pools; i++)
        if (ah->pool_list[i]->elem >= 0 && !ah->pool_list[i]->removed)
            anchor = ah->pool_list[i]->elem > anchor ? ah->pool_list[i]->elem : anchor;
    struct frag f = {ah, {0}, NULL};
    char *base = anchor >= 0 ? xml_indent_of(&ah->doc, anchor) : child_indent(ah, ah->pools_el);
    f.base = base;
    frag_line(&f, 0, line.buf);
    struct strbuf pm;
    sb_init(&pm);
    pool_model_attrs(&pm, p, ch);
    frag_line(&f, 1, pm.buf);
    frag_line(&f, 0, "</add>");
    sb_free_secret(&pm);
    sb_free(&line);
    char *text = frag_take(&f);
    if (anchor >= 0)
        queue_edit(ah, ah->doc.elems[anchor].end, ah->doc.elems[anchor].end, text);
    else if (ah->pool_defaults_el >= 0) {
        /* Before applicationPoolDefaults: its own line block. */
        uint32_t at = block_start(ah, ah->pool_defaults_el);
        queue_edit(ah, at, at, text);
    } else
        insert_child(ah, ah->pools_el, text);
    free(base);
    add_pool_state(ah, p->name, -1);
}

static void update_pool(struct apphost *ah, struct pool_state *ps, const struct iis_pool_spec *p,
                        struct changes *out)
{
    struct change *ch = NULL;
    int32_t el = ps->elem, defs = ah->pool_defaults_el;
    reconcile(ah, el, defs, "managedRuntimeVersion", "", p->runtime, true, &ch, out, "pool",
              p->name);
    reconcile(ah, el, defs, "managedPipelineMode", "Integrated", p->pipeline, true, &ch, out,
              "pool", p->name);
    reconcile(ah, el, defs, "startMode", "OnDemand", p->start_mode, true, &ch, out, "pool",
              p->name);
    reconcile(ah, el, defs, "autoStart", "true", bool_text(p->auto_start), true, &ch, out, "pool",
              p->name);

    int32_t pm = xml_child(&ah->doc, el, "processModel");
    int32_t pm_defs = ah->pool_defaults_pm_el;
    if (pm < 0) {
        /* Nothing set on the pool yet: add a processModel when the defaults
         * do not already give what we want. */
        char *type = effective(ah, -1, pm_defs, "identityType", "ApplicationPoolIdentity");
        bool need = !ascii_equal_ci(type, iis_identity_name(p->identity)) ||
                    p->identity == IIS_IDENTITY_SPECIFICUSER || p->idle_timeout ||
                    p->load_user_profile >= 0;
        if (need) {
            if (!ch)
                ch = changes_add(out, '~', "pool", p->name);
            struct strbuf sb;
            sb_init(&sb);
            pool_model_attrs(&sb, p, ch);
            char *base = child_indent(ah, el);
            struct frag f = {ah, {0}, base};
            frag_line(&f, 0, sb.buf);
            sb_free_secret(&sb);
            insert_child(ah, el, frag_take(&f));
            free(base);
        }
        free(type);
        return;
    }
    reconcile(ah, pm, pm_defs, "identityType", "ApplicationPoolIdentity",
              iis_identity_name(p->identity), true, &ch, out, "pool", p->name);
    if (p->identity == IIS_IDENTITY_SPECIFICUSER) {
        reconcile(ah, pm, -1, "userName", "", p->user_name, true, &ch, out, "pool", p->name);
        if (p->password) {
            char *have = xml_get(&ah->doc, pm, "password");
            if (have && strncmp(have, "[enc:", 5) == 0) {
                /* Encrypted with the host's keys: it cannot be compared or
                 * rewritten from here, so it is kept byte for byte. */
            } else if (!have || strcmp(have, p->password) != 0) {
                if (!ch)
                    ch = changes_add(out, '~', "pool", p->name);
                change_secret(ch, "password");
                set_attr(ah, pm, "password", p->password);
            }
            free_secret(have);
        }
    } else {
        char *user = xml_get(&ah->doc, pm, "userName");
        if (user) {
            if (!ch)
                ch = changes_add(out, '~', "pool", p->name);
            change_attr(ch, "userName", user, NULL);
            remove_attr(ah, pm, "userName");
            struct xml_attr a;
            if (xml_attr_find(&ah->doc, pm, "password", &a)) {
                change_secret(ch, "password");
                remove_attr(ah, pm, "password");
            }
        }
        free(user);
    }
    if (p->idle_timeout)
        reconcile(ah, pm, pm_defs, "idleTimeout", "00:20:00", p->idle_timeout, false, &ch, out,
                  "pool", p->name);
    if (p->load_user_profile >= 0)
        reconcile(ah, pm, pm_defs, "loadUserProfile", "false", bool_text(p->load_user_profile),
                  true, &ch, out, "pool", p->name);
}

/* ---- sites ---------------------------------------------------------- */

static void binding_lines(struct frag *f, int level, const struct iis_site_spec *s)
{
    frag_line(f, level, "<bindings>");
    for (size_t i = 0; i < s->n_bindings; i++) {
        struct strbuf sb;
        sb_init(&sb);
        sb_adds(&sb, "<binding");
        attr_text(&sb, "protocol", s->bindings[i].protocol);
        attr_text(&sb, "bindingInformation", s->bindings[i].information);
        if (s->bindings[i].ssl_flags)
            sb_addf(&sb, " sslFlags=\"%u\"", s->bindings[i].ssl_flags);
        sb_adds(&sb, " />");
        frag_line(f, level + 1, sb.buf);
        sb_free(&sb);
    }
    frag_line(f, level, "</bindings>");
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
    attr_text(sb, "physicalPath", s->physical_path);
    if (s->vdir_user) {
        attr_text(sb, "userName", s->vdir_user);
        if (s->vdir_password)
            attr_text(sb, "password", s->vdir_password);
    }
    sb_adds(sb, " />");
}

static void create_site(struct apphost *ah, const struct iis_site_spec *s, unsigned long id,
                        struct changes *out)
{
    struct change *ch = changes_add(out, '+', "site", s->name);
    struct strbuf sb;
    sb_init(&sb);
    sb_adds(&sb, "<site");
    attr_text(&sb, "name", s->name);
    sb_addf(&sb, " id=\"%lu\"", id);
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lu", id);
    change_attr(ch, "id", NULL, idtext);
    char *auto_start = effective(ah, -1, ah->site_defaults_el, "serverAutoStart", "true");
    if (!ascii_equal_ci(auto_start, bool_text(s->auto_start))) {
        attr_text(&sb, "serverAutoStart", bool_text(s->auto_start));
        change_attr(ch, "serverAutoStart", NULL, bool_text(s->auto_start));
    }
    free(auto_start);
    sb_adds(&sb, ">");

    int32_t anchor = -1;
    for (size_t i = 0; i < ah->n_sites; i++)
        if (ah->site_list[i]->elem > anchor && !ah->site_list[i]->removed)
            anchor = ah->site_list[i]->elem;
    char *base = anchor >= 0 ? xml_indent_of(&ah->doc, anchor) : child_indent(ah, ah->sites_el);
    struct frag f = {ah, {0}, base};
    frag_line(&f, 0, sb.buf);
    sb.len = 0;
    sb_adds(&sb, "<application path=\"/\"");
    attr_text(&sb, "applicationPool", s->pool);
    sb_adds(&sb, ">");
    frag_line(&f, 1, sb.buf);
    change_attr(ch, "applicationPool", NULL, s->pool);
    sb.len = 0;
    vdir_line(&sb, s);
    frag_line(&f, 2, sb.buf);
    change_attr(ch, "physicalPath", NULL, s->physical_path);
    change_attr(ch, "connectAs", NULL, s->vdir_user ? s->vdir_user : "pass-through");
    if (s->vdir_user && s->vdir_password)
        change_secret(ch, "password");
    frag_line(&f, 1, "</application>");
    binding_lines(&f, 1, s);
    char *summary = bindings_summary(s);
    change_attr(ch, "bindings", NULL, summary);
    free(summary);
    frag_line(&f, 0, "</site>");
    sb_free_secret(&sb);
    char *text = frag_take(&f);
    if (anchor >= 0)
        queue_edit(ah, ah->doc.elems[anchor].end, ah->doc.elems[anchor].end, text);
    else {
        int32_t first = ah->doc.elems[ah->sites_el].first_child;
        if (first >= 0) {
            uint32_t at = block_start(ah, first);
            queue_edit(ah, at, at, text);
        } else
            insert_child(ah, ah->sites_el, text);
    }
    free(base);
    struct site_state *ss = add_site_state(ah, s->name, -1, id);
    for (size_t i = 0; i < s->n_bindings; i++) {
        char k[640];
        iis_binding_key(s->bindings[i].protocol, s->bindings[i].information, k, sizeof k);
        site_add_key(ah, ss, k);
    }
    site_add_app_pool(ah, ss, s->pool);
}

/* True when the site's <bindings> already hold exactly the wanted ones. */
static bool bindings_match(const struct apphost *ah, int32_t bindings,
                           const struct iis_site_spec *s)
{
    size_t have = 0;
    for (int32_t x = bindings >= 0 ? ah->doc.elems[bindings].first_child : -1; x >= 0;
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
        set_attr(ah, el, "id", to);
        strmap_del(&ah->ids, from);
        strmap_put(&ah->ids, to, ss);
        ss->id = id;
    }
    reconcile(ah, el, ah->site_defaults_el, "serverAutoStart", "true", bool_text(s->auto_start),
              true, &ch, out, "site", s->name);

    /* The root application and its root virtual directory. */
    int32_t root_app = -1;
    for (int32_t a = xml_child(&ah->doc, el, "application"); a >= 0;
         a = xml_next_named(&ah->doc, a, "application")) {
        char *path = xml_get(&ah->doc, a, "path");
        if (path && strcmp(path, "/") == 0)
            root_app = a;
        free(path);
        if (root_app >= 0)
            break;
    }
    if (root_app < 0) {
        if (!ch)
            ch = changes_add(out, '~', "site", s->name);
        char *base = child_indent(ah, el);
        struct frag f = {ah, {0}, base};
        struct strbuf sb;
        sb_init(&sb);
        sb_adds(&sb, "<application path=\"/\"");
        attr_text(&sb, "applicationPool", s->pool);
        sb_adds(&sb, ">");
        frag_line(&f, 0, sb.buf);
        sb.len = 0;
        vdir_line(&sb, s);
        frag_line(&f, 1, sb.buf);
        frag_line(&f, 0, "</application>");
        sb_free_secret(&sb);
        insert_child(ah, el, frag_take(&f));
        free(base);
        change_attr(ch, "applicationPool", NULL, s->pool);
        change_attr(ch, "physicalPath", NULL, s->physical_path);
        site_add_app_pool(ah, ss, s->pool);
    } else {
        char *pool = app_pool_of(ah, root_app);
        if (!ascii_equal_ci(pool, s->pool)) {
            if (!ch)
                ch = changes_add(out, '~', "site", s->name);
            change_attr(ch, "applicationPool", pool, s->pool);
            set_attr(ah, root_app, "applicationPool", s->pool);
            /* Move one reference from the old pool to the new one. */
            for (size_t i = 0; i < ss->n_app_pools; i++) {
                if (ascii_equal_ci(ss->app_pools[i], pool)) {
                    struct pool_state *old = strmap_get(&ah->pools, pool);
                    if (old && old->refs)
                        old->refs--;
                    free(ss->app_pools[i]);
                    ss->app_pools[i] = xstrdup(s->pool);
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
            char *base = child_indent(ah, root_app);
            struct frag f = {ah, {0}, base};
            struct strbuf sb;
            sb_init(&sb);
            vdir_line(&sb, s);
            frag_line(&f, 0, sb.buf);
            sb_free_secret(&sb);
            insert_child(ah, root_app, frag_take(&f));
            free(base);
            change_attr(ch, "physicalPath", NULL, s->physical_path);
        } else {
            reconcile(ah, vdir, -1, "physicalPath", "", s->physical_path, false, &ch, out, "site",
                      s->name);
            char *user = xml_get(&ah->doc, vdir, "userName");
            if (!s->vdir_user && user) {
                /* Pass-through: no userName/password on the root directory. */
                if (!ch)
                    ch = changes_add(out, '~', "site", s->name);
                change_attr(ch, "connectAs", user, "pass-through");
                remove_attr(ah, vdir, "userName");
                struct xml_attr a;
                if (xml_attr_find(&ah->doc, vdir, "password", &a))
                    remove_attr(ah, vdir, "password");
                if (xml_attr_find(&ah->doc, vdir, "logonMethod", &a))
                    remove_attr(ah, vdir, "logonMethod");
            } else if (s->vdir_user) {
                reconcile(ah, vdir, -1, "userName", "", s->vdir_user, true, &ch, out, "site",
                          s->name);
                char *pw = xml_get(&ah->doc, vdir, "password");
                if (s->vdir_password && !(pw && strncmp(pw, "[enc:", 5) == 0) &&
                    (!pw || strcmp(pw, s->vdir_password) != 0)) {
                    if (!ch)
                        ch = changes_add(out, '~', "site", s->name);
                    change_secret(ch, "password");
                    set_attr(ah, vdir, "password", s->vdir_password);
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
            char *text = frag_take(&f);
            /* The fragment starts with newline + indentation: replace the
             * element's whole line block with it. */
            queue_edit(ah, block_start(ah, bindings), ah->doc.elems[bindings].end, text);
            free(base);
        } else {
            char *base = child_indent(ah, el);
            struct frag f = {ah, {0}, base};
            binding_lines(&f, 0, s);
            insert_child(ah, el, frag_take(&f));
            free(base);
        }
        site_drop_keys(ah, ss);
        for (size_t i = 0; i < s->n_bindings; i++) {
            char k[640];
            iis_binding_key(s->bindings[i].protocol, s->bindings[i].information, k, sizeof k);
            site_add_key(ah, ss, k);
        }
    }
}

/* ---- the anonymous identity: <location path="SITE"> ------------------ */

static const char *const anon_chain[] = {"system.webServer", "security", "authentication",
                                         "anonymousAuthentication"};
#define ANON_DEPTH 4

static char *anon_fragment(struct apphost *ah, const char *base, int from_depth,
                           const char *location_path, const char *user)
{
    struct frag f = {ah, {0}, base};
    struct strbuf sb;
    sb_init(&sb);
    int level = 0;
    if (location_path) {
        sb_adds(&sb, "<location");
        attr_text(&sb, "path", location_path);
        sb_adds(&sb, ">");
        frag_line(&f, level++, sb.buf);
    }
    for (int i = from_depth; i < ANON_DEPTH - 1; i++) {
        sb.len = 0;
        sb_addf(&sb, "<%s>", anon_chain[i]);
        frag_line(&f, level++, sb.buf);
    }
    sb.len = 0;
    sb_adds(&sb, "<anonymousAuthentication");
    attr_text(&sb, "userName", user);
    sb_adds(&sb, " />");
    frag_line(&f, level, sb.buf);
    for (int i = ANON_DEPTH - 2; i >= from_depth; i--) {
        sb.len = 0;
        sb_addf(&sb, "</%s>", anon_chain[i]);
        frag_line(&f, --level, sb.buf);
    }
    if (location_path)
        frag_line(&f, --level, "</location>");
    sb_free(&sb);
    return frag_take(&f);
}

static void ensure_anonymous(struct apphost *ah, const char *site, const char *user,
                             struct changes *out)
{
    const char *shown = *user ? user : "(pool identity)";
    int32_t loc = location_of(ah, site);
    if (loc < 0) {
        /* After the last element of <configuration>: with the other
         * locations at the end of the file. */
        int32_t last = ah->doc.elems[ah->doc.root].last_child;
        char *base = last >= 0 ? xml_indent_of(&ah->doc, last) : xstrdup(ah->unit);
        char *text = anon_fragment(ah, base, 0, site, user);
        if (last >= 0)
            queue_edit(ah, ah->doc.elems[last].end, ah->doc.elems[last].end, text);
        else
            insert_child(ah, ah->doc.root, text);
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
        char *have = effective(ah, node, -1, "userName", "IUSR");
        if (strcmp(have, user) != 0) {
            struct change *ch = changes_add(out, '~', "location", site);
            change_attr(ch, "anonymousAuthentication.userName", *have ? have : "(pool identity)",
                        shown);
            set_attr(ah, node, "userName", user);
            struct xml_attr a;
            if (xml_attr_find(&ah->doc, node, "password", &a)) {
                change_secret(ch, "anonymousAuthentication.password");
                remove_attr(ah, node, "password");
            }
        }
        free(have);
        return;
    }
    char *base = child_indent(ah, node);
    insert_child(ah, node, anon_fragment(ah, base, depth, NULL, user));
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
    struct site_state *ss = strmap_get(&ah->sites, site->name);
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
    if (ps && ps->removed) {
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
    if (p->first_child != child || p->last_child != child)
        return false;
    for (uint32_t i = p->stag_end; i < c->start; i++)
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
    if (ss && ss->elem < 0) {
        diag_add(d, "site '%s' is created earlier in this run", site_name);
        return -1;
    }
    struct pool_state *ps = pool_name ? strmap_get(&ah->pools, pool_name) : NULL;
    if (ps && (ps->removed || ps->elem < 0))
        ps = NULL;
    if (ps) {
        size_t own = 0;
        for (size_t i = 0; ss && !ss->removed && i < ss->n_app_pools; i++)
            own += ascii_equal_ci(ss->app_pools[i], ps->name);
        if (ps->refs > own) {
            struct strbuf users;
            sb_init(&users);
            for (size_t i = 0; i < ah->n_sites; i++) {
                struct site_state *o = ah->site_list[i];
                if (o == ss || o->removed)
                    continue;
                for (size_t k = 0; k < o->n_app_pools; k++)
                    if (ascii_equal_ci(o->app_pools[k], ps->name)) {
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
        remove_elem(ah, ss->elem);
        ss->removed = true;
        site_drop_keys(ah, ss);
        site_drop_app_pools(ah, ss);
        strmap_del(&ah->ids, idtext);
    }
    int32_t loc = location_of(ah, site_name);
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
            remove_elem(ah, chain[top]);
            strmap_del(&ah->locations, site_name);
            struct change *ch = changes_add(out, '-', "location", site_name);
            if (top > 0)
                change_note(ch, "anonymous identity removed; the location's other settings kept");
        }
    }
    if (ps) {
        char *default_pool = default_app_pool(ah);
        /* The pool named by <applicationDefaults> is where new applications
         * land: it stays, even when no site uses it any more. */
        if (!ascii_equal_ci(default_pool, ps->name)) {
            changes_add(out, '-', "pool", ps->name);
            remove_elem(ah, ps->elem);
            ps->removed = true;
        }
        free(default_pool);
    }
    return 0;
}

bool apphost_pool_has_password(const struct apphost *ah, const char *pool, const char *user_name)
{
    struct pool_state *ps = strmap_get(&ah->pools, pool);
    if (!ps || ps->elem < 0 || ps->removed)
        return false;
    int32_t pm = xml_child(&ah->doc, ps->elem, "processModel");
    char *type = xml_get(&ah->doc, pm, "identityType");
    char *user = xml_get(&ah->doc, pm, "userName");
    char *password = xml_get(&ah->doc, pm, "password");
    bool yes = type && ascii_equal_ci(type, "SpecificUser") && user &&
               ascii_equal_ci(user, user_name) && password && *password;
    free(type);
    free(user);
    free_secret(password);
    return yes;
}

/* ---- listing -------------------------------------------------------- */

static char *global_anonymous_user(const struct apphost *ah)
{
    int32_t node = ah->doc.root;
    for (int i = 0; i < ANON_DEPTH && node >= 0; i++)
        node = xml_child(&ah->doc, node, anon_chain[i]);
    return effective(ah, node, -1, "userName", "IUSR");
}

void apphost_list(const struct apphost *ah, iis_site_visitor visit, void *arg)
{
    char *global_anon = global_anonymous_user(ah);
    for (size_t i = 0; i < ah->n_sites; i++) {
        const struct site_state *ss = ah->site_list[i];
        if (ss->removed || ss->elem < 0)
            continue;
        struct iis_site_info info = {.name = ss->name, .id = ss->id};
        int32_t app = xml_child(&ah->doc, ss->elem, "application");
        char *pool = app >= 0 ? app_pool_of(ah, app) : xstrdup("");
        int32_t vdir = app >= 0 ? xml_child(&ah->doc, app, "virtualDirectory") : -1;
        char *path = vdir >= 0 ? xml_get(&ah->doc, vdir, "physicalPath") : NULL;
        struct pool_state *ps = strmap_get(&ah->pools, pool);
        int32_t pm = ps && ps->elem >= 0 ? xml_child(&ah->doc, ps->elem, "processModel") : -1;
        char *identity =
            effective(ah, pm, ah->pool_defaults_pm_el, "identityType", "ApplicationPoolIdentity");
        char *user = pm >= 0 ? xml_get(&ah->doc, pm, "userName") : NULL;
        char *anon = NULL;
        int32_t node = location_of(ah, ss->name);
        for (int k = 0; k < ANON_DEPTH && node >= 0; k++)
            node = xml_child(&ah->doc, node, anon_chain[k]);
        anon = node >= 0 ? effective(ah, node, -1, "userName", global_anon) : xstrdup(global_anon);
        info.pool = pool;
        info.identity = identity;
        info.identity_user = user;
        info.physical_path = path ? path : "";
        info.anonymous_user = anon;
        info.bindings = ss->keys;
        info.n_bindings = ss->n_keys;
        visit(&info, arg);
        free(pool);
        free(path);
        free(identity);
        free(user);
        free(anon);
    }
    free(global_anon);
}
