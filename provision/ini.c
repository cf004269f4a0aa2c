/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/ini.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const char *text, *pos, *end;
    unsigned line;
    char *section; /* the last [section] name as written (trimmed) */
    unsigned section_line;
    const char *path;
    struct diag *d;
    struct ini_file *file;
    int failed;
};

static void add_section(struct ini_file *f, const char *name, size_t n, unsigned line)
{
    f->sections = xrealloc(f->sections, (f->n_sections + 1) * sizeof *f->sections);
    char *s = xstrndup(name, n);
    f->sections[f->n_sections++] = (struct ini_section){trim(s), line};
}

/* inih asks for one line at a time; we check it and hand over its content
 * alone: without a UTF-8 BOM (first line) and without the CR of a CRLF
 * end, so that the length limit counts the same characters whatever the
 * file's line ends. */
static char *read_line(char *buf, int size, void *stream)
{
    struct reader *r = stream;
    if (r->failed || r->pos >= r->end)
        return NULL;
    const char *nl = memchr(r->pos, '\n', (size_t)(r->end - r->pos));
    size_t n = nl ? (size_t)(nl - r->pos) + 1 : (size_t)(r->end - r->pos);
    r->line++;
    const char *p = r->pos, *e = r->pos + n - (nl ? 1 : 0);
    r->pos += n;
    if (e > p && e[-1] == '\r')
        e--;
    if (r->line == 1 && e - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    size_t content = (size_t)(e - p);
    const char *cr = memchr(p, '\r', content);
    if (cr) {
        diag_add(r->d,
                 "%s:%u: a carriage return without a line feed (old Mac line ends?): save the "
                 "file with LF or CRLF line ends",
                 r->path, r->line);
        r->failed = 1;
        return NULL;
    }
    /* INI_LINE_MAX leaves inih's buffer room for the LF and the NUL. */
    if (content > INI_LINE_MAX || content + 2 > (size_t)size) {
        diag_add(r->d,
                 "%s:%u: line too long (%zu characters; at most %d): split a list over "
                 "several keys of the same name",
                 r->path, r->line, content, INI_LINE_MAX);
        r->failed = 1;
        return NULL;
    }
    size_t bad;
    if (!utf8_valid(p, content, &bad)) {
        diag_add(r->d, "%s:%u: invalid UTF-8 at column %zu", r->path, r->line, bad + 1);
        r->failed = 1;
        return NULL;
    }
    if (memchr(p, '\0', content)) {
        diag_add(r->d, "%s:%u: NUL byte in line", r->path, r->line);
        r->failed = 1;
        return NULL;
    }
    const char *s = p;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    if (s > p && s < e && *s != ';' && *s != '#') {
        diag_add(r->d,
                 "%s:%u: indented line: values cannot continue on the next line "
                 "(remove the indentation)",
                 r->path, r->line);
        r->failed = 1;
        return NULL;
    }
    if (s < e && *s == '[') {
        const char *close = memchr(s, ']', (size_t)(e - s));
        if (close) {
            add_section(r->file, s + 1, (size_t)(close - s - 1), r->line);
            free(r->section);
            r->section = xstrdup(r->file->sections[r->file->n_sections - 1].name);
            r->section_line = r->line;
        }
    }
    memcpy(buf, p, content);
    buf[content] = '\n';
    buf[content + 1] = '\0';
    return buf;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct reader *r = user;
    struct ini_file *f = r->file;
    f->entries = xrealloc(f->entries, (f->count + 1) * sizeof *f->entries);
    struct ini_entry *e = &f->entries[f->count++];
    e->section = trim(xstrdup(section));
    e->key = xstrdup(name);
    e->value = xstrdup(value ? value : "");
    e->line = r->line;
    if (!*section) {
        diag_add(r->d, "%s:%u: key '%s' comes before any [section]", r->path, r->line, name);
        r->failed = 1;
    } else if (r->section && strcmp(e->section, r->section) != 0 && !r->failed) {
        /* inih keeps only the first bytes of a long section name: refuse
         * it rather than let a site be known by a cut name. */
        diag_add(r->d, "%s:%u: section name too long (%zu bytes; at most %zu)", r->path,
                 r->section_line, strlen(r->section), strlen(e->section));
        r->failed = 1;
    }
    return 1;
}

int ini_load_text(const char *name, const char *text, size_t len, struct ini_file *out,
                  struct diag *d)
{
    memset(out, 0, sizeof *out);
    out->path = xstrdup(name);
    struct reader r = {
        .text = text, .pos = text, .end = text + len, .path = name, .d = d, .file = out};
    int rc = ini_parse_stream(read_line, &r, on_value, &r);
    free(r.section);
    if (r.failed) {
        rc = -1;
    } else if (rc > 0) {
        diag_add(d, "%s:%d: not an INI line (expected [section], key = value, or a ; comment)",
                 name, rc);
        rc = -1;
    } else if (rc < 0) {
        diag_add(d, "%s: cannot be parsed", name);
    }
    if (rc < 0) {
        ini_free(out);
        return -1;
    }
    return 0;
}

int ini_load(const char *path, struct ini_file *out, struct diag *d)
{
    char *text;
    size_t len;
    if (read_file(path, &text, &len) < 0) {
        memset(out, 0, sizeof *out);
        diag_add(d, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    int rc = ini_load_text(path, text, len, out, d);
    free(text);
    return rc;
}

void ini_free(struct ini_file *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->entries[i].section);
        free(f->entries[i].key);
        free(f->entries[i].value);
    }
    for (size_t i = 0; i < f->n_sections; i++)
        free(f->sections[i].name);
    free(f->entries);
    free(f->sections);
    free(f->path);
    memset(f, 0, sizeof *f);
}
