/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/iis/names.h"

#include "provision/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return true;
    return false;
}

const char *iis_check_pool_name(const char *name)
{
    if (!*name)
        return "a pool name cannot be empty";
    if (strlen(name) > 64)
        return "a pool name is at most 64 characters";
    if (has_control(name))
        return "a pool name cannot contain control characters";
    if (strpbrk(name, "\\/\"|<>:*?][+=;,@&"))
        return "a pool name cannot contain any of \\ / \" | < > : * ? ] [ + = ; , @ &";
    if (name[0] == ' ' || name[strlen(name) - 1] == ' ')
        return "a pool name cannot start or end with a space";
    return NULL;
}

const char *iis_check_site_name(const char *name)
{
    if (!*name)
        return "a site name cannot be empty";
    if (strlen(name) > 256)
        return "a site name is at most 256 characters";
    if (has_control(name))
        return "a site name cannot contain control characters";
    if (strpbrk(name, "/?"))
        return "a site name cannot contain / or ?";
    /* The name also ends up in <location path="...">, where \ would be read as
     * a path separator. */
    if (strchr(name, '\\'))
        return "a site name cannot contain \\";
    if (name[0] == ' ' || name[strlen(name) - 1] == ' ')
        return "a site name cannot start or end with a space";
    return NULL;
}

static bool parse_port(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v >= 1 && v <= 65535 && s[0] != '0';
}

static bool valid_ipv4(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && isdigit((unsigned char)s[i]) && i - start < 4)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || i - start > 3 || v > 255 || (i - start > 1 && s[start] == '0'))
            return false;
        parts++;
        if (i < n) {
            if (s[i] != '.' || parts == 4)
                return false;
            i++;
            if (i == n)
                return false;
        }
    }
    return parts == 4;
}

static bool valid_ipv6(const char *s, size_t n)
{
    /* Hex groups and colons, at most one "::", 2..8 groups. */
    if (n < 2 || n > 45)
        return false;
    int groups = 0, doubles = 0;
    size_t i = 0;
    while (i < n) {
        if (s[i] == ':') {
            if (i + 1 < n && s[i + 1] == ':') {
                doubles++;
                i += 2;
            } else {
                if (i == 0)
                    return false;
                i++;
            }
            continue;
        }
        size_t start = i;
        while (i < n && isxdigit((unsigned char)s[i]))
            i++;
        if (i == start || i - start > 4)
            return false;
        groups++;
        if (i < n && s[i] != ':')
            return false;
        if (i < n && i + 1 == n)
            return false;
    }
    return doubles <= 1 && groups <= 8 && (doubles == 1 || groups == 8);
}

static bool valid_host(const char *s, size_t n)
{
    if (n == 0)
        return true; /* all host names */
    if (n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '*') {
            /* IIS 10: "*." wildcard in the leftmost label only. */
            if (i != 0 || n < 3 || s[1] != '.')
                return false;
            continue;
        }
        if (c == '.') {
            if (label == 0 && i != 1)
                return false;
            label = 0;
            continue;
        }
        if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s[n - 1] != '-';
}

const char *iis_check_binding_information(const char *protocol, const char *info,
                                          unsigned ssl_flags)
{
    if (strcmp(protocol, "http") != 0 && strcmp(protocol, "https") != 0)
        return "the protocol must be http or https";
    const char *addr = info, *addr_end;
    if (*addr == '[') {
        addr_end = strchr(addr, ']');
        if (!addr_end || addr_end[1] != ':')
            return "an IPv6 address is written [address]:PORT:HOST";
        if (!valid_ipv6(addr + 1, (size_t)(addr_end - addr - 1)))
            return "invalid IPv6 address";
        addr_end++;
    } else {
        addr_end = strchr(addr, ':');
        if (!addr_end)
            return "expected IP:PORT:HOST (e.g. *:80:www.example.com)";
        size_t n = (size_t)(addr_end - addr);
        if (!(n == 1 && *addr == '*') && !valid_ipv4(addr, n))
            return "the address must be *, an IPv4 address or [IPv6]";
    }
    const char *port = addr_end + 1;
    const char *port_end = strchr(port, ':');
    if (!port_end)
        return "expected IP:PORT:HOST (the host part may be empty)";
    if (!parse_port(port, (size_t)(port_end - port)))
        return "the port must be a number from 1 to 65535";
    const char *host = port_end + 1;
    if (!valid_host(host, strlen(host)))
        return "invalid host name (letters, digits, '-', '.', and '*.' only as the leftmost label)";
    if (ssl_flags > 3)
        return "sslFlags must be 0 to 3";
    if (ssl_flags && strcmp(protocol, "https") != 0)
        return "SNI and certificate-store flags apply to https bindings only";
    if ((ssl_flags & 1) && !*host)
        return "an https binding with SNI needs a host name";
    return NULL;
}

const char *iis_parse_binding(const char *text, struct iis_binding *out)
{
    memset(out, 0, sizeof *out);
    const char *slash = strchr(text, '/');
    if (!slash || slash == text || (size_t)(slash - text) >= sizeof out->protocol)
        return "a binding is written PROTOCOL/IP:PORT:HOST, e.g. http/*:80:www.example.com";
    memcpy(out->protocol, text, (size_t)(slash - text));
    for (char *p = out->protocol; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *info = slash + 1;
    const char *semi = strchr(info, ';');
    size_t n = semi ? (size_t)(semi - info) : strlen(info);
    if (n >= sizeof out->information)
        return "the binding is too long";
    memcpy(out->information, info, n);
    if (semi) {
        if (ascii_casecmp(semi + 1, "sni") != 0)
            return "the only binding option is ;sni";
        out->ssl_flags = 1;
    }
    return iis_check_binding_information(out->protocol, out->information, out->ssl_flags);
}

void iis_binding_key(const char *protocol, const char *info, char *buf, unsigned len)
{
    snprintf(buf, len, "%s/%s", protocol, info);
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

long iis_parse_timespan(const char *s)
{
    long days = 0, h, m, sec;
    const char *dot = strchr(s, '.');
    const char *colon = strchr(s, ':');
    if (dot && colon && dot < colon) {
        char *end;
        days = strtol(s, &end, 10);
        if (end != dot || days < 0 || days > 10675199)
            return -1;
        s = dot + 1;
    }
    if (strlen(s) != 8 || s[2] != ':' || s[5] != ':')
        return -1;
    for (int i = 0; i < 8; i++)
        if (i != 2 && i != 5 && !isdigit((unsigned char)s[i]))
            return -1;
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
    sec = (s[6] - '0') * 10 + (s[7] - '0');
    if (h > 23 || m > 59 || sec > 59)
        return -1;
    return ((days * 24 + h) * 60 + m) * 60 + sec;
}
