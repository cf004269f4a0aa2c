/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sAMAccountName rules, the provision marker, SID/GUID text forms and the
 * unicodePwd encoding: see account.h. */
#include "ldap/account.h"

#include "provision/util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes one UTF-8 sequence (already validated); returns its length. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
          ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
}

const char *dir_sam_problem(const char *sam)
{
    if (!sam || !*sam)
        return "is empty";
    size_t n = strlen(sam);
    if (!utf8_valid(sam, n, NULL))
        return "is not valid UTF-8";
    size_t units = 0;
    bool only_dots_spaces = true;
    const unsigned char *s = (const unsigned char *)sam;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += utf8_next(s + i, &cp);
        units += cp > 0xFFFF ? 2 : 1;
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            return "contains a control character";
        if (cp < 0x80 && strchr("\"/\\[]:;|=,+*?<>@", (int)cp))
            return "contains one of \" / \\ [ ] : ; | = , + * ? < > @";
        if (cp != '.' && cp != ' ')
            only_dots_spaces = false;
    }
    if (units > DIR_SAM_MAX)
        return "is longer than 20 characters";
    if (only_dots_spaces)
        return "consists only of dots and spaces";
    if (sam[0] == ' ' || sam[n - 1] == ' ')
        return "starts or ends with a space";
    return NULL;
}

char *dir_marker_value(const char *site)
{
    if (!site || !*site)
        return xstrdup(DIR_MARKER_PREFIX);
    return xasprintf(DIR_MARKER_PREFIX "site=%s", site);
}

bool dir_marker_parse(const char *value, char **site)
{
    if (site)
        *site = NULL;
    if (!value || strncmp(value, DIR_MARKER_PREFIX, strlen(DIR_MARKER_PREFIX)) != 0)
        return false;
    const char *rest = value + strlen(DIR_MARKER_PREFIX);
    if (site && strncmp(rest, "site=", 5) == 0 && rest[5])
        *site = xstrdup(rest + 5);
    return true;
}

int dir_sid_to_string(const void *bin, size_t n, char *buf, size_t len)
{
    const unsigned char *b = bin;
    if (!b || n < 8 || b[0] != 1 || b[1] > 15 || n != 8 + 4 * (size_t)b[1])
        return -1;
    uint64_t auth = 0;
    for (int i = 2; i < 8; i++)
        auth = (auth << 8) | b[i];
    struct strbuf sb;
    sb_init(&sb);
    if (auth >> 32)
        sb_addf(&sb, "S-1-0x%012llx", (unsigned long long)auth);
    else
        sb_addf(&sb, "S-1-%llu", (unsigned long long)auth);
    for (size_t i = 0; i < b[1]; i++) {
        const unsigned char *p = b + 8 + 4 * i;
        uint32_t v =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        sb_addf(&sb, "-%lu", (unsigned long)v);
    }
    int rc = -1;
    if (sb.len < len) {
        memcpy(buf, sb.buf, sb.len + 1);
        rc = 0;
    }
    sb_free(&sb);
    return rc;
}

bool dir_sid_domain_rid(const char *sid, char *domain, size_t len, unsigned long *rid)
{
    static const char prefix[] = "S-1-5-21-";
    if (!sid || strncmp(sid, prefix, sizeof prefix - 1) != 0)
        return false;
    /* Exactly four decimal sub-authorities after S-1-5-21: three for the
     * domain, the RID last. */
    const char *p = sid + sizeof prefix - 1, *last = NULL;
    int parts = 0;
    unsigned long v = 0;
    for (;;) {
        if (*p < '0' || *p > '9')
            return false;
        const char *start = p;
        v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (p - start >= 10)
                return false;
            v = v * 10 + (unsigned long)(*p - '0');
        }
        if (v > 0xFFFFFFFFul)
            return false;
        parts++;
        last = start;
        if (!*p)
            break;
        if (*p != '-')
            return false;
        p++;
    }
    if (parts != 4)
        return false;
    if (domain) {
        size_t n = (size_t)(last - 1 - sid);
        if (n + 1 > len)
            return false;
        memcpy(domain, sid, n);
        domain[n] = '\0';
    }
    *rid = v;
    return true;
}

