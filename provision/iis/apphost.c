/* SPDX-License-Identifier: GPL-3.0-or-later */
/* applicationHost.config: loading and indexing, the queue of splices and
 * rendering, effective values, listing. The edits themselves (pools, sites,
 * anonymous identities) are in apphost_edit.c. */
#include "provision/iis/apphost_internal.h"

#include "provision/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const anon_chain[] = {"system.webServer", "security", "authentication",
                                  "anonymousAuthentication"};

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

void ah_queue_edit(struct apphost *ah, uint32_t from, uint32_t to, char *text)
{
    if (ah->n_edits == ah->cap_edits) {
        ah->cap_edits = ah->cap_edits ? ah->cap_edits * 2 : 64;
        ah->edits = xrealloc(ah->edits, ah->cap_edits * sizeof *ah->edits);
    }
    ah->edits[ah->n_edits++] = (struct edit){from, to, text, ah->seq++, 0};
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
    if (a->nesting != b->nesting)
        return a->nesting > b->nesting ? -1 : 1;
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

struct iovec *apphost_render_pieces(const struct apphost *ah, size_t *n, size_t *total)
{
    struct edit *sorted = xmalloc((ah->n_edits ? ah->n_edits : 1) * sizeof *sorted);
    if (ah->n_edits)
        memcpy(sorted, ah->edits, ah->n_edits * sizeof *sorted);
    qsort(sorted, ah->n_edits, sizeof *sorted, edit_order);
    /* The original between edits, then each edit's text: 2 per edit + 1. */
    struct iovec *pieces = xmalloc((2 * ah->n_edits + 1) * sizeof *pieces);
    size_t count = 0, sum = 0;
    uint32_t pos = 0;
    for (size_t i = 0; i <= ah->n_edits; i++) {
        uint32_t from = i < ah->n_edits ? sorted[i].from : (uint32_t)ah->doc.len;
        if (from < pos) { /* two edits touch the same bytes: a bug, never a guess */
            free(sorted);
            free(pieces);
            *n = *total = 0;
            return NULL;
        }
        if (from > pos)
            pieces[count++] = (struct iovec){ah->doc.text + pos, from - pos};
        sum += from - pos;
        if (i == ah->n_edits)
            break;
        size_t len = strlen(sorted[i].text);
        if (len)
            pieces[count++] = (struct iovec){sorted[i].text, len};
        sum += len;
        pos = sorted[i].to;
    }
    free(sorted);
    *n = count;
    *total = sum;
    return pieces;
}

char *apphost_render(const struct apphost *ah, size_t *len)
{
    size_t n, total;
    struct iovec *pieces = apphost_render_pieces(ah, &n, &total);
    if (!pieces) {
        *len = 0;
        return NULL;
    }
    char *out = xmalloc(total + 1), *at = out;
    for (size_t i = 0; i < n; i++) {
        memcpy(at, pieces[i].iov_base, pieces[i].iov_len);
        at += pieces[i].iov_len;
    }
    *at = '\0';
    free(pieces);
    *len = total;
    return out;
}

void apphost_digest_start(struct apphost *ah)
{
    if (ah->original_digest || ah->hex_digest[0])
        return;
    struct iovec all = {ah->doc.text, ah->doc.len};
    ah->original_digest = sha256_start(&all, 1);
}

void apphost_original_sha256(struct apphost *ah, char out[65])
{
    apphost_digest_start(ah);
    if (ah->original_digest) { /* the text never changes: once is enough */
        sha256_finish(ah->original_digest, ah->hex_digest);
        ah->original_digest = NULL;
    }
    memcpy(out, ah->hex_digest, 65);
}

/* ---- text generation ------------------------------------------------ */

void ah_frag_line(struct frag *f, int level, const char *line)
{
    /* A fragment may hold a password line: a secret buffer, with room up
     * front so that it seldom has to move; ah_frag_take() hands out an
     * exact copy. */
    if (!f->sb.cap) {
        sb_init_secret(&f->sb);
        sb_grow(&f->sb, 2048);
    }
    sb_adds(&f->sb, f->ah->doc.newline);
    sb_adds(&f->sb, f->base);
    for (int i = 0; i < level; i++)
        sb_adds(&f->sb, f->ah->unit);
    sb_adds(&f->sb, line);
}

/* The fragment's text at its exact size (thousands of them can be queued);
 * the working buffer is wiped, as it may hold a password. */
char *ah_frag_take(struct frag *f)
{
    char *text = xstrndup(f->sb.buf ? f->sb.buf : "", f->sb.len);
    sb_free_secret(&f->sb);
    return text;
}

void ah_attr_text(struct strbuf *sb, const char *name, const char *value)
{
    sb_addf(sb, " %s=\"", name);
    xml_escape_attr(sb, value);
    sb_addc(sb, '"');
}

/* Start of the removable block of an element: the line break before its
 * indentation when it stands on its own line, else the element itself. An
 * insertion writes exactly such a block, so removing it restores the bytes. */
uint32_t ah_block_start(const struct apphost *ah, int32_t elem)
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

void ah_remove_elem(struct apphost *ah, int32_t elem)
{
    ah_queue_edit(ah, ah_block_start(ah, elem), ah->doc.elems[elem].end, xstrdup(""));
}

/* Indentation for a child of parent: its last child's when that stands on a
 * line of its own, else parent's plus one unit. */
char *ah_child_indent(const struct apphost *ah, int32_t parent)
{
    int32_t last = xml_last_child(&ah->doc, parent);
    if (last >= 0) {
        char *own = xml_indent_of(&ah->doc, last);
        if (*own || ah_block_start(ah, last) != ah->doc.elems[last].start)
            return own;
        free(own);
    }
    char *p = xml_indent_of(&ah->doc, parent);
    char *r = xasprintf("%s%s", p, ah->unit);
    free(p);
    return r;
}

/* Appends a fragment (built with base = ah_child_indent(parent)) as the last
 * child of parent, opening an empty element `<x ... />` when needed.
 * Opening is three edits, so that any number of children (and attributes)
 * can be added to one empty element without overlapping: `/>` becomes `>`
 * once, and each child and the new end tag are insertions at the
 * element's end, ordered by struct edit's nesting. */
void ah_insert_child(struct apphost *ah, int32_t parent, char *fragment)
{
    const struct xml_elem *p = &ah->doc.elems[parent];
    int32_t last = xml_last_child(&ah->doc, parent);
    if (last >= 0) {
        ah_queue_edit(ah, ah->doc.elems[last].end, ah->doc.elems[last].end, fragment);
        return;
    }
    uint32_t stag_end = xml_stag_end(&ah->doc, parent);
    if (!xml_is_empty(&ah->doc, parent)) {
        ah_queue_edit(ah, stag_end, stag_end, fragment);
        return;
    }
    bool opened = false;
    for (size_t i = 0; i < ah->n_opened && !opened; i++)
        opened = ah->opened[i] == parent;
    if (!opened) {
        /* <x a="1" /> becomes <x a="1">CHILDREN NL INDENT</x> */
        uint32_t slash = stag_end - 2;
        while (slash > p->start &&
               (ah->doc.text[slash - 1] == ' ' || ah->doc.text[slash - 1] == '\t'))
            slash--;
        ah_queue_edit(ah, slash, p->end, xstrdup(">"));
        char *indent = xml_indent_of(&ah->doc, parent);
        char *close = xasprintf("%s%s</%.*s>", ah->doc.newline, indent,
                                (int)xml_name_len(&ah->doc, parent), ah->doc.text + p->start + 1);
        free(indent);
        ah_queue_edit(ah, p->end, p->end, close);
        ah->edits[ah->n_edits - 1].nesting = 1;
        ah->opened = xrealloc(ah->opened, (ah->n_opened + 1) * sizeof *ah->opened);
        ah->opened[ah->n_opened++] = parent;
    }
    ah_queue_edit(ah, p->end, p->end, fragment);
    ah->edits[ah->n_edits - 1].nesting = 2;
}

/* Sets attribute name on an existing element: in place when present, else
 * appended after the last attribute. */
void ah_set_attr(struct apphost *ah, int32_t elem, const char *name, const char *value)
{
    struct xml_attr a;
    struct strbuf sb;
    sb_init_secret(&sb); /* the value may be a password */
    if (xml_attr_find(&ah->doc, elem, name, &a)) {
        for (const char *v = value; *v; v++) {
            if (*v == '\'' && a.quote == '\'')
                sb_adds(&sb, "&apos;");
            else {
                char one[2] = {*v, 0};
                xml_escape_attr(&sb, one);
            }
        }
        ah_queue_edit(ah, a.value_off, a.value_off + a.value_len, sb_detach(&sb));
    } else {
        ah_attr_text(&sb, name, value);
        uint32_t at = xml_attr_insert_point(&ah->doc, elem);
        ah_queue_edit(ah, at, at, sb_detach(&sb));
    }
}

void ah_remove_attr(struct apphost *ah, int32_t elem, const char *name)
{
    struct xml_attr a;
    if (!xml_attr_find(&ah->doc, elem, name, &a))
        return;
    uint32_t from = a.name_off;
    while (from > 0 && strchr(" \t\r\n", ah->doc.text[from - 1]))
        from--;
    ah_queue_edit(ah, from, a.value_off + a.value_len + 1, xstrdup(""));
}

/* ---- loading -------------------------------------------------------- */

static char *line_ref(const struct apphost *ah, int32_t elem)
{
    return xasprintf("%s:%u", ah->name, xml_line_of(&ah->doc, ah->doc.elems[elem].start));
}

struct pool_state *ah_add_pool_state(struct apphost *ah, const char *name, int32_t elem)
{
    struct pool_state *ps = arena_alloc(&ah->arena, sizeof *ps);
    ps->name = arena_strdup(&ah->arena, name);
    ps->elem = elem;
    strmap_put(&ah->pools, ps->name, ps); /* the map borrows the state's name */
    if (ah->n_pools == 0 || (ah->n_pools >= 16 && (ah->n_pools & (ah->n_pools - 1)) == 0))
        ah->pool_list =
            xrealloc(ah->pool_list, (ah->n_pools ? 2 * ah->n_pools : 16) * sizeof *ah->pool_list);
    ah->pool_list[ah->n_pools++] = ps;
    return ps;
}

struct site_state *ah_add_site_state(struct apphost *ah, const char *name, int32_t elem,
                                     unsigned long id)
{
    struct site_state *ss = arena_alloc(&ah->arena, sizeof *ss);
    ss->name = arena_strdup(&ah->arena, name);
    ss->elem = elem;
    ss->id = id;
    strmap_put(&ah->sites, ss->name, ss); /* the map borrows the state's name */
    char key[24];
    strmap_put(&ah->ids, arena_strdup(&ah->arena, ulong_decimal(id, key)), ss);
    if (id > ah->max_id)
        ah->max_id = id;
    if (ah->n_sites == 0 || (ah->n_sites >= 16 && (ah->n_sites & (ah->n_sites - 1)) == 0))
        ah->site_list =
            xrealloc(ah->site_list, (ah->n_sites ? 2 * ah->n_sites : 16) * sizeof *ah->site_list);
    ah->site_list[ah->n_sites++] = ss;
    return ss;
}

/* Appends to an array of strings in the arena (a site holds a few: the old
 * array stays there, unused, until the arena goes). */
static char **arena_append(struct arena *a, char **array, size_t n, char *item)
{
    char **grown = arena_alloc(a, (n + 1) * sizeof *grown);
    if (n)
        memcpy(grown, array, n * sizeof *grown);
    grown[n] = item;
    return grown;
}

void ah_site_add_key(struct apphost *ah, struct site_state *ss, const char *key)
{
    char *kept = arena_strdup(&ah->arena, key);
    ss->keys = arena_append(&ah->arena, ss->keys, ss->n_keys++, kept);
    if (!strmap_get(&ah->bindings, kept))
        strmap_put(&ah->bindings, kept, ss); /* the map borrows it */
}

void ah_site_drop_keys(struct apphost *ah, struct site_state *ss)
{
    for (size_t i = 0; i < ss->n_keys; i++) {
        if (strmap_get(&ah->bindings, ss->keys[i]) == ss)
            strmap_del(&ah->bindings, ss->keys[i]); /* the string stays in the arena */
    }
    ss->keys = NULL;
    ss->n_keys = 0;
}

void ah_site_add_app_pool(struct apphost *ah, struct site_state *ss, const char *pool)
{
    struct pool_state *ps = strmap_get(&ah->pools, pool);
    /* Mostly the pool's own name, spelt the same: kept once (states and
     * their names stay in the arena until the end). */
    char *kept = ps && strcmp(ps->name, pool) == 0 ? ps->name : arena_strdup(&ah->arena, pool);
    ss->app_pools = arena_append(&ah->arena, ss->app_pools, ss->n_app_pools++, kept);
    if (ps)
        ps->refs++;
}

void ah_site_drop_app_pools(struct apphost *ah, struct site_state *ss)
{
    for (size_t i = 0; i < ss->n_app_pools; i++) {
        struct pool_state *ps = strmap_get(&ah->pools, ss->app_pools[i]);
        if (ps && ps->refs)
            ps->refs--; /* the strings stay in the arena */
    }
    ss->app_pools = NULL;
    ss->n_app_pools = 0;
}

char *ah_default_app_pool(const struct apphost *ah)
{
    char *p = xml_get(&ah->doc, ah->app_defaults_el, "applicationPool");
    return p ? p : xstrdup("DefaultAppPool");
}

/* The pool a site's <applicationDefaults> names, or NULL. */
static char *site_default_app_pool(const struct apphost *ah, int32_t site)
{
    int32_t defaults = xml_child(&ah->doc, site, "applicationDefaults");
    return defaults >= 0 ? xml_get(&ah->doc, defaults, "applicationPool") : NULL;
}

/* An application's pool as IIS resolves it: its own attribute, else its
 * site's <applicationDefaults>, else the one under <sites>, else
 * DefaultAppPool. */
char *ah_app_pool_of(const struct apphost *ah, int32_t app)
{
    char *p = xml_get(&ah->doc, app, "applicationPool");
    if (!p)
        p = site_default_app_pool(ah, ah->doc.elems[app].parent);
    return p ? p : ah_default_app_pool(ah);
}

int32_t ah_last_live(struct apphost *ah, bool pools)
{
    if (ah->last_stale) {
        ah->last_site_el = ah->last_pool_el = -1;
        for (size_t i = 0; i < ah->n_sites; i++)
            if (ah->site_list[i]->elem > ah->last_site_el && !ah->site_list[i]->removed)
                ah->last_site_el = ah->site_list[i]->elem;
        for (size_t i = 0; i < ah->n_pools; i++)
            if (ah->pool_list[i]->elem > ah->last_pool_el && !ah->pool_list[i]->removed)
                ah->last_pool_el = ah->pool_list[i]->elem;
        ah->last_stale = false;
    }
    return pools ? ah->last_pool_el : ah->last_site_el;
}

int32_t ah_root_app(const struct apphost *ah, int32_t site)
{
    for (int32_t a = xml_child(&ah->doc, site, "application"); a >= 0;
         a = xml_next_named(&ah->doc, a, "application")) {
        char *path = xml_get(&ah->doc, a, "path");
        bool root = path && strcmp(path, "/") == 0;
        free(path);
        if (root)
            return a;
    }
    return -1;
}

static int index_pools(struct apphost *ah, struct diag *d)
{
    int rc = 0;
    const struct xml_doc *doc = &ah->doc;
    for (int32_t c = xml_first_child(doc, ah->pools_el); c >= 0; c = doc->elems[c].next) {
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
            if (strcmp(other->name, name) != 0)
                diag_add(d,
                         "%s: application pool '%s' collides with '%s' (%s): IIS treats names "
                         "equal without regard to case",
                         where, name, other->name, w2);
            else
                diag_add(d, "%s: application pool '%s' is defined twice (also at %s)", where, name,
                         w2);
            free(where);
            free(w2);
            rc = -1;
        } else {
            ah_add_pool_state(ah, name, c);
        }
        free(name);
    }
    return rc;
}

