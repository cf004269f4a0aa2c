/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for ldap/errors.c, fed with the diagnostic texts captured from
 * the lab DC (Samba 4.17) with ldapadd/ldapmodify/ldapsearch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ldap.h>

#include "ldap/errors.h"

#define SRV  "dc1.lab.test"
#define ACCT "IUSR_ok (CN=IUSR_ok,OU=Sites,OU=Hosting,DC=lab,DC=test)"

/* Captured texts. */
#define BIND_52E                                                                                   \
    "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1"
#define BIND_533                                                                                   \
    "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1"
#define BIND_773                                                                                   \
    "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 773, v1db1"
#define BIND_701                                                                                   \
    "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 701, v1db1"
#define BIND_775                                                                                   \
    "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1"
#define PW_SHORT                                                                                   \
    "0000052D: Constraint violation - check_password_restrictions: the password is too short. "    \
    "It should be equal or longer than 7 characters!\n"
#define PW_COMPLEX                                                                                 \
    "0000052D: Constraint violation - check_password_restrictions: the password does not "         \
    "meet the complexity criteria!"
#define IN_USE    "00002071: samldb: samAccountName 'IUSR_ok' already in use!"
#define DN_EXISTS "Entry CN=IUSR_ok,OU=Sites,OU=Hosting,DC=lab,DC=test already exists"
#define NO_PARENT                                                                                  \
    "00002030: objectclass: Cannot add CN=IUSR_np,OU=Nope,OU=Hosting,DC=lab,DC=test, parent "      \
    "does not exist!"
#define BAD_CHAR      "0000202F: samldb: sAMAccountName contains invalid '*' character\n"
#define NO_ACCESS_ADD "acl: unable to get access to CN=IUSR_r1,OU=Sites,OU=Hosting,DC=lab,DC=test\n"
#define NO_WRITE                                                                                   \
    "00002098: Object CN=IUSR_ok,OU=Sites,OU=Hosting,DC=lab,DC=test has no write property "        \
    "access"
#define MEMBER_ALREADY                                                                             \
    "00002071: samldb: member CN=IUSR_ok,OU=Sites,OU=Hosting,DC=lab,DC=test already set via "      \
    "primaryGroupID 513"
#define NO_GROUP   "00002030: No such Base DN: CN=NoGroup,CN=Users,DC=lab,DC=test"
#define NON_LEAF   "00002015: subtree_delete: Unable to delete a non-leaf node (it has 1 children)!"
#define PLAIN_BIND "BindSimple: Transport encryption required."
#define GSS_TLS    "SASL:[GSSAPI]: Sign or Seal are not allowed if TLS is used"
#define GSS_SEAL   "SASL:[GSSAPI]: Sign or Seal are required."
#define NO_TICKET                                                                                  \
    "SASL(-1): generic failure: GSSAPI Error: No credentials were supplied, or the "               \
    "credentials were unavailable or inaccessible (No Kerberos credentials available "             \
    "(default cache: FILE:/tmp/nonexist.cc))"

static char *msg;

static void expect(enum dir_op op, int rc, const char *diag, const char *object, const char *needle)
{
    free(msg);
    msg = dir_error_text(op, rc, diag, object, SRV);
    if (!strstr(msg, needle))
        fail_msg("'%s' lacks '%s'", msg, needle);
    if (op != DIR_OP_CONNECT && object && !strstr(msg, object))
        fail_msg("'%s' does not name '%s'", msg, object);
    if (!strstr(msg, SRV))
        fail_msg("'%s' does not name the server", msg);
    if (strchr(msg, '\n'))
        fail_msg("'%s' holds a newline", msg);
}

static void test_codes(void **state)
{
    (void)state;
    unsigned long c;
    assert_true(dir_ad_code(PW_SHORT, &c));
    assert_int_equal(c, 0x52D);
    assert_true(dir_ad_code(IN_USE, &c));
    assert_int_equal(c, 0x2071);
    assert_true(dir_ad_code(BIND_52E, &c));
    assert_int_equal(c, 0x80090308);
    assert_false(dir_ad_code(DN_EXISTS, &c));
    assert_false(dir_ad_code("0000052:", &c));
    assert_false(dir_ad_code(NULL, &c));
    assert_true(dir_bind_data(BIND_52E, &c));
    assert_int_equal(c, 0x52e);
    assert_true(dir_bind_data(BIND_775, &c));
    assert_int_equal(c, 0x775);
    assert_false(dir_bind_data(IN_USE, &c));
    assert_false(dir_bind_data("data xyz", &c));
}

