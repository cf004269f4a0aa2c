/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The position index: offsets must point at the original bytes, and hostile
 * or broken documents must be refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "provision/iis/xmldoc.h"
#include "testutil.h"

static int load_text(const char *text, struct xml_doc *doc, struct diag *d)
{
    size_t len;
    char *copy = dup_text(text, &len);
    return xml_doc_load(doc, copy, len, "test.config", d);
}

static void offsets_match_bytes(void **state)
{
    (void)state;
    const char *names[] = {"applicationHost.server2016-default.config",
                           "applicationHost.reverse-proxy.config"};
    for (int f = 0; f < 2; f++) {
        size_t len;
        char *text = fixture(names[f], &len);
        struct xml_doc doc;
        struct diag d;
        diag_init(&d);
        assert_int_equal(xml_doc_load(&doc, text, len, names[f], &d), 0);
        assert_string_equal(doc.newline, "\r\n");
        assert_true(doc.count > 300);
        for (size_t i = 0; i < doc.count; i++) {
            const struct xml_elem *e = &doc.elems[i];
            size_t name_len = xml_name_len(&doc, (int32_t)i);
            assert_int_equal(doc.text[e->start], '<');
            assert_int_equal(doc.text[xml_stag_end(&doc, (int32_t)i) - 1], '>');
            assert_int_equal(doc.text[e->end - 1], '>');
            if (!xml_is_empty(&doc, (int32_t)i)) /* an end tag closes it, with its own name */
                assert_memory_equal(doc.text + e->end - name_len - 1, doc.text + e->start + 1,
                                    name_len);
        }
        assert_true(xml_is(&doc, doc.root, "configuration"));
        xml_doc_free(&doc);
        diag_free(&d);
    }
}

static void attributes_decode(void **state)
{
    (void)state;
    struct xml_doc doc;
    struct diag d;
    diag_init(&d);
    assert_int_equal(
        load_text("<r a=\"x&amp;y&#xA;z\" b='q&quot;' c=\"\" d=\"t\r\nu\" />", &doc, &d), 0);
    char *a = xml_get(&doc, doc.root, "a"), *b = xml_get(&doc, doc.root, "b");
    char *c = xml_get(&doc, doc.root, "c"), *dd = xml_get(&doc, doc.root, "d");
    assert_string_equal(a, "x&y\nz");
    assert_string_equal(b, "q\"");
    assert_string_equal(c, "");
    assert_string_equal(dd, "t u");
    assert_null(xml_get(&doc, doc.root, "missing"));
    assert_int_equal(xml_attr_count(&doc, doc.root), 4);
    free(a), free(b), free(c), free(dd);
    xml_doc_free(&doc);
    diag_free(&d);
}

static void refuse(const char *text, const char *expect)
{
    struct xml_doc doc;
    struct diag d;
    diag_init(&d);
    size_t len = strlen(text);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len + 1);
    assert_int_equal(xml_doc_load(&doc, copy, len, "bad.config", &d), -1);
    assert_int_equal(d.count, 1);
    if (!strstr(d.msgs[0], expect))
        fail_msg("message '%s' lacks '%s'", d.msgs[0], expect);
    assert_non_null(strstr(d.msgs[0], "bad.config"));
    diag_free(&d);
}

static void refuses_bad_documents(void **state)
{
    (void)state;
    refuse("", "empty");
    refuse("<configuration>", "malformed XML");
    refuse("<a><b></a>", "malformed XML");
    refuse("<?xml version=\"1.0\"?>\n<!DOCTYPE c [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
           "<c>&x;</c>",
           "DTD");
    refuse("<!DOCTYPE c SYSTEM \"http://example.com/x.dtd\"><c/>", "DTD");
    refuse("<c>&undefined;</c>", "malformed XML");
    refuse("<c a=\"\xff\"/>", "invalid UTF-8");
    refuse("\xff\xfe<\0c\0/\0>\0", "UTF-16");
    refuse("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><c/>", "only UTF-8");
    refuse("<c/><d/>", "malformed XML");
}

static void bom_and_lf_kept(void **state)
{
    (void)state;
    struct xml_doc doc;
    struct diag d;
    diag_init(&d);
    assert_int_equal(
        load_text("\xEF\xBB\xBF<configuration>\n  <x />\n</configuration>\n", &doc, &d), 0);
    assert_int_equal(doc.bom_len, 3);
    assert_string_equal(doc.newline, "\n");
    int32_t x = xml_child(&doc, doc.root, "x");
    assert_true(x >= 0);
    char *indent = xml_indent_of(&doc, x);
    assert_string_equal(indent, "  ");
    free(indent);
    assert_int_equal(xml_line_of(&doc, doc.elems[x].start), 2);
    xml_doc_free(&doc);
    diag_free(&d);
}

