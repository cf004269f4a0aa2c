/* SPDX-License-Identifier: GPL-3.0-or-later */
/* schema_check SCHEMA CONFIG: checks every section of an
 * applicationHost.config that the IIS schema describes: declared elements
 * and attributes only, enum/flags/bool/number/timeSpan values, required
 * attributes on collection items. Sections the schema does not describe
 * (other schema files, e.g. URL Rewrite) are counted and skipped. Exit 0
 * when valid; prints each problem with its line otherwise. Test tool only. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static xmlDocPtr schema;
static int problems, checked_sections, skipped_sections, checked_elements;

static const char *prop(xmlNodePtr n, const char *name, char *buf, size_t len)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    snprintf(buf, len, "%s", (const char *)v);
    xmlFree(v);
    return buf;
}

static bool is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static xmlNodePtr find_section(const char *path)
{
    char buf[512];
    for (xmlNodePtr n = xmlDocGetRootElement(schema)->children; n; n = n->next)
        if (is(n, "sectionSchema") && prop(n, "name", buf, sizeof buf) && !strcmp(buf, path))
            return n;
    return NULL;
}

static void problem(xmlNodePtr at, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "line %d: <%s>: ", at->line, at->name);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    problems++;
}

static bool all_digits(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++)
        if (!isdigit((unsigned char)*v))
            return false;
    return true;
}

static bool valid_timespan(const char *v)
{
    /* [d.]hh:mm:ss[.fffffff] */
    const char *p = v;
    const char *colon = strchr(p, ':'), *dot = strchr(p, '.');
    if (dot && colon && dot < colon)
        p = dot + 1;
    int h, m, s;
    char rest[32] = "";
    if (sscanf(p, "%2d:%2d:%2d%31s", &h, &m, &s, rest) < 3)
        return false;
    return h < 24 && m < 60 && s < 60 && (!rest[0] || rest[0] == '.');
}

static void check_value(xmlNodePtr el, xmlNodePtr attr_schema, const char *name, const char *value)
{
    char type[64] = "";
    prop(attr_schema, "type", type, sizeof type);
    if (!strcmp(type, "enum")) {
        char buf[128];
        for (xmlNodePtr e = attr_schema->children; e; e = e->next)
            if (is(e, "enum") && prop(e, "name", buf, sizeof buf) && !strcasecmp(buf, value))
                return;
        if (all_digits(value))
            return;
        problem(el, "attribute %s: '%s' is not one of its enum values", name, value);
    } else if (!strcmp(type, "flags")) {
        char *copy = strdup(value);
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
            while (*tok == ' ')
                tok++;
            size_t n = strlen(tok);
            while (n && tok[n - 1] == ' ')
                tok[--n] = 0;
            bool ok = all_digits(tok) || !*tok;
            char buf[128];
            for (xmlNodePtr e = attr_schema->children; e && !ok; e = e->next)
                if (is(e, "flag") && prop(e, "name", buf, sizeof buf) && !strcasecmp(buf, tok))
                    ok = true;
            if (!ok)
                problem(el, "attribute %s: flag '%s' is not declared", name, tok);
        }
        free(copy);
    } else if (!strcmp(type, "bool")) {
        if (strcasecmp(value, "true") && strcasecmp(value, "false"))
            problem(el, "attribute %s: '%s' is not true or false", name, value);
    } else if (!strcmp(type, "uint") || !strcmp(type, "int64")) {
        if (!all_digits(value) &&
            !(value[0] == '-' && !strcmp(type, "int64") && all_digits(value + 1)))
            problem(el, "attribute %s: '%s' is not a whole number", name, value);
    } else if (!strcmp(type, "int")) {
        if (!all_digits(value[0] == '-' ? value + 1 : value))
            problem(el, "attribute %s: '%s' is not a number", name, value);
    } else if (!strcmp(type, "timeSpan")) {
        if (!valid_timespan(value) && !all_digits(value))
            problem(el, "attribute %s: '%s' is not a time span", name, value);
    }
    char vt[64];
    if (prop(attr_schema, "validationType", vt, sizeof vt) && !strcmp(vt, "nonEmptyString") &&
        !*value)
        problem(el, "attribute %s must not be empty%s", name, "");
}

/* Attributes IIS's configuration system adds to any element. */
static bool meta_attribute(const char *name)
{
    static const char *const meta[] = {"lockAttributes",
                                       "lockAllAttributesExcept",
                                       "lockElements",
                                       "lockAllElementsExcept",
                                       "lockItem",
                                       "configSource",
                                       NULL};
    for (int i = 0; meta[i]; i++)
        if (!strcmp(meta[i], name))
            return true;
    return false;
}

