/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmark driver for the grant engine over SMB, run by
 * tests/bench/bench_acl.sh inside the lab: applies the grants of N sites
 * (folders SITE\wwwroot and SITE\data; the pool identity of the site gets
 * RX on wwwroot and M on data, every third site also IUSR R on wwwroot:
 * 2 to 3 grants per site) through acl_apply_site with ONE SMB session for
 * the whole run, each site's reads remembered as the tool does it
 * (folders_apply_site: acl_backend_remember around a site's call), then
 * applies them all again (nothing to do) and prints the rates.
 *
 *   bench_acl AUTHFILE LOCATION N [PREFIX]
 *
 * Prints "engine: sites=N grants=G seconds=S rate=R" and
 * "engine-reapply: ...", exit 0 when every site applied and the re-apply
 * reported no change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provision/change.h"
#include "provision/ntfs/grants.h"
#include "provision/smb/smb.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Fills s (room for 3) for site i; returns the number of grants. */
static size_t site_specs(int i, const char *prefix, char paths[2][96], struct acl_grant_spec *s)
{
    char pool[64];
    struct ntfs_sid sid, iusr;
    snprintf(pool, sizeof pool, "%s%04d", prefix, i);
    ntfs_sid_apppool(pool, &sid);
    ntfs_sid_parse("S-1-5-17", &iusr);
    snprintf(paths[0], 96, "%s%04d\\wwwroot", prefix, i);
    snprintf(paths[1], 96, "%s%04d\\data", prefix, i);
    memset(s, 0, 3 * sizeof *s);
    s[0].folder_rel = paths[0];
    s[0].ace = (struct ntfs_ace){NTFS_ACE_ALLOW, NTFS_ACE_OI | NTFS_ACE_CI, NTFS_RIGHTS_RX, sid};
    s[1].folder_rel = paths[1];
    s[1].ace = (struct ntfs_ace){NTFS_ACE_ALLOW, NTFS_ACE_OI | NTFS_ACE_CI, NTFS_RIGHTS_M, sid};
    if (i % 3 == 0) {
        s[2].folder_rel = paths[0];
        s[2].ace =
            (struct ntfs_ace){NTFS_ACE_ALLOW, NTFS_ACE_OI | NTFS_ACE_CI, NTFS_RIGHTS_R, iusr};
        return 3;
    }
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_acl AUTHFILE LOCATION N [PREFIX]\n");
        return 2;
    }
    const char *prefix = argc > 4 ? argv[4] : "site";
    int n = atoi(argv[3]);
    struct smb_options so = {.auth_file = argv[1]};
    struct smb_session *s;
    struct diag d;
    struct acl_backend *b;
    diag_init(&d);
    if (smb_session_open(&so, &s, &d) != 0) {
        fprintf(stderr, "error: %s\n", d.msgs[0]);
        return 1;
    }
    struct acl_backend_options o = {.smb = s};
    if (acl_backend_open(argv[2], &o, &b, &d) != 0) {
        fprintf(stderr, "error: %s\n", d.msgs[0]);
        return 1;
    }
    int failed = 0;
    size_t grants = 0, changed = 0;
    for (int round = 0; round < 2; round++) {
        double t0 = now_s();
        grants = 0;
        changed = 0;
        for (int i = 0; i < n; i++) {
            char paths[2][96];
            struct acl_grant_spec specs[3];
            struct changes c;
            size_t k = site_specs(i, prefix, paths, specs);
            changes_init(&c);
            acl_backend_remember(b);
            if (acl_apply_site(b, specs, k, false, &c, &d) != 0)
                failed++;
            acl_backend_forget(b);
            grants += k;
            changed += c.count;
            changes_free(&c);
        }
        double t = now_s() - t0;
        printf("%s: sites=%d grants=%zu seconds=%.3f rate=%.1f changes=%zu failed=%d\n",
               round == 0 ? "engine" : "engine-reapply", n, grants, t, (double)grants / t, changed,
               failed);
        if (round == 1 && changed != 0)
            failed++;
    }
    for (size_t i = 0; i < d.count && i < 5; i++)
        fprintf(stderr, "error: %s\n", d.msgs[i]);
    acl_backend_close(b, NULL);
    smb_session_close(s);
    diag_free(&d);
    return failed ? 1 : 0;
}
