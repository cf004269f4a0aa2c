/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Inside the applicationHost.config engine: the loaded document's state and
 * the splice primitives shared by apphost.c (loading, indexing, rendering,
 * listing) and apphost_edit.c (pools, sites, anonymous identities). Not for
 * other modules: they use apphost.h. */
#ifndef PROVISION_IIS_APPHOST_INTERNAL_H
#define PROVISION_IIS_APPHOST_INTERNAL_H

#include "provision/iis/apphost.h"
#include "provision/iis/xmldoc.h"

#include <stdint.h>

/* One splice into the original text: replace [from, to) by text. */
struct edit {
    uint32_t from, to;
    char *text;
    size_t seq;
    /* Among insertions at one offset, higher first: the end of an element
     * `<x />` this run opened is where its children (2), its new end tag
     * (1) and its following siblings (0) are all inserted. */
    uint8_t nesting;
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
    char **keys; /* binding keys it holds (the strings in the arena) */
    size_t n_keys;
    char **app_pools; /* pools its applications run in (in the arena) */
    size_t n_app_pools;
};

struct apphost {
    struct xml_doc doc;
    char *name;
    int32_t sites_el, pools_el, pool_defaults_el, pool_defaults_pm_el;
    int32_t site_defaults_el, app_defaults_el;
    char *unit; /* one level of indentation, as the file does it */
    struct strmap pools, sites, ids, bindings, locations;
    struct arena arena; /* the site and pool states and their strings */
    unsigned long max_id;
    struct site_state **site_list;
    size_t n_sites;
    struct pool_state **pool_list;
    size_t n_pools;
    struct edit *edits;
    size_t n_edits, cap_edits, seq;
    int32_t *opened; /* empty elements `<x />` this run opened for children */
    size_t n_opened;
    /* Where new sites and pools go: after the last element of the file
     * still there (ah_last_live); found once, again after a removal. */
    int32_t last_site_el, last_pool_el;
    bool last_stale;
    struct sha256_job *original_digest; /* apphost_digest_start, until read */
    char hex_digest[65];                /* once read */
};

#define MAX_SITE_ID 4294967295UL

/* Lines of a new element; each is written as newline + base + level*unit. */
struct frag {
    struct apphost *ah;
    struct strbuf sb;
    const char *base;
};

/* system.webServer/security/authentication/anonymousAuthentication */
extern const char *const anon_chain[];
#define ANON_DEPTH 4

/* Splices and new text (each documented where it is defined, in apphost.c):
 * queue a replacement of [from, to); build a fragment line by line; the
 * removable line block of an element; add a child; set or drop one
 * attribute in place. */
void ah_queue_edit(struct apphost *ah, uint32_t from, uint32_t to, char *text);
void ah_frag_line(struct frag *f, int level, const char *line);
char *ah_frag_take(struct frag *f);
void ah_attr_text(struct strbuf *sb, const char *name, const char *value);
uint32_t ah_block_start(const struct apphost *ah, int32_t elem);
void ah_remove_elem(struct apphost *ah, int32_t elem);
char *ah_child_indent(const struct apphost *ah, int32_t parent);
void ah_insert_child(struct apphost *ah, int32_t parent, char *fragment);
void ah_set_attr(struct apphost *ah, int32_t elem, const char *name, const char *value);
void ah_remove_attr(struct apphost *ah, int32_t elem, const char *name);
/* The in-memory state that later sites of the same run see. */
struct pool_state *ah_add_pool_state(struct apphost *ah, const char *name, int32_t elem);
struct site_state *ah_add_site_state(struct apphost *ah, const char *name, int32_t elem,
                                     unsigned long id);
void ah_site_add_key(struct apphost *ah, struct site_state *ss, const char *key);
void ah_site_drop_keys(struct apphost *ah, struct site_state *ss);
void ah_site_add_app_pool(struct apphost *ah, struct site_state *ss, const char *pool);
void ah_site_drop_app_pools(struct apphost *ah, struct site_state *ss);
/* Values as IIS reads them: attribute, else the collection default, else
 * the schema default; reconcile records and queues a difference. */
char *ah_default_app_pool(const struct apphost *ah);
char *ah_app_pool_of(const struct apphost *ah, int32_t app);
/* The last <site> / pool <add> of the file that this run did not remove
 * (its element), or -1; pools when `pools`. */
int32_t ah_last_live(struct apphost *ah, bool pools);
/* A site's root application (path "/"), or -1. */
int32_t ah_root_app(const struct apphost *ah, int32_t site);
int32_t ah_location_of(const struct apphost *ah, const char *site);
/* The server-wide anonymous userName (heap). */
char *ah_global_anonymous_user(const struct apphost *ah);
char *ah_effective(const struct apphost *ah, int32_t elem, int32_t defaults, const char *name,
                   const char *schema_default);
void ah_reconcile(struct apphost *ah, int32_t elem, int32_t defaults, const char *attr,
                  const char *schema_default, const char *want, bool ci, struct change **ch,
                  struct changes *out, const char *kind, const char *object);

#endif
