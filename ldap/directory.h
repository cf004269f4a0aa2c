/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Active Directory service accounts over LDAP (libldap): connect (always
 * encrypted), bind, find, create, set password, delete, check a password.
 * The only module that talks to the directory; knows nothing of templates,
 * sites lists or IIS. Facts behind it: RFC 4511 and RFC 4513 (operations,
 * binds, StartTLS), MS-ADTS 3.1.1.3 (LDAP on AD; unicodePwd: 3.1.1.3.1.5.1)
 * and MS-ADTS 2.2.16 (userAccountControl).
 *
 * Transport. ldaps:// is TLS from the first byte; ldap:// always gets
 * StartTLS before anything else is sent. The server certificate is verified
 * against ca_file (or the system CA store when ca_file is NULL) and must
 * name the host of the URI. tls_insecure turns the check off; dir_warning
 * says so. The one exception to TLS is gssapi_seal: Samba refuses
 * SASL GSSAPI inside TLS unless the DC sets "ldap server require strong
 * auth = allow_sasl_over_tls", and wants Kerberos sealing instead; with
 * gssapi_seal the ldap:// connection carries no TLS but the bind requires a
 * SASL security layer of at least 56 bits (checked again after the bind),
 * so nothing, not even the first search, travels in clear. A plain simple
 * bind is never attempted on an unencrypted connection.
 *
 * Errors go to the caller's struct diag, one message per failure, each
 * naming the object, the server and what to do (ldap/errors.h). After a lost
 * connection or a timeout the handle is dead: every call fails at once;
 * dir_close() it and dir_open() again. SIGPIPE is blocked around every call
 * (a DC that goes away must not kill the process). Not thread-safe: one
 * struct dir per thread. */
#ifndef PROVISION_LDAP_DIRECTORY_H
#define PROVISION_LDAP_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

struct diag;

struct dir_config {
    const char *uri;           /* ldaps://host[:port] or ldap://host[:port]; one host, no DN */
    const char *ca_file;       /* CA bundle (PEM) for the server certificate; NULL: system store */
    bool tls_insecure;         /* no certificate check (see dir_warning); still encrypted */
    const char *bind_dn;       /* simple bind: DN, UPN (user@dns.domain) or DOMAIN\user */
    const char *password_file; /* simple bind password from this file: owned by us or root,
                                  no group/other permission bits; one trailing newline is
                                  dropped ... */
    const char *password_env;  /* ... or from this environment variable. Never argv. */
    bool sasl_gssapi;          /* bind with the caller's Kerberos ticket (KRB5CCNAME) instead */
    bool gssapi_seal;          /* with sasl_gssapi and ldap://: Kerberos sealing instead of TLS */
    const char *base_dn;       /* e.g. DC=lab,DC=test; checked to exist at dir_open */
    const char *upn_suffix;    /* userPrincipalName = sam@upn_suffix, e.g. lab.test */
    int timeout_seconds;       /* connect, TLS, bind and each operation; <= 0: 30 */
    bool create_ou;            /* create the missing OU path of a new account */
    bool adopt_unmarked;       /* an existing unmarked account of the wanted name is used
                                  (never marked, never deleted) instead of refused */
    const char *const *groups; /* groups for new accounts: a DN (relative to base_dn or
                                  absolute) or a group's sAMAccountName */
    size_t n_groups;
};

struct dir; /* a bound connection */

/* Connects, secures, binds and checks that base_dn exists. 0, or -1 with a
 * message in d (*out is then NULL). */
int dir_open(const struct dir_config *cfg, struct dir **out, struct diag *d);
void dir_close(struct dir *dir);
/* How the connection is protected, for verbose output and tests, e.g.
 * "StartTLS, certificate verified" or "SASL GSSAPI sealing (SSF 256)". */