const char *dir_sid_protected_group(const char *sid)
{
    static const struct {
        unsigned long rid;
        const char *name;
    } domain_groups[] = {
        {498, "Enterprise Read-only Domain Controllers"},
        {512, "Domain Admins"},
        {516, "Domain Controllers"},
        {518, "Schema Admins"},
        {519, "Enterprise Admins"},
        {520, "Group Policy Creator Owners"},
        {521, "Read-only Domain Controllers"},
        {526, "Key Admins"},
        {527, "Enterprise Key Admins"},
    };
    static const struct {
        const char *sid, *name;
    } builtin[] = {
        {"S-1-5-32-544", "Administrators"},   {"S-1-5-32-548", "Account Operators"},
        {"S-1-5-32-549", "Server Operators"}, {"S-1-5-32-550", "Print Operators"},
        {"S-1-5-32-551", "Backup Operators"}, {"S-1-5-32-552", "Replicator"},
    };
    unsigned long rid;
    if (dir_sid_domain_rid(sid, NULL, 0, &rid)) {
        for (size_t i = 0; i < sizeof domain_groups / sizeof *domain_groups; i++)
            if (domain_groups[i].rid == rid)
                return domain_groups[i].name;
        return NULL;
    }
    for (size_t i = 0; sid && i < sizeof builtin / sizeof *builtin; i++)
        if (strcmp(sid, builtin[i].sid) == 0)
            return builtin[i].name;
    return NULL;
}

const char *dir_uac_problem(unsigned long uac)
{
    if (uac & DIR_UAC_WORKSTATION_TRUST_ACCOUNT)
        return "a workstation trust (computer) account (WORKSTATION_TRUST_ACCOUNT)";
    if (uac & DIR_UAC_SERVER_TRUST_ACCOUNT)
        return "a domain controller's account (SERVER_TRUST_ACCOUNT)";
    if (uac & DIR_UAC_INTERDOMAIN_TRUST_ACCOUNT)
        return "a trust account of another domain (INTERDOMAIN_TRUST_ACCOUNT)";
    if (uac & DIR_UAC_PARTIAL_SECRETS_ACCOUNT)
        return "a read-only domain controller's account (PARTIAL_SECRETS_ACCOUNT)";
    if (uac & DIR_UAC_TEMP_DUPLICATE_ACCOUNT)
        return "a temporary duplicate account (TEMP_DUPLICATE_ACCOUNT)";
    if (uac & DIR_UAC_TRUSTED_FOR_DELEGATION)
        return "trusted for delegation (TRUSTED_FOR_DELEGATION): its password would "
               "let anyone who reads the IIS configuration act as other users";
    if (uac & DIR_UAC_TRUSTED_TO_AUTH_FOR_DELEGATION)
        return "trusted to authenticate for delegation (TRUSTED_TO_AUTH_FOR_DELEGATION): its "
               "password would let anyone who reads the IIS configuration act "
               "as other users";
    if (!(uac & DIR_UAC_NORMAL_ACCOUNT))
        return "not a normal user account (NORMAL_ACCOUNT is not set)";
    return NULL;
}

/* Byte order of the text form: Data1 (4, LE), Data2 (2, LE), Data3 (2, LE),
 * then 8 bytes as stored. */
static const int guid_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

int dir_guid_to_string(const void *bin, size_t n, char *buf, size_t len)
{
    const unsigned char *b = bin;
    if (!b || n != 16 || len < 37)
        return -1;
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        unsigned char c = b[guid_order[i]];
        buf[o++] = hex[c >> 4];
        buf[o++] = hex[c & 15];
    }
    buf[o] = '\0';
    return 0;
}

int dir_guid_from_string(const char *s, unsigned char out[16])
{
    if (!s || strlen(s) != 36)
        return -1;
    size_t p = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (s[p] != '-')
                return -1;
            p++;
        }
        int hi = hex_digit_value(s[p]), lo = hex_digit_value(s[p + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[guid_order[i]] = (unsigned char)(hi << 4 | lo);
        p += 2;
    }
    return 0;
}

static void put16(unsigned char *out, size_t *o, uint32_t u)
{
    out[(*o)++] = (unsigned char)(u & 0xFF);
    out[(*o)++] = (unsigned char)(u >> 8);
}

unsigned char *dir_unicode_pwd(const char *password, size_t *len)
{
    if (!password || !*password)
        return NULL;
    size_t n = strlen(password);
    if (!utf8_valid(password, n, NULL))
        return NULL;
    /* at most 2 code units (4 bytes) per input byte, plus the quotes */
    unsigned char *out = xmalloc(4 * n + 4);
    size_t o = 0;
    put16(out, &o, '"');
    const unsigned char *s = (const unsigned char *)password;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += utf8_next(s + i, &cp);
        if (cp > 0xFFFF) {
            cp -= 0x10000;
            put16(out, &o, 0xD800 | (cp >> 10));
            put16(out, &o, 0xDC00 | (cp & 0x3FF));
        } else {
            put16(out, &o, cp);
        }
        cp = 0;
    }
    put16(out, &o, '"');
    *len = o;
    return out;
}
