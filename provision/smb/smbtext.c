/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pure text formats of the SMB module: libsmbclient's descriptor text,
 * smbclient auth files, URL path encoding. */
#include "provision/smb/smbtext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/util.h"

static int is_sep(char c)
{
    return c == ',' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads an unsigned number, decimal or 0x hex, that must fill [s, end). */
static int parse_u32(const char *s, const char *end, uint32_t *out)
{
    char buf[24];
    size_t n = (size_t)(end - s);
    char *stop;
    unsigned long long v;
    int base = 10;

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
        base = 16;
        if (buf[2] == '\0')
            return -1;
    }
    for (size_t i = base == 16 ? 2 : 0; i < n; i++) {
        char c = buf[i];
        int ok = (c >= '0' && c <= '9') ||
                 (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
        if (!ok)
            return -1;
    }
    errno = 0;
    v = strtoull(buf, &stop, base);
    if (errno || *stop || v > 0xFFFFFFFFull)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_sid_span(const char *s, const char *end, struct ntfs_sid *sid)
{
    char buf[NTFS_SID_STRING_MAX];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return ntfs_sid_parse(buf, sid);
}

/* "SID:TYPE/FLAGS/MASK" in [s, end). */
static int parse_ace(const char *s, const char *end, struct ntfs_ace *ace, char *err, size_t errlen)
{
    const char *colon = NULL, *s1, *s2;
    uint32_t type, flags, mask;

    for (const char *p = end; p > s; p--)
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
    if (!colon) {
        snprintf(err, errlen, "ACL entry without ':'");
        return -1;
    }
    memset(ace, 0, sizeof *ace);
    if (parse_sid_span(s, colon, &ace->sid) != 0) {
        snprintf(err, errlen, "ACL entry with a SID that is not numeric (S-1-...)");
        return -1;
    }
    s1 = memchr(colon + 1, '/', (size_t)(end - colon - 1));
    s2 = s1 ? memchr(s1 + 1, '/', (size_t)(end - s1 - 1)) : NULL;
    if (!s1 || !s2 || parse_u32(colon + 1, s1, &type) != 0 || parse_u32(s1 + 1, s2, &flags) != 0 ||
        parse_u32(s2 + 1, end, &mask) != 0) {
        snprintf(err, errlen, "ACL entry not of the form SID:TYPE/FLAGS/MASK");
        return -1;
    }
    if (type != NTFS_ACE_ALLOW && type != NTFS_ACE_DENY) {
        snprintf(err, errlen, "ACE type %u is not supported (only allow and deny)", type);
        return -1;
    }
    if (flags > 0xFF) {
        snprintf(err, errlen, "ACE flags %u out of range", flags);
        return -1;
    }
    ace->type = (uint8_t)type;
    ace->flags = (uint8_t)flags;
    ace->mask = mask;
    return 0;
}

static int starts_ci(const char *s, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)(end - s) >= n && ascii_ncasecmp(s, prefix, n) == 0;
}

int smb_sd_from_text(const char *text, struct ntfs_sd *out, char *err, size_t errlen)
{
    const char *p = text;
    int have_owner = 0, have_group = 0;

    ntfs_sd_init(out);
    if (!text) {
        snprintf(err, errlen, "no descriptor text");
        return -1;
    }
    out->control = NTFS_SD_SELF_RELATIVE | NTFS_SD_DACL_PRESENT;
    out->has_dacl = 1;
    while (*p) {
        const char *end;
        while (*p && is_sep(*p))
            p++;
        if (!*p)
            break;
        end = p;
        while (*end && !is_sep(*end))
            end++;
        if (starts_ci(p, end, "REVISION:")) {
            uint32_t rev;
            if (parse_u32(p + 9, end, &rev) != 0 || rev != 1) {
                snprintf(err, errlen, "unsupported descriptor revision");
                goto fail;
            }
        } else if (starts_ci(p, end, "OWNER:")) {
            if (have_owner++ || (end > p + 6 && parse_sid_span(p + 6, end, &out->owner) != 0)) {
                snprintf(err, errlen, "bad or repeated OWNER");
                goto fail;
            }
            out->has_owner = end > p + 6;
        } else if (starts_ci(p, end, "GROUP:")) {
            if (have_group++ || (end > p + 6 && parse_sid_span(p + 6, end, &out->group) != 0)) {
                snprintf(err, errlen, "bad or repeated GROUP");
                goto fail;
            }
            out->has_group = end > p + 6;
        } else if (starts_ci(p, end, "ACL:")) {
            struct ntfs_ace ace;
            if (parse_ace(p + 4, end, &ace, err, errlen) != 0)
                goto fail;
            if (ntfs_dacl_append(out, &ace) != 0) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        } else {
            snprintf(err, errlen, "unknown entry '%.*s'", (int)((end - p) > 20 ? 20 : (end - p)),
                     p);
            goto fail;
        }
        p = end;
    }
    return 0;
fail:
    ntfs_sd_free(out);
    return -1;
}

char *smb_sd_to_text(const struct ntfs_sd *sd)
{
    struct strbuf sb;
    char sid[NTFS_SID_STRING_MAX];

    if (!sd || !sd->has_dacl || sd->ace_count == 0)
        return NULL;
    sb_init(&sb);
    for (size_t i = 0; i < sd->ace_count; i++) {
        const struct ntfs_ace *a = &sd->aces[i];
        ntfs_sid_format(&a->sid, sid, sizeof sid);
        sb_addf(&sb, "%sACL:%s:%u/%u/%lu", i ? "," : "", sid, (unsigned)a->type, (unsigned)a->flags,
                (unsigned long)a->mask);
    }
    return sb_detach(&sb);
}

void smb_authfile_free(struct smb_authfile *a)
{
    if (!a)
        return;
    free(a->username);
    free_secret(a->password);
    free(a->domain);
    a->username = a->password = a->domain = NULL;
}

int smb_authfile_parse(const char *text, size_t len, struct smb_authfile *out, char *err,
                       size_t errlen)
{
    size_t pos = 0;
    unsigned line = 0;

    memset(out, 0, sizeof *out);
    while (pos < len) {
        size_t eol = pos, n;
        char *l, *eq, *key, *val;
        while (eol < len && text[eol] != '\n')
            eol++;
        line++;
        n = eol - pos;
        l = xmalloc(n + 1);
        memcpy(l, text + pos, n);
        l[n] = '\0';
        pos = eol < len ? eol + 1 : eol;
        if (memchr(l, '\0', n)) {
            snprintf(err, errlen, "line %u: NUL byte", line);
            goto bad_line;
        }
        key = trim(l);
        if (*key == '\0' || *key == '#' || *key == ';') {
            wipe(l, n);
            free(l);
            continue;
        }
        eq = strchr(key, '=');
        if (!eq) {
            snprintf(err, errlen, "line %u: expected 'name = value'", line);
            goto bad_line;
        }
        *eq = '\0';
        val = trim(eq + 1);
        trim(key);
        char **slot = NULL;
        if (ascii_casecmp(key, "username") == 0)
            slot = &out->username;
        else if (ascii_casecmp(key, "password") == 0)
            slot = &out->password;
        else if (ascii_casecmp(key, "domain") == 0)
            slot = &out->domain;
        else {
            snprintf(err, errlen, "line %u: unknown key '%.40s' (username, password, domain)", line,
                     key);
            goto bad_line;
        }
        if (*slot) {
            snprintf(err, errlen, "line %u: '%s' given twice", line, key);
            goto bad_line;
        }
        /* A user or domain name goes into messages and onto the wire:
         * text only. (The password may hold any byte but NUL.) */
        if (slot != &out->password) {
            bool text_only = utf8_valid(val, strlen(val), NULL);
            for (const unsigned char *c = (const unsigned char *)val; text_only && *c; c++)
                text_only = *c >= 0x20 && *c != 0x7f;
            if (!text_only) {
                snprintf(err, errlen, "line %u: %s holds a control character or invalid UTF-8",
                         line, slot == &out->username ? "username" : "domain");
                goto bad_line;
            }
        }
        *slot = xstrdup(val);
        wipe(l, n);
        free(l);
        continue;
    bad_line:
        wipe(l, n);
        free(l);
        smb_authfile_free(out);
        return -1;
    }
    if (!out->username || !*out->username) {
        snprintf(err, errlen, "no username");
        smb_authfile_free(out);
        return -1;
    }
    if (!out->password) {
        snprintf(err, errlen, "no password");
        smb_authfile_free(out);
        return -1;
    }
    if (out->domain && !*out->domain) {
        free(out->domain);
        out->domain = NULL;
    }
    /* DOMAIN\user or user@REALM. An empty DOMAIN or REALM there is an
     * error (it would be sent as an empty workgroup), unlike an empty
     * domain line, which means none. */
    char *bs = strchr(out->username, '\\');
    char *at = strchr(out->username, '@');
    if (bs) {
        if (!out->domain && bs == out->username) {
            snprintf(err, errlen, "empty domain in the user name (DOMAIN\\user)");
            smb_authfile_free(out);
            return -1;
        }
        if (!out->domain)
            out->domain = xstrndup(out->username, (size_t)(bs - out->username));
        memmove(out->username, bs + 1, strlen(bs + 1) + 1);
    } else if (at && !out->domain) {
        if (!at[1]) {
            snprintf(err, errlen, "empty realm in the user name (user@REALM)");
            smb_authfile_free(out);
            return -1;
        }
        out->domain = xstrdup(at + 1);
        *at = '\0';
    }
    if (!*out->username) {
        snprintf(err, errlen, "empty user name");
        smb_authfile_free(out);
        return -1;
    }
    return 0;
}

char *smb_url_encode_path(const char *path)
{
    static const char keep[] = "-._~!$&'()*+,;=@/";
    struct strbuf sb;
    sb_init(&sb);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        unsigned char c = *p;
        if (c == '\\')
            c = '/';
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr(keep, c))
            sb_addc(&sb, (char)c);
        else
            sb_addf(&sb, "%%%02X", c);
    }
    return sb_detach(&sb);
}
