/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Self-relative security descriptors: binary codec, DACL edits and
 * inheritance (MS-DTYP 2.4.4, 2.4.5, 2.4.6, 2.5.3.4). */
#include "provision/ntfs/sd.h"

#include <stdlib.h>
#include <string.h>

#define SD_HEADER  20
#define ACL_HEADER 8
#define ACE_HEADER 8 /* type, flags, size, mask */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

const char *ntfs_sd_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case NTFS_SD_ENOMEM:
        return "out of memory";
    case NTFS_SD_ETRUNC:
        return "security descriptor truncated (a component lies outside the buffer)";
    case NTFS_SD_EREVISION:
        return "unsupported security descriptor revision";
    case NTFS_SD_ECONTROL:
        return "inconsistent security descriptor control bits";
    case NTFS_SD_EOFFSET:
        return "security descriptor offset points into the header";
    case NTFS_SD_ESID:
        return "malformed SID";
    case NTFS_SD_EACL:
        return "malformed ACL header";
    case NTFS_SD_EACE:
        return "malformed ACE (size or bounds)";
    case NTFS_SD_EACETYPE:
        return "unsupported ACE type in DACL (only allow and deny)";
    case NTFS_SD_ETOOBIG:
        return "ACL larger than 64 KiB";
    case NTFS_SD_EINVAL:
        return "invalid argument";
    default:
        return "unknown security descriptor error";
    }
}

void ntfs_sd_init(struct ntfs_sd *sd)
{
    memset(sd, 0, sizeof *sd);
}

void ntfs_sd_free(struct ntfs_sd *sd)
{
    if (!sd)
        return;
    free(sd->aces);
    free(sd->sacl);
    ntfs_sd_init(sd);
}

int ntfs_sd_copy(struct ntfs_sd *dst, const struct ntfs_sd *src)
{
    struct ntfs_sd tmp = *src;
    tmp.aces = NULL;
    tmp.sacl = NULL;
    if (src->ace_count) {
        tmp.aces = malloc(src->ace_count * sizeof *tmp.aces);
        if (!tmp.aces)
            return NTFS_SD_ENOMEM;
        memcpy(tmp.aces, src->aces, src->ace_count * sizeof *tmp.aces);
    }
    if (src->sacl) {
        tmp.sacl = malloc(src->sacl_len ? src->sacl_len : 1);
        if (!tmp.sacl) {
            free(tmp.aces);
            return NTFS_SD_ENOMEM;
        }
        memcpy(tmp.sacl, src->sacl, src->sacl_len);
    }
    *dst = tmp;
    return 0;
}

static int ace_equal(const struct ntfs_ace *a, const struct ntfs_ace *b)
{
    return a->type == b->type && a->flags == b->flags && a->mask == b->mask &&
           ntfs_sid_equal(&a->sid, &b->sid);
}

int ntfs_sd_equal(const struct ntfs_sd *a, const struct ntfs_sd *b)
{
    if (a->control != b->control || !a->has_owner != !b->has_owner ||
        !a->has_group != !b->has_group || !a->has_dacl != !b->has_dacl ||
        a->ace_count != b->ace_count || !a->sacl != !b->sacl)
        return 0;
    if (a->has_owner && !ntfs_sid_equal(&a->owner, &b->owner))
        return 0;
    if (a->has_group && !ntfs_sid_equal(&a->group, &b->group))
        return 0;
    for (size_t i = 0; i < a->ace_count; i++)
        if (!ace_equal(&a->aces[i], &b->aces[i]))
            return 0;
    if (a->sacl && (a->sacl_len != b->sacl_len || memcmp(a->sacl, b->sacl, a->sacl_len) != 0))
        return 0;
    return 1;
}

int ntfs_dacl_append(struct ntfs_sd *sd, const struct ntfs_ace *ace)
{
    struct ntfs_ace *n;
    if (sd->ace_count >= NTFS_ACL_MAX / 16)
        return NTFS_SD_ETOOBIG;
    n = realloc(sd->aces, (sd->ace_count + 1) * sizeof *n);
    if (!n)
        return NTFS_SD_ENOMEM;
    n[sd->ace_count++] = *ace;
    sd->aces = n;
    sd->has_dacl = 1;
    sd->control |= NTFS_SD_DACL_PRESENT;
    return 0;
}

