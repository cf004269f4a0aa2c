/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Relative paths below a back end's root (backend.h): the checks of
 * acl_path_check (Windows naming rules, DOS device names), path lists,
 * directory entries and the small path helpers of acl_internal.h. */
#include "provision/ntfs/backend.h"

#include <stdlib.h>
#include <string.h>

#include "provision/ntfs/acl_internal.h"

char *acl_shown(const char *s)
{
    struct strbuf sb;
    sb_init(&sb);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            sb_addf(&sb, "\\x%02x", *p);
        else
            sb_addc(&sb, (char)*p);
    }
    return sb_detach(&sb);
}

char *acl_winpath(const char *rel)
{
    char *w = xstrdup(rel);
    for (char *p = w; *p; p++)
        if (*p == '/')
            *p = '\\';
    return w;
}

char *acl_parent_of(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
}

static bool dos_device(const char *comp, size_t n)
{
    static const char *names[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
    size_t base = 0;
    while (base < n && comp[base] != '.')
        base++;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == base && ascii_ncasecmp(comp, names[i], base) == 0)
            return true;
    if (base == 4 && (ascii_ncasecmp(comp, "COM", 3) == 0 || ascii_ncasecmp(comp, "LPT", 3) == 0) &&
        comp[3] >= '1' && comp[3] <= '9')
        return true;
    return false;
}

const char *acl_path_problem(const char *rel)
{
    const char *why = NULL;
    size_t len = strlen(rel);
    if (len == 0)
        return "empty path: a folder below the location's root is needed";
    if (len > 4096)
        why = "longer than 4096 bytes";
    else if (!utf8_valid(rel, len, NULL))
        why = "not valid UTF-8";
    else if ((rel[0] == '\\' || rel[0] == '/') && (rel[1] == '\\' || rel[1] == '/'))
        why = "a UNC path (\\\\server\\share) is not relative";
    else if (rel[0] == '\\' || rel[0] == '/')
        why = "an absolute path is not relative";
    else if (strchr(rel, ':'))
        why = "':' is not allowed (drive letter or alternate data stream)";
    if (!why)
        for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                why = "control character";
                break;
            }
            if (strchr("<>\"|?*", *p)) {
                why = "one of < > \" | ? * (not allowed in Windows names)";
                break;
            }
        }
    if (!why) {
        const char *c = rel;
        while (!why) {
            const char *e = c;
            while (*e && *e != '/' && *e != '\\')
                e++;
            size_t n = (size_t)(e - c);
            if (n == 0)
                why = "empty component (doubled or trailing separator)";
            else if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                why = "'.' and '..' components are not allowed (they could leave the root)";
            else if (n > 255)
                why = "a component is longer than 255 bytes";
            else if (c[n - 1] == ' ' || c[n - 1] == '.')
                why = "a component ends with ' ' or '.' (Windows would drop it)";
            else if (dos_device(c, n))
                why = "a component is a DOS device name (CON, NUL, COM1, ...)";
            if (!*e)
                break;
            c = e + 1;
        }
    }
    return why;
}

int acl_path_check(const char *rel, bool allow_root, char **norm, struct diag *d)
{
    *norm = NULL;
    if (!rel) {
        diag_add(d, "no path given");
        return -1;
    }
    if (!*rel && allow_root) {
        *norm = xstrdup("");
        return 0;
    }
    const char *why = acl_path_problem(rel);
    if (why && !*rel) {
        diag_add(d, "%s", why);
        return -1;
    }
    if (why) {
        char *s = acl_shown(rel);
        diag_add(d, "path '%s': %s", s, why);
        free(s);
        return -1;
    }
    char *n = xstrdup(rel);
    for (char *p = n; *p; p++)
        if (*p == '\\')
            *p = '/';
    *norm = n;
    return 0;
}

void acl_pathlist_add(struct acl_pathlist *l, const char *path)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->count++] = xstrdup(path);
}

void acl_pathlist_free(struct acl_pathlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

void acl_dirents_free(struct acl_dirent *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}
