/* SPDX-License-Identifier: GPL-3.0-or-later */
/* AD/LDAP error texts: see errors.h. The codes are Win32 error codes as AD
 * (and Samba) put them at the start of the diagnostic message:
 *   0000052D ERROR_PASSWORD_RESTRICTION      00002071 ERROR_DS_NAME_ERROR... in use
 *   00002030 ERROR_DS_OBJ_NOT_FOUND (parent) 0000202F ERROR_DS_INVALID_...CHARACTER
 *   00002098 ERROR_DS_INSUFF_ACCESS_RIGHTS   00000005 ERROR_ACCESS_DENIED
 *   00002015 ERROR_DS_CANT_ON_NON_LEAF       00000525 ERROR_NO_SUCH_USER
 * and the bind "data" codes (MS-ADTS 3.1.1.3.4.1.28 / Win32):
 *   52e logon failure, 525 no such user, 530 logon hours, 531 workstation,
 *   532 password expired, 533 disabled, 701 account expired,
 *   773 must change password, 775 locked out. */
#include "ldap/errors.h"

#include "ldap/ldap_api.h"
#include "provision/util.h"

#include <ctype.h>
#include <ldap.h>
#include <stdlib.h>
#include <string.h>

static int hexdig(int c)
{
    return isxdigit(c) != 0;
}

bool dir_ad_code(const char *s, unsigned long *code)
{
    if (!s)
        return false;
    for (int i = 0; i < 8; i++)
        if (!hexdig((unsigned char)s[i]))
            return false;
    if (s[8] != ':')
        return false;
    char buf[9];
    memcpy(buf, s, 8);
    buf[8] = '\0';
    *code = strtoul(buf, NULL, 16);
    return true;
}

bool dir_bind_data(const char *s, unsigned long *code)
{
    if (!s)
        return false;
    for (const char *p = strstr(s, "data "); p; p = strstr(p + 1, "data ")) {
        const char *h = p + 5;
        size_t n = 0;
        while (hexdig((unsigned char)h[n]))
            n++;
        if (n >= 1 && n <= 8 && (h[n] == ',' || h[n] == '\0' || h[n] == ' ')) {
            char buf[9];
            memcpy(buf, h, n);
            buf[n] = '\0';
            *code = strtoul(buf, NULL, 16);
            return true;
        }
    }
    return false;
}

static const char *op_phrase(enum dir_op op)
{
    switch (op) {
    case DIR_OP_CONNECT:
        return "cannot connect to the LDAP server";
    case DIR_OP_BIND:
        return "cannot bind as";
    case DIR_OP_SEARCH:
        return "cannot look up";
    case DIR_OP_CREATE:
        return "cannot create account";
    case DIR_OP_CREATE_OU:
        return "cannot create OU";
    case DIR_OP_GROUP:
        return "cannot add";
    case DIR_OP_PASSWORD:
        return "cannot set the password of";
    case DIR_OP_DELETE:
        return "cannot delete";
    case DIR_OP_CHECK_PASSWORD:
        return "password check failed for";
    }
    return "LDAP operation failed for";
}

static const char *bind_reason(unsigned long data)
{
    switch (data) {
    case 0x52e:
        return "wrong user name or password";
    case 0x525:
        return "no such user";
    case 0x530:
        return "the account may not log on at this time (logon hours)";
    case 0x531:
        return "the account may not log on from this workstation";
    case 0x532:
        return "the password has expired";
    case 0x533:
        return "the account is disabled";
    case 0x701:
        return "the account has expired";
    case 0x773:
        return "the password must be changed before the account can log on";
    case 0x775:
        return "the account is locked out (too many bad passwords)";
    }
    return NULL;
}

static bool has(const char *s, const char *needle)
{
    return s && strstr(s, needle) != NULL;
}

/* The explanation for rc/diagnostic, or NULL to fall back on the server's
 * text alone. */
