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
            assert_int_equal(doc.text[e->start], '<');
            assert_int_equal(doc.text[e->stag_end - 1], '>');
            assert_int_equal(doc.text[e->end - 1], '>');
            if (!e->empty) /* an end tag closes it, with its own name */
                assert_memory_equal(doc.text + e->end - e->name_len - 1, doc.text + e->start + 1,
                                    e->name_len);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offsets_match_bytes),   cmocka_unit_test(attributes_decode),
        cmocka_unit_test(refuses_bad_documents), cmocka_unit_test(bom_and_lf_kept),
        cmocka_unit_test(escape_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
