/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Template grant syntax: "[deny ]PRINCIPAL:(FLAGS)...RIGHTS". */
#include "provision/ntfs/grant.h"
#include "provision/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "provision/ntfs/sd.h"

#define PRINCIPAL_MAX 256
#define SHOW          40 /* bytes of user text quoted in a message */

static const struct {
    const char *name;
    uint32_t mask;
} simple_rights[] = {
    {"F", NTFS_RIGHTS_F}, {"M", NTFS_RIGHTS_M}, {"RX", NTFS_RIGHTS_RX},
    {"R", NTFS_RIGHTS_R}, {"W", NTFS_RIGHTS_W},
};

#define N_RIGHTS (sizeof simple_rights / sizeof simple_rights[0])

static const struct {
    const char *name;
    uint8_t flag;
} grant_flags[] = {
    {"OI", NTFS_ACE_OI},
    {"CI", NTFS_ACE_CI},
    {"NP", NTFS_ACE_NP},
    {"IO", NTFS_ACE_IO},
};

#define N_FLAGS (sizeof grant_flags / sizeof grant_flags[0])

/* Characters refused in the domain of DOMAIN\name and in a UPN suffix
 * ('\' and '@' are handled separately). The account name itself is not
 * checked here: the caller applies the sAMAccountName rules to it
 * (dir_sam_problem, ldap/account.h), which this module does not link. */
static const char name_forbidden[] = "\"/[]:;|=,+*?<>";
/* Characters IIS forbids in pool names (its schema's applicationPoolName
 * validation of applicationPools/add/@name). */
static const char pool_forbidden[] = "\\/\"|<>:*?][+=;,@&";

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Matches [s, s+n) against a simple right, any case. Returns index or -1. */
static int find_right(const char *s, size_t n)
{
    for (size_t i = 0; i < N_RIGHTS; i++)
        if (strlen(simple_rights[i].name) == n && strncasecmp(s, simple_rights[i].name, n) == 0)
            return (int)i;
    return -1;
}

static int find_flag(const char *s, size_t n)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if (n == 2 && strncasecmp(s, grant_flags[i].name, 2) == 0)
            return (int)i;
    return -1;
}

/* Checks the domain or UPN suffix [s, s+n) of a principal. */
static int check_name_part(const char *s, size_t n, const char *what, char *err, size_t errlen)
{
    if (n == 0)
        return fail(err, errlen, "missing %s in principal", what);
    if (is_blank(s[0]) || is_blank(s[n - 1]))
        return fail(err, errlen, "%s '%.*s' starts or ends with a blank", what,
                    (int)(n > SHOW ? SHOW : n), s);
    for (size_t i = 0; i < n; i++) {
        if (strchr(name_forbidden, s[i]) || s[i] == '@')
            return fail(err, errlen, "character '%c' is not allowed in %s '%.*s'", s[i], what,
                        (int)(n > SHOW ? SHOW : n), s);
    }
    return 0;
}

static int classify_principal(struct ntfs_grant *g, char *err, size_t errlen)
{
    static const char pool_prefix[] = "IIS AppPool\\";
    const char *p = g->principal;
    size_t n = strlen(p);
    const char *bs, *at;

    if (strcasecmp(p, "pool") == 0) {
        g->kind = NTFS_PRINCIPAL_POOL;
        return 0;
    }
    if (strcasecmp(p, "anonymous") == 0) {
        g->kind = NTFS_PRINCIPAL_ANONYMOUS;
        return 0;
    }
    if (p[0] == '*' ||
        ((p[0] == 'S' || p[0] == 's') && p[1] == '-' && p[2] >= '0' && p[2] <= '9')) {
        const char *s = p[0] == '*' ? p + 1 : p;
        if (ntfs_sid_parse(s, &g->sid) < 0)
            return fail(err, errlen, "invalid SID '%.*s'", SHOW, s);
        g->kind = NTFS_PRINCIPAL_SID;
        return 0;
    }
    if (strncasecmp(p, pool_prefix, sizeof pool_prefix - 1) == 0) {
        const char *name = p + sizeof pool_prefix - 1;
        if (!*name)
            return fail(err, errlen, "missing pool name after 'IIS AppPool\\'");
        for (const char *c = name; *c; c++)
            if (strchr(pool_forbidden, *c))
                return fail(err, errlen, "character '%c' is not allowed in a pool name", *c);
        if (ntfs_sid_apppool(name, &g->sid) < 0)
            return fail(err, errlen, "invalid pool name '%.*s'", SHOW, name);
        g->kind = NTFS_PRINCIPAL_SID;
        return 0;
    }
    if (ntfs_sid_wellknown(p, &g->sid) == 0) {
        g->kind = NTFS_PRINCIPAL_SID;
        return 0;
    }

    g->kind = NTFS_PRINCIPAL_NAME;
    bs = strchr(p, '\\');
    at = strchr(p, '@');
    if (bs) {
        size_t dn = (size_t)(bs - p);
        if (strchr(bs + 1, '\\'))
            return fail(err, errlen, "more than one '\\' in principal '%.*s'", SHOW, p);
        if (check_name_part(p, dn, "domain", err, errlen) < 0)
            return -1;
        if (dn + 1 == n)
            return fail(err, errlen, "missing account name in principal");
        return 0;
    }
    if (at) {
        size_t ln = (size_t)(at - p);
        if (strchr(at + 1, '@'))
            return fail(err, errlen, "more than one '@' in principal '%.*s'", SHOW, p);
        if (ln == 0)
            return fail(err, errlen, "missing account name in principal");
        return check_name_part(at + 1, n - ln - 1, "UPN suffix", err, errlen);
    }
    return 0;
}

