#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Part of tests/lab (the throwaway lab domain). Run by lab.sh between
# `samba-tool domain provision` and the first start of samba, directly on the
# freshly provisioned sam.ldb (local, system session, no network):
#   - sets the Administrator password to the one lab.sh generated, read from
#     its 0600 file, so the password never appears in any process's argv;
#   - creates OU=Hosting and OU=Sites,OU=Hosting under the domain root;
#   - creates the least-privilege operator provision-op (password from its
#     own 0600 file) and delegates to it, on OU=Sites, exactly what provision
#     does there (see OPERATOR_ACES below); adds it to BUILTIN\Administrators
#     unless LAB_OPERATOR_ADMIN=0 (the tool's isolation keeps only
#     Administrators and SYSTEM in a site folder: without it the operator
#     locks itself out of the folders it isolates); writes its SID to a file;
#   - registers the DC's ldap/ and GC/ service principal names. Samba adds
#     them with samba_spnupdate from its "dnsupdate" service, which lab.sh
#     turns off (it is slow and useless with --dns-backend=NONE); without
#     them a Kerberos (SASL GSSAPI) bind to ldap/dc1.lab.test fails with
#     "Server not found in Kerberos database".
# Usage: lab-offline-setup.py SMB_CONF PASSWORD_FILE OP_PASSWORD_FILE OP_SID_FILE
import os
import sys

from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB
from samba.sd_utils import SDUtils
import ldb

OPERATOR = "provision-op"
# Class and attribute schemaIDGUIDs (MS-ADSC) and the control access right.
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"  # User-Force-Change-Password
ADMIN_DESCRIPTION = "bf967919-0de6-11d0-a285-00aa003049e2"  # the tool's marker
# What provision does in the sites' OU, and nothing else (checked in the lab:
# the add with every attribute the tool sets needs CreateChild only; it never
# modifies an attribute afterwards, except the password):
#   CC/DC on user objects in the OU: create the sites' accounts, delete them;
#   CR Reset Password on users below: --rotate-passwords, adopt_unmarked,
#     recovery of a rotation;
#   RP adminDescription on users below: the marker the tool checks before it
#     touches an account (readable today through Pre-Windows 2000 Compatible
#     Access, which hardened domains empty).
OPERATOR_ACES = ("(OA;;CCDC;%(user)s;;%(sid)s)"
                 "(OA;CIIO;CR;%(reset)s;%(user)s;%(sid)s)"
                 "(OA;CIIO;RP;%(marker)s;%(user)s;%(sid)s)")


def read_password(path):
    with open(path, "r", encoding="utf-8") as f:
        password = f.read()
    if not password or "\n" in password:
        sys.stderr.write("lab-offline-setup: bad password file %s\n" % path)
        return None
    return password


def main(argv):
    if len(argv) != 5:
        sys.stderr.write("usage: lab-offline-setup.py SMB_CONF PASSWORD_FILE "
                         "OP_PASSWORD_FILE OP_SID_FILE\n")
        return 2
    conf, pwfile, op_pwfile, op_sidfile = argv[1:5]
    password = read_password(pwfile)
    op_password = read_password(op_pwfile)
    if password is None or op_password is None:
        return 1

    lp = LoadParm()
    lp.load(conf)
    samdb = SamDB(url=lp.private_path("sam.ldb"),
                  session_info=system_session(), lp=lp)

    samdb.setpassword("(&(objectClass=user)(sAMAccountName=Administrator))",
                      password, force_change_at_next_login=False,
                      username="Administrator")

    base = str(samdb.domain_dn())
    hosting = "OU=Hosting," + base
    samdb.create_ou(hosting, description="provision lab: hosting accounts")
    sites = "OU=Sites," + hosting
    samdb.create_ou(sites, description="provision lab: per-site accounts")

    samdb.newuser(OPERATOR, op_password,
                  description="provision lab: least-privilege operator")
    res = samdb.search(base=base, scope=ldb.SCOPE_SUBTREE,
                       expression="(sAMAccountName=%s)" % OPERATOR,
                       attrs=["objectSid"])
    op_sid = str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))
    SDUtils(samdb).dacl_add_ace(sites, OPERATOR_ACES % {
        "user": USER_CLASS, "reset": RESET_PASSWORD,
        "marker": ADMIN_DESCRIPTION, "sid": op_sid})
    if os.environ.get("LAB_OPERATOR_ADMIN", "1") != "0":
        samdb.add_remove_group_members("Administrators", [OPERATOR],
                                       add_members_operation=True)
    with open(op_sidfile, "w", encoding="utf-8") as f:
        f.write(op_sid)
    host = lp.get("netbios name").upper()
    realm = lp.get("realm").lower()
    fqdn = "%s.%s" % (host.lower(), realm)
    workgroup = lp.get("workgroup").upper()
    wanted = [
        "ldap/%s" % fqdn, "ldap/%s/%s" % (fqdn, workgroup),
        "ldap/%s/%s" % (fqdn, realm), "ldap/%s" % host,
        "GC/%s/%s" % (fqdn, realm),
        "HOST/%s/%s" % (fqdn, workgroup), "HOST/%s/%s" % (fqdn, realm),
        "RestrictedKrbHost/%s" % host, "RestrictedKrbHost/%s" % fqdn,
    ]
    res = samdb.search(base="OU=Domain Controllers," + base,
                       scope=ldb.SCOPE_SUBTREE,
                       expression="(sAMAccountName=%s$)" % host,
                       attrs=["servicePrincipalName"])
    if len(res) != 1:
        sys.stderr.write("lab-offline-setup: DC account %s$ not found\n" % host)
        return 1
    have = {str(v).lower() for v in res[0].get("servicePrincipalName", [])}
    add = [spn for spn in wanted if spn.lower() not in have]
    if add:
        msg = ldb.Message(res[0].dn)
        msg["servicePrincipalName"] = ldb.MessageElement(
            add, ldb.FLAG_MOD_ADD, "servicePrincipalName")
        samdb.modify(msg)

    print("lab-offline-setup: password set, created %s and operator %s (%s)"
          % (sites, OPERATOR, op_sid))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