static void escape_round_trip(void **state)
{
    (void)state;
    struct strbuf sb;
    sb_init(&sb);
    sb_adds(&sb, "<r v=\"");
    xml_escape_attr(&sb, "a&b<c>\"d\te\nf");
    sb_adds(&sb, "\"/>");
    struct xml_doc doc;
    struct diag d;
    diag_init(&d);
    assert_int_equal(load_text(sb.buf, &doc, &d), 0);
    char *v = xml_get(&doc, doc.root, "v");
    assert_string_equal(v, "a&b<c>\"d\te\nf");
    free(v);
    xml_doc_free(&doc);
    diag_free(&d);
    sb_free(&sb);
}

/* ---- the scanner and libxml2 agree --------------------------------- */

/* Every element's offsets against the bytes, and the links against each
 * other: what the splices in apphost.c rely on. */
static void check_elements(const struct xml_doc *doc)
{
    assert_true(doc->count > 0);
    assert_true(doc->root >= 0 && (size_t)doc->root < doc->count);
    assert_int_equal(doc->elems[doc->root].parent, -1);
    for (size_t i = 0; i < doc->count; i++) {
        const struct xml_elem *e = &doc->elems[i];
        int32_t self = (int32_t)i;
        uint32_t stag_end = xml_stag_end(doc, self);
        size_t name_len = xml_name_len(doc, self);
        assert_true(e->start < stag_end && stag_end <= e->end && e->end <= doc->len);
        assert_int_equal(doc->text[e->start], '<');
        assert_int_equal(doc->text[stag_end - 1], '>');
        assert_int_equal(doc->text[e->end - 1], '>');
        if (xml_is_empty(doc, self)) {
            assert_int_equal(e->end, stag_end);
            assert_int_equal(doc->text[stag_end - 2], '/');
            assert_int_equal(xml_first_child(doc, self), -1);
        } else {
            /* the last "</" of the element opens its end tag, with its name */
            size_t lt = e->end - 2;
            while (lt > stag_end && !(doc->text[lt] == '<' && doc->text[lt + 1] == '/'))
                lt--;
            assert_int_equal(doc->text[lt], '<');
            assert_int_equal(doc->text[lt + 1], '/');
            assert_memory_equal(doc->text + lt + 2, doc->text + e->start + 1, name_len);
        }
        if (e->parent >= 0) { /* inside its parent's content */
            const struct xml_elem *p = &doc->elems[e->parent];
            assert_true(xml_stag_end(doc, e->parent) <= e->start && e->end <= p->end);
        } else {
            assert_int_equal((int32_t)i, doc->root);
        }
        if (e->next >= 0)
            assert_true(e->end <= doc->elems[e->next].start);
    }
    /* The links against the truth, found the plain way from the parents:
     * the next sibling is the next element with the same parent, the
     * first and last child the first and last with it as parent. */
    int32_t *first = xmalloc(doc->count * sizeof *first),
            *last = xmalloc(doc->count * sizeof *last);
    int32_t *next = xmalloc(doc->count * sizeof *next);
    for (size_t i = 0; i < doc->count; i++)
        first[i] = last[i] = next[i] = -1;
    for (size_t j = 0; j < doc->count; j++) {
        int32_t p = doc->elems[j].parent;
        if (p < 0)
            continue;
        if (last[p] >= 0)
            next[last[p]] = (int32_t)j;
        else
            first[p] = (int32_t)j;
        last[p] = (int32_t)j;
    }
    for (size_t i = 0; i < doc->count; i++) {
        assert_int_equal(doc->elems[i].next, next[i]);
        assert_int_equal(xml_first_child(doc, (int32_t)i), first[i]);
        assert_int_equal(xml_last_child(doc, (int32_t)i), last[i]);
    }
    free(first);
    free(last);
    free(next);
}

static size_t children_of(const struct xml_doc *doc, int32_t elem)
{
    size_t n = 0;
    for (int32_t c = xml_first_child(doc, elem); c >= 0; c = doc->elems[c].next)
        n++;
    return n;
}

