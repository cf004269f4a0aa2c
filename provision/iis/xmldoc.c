/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loading is two passes over the same bytes, run side by side on two cores:
 *
 *  - the scanner (this file) finds where each element starts and ends, in
 *    one pass of memchr-driven loops, and builds the index;
 *  - libxml2 parses the whole document with a SAX handler that only records
 *    the byte offset of each start and end tag: it is the judge of
 *    well-formedness, and it refuses DTDs (so no external entities and no
 *    entity expansion).
 *
 * The document is accepted only when libxml2 finds it well-formed and both
 * passes saw exactly the same start and end offsets. The scanner therefore
 * never has to know every rule of XML: it must only be exact on documents
 * libxml2 accepts, and never read past the text on the others. */
#include "provision/iis/xmldoc.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The offsets of element events in document order (a start tag's closing
 * '>', or the '/' of "/>", times 2; the offset just after an element, times
 * 2 plus 1), kept as their count and a SHA-256 of the sequence: the two
 * passes must see the same, and a file-sized array of them need not be
 * kept. Fed a block at a time. */
struct events {
    struct sha256_ctx sha;
    uint32_t block[1024]; /* offsets < 2^28 (XMLDOC_MAX_BYTES): x2+1 fits */
    size_t in_block, n;
};

static void events_init(struct events *ev)
{
    sha256_init(&ev->sha);
    ev->in_block = ev->n = 0;
}

static void events_add(struct events *ev, uint32_t value)
{
    ev->block[ev->in_block++] = value;
    ev->n++;
    if (ev->in_block == sizeof ev->block / sizeof *ev->block) {
        sha256_update(&ev->sha, sizeof ev->block, (const uint8_t *)ev->block);
        ev->in_block = 0;
    }
}

static void events_digest(struct events *ev, uint8_t out[SHA256_DIGEST_SIZE])
{
    sha256_update(&ev->sha, ev->in_block * sizeof *ev->block, (const uint8_t *)ev->block);
    ev->in_block = 0;
    sha256_digest(&ev->sha, SHA256_DIGEST_SIZE, out);
}

/* ---- libxml2: the judge ---------------------------------------------- */

struct verdict {
    const char *text;
    size_t len;
    xmlParserCtxtPtr ctxt;
    struct events events;
    bool well_formed;
    const char *refused; /* why we stopped the parser ourselves */
    int error_line;
    char first_error[256];
};

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    (void)localname, (void)prefix, (void)uri, (void)nb_namespaces, (void)namespaces;
    (void)nb_attributes, (void)nb_defaulted, (void)attributes;
    struct verdict *v = ctx;
    /* libxml2 calls us with the input at the start tag's '>' or "/>". */
    long off = xmlByteConsumed(v->ctxt);
    events_add(&v->events, off < 0 || off > XMLDOC_MAX_BYTES ? UINT32_MAX : (uint32_t)off * 2);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    (void)localname, (void)prefix, (void)uri;
    struct verdict *v = ctx;
    long off = xmlByteConsumed(v->ctxt);
    events_add(&v->events, off < 0 || off > XMLDOC_MAX_BYTES ? UINT32_MAX : (uint32_t)off * 2 + 1);
}