/* ---- decode ---------------------------------------------------------- */

/* Checks an ACL header at off; sets *size (validated to fit) and *count. */
static int acl_header(const uint8_t *buf, size_t len, size_t off, size_t *size, size_t *count)
{
    size_t sz;
    if (off > len || len - off < ACL_HEADER)
        return NTFS_SD_ETRUNC;
    if (buf[off] != 2 && buf[off] != 4)
        return NTFS_SD_EACL;
    sz = rd16(buf + off + 2);
    if (sz < ACL_HEADER || sz % 4 != 0)
        return NTFS_SD_EACL;
    if (sz > len - off)
        return NTFS_SD_ETRUNC;
    *size = sz;
    *count = rd16(buf + off + 4);
    return 0;
}

/* Walks count ACE headers inside [pos, end); used for the opaque SACL. */
static int walk_aces(const uint8_t *buf, size_t pos, size_t end, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        size_t asz;
        if (end - pos < 4)
            return NTFS_SD_EACE;
        asz = rd16(buf + pos + 2);
        if (asz < ACE_HEADER || asz % 4 != 0 || asz > end - pos)
            return NTFS_SD_EACE;
        pos += asz;
    }
    return 0;
}

static int decode_dacl(const uint8_t *buf, size_t len, size_t off, struct ntfs_sd *out)
{
    size_t size, count, pos, end;
    int rc = acl_header(buf, len, off, &size, &count);
    if (rc)
        return rc;
    pos = off + ACL_HEADER;
    end = off + size;
    /* Smallest ACE: 8-byte header + 8-byte SID; refuse count lies before
     * allocating. */
    if (count > (size - ACL_HEADER) / 16)
        return NTFS_SD_EACE;
    out->has_dacl = 1;
    if (count == 0)
        return 0;
    out->aces = calloc(count, sizeof *out->aces);
    if (!out->aces)
        return NTFS_SD_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        struct ntfs_ace *a = &out->aces[i];
        size_t asz, used;
        if (end - pos < 4)
            return NTFS_SD_EACE;
        asz = rd16(buf + pos + 2);
        if (asz < ACE_HEADER + 8 || asz % 4 != 0 || asz > end - pos)
            return NTFS_SD_EACE;
        a->type = buf[pos];
        a->flags = buf[pos + 1];
        if (a->type != NTFS_ACE_ALLOW && a->type != NTFS_ACE_DENY)
            return NTFS_SD_EACETYPE;
        a->mask = rd32(buf + pos + 4);
        if (ntfs_sid_from_bytes(buf + pos + ACE_HEADER, asz - ACE_HEADER, &a->sid, &used) < 0)
            return NTFS_SD_ESID;
        out->ace_count = i + 1;
        pos += asz;
    }
    return 0;
}

static int decode_sid_at(const uint8_t *buf, size_t len, size_t off, struct ntfs_sid *sid)
{
    if (off >= len)
        return NTFS_SD_ETRUNC;
    if (len - off < 8)
        return NTFS_SD_ETRUNC;
    if (buf[off] != 1 || buf[off + 1] > NTFS_SID_MAX_SUB)
        return NTFS_SD_ESID;
    if (ntfs_sid_from_bytes(buf + off, len - off, sid, NULL) < 0)
        return NTFS_SD_ETRUNC;
    return 0;
}