/* Loads text (which must be well-formed), checks it and returns the doc. */
static void load_good(const char *text, size_t len, struct xml_doc *doc)
{
    struct diag d;
    diag_init(&d);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = xml_doc_load(doc, copy, len, "good.config", &d);
    if (rc != 0)
        fail_msg("refused [%s]: %s", text, d.count ? d.msgs[0] : "(no message)");
    assert_int_equal(d.count, 0);
    check_elements(doc);
    diag_free(&d);
}

static void offsets_agree_on_tricky_documents(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t count, root_children;
    } cases[] = {
        /* CDATA holding markup, and ']' just before its end */
        {"<r><![CDATA[<a>not an element</a><b/>]]><b/><![CDATA[x]]]></r>", 2, 1},
        /* comments holding tags, before, inside and after the root */
        {"<!-- <x> --><r><!-- <x> --><!--<y/>--><b></b><!----></r><!-- </r> -->", 2, 1},
        /* processing instructions, one holding '>' and a tag */
        {"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?pi some <data> here > too?>\n"
         "<r><?inner <y>?><b/><?p?></r>\n<?after ?>\n",
         2, 1},
        /* '>' , "/>" and the other quote inside attribute values */
        {"<r a=\"x>y\" b='it\"s' c='>' d=\"/>\"><b e='/>' f=\"'>'\"/><c "
         "g=\"&gt;&lt;&amp;\"></c></r>",
         3, 2},
        /* white space inside end tags and before '>' */
        {"<r><a  ></a  ><b\n></b\t\r\n></r  >", 3, 2},
        /* empty elements with spaces, tabs and newlines before "/>" */
        {"<r><a  /><b\t/><c\r\n/><d x=\"1\"   /></r>", 5, 4},
        /* nested elements of the same name */
        {"<a><a><a/><a></a></a><a><a><a/></a></a><a/></a>", 8, 3},
        /* a BOM */
        {"\xEF\xBB\xBF<?xml version=\"1.0\"?><r><a/><b></b></r>", 3, 2},
        /* CRLF everywhere, attributes over several lines */
        {"<?xml version=\"1.0\"?>\r\n<r>\r\n  <a x=\"1\"\r\n     y=\"2\" />\r\n  <b>\r\n  </b>\r\n"
         "</r>\r\n",
         3, 2},
        /* text with '>', entities and character references */
        {"<r>a &gt; b > c &lt;d&gt; &#60;e/&#62; &#x3C;f&#x3E;<a/>]</r>", 2, 1},
        /* namespaces */
        {"<r xmlns:p=\"urn:x\" xmlns=\"urn:y\"><p:a p:k=\"v\"/><p:b></p:b><c/></r>", 4, 3},
        /* spaces around '=' */
        {"<r a = \"1\"\tb\n=\n'2'><c d =\"3\"/></r>", 2, 1},
        /* the smallest documents: 4 bytes is the first chunk libxml2 gets */
        {"<r/>", 1, 0},
        {"<r />", 1, 0},
        {"<r></r>", 1, 0},
        {"\n\n<r/>\n\n", 1, 0},
        /* multi-byte UTF-8 in names, values and text */
        {"<r n=\"\xC3\xA9t\xC3\xA9\"><\xC3\xA9l\xC3\xA9ment/>\xE2\x82\xAC<b/></r>", 3, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct xml_doc doc;
        load_good(cases[i].text, strlen(cases[i].text), &doc);
        if (doc.count != cases[i].count || children_of(&doc, doc.root) != cases[i].root_children)
            fail_msg("[%s]: %zu elements, %zu under the root; expected %zu and %zu", cases[i].text,
                     doc.count, children_of(&doc, doc.root), cases[i].count,
                     cases[i].root_children);
        xml_doc_free(&doc);
    }
}

static void offsets_agree_on_nesting_and_crlf(void **state)
{
    (void)state;
    struct xml_doc doc;
    const char *text = "\xEF\xBB\xBF<a>\r\n <a k='1'>\r\n  <a/>\r\n  <a  >\r\n  </a  >\r\n </a>\r\n"
                       " <a/>\r\n</a>\r\n";
    load_good(text, strlen(text), &doc);
    assert_int_equal(doc.bom_len, 3);
    assert_string_equal(doc.newline, "\r\n");
    assert_int_equal(doc.count, 5);
    assert_int_equal(doc.root, 0);
    assert_int_equal(children_of(&doc, doc.root), 2);
    int32_t first = xml_first_child(&doc, doc.root), last = xml_last_child(&doc, doc.root);
    assert_int_equal(children_of(&doc, first), 2);
    assert_true(xml_is_empty(&doc, last));
    char *k = xml_get(&doc, first, "k");
    assert_string_equal(k, "1");
    free(k);
    int32_t inner = xml_last_child(&doc, first); /* <a  >\r\n  </a  > */
    assert_false(xml_is_empty(&doc, inner));
    assert_int_equal(xml_line_of(&doc, doc.elems[inner].start), 4);
    assert_memory_equal(doc.text + doc.elems[inner].end - 6, "</a  >", 6);
    xml_doc_free(&doc);
}

