/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/iis/xmldoc.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct load_state {
    struct xml_doc *doc;
    xmlParserCtxtPtr ctxt;
    int32_t current;     /* innermost open element */
    const char *refused; /* why we stopped the parser ourselves */
    int first_error_line;
    char first_error[256];
    bool offsets_broken;
};

static int32_t push_elem(struct xml_doc *doc)
{
    if (doc->count == doc->cap) {
        doc->cap = doc->cap ? doc->cap * 2 : 1024;
        doc->elems = xrealloc(doc->elems, doc->cap * sizeof *doc->elems);
    }
    struct xml_elem *e = &doc->elems[doc->count];
    memset(e, 0, sizeof *e);
    e->parent = e->first_child = e->last_child = e->next = e->prev = -1;
    return (int32_t)doc->count++;
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    (void)localname, (void)prefix, (void)uri, (void)nb_namespaces, (void)namespaces;
    (void)nb_attributes, (void)nb_defaulted, (void)attributes;
    struct load_state *st = ctx;
    struct xml_doc *doc = st->doc;
    long off = xmlByteConsumed(st->ctxt);
    /* libxml2 calls us with the input at the start tag's closing '>' or "/>". */
    if (off < 0 || (size_t)off >= doc->len || (doc->text[off] != '>' && doc->text[off] != '/')) {
        st->offsets_broken = true;
        xmlStopParser(st->ctxt);
        return;
    }
    size_t lt = (size_t)off;
    while (lt > 0 && doc->text[lt] != '<') /* '<' cannot occur inside attribute values */
        lt--;
    int32_t i = push_elem(doc);
    struct xml_elem *e = &doc->elems[i];
    e->start = (uint32_t)lt;
    e->stag_end = (uint32_t)off + (doc->text[off] == '/' ? 2 : 1);
    e->empty = doc->text[off] == '/';
    size_t n = 0;
    const char *name = doc->text + lt + 1;
    while (name[n] && !strchr(" \t\r\n/>", name[n]))
        n++;
    e->name_len = (uint16_t)(n > 65535 ? 65535 : n);
    e->parent = st->current;
    if (st->current >= 0) {
        struct xml_elem *p = &doc->elems[st->current];
        if (p->last_child >= 0) {
            doc->elems[p->last_child].next = i;
            e->prev = p->last_child;
        } else {
            p->first_child = i;
        }
        p->last_child = i;
    } else {
        doc->root = i;
    }
    st->current = i;
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    (void)localname, (void)prefix, (void)uri;
    struct load_state *st = ctx;
    if (st->current < 0)
        return;
    long off = xmlByteConsumed(st->ctxt);
    struct xml_elem *e = &st->doc->elems[st->current];
    if (off <= 0 || st->doc->text[off - 1] != '>') {
        st->offsets_broken = true;
        xmlStopParser(st->ctxt);
        return;
    }
    e->end = (uint32_t)off;
    st->current = e->parent;
}

/* Any DTD is refused: IIS files have none, and refusing it closes the door on
 * external entities and entity expansion bombs. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
    (void)name, (void)ext_id, (void)sys_id;
    struct load_state *st = ctx;
    st->refused = "a DTD (<!DOCTYPE>) is not allowed in applicationHost.config";
    xmlStopParser(st->ctxt);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)name, (void)type, (void)public_id, (void)system_id, (void)content;
    struct load_state *st = ctx;
    st->refused = "entity declarations are not allowed";
    xmlStopParser(st->ctxt);
}

static void on_error(void *ctx, xmlErrorPtr err)
{
    struct load_state *st = ctx;
    if (st->first_error[0] || !err)
        return;
    st->first_error_line = err->line;
    snprintf(st->first_error, sizeof st->first_error, "%s", err->message ? err->message : "error");
    size_t n = strlen(st->first_error);
    while (n && (st->first_error[n - 1] == '\n' || st->first_error[n - 1] == ' '))
        st->first_error[--n] = '\0';
}

static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

unsigned xml_line_of(const struct xml_doc *doc, size_t offset)
{
    unsigned line = 1;
    for (size_t i = 0; i < offset && i < doc->len; i++)
        line += doc->text[i] == '\n';
    return line;
}

static int check_prolog(struct xml_doc *doc, const char *name, struct diag *d)
{
    const unsigned char *t = (const unsigned char *)doc->text;
    if (doc->len == 0) {
        diag_add(d, "%s: the file is empty (an applicationHost.config has a <configuration> root)",
                 name);
        return -1;
    }
    if (doc->len > XMLDOC_MAX_BYTES) {
        diag_add(d, "%s: %zu bytes is larger than the %u bytes this tool accepts", name, doc->len,
                 XMLDOC_MAX_BYTES);
        return -1;
    }
    if (doc->len >= 2 && ((t[0] == 0xFF && t[1] == 0xFE) || (t[0] == 0xFE && t[1] == 0xFF))) {
        diag_add(d, "%s: UTF-16 files are not supported (IIS writes UTF-8)", name);
        return -1;
    }
    doc->bom_len = (doc->len >= 3 && t[0] == 0xEF && t[1] == 0xBB && t[2] == 0xBF) ? 3 : 0;
    size_t bad;
    if (!utf8_valid(doc->text, doc->len, &bad)) {
        diag_add(d, "%s:%u: invalid UTF-8 (byte 0x%02X at offset %zu)", name, xml_line_of(doc, bad),
                 t[bad], bad);
        return -1;
    }
    if (memchr(doc->text, '\0', doc->len)) {
        diag_add(d, "%s: the file contains a NUL byte", name);
        return -1;
    }
    /* An encoding declaration other than UTF-8 would make our offsets lie. */
    const char *decl = doc->text + doc->bom_len;
    if (strncmp(decl, "<?xml", 5) == 0) {
        const char *close = strstr(decl, "?>");
        const char *enc = strstr(decl, "encoding");
        if (close && enc && enc < close) {
            const char *q = enc + 8;
            while (*q == ' ' || *q == '=' || *q == '\t')
                q++;
            if ((*q == '"' || *q == '\'') && ascii_ncasecmp(q + 1, "utf-8", 5) != 0) {
                diag_add(d,
                         "%s:1: only UTF-8 is supported (the declaration names another encoding)",
                         name);
                return -1;
            }
        }
    }
    const char *nl = memchr(doc->text, '\n', doc->len);
    doc->newline = (nl && nl > doc->text && nl[-1] == '\r') ? "\r\n" : "\n";
    return 0;
}

