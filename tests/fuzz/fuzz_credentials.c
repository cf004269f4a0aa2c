/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as an SMB credentials file (smbclient -A
 * format: username, password, domain; provision/smb/smbtext.h
 * smb_authfile_parse, which provision/smb/smb.c load_authfile feeds with
 * the file's bytes).
 *
 * The reader holds secrets: the password passes through its line buffer
 * and ends up in the result. Besides "nothing may crash or leak", this
 * target checks that the password never shows up where it must not:
 *   - each input is parsed as is, then again with a line
 *     "password = <canary>" inserted among its lines (where depends on the
 *     input's size);
 *   - the canary must never be in the error message;
 *   - on success the password is exactly the canary (the only password
 *     line) and the user name is not empty;
 *   - under AddressSanitizer, a free hook looks at every block freed while
 *     the parser runs and while the result is freed: a block that still
 *     holds the canary was freed without being wiped (wipe/free_secret).
 * The canary is skipped when the input itself contains it. */
#include "provision/smb/smbtext.h"
#include "provision/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_FREE_HOOK 1
#include <sanitizer/allocator_interface.h>
#endif
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char canary[] = "Cz9-canary-pw-Qx4";
#define CANARY_LEN (sizeof canary - 1)

static int contains(const void *hay, size_t n, const char *needle, size_t m)
{
    /* Byte by byte: libFuzzer's memmem and memcmp hooks would feed the
     * canary back into the inputs. */
    const unsigned char *h = hay;
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && h[i + k] == (unsigned char)needle[k])
            k++;
        if (k == m)
            return 1;
    }
    return 0;
}

#ifdef FUZZ_FREE_HOOK
static volatile int armed;

static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
}

static void on_free(const volatile void *p)
{
    if (!armed || !p)
        return;
    size_t n = __sanitizer_get_allocated_size(p);
    if (contains((const void *)p, n, canary, CANARY_LEN)) {
        fprintf(stderr,
                "fuzz_credentials: a block of %zu bytes holding the password was freed "
                "without being wiped\n",
                n);
        abort();
    }
}
#endif

static void parse(const char *text, size_t len, int with_canary)
{
    struct smb_authfile a;
    char err[160];
    memset(err, 'x', sizeof err);
#ifdef FUZZ_FREE_HOOK
    armed = with_canary;
#endif
    int rc = smb_authfile_parse(text, len, &a, err, sizeof err);
    if (rc == 0) {
        if (!a.username || !*a.username || !a.password)
            abort();
        if (with_canary && strcmp(a.password, canary) != 0)
            abort(); /* the one password line is ours */
        if (a.domain && !*a.domain)
            abort(); /* an empty domain is dropped */
        if (with_canary && (contains(a.username, strlen(a.username), canary, CANARY_LEN) ||
                            (a.domain && contains(a.domain, strlen(a.domain), canary, CANARY_LEN))))
            abort();
        smb_authfile_free(&a);
    } else {
        if (rc != -1 || a.username || a.password || a.domain)
            abort(); /* nothing is left allocated */
        if (!memchr(err, '\0', sizeof err) || !err[0] || strchr(err, '\n'))
            abort(); /* a one-line reason */
        if (with_canary && contains(err, strlen(err), canary, CANARY_LEN))
            abort(); /* the password is never in the message */
    }
    if (a.username || a.password || a.domain)
        abort(); /* smb_authfile_free clears the members */
#ifdef FUZZ_FREE_HOOK
    armed = 0;
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_FREE_HOOK
    static int hooked;
    if (!hooked++ && !__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free))
        abort();
#endif
    if (size > 65536) /* smb.c: AUTHFILE_MAX is far below */
        return 0;
    parse((const char *)data, size, 0);
    if (contains(data, size, canary, CANARY_LEN))
        return 0;

    /* The input's lines with "password = <canary>" inserted. */
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    size_t at_line = size % (lines + 2), pos = 0;
    for (size_t l = 0; l < at_line && pos < size; pos++)
        l += data[pos] == '\n';
    static const char key[] = "password = ";
    size_t n = size + 1 + (sizeof key - 1) + CANARY_LEN + 1;
    char *buf = xmalloc(n), *w = buf;
    memcpy(w, data, pos);
    w += pos;
    if (pos && data[pos - 1] != '\n')
        *w++ = '\n';
    memcpy(w, key, sizeof key - 1);
    w += sizeof key - 1;
    memcpy(w, canary, CANARY_LEN);
    w += CANARY_LEN;
    *w++ = '\n';
    memcpy(w, data + pos, size - pos);
    w += size - pos;
    parse(buf, (size_t)(w - buf), 1);
    wipe(buf, n);
    free(buf);
    return 0;
}