const char *dir_security(const struct dir *dir);
/* A warning about the connection for the caller to show the user, or NULL
 * (this module prints nothing). Today only: certificate checks are off
 * (tls_insecure). Worded like the error messages ("ldap: ..."), without a
 * "warning:" label. dir_check_password gives none; dir_open with the same
 * cfg does. */
const char *dir_warning(const struct dir *dir);

struct dir_account {
    char *dn, *sam, *sid /* S-1-5-21-... */, *guid /* 8-4-4-4-12 */, *upn, *description;
    bool managed;       /* carries the provision marker (account.h) */
    char *managed_site; /* the site the marker names, or NULL */
    bool adopted;       /* unmarked but used because adopt_unmarked is set: the caller
                           should say so; such an account is never deleted */
};
void dir_account_free(struct dir_account *acct); /* frees the members; NULL is fine */

/* Looks the user up by sAMAccountName under base_dn. 1 found (*out filled),
 * 0 absent, -1 error (a sam that breaks the rules is refused before any
 * LDAP traffic; a sam that names a group or computer is an error). */
int dir_find_account(struct dir *dir, const char *sam, struct dir_account *out, struct diag *d);

/* The same for n names at once, with one search per 64 names. out[i] and
 * found[i] (1 found, 0 absent, -1 a problem with that name, reported) for
 * each. Returns 0, or -1 when any name failed or the search did. */
int dir_find_accounts(struct dir *dir, const char *const *sams, size_t n, struct dir_account *out,
                      int *found, struct diag *d);

struct dir_account_spec {
    const char *sam;          /* checked against the rules first (account.h) */
    const char *ou;           /* e.g. OU=Sites,OU=Hosting, relative to base_dn (or absolute) */
    const char *display_name; /* NULL: sam */
    const char *description;  /* may be NULL */
    const char *site;         /* written into the marker */
};

/* Creates a user in ONE add: objectClass user, sAMAccountName,
 * userPrincipalName, displayName, description, unicodePwd, userAccountControl
 * 66048 (normal, password never expires), the marker; then adds it to the
 * configured groups (a failure there deletes the account again) and reads
 * back DN, SID and GUID into *out.
 * Returns 1 created; 0 an account of that name already exists and was used
 * as it is (marked for the same site, or unmarked with adopt_unmarked: see
 * out->adopted) - its password is NOT changed, use dir_set_password; -1
 * error (including: exists unmarked, or marked for another site). */
int dir_create_account(struct dir *dir, const struct dir_account_spec *spec, const char *password,
                       struct dir_account *out, struct diag *d);

/* The same for many accounts, with several operations in flight on the one
 * connection (much faster than one at a time). Each item gets its own
 * result (1, 0, -1 as above) and account. Returns the number of items that
 * failed; messages for each failure go to d. */
struct dir_create_item {
    const struct dir_account_spec *spec;
    const char *password;
    struct dir_account account; /* out */
    int result;                 /* out */
};
size_t dir_create_accounts(struct dir *dir, struct dir_create_item *items, size_t n,
                           struct diag *d);

/* Administrative reset of the password of the user at dn (must carry the
 * marker, or adopt_unmarked must be set). 0 or -1. */
int dir_set_password(struct dir *dir, const char *dn, const char *password, struct diag *d);

/* Deletes the account, after reading it again by DN and GUID: refuses an
 * account without the marker, or whose marker names another site than
 * acct->managed_site, or that is no longer the object acct describes.
 * 1 deleted, 0 already gone, -1 error or refused. */
int dir_delete_account(struct dir *dir, const struct dir_account *acct, struct diag *d);

/* Opens a separate connection with cfg's server and TLS settings, binds as
 * upn with password and reads base_dn (Samba has no WhoAmI). 1 accepted,
 * 0 refused (the reason, e.g. "wrong user name or password" or "the account
 * is disabled", in d), -1 other error (unreachable, TLS, ...). */
int dir_check_password(const struct dir_config *cfg, const char *upn, const char *password,
                       struct diag *d);

#endif