int xml_doc_load(struct xml_doc *doc, char *text, size_t len, const char *name, struct diag *d)
{
    memset(doc, 0, sizeof *doc);
    doc->text = text;
    doc->len = len;
    doc->root = -1;
    if (check_prolog(doc, name, d) < 0)
        goto fail;

    xmlSAXHandler sax;
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.internalSubset = on_internal_subset;
    sax.entityDecl = on_entity_decl;
    sax.serror = on_error;
    sax.error = silent;
    sax.warning = silent;
    sax.fatalError = silent;
    xmlSetGenericErrorFunc(NULL, silent);

    struct load_state st = {.doc = doc, .current = -1};
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(text, (int)len);
    if (!ctxt) {
        diag_add(d, "%s: cannot create an XML parser", name);
        goto fail;
    }
    if (ctxt->sax)
        xmlFree(ctxt->sax);
    ctxt->sax = &sax;
    ctxt->userData = &st;
    st.ctxt = ctxt;
    /* No network, no external DTD, no entity substitution, no huge nodes. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING);
    xmlParseDocument(ctxt);
    bool ok = ctxt->wellFormed && !st.refused && !st.offsets_broken && doc->root >= 0;
    int err_line =
        st.first_error_line ? st.first_error_line : (ctxt->input ? ctxt->input->line : 0);
    ctxt->sax = NULL;
    xmlFreeParserCtxt(ctxt);
    if (!ok) {
        if (st.refused)
            diag_add(d, "%s:%d: %s", name, err_line, st.refused);
        else if (st.offsets_broken)
            diag_add(d, "%s: internal error: the parser's byte offsets do not match the file",
                     name);
        else
            diag_add(d, "%s:%d: malformed XML: %s", name, err_line,
                     st.first_error[0] ? st.first_error : "no root element");
        goto fail;
    }
    return 0;
fail:
    xml_doc_free(doc);
    return -1;
}

void xml_doc_free(struct xml_doc *doc)
{
    /* The file can hold plain SpecificUser passwords. */
    if (doc->text)
        wipe(doc->text, doc->len);
    free(doc->text);
    free(doc->elems);
    memset(doc, 0, sizeof *doc);
    doc->root = -1;
}

bool xml_is(const struct xml_doc *doc, int32_t elem, const char *name)
{
    if (elem < 0)
        return false;
    const struct xml_elem *e = &doc->elems[elem];
    size_t n = strlen(name);
    return e->name_len == n && memcmp(doc->text + e->start + 1, name, n) == 0;
}

int32_t xml_child(const struct xml_doc *doc, int32_t elem, const char *name)
{
    if (elem < 0)
        return -1;
    for (int32_t c = doc->elems[elem].first_child; c >= 0; c = doc->elems[c].next)
        if (xml_is(doc, c, name))
            return c;
    return -1;
}