/* libxml2 is fed the first 4 bytes, then 256 KiB at a time: the offsets it
 * reports must stay those of the whole text when a tag is cut by a chunk
 * boundary at any byte. */
static void offsets_agree_across_chunk_boundaries(void **state)
{
    (void)state;
    const size_t boundary = 4 + 256 * 1024;
    const char *tag = "<a b=\"1\" c='x>y'  ></a  ><e  />";
    size_t tag_len = strlen(tag);
    for (size_t cut = 0; cut <= tag_len + 1; cut++) {
        struct strbuf sb;
        sb_init(&sb);
        sb_adds(&sb, "<r>");
        /* a comment up to where the tag must start */
        sb_adds(&sb, "<!--");
        while (sb.len < boundary - cut - 3)
            sb_addc(&sb, (char)('a' + sb.len % 26));
        sb_adds(&sb, "-->");
        assert_int_equal(sb.len, boundary - cut);
        sb_adds(&sb, tag);
        for (int i = 0; i < 6000; i++) /* on past the next boundary */
            sb_addf(&sb, "<add name=\"site%d\" id='%d'><x  /></add  >\r\n", i, i);
        sb_adds(&sb, "</r>");
        assert_true(sb.len > boundary + 256 * 1024);
        struct xml_doc doc;
        load_good(sb.buf, sb.len, &doc);
        assert_int_equal(doc.count, 3 + 2 * 6000);
        assert_int_equal(children_of(&doc, doc.root), 2 + 6000);
        int32_t a = xml_child(&doc, doc.root, "a");
        assert_int_equal(doc.elems[a].start, boundary - cut);
        xml_doc_free(&doc);
        sb_free(&sb);
    }
}

/* ---- open, then the verdict ---------------------------------------- */

static void open_then_verdict(void **state)
{
    (void)state;
    struct xml_doc doc;
    struct diag d;
    diag_init(&d);
    size_t len;
    char *text = fixture("applicationHost.server2016-default.config", &len);
    assert_int_equal(xml_doc_open(&doc, text, len, "split.config", &d), 0);
    /* the elements are there before libxml2 has said anything */
    assert_true(xml_is(&doc, doc.root, "configuration"));
    int32_t host = xml_child(&doc, doc.root, "system.applicationHost");
    assert_true(host >= 0);
    assert_true(xml_child(&doc, host, "sites") >= 0);
    assert_int_equal(d.count, 0);
    assert_int_equal(xml_doc_verdict(&doc, &d), 0);
    assert_int_equal(d.count, 0);
    assert_null(doc.judge);
    /* a second verdict has nothing left to wait for */
    assert_int_equal(xml_doc_verdict(&doc, &d), 0);
    check_elements(&doc);
    xml_doc_free(&doc);
    diag_free(&d);
}

/* Documents our scanner accepts and libxml2 refuses: the verdict says no,
 * once, naming the file. */
static void verdict_refuses_what_the_scanner_let_through(void **state)
{
    (void)state;
    const char *bad[] = {
        "<c a=\"x<y\"/>",
        "<c>&bogus;</c>",
        "<c><1a/></c>",
        "<c><!-- a -- b --></c>",
        "<c a=\"1\" a=\"2\"/>",
        "<c a=\"1\"b=\"2\"/>",
        "<c>]]></c>",
        "<c a=\"&#0;\"/>",
        "<c>&#xD800;</c>",
        "<c a=\"&\"/>",
        "<c a=b/>",
        " <?xml version=\"1.0\"?><c/>",
        "<c><?xml version=\"1.0\"?></c>",
        "<c/>text",
        "<c><![CDATA[x]]></c><![CDATA[y]]>",
        "<c x:a=\"1\" xmlns:x=\"u\" xmlns:x=\"v\"/>",
    };
    size_t judged = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct xml_doc doc;
        struct diag d;
        diag_init(&d);
        size_t len;
        char *copy = dup_text(bad[i], &len);
        int rc = xml_doc_open(&doc, copy, len, "judged.config", &d);
        if (rc == 0) {
            judged++;
            assert_int_equal(d.count, 0);
            rc = xml_doc_verdict(&doc, &d);
            if (rc != -1)
                fail_msg("[%s] accepted", bad[i]);
        }
        assert_int_equal(rc, -1);
        if (d.count != 1)
            fail_msg("[%s]: %zu messages", bad[i], d.count);
        if (!strstr(d.msgs[0], "malformed XML") || !strstr(d.msgs[0], "judged.config"))
            fail_msg("[%s]: message '%s'", bad[i], d.msgs[0]);
        assert_null(strchr(d.msgs[0], '\n'));
        xml_doc_free(&doc); /* after a refused verdict, or twice after a failed open */
        assert_null(doc.text);
        assert_null(doc.judge);
        diag_free(&d);
    }
    assert_true(judged >= 4); /* the verdict path was taken, not only open's */
}

