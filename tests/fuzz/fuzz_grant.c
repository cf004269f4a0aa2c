/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as template grant strings
 * (provision/ntfs/grant.h), first as one grant, then split at ',' as a
 * [grants] value is (provision/site.c). Every grant that parses then goes
 * the way a run takes it (provision/folders.c build_specs): its principal
 * is resolved to a SID (pool -> IIS AppPool\fuzzpool, anonymous -> IUSR,
 * NAME -> a fixed domain SID as the directory would answer), made an ACE
 * and merged into a descriptor with explicit and inherited ACEs
 * (ntfs_dacl_merge_grant), propagated to a child (ntfs_sd_inherit), written
 * as SDDL and as libsmbclient's text and read back, and removed again; the
 * grants together go through the seed-scenario guard (access_check_site).
 * Nothing may crash or leak, and:
 *   - the parse is canonical: format -> parse gives the same grant, and
 *     formatting is a fixed point; flags and mask are within what grant.h
 *     promises; a refusal gives a one-line reason;
 *   - merging the ACE changes the DACL at most once (a second merge is no
 *     change), leaves it canonical with the ACE present exactly once, and
 *     removing the ACE takes it out again;
 *   - the guard agrees with a direct reading of the grant for one folder
 *     that is the site's own: the pool reads its files exactly when an
 *     allow grant naming it carries read rights and (OI). */
#include "ldap/account.h"
#include "provision/access.h"
#include "provision/ntfs/grant.h"
#include "provision/ntfs/sd.h"
#include "provision/ntfs/sddl.h"
#include "provision/smb/smbtext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL       "fuzzpool"
#define DOMAIN_SID "S-1-5-21-1004336348-1177238915-682003330-1105"
/* A folder as Samba or Windows leave it: owner, group, an explicit ACE and
 * inherited ones, some inheritable, one with generic bits. */
#define BASE_SDDL                                                                                  \
    "O:BAG:SYD:AI(A;OICI;FA;;;BA)(D;;0x100116;;;WD)(A;OICIID;FA;;;SY)"                             \
    "(A;OICIIOID;GA;;;CO)(A;CIID;0x1200a9;;;BU)"

static void resolve(const struct ntfs_grant *g, struct ntfs_sid *sid)
{
    switch (g->kind) {
    case NTFS_PRINCIPAL_POOL:
        if (ntfs_sid_apppool(POOL, sid) != 0)
            abort();
        break;
    case NTFS_PRINCIPAL_ANONYMOUS:
        if (ntfs_sid_parse(NTFS_SID_IUSR, sid) != 0)
            abort();
        break;
    case NTFS_PRINCIPAL_SID:
        *sid = g->sid;
        break;
    case NTFS_PRINCIPAL_NAME:
        if (ntfs_sid_parse(DOMAIN_SID, sid) != 0)
            abort();
        break;
    default:
        abort();
    }
}

static size_t count_explicit(const struct ntfs_sd *sd, const struct ntfs_ace *a)
{
    size_t n = 0;
    for (size_t i = 0; i < sd->ace_count; i++) {
        const struct ntfs_ace *b = &sd->aces[i];
        n += !(b->flags & NTFS_ACE_ID) && b->type == a->type && b->flags == a->flags &&
             b->mask == a->mask && ntfs_sid_equal(&b->sid, &a->sid);
    }
    return n;
}

static void same_dacl(const struct ntfs_sd *a, const struct ntfs_sd *b)
{
    if (a->ace_count != b->ace_count)
        abort();
    for (size_t i = 0; i < a->ace_count; i++)
        if (a->aces[i].type != b->aces[i].type || a->aces[i].flags != b->aces[i].flags ||
            a->aces[i].mask != b->aces[i].mask || !ntfs_sid_equal(&a->aces[i].sid, &b->aces[i].sid))
            abort();
}

