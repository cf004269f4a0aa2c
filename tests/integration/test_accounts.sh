#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# provision with AD accounts, end to end on the lab domain: `apply` creates
# the site's IUSR_<id> account over LDAPS and a SpecificUser pool running as
# LAB\IUSR_<id>; the stored password binds; re-apply changes nothing; plan
# shows nothing; --rotate-passwords sets a new one; destroy deletes the
# account and returns the config to its original bytes; an unmarked account
# of the same name is refused (or adopted, and then never deleted); a site
# that fails after its account was made gets the account deleted again; a
# configuration changed by someone else mid-run refuses the write and every
# account the run made is deleted; a wrong bind password and a stopped DC
# are clear errors that change nothing, and so are a bind account that is
# disabled, expired or locked out. Usage: test_accounts.sh BUILD_DIR.
# Needs root. A lab that cannot start is a failure.
set -uo pipefail
export LC_ALL=C
# shellcheck source=lab-test.sh
source "$(dirname "$0")/lab-test.sh"
lab_test_begin accounts "${1:?usage: test_accounts.sh BUILD_DIR}"

cfg=$work/iis/applicationHost.config
setup() {
  rm -rf "$work/iis"; mkdir -p "$work/iis"
  cp "$FIXTURE" "$cfg"; chmod 644 "$cfg"
  lab_provision_conf "$repo" "$cfg" "" "secrets_file = $work/secrets" ${1:+"$1"} \
    "[iis]" "backups = 2" > "$work/provision.ini"
}
prov() { in_lab "$P" -c "$work/provision.ini" "$@"; }
# account_exists SAM: 0 when the directory has it
account_exists() {
  in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" \
    -b "$LAB_BASE_DN" "(sAMAccountName=$1)" dn 2>/dev/null | grep -q '^dn:'
}
# pool_password SITE: the password stored in the pool's processModel
pool_password() {
  python3 - "$cfg" "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for add in root.iter("add"):
    if add.get("name") == sys.argv[2]:
        print(add.find("processModel").get("password"))
PY
}
# binds SAM PASSWORD: 0 when a simple bind with it works (password via a 0600 file)
binds() {
  local f=$work/pw; (umask 077; printf '%s' "$2" > "$f")
  in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "$1@$LAB_DNS_DOMAIN" -y "$f" -b "$LAB_BASE_DN" \
    -s base dn >/dev/null 2>&1
  local rc=$?; rm -f "$f"; return $rc
}

cat > "$work/sites.ini" <<'EOF2'
[site shop.example.com]
template = ad-identity
id = shop
EOF2

