/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/template.h"

#include "provision/ini.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct key_rule {
    const char *section, *key;
    bool list; /* may repeat; the values add up */
};

/* Sections whose keys are free names: [folders] and [grants]. */
static const struct key_rule rules[] = {
    {"template", "extends", false},
    {"template", "description", false},
    {"pool", "name", false},
    {"pool", "runtime", false},
    {"pool", "pipeline", false},
    {"pool", "start_mode", false},
    {"pool", "auto_start", false},
    {"pool", "identity", false},
    {"pool", "idle_timeout", false},
    {"pool", "load_user_profile", false},
    {"account", "name", false},
    {"account", "ou", false},
    {"account", "description", false},
    {"site", "name", false},
    {"site", "id", false},
    {"site", "bindings", true},
    {"site", "path", false},
    {"site", "anonymous", false},
    {"site", "auto_start", false},
    {"site", "connect_as", false},
    {"site", "connect_as_password_file", false},
    {"site", "isolate", false},
};

static bool free_section(const char *s)
{
    return !strcmp(s, "folders") || !strcmp(s, "grants");
}

static const struct key_rule *rule_for(const char *section, const char *key)
{
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (!strcmp(rules[i].section, section) && !strcmp(rules[i].key, key))
            return &rules[i];
    return NULL;
}

static bool known_section(const char *s)
{
    if (free_section(s))
        return true;
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (!strcmp(rules[i].section, s))
            return true;
    return false;
}

static bool valid_template_name(const char *n)
{
    if (!*n || strlen(n) > 64 || n[0] == '.')
        return false;
    for (; *n; n++)
        if (!isalnum((unsigned char)*n) && !strchr("_.-", *n))
            return false;
    return true;
}

static bool valid_free_key(const char *k)
{
    if (!*k || strlen(k) > 64)
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && !strchr("_.-", *k))
            return false;
    return true;
}

void template_set_init(struct template_set *ts, const char *dir)
{
    ts->dir = xstrdup(dir);
    strmap_init(&ts->loaded);
    strmap_init(&ts->failed);
}

static void template_free(struct template *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct tvalue *v = &t->vals[i];
        for (size_t k = 0; k < v->n_values; k++)
            free(v->values[k]);
        free(v->values);
        free(v->section);
        free(v->key);
        free(v->file);
    }
    free(t->vals);
    free(t->name);
    free(t->path);
    free(t);
}

void template_set_free(struct template_set *ts)
{
    for (size_t i = 0; i < ts->loaded.cap; i++)
        if (ts->loaded.slots[i].key)
            template_free(ts->loaded.slots[i].value);
    strmap_free(&ts->loaded);
    strmap_free(&ts->failed);
    free(ts->dir);
    memset(ts, 0, sizeof *ts);
}

const struct tvalue *template_value(const struct template *t, const char *section, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->vals[i].section, section) && !strcmp(t->vals[i].key, key))
            return &t->vals[i];
    return NULL;
}

static struct tvalue *tvalue_slot(struct template *t, const char *section, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->vals[i].section, section) && !strcmp(t->vals[i].key, key))
            return &t->vals[i];
    t->vals = xrealloc(t->vals, (t->n + 1) * sizeof *t->vals);
    struct tvalue *v = &t->vals[t->n++];
    memset(v, 0, sizeof *v);
    v->section = xstrdup(section);
    v->key = xstrdup(key);
    return v;
}

static void tvalue_reset(struct tvalue *v, const char *file, unsigned line)
{
    for (size_t k = 0; k < v->n_values; k++)
        free(v->values[k]);
    v->n_values = 0;
    free(v->file);
    v->file = xstrdup(file);
    v->line = line;
}

static void tvalue_push(struct tvalue *v, const char *value)
{
    v->values = xrealloc(v->values, (v->n_values + 1) * sizeof *v->values);
    v->values[v->n_values++] = xstrdup(value);
}

/* Names being loaded right now, to refuse cycles in `extends`. */
struct chain {
    const char *name;
    const struct chain *up;
};

/* The spelling under which a map holds name (its keys compare without
 * regard to ASCII case), or NULL. */
