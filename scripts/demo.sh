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
# Everything goes over the network, as it would to a Windows host: the IIS
# configuration over smb:// on [iis], the site folders and NTFS grants over
# smb:// on [sites] (enforced by the server: shown with a login as the
# site's account), the account over LDAPS.
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
# shellcheck source=../tests/lab/provision-conf.sh
source "$repo/tests/lab/provision-conf.sh"
lab_provision_conf "$repo" "smb://$LAB_HOST/iis/$LAB_APPHOST_REL" "smb://$LAB_HOST/sites" \
  "secrets_file = $work/secrets" "[iis]" "backups = 5" > "$work/provision.ini"
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
(umask 077; awk -F'\t' '$1 == "IUSR_shop" { printf "%s", $3 }' "$work/secrets" > "$pwfile")
if in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "IUSR_shop@$LAB_DNS_DOMAIN" -y "$pwfile" \
  -b "$LAB_BASE_DN" -s base dn >/dev/null; then
  echo "== a bind as IUSR_shop with its generated password works"
else
  echo "demo: IUSR_shop cannot bind with its password" >&2; exit 1
fi

echo
echo "== NTFS grants on the content share, as the server stores them:"
for f in shop.example.com shop.example.com/wwwroot shop.example.com/data; do
  printf '%-28s ' "$f"
  in_lab smbcacls -A "$LAB_SMB_AUTHFILE" --numeric --sddl "$LAB_SMB_SITES" "$f" 2>/dev/null
done
echo "== enforced: logged in over SMB as IUSR_shop"
auth=$work/iusr.auth
(umask 077; printf 'username = IUSR_shop\npassword = %s\ndomain = %s\n' "$(cat "$pwfile")" "$LAB_DOMAIN" > "$auth")
echo upload > "$work/upload.txt"
for target in data wwwroot; do
  if in_lab smbclient -A "$auth" "$LAB_SMB_SITES" -c "put $work/upload.txt shop.example.com/$target/upload.txt" >/dev/null 2>&1 \
     && [ -f "$LAB_SITES_PATH/shop.example.com/$target/upload.txt" ]; then
    echo "   write into shop.example.com\\$target: allowed"
  else
    echo "   write into shop.example.com\\$target: denied"
  fi
done
rm -f "$pwfile" "$auth"

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