int32_t xml_next_named(const struct xml_doc *doc, int32_t elem, const char *name)
{
    for (int32_t c = doc->elems[elem].next; c >= 0; c = doc->elems[c].next)
        if (xml_is(doc, c, name))
            return c;
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Walks the attributes of a start tag that libxml2 already found well-formed. */
static bool next_attr(const struct xml_doc *doc, const struct xml_elem *e, uint32_t *pos,
                      struct xml_attr *a)
{
    const char *t = doc->text;
    uint32_t p = *pos;
    while (p < e->stag_end && is_space(t[p]))
        p++;
    if (p >= e->stag_end || t[p] == '>' || t[p] == '/')
        return false;
    a->name_off = p;
    while (p < e->stag_end && !is_space(t[p]) && t[p] != '=')
        p++;
    a->name_len = p - a->name_off;
    while (p < e->stag_end && t[p] != '"' && t[p] != '\'')
        p++;
    if (p >= e->stag_end)
        return false;
    a->quote = t[p++];
    a->value_off = p;
    while (p < e->stag_end && t[p] != a->quote)
        p++;
    a->value_len = p - a->value_off;
    *pos = p + 1;
    return true;
}

bool xml_attr_find(const struct xml_doc *doc, int32_t elem, const char *name, struct xml_attr *out)
{
    const struct xml_elem *e = &doc->elems[elem];
    uint32_t pos = e->start + 1 + e->name_len;
    size_t n = strlen(name);
    struct xml_attr a;
    while (next_attr(doc, e, &pos, &a)) {
        if (a.name_len == n && memcmp(doc->text + a.name_off, name, n) == 0) {
            *out = a;
            return true;
        }
    }
    return false;
}

size_t xml_attr_count(const struct xml_doc *doc, int32_t elem)
{
    const struct xml_elem *e = &doc->elems[elem];
    uint32_t pos = e->start + 1 + e->name_len;
    struct xml_attr a;
    size_t n = 0;
    while (next_attr(doc, e, &pos, &a))
        n++;
    return n;
}

uint32_t xml_attr_insert_point(const struct xml_doc *doc, int32_t elem)
{
    const struct xml_elem *e = &doc->elems[elem];
    uint32_t pos = e->start + 1 + e->name_len, at = pos;
    struct xml_attr a;
    while (next_attr(doc, e, &pos, &a))
        at = pos;
    return at;
}

static void put_utf8(struct strbuf *sb, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    sb_add(sb, b, n);
}

char *xml_attr_value(const struct xml_doc *doc, const struct xml_attr *a)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_grow(&sb, a->value_len);
    const char *s = doc->text + a->value_off, *end = s + a->value_len;
    while (s < end) {
        if (*s == '&') {
            const char *semi = memchr(s, ';', (size_t)(end - s));
            if (!semi) { /* cannot happen after libxml2's check */
                sb_addc(&sb, *s++);
                continue;
            }
            size_t n = (size_t)(semi - s - 1);
            const char *ent = s + 1;
            if (n == 2 && !memcmp(ent, "lt", 2))
                sb_addc(&sb, '<');
            else if (n == 2 && !memcmp(ent, "gt", 2))
                sb_addc(&sb, '>');
            else if (n == 3 && !memcmp(ent, "amp", 3))
                sb_addc(&sb, '&');
            else if (n == 4 && !memcmp(ent, "quot", 4))
                sb_addc(&sb, '"');
            else if (n == 4 && !memcmp(ent, "apos", 4))
                sb_addc(&sb, '\'');
            else if (n > 1 && ent[0] == '#')
                put_utf8(&sb,
                         ent[1] == 'x' ? strtoul(ent + 2, NULL, 16) : strtoul(ent + 1, NULL, 10));
            s = semi + 1;
        } else if (*s == '\r' && s + 1 < end && s[1] == '\n') {
            sb_addc(&sb, ' ');
            s += 2;
        } else if (*s == '\t' || *s == '\n' || *s == '\r') {
            sb_addc(&sb, ' ');
            s++;
        } else {
            sb_addc(&sb, *s++);
        }
    }
    return sb_detach(&sb);
}

char *xml_get(const struct xml_doc *doc, int32_t elem, const char *name)
{
    struct xml_attr a;
    if (elem < 0 || !xml_attr_find(doc, elem, name, &a))
        return NULL;
    return xml_attr_value(doc, &a);
}

void xml_escape_attr(struct strbuf *sb, const char *v)
{
    for (; *v; v++) {
        switch (*v) {
        case '&':
            sb_adds(sb, "&amp;");
            break;
        case '<':
            sb_adds(sb, "&lt;");
            break;
        case '>':
            sb_adds(sb, "&gt;");
            break;
        case '"':
            sb_adds(sb, "&quot;");
            break;
        case '\t':
            sb_adds(sb, "&#x9;");
            break;
        case '\n':
            sb_adds(sb, "&#xA;");
            break;
        case '\r':
            sb_adds(sb, "&#xD;");
            break;
        default:
            sb_addc(sb, *v);
        }
    }
}

char *xml_indent_of(const struct xml_doc *doc, int32_t elem)
{
    size_t start = doc->elems[elem].start, p = start;
    while (p > 0 && (doc->text[p - 1] == ' ' || doc->text[p - 1] == '\t'))
        p--;
    if (p > 0 && doc->text[p - 1] != '\n')
        return xstrdup("");
    return xstrndup(doc->text + p, start - p);
}
