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
 * struct dir per thread.
 *
 * libldap is not linked: the first call that connects (dir_open,
 * dir_check_password, dir_logons_check, dir_wait_replica) loads it
 * (ldap/ldap_api.h), so a run without a directory never maps it. A missing
 * library is an error of that call like any other ("ldap: cannot load
 * libldap-2.5.so.0 (install the libldap-2.5-0 package): ..."). */
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
                                  (never marked, never deleted) instead of refused, when
                                  dir_check_adoption allows it */
    const char *const *adopt_groups; /* the groups, besides Domain Users, an adopted account
                                  may belong to (a DN or a name, as for groups) */
    size_t n_adopt_groups;
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
    bool adopted;       /* unmarked, and adopt_unmarked is set: it may be used if
                           dir_check_adoption says so (the caller must ask before using
                           it; dir_create_account and dir_set_password ask themselves);
                           the caller should say so; such an account is never deleted */
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
/* The same, telling fn(ctx, index) of each item created (result 1) as soon
 * as it is, with its account filled in, while the others are still in
 * flight: the caller can meanwhile do the site's work on other servers.
 * fn may use this module again (synchronous operations on the same
 * connection are fine: the batch's answers wait in libldap's queue). */
typedef void (*dir_created_fn)(void *ctx, size_t index);
size_t dir_create_accounts_notify(struct dir *dir, struct dir_create_item *items, size_t n,
                                  dir_created_fn fn, void *ctx, struct diag *d);

/* Whether the unmarked account acct (found by dir_find_account(s): dn and
 * guid) may be adopted: used as a site's identity, its password reset.
 * adopt_unmarked must be set, and the object, read again (a base search on
 * acct->dn, the GUID checked), must be:
 *  - a user: not a computer (nor a managed service account, a computer
 *    too), group or contact;
 *  - an ordinary account: userAccountControl has NORMAL_ACCOUNT and no
 *    trust-account, temporary-duplicate, RODC or delegation bit
 *    (account.h dir_uac_problem);
 *  - not built in: its RID is DIR_FIRST_ORDINARY_RID or more
 *    (Administrator is 500, krbtgt 502);
 *  - directly in ou (relative to base_dn or absolute: the template's OU,
 *    where dir_create_account would make it); ou NULL: not checked;
 *  - within its groups: every SID of its tokenGroups (read with that base
 *    search; the DC computes it as for a logon: every group it is in,
 *    directly or through nesting, the primary group included) is Domain
 *    Users (RID 513 of its domain), an adopt_groups group, or a group one
 *    of those is itself a member of, directly or through nesting (Builtin
 *    Users through Domain Users; an LDAP_MATCHING_RULE_IN_CHAIN search per
 *    group, once per handle); and none is an administrative group
 *    (account.h dir_sid_protected_group), even when adopt_groups names it
 *    or Domain Users is nested in it.
 * adminCount is NOT used: SDProp sets it only once an hour, never clears it
 * when the account leaves the protected groups, and it says nothing of
 * groups that are powerful by delegation (a "Helpdesk" group allowed to
 * reset passwords in an OU); only the actual transitive membership,
 * checked against an allow-list, bounds what an adopted password hands out.
 * 1 allowed; 0 refused, with one message naming the account, its DN and the
 * reason (for groups: their DN and SID, e.g. "member of CN=Domain
 * Admins,CN=Users,DC=... (S-1-5-21-...-512, an administrative group: never
 * adopted)"); -1 error (including adopt_groups naming a group that does not
 * exist or is administrative). */
int dir_check_adoption(struct dir *dir, const struct dir_account *acct, const char *ou,
                       struct diag *d);

/* Administrative reset of the password of the user at dn (must carry the
 * marker, or adopt_unmarked must be set and dir_check_adoption, with no OU
 * known here, allow it). 0 or -1. */
int dir_set_password(struct dir *dir, const char *dn, const char *password, struct diag *d);

/* Deletes the account, after reading it again by DN and GUID: refuses an
 * account without the marker, or whose marker names another site than
 * acct->managed_site, or that is no longer the object acct describes.
 * 1 deleted, 0 already gone, -1 error or refused. */
int dir_delete_account(struct dir *dir, const struct dir_account *acct, struct diag *d);

/* What `check` needs to know of an account a pool or anonymous identity
 * runs as: its groups and whether it can log on. */
struct dir_account_state {
    char **groups; /* tokenGroups: every group SID, nested ones included (heap) */
    size_t n_groups;
    bool groups_read;           /* false: tokenGroups could not be read (rights) */
    bool disabled;              /* userAccountControl ACCOUNTDISABLE */
    bool locked_out;            /* msDS-User-Account-Control-Computed LOCKOUT */
    bool password_expired;      /* ... PASSWORD_EXPIRED, or must change at next logon */
    long long account_expires;  /* FILETIME (100 ns since 1601), 0: never */
    long long password_expires; /* msDS-UserPasswordExpiryTimeComputed, 0: never */
};
void dir_account_state_free(struct dir_account_state *st);

/* Reads the state of the account acct (found by dir_find_account) with one
 * base search on its DN (tokenGroups is only given to base searches):
 * userAccountControl, msDS-User-Account-Control-Computed, accountExpires,
 * msDS-UserPasswordExpiryTimeComputed, pwdLastSet and tokenGroups.
 * Constructed attributes the server does not give count as "not so"
 * (Samba and Windows give all of them). 1 read, 0 the account is gone,
 * -1 error. */
int dir_read_account_state(struct dir *dir, const struct dir_account *acct,
                           struct dir_account_state *out, struct diag *d);

/* Whether any object of the domain has the SID sid ("S-1-5-21-..."): one
 * base search on <SID=...>. 1 yes, 0 no such object, -1 error. For
 * entries naming accounts that were deleted (orphaned SIDs). */
int dir_sid_exists(struct dir *dir, const char *sid, struct diag *d);

/* Replication. Another DC of the domain learns of a new account, or of a
 * password set, only when AD replication brings it there: seconds later
 * within a site, at the next scheduled replication between sites. A host
 * that asks that DC meanwhile does not find the account (an IIS pool then
 * fails to start). */
struct dir_replica_item {
    const char *label;      /* for messages: "IUSR_x (CN=...)" */
    const char *guid;       /* the object's objectGUID (replicated; a DN may change) */
    long long pwd_last_set; /* 0: being there is enough (a new account); else its
                               pwdLastSet must be at least this (a password set) */
    bool seen;              /* out: there, and current enough */
};

/* The pwdLastSet of the account at dn (FILETIME: 100 ns units since 1601),
 * read on this connection: what dir_wait_replica waits for after
 * dir_set_password. pwdLastSet is replicated with the password (whenChanged
 * and uSNChanged are not: each DC sets its own). 0 and *out, or -1. */
int dir_pwd_last_set(struct dir *dir, const char *dn, long long *out, struct diag *d);

/* Waits until the DC at uri has every item: connects with cfg's other
 * settings (bind, TLS, base_dn; cfg->uri is ignored) and searches base_dn
 * for the items not seen yet by objectGUID (one search per 64), again and
 * again with growing pauses (dir_replica_next_delay: 250 ms doubling to
 * 5 s) until every item is seen or timeout_ms has passed; each connect and
 * search may take up to cfg's timeout, cut to the time left (at least 1 s).
 * A connection that fails or is lost is opened again at the next poll; a
 * failure that waiting cannot cure (TLS, credentials, base_dn, bad URI) ends
 * the wait at once (retrying a refused bind could lock the account out).
 * stop (may be NULL) is asked before each poll and each pause; true ends
 * the wait (a signal). items[i].seen says which arrived. Returns 0 when
 * every item is seen; else -1 with one message (dir_replica_failure) naming
 * the server, the time waited, why, the items not seen and the last error.
 * Items with seen already set are not looked for. */
int dir_wait_replica(const struct dir_config *cfg, const char *uri, struct dir_replica_item *items,
                     size_t n, long timeout_ms, bool (*stop)(void *), void *stop_arg,
                     struct diag *d);

/* Opens a separate connection with cfg's server and TLS settings, binds as
 * upn with password and reads base_dn (Samba has no WhoAmI). 1 accepted,
 * 0 refused (the reason, e.g. "wrong user name or password" or "the account
 * is disabled", in d), -1 other error (unreachable, TLS, ...). */
int dir_check_password(const struct dir_config *cfg, const char *upn, const char *password,
                       struct diag *d);

/* The same for many accounts on one connection (`check`: a password per
 * pool): the connection is made on the first check and kept; each check is
 * one simple bind on it (a refused one counts toward that account's
 * lockout: callers never retry), then a read of base_dn. A connection that
 * broke is made again at the next check. Results as dir_check_password. */
struct dir_logons;
int dir_logons_open(const struct dir_config *cfg, struct dir_logons **out);
int dir_logons_check(struct dir_logons *l, const char *upn, const char *password, struct diag *d);
void dir_logons_close(struct dir_logons *l); /* NULL is fine */

#endif