static void test_bind(void **state)
{
    (void)state;
    const char *who = "Administrator@lab.test";
    expect(DIR_OP_BIND, LDAP_INVALID_CREDENTIALS, BIND_52E, who, "wrong user name or password");
    expect(DIR_OP_BIND, LDAP_INVALID_CREDENTIALS, BIND_533, who, "disabled");
    expect(DIR_OP_BIND, LDAP_INVALID_CREDENTIALS, BIND_773, who, "must be changed");
    expect(DIR_OP_BIND, LDAP_INVALID_CREDENTIALS, BIND_701, who, "account has expired");
    expect(DIR_OP_BIND, LDAP_INVALID_CREDENTIALS, BIND_775, who, "locked out");
    expect(DIR_OP_CHECK_PASSWORD, LDAP_INVALID_CREDENTIALS,
           "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 532, "
           "v1db1",
           who, "password has expired");
    expect(DIR_OP_BIND, LDAP_INVALID_CREDENTIALS, NULL, who, "invalid credentials");
    expect(DIR_OP_BIND, LDAP_STRONG_AUTH_REQUIRED, PLAIN_BIND, who, "stronger");
    expect(DIR_OP_BIND, LDAP_STRONG_AUTH_REQUIRED, GSS_SEAL, "the Kerberos ticket", "gssapi_seal");
    expect(DIR_OP_BIND, LDAP_UNWILLING_TO_PERFORM, GSS_TLS, "the Kerberos ticket", "inside TLS");
    expect(DIR_OP_BIND, LDAP_LOCAL_ERROR, NO_TICKET, "the Kerberos ticket", "kinit");
    /* DSID is shown but never decides anything */
    expect(DIR_OP_BIND, LDAP_INVALID_CREDENTIALS, BIND_52E, who, "DSID-0C0903A9");
}

static void test_create(void **state)
{
    (void)state;
    expect(DIR_OP_CREATE, LDAP_CONSTRAINT_VIOLATION, PW_SHORT, ACCT, "password policy");
    expect(DIR_OP_CREATE, LDAP_CONSTRAINT_VIOLATION, PW_COMPLEX, ACCT, "password policy");
    expect(DIR_OP_CREATE, LDAP_UNWILLING_TO_PERFORM, PW_COMPLEX, ACCT, "password policy");
    expect(DIR_OP_PASSWORD, LDAP_CONSTRAINT_VIOLATION, PW_SHORT, ACCT, "password policy");
    expect(DIR_OP_CREATE, LDAP_ALREADY_EXISTS, IN_USE, ACCT, "already in use");
    expect(DIR_OP_CREATE, LDAP_ALREADY_EXISTS, DN_EXISTS, ACCT, "DN already exists");
    expect(DIR_OP_CREATE, LDAP_NO_SUCH_OBJECT, NO_PARENT, ACCT, "parent OU");
    expect(DIR_OP_CREATE, LDAP_CONSTRAINT_VIOLATION, BAD_CHAR, ACCT, "characters");
    expect(DIR_OP_CREATE, LDAP_INSUFFICIENT_ACCESS, NO_ACCESS_ADD, ACCT, "access rights");
    expect(DIR_OP_PASSWORD, LDAP_INSUFFICIENT_ACCESS, NO_WRITE, ACCT, "access rights");
    expect(DIR_OP_GROUP, LDAP_ALREADY_EXISTS, MEMBER_ALREADY, "IUSR_ok to group X",
           "already a member");
    expect(DIR_OP_GROUP, LDAP_NO_SUCH_OBJECT, NO_GROUP, "IUSR_ok to group X",
           "group does not exist");
    expect(DIR_OP_DELETE, LDAP_NOT_ALLOWED_ON_NONLEAF, NON_LEAF, "OU=Hosting,DC=lab,DC=test",
           "child objects");
    expect(DIR_OP_SEARCH, LDAP_REFERRAL, NULL, "DC=other", "not in this domain");
    expect(DIR_OP_CREATE_OU, LDAP_NO_SUCH_OBJECT, NULL, "OU=a,DC=lab,DC=test", "parent");
}

static void test_transport(void **state)
{
    (void)state;
    expect(DIR_OP_CONNECT, LDAP_SERVER_DOWN, NULL, NULL, "cannot be reached");
    expect(DIR_OP_SEARCH, LDAP_SERVER_DOWN, NULL, "account IUSR_x", "cannot be reached");
    expect(DIR_OP_SEARCH, LDAP_TIMEOUT, NULL, "account IUSR_x", "timeout");
    free(msg);
    msg = dir_tls_error_text(SRV, "/tmp/ca.pem", "(unknown error code)");
    assert_non_null(strstr(msg, SRV));
    assert_non_null(strstr(msg, "/tmp/ca.pem"));
    assert_non_null(strstr(msg, "not by an IP address"));
    free(msg);
    msg = dir_tls_error_text(SRV, NULL, NULL);
    assert_non_null(strstr(msg, "system CA store"));
    free(msg);
    msg = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_transport),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(msg);
    return r;
}
