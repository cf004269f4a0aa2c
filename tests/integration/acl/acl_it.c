/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Integration driver for the grant engine, its back ends and the SMB
 * module, run by tests/integration/acl/run.sh inside the lab. Each command
 * does one thing and prints what happened; the shell script judges.
 *
 *   acl_it [OPTIONS] apply LOCATION SPECS      acl_apply_site
 *   acl_it [OPTIONS] remove LOCATION SPECS     acl_remove_site
 *   acl_it [OPTIONS] sddl LOCATION REL         read one descriptor (SDDL)
 *   acl_it [OPTIONS] fill LOCATION REL ROOM    grow REL's DACL to within
 *                                             ROOM bytes of 64 KiB
 *   acl_it [OPTIONS] replace URL NEW EXPECTED  smb_replace_file
 *   acl_it [OPTIONS] replace-loop URL A B N    N replaces, alternating A/B
 *   acl_it [OPTIONS] watch URL A B SECONDS     reads URL in a loop, counts
 *                                             A / B / missing / other
 * OPTIONS: -A AUTHFILE (SMB credentials), -k (Kerberos), -u USER,
 *          -n (dry run), -D (remove: delete empty folders),
 *          -r WINROOT (script root), -c STEP (replace: exit(3) right after
 *          step STEP, to simulate a crash), -b (replace: keep the backup).
 * SPECS: a file with one grant per line, "FOLDER|GRANT[|protect]", GRANT
 * in the template syntax with a SID, a well-known name or IIS AppPool\X. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provision/change.h"
#include "provision/ntfs/backend.h"
#include "provision/ntfs/grant.h"
#include "provision/ntfs/grants.h"
#include "provision/ntfs/sddl.h"
#include "provision/smb/smb.h"
#include "provision/util.h"

static struct smb_options smbo;
static bool dry_run, delete_folders, keep_backup;
static const char *winroot;
static int crash_step;

static void print_diag(struct diag *d)
{
    for (size_t i = 0; i < d->count; i++)
        fprintf(stderr, "error: %s\n", d->msgs[i]);
}

static void print_changes(const struct changes *c)
{
    for (size_t i = 0; i < c->count; i++) {
        const struct change *ch = &c->items[i];
        printf("%c %s %s%s%s\n", ch->op, ch->kind, ch->object, ch->note ? "  # " : "",
               ch->note ? ch->note : "");
        for (size_t k = 0; k < ch->n_attrs; k++)
            printf("    %s: %s -> %s\n", ch->attrs[k].name,
                   ch->attrs[k].old_value ? ch->attrs[k].old_value : "(none)",
                   ch->attrs[k].new_value ? ch->attrs[k].new_value : "(none)");
    }
    printf("changes: %zu\n", c->count);
}

/* Reads "FOLDER|GRANT[|protect]" lines. */
static int load_specs(const char *file, struct acl_grant_spec **out, size_t *n, char ***paths)
{
    char *text;
    size_t len;
    if (read_file(file, &text, &len) != 0) {
        fprintf(stderr, "error: %s: %s\n", file, strerror(errno));
        return -1;
    }
    *out = NULL;
    *n = 0;
    *paths = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!*line || *line == '#')
            continue;
        char *bar1 = strchr(line, '|');
        if (!bar1) {
            fprintf(stderr, "error: spec line without '|': %s\n", line);
            free(text);
            return -1;
        }
        *bar1 = '\0';
        char *grant = bar1 + 1;
        char *bar2 = strchr(grant, '|');
        bool protect = false;
        if (bar2) {
            *bar2 = '\0';
            protect = strcmp(bar2 + 1, "protect") == 0;
        }
        struct ntfs_grant g;
        char err[200];
        if (ntfs_grant_parse(grant, &g, err, sizeof err) != 0 || g.kind != NTFS_PRINCIPAL_SID) {
            fprintf(stderr, "error: grant '%s': %s\n", grant,
                    g.kind != NTFS_PRINCIPAL_SID ? "needs a SID" : err);
            free(text);
            return -1;
        }
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        *paths = xrealloc(*paths, (*n + 1) * sizeof **paths);
        (*paths)[*n] = xstrdup(line);
        struct acl_grant_spec *s = &(*out)[*n];
        memset(s, 0, sizeof *s);
        s->folder_rel = (*paths)[*n];
        s->ace.type = g.deny ? NTFS_ACE_DENY : NTFS_ACE_ALLOW;
        s->ace.flags = g.ace_flags;
        s->ace.mask = g.mask;
        s->ace.sid = g.sid;
        s->protect = protect;
        (*n)++;
    }
    free(text);
    return 0;
}