const char *ntfs_principal_account(const char *principal, size_t *len)
{
    const char *bs = strchr(principal, '\\');
    const char *name = bs ? bs + 1 : principal;
    const char *at = bs ? NULL : strchr(principal, '@');
    *len = at ? (size_t)(at - name) : strlen(name);
    return name;
}

static int parse_mask(const char *s, size_t n, uint32_t *out, char *err, size_t errlen)
{
    uint64_t v = 0;
    if (n == 2)
        return fail(err, errlen, "missing hex digits after '0x'");
    for (size_t i = 2; i < n; i++) {
        int d = hex_digit_value(s[i]);
        if (d < 0)
            return fail(err, errlen, "bad hex mask '%.*s'", (int)(n > SHOW ? SHOW : n), s);
        v = (v << 4) | (uint64_t)d;
        if (v > 0xFFFFFFFFu)
            return fail(err, errlen, "mask '%.*s' is larger than 32 bits",
                        (int)(n > SHOW ? SHOW : n), s);
    }
    if (v == 0)
        return fail(err, errlen, "mask 0x0 grants nothing");
    if (v & ~(uint64_t)NTFS_GRANT_VALID_MASK)
        return fail(err, errlen, "mask 0x%lx has bits that are not file access rights (0x%lx)",
                    (unsigned long)v, (unsigned long)(v & ~(uint64_t)NTFS_GRANT_VALID_MASK));
    *out = (uint32_t)v;
    return 0;
}

static int parse_perm(const char *s, size_t n, struct ntfs_grant *g, char *err, size_t errlen)
{
    size_t i = 0;
    int have_rights = 0;

    for (;;) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i >= n || s[i] != '(')
            break;
        const char *close = memchr(s + i, ')', n - i);
        size_t cs = i + 1, cn;
        int k;
        if (!close)
            return fail(err, errlen, "missing ')' after '('");
        cn = (size_t)(close - s) - cs;
        if (have_rights)
            return fail(err, errlen, "flags must come before the rights");
        if ((k = find_flag(s + cs, cn)) >= 0) {
            if (g->ace_flags & grant_flags[k].flag)
                return fail(err, errlen, "flag (%s) given twice", grant_flags[k].name);
            g->ace_flags |= grant_flags[k].flag;
        } else if ((k = find_right(s + cs, cn)) >= 0) {
            g->mask = simple_rights[k].mask;
            have_rights = 1;
        } else if (cn == 0) {
            return fail(err, errlen, "empty '()'");
        } else if (memchr(s + cs, ',', cn)) {
            return fail(err, errlen, "rights lists like '(R,W)' are not supported (use a 0x mask)");
        } else {
            return fail(err, errlen, "unknown flag '(%.*s)' (use (OI), (CI), (NP) or (IO))",
                        (int)(cn > SHOW ? SHOW : cn), s + cs);
        }
        i = (size_t)(close - s) + 1;
    }
    if (have_rights) {
        if (i != n)
            return fail(err, errlen, "unexpected text after the rights");
    } else {
        const char *r = s + i;
        size_t rn = n - i;
        int k;
        if (rn == 0)
            return fail(err, errlen, "missing rights (use F, M, RX, R, W or a 0x mask)");
        if (memchr(r, '(', rn))
            return fail(err, errlen, "flags must come before the rights");
        if (rn >= 2 && r[0] == '0' && (r[1] == 'x' || r[1] == 'X')) {
            if (parse_mask(r, rn, &g->mask, err, errlen) < 0)
                return -1;
        } else if ((k = find_right(r, rn)) >= 0) {
            g->mask = simple_rights[k].mask;
        } else {
            return fail(err, errlen, "unknown right '%.*s' (use F, M, RX, R, W or a 0x mask)",
                        (int)(rn > SHOW ? SHOW : rn), r);
        }
    }
    if (!(g->ace_flags & (NTFS_ACE_OI | NTFS_ACE_CI))) {
        if (g->ace_flags & NTFS_ACE_IO)
            return fail(err, errlen,
                        "(IO) needs (OI) or (CI): an inherit-only ACE that is "
                        "not inherited applies to nothing");
        if (g->ace_flags & NTFS_ACE_NP)
            return fail(err, errlen,
                        "(NP) needs (OI) or (CI): it limits inheritance, and "
                        "there is none");
    }
    return 0;
}

