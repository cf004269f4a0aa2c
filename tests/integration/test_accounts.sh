#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# provision with AD accounts, end to end on the lab domain: `apply` creates
# the site's IUSR_<id> account over LDAPS and a SpecificUser pool running as
# LAB\IUSR_<id>; the stored password binds; re-apply changes nothing; plan
# shows nothing; --rotate-passwords sets a new one; destroy deletes the
# account and returns the config to its original bytes; an unmarked account
# of the same name is refused (or adopted, and then never deleted), and
# adoption takes only an ordinary user in the template's OU whose real
# tokenGroups lie within Domain Users and adopt_group (a Domain Admins
# member and a member of an unnamed group, made with samba-tool, are
# refused and keep their passwords); a site that fails after its account was made gets the account deleted again; a
# configuration changed by another tool mid-run is merged when the change
# is elsewhere, and refused (every account the run made deleted) when it
# touches the run's objects; a wrong bind password and a stopped DC
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
  lab_provision_conf "$repo" "$cfg" "" "secrets_file = $work/secrets" "$@" \
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

# --- adoption within limits: the OU, ordinary users, Domain Users + adopt_group ---
samdb="$LAB_DIR/private/sam.ldb" adopt_pw="Adopt-Passw0rd-acc-7"
if { in_lab samba-tool user create IUSR_boss "$adopt_pw" --userou=OU=Sites,OU=Hosting -H "$samdb" &&
     in_lab samba-tool group addmembers "Domain Admins" IUSR_boss -H "$samdb" &&
     in_lab samba-tool group add WebPools --groupou=OU=Hosting -H "$samdb" &&
     in_lab samba-tool user create IUSR_pool "$adopt_pw" --userou=OU=Sites,OU=Hosting -H "$samdb" &&
     in_lab samba-tool group addmembers WebPools IUSR_pool -H "$samdb"; } >"$work/samba-tool.log" 2>&1; then
  ok "samba-tool: IUSR_boss in Domain Admins and IUSR_pool in WebPools, both in the sites' OU"
else
  bad "samba-tool fixtures for adoption: $(cat "$work/samba-tool.log")"