int ntfs_sd_decode(const uint8_t *buf, size_t len, struct ntfs_sd *out)
{
    struct ntfs_sd sd;
    uint32_t o_owner, o_group, o_sacl, o_dacl;
    int rc;

    ntfs_sd_init(out);
    if (!buf || len < SD_HEADER)
        return NTFS_SD_ETRUNC;
    if (buf[0] != 1)
        return NTFS_SD_EREVISION;
    ntfs_sd_init(&sd);
    sd.control = rd16(buf + 2) & (uint16_t)~NTFS_SD_RM_CONTROL_VALID;
    o_owner = rd32(buf + 4);
    o_group = rd32(buf + 8);
    o_sacl = rd32(buf + 12);
    o_dacl = rd32(buf + 16);
    if (!(sd.control & NTFS_SD_SELF_RELATIVE))
        return NTFS_SD_ECONTROL;
    if ((o_dacl && !(sd.control & NTFS_SD_DACL_PRESENT)) ||
        (o_sacl && !(sd.control & NTFS_SD_SACL_PRESENT)))
        return NTFS_SD_ECONTROL;
    if ((o_owner && o_owner < SD_HEADER) || (o_group && o_group < SD_HEADER) ||
        (o_sacl && o_sacl < SD_HEADER) || (o_dacl && o_dacl < SD_HEADER))
        return NTFS_SD_EOFFSET;

    if (o_owner) {
        if ((rc = decode_sid_at(buf, len, o_owner, &sd.owner)) != 0)
            return rc;
        sd.has_owner = 1;
    }
    if (o_group) {
        if ((rc = decode_sid_at(buf, len, o_group, &sd.group)) != 0)
            return rc;
        sd.has_group = 1;
    }
    if (o_sacl) {
        size_t size, count;
        if ((rc = acl_header(buf, len, o_sacl, &size, &count)) != 0)
            return rc;
        if ((rc = walk_aces(buf, o_sacl + ACL_HEADER, o_sacl + size, count)) != 0)
            return rc;
        sd.sacl = malloc(size);
        if (!sd.sacl)
            return NTFS_SD_ENOMEM;
        memcpy(sd.sacl, buf + o_sacl, size);
        sd.sacl_len = size;
    }
    if (o_dacl) {
        if ((rc = decode_dacl(buf, len, o_dacl, &sd)) != 0) {
            ntfs_sd_free(&sd);
            return rc;
        }
    }
    *out = sd;
    return 0;
}

/* ---- encode ---------------------------------------------------------- */

static int sacl_valid(const struct ntfs_sd *sd)
{
    size_t size, count;
    if (sd->sacl_len < ACL_HEADER || sd->sacl_len > NTFS_ACL_MAX)
        return 0;
    if (acl_header(sd->sacl, sd->sacl_len, 0, &size, &count) != 0 || size != sd->sacl_len)
        return 0;
    return walk_aces(sd->sacl, ACL_HEADER, size, count) == 0;
}

