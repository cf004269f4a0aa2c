/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Generated passwords for the service accounts, and AD's default
 * complexity rule so that a generated password is never refused.
 *
 * Alphabet (63 characters, about 5.98 bits each; 24 characters give about
 * 143 bits):
 *   upper   ABCDEFGHJKLMNPQRSTUVWXYZ   (no I, O)
 *   lower   abcdefghijkmnopqrstuvwxyz  (no l)
 *   digits  23456789                   (no 0, 1)
 *   symbols - _ . : + @
 * The look-alikes are left out because people read these passwords off a
 * screen when they debug a pool. The symbols are the ones that need no
 * quoting anywhere the password is likely to travel: XML attributes (no
 * & < > " '), POSIX shells (no $ ` \ ! ; | & * ? ~ # ( ) [ ] { } or space),
 * cmd.exe (no % ^ and none of its argument separators , ; =) and
 * PowerShell (no $ ` ' " , ; and no @ or - in the first place). All six are
 * in AD's list of non-alphanumeric characters. The first character is
 * always a letter, so that no tool reads the password as an option.
 *
 * Every password holds all four classes (AD's default policy wants three
 * of the four), does not contain the account name, nor any token of the
 * display name of three or more characters (AD checks both, and so does
 * Samba). A candidate that misses a class or contains a token is thrown away
 * whole and drawn again, and each character is drawn by rejection sampling,
 * so the result is uniform over all the passwords that qualify. Randomness
 * comes from getrandom(2) (the kernel CSPRNG); random bytes are wiped after
 * use. */
#ifndef PROVISION_LDAP_PASSWORD_H
#define PROVISION_LDAP_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

struct diag;

#define PASSWORD_DEFAULT_LEN 24
#define PASSWORD_MIN_LEN     16
#define PASSWORD_MAX_LEN     128

/* A new password of len characters (0 means PASSWORD_DEFAULT_LEN) for the
 * account sam (may be NULL) with display name display_name (may be NULL).
 * Returns NULL with a message in d if len is out of range or the kernel
 * gives no random bytes. Free with free_secret(). */
char *password_generate(size_t len, const char *sam, const char *display_name, struct diag *d);

/* AD's "password must meet complexity requirements" (Windows and Samba):
 * at least three of upper case, lower case, digits and non-alphanumeric
 * (~!@#$%^&*_-+=`|\(){}[]:;"'<>,.?/); no copy of sam (if it has three or
 * more characters) and no token of display_name of three or more characters
 * (tokens split at , . - _ # space and tab), both compared ignoring ASCII
 * case. Length is a separate policy (minPwdLength); not checked here. */
bool password_ad_complex(const char *pw, const char *sam, const char *display_name);

/* For tests: maps a random byte to an index in [0, n) without bias, or
 * returns -1 when the byte must be rejected (b >= 256 - 256 % n). */
int password_uniform_index(unsigned char b, unsigned n);

/* For tests: the alphabet described above, as one string. */
extern const char password_alphabet[];

#endif
