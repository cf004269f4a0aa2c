/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SDDL parser and printer for owner, group and DACL (MS-DTYP 2.5.1). */
#include "provision/ntfs/sddl.h"
#include "provision/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *alias;
    const char *sid;
} sid_aliases[] = {
    {"WD", NTFS_SID_EVERYONE},        {"CO", NTFS_SID_CREATOR_OWNER},
    {"CG", NTFS_SID_CREATOR_GROUP},   {"IU", NTFS_SID_INTERACTIVE},
    {"AN", NTFS_SID_ANONYMOUS},       {"AU", NTFS_SID_AUTHENTICATED_USERS},
    {"SY", NTFS_SID_LOCAL_SYSTEM},    {"LS", NTFS_SID_LOCAL_SERVICE},
    {"NS", NTFS_SID_NETWORK_SERVICE}, {"BA", NTFS_SID_BUILTIN_ADMINISTRATORS},
    {"BU", NTFS_SID_BUILTIN_USERS},
};

#define N_SID_ALIASES (sizeof sid_aliases / sizeof sid_aliases[0])

static const struct {
    const char *alias;
    uint32_t mask;
} right_aliases[] = {
    {"FA", NTFS_FILE_ALL_ACCESS}, /* Windows meaning; Samba 4.17 uses 0x1FF */
    {"FR", NTFS_FILE_GENERIC_READ},
    {"FW", NTFS_FILE_GENERIC_WRITE},
    {"FX", NTFS_FILE_GENERIC_EXEC},
    {"GA", NTFS_GENERIC_ALL},
    {"GR", NTFS_GENERIC_READ},
    {"GW", NTFS_GENERIC_WRITE},
    {"GX", NTFS_GENERIC_EXECUTE},
    {"SD", 0x00010000u}, /* DELETE */
    {"RC", 0x00020000u}, /* READ_CONTROL */
    {"WD", 0x00040000u}, /* WRITE_DAC */
    {"WO", 0x00080000u}, /* WRITE_OWNER */
};

static const struct {
    const char *name;
    uint8_t flag;
} ace_flags[] = {
    {"OI", NTFS_ACE_OI}, {"CI", NTFS_ACE_CI}, {"NP", NTFS_ACE_NP},
    {"IO", NTFS_ACE_IO}, {"ID", NTFS_ACE_ID},
};