int ntfs_grant_parse(const char *text, struct ntfs_grant *out, char *err, size_t errlen)
{
    struct ntfs_grant g;
    size_t start = 0, end, colon, ps, pe;

    if (err && errlen)
        err[0] = '\0';
    memset(&g, 0, sizeof g);
    if (!text || !out)
        return fail(err, errlen, "no grant given");
    end = strlen(text);
    while (start < end && is_blank(text[start]))
        start++;
    while (end > start && is_blank(text[end - 1]))
        end--;
    if (start == end)
        return fail(err, errlen, "empty grant");
    for (size_t i = start; i < end; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F)
            return fail(err, errlen, "control character in grant");
    if (end - start > 4 && strncasecmp(text + start, "deny", 4) == 0 && is_blank(text[start + 4])) {
        g.deny = 1;
        start += 4;
        while (start < end && is_blank(text[start]))
            start++;
    }
    colon = end;
    for (size_t i = start; i < end; i++)
        if (text[i] == ':')
            colon = i;
    if (colon == end)
        return fail(err, errlen, "missing ':' between principal and rights");
    ps = start;
    pe = colon;
    while (pe > ps && is_blank(text[pe - 1]))
        pe--;
    if (ps == pe)
        return fail(err, errlen, "empty principal before ':'");
    if (pe - ps > PRINCIPAL_MAX)
        return fail(err, errlen, "principal longer than %d bytes", PRINCIPAL_MAX);
    memcpy(g.principal, text + ps, pe - ps);
    g.principal[pe - ps] = '\0';
    if (!ntfs_utf8_valid(g.principal))
        return fail(err, errlen, "principal is not valid UTF-8");
    if (classify_principal(&g, err, errlen) < 0)
        return -1;

    ps = colon + 1;
    while (ps < end && is_blank(text[ps]))
        ps++;
    if (parse_perm(text + ps, end - ps, &g, err, errlen) < 0)
        return -1;
    *out = g;
    return 0;
}

void ntfs_grant_format(const struct ntfs_grant *g, char *buf, size_t len)
{
    char who[NTFS_SID_STRING_MAX > 257 ? NTFS_SID_STRING_MAX : 257];
    char flags[24] = "", rights[16];
    const char *w = who;

    if (!buf || len == 0)
        return;
    switch (g->kind) {
    case NTFS_PRINCIPAL_SID:
        ntfs_sid_format(&g->sid, who, sizeof who);
        break;
    case NTFS_PRINCIPAL_POOL:
        w = "pool";
        break;
    case NTFS_PRINCIPAL_ANONYMOUS:
        w = "anonymous";
        break;
    default:
        snprintf(who, sizeof who, "%s", g->principal);
        break;
    }
    for (size_t i = 0; i < N_FLAGS; i++)
        if (g->ace_flags & grant_flags[i].flag) {
            strcat(flags, "(");
            strcat(flags, grant_flags[i].name);
            strcat(flags, ")");
        }
    snprintf(rights, sizeof rights, "0x%lx", (unsigned long)g->mask);
    for (size_t i = 0; i < N_RIGHTS; i++)
        if (g->mask == simple_rights[i].mask)
            snprintf(rights, sizeof rights, "%s", simple_rights[i].name);
    snprintf(buf, len, "%s%s:%s%s", g->deny ? "deny " : "", w, flags, rights);
}
