#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Part of tests/lab (the throwaway lab domain). Run by lab.sh between
# `samba-tool domain provision` and the first start of samba, directly on the
# freshly provisioned sam.ldb (local, system session, no network):
#   - sets the Administrator password to the one lab.sh generated, read from
#     its 0600 file, so the password never appears in any process's argv;
#   - creates OU=Hosting and OU=Sites,OU=Hosting under the domain root;
#   - registers the DC's ldap/ and GC/ service principal names. Samba adds
#     them with samba_spnupdate from its "dnsupdate" service, which lab.sh
#     turns off (it is slow and useless with --dns-backend=NONE); without
#     them a Kerberos (SASL GSSAPI) bind to ldap/dc1.lab.test fails with
#     "Server not found in Kerberos database".
# Usage: lab-offline-setup.py SMB_CONF PASSWORD_FILE
import sys

from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
import ldb


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: lab-offline-setup.py SMB_CONF PASSWORD_FILE\n")
        return 2
    conf, pwfile = argv[1], argv[2]
    with open(pwfile, "r", encoding="utf-8") as f:
        password = f.read()
    if not password or "\n" in password:
        sys.stderr.write("lab-offline-setup: bad password file %s\n" % pwfile)
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
    samdb.create_ou("OU=Sites," + hosting,
                    description="provision lab: per-site accounts")
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

    print("lab-offline-setup: password set, created OU=Sites,%s" % hosting)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