# --- life cycle -------------------------------------------------------------
setup
out=$(prov plan "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "+ account IUSR_shop" <<<"$out" && ! account_exists IUSR_shop \
  && cmp -s "$cfg" "$FIXTURE" && ok "plan shows + account and changes nothing" || bad "plan: $out"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && account_exists IUSR_shop && ok "apply creates IUSR_shop in AD" || bad "apply (rc $rc): $out"
grep -q 'identityType="SpecificUser" userName="LAB\\IUSR_shop" password="' "$cfg" \
  && ok "the pool runs as LAB\\IUSR_shop (SpecificUser)" || bad "pool identity"
pw=$(pool_password shop.example.com)
[ -n "$pw" ] && binds IUSR_shop "$pw" && ok "the stored password binds as IUSR_shop" || bad "bind with stored password"
! grep -qF -- "$pw" <<<"$out" && ok "the password is not in the output" || bad "password printed"
[ "$(stat -c %a "$work/secrets")" = 600 ] && grep -q "^IUSR_shop	shop.example.com	$pw\$" "$work/secrets" \
  && ok "secrets file (0600) holds it" || bad "secrets file"
in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" \
  -b "$LAB_BASE_DN" "(sAMAccountName=IUSR_shop)" adminDescription userAccountControl distinguishedName \
  > "$work/acct.ldif" 2>&1
grep -q "adminDescription: provision:site=shop.example.com" "$work/acct.ldif" \
  && grep -q "userAccountControl: 66048" "$work/acct.ldif" && grep -qi "OU=Sites,OU=Hosting" "$work/acct.ldif" \
  && ok "marker, UAC 66048 and the template's OU" || bad "account attributes: $(cat "$work/acct.ldif")"
out=$(prov sid 'LAB\IUSR_shop' 'IUSR_shop@lab.test' 2>&1)
[ "$(grep -c 'S-1-5-21-[0-9-]*$' <<<"$out")" = 2 ] && ok "sid LAB\\IUSR_shop via LDAP: $(head -1 <<<"$out" | cut -f2)" \
  || bad "sid over LDAP: $out"
cp "$cfg" "$work/applied"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && cmp -s "$cfg" "$work/applied" && grep -q "No changes" <<<"$out" \
  && binds IUSR_shop "$pw" && ok "re-apply changes nothing (no rotation)" || bad "re-apply: $out"
pwd_last_set() {
  in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" \
    -b "$LAB_BASE_DN" "(sAMAccountName=$1)" pwdLastSet 2>/dev/null | sed -n 's/^pwdLastSet: //p'
}
before=$(pwd_last_set IUSR_shop); sleep 1
out=$(in_lab "$P" -c "$work/provision.ini" --rotate-passwords apply "$work/sites.ini" 2>&1); rc=$?
pw2=$(pool_password shop.example.com)
# (Samba, like AD, keeps accepting the old password for a while after a
# reset - "old password allowed period" - so the check is pwdLastSet.)
[ $rc -eq 0 ] && [ "$pw2" != "$pw" ] && binds IUSR_shop "$pw2" && [ "$(pwd_last_set IUSR_shop)" != "$before" ] \
  && grep -q "~ account IUSR_shop (rotated on request)" <<<"$out" \
  && ok "--rotate-passwords: a new password set in AD and stored in the pool" \
  || bad "rotate (rc $rc): $out"
out=$(prov destroy "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && ! account_exists IUSR_shop && cmp -s "$cfg" "$FIXTURE" && grep -q -- "- account IUSR_shop" <<<"$out" \
  && ok "destroy deletes the account and restores the config bytes" || bad "destroy (rc $rc): $out"

# --- an unmarked account of the wanted name -----------------------------------
setup
python3 - "$LAB_SITES_OU" > "$work/unmarked.ldif" <<'PY'
import base64, sys
pw = base64.b64encode('"Unmarked-Passw0rd-1"'.encode("utf-16-le")).decode()
print(f"dn: CN=IUSR_shop,{sys.argv[1]}\nobjectClass: user\nsAMAccountName: IUSR_shop\n"
      f"unicodePwd:: {pw}\nuserAccountControl: 66048")
PY
in_lab ldapadd -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" -f "$work/unmarked.ldif" >/dev/null 2>&1
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "was not created by provision" <<<"$out" && cmp -s "$cfg" "$FIXTURE" \
  && ok "an unmarked account is refused, config unchanged" || bad "unmarked (rc $rc): $out"
setup "adopt_unmarked = true"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
pw=$(pool_password shop.example.com)
[ $rc -eq 0 ] && binds IUSR_shop "$pw" && ok "adopt_unmarked: used, with a new password set" || bad "adopt (rc $rc): $out"
out=$(prov destroy "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && account_exists IUSR_shop && cmp -s "$cfg" "$FIXTURE" \
  && ok "destroy keeps an adopted account" || bad "destroy adopted (rc $rc): $out"
in_lab ldapdelete -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" "CN=IUSR_shop,$LAB_SITES_OU" >/dev/null 2>&1

# --- failures after the account was made ---------------------------------------
setup
printf '[site clash.example.com]\ntemplate = ad-identity\nid = clash\nsite.bindings = http/*:80:\n' > "$work/clash.ini"
out=$(prov apply "$work/clash.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && ! account_exists IUSR_clash && cmp -s "$cfg" "$FIXTURE" \
  && grep -q "already used by site 'Default Web Site'" <<<"$out" \
  && ok "a site refused by IIS rules: no account left behind" || bad "clash (rc $rc): $out"

for i in $(seq -w 1 60); do printf '[site b%s.example.com]\ntemplate = ad-identity\nid = b%s\n' "$i" "$i"; done > "$work/batch.ini"
( sleep 0.4; printf '<!-- edited by someone else -->\r\n' >> "$cfg" ) &
out=$(prov apply "$work/batch.ini" 2>&1); rc=$?
wait
left=0
for i in 01 30 60; do account_exists "IUSR_b$i" && left=$((left + 1)); done
[ $rc -ne 0 ] && [ $left -eq 0 ] && grep -q "changed by someone else" <<<"$out" \
  && grep -q "accounts created in this run deleted again" <<<"$out" \
  && ok "config changed mid-run: nothing written, the run's 60 accounts deleted again" \
  || bad "mid-run change (rc $rc, $left accounts left): $(tail -3 <<<"$out")"

# --- directory errors ------------------------------------------------------------
setup
(umask 077; printf 'wrong-password' > "$work/wrong")
sed -i "s|^password_file = .*|password_file = $work/wrong|" "$work/provision.ini"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -qi "password" <<<"$out" && cmp -s "$cfg" "$FIXTURE" \
  && ok "wrong bind password: clear error, nothing changed ($(grep -m1 -o 'bind[^[]*' <<<"$out" | head -c 90))" \
  || bad "wrong bind password (rc $rc): $out"
# A bind account that is disabled, or expired: the DC's own refusal, named.
for state in disabled expired; do
  user="svc_$state" pw="Svc-Passw0rd-$state-9"
  in_lab samba-tool user create "$user" "$pw" -H "$LAB_DIR/private/sam.ldb" >/dev/null 2>&1
  if [ "$state" = disabled ]; then
    in_lab samba-tool user disable "$user" -H "$LAB_DIR/private/sam.ldb" >/dev/null 2>&1
  else
    in_lab samba-tool user setexpiry "$user" --days=-1 -H "$LAB_DIR/private/sam.ldb" >/dev/null 2>&1 ||
      in_lab samba-tool user setexpiry "$user" --days=0 -H "$LAB_DIR/private/sam.ldb" >/dev/null 2>&1
  fi
  (umask 077; printf '%s' "$pw" > "$work/$user.pw")
  setup
  sed -i "s|^bind_dn = .*|bind_dn = $user@$LAB_DNS_DOMAIN|; s|^password_file = .*|password_file = $work/$user.pw|" \
    "$work/provision.ini"
  out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
  [ $rc -ne 0 ] && grep -qi "$state" <<<"$out" && cmp -s "$cfg" "$FIXTURE" && ! account_exists IUSR_shop \
    && ok "$state bind account: clear error, nothing changed ($(grep -o -m1 "bind as [^[]*" <<<"$out" | head -c 100))" \
    || bad "$state bind account (rc $rc): $out"
done

# A locked-out bind account (the lab's policy gets a lockout threshold here,
# after every other account test).
in_lab samba-tool domain passwordsettings set --account-lockout-threshold=2 \
  -H "$LAB_DIR/private/sam.ldb" >/dev/null 2>&1
user=svc_locked pw=Svc-Passw0rd-locked-9
in_lab samba-tool user create "$user" "$pw" -H "$LAB_DIR/private/sam.ldb" >/dev/null 2>&1
(umask 077; printf '%s' "$pw" > "$work/$user.pw"; printf 'wrong' > "$work/$user.bad")
for _ in 1 2 3; do binds "$user" wrong; done
setup
sed -i "s|^bind_dn = .*|bind_dn = $user@$LAB_DNS_DOMAIN|; s|^password_file = .*|password_file = $work/$user.pw|" \
  "$work/provision.ini"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -qi "locked" <<<"$out" && cmp -s "$cfg" "$FIXTURE" \
  && ok "locked-out bind account: clear error, nothing changed ($(grep -o -m1 "bind as [^[]*" <<<"$out" | head -c 100))" \
  || bad "locked-out bind account (rc $rc): $out"

setup
kill "$LAB_SAMBA_PID" 2>/dev/null; sleep 1
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && cmp -s "$cfg" "$FIXTURE" \
  && ok "DC stopped: clear error, nothing changed ($(head -c 120 <<<"$out"))" || bad "DC stopped (rc $rc): $out"

summary
