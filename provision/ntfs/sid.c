/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SIDs: parsing, formatting, binary form, well-known names and IIS AppPool
 * virtual-account SIDs (SHA-1 from nettle). */
#include "provision/ntfs/sid.h"
#include "provision/fold.h"
#include "provision/util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nettle/sha1.h>

#define AUTHORITY_MAX 0xFFFFFFFFFFFFULL /* 2^48 - 1 */

static void set_authority(struct ntfs_sid *sid, uint64_t value)
{
    for (int i = 5; i >= 0; i--) {
        sid->authority[i] = (uint8_t)(value & 0xFF);
        value >>= 8;
    }
}

static uint64_t get_authority(const struct ntfs_sid *sid)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = (v << 8) | sid->authority[i];
    return v;
}

/* Reads a decimal number <= max at *p; advances *p. Returns 0 or -1. */
static int read_dec(const char **p, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

/* Reads "0x" + 1..12 hex digits <= max. */
static int read_hex(const char **p, uint64_t max, uint64_t *out)
{
    const char *s = *p + 2;
    uint64_t v = 0;
    int n = 0;
    if (hex_digit_value(*s) < 0)
        return -1;
    while (hex_digit_value(*s) >= 0) {
        v = (v << 4) | (uint64_t)hex_digit_value(*s);
        if (++n > 12 || v > max)
            return -1;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

int ntfs_sid_parse(const char *text, struct ntfs_sid *out)
{
    struct ntfs_sid sid;
    const char *p = text;
    uint64_t v;

    if (!text || !out)
        return -1;
    memset(&sid, 0, sizeof sid);
    if ((p[0] != 'S' && p[0] != 's') || p[1] != '-')
        return -1;
    p += 2;
    if (read_dec(&p, 255, &v) < 0 || v != 1)
        return -1;
    sid.revision = 1;
    if (*p++ != '-')
        return -1;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        if (read_hex(&p, AUTHORITY_MAX, &v) < 0)
            return -1;
    } else if (read_dec(&p, AUTHORITY_MAX, &v) < 0) {
        return -1;
    }
    set_authority(&sid, v);
    while (*p == '-') {
        p++;
        if (sid.count >= NTFS_SID_MAX_SUB)
            return -1;
        if (read_dec(&p, 0xFFFFFFFFULL, &v) < 0)
            return -1;
        sid.sub[sid.count++] = (uint32_t)v;
    }
    if (*p != '\0')
        return -1;
    *out = sid;
    return 0;
}

void ntfs_sid_format(const struct ntfs_sid *sid, char *buf, size_t len)
{
    char tmp[NTFS_SID_STRING_MAX];
    size_t n;
    int w;

    if (!buf || len == 0)
        return;
    if (sid->authority[0] || sid->authority[1])
        w = snprintf(tmp, sizeof tmp, "S-%u-0x%02x%02x%02x%02x%02x%02x", sid->revision,
                     sid->authority[0], sid->authority[1], sid->authority[2], sid->authority[3],
                     sid->authority[4], sid->authority[5]);
    else
        w = snprintf(tmp, sizeof tmp, "S-%u-%llu", sid->revision,
                     (unsigned long long)get_authority(sid));
    n = (size_t)w;
    for (unsigned i = 0; i < sid->count && i < NTFS_SID_MAX_SUB; i++) {
        w = snprintf(tmp + n, sizeof tmp - n, "-%lu", (unsigned long)sid->sub[i]);
        n += (size_t)w;
    }
    snprintf(buf, len, "%s", tmp);
}

size_t ntfs_sid_size(const struct ntfs_sid *sid)
{
    return 8 + 4 * (size_t)sid->count;
}

int ntfs_sid_to_bytes(const struct ntfs_sid *sid, uint8_t *buf, size_t len)
{
    size_t size;
    if (sid->count > NTFS_SID_MAX_SUB)
        return -1;
    size = ntfs_sid_size(sid);
    if (len < size)
        return -1;
    buf[0] = sid->revision;
    buf[1] = sid->count;
    memcpy(buf + 2, sid->authority, 6);
    for (unsigned i = 0; i < sid->count; i++) {
        uint32_t v = sid->sub[i];
        buf[8 + 4 * i] = (uint8_t)v;
        buf[9 + 4 * i] = (uint8_t)(v >> 8);
        buf[10 + 4 * i] = (uint8_t)(v >> 16);
        buf[11 + 4 * i] = (uint8_t)(v >> 24);
    }
    return (int)size;
}

int ntfs_sid_from_bytes(const uint8_t *buf, size_t len, struct ntfs_sid *out, size_t *used)
{
    struct ntfs_sid sid;
    size_t size;

    if (!buf || len < 8 || buf[0] != 1 || buf[1] > NTFS_SID_MAX_SUB)
        return -1;
    size = 8 + 4 * (size_t)buf[1];
    if (len < size)
        return -1;
    memset(&sid, 0, sizeof sid);
    sid.revision = buf[0];
    sid.count = buf[1];
    memcpy(sid.authority, buf + 2, 6);
    for (unsigned i = 0; i < sid.count; i++) {
        const uint8_t *q = buf + 8 + 4 * i;
        sid.sub[i] =
            (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    }
    *out = sid;
    if (used)
        *used = size;
    return 0;
}

int ntfs_sid_equal(const struct ntfs_sid *a, const struct ntfs_sid *b)
{
    if (a->revision != b->revision || a->count != b->count ||
        memcmp(a->authority, b->authority, 6) != 0)
        return 0;
    for (unsigned i = 0; i < a->count && i < NTFS_SID_MAX_SUB; i++)
        if (a->sub[i] != b->sub[i])
            return 0;
    return 1;
}

/* Well-known SIDs (MS-DTYP 2.4.2.4), plus the aliases Windows itself
 * shows. */
static const struct {
    const char *name;
    const char *sid;
} wellknown[] = {
    {"Everyone", NTFS_SID_EVERYONE},
    {"CREATOR OWNER", NTFS_SID_CREATOR_OWNER},
    {"CREATOR GROUP", NTFS_SID_CREATOR_GROUP},
    {"SYSTEM", NTFS_SID_LOCAL_SYSTEM},
    {"NT AUTHORITY\\SYSTEM", NTFS_SID_LOCAL_SYSTEM},
    {"LocalSystem", NTFS_SID_LOCAL_SYSTEM},
    {"LOCAL SYSTEM", NTFS_SID_LOCAL_SYSTEM},
    {"LOCAL SERVICE", NTFS_SID_LOCAL_SERVICE},
    {"NT AUTHORITY\\LOCAL SERVICE", NTFS_SID_LOCAL_SERVICE},
    {"LocalService", NTFS_SID_LOCAL_SERVICE},
    {"NT AUTHORITY\\LocalService", NTFS_SID_LOCAL_SERVICE},
    {"NETWORK SERVICE", NTFS_SID_NETWORK_SERVICE},
    {"NT AUTHORITY\\NETWORK SERVICE", NTFS_SID_NETWORK_SERVICE},
    {"NetworkService", NTFS_SID_NETWORK_SERVICE},
    {"NT AUTHORITY\\NetworkService", NTFS_SID_NETWORK_SERVICE},
    {"IUSR", NTFS_SID_IUSR},
    {"NT AUTHORITY\\IUSR", NTFS_SID_IUSR},
    {"Authenticated Users", NTFS_SID_AUTHENTICATED_USERS},
    {"NT AUTHORITY\\Authenticated Users", NTFS_SID_AUTHENTICATED_USERS},
    {"IIS_IUSRS", NTFS_SID_IIS_IUSRS},
    {"BUILTIN\\IIS_IUSRS", NTFS_SID_IIS_IUSRS},
    {"Administrators", NTFS_SID_BUILTIN_ADMINISTRATORS},
    {"BUILTIN\\Administrators", NTFS_SID_BUILTIN_ADMINISTRATORS},
    {"Users", NTFS_SID_BUILTIN_USERS},
    {"BUILTIN\\Users", NTFS_SID_BUILTIN_USERS},
};

int ntfs_sid_wellknown(const char *name, struct ntfs_sid *out)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof wellknown / sizeof wellknown[0]; i++)
        if (strcasecmp(name, wellknown[i].name) == 0)
            return ntfs_sid_parse(wellknown[i].sid, out);
    return -1;
}

/* Decodes one UTF-8 sequence at s[*i]. Returns the code point or -1. */
static long utf8_next(const unsigned char *s, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp, min;
    int n;

    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        n = 1;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        n = 2;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        n = 3;
        min = 0x10000;
    } else {
        return -1;
    }
    for (int k = 1; k <= n; k++) {
        unsigned char cc = s[*i + (size_t)k];
        if ((cc & 0xC0) != 0x80) /* also stops at the NUL */
            return -1;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += (size_t)n + 1;
    return (long)cp;
}

int ntfs_utf8_valid(const char *s)
{
    size_t i = 0;
    if (!s)
        return 0;
    while (s[i])
        if (utf8_next((const unsigned char *)s, &i) < 0)
            return 0;
    return 1;
}

int ntfs_sid_apppool(const char *pool_name, struct ntfs_sid *out)
{
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    struct ntfs_sid sid;
    const unsigned char *s = (const unsigned char *)pool_name;
    size_t i = 0;

    if (!pool_name || !out || !*pool_name || !ntfs_utf8_valid(pool_name))
        return -1;
    sha1_init(&ctx);
    while (s[i]) {
        uint8_t u[4];
        size_t n;
        /* What Windows hashes: the Unicode simple lower-case mapping
         * (provision/fold.h, the tables every name comparison uses). */
        uint32_t cp = fold_simple_lower((uint32_t)utf8_next(s, &i));
        if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            uint16_t hi = (uint16_t)(0xD800 | (v >> 10)), lo = (uint16_t)(0xDC00 | (v & 0x3FF));
            u[0] = (uint8_t)hi;
            u[1] = (uint8_t)(hi >> 8);
            u[2] = (uint8_t)lo;
            u[3] = (uint8_t)(lo >> 8);
            n = 4;
        } else {
            u[0] = (uint8_t)cp;
            u[1] = (uint8_t)(cp >> 8);
            n = 2;
        }
        sha1_update(&ctx, n, u);
    }
    sha1_digest(&ctx, sizeof digest, digest);

    memset(&sid, 0, sizeof sid);
    sid.revision = 1;
    set_authority(&sid, 5);
    sid.count = 6;
    sid.sub[0] = 82;
    for (int k = 0; k < 5; k++)
        sid.sub[k + 1] = (uint32_t)digest[4 * k] | (uint32_t)digest[4 * k + 1] << 8 |
                         (uint32_t)digest[4 * k + 2] << 16 | (uint32_t)digest[4 * k + 3] << 24;
    *out = sid;
    return 0;
}

int ntfs_sid_resolve_builtin(const char *name, struct ntfs_sid *out)
{
    static const char prefix[] = "IIS AppPool\\";
    const size_t plen = sizeof prefix - 1;

    if (!name || !out)
        return -1;
    if ((name[0] == 'S' || name[0] == 's') && name[1] == '-')
        return ntfs_sid_parse(name, out);
    if (strncasecmp(name, prefix, plen) == 0)
        return ntfs_sid_apppool(name + plen, out);
    return ntfs_sid_wellknown(name, out);
}
