#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job on the built-in lab domain: builds provision, starts a
# throwaway Samba AD DC with its [iis] share (standing in for an IIS host's
# C$, holding a real Windows Server 2016 applicationHost.config) and
# provisions examples/lab-sites.ini: an AD-identity site (its own IUSR_shop
# account created over LDAPS, the pool running as LAB\IUSR_shop), a standard
# ApplicationPoolIdentity site and a static site served as IUSR. validate,
# plan, apply, re-apply (no change), list; the account is shown in AD and its
# stored password is checked with a bind; the result is read back over SMB;
# destroy removes sites and account and the file is byte for byte the
# original again. Stops the lab on exit. Needs root.
#
# provision edits the share's file through the lab's folder (as on a mount of
# C$, or on the host itself); folders and NTFS grants come with issue 4.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (the lab domain needs namespaces)" >&2; exit 1; }

echo "== building"
provision=$("$repo/scripts/build.sh")

lab=$(mktemp -d /tmp/provision-lab.XXXXXX)
cleanup() { "$repo/tests/lab/lab.sh" stop "$lab" >/dev/null || true; rm -rf "$lab"; }
trap cleanup EXIT
echo "== starting the lab domain in $lab"
"$repo/tests/lab/lab.sh" start "$lab"
# shellcheck disable=SC1091
source "$lab/lab.env"

config="$LAB_IIS_PATH/$LAB_APPHOST_REL"
work=$lab/provision
mkdir -p "$work"
cat > "$work/provision.ini" <<CONF
[iis]
config = $config
backups = 5
plain_passwords = accept
[content]
root = D:\\Sites
[templates]
dir = $repo/templates
[directory]
netbios = $LAB_DOMAIN
uri = $LAB_LDAPS_URI
ca_file = $LAB_CA
bind_dn = $LAB_ADMIN_UPN
password_file = $LAB_ADMIN_PASSWORD_FILE
base_dn = $LAB_BASE_DN
upn_suffix = $LAB_DNS_DOMAIN
CONF
sites=$repo/examples/lab-sites.ini
in_lab() { "$repo/tests/lab/lab.sh" exec "$lab" -- "$@"; }
run() { echo; echo "\$ provision $*"; in_lab "$provision" -c "$work/provision.ini" "$@"; }
export LDAPTLS_CACERT=$LAB_CA

run validate "$sites"
run plan "$sites"
run apply "$sites"
run apply "$sites"
run list

echo
echo "== the site's own account in AD:"
in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" \
  -b "$LAB_BASE_DN" "(sAMAccountName=IUSR_shop)" distinguishedName userPrincipalName \
  adminDescription userAccountControl | grep -v '^# ref'

run sid 'LAB\IUSR_shop' 'IIS AppPool\blog.example.com' IUSR
pwfile=$work/pool.pw
(umask 077; python3 - "$config" > "$pwfile" <<'PY'
import sys, xml.etree.ElementTree as ET
for add in ET.parse(sys.argv[1]).getroot().iter("add"):
    if add.get("name") == "shop.example.com":
        sys.stdout.write(add.find("processModel").get("password"))
PY
)
if in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "IUSR_shop@$LAB_DNS_DOMAIN" -y "$pwfile" \
  -b "$LAB_BASE_DN" -s base dn >/dev/null; then
  echo "== a bind as IUSR_shop with the password stored in its pool works"
else
  echo "demo: IUSR_shop cannot bind with the pool's password" >&2; exit 1
fi
rm -f "$pwfile"

echo
echo "== the IIS host's applicationHost.config, read back over SMB (//$LAB_HOST/iis):"
"$repo/tests/lab/lab.sh" exec "$lab" -- smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_IIS" \
  -c "get $LAB_APPHOST_REL $work/from-smb.config" >/dev/null
# (passwords are masked: secrets never reach the output)
diff "$repo/tests/fixtures/applicationHost.server2016-default.config" "$work/from-smb.config" \
  | tr -d '\r' | sed -E 's/password="[^"]*"/password="(secret)"/g' || true

run destroy "$sites"
if cmp -s "$config" "$repo/tests/fixtures/applicationHost.server2016-default.config"; then
  echo; echo "== destroy returned applicationHost.config to its original bytes"
else
  echo "demo: the configuration differs from the original after destroy" >&2
  exit 1
fi
