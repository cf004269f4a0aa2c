/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A position index over an XML document's original bytes.
 *
 * Our scanner finds where each element starts and ends while libxml2, on
 * another core, judges the document and reports the same offsets; the two
 * must agree (xmldoc.c). We keep only those offsets, never a tree. Edits are then spliced into the
 * original text (see splice in apphost.c), so every byte a change does not
 * touch stays as it was: CRLF, character references, comments, attribute
 * order and the `<add />` spacing that a libxml2 save would rewrite (see the
 * Windows Server 2016 file tests/fixtures/applicationHost.server2016-default.config). */
#ifndef PROVISION_IIS_XMLDOC_H
#define PROVISION_IIS_XMLDOC_H

#include "provision/util.h"

#include <stddef.h>
#include <stdint.h>

/* The largest file we accept; IIS configs with 10,000 sites are ~7 MB. */
#define XMLDOC_MAX_BYTES (256u * 1024u * 1024u)

/* 16 bytes an element: a 10,000-site config holds about 80,000 of them.
 * What can be derived from the text or from the order is not stored (see
 * the accessors below): elements are kept in document order, so a first
 * child is always the next element. */
struct xml_elem {
    uint32_t start;       /* offset of '<' */
    uint32_t end;         /* offset just after the element (its '/>' or end tag) */
    int32_t parent, next; /* indexes, -1 = none */
};

struct xml_doc {
    char *text; /* the original bytes, owned, NUL-terminated */
    size_t len;
    struct xml_elem *elems;
    size_t count, cap;
    int32_t root;
    const char *newline;     /* "\r\n" or "\n": what the file uses */
    size_t bom_len;          /* 3 when the file starts with a UTF-8 BOM */
    struct xml_judge *judge; /* libxml2 still judging (xml_doc_open), or NULL */
};

/* Takes ownership of text (malloc'd, NUL at text[len]). On error returns -1,
 * adds one message naming `name` and the line to d, and frees text. */
int xml_doc_load(struct xml_doc *doc, char *text, size_t len, const char *name, struct diag *d);
/* xml_doc_load in two steps, for a caller that indexes the elements while
 * libxml2 still judges the document on another core: xml_doc_open returns
 * once the elements are found (-1 as above); xml_doc_verdict waits for the
 * judgement: 0, or -1 with one message (the caller then frees the doc and
 * drops whatever it found in it). Until the verdict, the elements are
 * those of a document that may be malformed: in bounds and well nested,
 * nothing more. */
int xml_doc_open(struct xml_doc *doc, char *text, size_t len, const char *name, struct diag *d);
int xml_doc_verdict(struct xml_doc *doc, struct diag *d);
void xml_doc_free(struct xml_doc *doc);

/* 1-based line of a byte offset (counts newlines; for messages only). */
unsigned xml_line_of(const struct xml_doc *doc, size_t offset);

bool xml_is(const struct xml_doc *doc, int32_t elem, const char *name);
/* Length of the element's name: text[start+1 .. start+1+len). */
size_t xml_name_len(const struct xml_doc *doc, int32_t elem);
/* Offset just after the start tag's '>'. */
uint32_t xml_stag_end(const struct xml_doc *doc, int32_t elem);
/* Written as <x ... />. */
bool xml_is_empty(const struct xml_doc *doc, int32_t elem);
/* First and last child element, -1 when there is none. The last is found
 * from the end of the element's content, not by walking its children. */
int32_t xml_first_child(const struct xml_doc *doc, int32_t elem);
int32_t xml_last_child(const struct xml_doc *doc, int32_t elem);
/* First child element named name after (not including) `after`, or the first
 * one when after is -1; -1 when there is none. */
int32_t xml_child(const struct xml_doc *doc, int32_t elem, const char *name);
int32_t xml_next_named(const struct xml_doc *doc, int32_t elem, const char *name);

/* An attribute as written: offsets of its name and of its value between the
 * quotes (raw, still escaped). */
struct xml_attr {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len;
    char quote;
};
/* Finds attribute name (exact, case-sensitive like IIS). Returns true if found. */
bool xml_attr_find(const struct xml_doc *doc, int32_t elem, const char *name, struct xml_attr *out);
/* Offset just after the last attribute (or the name), where a new attribute goes. */
uint32_t xml_attr_insert_point(const struct xml_doc *doc, int32_t elem);
/* Decoded value of an attribute (entities resolved, attribute white space
 * normalised as XML does); malloc'd. */
char *xml_attr_value(const struct xml_doc *doc, const struct xml_attr *a);
/* Decoded value or NULL when absent; malloc'd. */
char *xml_get(const struct xml_doc *doc, int32_t elem, const char *name);
/* Number of attributes on the element. */
size_t xml_attr_count(const struct xml_doc *doc, int32_t elem);

/* Escapes a value for a double-quoted attribute the way IIS writes it. */
void xml_escape_attr(struct strbuf *sb, const char *value);

/* White space at the start of the element's line when only blanks precede it
 * on that line (its indentation); otherwise "". malloc'd. */
char *xml_indent_of(const struct xml_doc *doc, int32_t elem);

#endif