/* Any DTD is refused: IIS files have none, and refusing it closes the door on
 * external entities and entity expansion bombs. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
    (void)name, (void)ext_id, (void)sys_id;
    struct verdict *v = ctx;
    v->refused = "a DTD (<!DOCTYPE>) is not allowed in applicationHost.config";
    xmlStopParser(v->ctxt);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)name, (void)type, (void)public_id, (void)system_id, (void)content;
    struct verdict *v = ctx;
    v->refused = "entity declarations are not allowed";
    xmlStopParser(v->ctxt);
}

static void on_error(void *ctx, xmlErrorPtr err)
{
    struct verdict *v = ctx;
    if (v->first_error[0] || !err)
        return;
    v->error_line = err->line;
    snprintf(v->first_error, sizeof v->first_error, "%s", err->message ? err->message : "error");
    /* Some messages go on with a piece of the document on the next lines:
     * never quoted (it can hold a password). */
    v->first_error[strcspn(v->first_error, "\n")] = '\0';
    /* An undefined entity is named, and in an attribute its name is a
     * piece of the value (a password with a raw '&'): not quoted either. */
    if (!strncmp(v->first_error, "Entity '", 8))
        snprintf(v->first_error, sizeof v->first_error,
                 "an undefined entity ('&' must be written &amp;)");
    size_t n = strlen(v->first_error); /* no newline is left: cut above */
    while (n && v->first_error[n - 1] == ' ')
        v->first_error[--n] = '\0';
}

static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

static void *judge(void *arg)
{
    struct verdict *v = arg;
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
    xmlSetGenericErrorFunc(NULL, silent); /* per thread in libxml2 */

    /* Fed in chunks (push mode): libxml2 then holds a window of the
     * text, not a copy of the whole file. */
    size_t first = v->len < 4 ? v->len : 4;
    xmlParserCtxtPtr ctxt = xmlCreatePushParserCtxt(&sax, v, v->text, (int)first, NULL);
    if (!ctxt) {
        snprintf(v->first_error, sizeof v->first_error, "cannot create an XML parser");
        return NULL;
    }
    v->ctxt = ctxt;
    /* No network, no external DTD, no entity substitution, no huge nodes. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING);
    enum { CHUNK = 256 * 1024 };
    bool finished = false; /* the whole text parsed, the end of it told */
    for (size_t at = first; !ctxt->disableSAX;) {
        size_t n = v->len - at < CHUNK ? v->len - at : CHUNK;
        bool last = at + n == v->len;
        if (xmlParseChunk(ctxt, v->text + at, (int)n, last) != 0)
            break;
        if (last) {
            finished = true;
            break;
        }
        at += n;
    }
    v->well_formed = finished && ctxt->wellFormed && !v->refused;
    if (!v->error_line)
        v->error_line = ctxt->input ? ctxt->input->line : 0;
    xmlFreeParserCtxt(ctxt);
    v->ctxt = NULL;
    return NULL;
}

/* ---- the scanner: where each element is ---------------------------- */