static const char *explain(enum dir_op op, int rc, const char *diag)
{
    unsigned long code = 0, data = 0;
    bool coded = dir_ad_code(diag, &code);

    if (rc == LDAP_INVALID_CREDENTIALS) {
        if (dir_bind_data(diag, &data) && bind_reason(data))
            return bind_reason(data);
        return "invalid credentials";
    }
    if (coded) {
        switch (code) {
        case 0x52D:
            return "the password does not meet the domain's password policy (length, "
                   "complexity, history or minimum age)";
        case 0x2071:
            if (op == DIR_OP_GROUP)
                return "the account is already a member of the group";
            return "the account name (sAMAccountName) is already in use in the domain";
        case 0x2030:
            if (op == DIR_OP_CREATE || op == DIR_OP_CREATE_OU)
                return "the parent OU or container does not exist";
            if (op == DIR_OP_GROUP)
                return "the group does not exist";
            return "the object does not exist";
        case 0x202F:
            return "a value contains characters AD does not accept";
        case 0x2098:
        case 0x5:
            return "insufficient access rights: the bind account may not do this here";
        case 0x2015:
            return "the object has child objects";
        case 0x525:
            return "the account does not exist";
        }
    }
    switch (rc) {
    case LDAP_SERVER_DOWN:
        return "the server cannot be reached or closed the connection (is it running, are the "
               "host name and port right?)";
    case LDAP_TIMEOUT:
        return "no answer from the server within the timeout";
    case LDAP_CONNECT_ERROR:
        return "the connection could not be established";
    case LDAP_INSUFFICIENT_ACCESS:
        return "insufficient access rights: the bind account may not do this here";
    case LDAP_ALREADY_EXISTS:
        return op == DIR_OP_GROUP ? "the account is already a member of the group"
                                  : "an object with this DN already exists";
    case LDAP_NO_SUCH_OBJECT:
        if (op == DIR_OP_CREATE || op == DIR_OP_CREATE_OU)
            return "the parent OU or container does not exist";
        return "the object does not exist (check the DN and base_dn)";
    case LDAP_STRONG_AUTH_REQUIRED:
        if (has(diag, "Sign or Seal are required"))
            return "the server insists on Kerberos signing/sealing and, like Samba by default "
                   "('ldap server require strong auth = yes'), refuses it inside TLS: use an "
                   "ldap:// URI with gssapi_seal, or set 'ldap server require strong auth = "
                   "allow_sasl_over_tls' on the DC";
        return "the server requires a stronger (encrypted) connection or authentication";
    case LDAP_UNWILLING_TO_PERFORM:
        if (has(diag, "Sign or Seal are not allowed if TLS"))
            return "the server refuses SASL signing/sealing inside TLS";
        return "the server is unwilling to perform the operation";
    case LDAP_CONSTRAINT_VIOLATION:
        return "a value breaks a constraint of the directory";
    case LDAP_INVALID_SYNTAX:
        return "a value has an invalid syntax";
    case LDAP_INVALID_DN_SYNTAX:
        return "the DN is malformed";
    case LDAP_OBJECT_CLASS_VIOLATION:
        return "the entry breaks its object class rules";
    case LDAP_NAMING_VIOLATION:
        return "the object may not be created under that parent";
    case LDAP_NOT_ALLOWED_ON_NONLEAF:
        return "the object has child objects";
    case LDAP_UNDEFINED_TYPE:
        return "the directory schema lacks an attribute this tool uses";
    case LDAP_REFERRAL:
        return "the server referred the request elsewhere: the DN is not in this domain "
               "(check base_dn)";
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
        return "the server is busy or unavailable";
    case LDAP_LOCAL_ERROR:
        if (has(diag, "GSSAPI") && has(diag, "credentials"))
            return "no usable Kerberos ticket (run kinit, check KRB5CCNAME)";
        if (has(diag, "GSSAPI") || has(diag, "SASL"))
            return "Kerberos (SASL GSSAPI) failed";
        return "libldap reported a local error";
    case LDAP_AUTH_UNKNOWN:
    case LDAP_NOT_SUPPORTED:
        return "the SASL mechanism is not available here (GSSAPI needs the "
               "libsasl2-modules-gssapi-mit package)";
    case LDAP_PARAM_ERROR:
        return "invalid parameter (a bug in the caller)";
    }
    return NULL;
}

static char *tidy(const char *s)
{
    if (!s)
        return NULL;
    char *t = trim(xstrdup(s));
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    if (!*t) {
        free(t);
        return NULL;
    }
    return t;
}

/* libldap's name for rc. Callers may have no connection (the unit tests'
 * fake directory), so this loads the library itself; without it, a
 * neutral text instead of a crash (ldap/ldap_api.h). */
static const char *rc_name(int rc)
{
    const struct ldap_api *lib = ldap_api_load(NULL);
    return lib ? lib->ldap_err2string(rc) : "LDAP error";
}

char *dir_error_text(enum dir_op op, int rc, const char *diagnostic, const char *object,
                     const char *server)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_adds(&sb, "ldap: ");
    sb_adds(&sb, op_phrase(op));
    if (op != DIR_OP_CONNECT && object && *object) {
        sb_addc(&sb, ' ');
        sb_adds(&sb, object);
    }
    sb_adds(&sb, op == DIR_OP_CONNECT ? " " : " on ");
    sb_adds(&sb, server && *server ? server : "(unknown server)");
    const char *why = explain(op, rc, diagnostic);
    char *said = tidy(diagnostic);
    sb_adds(&sb, ": ");
    sb_adds(&sb, why ? why : rc_name(rc));
    sb_adds(&sb, " [");
    if (said)
        sb_addf(&sb, "server: %s; ", said);
    sb_addf(&sb, "LDAP %d %s]", rc, rc_name(rc));
    free(said);
    return sb_detach(&sb);
}

char *dir_tls_error_text(const char *server, const char *ca_file, const char *detail)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_addf(&sb,
            "ldap: TLS with %s failed: the server's certificate could not be verified%s%s%s. "
            "The certificate names the host: connect by that name (the one in the "
            "certificate), not by an IP address or another alias, and check that the CA file "
            "holds the CA that issued it",
            server && *server ? server : "(unknown server)", ca_file ? " against CA file " : "",
            ca_file ? ca_file : " against the system CA store", "");
    char *said = tidy(detail);
    /* libldap's GnuTLS layer often says only "(unknown error code)". */
    if (said && strcmp(said, "(unknown error code)") != 0)
        sb_addf(&sb, " [%s]", said);
    free(said);
    return sb_detach(&sb);
}