/* Freed while libxml2 may still be reading the text: it waits for it. */
static void free_before_verdict(void **state)
{
    (void)state;
    size_t len;
    char *big = fixture("applicationHost.server2016-default.config", &len);
    for (int i = 0; i < 50; i++) {
        struct xml_doc doc;
        struct diag d;
        diag_init(&d);
        char *copy = xmalloc(len + 1);
        memcpy(copy, big, len + 1);
        assert_int_equal(xml_doc_open(&doc, copy, len, "early.config", &d), 0);
        assert_non_null(doc.judge); /* no verdict asked for yet */
        xml_doc_free(&doc);
        assert_null(doc.judge);
        assert_null(doc.text);
        assert_int_equal(doc.root, -1);
        /* and on a document the judge will refuse */
        size_t bad_len;
        copy = dup_text("<c a=\"x<y\"><d/></c>", &bad_len);
        assert_int_equal(xml_doc_open(&doc, copy, bad_len, "early.config", &d), 0);
        xml_doc_free(&doc);
        assert_null(doc.judge);
        assert_int_equal(d.count, 0); /* a verdict nobody asked for is not reported */
        diag_free(&d);
    }
    free(big);
}

/* libxml2 quotes a piece of the document in some messages; the piece can
 * hold a password. */
static void refusal_never_quotes_the_document(void **state)
{
    (void)state;
    const char *bad[] = {
        "<c><!-- password=Secret123",
        /* a non-ASCII byte sends libxml2 (2.9) down the path whose message
         * goes on with "\n<!--" and the comment's first 50 bytes */
        "<c><!-- \xC3\xA9 password=Secret123",
        "<c>\r\n<!-- \xC3\xA9\r\n password=Secret123\r\n  more\r\n",
        "<c>\r\n<!-- password=Secret123\r\n  more\r\n",
        "<c><![CDATA[password=Secret123",
        "<c><?pi password=Secret123",
        /* a password with a raw '&': libxml2 names the "entity" */
        "<c p=\"Sec&ret123;x\"/>",
        "<c p=\"x&Secret123;\"/>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct xml_doc doc;
        struct diag d;
        diag_init(&d);
        size_t len;
        char *copy = dup_text(bad[i], &len);
        assert_int_equal(xml_doc_load(&doc, copy, len, "secret.config", &d), -1);
        assert_int_equal(d.count, 1);
        if (!strstr(d.msgs[0], "malformed XML") || !strstr(d.msgs[0], "secret.config"))
            fail_msg("[%s]: message '%s'", bad[i], d.msgs[0]);
        if (strstr(d.msgs[0], "Secret") || strchr(d.msgs[0], '\n'))
            fail_msg("the message quotes the document: '%s'", d.msgs[0]);
        diag_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offsets_match_bytes),
        cmocka_unit_test(attributes_decode),
        cmocka_unit_test(refuses_bad_documents),
        cmocka_unit_test(bom_and_lf_kept),
        cmocka_unit_test(escape_round_trip),
        cmocka_unit_test(offsets_agree_on_tricky_documents),
        cmocka_unit_test(offsets_agree_on_nesting_and_crlf),
        cmocka_unit_test(offsets_agree_across_chunk_boundaries),
        cmocka_unit_test(open_then_verdict),
        cmocka_unit_test(verdict_refuses_what_the_scanner_let_through),
        cmocka_unit_test(free_before_verdict),
        cmocka_unit_test(refusal_never_quotes_the_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
