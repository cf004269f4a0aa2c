/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Private to ldap/: what the two halves of directory.h share. The handle
 * and everything that talks over it (SIGPIPE guard, error reports, waiting
 * for results, searches, DN parsing) are in directory_connection.c, which
 * also opens, binds and closes; the account operations that use them are
 * in directory_accounts.c, the adoption rules in directory_adoption.c.
 * Nothing outside ldap/ includes this file. */
#ifndef PROVISION_LDAP_DIRECTORY_INTERNAL_H
#define PROVISION_LDAP_DIRECTORY_INTERNAL_H

#include "ldap/directory.h"
#include "ldap/errors.h"
#include "ldap/ldap_api.h"

#include <ldap.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct dir {
    LDAP *ld;
    struct ldap_conncb conncb;
    bool tcp_connected; /* set by the connect callback, before any TLS */
    bool io_timed_out;  /* the I/O layer gave up waiting for the socket */
    bool broken;        /* connection lost or timed out */
    char *server;       /* host[:port], for messages */
    char *ca_file;
    char *who;  /* bind identity, for messages */
    char *base; /* base_dn, canonical form */
    char *upn_suffix;
    int timeout;
    bool create_ou, adopt_unmarked;
    char **group_names;
    size_t n_groups;
    char **group_dns; /* resolved on first use */
    bool groups_ready;
    char **ous; /* OUs known to exist */
    size_t n_ous;
    char **adopt_names; /* adopt_groups as configured */
    size_t n_adopt;
    char *adopt_domain; /* the domain SID the allowed set below was made for, or NULL */
    char **allowed;     /* SIDs an adopted account's groups may be (dir_check_adoption) */
    size_t n_allowed;
    char security[96];
    char *warning; /* for dir_warning(), or NULL */
};

/* dir_open, also saying whether a failure may pass by itself (the server
 * could not be reached, timed out or went away) or not (TLS, credentials,
 * base_dn, settings): for dir_wait_replica, which retries the first kind
 * only. */
int dir_open_retry(const struct dir_config *cfg, struct dir **out, struct diag *d, bool *transient);

/* Every public call that sends or receives runs between dir_guard_on and
 * dir_guard_off: SIGPIPE is blocked in this thread meanwhile, and one
 * raised by the call is swallowed. */
struct pipe_guard {
    sigset_t old;
    bool was_pending;
};
void dir_guard_on(struct pipe_guard *g);
void dir_guard_off(struct pipe_guard *g);

/* libldap's diagnostic message on ld (may be NULL), copied; caller frees. */
char *dir_diagnostic_of(LDAP *ld);
/* Adds dir_error_text(op, rc, diagnostic, object, server) to d. */
void dir_report(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *diagnostic,
                const char *object);
/* The same with a note of ours (not the server's words) appended. */
void dir_report_note(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *object,
                     const char *note);
/* Reports an API call that failed before any result arrived; a lost
 * connection makes the handle dead. */
void dir_report_api(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *object);
/* 0 when dir can be used; -1 reported (no handle, or a dead one). */
int dir_alive(struct dir *dir, struct diag *d, enum dir_op op, const char *object);

/* Waits (at most the timeout) for the complete result of msgid, or of any
 * operation with LDAP_RES_ANY. 0 and *res (caller ldap_msgfree), or an
 * LDAP code (timeout, server down) after which the handle is dead. */
int dir_wait_for(struct dir *dir, int msgid, LDAPMessage **res);
/* The result code of the final message of a chain (search entries and
 * references are skipped); *dm gets the diagnostic text (caller frees). */
int dir_result_of(struct dir *dir, LDAPMessage *res, char **dm);
/* The first search entry of res and, in *count, how many there are. */
LDAPMessage *dir_first_entry(LDAP *ld, LDAPMessage *res, int *count);
/* The first value of attr in entry e (heap, NUL-terminated; *len its
 * length when len), or NULL. */
char *dir_first_value(LDAP *ld, LDAPMessage *e, const char *attr, size_t *len);
/* Names (or GUIDs) looked up per search: (|(a=x)(a=y)...) of this many. */
#define DIR_FIND_CHUNK 64
/* Sends a search; msgid in *msgid. LDAP code. */
int dir_send_search(struct dir *dir, const char *base, int scope, const char *filter, char **attrs,
                    int *msgid);
/* Synchronous search. 0 and *res (caller ldap_msgfree), or -1 reported.
 * With rc_out, the result code goes there and noSuchObject is not an
 * error (0 is returned). */
int dir_search_sync(struct dir *dir, const char *base, int scope, const char *filter, char **attrs,
                    LDAPMessage **res, enum dir_op op, const char *object, struct diag *d,
                    int *rc_out);
/* Synchronous modify/add/delete result. 0 or the LDAP code (*dm set). */
int dir_finish_sync(struct dir *dir, int msgid, char **dm);

/* A DN as parsed by libldap: single-valued, string-valued RDNs. */
struct rdn {
    char *type, *value; /* value unescaped */
};
struct dnp {
    struct rdn *r;
    size_t n;
};
/* Parses an LDAPv3 DN (RFC 4514) of single-valued, string-valued RDNs.
 * 0 or -1. */
int dir_dn_parse(const char *s, struct dnp *out);
void dir_dnp_free(struct dnp *p);
/* r[0..n) as a DN string, values escaped (RFC 4514). Caller frees. */
char *dir_dn_format(const struct rdn *r, size_t n);

/* Shared by directory_accounts.c and directory_adoption.c. */
/* True when the last suffix->n RDNs of a are suffix (case-insensitive). */
bool dn_has_suffix(const struct dnp *a, const struct dnp *suffix);
/* s relative to base_dn (or absolute) made absolute, or NULL reported. */
char *absolute_dn(struct dir *dir, const char *s, const char *what, struct diag *d);
/* "user", "computer", "group" or "object", from e's objectClass. */
const char *kind_of(LDAP *ld, LDAPMessage *e);
/* e's DN, copied (caller frees; "" when there is none). */
char *entry_dn(LDAP *ld, LDAPMessage *e);
/* dir_check_adoption inside the SIGPIPE guard: 1, 0 refused, -1. */
int check_adoption(struct dir *dir, const struct dir_account *acct, const char *ou, struct diag *d);

#endif