int ntfs_sd_encode(const struct ntfs_sd *sd, uint8_t **out, size_t *outlen)
{
    size_t dacl_len = 0, total, pos;
    uint16_t control;
    uint8_t *buf;

    *out = NULL;
    *outlen = 0;
    if ((sd->has_owner && sd->owner.count > NTFS_SID_MAX_SUB) ||
        (sd->has_group && sd->group.count > NTFS_SID_MAX_SUB))
        return NTFS_SD_EINVAL;
    if (sd->sacl && !sacl_valid(sd))
        return NTFS_SD_EINVAL;
    if (sd->has_dacl) {
        dacl_len = ACL_HEADER;
        for (size_t i = 0; i < sd->ace_count; i++) {
            if (sd->aces[i].sid.count > NTFS_SID_MAX_SUB)
                return NTFS_SD_EINVAL;
            dacl_len += ACE_HEADER + ntfs_sid_size(&sd->aces[i].sid);
            if (dacl_len > NTFS_ACL_MAX)
                return NTFS_SD_ETOOBIG;
        }
    }
    total = SD_HEADER + (sd->sacl ? sd->sacl_len : 0) + dacl_len +
            (sd->has_owner ? ntfs_sid_size(&sd->owner) : 0) +
            (sd->has_group ? ntfs_sid_size(&sd->group) : 0);
    buf = calloc(1, total);
    if (!buf)
        return NTFS_SD_ENOMEM;

    control = (uint16_t)(sd->control & ~NTFS_SD_RM_CONTROL_VALID) | NTFS_SD_SELF_RELATIVE;
    if (sd->has_dacl)
        control |= NTFS_SD_DACL_PRESENT;
    if (sd->sacl)
        control |= NTFS_SD_SACL_PRESENT;
    buf[0] = 1;
    wr16(buf + 2, control);
    pos = SD_HEADER;
    if (sd->sacl) {
        wr32(buf + 12, (uint32_t)pos);
        memcpy(buf + pos, sd->sacl, sd->sacl_len);
        pos += sd->sacl_len;
    }
    if (sd->has_dacl) {
        wr32(buf + 16, (uint32_t)pos);
        buf[pos] = 2;
        wr16(buf + pos + 2, (uint16_t)dacl_len);
        wr16(buf + pos + 4, (uint16_t)sd->ace_count);
        pos += ACL_HEADER;
        for (size_t i = 0; i < sd->ace_count; i++) {
            const struct ntfs_ace *a = &sd->aces[i];
            size_t ssz = ntfs_sid_size(&a->sid);
            buf[pos] = a->type;
            buf[pos + 1] = a->flags;
            wr16(buf + pos + 2, (uint16_t)(ACE_HEADER + ssz));
            wr32(buf + pos + 4, a->mask);
            ntfs_sid_to_bytes(&a->sid, buf + pos + ACE_HEADER, ssz);
            pos += ACE_HEADER + ssz;
        }
    }
    if (sd->has_owner) {
        wr32(buf + 4, (uint32_t)pos);
        pos += (size_t)ntfs_sid_to_bytes(&sd->owner, buf + pos, total - pos);
    }
    if (sd->has_group) {
        wr32(buf + 8, (uint32_t)pos);
        pos += (size_t)ntfs_sid_to_bytes(&sd->group, buf + pos, total - pos);
    }
    *out = buf;
    *outlen = total;
    return 0;
}

/* ---- DACL edits ------------------------------------------------------ */

static int ace_rank(const struct ntfs_ace *a)
{
    if (a->flags & NTFS_ACE_ID)
        return 2;
    return a->type == NTFS_ACE_DENY ? 0 : 1;
}

void ntfs_dacl_canonicalize(struct ntfs_sd *sd)
{
    /* Insertion sort: stable, in place, n <= 4095. */
    for (size_t i = 1; i < sd->ace_count; i++) {
        struct ntfs_ace cur = sd->aces[i];
        int r = ace_rank(&cur);
        size_t j = i;
        while (j > 0 && ace_rank(&sd->aces[j - 1]) > r) {
            sd->aces[j] = sd->aces[j - 1];
            j--;
        }
        sd->aces[j] = cur;
    }
}

int ntfs_dacl_is_canonical(const struct ntfs_sd *sd)
{
    for (size_t i = 1; i < sd->ace_count; i++)
        if (ace_rank(&sd->aces[i - 1]) > ace_rank(&sd->aces[i]))
            return 0;
    return 1;
}