static const char *spelling_in(const struct strmap *m, const char *name)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && ascii_casecmp(m->slots[i].key, name) == 0)
            return m->slots[i].key;
    return NULL;
}

/* One rule for template names: a name is the file DIR/NAME.ini, matched
 * exactly, and two spellings that differ only in case are refused in one
 * run (one template on Windows, two files here: whichever loaded first
 * would win). Returns the other spelling in use, or NULL. */
static const char *case_variant(const struct template_set *ts, const char *name,
                                const struct chain *up)
{
    for (const struct chain *c = up; c; c = c->up)
        if (ascii_casecmp(c->name, name) == 0 && strcmp(c->name, name) != 0)
            return c->name;
    const char *other = spelling_in(&ts->loaded, name);
    if (!other)
        other = spelling_in(&ts->failed, name);
    return other && strcmp(other, name) != 0 ? other : NULL;
}

static const struct template *load(struct template_set *ts, const char *name, const char *from,
                                   const struct chain *up, struct diag *d)
{
    if (!valid_template_name(name)) {
        diag_add(d, "%s: invalid template name '%s' (letters, digits, '_', '-', '.')", from, name);
        return NULL;
    }
    const char *variant = case_variant(ts, name, up);
    if (variant) {
        diag_add(d,
                 "%s: template '%s' differs only in case from template '%s' used in this run; "
                 "template names are file names, matched exactly: use one spelling",
                 from, name, variant);
        return NULL;
    }
    const struct template *done = strmap_get(&ts->loaded, name);
    if (done)
        return done;
    for (const struct chain *c = up; c; c = c->up) {
        if (!strcmp(c->name, name)) {
            struct strbuf path;
            sb_init(&path);
            sb_adds(&path, name);
            for (const struct chain *x = up; x; x = x->up) {
                sb_addf(&path, " <- %s", x->name);
                if (!strcmp(x->name, name))
                    break;
            }
            diag_add(d, "%s: 'extends' makes a cycle: %s", from, path.buf);
            sb_free(&path);
            return NULL;
        }
    }
    if (strmap_get(&ts->failed, name))
        return NULL;
    strmap_put(&ts->failed, name, (void *)1); /* until it loads */
    char *path = xasprintf("%s/%s.ini", ts->dir, name);
    struct ini_file f;
    size_t errors = d->count;
    if (ini_load(path, &f, d) < 0) {
        if (d->count == errors + 1 && strstr(d->msgs[d->count - 1], "No such file")) {
            free(d->msgs[--d->count]);
            diag_add(d, "%s: template '%s' not found (looked for %s)", from, name, path);
        }
        free(path);
        return NULL;
    }
    struct template *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    t->path = path;

    /* extends first: the parent's values are the base. */
    const char *parent_name = NULL;
    unsigned parent_line = 0;
    for (size_t i = 0; i < f.count; i++)
        if (!strcmp(f.entries[i].section, "template") && !strcmp(f.entries[i].key, "extends"))
            parent_name = f.entries[i].value, parent_line = f.entries[i].line;
    if (parent_name) {
        char *where = xasprintf("%s:%u", path, parent_line);
        struct chain me = {name, up};
        size_t before = d->count;
        const struct template *parent = load(ts, parent_name, where, &me, d);
        /* A parent that failed earlier in the run fails quietly: say why
         * this template fails too, never go on without its base. */
        if (!parent && d->count == before)
            diag_add(d, "%s: template '%s' extends '%s', which could not be loaded (see above)",
                     where, name, parent_name);
        free(where);
        if (parent) {
            for (size_t i = 0; i < parent->n; i++) {
                const struct tvalue *pv = &parent->vals[i];
                if (!strcmp(pv->section, "template"))
                    continue;
                struct tvalue *v = tvalue_slot(t, pv->section, pv->key);
                tvalue_reset(v, pv->file, pv->line);
                for (size_t k = 0; k < pv->n_values; k++)
                    tvalue_push(v, pv->values[k]);
            }
        }
    }
    for (size_t i = 0; i < f.n_sections; i++)
        if (!known_section(f.sections[i].name))
            diag_add(d,
                     "%s:%u: unknown section [%s] (known: template, pool, account, site, "
                     "folders, grants)",
                     path, f.sections[i].line, f.sections[i].name);
    /* Keys this file sets (a list key set here replaces the parent's list). */
    struct strmap seen;
    strmap_init(&seen);
    for (size_t i = 0; i < f.count; i++) {
        const struct ini_entry *e = &f.entries[i];
        if (!known_section(e->section))
            continue;
        const struct key_rule *r = rule_for(e->section, e->key);
        if (!r && !free_section(e->section)) {
            diag_add(d, "%s:%u: unknown key '%s' in [%s]", path, e->line, e->key, e->section);
            continue;
        }
        if (!r && !valid_free_key(e->key)) {
            diag_add(d, "%s:%u: invalid name '%s' in [%s] (letters, digits, '_', '-', '.')", path,
                     e->line, e->key, e->section);
            continue;
        }
        char *id = xasprintf("%s\n%s", e->section, e->key);
        unsigned first = (unsigned)(uintptr_t)strmap_get(&seen, id);
        struct tvalue *v = tvalue_slot(t, e->section, e->key);
        if (first && !(r && r->list)) {
            diag_add(d, "%s:%u: key '%s' in [%s] is set twice (first at line %u)", path, e->line,
                     e->key, e->section, first);
        } else {
            if (!first) {
                strmap_put(&seen, id, (void *)(uintptr_t)e->line);
                tvalue_reset(v, path, e->line);
            }
            tvalue_push(v, e->value);
        }
        free(id);
    }
    strmap_free(&seen);
    ini_free(&f);
    if (d->count > errors) {
        template_free(t);
        return NULL;
    }
    strmap_del(&ts->failed, name);
    strmap_put(&ts->loaded, name, t);
    return t;
}

