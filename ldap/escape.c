/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RFC 4515 filter values and RFC 4514 DN values: see escape.h. */
#include "ldap/escape.h"

#include "provision/util.h"

static void add_hex(struct strbuf *sb, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    sb_addc(sb, '\\');
    sb_addc(sb, hex[c >> 4]);
    sb_addc(sb, hex[c & 15]);
}

char *dir_escape_filter(const char *s, size_t n)
{
    if (!s || !utf8_valid(s, n, NULL))
        return NULL;
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0')
            add_hex(&sb, c);
        else
            sb_addc(&sb, (char)c);
    }
    return sb_detach(&sb);
}

char *dir_escape_filter_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < n; i++)
        add_hex(&sb, b[i]);
    return sb_detach(&sb);
}

char *dir_escape_dn_value(const char *s, size_t n)
{
    if (!s || !utf8_valid(s, n, NULL))
        return NULL;
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            add_hex(&sb, c);
        } else if (c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' ||
                   c == '\\' || c == '=' || (i == 0 && (c == '#' || c == ' ')) ||
                   (i == n - 1 && c == ' ')) {
            sb_addc(&sb, '\\');
            sb_addc(&sb, (char)c);
        } else {
            sb_addc(&sb, (char)c);
        }
    }
    return sb_detach(&sb);
}