static void check_element(xmlNodePtr el, xmlNodePtr s, bool item);

static void check_attributes(xmlNodePtr el, xmlNodePtr s, bool item)
{
    char buf[256];
    for (xmlAttrPtr a = el->properties; a; a = a->next) {
        const char *name = (const char *)a->name;
        if (meta_attribute(name) || a->ns)
            continue;
        xmlNodePtr decl = NULL;
        for (xmlNodePtr c = s->children; c && !decl; c = c->next)
            if (is(c, "attribute") && prop(c, "name", buf, sizeof buf) && !strcmp(buf, name))
                decl = c;
        if (!decl) {
            problem(el, "attribute %s is not declared in the schema%s", name, "");
            continue;
        }
        xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
        check_value(el, decl, name, (const char *)v);
        xmlFree(v);
    }
    if (!item)
        return;
    for (xmlNodePtr c = s->children; c; c = c->next) {
        char req[16];
        if (is(c, "attribute") && prop(c, "required", req, sizeof req) && !strcmp(req, "true") &&
            prop(c, "name", buf, sizeof buf) && !xmlHasProp(el, (const xmlChar *)buf))
            problem(el, "required attribute %s is missing%s", buf, "");
    }
}

static void check_children(xmlNodePtr el, xmlNodePtr s)
{
    char buf[256];
    for (xmlNodePtr child = el->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)child->name;
        bool done = false;
        for (xmlNodePtr c = s->children; c && !done; c = c->next) {
            if (is(c, "element") && prop(c, "name", buf, sizeof buf) && !strcmp(buf, name)) {
                check_element(child, c, false);
                done = true;
            } else if (is(c, "collection")) {
                if (prop(c, "addElement", buf, sizeof buf) && !strcmp(buf, name)) {
                    check_element(child, c, true);
                    done = true;
                } else if ((prop(c, "removeElement", buf, sizeof buf) && !strcmp(buf, name)) ||
                           (prop(c, "clearElement", buf, sizeof buf) && !strcmp(buf, name))) {
                    done = true; /* key attributes only; not checked further */
                } else if (prop(c, "defaultElement", buf, sizeof buf) && !strcmp(buf, name)) {
                    /* declared as an isCollectionDefault element next to it */
                    for (xmlNodePtr e = s->children; e; e = e->next)
                        if (is(e, "element") && prop(e, "name", buf, sizeof buf) &&
                            !strcmp(buf, name))
                            check_element(child, e, false);
                    for (xmlNodePtr e = c->children; e && !done; e = e->next)
                        if (is(e, "element") && prop(e, "name", buf, sizeof buf) &&
                            !strcmp(buf, name)) {
                            check_element(child, e, false);
                            done = true;
                        }
                    done = true;
                }
            }
        }
        if (!done)
            problem(child, "element %s is not declared in the schema here%s", name, "");
    }
}

static void check_element(xmlNodePtr el, xmlNodePtr s, bool item)
{
    checked_elements++;
    check_attributes(el, s, item);
    check_children(el, s);
}

/* Walks section groups down to sections the schema knows. */
static void walk(xmlNodePtr el, const char *path)
{
    for (xmlNodePtr c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || is(c, "configSections"))
            continue;
        if (!*path && is(c, "location")) {
            walk(c, "");
            continue;
        }
        char full[512];
        snprintf(full, sizeof full, "%s%s%s", path, *path ? "/" : "", (const char *)c->name);
        xmlNodePtr s = find_section(full);
        if (s) {
            checked_sections++;
            check_element(c, s, false);
        } else if (c->children && xmlFirstElementChild(c)) {
            walk(c, full);
        } else {
            skipped_sections++;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: schema_check IIS_schema.xml applicationHost.config\n");
        return 2;
    }
    int opts = XML_PARSE_NONET;
    schema = xmlReadFile(argv[1], NULL, opts);
    xmlDocPtr cfg = xmlReadFile(argv[2], NULL, opts);
    if (!schema || !cfg) {
        fprintf(stderr, "schema_check: cannot parse %s\n", !schema ? argv[1] : argv[2]);
        return 2;
    }
    walk(xmlDocGetRootElement(cfg), "");
    printf("schema_check: %s: %d sections checked (%d elements), %d not in this schema, %d "
           "problems\n",
           argv[2], checked_sections, checked_elements, skipped_sections, problems);
    xmlFreeDoc(cfg);
    xmlFreeDoc(schema);
    return problems ? 1 : 0;
}