int ntfs_dacl_merge_grant(struct ntfs_sd *sd, const struct ntfs_ace *ace)
{
    struct ntfs_ace *n;
    size_t k = 0;
    int placed = 0, changed;

    if (!sd || !ace || (ace->flags & NTFS_ACE_ID) ||
        (ace->type != NTFS_ACE_ALLOW && ace->type != NTFS_ACE_DENY) ||
        ace->sid.count > NTFS_SID_MAX_SUB)
        return NTFS_SD_EINVAL;
    n = malloc((sd->ace_count + 1) * sizeof *n);
    if (!n)
        return NTFS_SD_ENOMEM;
    for (size_t i = 0; i < sd->ace_count; i++) {
        const struct ntfs_ace *a = &sd->aces[i];
        if (!(a->flags & NTFS_ACE_ID) && a->type == ace->type &&
            ntfs_sid_equal(&a->sid, &ace->sid)) {
            if (!placed) {
                n[k++] = *ace;
                placed = 1;
            }
            continue;
        }
        n[k++] = *a;
    }
    if (!placed)
        n[k++] = *ace;
    {
        struct ntfs_sd tmp = *sd;
        tmp.aces = n;
        tmp.ace_count = k;
        ntfs_dacl_canonicalize(&tmp);
    }
    changed = !sd->has_dacl || k != sd->ace_count;
    for (size_t i = 0; !changed && i < k; i++)
        if (!ace_equal(&n[i], &sd->aces[i]))
            changed = 1;
    if (!changed) {
        free(n);
        return 0;
    }
    if (k * (ACE_HEADER + NTFS_SID_MAX_BYTES) > NTFS_ACL_MAX) {
        /* Precise check only when it could matter. */
        size_t len = ACL_HEADER;
        for (size_t i = 0; i < k; i++)
            len += ACE_HEADER + ntfs_sid_size(&n[i].sid);
        if (len > NTFS_ACL_MAX) {
            free(n);
            return NTFS_SD_ETOOBIG;
        }
    }
    free(sd->aces);
    sd->aces = n;
    sd->ace_count = k;
    sd->has_dacl = 1;
    sd->control |= NTFS_SD_DACL_PRESENT;
    return 1;
}

int ntfs_dacl_remove_explicit(struct ntfs_sd *sd, const struct ntfs_sid *sid, uint8_t type,
                              uint32_t mask, uint8_t flags)
{
    size_t k = 0;
    int removed = 0;
    for (size_t i = 0; i < sd->ace_count; i++) {
        const struct ntfs_ace *a = &sd->aces[i];
        if (!(a->flags & NTFS_ACE_ID) && a->type == type && a->mask == mask && a->flags == flags &&
            ntfs_sid_equal(&a->sid, sid)) {
            removed++;
            continue;
        }
        sd->aces[k++] = *a;
    }
    sd->ace_count = k;
    if (k == 0) {
        free(sd->aces);
        sd->aces = NULL;
    }
    return removed;
}

/* ---- inheritance ----------------------------------------------------- */

uint32_t ntfs_map_generic_file(uint32_t mask)
{
    uint32_t m =
        mask & ~(NTFS_GENERIC_READ | NTFS_GENERIC_WRITE | NTFS_GENERIC_EXECUTE | NTFS_GENERIC_ALL);
    if (mask & NTFS_GENERIC_READ)
        m |= NTFS_FILE_GENERIC_READ;
    if (mask & NTFS_GENERIC_WRITE)
        m |= NTFS_FILE_GENERIC_WRITE;
    if (mask & NTFS_GENERIC_EXECUTE)
        m |= NTFS_FILE_GENERIC_EXEC;
    if (mask & NTFS_GENERIC_ALL)
        m |= NTFS_FILE_ALL_ACCESS;
    return m;
}

/* 1 = CREATOR OWNER (S-1-3-0), 2 = CREATOR GROUP (S-1-3-1), else 0. */
static int creator_kind(const struct ntfs_sid *s)
{
    static const uint8_t auth3[6] = {0, 0, 0, 0, 0, 3};
    if (s->revision != 1 || s->count != 1 || memcmp(s->authority, auth3, 6) != 0)
        return 0;
    if (s->sub[0] == 0)
        return 1;
    if (s->sub[0] == 1)
        return 2;
    return 0;
}

/* The effective ACE a child gets from p (ID only, generic and creator SIDs
 * replaced). */
static struct ntfs_ace effective_ace(const struct ntfs_ace *p, const struct ntfs_sd *out)
{
    struct ntfs_ace e = *p;
    int ck = creator_kind(&p->sid);
    e.flags = NTFS_ACE_ID;
    e.mask = ntfs_map_generic_file(p->mask);
    if (ck == 1 && out->has_owner)
        e.sid = out->owner;
    else if (ck == 2 && out->has_group)
        e.sid = out->group;
    return e;
}