struct parser {
    const char *s;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (!p->err || p->errlen == 0)
        return -1;
    n = snprintf(p->err, p->errlen, "at offset %zu: ", pos);
    if (n < 0 || (size_t)n >= p->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_component(const char *s)
{
    return (s[0] == 'O' || s[0] == 'G' || s[0] == 'D' || s[0] == 'S') && s[1] == ':';
}

/* Resolves a SID token (alias or numeric). */
static int parse_sid_token(struct parser *p, size_t pos, size_t len, struct ntfs_sid *out)
{
    char tok[NTFS_SID_STRING_MAX];
    const int show = len > 60 ? 60 : (int)len;

    if (len == 0)
        return fail(p, pos, "missing SID");
    if (len == 2) {
        for (size_t i = 0; i < N_SID_ALIASES; i++)
            if (memcmp(p->s + pos, sid_aliases[i].alias, 2) == 0)
                return ntfs_sid_parse(sid_aliases[i].sid, out);
        return fail(p, pos, "unknown SID alias '%.2s'", p->s + pos);
    }
    if (len >= 2 && p->s[pos] == 'S' && p->s[pos + 1] == '-') {
        if (len < sizeof tok) {
            memcpy(tok, p->s + pos, len);
            tok[len] = '\0';
            if (ntfs_sid_parse(tok, out) == 0)
                return 0;
        }
        return fail(p, pos, "invalid SID '%.*s'", show, p->s + pos);
    }
    return fail(p, pos, "unknown SID '%.*s' (use S-1-... or an alias)", show, p->s + pos);
}

/* End of an owner/group SID token. */
static size_t sid_token_end(const char *s, size_t pos)
{
    while (s[pos] && !is_blank(s[pos]) && s[pos] != '(' && !is_component(s + pos))
        pos++;
    return pos;
}

/* End of an ACE field: the first ';', ')', '(' or NUL. */
static size_t field_end(const char *s, size_t pos)
{
    while (s[pos] && s[pos] != ';' && s[pos] != ')' && s[pos] != '(')
        pos++;
    return pos;
}

static int parse_rights(struct parser *p, size_t pos, size_t len, uint32_t *out)
{
    const char *t = p->s + pos;
    uint64_t v = 0;

    if (len == 0)
        return fail(p, pos, "missing access rights");
    if (len >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
        if (len == 2)
            return fail(p, pos, "missing hex digits after 0x");
        for (size_t i = 2; i < len; i++) {
            int d = hex_digit_value(t[i]);
            if (d < 0)
                return fail(p, pos + i, "bad hex digit '%c' in access mask", t[i]);
            v = (v << 4) | (uint64_t)d;
            if (v > 0xFFFFFFFFu)
                return fail(p, pos, "access mask larger than 32 bits");
        }
        *out = (uint32_t)v;
        return 0;
    }
    if (t[0] >= '0' && t[0] <= '9') {
        for (size_t i = 0; i < len; i++) {
            if (t[i] < '0' || t[i] > '9')
                return fail(p, pos + i, "bad digit '%c' in access mask", t[i]);
            v = v * 10 + (uint64_t)(t[i] - '0');
            if (v > 0xFFFFFFFFu)
                return fail(p, pos, "access mask larger than 32 bits");
        }
        *out = (uint32_t)v;
        return 0;
    }
    for (size_t i = 0; i < len; i += 2) {
        size_t k;
        if (len - i < 2)
            return fail(p, pos + i, "unknown access right '%.1s'", t + i);
        for (k = 0; k < sizeof right_aliases / sizeof right_aliases[0]; k++)
            if (memcmp(t + i, right_aliases[k].alias, 2) == 0)
                break;
        if (k == sizeof right_aliases / sizeof right_aliases[0])
            return fail(p, pos + i, "unknown access right '%.2s'", t + i);
        v |= right_aliases[k].mask;
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_ace_flags(struct parser *p, size_t pos, size_t len, uint8_t *out)
{
    const char *t = p->s + pos;
    uint8_t f = 0;
    for (size_t i = 0; i < len; i += 2) {
        size_t k;
        if (len - i < 2)
            return fail(p, pos + i, "unknown ACE flag '%.1s'", t + i);
        for (k = 0; k < sizeof ace_flags / sizeof ace_flags[0]; k++)
            if (memcmp(t + i, ace_flags[k].name, 2) == 0)
                break;
        if (k == sizeof ace_flags / sizeof ace_flags[0])
            return fail(p, pos + i, "unknown ACE flag '%.2s' (use OI, CI, NP, IO, ID)", t + i);
        if (f & ace_flags[k].flag)
            return fail(p, pos + i, "ACE flag '%.2s' given twice", t + i);
        f |= ace_flags[k].flag;
    }
    *out = f;
    return 0;
}

/* Expects s[end] == ';' after a field; returns the position after it. */
static int expect_semicolon(struct parser *p, size_t end, const char *what)
{
    if (p->s[end] != ';')
        return fail(p, end, "expected ';' after %s", what);
    return 0;
}

/* Parses "(type;flags;rights;;;sid)" at *pos (which is at '('). */
static int parse_ace(struct parser *p, size_t *pos, struct ntfs_ace *ace)
{
    size_t start, end;

    memset(ace, 0, sizeof *ace);
    start = *pos + 1;
    end = field_end(p->s, start);
    if (end - start == 1 && p->s[start] == 'A')
        ace->type = NTFS_ACE_ALLOW;
    else if (end - start == 1 && p->s[start] == 'D')
        ace->type = NTFS_ACE_DENY;
    else if (end == start)
        return fail(p, start, "missing ACE type");
    else
        return fail(p, start, "unsupported ACE type '%.*s' (use A or D)",
                    (int)(end - start > 20 ? 20 : end - start), p->s + start);
    if (expect_semicolon(p, end, "ACE type") < 0)
        return -1;

    start = end + 1;
    end = field_end(p->s, start);
    if (parse_ace_flags(p, start, end - start, &ace->flags) < 0 ||
        expect_semicolon(p, end, "ACE flags") < 0)
        return -1;

    start = end + 1;
    end = field_end(p->s, start);
    if (parse_rights(p, start, end - start, &ace->mask) < 0 ||
        expect_semicolon(p, end, "access rights") < 0)
        return -1;

    for (int g = 0; g < 2; g++) {
        start = end + 1;
        end = field_end(p->s, start);
        if (end != start)
            return fail(p, start, "object GUIDs are not supported");
        if (expect_semicolon(p, end, "object GUID") < 0)
            return -1;
    }

    start = end + 1;
    end = field_end(p->s, start);
    if (p->s[end] == ';')
        return fail(p, end, "unexpected ';' (resource attributes are not supported)");
    if (p->s[end] != ')')
        return fail(p, end, "missing ')' at end of ACE");
    if (parse_sid_token(p, start, end - start, &ace->sid) < 0)
        return -1;
    *pos = end + 1;
    return 0;
}

static int parse_dacl(struct parser *p, size_t *pos, struct ntfs_sd *sd)
{
    static const char nac[] = "NO_ACCESS_CONTROL";
    const char *s = p->s;
    size_t i = *pos;
    int null_dacl = 0;

    sd->control |= NTFS_SD_DACL_PRESENT;
    for (;;) {
        if (strncmp(s + i, nac, sizeof nac - 1) == 0) {
            if (null_dacl)
                return fail(p, i, "NO_ACCESS_CONTROL given twice");
            null_dacl = 1;
            i += sizeof nac - 1;
        } else if (s[i] == 'P' && !is_component(s + i)) {
            if (sd->control & NTFS_SD_DACL_PROTECTED)
                return fail(p, i, "DACL flag 'P' given twice");
            sd->control |= NTFS_SD_DACL_PROTECTED;
            i++;
        } else if (s[i] == 'A' && s[i + 1] == 'I') {
            if (sd->control & NTFS_SD_DACL_AUTO_INHERITED)
                return fail(p, i, "DACL flag 'AI' given twice");
            sd->control |= NTFS_SD_DACL_AUTO_INHERITED;
            i += 2;
        } else if (s[i] == 'A' && s[i + 1] == 'R') {
            if (sd->control & NTFS_SD_DACL_AUTO_INHERIT_RQ)
                return fail(p, i, "DACL flag 'AR' given twice");
            sd->control |= NTFS_SD_DACL_AUTO_INHERIT_RQ;
            i += 2;
        } else {
            break;
        }
    }
    if (s[i] && !is_blank(s[i]) && s[i] != '(' && !is_component(s + i))
        return fail(p, i, "unknown DACL flag '%c' (use P, AI, AR)", s[i]);
    sd->has_dacl = !null_dacl;
    for (;;) {
        struct ntfs_ace ace;
        size_t j = i;
        while (is_blank(s[j]))
            j++;
        if (s[j] != '(')
            break;
        i = j;
        if (null_dacl)
            return fail(p, i, "a NULL DACL (NO_ACCESS_CONTROL) cannot hold ACEs");
        if (parse_ace(p, &i, &ace) < 0)
            return -1;
        if (sd->ace_count >= NTFS_ACL_MAX / 16)
            return fail(p, j, "too many ACEs");
        if (ntfs_dacl_append(sd, &ace) != 0)
            return fail(p, j, "out of memory");
    }
    *pos = i;
    return 0;
}

int ntfs_sddl_parse(const char *text, struct ntfs_sd *out, char *err, size_t errlen)
{
    struct parser p = {text, err, errlen};
    struct ntfs_sd sd;
    size_t pos = 0;
    int seen_o = 0, seen_g = 0, seen_d = 0;

    if (err && errlen)
        err[0] = '\0';
    ntfs_sd_init(out);
    if (!text) {
        fail(&p, 0, "no text");
        return -1;
    }
    ntfs_sd_init(&sd);
    sd.control = NTFS_SD_SELF_RELATIVE;
    for (;;) {
        while (is_blank(text[pos]))
            pos++;
        if (!text[pos])
            break;
        if (!is_component(text + pos)) {
            fail(&p, pos, "expected O:, G: or D:");
            goto bad;
        }
        if (text[pos] == 'O' || text[pos] == 'G') {
            int owner = text[pos] == 'O';
            size_t end;
            if (owner ? seen_o : seen_g) {
                fail(&p, pos, "%c: given twice", text[pos]);
                goto bad;
            }
            pos += 2;
            end = sid_token_end(text, pos);
            if (parse_sid_token(&p, pos, end - pos, owner ? &sd.owner : &sd.group) < 0)
                goto bad;
            if (owner)
                seen_o = sd.has_owner = 1;
            else
                seen_g = sd.has_group = 1;
            pos = end;
        } else if (text[pos] == 'D') {
            if (seen_d) {
                fail(&p, pos, "D: given twice");
                goto bad;
            }
            seen_d = 1;
            pos += 2;
            if (parse_dacl(&p, &pos, &sd) < 0)
                goto bad;
        } else {
            fail(&p, pos, "SACL (S:) is not supported");
            goto bad;
        }
    }
    *out = sd;
    return 0;
bad:
    ntfs_sd_free(&sd);
    return -1;
}

/* ---- printer --------------------------------------------------------- */

struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
};

static void sbuf_add(struct sbuf *b, const char *t)
{
    size_t n = strlen(t);
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        char *ns;
        while (cap < b->len + n + 1)
            cap *= 2;
        ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, t, n + 1);
    b->len += n;
}

static void format_sid(const struct ntfs_sid *sid, char *buf, size_t len)
{
    for (size_t i = 0; i < N_SID_ALIASES; i++) {
        struct ntfs_sid a;
        if (ntfs_sid_parse(sid_aliases[i].sid, &a) == 0 && ntfs_sid_equal(&a, sid)) {
            snprintf(buf, len, "%s", sid_aliases[i].alias);
            return;
        }
    }
    ntfs_sid_format(sid, buf, len);
}

void ntfs_sddl_format_ace(const struct ntfs_ace *ace, char *buf, size_t len)
{
    char flags[16] = "", sid[NTFS_SID_STRING_MAX];
    for (size_t k = 0; k < sizeof ace_flags / sizeof ace_flags[0]; k++)
        if (ace->flags & ace_flags[k].flag)
            strcat(flags, ace_flags[k].name);
    format_sid(&ace->sid, sid, sizeof sid);
    snprintf(buf, len, "(%s;%s;0x%lx;;;%s)", ace->type == NTFS_ACE_DENY ? "D" : "A", flags,
             (unsigned long)ace->mask, sid);
}

char *ntfs_sddl_format(const struct ntfs_sd *sd)
{
    struct sbuf b = {NULL, 0, 0, 0};
    char tmp[NTFS_SDDL_ACE_MAX];

    sbuf_add(&b, "");
    if (sd->has_owner) {
        format_sid(&sd->owner, tmp, sizeof tmp);
        sbuf_add(&b, "O:");
        sbuf_add(&b, tmp);
    }
    if (sd->has_group) {
        format_sid(&sd->group, tmp, sizeof tmp);
        sbuf_add(&b, "G:");
        sbuf_add(&b, tmp);
    }
    if (sd->has_dacl || (sd->control & NTFS_SD_DACL_PRESENT)) {
        sbuf_add(&b, "D:");
        if (sd->control & NTFS_SD_DACL_PROTECTED)
            sbuf_add(&b, "P");
        if (sd->control & NTFS_SD_DACL_AUTO_INHERIT_RQ)
            sbuf_add(&b, "AR");
        if (sd->control & NTFS_SD_DACL_AUTO_INHERITED)
            sbuf_add(&b, "AI");
        if (!sd->has_dacl)
            sbuf_add(&b, "NO_ACCESS_CONTROL");
        for (size_t i = 0; sd->has_dacl && i < sd->ace_count; i++) {
            ntfs_sddl_format_ace(&sd->aces[i], tmp, sizeof tmp);
            sbuf_add(&b, tmp);
        }
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
