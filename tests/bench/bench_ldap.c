/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Benchmark helper for ldap/ (run by tests/bench/bench_ldap.sh inside the
 * lab's namespaces; settings from the LAB_* environment of lab.env).
 *
 *   bench_ldap create N PREFIX DNFILE   create N accounts PREFIX0000.. through
 *                                       dir_create_accounts (pipelined); print
 *                                       "module N SECONDS"; DNs to DNFILE
 *   bench_ldap serial N PREFIX DNFILE   the same, one dir_create_account at a
 *                                       time; prints "serial N SECONDS"
 *   bench_ldap ldif N PREFIX            print an LDIF for ldapadd of N other
 *                                       accounts with the same attributes
 *                                       (generated passwords, unicodePwd)
 *
 * Passwords are generated before the clock starts, for both paths. */
#include "ldap/account.h"
#include "ldap/directory.h"
#include "ldap/password.h"
#include "provision/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "bench_ldap: %s is not set\n", name);
        exit(2);
    }
    return v;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct acct {
    char sam[24], site[64], display[80], description[96];
    char *password;
};

static struct acct *make(size_t n, const char *prefix)
{
    struct acct *a = xcalloc(n, sizeof *a);
    struct diag d;
    diag_init(&d);
    for (size_t i = 0; i < n; i++) {
        snprintf(a[i].sam, sizeof a[i].sam, "%s%04zu", prefix, i);
        snprintf(a[i].site, sizeof a[i].site, "%s%04zu.example.com", prefix, i);
        snprintf(a[i].display, sizeof a[i].display, "IIS %s", a[i].site);
        snprintf(a[i].description, sizeof a[i].description, "IIS identity for %s", a[i].site);
        a[i].password = password_generate(0, a[i].sam, a[i].display, &d);
        if (!a[i].password) {
            fprintf(stderr, "bench_ldap: %s\n", d.count ? d.msgs[0] : "password failed");
            exit(2);
        }
    }
    diag_free(&d);
    return a;
}

static void drop(struct acct *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_secret(a[i].password);
    free(a);
}

static void b64(const unsigned char *p, size_t n, FILE *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(t[v >> 18 & 63], out);
        fputc(t[v >> 12 & 63], out);
        fputc(i + 1 < n ? t[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? t[v & 63] : '=', out);
    }
}

static int run_ldif(size_t n, const char *prefix)
{
    struct acct *a = make(n, prefix);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        unsigned char *pw = dir_unicode_pwd(a[i].password, &len);
        char *marker = dir_marker_value(a[i].site);
        printf("dn: CN=%s,%s\n", a[i].sam, env("LAB_SITES_OU"));
        printf("objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n"
               "objectClass: user\n");
        printf("sAMAccountName: %s\nuserPrincipalName: %s@%s\n", a[i].sam, a[i].sam,
               env("LAB_DNS_DOMAIN"));
        printf("displayName: %s\ndescription: %s\nuserAccountControl: 66048\n", a[i].display,
               a[i].description);
        printf("%s: %s\nunicodePwd:: ", DIR_MARKER_ATTR, marker);
        b64(pw, len, stdout);
        printf("\n\n");
        wipe(pw, len);
        free(pw);
        free(marker);
    }
    drop(a, n);
    return 0;
}

static int run_create(size_t n, const char *prefix, const char *dnfile, bool serial)
{
    struct dir_config c = {0};
    c.uri = env("LAB_LDAPS_URI");
    c.ca_file = env("LAB_CA");
    c.bind_dn = env("LAB_ADMIN_DN");
    c.password_file = env("LAB_ADMIN_PASSWORD_FILE");
    c.base_dn = env("LAB_BASE_DN");
    c.upn_suffix = env("LAB_DNS_DOMAIN");
    c.timeout_seconds = 60;
    struct diag d;
    diag_init(&d);
    struct dir *dir;
    if (dir_open(&c, &dir, &d) < 0) {
        fprintf(stderr, "bench_ldap: %s\n", d.msgs[0]);
        return 1;
    }
    struct acct *a = make(n, prefix);
    struct dir_account_spec *specs = xcalloc(n, sizeof *specs);
    struct dir_create_item *items = xcalloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        specs[i] = (struct dir_account_spec){.sam = a[i].sam,
                                             .ou = "OU=Sites,OU=Hosting",
                                             .display_name = a[i].display,
                                             .description = a[i].description,
                                             .site = a[i].site};
        items[i].spec = &specs[i];
        items[i].password = a[i].password;
    }
    double t0 = now();
    size_t failed = 0;
    if (serial) {
        for (size_t i = 0; i < n; i++) {
            items[i].result =
                dir_create_account(dir, &specs[i], a[i].password, &items[i].account, &d);
            if (items[i].result != 1)
                failed++;
        }
    } else {
        failed = dir_create_accounts(dir, items, n, &d);
    }
    double t = now() - t0;
    FILE *f = fopen(dnfile, "w");
    size_t created = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].result == 1) {
            created++;
            if (f)
                fprintf(f, "%s\n", items[i].account.dn);
        }
        dir_account_free(&items[i].account);
    }
    if (f)
        fclose(f);
    for (size_t i = 0; i < d.count && i < 5; i++)
        fprintf(stderr, "bench_ldap: %s\n", d.msgs[i]);
    printf("%s %zu %.3f\n", serial ? "serial" : "module", created, t);
    diag_free(&d);
    free(items);
    free(specs);
    drop(a, n);
    dir_close(dir);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "ldif") == 0)
        return run_ldif(strtoul(argv[2], NULL, 10), argv[3]);
    if (argc >= 5 && strcmp(argv[1], "create") == 0)
        return run_create(strtoul(argv[2], NULL, 10), argv[3], argv[4], false);
    if (argc >= 5 && strcmp(argv[1], "serial") == 0)
        return run_create(strtoul(argv[2], NULL, 10), argv[3], argv[4], true);
    fprintf(stderr, "usage: bench_ldap create|serial N PREFIX DNFILE | ldif N PREFIX\n");
    return 2;
}