static int index_sites(struct apphost *ah, struct diag *d)
{
    int rc = 0;
    const struct xml_doc *doc = &ah->doc;
    for (int32_t c = xml_first_child(doc, ah->sites_el); c >= 0; c = doc->elems[c].next) {
        if (xml_is(doc, c, "siteDefaults")) {
            ah->site_defaults_el = c;
            continue;
        }
        if (xml_is(doc, c, "applicationDefaults")) {
            ah->app_defaults_el = c;
            continue;
        }
    }
    for (int32_t c = xml_first_child(doc, ah->sites_el); c >= 0; c = doc->elems[c].next) {
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
            struct site_state *other = strmap_get(&ah->sites, name);
            if (strcmp(other->name, name) != 0) {
                char *w2 = line_ref(ah, other->elem);
                diag_add(d,
                         "%s: site '%s' collides with '%s' (%s): IIS treats names equal without "
                         "regard to case",
                         where = line_ref(ah, c), name, other->name, w2);
                free(w2);
            } else {
                diag_add(d, "%s: site '%s' is defined twice", where = line_ref(ah, c), name);
            }
            rc = -1;
        } else {
            char key[24];
            struct site_state *same_id = strmap_get(&ah->ids, ulong_decimal(id, key));
            if (same_id) {
                diag_add(d, "%s: site '%s' has id %lu, like site '%s'", where = line_ref(ah, c),
                         name, id, same_id->name);
                rc = -1;
            } else {
                struct site_state *ss = ah_add_site_state(ah, name, c, id);
                int32_t b = xml_child(doc, c, "bindings");
                for (int32_t x = b >= 0 ? xml_first_child(doc, b) : -1; x >= 0;
                     x = doc->elems[x].next) {
                    if (!xml_is(doc, x, "binding"))
                        continue;
                    char *proto = xml_get(doc, x, "protocol"),
                         *info = xml_get(doc, x, "bindingInformation");
                    if (proto && info) {
                        char k[640];
                        iis_binding_key(proto, info, k, sizeof k);
                        ah_site_add_key(ah, ss, k);
                    }
                    free(proto);
                    free(info);
                }
                for (int32_t app = xml_child(doc, c, "application"); app >= 0;
                     app = xml_next_named(doc, app, "application")) {
                    char *pool = ah_app_pool_of(ah, app);
                    ah_site_add_app_pool(ah, ss, pool);
                    free(pool);
                }
                /* The site's own default is where its next application
                 * lands: a reference even while no application uses it. */
                char *site_default = site_default_app_pool(ah, c);
                if (site_default)
                    ah_site_add_app_pool(ah, ss, site_default);
                free(site_default);
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
    for (int32_t c = xml_first_child(doc, doc->root); c >= 0; c = doc->elems[c].next) {
        if (!xml_is(doc, c, "location"))
            continue;
        char *path = xml_get(doc, c, "path");
        if (path && !strmap_get(&ah->locations, path))
            strmap_put(&ah->locations, path, (void *)(intptr_t)(c + 1));
        free(path);
    }
}

int32_t ah_location_of(const struct apphost *ah, const char *site)
{
    return (int32_t)(intptr_t)strmap_get(&ah->locations, site) - 1;
}

static void detect_unit(struct apphost *ah)
{
    const struct xml_doc *doc = &ah->doc;
    int32_t child = xml_first_child(doc, doc->root);
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

static bool index_all(struct apphost *ah, struct diag *d);

struct apphost *apphost_load(char *text, size_t len, const char *name, struct diag *d)
{
    struct apphost *ah = xcalloc(1, sizeof *ah);
    ah->last_stale = true; /* ah_last_live looks once it is asked */
    ah->name = xstrdup(name);
    ah->pool_defaults_el = ah->pool_defaults_pm_el = ah->site_defaults_el = ah->app_defaults_el =
        -1;
    /* IIS compares site and pool names (and so location paths) without
     * regard to case over all of Unicode: provision/fold.h. */
    strmap_init_names(&ah->pools);
    strmap_init_names(&ah->sites);
    strmap_borrow_keys(&ah->pools); /* keyed by their states' names */
    strmap_borrow_keys(&ah->sites);
    arena_init(&ah->arena);
    strmap_init(&ah->ids);
    strmap_init(&ah->bindings);
    strmap_borrow_keys(&ah->ids); /* keyed by strings in the arena */
    strmap_borrow_keys(&ah->bindings);
    strmap_init_names(&ah->locations);
    /* Indexed while libxml2 still judges the file; what indexing finds
     * is told only once the file is known to be well-formed. */
    if (xml_doc_open(&ah->doc, text, len, name, d) < 0) {
        apphost_free(ah);
        return NULL;
    }
    struct diag found;
    diag_init(&found);
    bool ok = index_all(ah, &found);
    if (xml_doc_verdict(&ah->doc, d) < 0) {
        diag_free(&found);
        apphost_free(ah);
        return NULL;
    }
    for (size_t i = 0; i < found.count; i++)
        diag_add(d, "%s", found.msgs[i]);
    diag_free(&found);
    if (!ok) {
        apphost_free(ah);
        return NULL;
    }
    return ah;
}

/* The pools, sites and locations of the file. False with messages. */
static bool index_all(struct apphost *ah, struct diag *d)
{
    const char *name = ah->name;
    const struct xml_doc *doc = &ah->doc;
    if (!xml_is(doc, doc->root, "configuration")) {
        diag_add(d, "%s: the root element is not <configuration>: not an applicationHost.config",
                 name);
        return false;
    }
    int32_t host = xml_child(doc, doc->root, "system.applicationHost");
    ah->pools_el = xml_child(doc, host, "applicationPools");
    ah->sites_el = xml_child(doc, host, "sites");
    if (ah->pools_el < 0 || ah->sites_el < 0) {
        diag_add(d,
                 "%s: no <system.applicationHost> with <applicationPools> and <sites>: "
                 "not an applicationHost.config",
                 name);
        return false;
    }
    detect_unit(ah);
    /* The maps at their final size from the start: no rehash of 10,000s. */
    size_t n_pools = 0, n_sites = 0, n_bindings = 0;
    for (int32_t c = xml_first_child(doc, ah->pools_el); c >= 0; c = doc->elems[c].next)
        n_pools++;
    for (int32_t c = xml_first_child(doc, ah->sites_el); c >= 0; c = doc->elems[c].next) {
        n_sites++;
        int32_t b = xml_child(doc, c, "bindings");
        for (int32_t x = b >= 0 ? xml_first_child(doc, b) : -1; x >= 0; x = doc->elems[x].next)
            n_bindings++;
    }
    strmap_reserve(&ah->pools, n_pools);
    strmap_reserve(&ah->sites, n_sites);
    strmap_reserve(&ah->ids, n_sites);
    strmap_reserve(&ah->bindings, n_bindings);
    size_t n_locations = 0;
    for (int32_t c = xml_first_child(doc, doc->root); c >= 0; c = doc->elems[c].next)
        n_locations += xml_is(doc, c, "location");
    strmap_reserve(&ah->locations, n_locations);
    int rc = index_pools(ah, d);
    if (index_sites(ah, d) < 0)
        rc = -1;
    index_locations(ah);
    return rc == 0;
}

void apphost_free(struct apphost *ah)
{
    if (!ah)
        return;
    if (ah->original_digest) { /* its thread reads the text: wait for it */
        char ignored[65];
        sha256_finish(ah->original_digest, ignored);
    }
    /* The states, their names, strings and arrays are in the arena; what
     * edits claimed is not. */
    for (size_t i = 0; i < ah->n_pools; i++) {
        free(ah->pool_list[i]->claimed_by);
        free(ah->pool_list[i]->claimed_key);
    }
    arena_free(&ah->arena);
    for (size_t i = 0; i < ah->n_edits; i++)
        free_secret(ah->edits[i].text); /* new elements may hold passwords */
    free(ah->edits);
    free(ah->opened);
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
char *ah_effective(const struct apphost *ah, int32_t elem, int32_t defaults, const char *name,
                   const char *schema_default)
{
    char *v = elem >= 0 ? xml_get(&ah->doc, elem, name) : NULL;
    if (!v && defaults >= 0)
        v = xml_get(&ah->doc, defaults, name);
    return v ? v : xstrdup(schema_default);
}

/* Compares an effective value with the wanted one; records and queues the
 * change. ci: compare ASCII case-insensitively (enums, booleans). */
void ah_reconcile(struct apphost *ah, int32_t elem, int32_t defaults, const char *attr,
                  const char *schema_default, const char *want, bool ci, struct change **ch,
                  struct changes *out, const char *kind, const char *object)
{
    char *have = ah_effective(ah, elem, defaults, attr, schema_default);
    bool same = ci ? ascii_equal_ci(have, want) : strcmp(have, want) == 0;
    if (!same) {
        if (!*ch)
            *ch = changes_add(out, '~', kind, object);
        change_attr(*ch, attr, have, want);
        ah_set_attr(ah, elem, attr, want);
    }
    free(have);
}

/* The password stored for pool's SpecificUser user_name (heap, wipe it),
 * or NULL. */
static char *pool_password(const struct apphost *ah, const char *pool, const char *user_name)
{
    struct pool_state *ps = strmap_get(&ah->pools, pool);
    if (!ps || ps->elem < 0 || ps->removed)
        return NULL;
    int32_t pm = xml_child(&ah->doc, ps->elem, "processModel");
    char *type = xml_get(&ah->doc, pm, "identityType");
    char *user = xml_get(&ah->doc, pm, "userName");
    char *password = xml_get(&ah->doc, pm, "password");
    bool yes = type && ascii_equal_ci(type, "SpecificUser") && user &&
               ascii_equal_ci(user, user_name) && password && *password;
    free(type);
    free(user);
    if (!yes) {
        free_secret(password);
        return NULL;
    }
    return password;
}

bool apphost_pool_has_password(const struct apphost *ah, const char *pool, const char *user_name)
{
    char *password = pool_password(ah, pool, user_name);
    free_secret(password);
    return password != NULL;
}

char *apphost_pool_plain_password(const struct apphost *ah, const char *pool, const char *user_name)
{
    char *password = pool_password(ah, pool, user_name);
    if (password && !strncmp(password, "[enc:", 5)) {
        free_secret(password);
        return NULL;
    }
    return password;
}

bool apphost_object_bytes(const struct apphost *ah, const char *kind, const char *name,
                          const char **p, size_t *len)
{
    int32_t elem = -1;
    if (!strcmp(kind, "site")) {
        const struct site_state *ss = strmap_get(&ah->sites, name);
        elem = ss ? ss->elem : -1;
    } else if (!strcmp(kind, "pool")) {
        const struct pool_state *ps = strmap_get(&ah->pools, name);
        elem = ps ? ps->elem : -1;
    } else if (!strcmp(kind, "location")) {
        elem = ah_location_of(ah, name);
    } else if (!strcmp(kind, "defaults")) {
        elem = !strcmp(name, "site")          ? ah->site_defaults_el
               : !strcmp(name, "application") ? ah->app_defaults_el
               : !strcmp(name, "pool")        ? ah->pool_defaults_el
                                              : -1;
    }
    if (elem < 0) {
        *p = NULL;
        *len = 0;
        return false;
    }
    const struct xml_elem *e = &ah->doc.elems[elem];
    *p = ah->doc.text + e->start;
    *len = e->end - e->start;
    return true;
}

/* ---- listing -------------------------------------------------------- */

char *ah_global_anonymous_user(const struct apphost *ah)
{
    int32_t node = ah->doc.root;
    for (int i = 0; i < ANON_DEPTH && node >= 0; i++)
        node = xml_child(&ah->doc, node, anon_chain[i]);
    return ah_effective(ah, node, -1, "userName", "IUSR");
}

void apphost_list(const struct apphost *ah, iis_site_visitor visit, void *arg)
{
    char *global_anon = ah_global_anonymous_user(ah);
    for (size_t i = 0; i < ah->n_sites; i++) {
        const struct site_state *ss = ah->site_list[i];
        if (ss->removed || ss->elem < 0)
            continue;
        struct iis_site_info info = {.name = ss->name, .id = ss->id};
        int32_t app = ah_root_app(ah, ss->elem);
        char *pool = app >= 0 ? ah_app_pool_of(ah, app) : xstrdup("");
        int32_t vdir = app >= 0 ? xml_child(&ah->doc, app, "virtualDirectory") : -1;
        char *path = vdir >= 0 ? xml_get(&ah->doc, vdir, "physicalPath") : NULL;
        struct pool_state *ps = strmap_get(&ah->pools, pool);
        int32_t pm = ps && ps->elem >= 0 ? xml_child(&ah->doc, ps->elem, "processModel") : -1;
        char *identity = ah_effective(ah, pm, ah->pool_defaults_pm_el, "identityType",
                                      "ApplicationPoolIdentity");
        char *user = pm >= 0 ? xml_get(&ah->doc, pm, "userName") : NULL;
        char *anon = NULL;
        int32_t node = ah_location_of(ah, ss->name);
        for (int k = 0; k < ANON_DEPTH && node >= 0; k++)
            node = xml_child(&ah->doc, node, anon_chain[k]);
        anon =
            node >= 0 ? ah_effective(ah, node, -1, "userName", global_anon) : xstrdup(global_anon);
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
