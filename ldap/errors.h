/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Turns an LDAP result code plus the server's diagnostic text into one
 * message a person can act on. Knows AD's texts: a leading 8-hex-digit
 * Win32 code ("0000052D: ..."), and "data XXX" in bind failures. Never
 * looks at DSID-... (build-specific). Pure but for the name of an LDAP
 * code, which is libldap's (ldap_err2string; dir_error_text loads the
 * library for it when no connection did: ldap/ldap_api.h). Tested with the
 * texts captured from the lab DC (tests/unit/ldap/test_errors.c). */
#ifndef PROVISION_LDAP_ERRORS_H
#define PROVISION_LDAP_ERRORS_H

#include <stdbool.h>

/* What was being done; chooses the opening words of the message. */
enum dir_op {
    DIR_OP_CONNECT,        /* object: unused (the server is named) */
    DIR_OP_BIND,           /* object: the bind identity */
    DIR_OP_SEARCH,         /* object: what was searched for */
    DIR_OP_CREATE,         /* object: "IUSR_x (CN=...)" */
    DIR_OP_CREATE_OU,      /* object: the OU's DN */
    DIR_OP_GROUP,          /* object: "IUSR_x to group CN=..." */
    DIR_OP_PASSWORD,       /* object: the account */
    DIR_OP_DELETE,         /* object: the account */
    DIR_OP_CHECK_PASSWORD, /* object: the account's UPN */
};

/* The message: "<op phrase> <object> on <server>: <explanation>" followed
 * by " [server: <diagnostic>; LDAP <rc> <name>]" when there is something to
 * show. rc is an LDAP result code (libldap's negative API codes included);
 * diagnostic may be NULL. Caller frees. */
char *dir_error_text(enum dir_op op, int rc, const char *diagnostic, const char *object,
                     const char *server);

/* A TLS set-up failure: names the server and the CA file, and says that the
 * certificate names the host, so the URI must use that name. detail (may be
 * NULL) is whatever libldap said. Caller frees. */
char *dir_tls_error_text(const char *server, const char *ca_file, const char *detail);

/* The Win32 error code that starts an AD diagnostic ("0000052D: ..."):
 * true and *code set, or false. */
bool dir_ad_code(const char *diagnostic, unsigned long *code);
/* The "data XXX" sub-code of a failed bind ("... error, data 52e, v1db1"):
 * true and *code set, or false. */
bool dir_bind_data(const char *diagnostic, unsigned long *code);

#endif