static int32_t push_elem(struct xml_doc *doc)
{
    if (doc->count == doc->cap) {
        doc->cap = doc->cap ? doc->cap * 2 : 1024;
        doc->elems = xrealloc(doc->elems, doc->cap * sizeof *doc->elems);
    }
    struct xml_elem *e = &doc->elems[doc->count];
    e->parent = e->next = -1;
    return (int32_t)doc->count++;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The bytes of a name: up to white space, '/', '>', '=' or the end (the
 * NUL after the text). Which characters a name may hold is libxml2's
 * judgement. */
static size_t name_at(const char *t, size_t p)
{
    size_t q = p;
    while (t[q] && !is_space(t[q]) && t[q] != '/' && t[q] != '>' && t[q] != '=')
        q++;
    return q - p;
}

/* Offset just after the first `close` at or after p, or 0 when none. */
static size_t after(const char *t, size_t len, size_t p, const char *close)
{
    size_t n = strlen(close);
    while (p + n <= len) {
        const char *at = memchr(t + p, close[0], len - p - n + 1);
        if (!at)
            return 0;
        p = (size_t)(at - t);
        if (memcmp(at, close, n) == 0)
            return p + n;
        p++;
    }
    return 0;
}

/* The start tag at p ('<' and its name); its attributes are skipped
 * quote to quote. Sets *stag_end (just after its '>') and *empty (it ends
 * with "/>"): 0, or -1 when it does not end. */
static int scan_start_tag(const struct xml_doc *doc, size_t p, size_t name_len, uint32_t *stag_end,
                          bool *empty)
{
    const char *t = doc->text;
    size_t q = p + 1 + name_len;
    for (;;) {
        while (is_space(t[q]))
            q++;
        if (t[q] == '>') {
            *stag_end = (uint32_t)q + 1;
            *empty = false;
            return 0;
        }
        if (t[q] == '/') {
            if (t[q + 1] != '>')
                return -1;
            *stag_end = (uint32_t)q + 2;
            *empty = true;
            return 0;
        }
        size_t n = name_at(t, q);
        if (n == 0)
            return -1;
        q += n;
        while (is_space(t[q]))
            q++;
        if (t[q] != '=')
            return -1;
        q++;
        while (is_space(t[q]))
            q++;
        if (t[q] != '"' && t[q] != '\'')
            return -1;
        const char *close = memchr(t + q + 1, t[q], doc->len - q - 1);
        if (!close)
            return -1;
        q = (size_t)(close - t) + 1;
    }
}

/* Builds doc->elems and records the element events. 0, or -1 with why. */
static int scan(struct xml_doc *doc, struct events *ev, const char **why)
{
    const char *t = doc->text;
    size_t len = doc->len, p = doc->bom_len;
    int32_t cur = -1;
    /* The element closed last: the next one to start in the same parent
     * is its next sibling. */
    int32_t closed = -1;
    bool root_done = false;
    for (;;) {
        if (cur < 0) { /* outside the root: only blanks, comments and PIs */
            while (is_space(t[p]))
                p++;
            if (p >= len)
                break;
            if (t[p] != '<')
                return *why = "text outside the root element", -1;
        } else {
            const char *lt = memchr(t + p, '<', len - p);
            if (!lt)
                return *why = "an element is not closed", -1;
            p = (size_t)(lt - t);
        }
        if (t[p + 1] == '/') { /* an end tag */
            if (cur < 0)
                return *why = "an end tag outside the root element", -1;
            struct xml_elem *e = &doc->elems[cur];
            size_t n = name_at(t, e->start + 1), q = p + 2 + n;
            if (q > len || memcmp(t + p + 2, t + e->start + 1, n) != 0)
                return *why = "an end tag names another element", -1;
            while (is_space(t[q]))
                q++;
            if (t[q] != '>')
                return *why = "an end tag does not end", -1;
            e->end = (uint32_t)q + 1;
            events_add(ev, e->end * 2 + 1);
            closed = cur;
            cur = e->parent;
            root_done = cur < 0;
            p = q + 1;
            continue;
        }
        if (t[p + 1] == '!') {
            size_t q = 0;
            if (!strncmp(t + p, "<!--", 4))
                q = after(t, len, p + 4, "-->");
            else if (cur >= 0 && !strncmp(t + p, "<![CDATA[", 9))
                q = after(t, len, p + 9, "]]>");
            if (!q)
                return *why = "a comment, CDATA section or declaration", -1;
            p = q;
            continue;
        }
        if (t[p + 1] == '?') {
            size_t q = after(t, len, p + 2, "?>");
            if (!q)
                return *why = "a processing instruction does not end", -1;
            p = q;
            continue;
        }
        if (root_done)
            return *why = "a second root element", -1;
        size_t n = name_at(t, p + 1);
        if (n == 0 || n > 65535)
            return *why = "a start tag without a name", -1;
        uint32_t stag_end;
        bool empty;
        if (scan_start_tag(doc, p, n, &stag_end, &empty) < 0)
            return *why = "a start tag does not end", -1;
        int32_t i = push_elem(doc);
        struct xml_elem *e = &doc->elems[i];
        e->start = (uint32_t)p;
        e->parent = cur;
        if (closed >= 0 && doc->elems[closed].parent == cur)
            doc->elems[closed].next = i;
        if (cur < 0)
            doc->root = i;
        events_add(ev, (stag_end - 1 - empty) * 2);
        p = stag_end;
        if (empty) {
            e->end = stag_end;
            events_add(ev, e->end * 2 + 1);
            closed = i;
            root_done = cur < 0;
        } else {
            cur = i;
        }
    }
    if (cur >= 0 || doc->root < 0)
        return *why = "the root element is not closed", -1;
    return 0;
}

/* ---- loading ------------------------------------------------------- */

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

/* The judge at work beside the caller, and what the scanner saw. */
struct xml_judge {
    struct verdict verdict;
    pthread_t thread;
    bool threaded;
    struct events mine;
    const char *why; /* why the scanner stopped, when it did */
    char *name;
};

/* Waits for libxml2; 0 when it found the document well-formed and saw the
 * elements where the scanner did, else -1 with one message. */
static int judge_wait(struct xml_doc *doc, struct diag *d)
{
    struct xml_judge *j = doc->judge;
    if (!j)
        return 0;
    doc->judge = NULL;
    if (j->threaded)
        pthread_join(j->thread, NULL);
    struct verdict *v = &j->verdict;
    uint8_t mine[SHA256_DIGEST_SIZE], theirs[SHA256_DIGEST_SIZE];
    events_digest(&j->mine, mine);
    events_digest(&v->events, theirs);
    bool same = !j->why && j->mine.n == v->events.n && memcmp(mine, theirs, sizeof mine) == 0;
    int rc = 0;
    if (!v->well_formed) {
        if (v->refused)
            diag_add(d, "%s:%d: %s", j->name, v->error_line, v->refused);
        else
            diag_add(d, "%s:%d: malformed XML: %s", j->name, v->error_line,
                     v->first_error[0] ? v->first_error : "no root element");
        rc = -1;
    } else if (!same) { /* a bug of the scanner: never guessed around */
        diag_add(d, "%s: internal error: the parser's byte offsets do not match the file (%s)",
                 j->name, j->why ? j->why : "the element positions differ");
        rc = -1;
    }
    free(j->name);
    free(j);
    return rc;
}

int xml_doc_open(struct xml_doc *doc, char *text, size_t len, const char *name, struct diag *d)
{
    memset(doc, 0, sizeof *doc);
    doc->text = text;
    doc->len = len;
    doc->root = -1;
    if (check_prolog(doc, name, d) < 0) {
        xml_doc_free(doc);
        return -1;
    }
    xmlInitParser(); /* once, before any thread parses */
    struct xml_judge *j = xcalloc(1, sizeof *j);
    j->verdict.text = text;
    j->verdict.len = len;
    j->name = xstrdup(name);
    events_init(&j->verdict.events);
    events_init(&j->mine);
    doc->judge = j;
    j->threaded = pthread_create(&j->thread, NULL, judge, &j->verdict) == 0;
    if (!j->threaded)
        judge(&j->verdict);
    if (scan(doc, &j->mine, &j->why) < 0) { /* libxml2 has the better message */
        judge_wait(doc, d);
        xml_doc_free(doc);
        return -1;
    }
    return 0;
}

int xml_doc_verdict(struct xml_doc *doc, struct diag *d)
{
    return judge_wait(doc, d);
}

int xml_doc_load(struct xml_doc *doc, char *text, size_t len, const char *name, struct diag *d)
{
    if (xml_doc_open(doc, text, len, name, d) < 0)
        return -1;
    if (xml_doc_verdict(doc, d) < 0) {
        xml_doc_free(doc);
        return -1;
    }
    return 0;
}

void xml_doc_free(struct xml_doc *doc)
{
    if (doc->judge) { /* never free the text under libxml2's feet */
        struct diag ignored;
        diag_init(&ignored);
        judge_wait(doc, &ignored);
        diag_free(&ignored);
    }
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
    const char *at = doc->text + doc->elems[elem].start + 1;
    size_t n = strlen(name);
    /* strncmp stops at the NUL after the text, and a match's next byte is there. */
    return strncmp(at, name, n) == 0 && name_at(at, n) == 0;
}

size_t xml_name_len(const struct xml_doc *doc, int32_t elem)
{
    return name_at(doc->text, doc->elems[elem].start + 1);
}

uint32_t xml_stag_end(const struct xml_doc *doc, int32_t elem)
{
    uint32_t stag_end = doc->elems[elem].end;
    bool empty;
    /* Cannot fail: the scanner found this tag's end once already. */
    (void)scan_start_tag(doc, doc->elems[elem].start, xml_name_len(doc, elem), &stag_end, &empty);
    return stag_end;
}

bool xml_is_empty(const struct xml_doc *doc, int32_t elem)
{
    /* An end tag never ends with "/>"; an empty element always does. */
    return doc->text[doc->elems[elem].end - 2] == '/';
}

int32_t xml_first_child(const struct xml_doc *doc, int32_t elem)
{
    size_t next = (size_t)elem + 1;
    return next < doc->count && doc->elems[next].parent == elem ? (int32_t)next : -1;
}

int32_t xml_last_child(const struct xml_doc *doc, int32_t elem)
{
    if (xml_first_child(doc, elem) < 0)
        return -1;
    /* Elements are in document order: the element's content ends with the
     * last element that starts before its end; from there, up to the
     * child. */
    uint32_t end = doc->elems[elem].end;
    size_t lo = (size_t)elem + 1, hi = doc->count; /* the answer is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (doc->elems[mid].start < end)
            lo = mid;
        else
            hi = mid;
    }
    int32_t c = (int32_t)lo;
    while (doc->elems[c].parent != elem)
        c = doc->elems[c].parent;
    return c;
}

int32_t xml_child(const struct xml_doc *doc, int32_t elem, const char *name)
{
    if (elem < 0)
        return -1;
    for (int32_t c = xml_first_child(doc, elem); c >= 0; c = doc->elems[c].next)
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

/* Walks the attributes of a start tag that the scanner found to end (quote
 * to quote): it stops at its '>' or "/>", and the element's end bounds it. */
static bool next_attr(const struct xml_doc *doc, const struct xml_elem *e, uint32_t *pos,
                      struct xml_attr *a)
{
    const char *t = doc->text;
    uint32_t p = *pos;
    while (p < e->end && is_space(t[p]))
        p++;
    if (p >= e->end || t[p] == '>' || t[p] == '/')
        return false;
    a->name_off = p;
    while (p < e->end && !is_space(t[p]) && t[p] != '=')
        p++;
    a->name_len = p - a->name_off;
    while (p < e->end && t[p] != '"' && t[p] != '\'')
        p++;
    if (p >= e->end)
        return false;
    a->quote = t[p++];
    a->value_off = p;
    while (p < e->end && t[p] != a->quote)
        p++;
    a->value_len = p - a->value_off;
    *pos = p + 1;
    return true;
}

bool xml_attr_find(const struct xml_doc *doc, int32_t elem, const char *name, struct xml_attr *out)
{
    const struct xml_elem *e = &doc->elems[elem];
    uint32_t pos = e->start + 1 + (uint32_t)xml_name_len(doc, elem);
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
    uint32_t pos = e->start + 1 + (uint32_t)xml_name_len(doc, elem);
    struct xml_attr a;
    size_t n = 0;
    while (next_attr(doc, e, &pos, &a))
        n++;
    return n;
}

uint32_t xml_attr_insert_point(const struct xml_doc *doc, int32_t elem)
{
    const struct xml_elem *e = &doc->elems[elem];
    uint32_t pos = e->start + 1 + (uint32_t)xml_name_len(doc, elem), at = pos;
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
    /* Most values hold nothing to decode: a plain copy. */
    const char *raw = doc->text + a->value_off;
    size_t k = 0;
    while (k < a->value_len && raw[k] != '&' && raw[k] != '\t' && raw[k] != '\n' && raw[k] != '\r')
        k++;
    if (k == a->value_len)
        return xstrndup(raw, k);
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
