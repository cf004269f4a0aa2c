/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/change.h"

#include "provision/util.h"

#include <stdlib.h>
#include <string.h>

void changes_init(struct changes *c)
{
    memset(c, 0, sizeof *c);
}

struct change *changes_add(struct changes *c, char op, const char *kind, const char *object)
{
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = xrealloc(c->items, c->cap * sizeof *c->items);
    }
    struct change *ch = &c->items[c->count++];
    memset(ch, 0, sizeof *ch);
    ch->op = op;
    ch->kind = xstrdup(kind);
    ch->object = xstrdup(object);
    return ch;
}

void change_attr(struct change *ch, const char *name, const char *old_value, const char *new_value)
{
    ch->attrs = xrealloc(ch->attrs, (ch->n_attrs + 1) * sizeof *ch->attrs);
    struct change_attr *a = &ch->attrs[ch->n_attrs++];
    a->name = xstrdup(name);
    a->old_value = old_value ? xstrdup(old_value) : NULL;
    a->new_value = new_value ? xstrdup(new_value) : NULL;
    a->secret = false;
}

void change_secret(struct change *ch, const char *name)
{
    change_attr(ch, name, NULL, NULL);
    ch->attrs[ch->n_attrs - 1].secret = true;
}

void change_note(struct change *ch, const char *note)
{
    free(ch->note);
    ch->note = xstrdup(note);
}

static void change_free(struct change *ch)
{
    for (size_t i = 0; i < ch->n_attrs; i++) {
        free(ch->attrs[i].name);
        free(ch->attrs[i].old_value);
        free(ch->attrs[i].new_value);
    }
    free(ch->attrs);
    free(ch->kind);
    free(ch->object);
    free(ch->note);
}

void changes_truncate(struct changes *c, size_t keep)
{
    while (c->count > keep)
        change_free(&c->items[--c->count]);
}

void changes_replace_kinds(struct changes *c, const char *const *kinds, struct changes *from)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->count; i++) {
        bool drop = false;
        for (size_t k = 0; kinds[k] && !drop; k++)
            drop = !strcmp(c->items[i].kind, kinds[k]);
        if (drop)
            change_free(&c->items[i]);
        else
            c->items[kept++] = c->items[i];
    }
    c->count = kept;
    for (size_t i = 0; i < from->count; i++) {
        if (c->count == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 8;
            c->items = xrealloc(c->items, c->cap * sizeof *c->items);
        }
        c->items[c->count++] = from->items[i]; /* moved, not copied */
    }
    from->count = 0;
    changes_free(from);
}

void changes_free(struct changes *c)
{
    changes_truncate(c, 0);
    free(c->items);
    changes_init(c);
}