static int open_backend(const char *loc, struct acl_backend **b, struct diag *d)
{
    struct acl_backend_options o = {.smb = NULL, .smb_opts = &smbo, .script_root = winroot};
    return acl_backend_open(loc, &o, b, d);
}

static int cmd_site(bool removing, const char *loc, const char *specfile)
{
    struct acl_grant_spec *specs;
    size_t n;
    char **paths;
    struct diag d;
    struct changes c;
    struct acl_backend *b;
    int rc;

    if (load_specs(specfile, &specs, &n, &paths) != 0)
        return 2;
    diag_init(&d);
    changes_init(&c);
    if (open_backend(loc, &b, &d) != 0) {
        print_diag(&d);
        rc = 1;
        goto out;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = removing ? acl_remove_site(b, specs, n, delete_folders, dry_run, &c, &d)
                  : acl_apply_site(b, specs, n, dry_run, &c, &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_changes(&c);
    fprintf(stderr, "time: %.1f ms\n",
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    if (acl_backend_close(b, &d) != 0)
        rc = -1;
    print_diag(&d);
    rc = rc == 0 ? 0 : 1;
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(specs);
    changes_free(&c);
    diag_free(&d);
    return rc;
}

static int cmd_sddl(const char *loc, const char *rel)
{
    struct diag d;
    struct acl_backend *b;
    struct ntfs_sd sd;
    char *norm;
    int rc = 1;
    diag_init(&d);
    if (open_backend(loc, &b, &d) == 0) {
        if (acl_path_check(rel, true, &norm, &d) == 0) {
            if (acl_read_sd(b, norm, &sd, &d) == 0) {
                char *t = ntfs_sddl_format(&sd);
                printf("%s\n", t);
                free(t);
                ntfs_sd_free(&sd);
                rc = 0;
            }
            free(norm);
        }
        acl_backend_close(b, &d);
    }
    print_diag(&d);
    diag_free(&d);
    return rc;
}

/* Appends allow ACEs for S-1-5-21-1-2-3-N to the DACL of REL until the
 * descriptor is within `room` bytes of the 64 KiB limit. */
static int cmd_fill(const char *loc, const char *rel, int room)
{
    struct diag d;
    struct acl_backend *b;
    struct ntfs_sd sd;
    char *norm;
    int rc = 1;
    diag_init(&d);
    if (open_backend(loc, &b, &d) == 0) {
        if (acl_path_check(rel, false, &norm, &d) == 0 && acl_read_sd(b, norm, &sd, &d) == 0) {
            for (int i = 0;; i++) {
                struct ntfs_ace a = {NTFS_ACE_ALLOW, 0, 0x120089, {0}};
                char sid[64];
                uint8_t *buf = NULL;
                size_t len = 0;
                snprintf(sid, sizeof sid, "S-1-5-21-1-2-3-%d", 10000 + i);
                ntfs_sid_parse(sid, &a.sid);
                ntfs_dacl_append(&sd, &a);
                int enc = ntfs_sd_encode(&sd, &buf, &len);
                free(buf);
                if (enc != 0 || len > ACL_SD_MAX - (size_t)room) {
                    sd.ace_count--;
                    break;
                }
            }
            if (acl_write_sd(b, norm, &sd, &d) == 0) {
                uint8_t *buf;
                size_t len;
                ntfs_sd_encode(&sd, &buf, &len);
                printf("filled: %zu ACEs, %zu bytes\n", sd.ace_count, len);
                free(buf);
                rc = 0;
            }
            ntfs_sd_free(&sd);
            free(norm);
        }
        acl_backend_close(b, &d);
    }
    print_diag(&d);
    diag_free(&d);
    return rc;
}

static void crash_hook(int step, void *arg)
{
    (void)arg;
    if (step == crash_step) {
        printf("simulated crash after step %d\n", step);
        fflush(stdout);
        _exit(3);
    }
}

static int cmd_replace(const char *url, const char *newfile, const char *expfile)
{
    char *nd, *ed, *bak = NULL;
    size_t nl, el;
    struct diag d;
    struct smb_session *s;
    int rc = 1;
    if (read_file(newfile, &nd, &nl) != 0 || read_file(expfile, &ed, &el) != 0) {
        fprintf(stderr, "error: cannot read the input files\n");
        return 2;
    }
    diag_init(&d);
    if (smb_session_open(&smbo, &s, &d) == 0) {
        if (crash_step)
            smb_set_replace_hook(s, crash_hook, NULL);
        if (smb_replace_file(s, url, nd, nl, ed, el, keep_backup ? &bak : NULL, &d) == 0) {
            printf("replaced%s%s\n", bak ? "; backup " : "", bak ? bak : "");
            rc = 0;
        } else {
            printf("not replaced (errno %d)\n", smb_errno(s));
        }
        free(bak);
        smb_session_close(s);
    }
    print_diag(&d);
    diag_free(&d);
    free(nd);
    free(ed);
    return rc;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmd_replace_loop(const char *url, const char *fa, const char *fb, int n)
{
    char *a, *b;
    size_t al, bl;
    struct diag d;
    struct smb_session *s;
    int fails = 0;
    if (read_file(fa, &a, &al) != 0 || read_file(fb, &b, &bl) != 0)
        return 2;
    diag_init(&d);
    if (smb_session_open(&smbo, &s, &d) != 0) {
        print_diag(&d);
        return 1;
    }
    double t0 = now_s();
    bool holds_a = true; /* the file holds a at the start */
    for (int i = 0; i < n; i++) {
        const char *from = holds_a ? a : b, *to = holds_a ? b : a;
        size_t fl = holds_a ? al : bl, tl = holds_a ? bl : al;
        if (smb_replace_file(s, url, to, tl, from, fl, NULL, &d) != 0)
            fails++;
        else
            holds_a = !holds_a;
    }
    double t1 = now_s();
    printf("replaces: %d, failed: %d, %.2f ms each\n", n, fails, (t1 - t0) * 1e3 / n);
    print_diag(&d);
    smb_session_close(s);
    diag_free(&d);
    free(a);
    free(b);
    return fails ? 1 : 0;
}

static int cmd_watch(const char *url, const char *fa, const char *fb, double seconds)
{
    char *a, *b;
    size_t al, bl;
    struct diag d;
    struct smb_session *s;
    long n_a = 0, n_b = 0, n_missing = 0, n_other = 0, n_err = 0, errs[256] = {0};
    if (read_file(fa, &a, &al) != 0 || read_file(fb, &b, &bl) != 0)
        return 2;
    diag_init(&d);
    if (smb_session_open(&smbo, &s, &d) != 0) {
        print_diag(&d);
        return 1;
    }
    double end = now_s() + seconds;
    while (now_s() < end) {
        char *cur;
        size_t len;
        if (smb_read_file(s, url, 64u << 20, &cur, &len, NULL) != 0) {
            int e = smb_errno(s);
            if (e == ENOENT)
                n_missing++;
            else {
                n_err++;
                if (e >= 0 && e < 256)
                    errs[e]++;
            }
            continue;
        }
        if (len == al && memcmp(cur, a, al) == 0)
            n_a++;
        else if (len == bl && memcmp(cur, b, bl) == 0)
            n_b++;
        else
            n_other++;
        free(cur);
    }
    printf("reads: old=%ld new=%ld missing=%ld other=%ld errors=%ld\n", n_a, n_b, n_missing,
           n_other, n_err);
    for (int e = 0; e < 256; e++)
        if (errs[e])
            printf("read errors: %ld x %s\n", errs[e], strerror(e));
    smb_session_close(s);
    diag_free(&d);
    free(a);
    free(b);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: acl_it [-A authfile] [-k] [-u user] [-n] [-D] [-b] [-c step] "
                    "[-r winroot] apply|remove|sddl|replace|replace-loop|watch ARGS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "A:ku:nDbc:r:")) != -1) {
        switch (opt) {
        case 'A':
            smbo.auth_file = optarg;
            break;
        case 'k':
            smbo.kerberos = true;
            break;
        case 'u':
            smbo.user = optarg;
            break;
        case 'n':
            dry_run = true;
            break;
        case 'D':
            delete_folders = true;
            break;
        case 'b':
            keep_backup = true;
            break;
        case 'c':
            crash_step = atoi(optarg);
            break;
        case 'r':
            winroot = optarg;
            break;
        default:
            usage();
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    argc -= optind;
    argv += optind;
    if (argc < 1)
        usage();
    if (!strcmp(argv[0], "apply") && argc == 3)
        return cmd_site(false, argv[1], argv[2]);
    if (!strcmp(argv[0], "remove") && argc == 3)
        return cmd_site(true, argv[1], argv[2]);
    if (!strcmp(argv[0], "sddl") && argc == 3)
        return cmd_sddl(argv[1], argv[2]);
    if (!strcmp(argv[0], "fill") && argc == 4)
        return cmd_fill(argv[1], argv[2], atoi(argv[3]));
    if (!strcmp(argv[0], "replace") && argc == 4)
        return cmd_replace(argv[1], argv[2], argv[3]);
    if (!strcmp(argv[0], "replace-loop") && argc == 5)
        return cmd_replace_loop(argv[1], argv[2], argv[3], atoi(argv[4]));
    if (!strcmp(argv[0], "watch") && argc == 5)
        return cmd_watch(argv[1], argv[2], argv[3], atof(argv[4]));
    usage();
    return 2;
}