fi
printf '[site boss.example.com]\ntemplate = ad-identity\nid = boss\n' > "$work/boss.ini"
printf '[site pool.example.com]\ntemplate = ad-identity\nid = pool\n' > "$work/pool.ini"
setup "adopt_unmarked = true"
out=$(prov plan "$work/boss.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "refusing to adopt account IUSR_boss (CN=IUSR_boss,OU=Sites,OU=Hosting" <<<"$out" \
  && grep -q "CN=Domain Admins,CN=Users,$LAB_BASE_DN (S-1-5-21-[0-9-]*-512, Domain Admins" <<<"$out" \
  && ok "plan: a Domain Admins member is not adopted ($(grep -o 'member of CN=Domain Admins[^,]*' <<<"$out" | head -1))" \
  || bad "plan with a Domain Admins member (rc $rc): $out"
out=$(prov apply "$work/boss.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "refusing to adopt account IUSR_boss" <<<"$out" && cmp -s "$cfg" "$FIXTURE" \
  && binds IUSR_boss "$adopt_pw" \
  && ok "apply: the Domain Admins member is refused, config unchanged, its password unchanged" \
  || bad "apply with a Domain Admins member (rc $rc): $out"
out=$(prov apply "$work/pool.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "member of CN=WebPools,OU=Hosting,$LAB_BASE_DN (S-1-5-21-[0-9-]*) (tokenGroups[^)]*), which is not in adopt_group" <<<"$out" \
  && cmp -s "$cfg" "$FIXTURE" && binds IUSR_pool "$adopt_pw" \
  && ok "apply: a member of WebPools is refused while adopt_group does not name it" \
  || bad "apply with a WebPools member, no adopt_group (rc $rc): $out"
setup "adopt_unmarked = true" "adopt_group = WebPools"
out=$(prov apply "$work/pool.ini" 2>&1); rc=$?
pw=$(pool_password pool.example.com)
[ $rc -eq 0 ] && [ -n "$pw" ] && binds IUSR_pool "$pw" \
  && ok "apply with adopt_group = WebPools: IUSR_pool adopted, its new password binds" \
  || bad "apply with adopt_group (rc $rc): $out"
out=$(prov destroy "$work/pool.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && account_exists IUSR_pool && cmp -s "$cfg" "$FIXTURE" \
  && ok "destroy keeps the adopted IUSR_pool" || bad "destroy adopted IUSR_pool (rc $rc): $out"

# --- failures after the account was made ---------------------------------------
setup
printf '[site clash.example.com]\ntemplate = ad-identity\nid = clash\nsite.bindings = http/*:80:\n' > "$work/clash.ini"
out=$(prov apply "$work/clash.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && ! account_exists IUSR_clash && cmp -s "$cfg" "$FIXTURE" \
  && grep -q "already used by site 'Default Web Site'" <<<"$out" \
  && ok "a site refused by IIS rules: no account left behind" || bad "clash (rc $rc): $out"

# Another tool writes the config while the run is stopped right before its
# write (PROVISION_TEST_HOOK=stop:config:1): a change elsewhere is merged
# (the run's 60 accounts stay, both edits are in the file); a change to a
# pool of the batch stops the run: nothing written, its accounts deleted.
for i in $(seq -w 1 60); do printf '[site b%s.example.com]\ntemplate = ad-identity\nid = b%s\n' "$i" "$i"; done > "$work/batch.ini"
# run_stopped EDIT: apply the batch, stopped before the write while EDIT runs
run_stopped() {
  PROVISION_TEST_HOOK=stop:config:1 prov apply "$work/batch.ini" >"$work/stopped.out" 2>&1 &
  local bg=$! pid= _
  for _ in $(seq 1 1200); do
    pid=$(pgrep -f -- "-c $work/provision.ini apply $work/batch.ini" | while read -r p; do
      [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = T ] && echo "$p"; done | head -1)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || { kill "$bg"; wait "$bg"; echo "the run never stopped at the hook" >"$work/stopped.out"; return 99; }
  eval "$1"
  kill -CONT "$pid"
  wait "$bg"
}
run_stopped 'printf "<!-- edited by someone else -->\r\n" >> "$cfg"'; rc=$?
out=$(cat "$work/stopped.out")
left=0
for i in 01 30 60; do account_exists "IUSR_b$i" && left=$((left + 1)); done
[ $rc -eq 0 ] && [ $left -eq 3 ] && grep -q "edited by someone else" "$cfg" && grep -q '<site name="b60.example.com"' "$cfg" \
  && grep -q "this run's edits were made again on the new content" <<<"$out" \
  && ok "config changed elsewhere mid-run: merged, the 60 sites written, the other edit kept" \
  || bad "mid-run change elsewhere (rc $rc, $left accounts): $(tail -3 <<<"$out")"
prov destroy "$work/batch.ini" >/dev/null 2>&1 || bad "destroy after the merged batch"
cp "$FIXTURE" "$cfg"
run_stopped 'sed -i "s|<add name=\"DefaultAppPool\"|<add name=\"b30.example.com\" /><add name=\"DefaultAppPool\"|" "$cfg"; cp "$cfg" "$work/other.config"'; rc=$?
out=$(cat "$work/stopped.out")
left=0
for i in 01 30 60; do account_exists "IUSR_b$i" && left=$((left + 1)); done
[ $rc -ne 0 ] && [ $left -eq 0 ] && cmp -s "$cfg" "$work/other.config" \
  && grep -q "another tool changed pool b30.example.com since this run read the file" <<<"$out" \
  && grep -q "accounts created in this run deleted again" <<<"$out" \
  && ok "config changed mid-run in a pool of the batch: nothing written, the run's 60 accounts deleted again" \
  || bad "mid-run conflicting change (rc $rc, $left accounts left): $(tail -3 <<<"$out")"
cp "$FIXTURE" "$cfg"

# --- [directory] wait_for: the config is written once the DCs named have the accounts
setup "wait_for = $LAB_LDAPS_URI"
printf '[site wait.example.com]\ntemplate = ad-identity\nid = wait\n' > "$work/wait.ini"
out=$(prov apply "$work/wait.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && account_exists IUSR_wait && grep -q '<site name="wait.example.com"' "$cfg" \
  && ok "wait_for the lab's DC: the account is seen there, the config written" || bad "wait_for lab DC (rc $rc): $out"
prov destroy "$work/wait.ini" >/dev/null 2>&1 || bad "destroy after wait_for"
setup "wait_for = ldaps://127.0.0.2:1" "wait_timeout = 3"
out=$(prov apply "$work/wait.ini" 2>&1); rc=$?
[ $rc -ne 0 ] && ! account_exists IUSR_wait && cmp -s "$cfg" "$FIXTURE" \
  && grep -q "not confirmed on 127.0.0.2:1" <<<"$out" && grep -q "deleted again" <<<"$out" \
  && ok "wait_for an unreachable DC: times out, the account deleted again, nothing written" \
  || bad "wait_for unreachable (rc $rc): $out"

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