static int inherit_one(const struct ntfs_ace *p, int container, struct ntfs_sd *out)
{
    const uint8_t f = p->flags;
    const uint8_t inh = f & (NTFS_ACE_OI | NTFS_ACE_CI);
    const int split = creator_kind(&p->sid) != 0 || (p->mask & 0xF0000000u) != 0;
    int effective, propagate, rc = 0;
    struct ntfs_ace a;

    if (!inh)
        return 0;
    if (!container) {
        if (!(f & NTFS_ACE_OI))
            return 0;
        a = effective_ace(p, out);
        return ntfs_dacl_append(out, &a);
    }
    effective = (f & NTFS_ACE_CI) != 0;
    propagate = !(f & NTFS_ACE_NP);
    if (split) {
        if (effective) {
            a = effective_ace(p, out);
            if ((rc = ntfs_dacl_append(out, &a)) != 0)
                return rc;
        }
        if (propagate) {
            a = *p;
            a.flags = inh | NTFS_ACE_IO | NTFS_ACE_ID;
            rc = ntfs_dacl_append(out, &a);
        }
        return rc;
    }
    a = *p;
    if (effective && propagate)
        a.flags = inh | NTFS_ACE_ID;
    else if (effective)
        a.flags = NTFS_ACE_ID;
    else if (propagate)
        a.flags = inh | NTFS_ACE_IO | NTFS_ACE_ID;
    else
        return 0;
    return ntfs_dacl_append(out, &a);
}

int ntfs_sd_inherit(const struct ntfs_sd *parent, int child_is_container,
                    const struct ntfs_sd *child_existing, struct ntfs_sd *out)
{
    struct ntfs_sd res;
    int rc;

    ntfs_sd_init(out);
    if (!parent)
        return NTFS_SD_EINVAL;
    if (child_existing && (child_existing->control & NTFS_SD_DACL_PROTECTED)) {
        if ((rc = ntfs_sd_copy(out, child_existing)) != 0)
            return rc;
        out->control |= NTFS_SD_SELF_RELATIVE;
        return 0;
    }
    ntfs_sd_init(&res);
    if (child_existing) {
        res.control = child_existing->control &
                      (NTFS_SD_OWNER_DEFAULTED | NTFS_SD_GROUP_DEFAULTED | NTFS_SD_SACL_PRESENT |
                       NTFS_SD_SACL_DEFAULTED | NTFS_SD_SACL_AUTO_INHERIT_RQ |
                       NTFS_SD_SACL_AUTO_INHERITED | NTFS_SD_SACL_PROTECTED);
        res.has_owner = child_existing->has_owner;
        res.owner = child_existing->owner;
        res.has_group = child_existing->has_group;
        res.group = child_existing->group;
        if (child_existing->sacl) {
            res.sacl = malloc(child_existing->sacl_len ? child_existing->sacl_len : 1);
            if (!res.sacl)
                return NTFS_SD_ENOMEM;
            memcpy(res.sacl, child_existing->sacl, child_existing->sacl_len);
            res.sacl_len = child_existing->sacl_len;
        }
    } else {
        res.has_owner = parent->has_owner;
        res.owner = parent->owner;
        res.has_group = parent->has_group;
        res.group = parent->group;
    }
    res.control |= NTFS_SD_SELF_RELATIVE | NTFS_SD_DACL_PRESENT | NTFS_SD_DACL_AUTO_INHERITED;
    res.has_dacl = 1;

    if (child_existing && child_existing->has_dacl) {
        for (size_t i = 0; i < child_existing->ace_count; i++) {
            const struct ntfs_ace *a = &child_existing->aces[i];
            if (a->flags & NTFS_ACE_ID)
                continue;
            if ((rc = ntfs_dacl_append(&res, a)) != 0)
                goto fail;
        }
    }
    if (parent->has_dacl) {
        for (size_t i = 0; i < parent->ace_count; i++)
            if ((rc = inherit_one(&parent->aces[i], child_is_container, &res)) != 0)
                goto fail;
    }
    *out = res;
    return 0;
fail:
    ntfs_sd_free(&res);
    return rc;
}