/* The ACE of one grant through the descriptor operations a run uses. */
static void as_ace(const struct ntfs_grant *g)
{
    struct ntfs_ace ace;
    memset(&ace, 0, sizeof ace);
    resolve(g, &ace.sid);
    ace.type = g->deny ? NTFS_ACE_DENY : NTFS_ACE_ALLOW;
    ace.flags = g->ace_flags;
    ace.mask = g->mask;

    struct ntfs_sd sd, back, child;
    char err[128];
    if (ntfs_sddl_parse(BASE_SDDL, &sd, err, sizeof err) != 0)
        abort();
    int r = ntfs_dacl_merge_grant(&sd, &ace);
    if (r != 0 && r != 1)
        abort();
    if (!ntfs_dacl_is_canonical(&sd) || count_explicit(&sd, &ace) != 1)
        abort();
    if (ntfs_dacl_merge_grant(&sd, &ace) != 0)
        abort(); /* applying a grant twice changes nothing the second time */

    /* SDDL and the binary form keep it. */
    char *text = ntfs_sddl_format(&sd);
    if (!text || ntfs_sddl_parse(text, &back, err, sizeof err) != 0 || !ntfs_sd_equal(&sd, &back))
        abort();
    ntfs_sd_free(&back);
    free(text);
    uint8_t *bin;
    size_t len;
    if (ntfs_sd_encode(&sd, &bin, &len) != 0 || ntfs_sd_decode(bin, len, &back) != 0 ||
        !ntfs_sd_equal(&sd, &back))
        abort();
    ntfs_sd_free(&back);
    free(bin);
    /* So does the text the SMB back end writes (DACL only). */
    text = smb_sd_to_text(&sd);
    if (!text || smb_sd_from_text(text, &back, err, sizeof err) != 0)
        abort();
    same_dacl(&sd, &back);
    ntfs_sd_free(&back);
    free(text);

    /* What a subfolder and a file below would get. */
    for (int dir = 0; dir < 2; dir++) {
        if (ntfs_sd_inherit(&sd, dir, NULL, &child) != 0)
            abort();
        for (size_t i = 0; i < child.ace_count; i++)
            if (!(child.aces[i].flags & NTFS_ACE_ID))
                abort(); /* a new object holds inherited ACEs only */
        ntfs_sd_free(&child);
    }

    if (ntfs_dacl_remove_explicit(&sd, &ace.sid, ace.type, ace.mask, ace.flags) != 1 ||
        count_explicit(&sd, &ace) != 0)
        abort();
    ntfs_sd_free(&sd);
}

static void check_grant(const char *text, const struct ntfs_grant *g)
{
    char buf[NTFS_GRANT_STRING_MAX], buf2[NTFS_GRANT_STRING_MAX], err[256];
    struct ntfs_grant g2;
    (void)text;
    if (!g->mask || (g->mask & ~NTFS_GRANT_VALID_MASK))
        abort();
    if (g->ace_flags & ~(NTFS_ACE_OI | NTFS_ACE_CI | NTFS_ACE_NP | NTFS_ACE_IO))
        abort();
    if ((g->ace_flags & (NTFS_ACE_NP | NTFS_ACE_IO)) &&
        !(g->ace_flags & (NTFS_ACE_OI | NTFS_ACE_CI)))
        abort();
    if (g->deny != 0 && g->deny != 1)
        abort();
    if (!g->principal[0] || strlen(g->principal) > 256)
        abort();
    ntfs_grant_format(g, buf, sizeof buf);
    if (strlen(buf) + 1 >= sizeof buf)
        abort(); /* NTFS_GRANT_STRING_MAX is always enough */
    if (ntfs_grant_parse(buf, &g2, err, sizeof err) != 0)
        abort();
    if (g2.kind != g->kind || g2.deny != g->deny || g2.ace_flags != g->ace_flags ||
        g2.mask != g->mask)
        abort();
    if (g->kind == NTFS_PRINCIPAL_SID && !ntfs_sid_equal(&g2.sid, &g->sid))
        abort();
    if (g->kind == NTFS_PRINCIPAL_NAME && strcmp(g2.principal, g->principal) != 0)
        abort();
    ntfs_grant_format(&g2, buf2, sizeof buf2);
    if (strcmp(buf, buf2) != 0)
        abort();
    if (g->kind == NTFS_PRINCIPAL_NAME) {
        size_t n;
        const char *name = ntfs_principal_account(g->principal, &n);
        if (name < g->principal || name + n > g->principal + strlen(g->principal))
            abort();
        char *sam = xstrndup(name, n);
        (void)dir_sam_problem(sam); /* what site.c checks the account name with */
        free(sam);
    }
    as_ace(g);
}

