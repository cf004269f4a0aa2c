/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Password generation (getrandom, rejection sampling) and AD's complexity
 * rule: see password.h for the alphabet and the reasons. */
#include "ldap/password.h"

#include "provision/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define UPPER   "ABCDEFGHJKLMNPQRSTUVWXYZ"
#define LOWER   "abcdefghijkmnopqrstuvwxyz"
#define DIGITS  "23456789"
#define SYMBOLS "-_.:+@"

const char password_alphabet[] = UPPER LOWER DIGITS SYMBOLS;

/* AD's non-alphanumeric class (Microsoft's "password must meet complexity
 * requirements" list). */
static const char ad_special[] = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";

int password_uniform_index(unsigned char b, unsigned n)
{
    if (n == 0 || n > 256)
        return -1;
    unsigned limit = 256 - 256 % n;
    if (b >= limit)
        return -1;
    return (int)(b % n);
}

static int fill_random(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Random source with a small pool so that rejected bytes cost no syscall. */
struct pool {
    unsigned char buf[256];
    size_t pos;
};

static int pool_byte(struct pool *p, unsigned char *out)
{
    if (p->pos == 0 || p->pos >= sizeof p->buf) {
        if (fill_random(p->buf, sizeof p->buf) < 0)
            return -1;
        p->pos = 0;
    }
    *out = p->buf[p->pos];
    p->buf[p->pos++] = 0;
    return 0;
}

static int pick(struct pool *p, const char *set, size_t n, char *out)
{
    for (;;) {
        unsigned char b;
        if (pool_byte(p, &b) < 0)
            return -1;
        int i = password_uniform_index(b, (unsigned)n);
        if (i >= 0) {
            *out = set[i];
            return 0;
        }
    }
}

static char fold(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive (ASCII) search of needle[0..nlen) in hay. */
static bool contains_ci(const char *hay, const char *needle, size_t nlen)
{
    size_t hlen = strlen(hay);
    if (nlen == 0 || nlen > hlen)
        return false;
    for (size_t i = 0; i + nlen <= hlen; i++) {
        size_t k = 0;
        while (k < nlen && fold(hay[i + k]) == fold(needle[k]))
            k++;
        if (k == nlen)
            return true;
    }
    return false;
}

static bool is_delim(char c)
{
    return c == ',' || c == '.' || c == '-' || c == '_' || c == '#' || c == ' ' || c == '\t';
}

bool password_ad_complex(const char *pw, const char *sam, const char *display_name)
{
    if (!pw)
        return false;
    int up = 0, lo = 0, dig = 0, sym = 0;
    for (const char *c = pw; *c; c++) {
        if (*c >= 'A' && *c <= 'Z')
            up = 1;
        else if (*c >= 'a' && *c <= 'z')
            lo = 1;
        else if (*c >= '0' && *c <= '9')
            dig = 1;
        else if (strchr(ad_special, *c))
            sym = 1;
    }
    if (up + lo + dig + sym < 3)
        return false;
    if (sam && strlen(sam) >= 3 && contains_ci(pw, sam, strlen(sam)))
        return false;
    if (display_name) {
        const char *s = display_name;
        while (*s) {
            while (*s && is_delim(*s))
                s++;
            const char *start = s;
            while (*s && !is_delim(*s))
                s++;
            size_t n = (size_t)(s - start);
            if (n >= 3 && contains_ci(pw, start, n))
                return false;
        }
    }
    return true;
}

static bool has_all_classes(const char *pw)
{
    int up = 0, lo = 0, dig = 0, sym = 0;
    for (const char *c = pw; *c; c++) {
        up |= strchr(UPPER, *c) != NULL;
        lo |= strchr(LOWER, *c) != NULL;
        dig |= strchr(DIGITS, *c) != NULL;
        sym |= strchr(SYMBOLS, *c) != NULL;
    }
    return up && lo && dig && sym;
}

char *password_generate(size_t len, const char *sam, const char *display_name, struct diag *d)
{
    if (len == 0)
        len = PASSWORD_DEFAULT_LEN;
    if (len < PASSWORD_MIN_LEN || len > PASSWORD_MAX_LEN) {
        diag_add(d, "password length %zu is out of range (%d to %d)", len, PASSWORD_MIN_LEN,
                 PASSWORD_MAX_LEN);
        return NULL;
    }
    static const char letters[] = UPPER LOWER;
    char *pw = xmalloc(len + 1);
    struct pool pool = {.pos = 0};
    /* A candidate misses a class with probability below 0.25 even at the
     * minimum length; 10,000 failed draws in a row mean something is
     * wrong (a display name that defeats every candidate cannot exist). */
    for (int attempt = 0; attempt < 10000; attempt++) {
        if (pick(&pool, letters, sizeof letters - 1, &pw[0]) < 0)
            goto fail_random;
        for (size_t i = 1; i < len; i++)
            if (pick(&pool, password_alphabet, sizeof password_alphabet - 1, &pw[i]) < 0)
                goto fail_random;
        pw[len] = '\0';
        if (has_all_classes(pw) && password_ad_complex(pw, sam, display_name)) {
            wipe(&pool, sizeof pool);
            return pw;
        }
    }
    wipe(&pool, sizeof pool);
    free_secret(pw);
    diag_add(d, "could not generate a password that meets AD's complexity rule");
    return NULL;
fail_random:
    wipe(&pool, sizeof pool);
    wipe(pw, len + 1);
    free(pw);
    diag_add(d, "getrandom failed: %s", strerror(errno));
    return NULL;
}