const struct template *template_get(struct template_set *ts, const char *name, const char *from,
                                    struct diag *d)
{
    return load(ts, name, from, NULL, d);
}

void vars_set(struct vars *v, const char *name, const char *value)
{
    for (size_t i = 0; i < v->n; i++) {
        if (!strcmp(v->names[i], name)) {
            free(v->values[i]);
            v->values[i] = xstrdup(value);
            return;
        }
    }
    v->names = xrealloc(v->names, (v->n + 1) * sizeof *v->names);
    v->values = xrealloc(v->values, (v->n + 1) * sizeof *v->values);
    v->names[v->n] = xstrdup(name);
    v->values[v->n++] = xstrdup(value);
}

const char *vars_get(const struct vars *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->names[i], name))
            return v->values[i];
    return NULL;
}

void vars_free(struct vars *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
    free(v->names);
    free(v->values);
    memset(v, 0, sizeof *v);
}

char *expand(const char *text, const struct vars *v, char **why)
{
    struct strbuf sb;
    sb_init(&sb);
    *why = NULL;
    for (const char *p = text; *p;) {
        if (p[0] != '$') {
            sb_addc(&sb, *p++);
            continue;
        }
        if (p[1] == '$') {
            sb_addc(&sb, '$');
            p += 2;
            continue;
        }
        if (p[1] != '{') {
            *why = xstrdup("a '$' must start ${name} (write $$ for a literal $)");
            goto fail;
        }
        const char *close = strchr(p + 2, '}');
        if (!close) {
            *why = xstrdup("'${' without a closing '}'");
            goto fail;
        }
        char *name = xstrndup(p + 2, (size_t)(close - p - 2));
        const char *value = vars_get(v, name);
        if (!value) {
            struct strbuf known;
            sb_init(&known);
            for (size_t i = 0; i < v->n; i++)
                sb_addf(&known, "%s%s", i ? ", " : "", v->names[i]);
            *why = xasprintf("undefined variable ${%s} (defined here: %s)", name,
                             known.len ? known.buf : "none");
            sb_free(&known);
            free(name);
            goto fail;
        }
        free(name);
        sb_adds(&sb, value);
        p = close + 1;
    }
    return sb_detach(&sb);
fail:
    sb_free(&sb);
    return NULL;
}
