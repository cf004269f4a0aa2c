/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libldap (and liblber), loaded when first needed (dlopen) instead of at
 * start: a run that never talks to a directory does not map libldap nor
 * what it drags in (GnuTLS, p11-kit, SASL, tasn1, hogweed, gmp, idn2,
 * unistring, ffi, lber: about 2.6 MB of RSS a process). Owns the one table
 * through which every ldap_* and ber_* function of the ldap/ module is
 * called (and the one liblber data object it uses); nothing in ldap/ calls
 * libldap by name.
 *
 * When it loads. dir_new (directory_connection.c), where every connection
 * starts (dir_open, dir_open_retry, dir_logons_check, hence
 * dir_check_password and dir_wait_replica), calls ldap_api_load first and
 * fails with its message, before base_dn or the URI is parsed (ldap_str2dn,
 * ldap_url_parse). Every other libldap call runs on a struct dir or an LDAP
 * handle, so after that load. Two callers run before any connection and
 * load it themselves, doing without the library when it cannot be loaded:
 * dir_wait_replica's server name for messages (directory_replica.c; its
 * connection then reports the failure) and dir_error_text's name for an
 * LDAP code (errors.c; the unit tests' fake directory uses it).
 *
 * How ldap/ calls it. Through ldap_lib(), e.g. ldap_lib()->ldap_msgfree(res):
 * the fields keep the library's names (grep finds every call), no function
 * needs an extra parameter or a struct dir to reach the table, and a call
 * can never go through a NULL pointer: ldap_lib() loads the library when
 * nobody did (a call before a load is then still right), and stops the
 * process with ldap_api_load's message when it cannot be loaded (only a call
 * outside the entry points above could get there).
 *
 * liblber: libldap-2.5.so.0 has liblber-2.5.so.0 as a dependency, so the
 * one dlopen brings both, and dlsym on libldap's handle finds the ber_*
 * symbols in its dependencies: liblber is not opened by name. */
#ifndef PROVISION_LDAP_LDAP_API_H
#define PROVISION_LDAP_LDAP_API_H

#include <lber.h>
#include <ldap.h>

struct diag;

/* The library's soname (it brings liblber-2.5.so.0): the ABI these
 * prototypes are for, and the Debian package that ships it. */
#define LDAP_API_SONAME  "libldap-2.5.so.0"
#define LDAP_API_PACKAGE "libldap-2.5-0"

/* Every libldap and liblber function ldap/ uses (X-macro: one list for the
 * table's fields and the symbol look-ups). A function missing here is not
 * linked in by accident: provision does not link libldap, so a direct call
 * fails the link. */
#define LDAP_API_FUNCTIONS(X)                                                                      \
    X(ldap_abandon_ext)                                                                            \
    X(ldap_add_ext)                                                                                \
    X(ldap_connect)                                                                                \
    X(ldap_delete_ext)                                                                             \
    X(ldap_dnfree)                                                                                 \
    X(ldap_err2string)                                                                             \
    X(ldap_free_urldesc)                                                                           \
    X(ldap_get_dn)                                                                                 \
    X(ldap_get_option)                                                                             \
    X(ldap_get_values_len)                                                                         \
    X(ldap_initialize)                                                                             \
    X(ldap_memfree)                                                                                \
    X(ldap_modify_ext)                                                                             \
    X(ldap_msgfree)                                                                                \
    X(ldap_msgid)                                                                                  \
    X(ldap_msgtype)                                                                                \
    X(ldap_next_message)                                                                           \
    X(ldap_parse_result)                                                                           \
    X(ldap_result)                                                                                 \
    X(ldap_sasl_bind)                                                                              \
    X(ldap_sasl_interactive_bind_s)                                                                \
    X(ldap_search_ext)                                                                             \
    X(ldap_set_option)                                                                             \
    X(ldap_start_tls_s)                                                                            \
    X(ldap_str2dn)                                                                                 \
    X(ldap_tls_inplace)                                                                            \
    X(ldap_unbind_ext_s)                                                                           \
    X(ldap_url_parse)                                                                              \
    X(ldap_value_free_len)                                                                         \
    X(ber_sockbuf_add_io)                                                                          \
    X(ber_sockbuf_ctrl)

/* Data objects of the libraries that ldap/ needs: ber_pvt_opt_on, the
 * object LDAP_OPT_ON points to (that macro names it, so ldap/ writes
 * ldap_lib()->ber_pvt_opt_on instead). The field is the object's address. */
#define LDAP_API_DATA(X) X(ber_pvt_opt_on)

struct ldap_api {
#define LDAP_API_FIELD(name) __typeof__(&name) name;
    LDAP_API_FUNCTIONS(LDAP_API_FIELD)
    LDAP_API_DATA(LDAP_API_FIELD)
#undef LDAP_API_FIELD
};

/* The table, loading the library on the first call (later calls return
 * the same table; thread-safe). NULL when the library or one of its
 * symbols cannot be loaded (the libldap-2.5-0 package is missing, or
 * another version), with a message naming the soname and the package in d
 * (d may be NULL: no message). The library stays loaded. */
const struct ldap_api *ldap_api_load(struct diag *d);

/* The table, for code that runs after ldap_api_load succeeded (see above).
 * Never NULL: loads the library if that was not done; when it cannot be
 * loaded, prints ldap_api_load's message on stderr and aborts. */
const struct ldap_api *ldap_lib(void);

#endif