static int parse_one(const char *text, struct ntfs_grant *g)
{
    char err[256];
    memset(err, 'x', sizeof err);
    if (ntfs_grant_parse(text, g, err, sizeof err) == 0) {
        check_grant(text, g);
        return 0;
    }
    if (!memchr(err, '\0', sizeof err) || !err[0] || strchr(err, '\n'))
        abort(); /* a one-line reason */
    return -1;
}

/* The grants of one site against the guard. */
static void guard(const struct ntfs_grant *grants, size_t n)
{
    struct folder_spec folders[2] = {{"site", "D:\\Sites\\fuzz"},
                                     {"wwwroot", "D:\\Sites\\fuzz\\wwwroot"}};
    struct grant_spec *specs = xcalloc(n ? n : 1, sizeof *specs);
    struct site_model m;
    memset(&m, 0, sizeof m);
    m.name = "fuzz.example.com";
    m.origin = "fuzz:1";
    m.identity = IDENTITY_APPPOOL;
    m.anonymous = ANONYMOUS_POOL;
    m.pool.name = POOL;
    m.site.physical_path = "D:\\Sites\\fuzz\\wwwroot";
    m.folders = folders;
    m.n_folders = 2;
    m.grants = specs;
    m.n_grants = n;
    struct ntfs_sid pool_sid, everyone;
    ntfs_sid_apppool(POOL, &pool_sid);
    ntfs_sid_parse(NTFS_SID_EVERYONE, &everyone);
    /* One folder, the site's own: the oracle is simple. */
    int expect = 0;
    bool denied = false;
    for (size_t i = 0; i < n; i++) {
        const struct ntfs_grant *g = &grants[i];
        specs[i].folder = i % 2 ? "site" : "wwwroot";
        specs[i].grant = *g;
        if (i % 2)
            continue;
        bool names = g->kind == NTFS_PRINCIPAL_POOL || g->kind == NTFS_PRINCIPAL_ANONYMOUS ||
                     (g->kind == NTFS_PRINCIPAL_SID &&
                      (ntfs_sid_equal(&g->sid, &pool_sid) || ntfs_sid_equal(&g->sid, &everyone)));
        bool reads = (g->mask & 1) || (g->mask & (NTFS_GENERIC_READ | NTFS_GENERIC_ALL));
        if (names && reads && (g->ace_flags & NTFS_ACE_OI)) {
            if (g->deny)
                denied = true;
            else
                expect = 1;
        }
    }
    struct diag d;
    diag_init(&d);
    int rc = access_check_site(&m, &d);
    if (rc != 0 && d.count == 0)
        abort();
    /* Only the folder that is the physical path decides when the grants
     * of the parent folder name nobody who reads; check the plain cases. */
    bool parent_names_pool = false;
    for (size_t i = 1; i < n; i += 2)
        parent_names_pool |= grants[i].kind != NTFS_PRINCIPAL_NAME;
    if (!parent_names_pool && n) {
        int want = denied ? -1 : expect ? 0 : -1;
        if (rc != want)
            abort();
    }
    diag_free(&d);
    free(specs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    struct ntfs_grant g;
    parse_one(s, &g);

    /* As a [grants] value: comma-separated, each item trimmed. */
    struct ntfs_grant list[32];
    size_t n = 0;
    for (char *item = strtok(s, ","); item && n < 32; item = strtok(NULL, ",")) {
        trim(item);
        if (*item && parse_one(item, &list[n]) == 0)
            n++;
    }
    guard(list, n);
    free(s);
    return 0;
}
