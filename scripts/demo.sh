#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job on the built-in lab domain: builds provision, starts a
# throwaway Samba AD DC with its [iis] share (standing in for an IIS host's
# C$, holding a real Windows Server 2016 applicationHost.config) and
# provisions examples/lab-sites.ini: an AD-identity site (its own IUSR_shop
# account created over LDAPS, the pool running as LAB\IUSR_shop), a standard
# ApplicationPoolIdentity site and a static site served as IUSR. validate,
# plan, apply, re-apply (no change), list; the account is shown in AD and
# logs on with the password provision stored; the grants are read back and
# enforced by the server; destroy removes sites, account and folders and the
# file is byte for byte the original again. Stops the lab on exit. Needs root.
#
# Everything goes over the network, as it would to a Windows host: the IIS
# configuration over smb:// on [iis], the site folders and NTFS grants over
# smb:// on [sites] (enforced by the server: shown with logons as the site's
# own account, never as Administrator, whom smbd lets through any ACL), the
# account over LDAPS.
#
# Every result the demo prints is a check: "ok: CLAIM" when it holds,
# "FAILED: CLAIM -- why" when it does not; the demo then goes on with the
# checks that still make sense, ends with the list of failed claims and
# exits 1 (exit 0 only when every claim held). Passwords never reach argv,
# the output or a log: credential files are 0600 in a 0700 folder, removed
# on exit, and any output that would hold one is a failed claim and masked.
#
# DEMO_BREAK=NAME (for testing the demo only: tests/integration/demo-check.sh)
# damages the lab at one point the way a bug or a stray hand would, so that
# the check of that claim must fail; `DEMO_BREAK=help scripts/demo.sh` lists
# the names.
# The checks are functions that check() calls by name:
# shellcheck disable=SC2317
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (the lab domain needs namespaces)" >&2; exit 1; }

breaks="validate plan-writes apply-refused drift list-identity account-disabled \
account-deleted wwwroot-writable wwwroot-missing data-readonly data-nodelete \
iusr-read-revoked anon-read-denied config-line-changed pool-password no-mask \
account-unmarked file-left"
if [ -n "${DEMO_BREAK:-}" ]; then
  case " $breaks " in
    *" $DEMO_BREAK "*) ;;
    *) echo "demo: DEMO_BREAK is one of: $breaks" >&2; [ "$DEMO_BREAK" != help ] || exit 0; exit 2 ;;
  esac
fi

# ------------------------------------------------------------------ claims
# check CLAIM FUNCTION [ARGS...]: runs FUNCTION (which sets $why when it
# returns non-zero) and prints "ok: CLAIM" or "FAILED: CLAIM -- why".
# require: the same, but nothing after it can be checked when it fails.
passed=0 failed=() why="" note="" leaked=0
check() {
  local text=$1
  shift
  why="" note=""
  if "$@"; then
    passed=$((passed + 1))
    show "ok: $text${note:+ -- $note}"
    return 0
  fi
  failed+=("$text")
  show "FAILED: $text${why:+ -- $why}"
  return 1
}
require() { check "$@" || finish; }
finish() {
  stop_lab
  echo
  if [ ${#failed[@]} -gt 0 ]; then
    {
      echo "demo: ${#failed[@]} of $((passed + ${#failed[@]})) claims FAILED:"
      printf '  FAILED: %s\n' "${failed[@]}"
    } >&2
    exit 1
  fi
  echo "demo: all $passed claims checked, all hold"
  exit 0
}

# show TEXT: print it. The secrets (every line of $secrets_pat) never go
# out: a text holding one is a failed claim, and is printed masked.
secrets_pat=""
show() {
  local text=$1
  if [ -s "$secrets_pat" ] && grep -qFf "$secrets_pat" <<<"$text"; then
    leaked=$((leaked + 1))
    text="FAILED: the output holds no password -- this text held one (masked):
$(awk 'NR == FNR { if ($0 != "") pw[$0]; next }
       { for (p in pw) while ((i = index($0, p)) > 0)
           $0 = substr($0, 1, i - 1) "(secret)" substr($0, i + length(p)); print }' \
     "$secrets_pat" - <<<"$text")"
  fi
  printf '%s\n' "$text"
}

# brk POINT: the DEMO_BREAK damage done at POINT, if any.
brk() {
  [ -n "${DEMO_BREAK:-}" ] || return 0
  local what=""
  case "$1:$DEMO_BREAK" in
    validate:validate)
      sites=$work/lab-sites.ini
      { cat "$repo/examples/lab-sites.ini"; printf '[site SHOP.example.com]\ntemplate = standard\n'; } > "$sites"
      what="the site list names shop.example.com twice" ;;
    plan:plan-writes)
      admin_smb "mkdir shop.example.com" >/dev/null
      what="a folder shop.example.com appeared after plan" ;;
    apply:apply-refused)
      ldap_admin ldapadd <<EOF >/dev/null
dn: CN=IUSR_shop,$LAB_SITES_OU
objectClass: user
sAMAccountName: IUSR_shop
EOF
      what="an unmarked IUSR_shop account exists before apply" ;;
    reapply:drift)
      admin_cacls shop.example.com/data --delete "ACL:$acct_sid:ALLOWED/OI|CI/0x001301bf"
      what="IUSR_shop's grant on shop.example.com\\data was removed before re-apply" ;;
    list:list-identity)
      edit_config 's/userName="LAB\\IUSR_shop"/userName="LAB\\IUSR_other"/'
      what="the shop pool's userName was edited to LAB\\IUSR_other" ;;
    ad:account-disabled)
      ldap_admin ldapmodify <<EOF >/dev/null
dn: CN=IUSR_shop,$LAB_SITES_OU
changetype: modify
replace: userAccountControl
userAccountControl: 66050
EOF
      what="IUSR_shop was disabled" ;;
    sid:account-deleted)
      ldap_admin ldapdelete "CN=IUSR_shop,$LAB_SITES_OU" >/dev/null
      what="IUSR_shop was deleted from AD" ;;
    grants:wwwroot-writable)
      admin_cacls shop.example.com/wwwroot --add "ACL:$acct_sid:ALLOWED/OI|CI/0x001301bf"
      what="IUSR_shop was granted Modify on shop.example.com\\wwwroot" ;;
    grants:wwwroot-missing)
      admin_smb "rename shop.example.com/wwwroot shop.example.com/wwwroot.moved" >/dev/null
      what="shop.example.com\\wwwroot was renamed away" ;;
    grants:data-readonly)
      admin_cacls shop.example.com/data --modify "ACL:$acct_sid:ALLOWED/OI|CI/0x001200a9"
      what="IUSR_shop's grant on shop.example.com\\data became read & execute" ;;
    grants:data-nodelete)
      admin_cacls shop.example.com/data --modify "ACL:$acct_sid:ALLOWED/OI|CI/0x001201bf"
      what="IUSR_shop's grant on shop.example.com\\data lost DELETE" ;;
    grants:iusr-read-revoked)
      admin_cacls static.example.com/wwwroot --delete "ACL:S-1-5-17:ALLOWED/OI|CI/0x00120089"
      what="IUSR's read grant on static.example.com\\wwwroot was removed" ;;
    grants:anon-read-denied)
      admin_cacls static.example.com/wwwroot --add "ACL:S-1-5-17:DENIED/OI|CI/0x00120089"
      admin_cacls blog.example.com/wwwroot --add "ACL:$blog_sid:DENIED/OI|CI/0x00120089"
      admin_cacls shop.example.com/wwwroot --add "ACL:$acct_sid:DENIED/OI|CI/0x00120089"
      what="each site's anonymous identity was denied read on its wwwroot" ;;
    readback:config-line-changed)
      edit_config 's/<add name="DefaultAppPool"/<add name="DefaultAppPool" autoStart="false"/'
      what="an original line of applicationHost.config was edited" ;;
    readback:pool-password)
      edit_config '/<processModel identityType="SpecificUser" userName="LAB\\IUSR_shop"/s/password="/password="x/'
      what="the shop pool's password in applicationHost.config was edited" ;;
    readback:no-mask)
      mask_passwords=0
      what="the config diff is shown without masking its passwords" ;;
    destroy:account-unmarked)
      ldap_admin ldapmodify <<EOF >/dev/null
dn: CN=IUSR_shop,$LAB_SITES_OU
changetype: modify
delete: adminDescription
EOF
      what="IUSR_shop lost its provision:site marker" ;;
    destroy:file-left)
      admin_smb "put $probe shop.example.com/data/left.txt" >/dev/null
      what="a file was left in shop.example.com\\data" ;;
    *) return 0 ;;
  esac
  echo "!! DEMO_BREAK=$DEMO_BREAK: $what"
}

# ------------------------------------------------------------------ the lab
lab="" lab_up=""
stop_lab() {
  [ -n "$lab_up" ] || return 0
  lab_up=""
  "$repo/tests/lab/lab.sh" stop "$lab" >/dev/null || true
  check "the lab domain is stopped (lab.sh status: stopped; samba and the namespace holder gone)" lab_stopped || true
}
lab_stopped() {
  local st rc=0
  st=$("$repo/tests/lab/lab.sh" status "$lab" 2>&1) || rc=$?
  [ "$rc" -eq 3 ] || { why="lab.sh status exit $rc: $st; $lab kept"; keep_lab=1; return 1; }
  local p
  for p in "${LAB_SAMBA_PID:-}" "${LAB_HOLDER_PID:-}"; do
    [ -z "$p" ] || [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$LAB_NETNS_ID" ] ||
      { why="pid $p still runs in the lab's namespace; $lab kept"; keep_lab=1; return 1; }
  done
}
keep_lab=0
cleanup() {
  stop_lab
  if [ -n "$lab" ]; then
    # credentials, and the demo's copies of the config (they hold the pool's password)
    rm -rf "${creds:-/nonexistent}"
    rm -f "${work:-/nonexistent}"/*.config
    [ "$keep_lab" = 1 ] || rm -rf "$lab"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build() {
  if ! provision=$("$repo/scripts/build.sh") || [ ! -x "$provision" ]; then why="scripts/build.sh failed"; return 1; fi
}
echo "== building"
require "provision builds (scripts/build.sh)" build

lab=$(mktemp -d /tmp/provision-lab.XXXXXX)
start_lab() {
  lab_up=1
  if ! "$repo/tests/lab/lab.sh" start "$lab" || [ ! -s "$lab/lab.env" ]; then why="lab.sh start failed"; return 1; fi
  # shellcheck disable=SC1091
  source "$lab/lab.env"
  note="samba pid $LAB_SAMBA_PID, namespace holder pid $LAB_HOLDER_PID"
}
echo "== starting the lab domain in $lab"
require "the lab domain is up (LDAPS and SMB answer)" start_lab

config="$LAB_IIS_PATH/$LAB_APPHOST_REL"
work=$lab/provision
creds=$lab/creds
mkdir -p "$work"
mkdir -m 700 "$creds"
# One state folder per run (journals, locks, audit log): other labs on this
# machine use the same smb:// names.
export PROVISION_STATE_DIR=$work/state
# shellcheck source=../tests/lab/provision-conf.sh
source "$repo/tests/lab/provision-conf.sh"
lab_provision_conf "$repo" "smb://$LAB_HOST/iis/$LAB_APPHOST_REL" "smb://$LAB_HOST/sites" \
  "secrets_file = $work/secrets" "[iis]" "backups = 5" > "$work/provision.ini"
sites=$repo/examples/lab-sites.ini
export LDAPTLS_CACERT=$LAB_CA
secrets_pat=$creds/secrets.pat
pwfile=$creds/IUSR_shop.pw
auth=$creds/IUSR_shop.auth
(umask 077  # the lab's own passwords (the administrator's, the operator's when there is one)
 for f in "$LAB_ADMIN_PASSWORD_FILE" "${LAB_OP_PASSWORD_FILE:-}"; do
   [ ! -s "$f" ] || { cat "$f"; echo; }
 done > "$secrets_pat")
cp "$config" "$work/original.config"
probe=$work/probe.txt
echo "written by scripts/demo.sh" > "$probe"
mask_passwords=1
acct_sid="" blog_sid=""

in_lab() { "$repo/tests/lab/lab.sh" exec "$lab" -- "$@"; }
out="" rc=0
run() {
  echo
  echo "\$ provision $*"
  rc=0
  out=$(in_lab "$provision" -c "$work/provision.ini" "$@" 2>&1) || rc=$?
  [ "$1" != apply ] || [ -s "$pwfile" ] || secrets_from_store || true
  show "$out"
}
# After the first apply: IUSR_shop's password, from the secrets file that
# provision wrote, into a password file (for -y) and an smbclient -A file.
secrets_from_store() {
  (umask 077
   awk -F'\t' '$1 == "IUSR_shop" { printf "%s", $3 }' "$work/secrets" > "$pwfile" 2>/dev/null || true
   if [ -s "$pwfile" ]; then
     { cat "$pwfile"; echo; } >> "$secrets_pat"
     printf 'username = IUSR_shop\npassword = %s\ndomain = %s\n' "$(cat "$pwfile")" "$LAB_DOMAIN" > "$auth"
   fi)
}
ldap_admin() { # TOOL [ARGS...]: an LDAP tool bound as the domain administrator
  local tool=$1
  shift
  in_lab "$tool" -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" "$@"
}
ad_user() { # [ATTR...]: IUSR_shop's entry (nothing when it does not exist)
  ldap_admin ldapsearch -LLL -o ldif-wrap=no -b "$LAB_BASE_DN" "(sAMAccountName=IUSR_shop)" "$@" 2>&1 |
    awk 'NF && !/^# ref/'
}
smb_as() { in_lab smbclient -A "$1" "$LAB_SMB_SITES" -c "$2" 2>&1; }  # AUTHFILE COMMANDS
admin_smb() { smb_as "$LAB_SMB_AUTHFILE" "$1"; }
admin_cacls() { in_lab smbcacls -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$@" >/dev/null 2>&1 || echo "demo: smbcacls $* failed" >&2; }
sddl_of() { in_lab smbcacls -A "$LAB_SMB_AUTHFILE" --numeric --sddl "$LAB_SMB_SITES" "$1" 2>&1; }
aces() { grep -o '([^)]*)' <<<"$1" | tr -d '()' | sort; }  # SDDL: one ACE a line
edit_config() { # SED-SCRIPT: edit applicationHost.config in place (a hand on the IIS host)
  sed "$1" "$config" > "$work/edited.config" && cat "$work/edited.config" > "$config"
}
# Every descriptor under the sites' folders, as smbd stores it (the
# security.NTACL attribute), as "path sha256" lines.
descriptors() {
  /usr/bin/python3 - "$LAB_SITES_PATH" <<'EOF'
import hashlib, os, sys
for d, dirs, files in sorted(os.walk(sys.argv[1])):
    for p in [d] + [os.path.join(d, f) for f in sorted(files)]:
        try:
            h = hashlib.sha256(os.getxattr(p, "security.NTACL")).hexdigest()
        except OSError as e:
            h = "none (%s)" % e.strerror
        print(os.path.relpath(p, sys.argv[1]), h)
EOF
}
backups() { find "$(dirname "$config")" -maxdepth 1 -name '*bak*' | sort; }
site_dirs() { find "$LAB_SITES_PATH" -mindepth 1 -maxdepth 1 -name '*.example.com' | sort; }
sid_of_base64() { # objectSid as ldapsearch shows it (base64) -> S-1-5-...
  /usr/bin/python3 -c '
import base64, struct, sys
b = base64.b64decode(sys.argv[1])
n = b[1]
print("S-%d-%d" % (b[0], int.from_bytes(b[2:8], "big")) + "".join("-%d" % s for s in struct.unpack("<%dI" % n, b[8:8 + 4 * n])))
' "$1" 2>/dev/null
}
apppool_sid() { # POOL -> S-1-5-82-... (SHA-1 of the lower-cased name in UTF-16LE, five little-endian words; REFERENCE §2)
  /usr/bin/python3 -c '
import hashlib, struct, sys
h = hashlib.sha1(sys.argv[1].lower().encode("utf-16-le")).digest()
print("S-1-5-82-" + "-".join(str(x) for x in struct.unpack("<5I", h)))
' "$1"
}

# ------------------------------------------------------------------ validate, plan
brk validate
run validate "$sites"
validated() {
  [ "$rc" -eq 0 ] || { why="exit $rc"; return 1; }
  [ "$out" = "3 sites valid." ] || { why="output is not '3 sites valid.'"; return 1; }
}
require "validate: the 3 sites are valid (exit 0, '3 sites valid.')" validated

run plan "$sites"
brk plan
planned() {
  [ "$rc" -eq 0 ] || { why="exit $rc"; return 1; }
  grep -q '^plan: .* 0 failed\.$' <<<"$out" || { why="no 'plan: ... 0 failed.' summary"; return 1; }
  cmp -s "$config" "$work/original.config" || { why="applicationHost.config changed"; return 1; }
  local d a
  d=$(site_dirs)
  [ -z "$d" ] || { why="folders exist: $(tr '\n' ' ' <<<"$d")"; return 1; }
  a=$(ad_user dn) || { why="ldapsearch failed: $a"; return 1; }
  [ -z "$a" ] || { why="IUSR_shop exists in AD"; return 1; }
}
check "plan exits 0 and changes nothing (applicationHost.config, site folders, IUSR_shop in AD)" planned || true

# ------------------------------------------------------------------ apply, re-apply
brk apply
run apply "$sites"
applied() {
  [ "$rc" -eq 0 ] || { why="exit $rc"; return 1; }
  grep -q '^apply: .* 0 sites unchanged, 0 failed\.$' <<<"$out" || { why="no 'apply: ... 0 sites unchanged, 0 failed.' summary"; return 1; }
  [ -s "$pwfile" ] || { why="no password for IUSR_shop in the secrets file"; return 1; }
}
require "apply exits 0: the 3 sites made, 0 failed, IUSR_shop's password in the secrets file" applied
cp "$config" "$work/applied.config"
descriptors > "$work/descriptors.applied"
backups > "$work/backups.applied"
# The SIDs the checks expect, from AD and computed here (not from the grants).
acct_sid=$(sid_of_base64 "$(ad_user objectSid | sed -n 's/^objectSid:: //p')") || true
blog_sid=$(apppool_sid blog.example.com) || true
brk reapply
run apply "$sites"
reapplied() {
  [ "$rc" -eq 0 ] || { why="exit $rc"; return 1; }
  [ "$out" = "No changes: 3 sites already as described." ] || { why="output is not 'No changes: 3 sites already as described.'"; return 1; }
  cmp -s "$config" "$work/applied.config" || { why="applicationHost.config changed"; return 1; }
  [ "$(backups)" = "$(cat "$work/backups.applied")" ] || { why="a new backup was made"; return 1; }
  local d
  d=$(descriptors | diff "$work/descriptors.applied" - | awk '/^[<>]/ { print $2 }' | sort -u)
  [ -z "$d" ] || { why="descriptors changed: $(tr '\n' ' ' <<<"$d")"; return 1; }
}
check "re-apply changes nothing: exit 0, 'No changes: 3 sites already as described.', the config byte for byte, no new backup, every descriptor as stored" reapplied || true

brk list
run list
listed() {
  [ "$rc" -eq 0 ] || { why="exit $rc"; return 1; }
  local want s
  # site id pool identity / path ...; anonymous ...
  for want in 'shop.example.com 2 shop.example.com SpecificUser LAB\IUSR_shop|path D:\Sites\shop.example.com\wwwroot; anonymous (pool identity)' \
              'blog.example.com 3 blog.example.com ApplicationPoolIdentity|path D:\Sites\blog.example.com\wwwroot; anonymous (pool identity)' \
              'static.example.com 4 static.example.com ApplicationPoolIdentity|path D:\Sites\static.example.com\wwwroot; anonymous IUSR'; do
    s=$(awk -v site="${want%% *}" '$1 == site { getline next_line; $1 = $1; sub(/^ +/, "", next_line); print $0 "|" next_line }' <<<"$out")
    [ "$s" = "$want" ] || { why="expected '$want', listed '$s'"; return 1; }
  done
  [ "$(tail -n 1 <<<"$out")" = "4 sites" ] || { why="not '4 sites'"; return 1; }
}
check "list: shop runs as LAB\\IUSR_shop (SpecificUser), blog and static as ApplicationPoolIdentity; anonymous = the pool identity for shop and blog, IUSR for static; 4 sites" listed || true

# ------------------------------------------------------------------ the account
brk ad
echo
echo "== the site's own account in AD:"
rc=0
ad=$(ad_user distinguishedName userPrincipalName adminDescription userAccountControl objectSid) || rc=$?
show "$(grep -v '^objectSid' <<<"$ad")"
in_ad() {
  [ "$rc" -eq 0 ] || { why="ldapsearch exit $rc"; return 1; }
  local line
  for line in "dn: CN=IUSR_shop,$LAB_SITES_OU" "adminDescription: provision:site=shop.example.com" \
              "userAccountControl: 66048" "userPrincipalName: IUSR_shop@$LAB_DNS_DOMAIN"; do
    grep -qxF "$line" <<<"$ad" || { why="no '$line'"; return 1; }
  done
  [ "$(grep -c '^dn: ' <<<"$ad")" -eq 1 ] || { why="not exactly one entry"; return 1; }
}
check "IUSR_shop is in AD: in OU=Sites,OU=Hosting, marked provision:site=shop.example.com, enabled (userAccountControl 66048)" in_ad || true

brk sid
run sid 'LAB\IUSR_shop' 'IIS AppPool\blog.example.com' IUSR
sids_right() {
  [ "$rc" -eq 0 ] || { why="exit $rc"; return 1; }
  local want now
  now=$(sid_of_base64 "$(sed -n 's/^objectSid:: //p' <<<"$ad")")
  [ -n "$acct_sid" ] && [ "$now" = "$acct_sid" ] || { why="IUSR_shop's objectSid is '$now', was '$acct_sid' after apply"; return 1; }
  want=$(printf 'LAB\\IUSR_shop\t%s\nIIS AppPool\\blog.example.com\t%s\nIUSR\tS-1-5-17' "$acct_sid" "$blog_sid")
  [ "$out" = "$want" ] || { why="expected: $(tr '\t\n' ' ;' <<<"$want")"; return 1; }
}
check "sid: LAB\\IUSR_shop is the account's objectSid, IIS AppPool\\blog.example.com the SID IIS derives from the name, IUSR is S-1-5-17" sids_right || true

binds() {
  local o
  o=$(in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "IUSR_shop@$LAB_DNS_DOMAIN" -y "$pwfile" \
        -b "$LAB_BASE_DN" -s base dn 2>&1) || { why=$(head -n 1 <<<"$o"); return 1; }
}
check "IUSR_shop binds over LDAPS with its password from the secrets file" binds || true

# ------------------------------------------------------------------ grants
brk grants
echo
echo "== NTFS grants on the content share, as the server stores them:"
declare -A sd
for f in shop.example.com shop.example.com/wwwroot shop.example.com/data; do
  sd[$f]=$(sddl_of "$f") || true
  show "$(printf '%-28s %s' "$f" "${sd[$f]}")"
done
aces_are() { # FOLDER ACE...: the folder's ACEs are exactly these
  local f=$1 want
  shift
  want=$(printf '%s\n' "$@" | sort)
  [ "$(aces "${sd[$f]}")" = "$want" ] || { why="stored: ${sd[$f]}"; return 1; }
}
check "shop.example.com is isolated: only SYSTEM and Administrators (full control, inherited below) and IUSR_shop (read & execute, this folder)" \
  aces_are shop.example.com "A;OICI;0x001f01ff;;;SY" "A;OICI;0x001f01ff;;;BA" "A;;0x001200a9;;;$acct_sid" || true
check "shop.example.com\\wwwroot: IUSR_shop read & execute (files and subfolders), SYSTEM and Administrators inherited, nothing else" \
  aces_are shop.example.com/wwwroot "A;OICI;0x001200a9;;;$acct_sid" "A;OICIID;0x001f01ff;;;SY" "A;OICIID;0x001f01ff;;;BA" || true
check "shop.example.com\\data: IUSR_shop modify (files and subfolders), SYSTEM and Administrators inherited, nothing else" \
  aces_are shop.example.com/data "A;OICI;0x001301bf;;;$acct_sid" "A;OICIID;0x001f01ff;;;SY" "A;OICIID;0x001f01ff;;;BA" || true

echo "== enforced by the server: logged on over SMB as IUSR_shop"
logs_on() {
  local o
  o=$(smb_as "$auth" "ls shop.example.com/*")
  [[ $o != *NT_STATUS_* ]] && grep -q '^  wwwroot  *D ' <<<"$o" && grep -q '^  data  *D ' <<<"$o" ||
    { why=$(grep -m 1 NT_STATUS_ <<<"$o" || echo "no wwwroot and data in the listing"); return 1; }
}
check "IUSR_shop logs on over SMB with its password from the secrets file and lists shop.example.com" logs_on || true
writes_data() {
  local f=shop.example.com/data/demo-probe.txt disk=$LAB_SITES_PATH/shop.example.com/data/demo-probe.txt o
  o=$(smb_as "$auth" "put $probe $f")
  [[ $o != *NT_STATUS_* ]] && cmp -s "$probe" "$disk" ||
    { why="create: $(grep -m 1 NT_STATUS_ <<<"$o" || echo "the file is not on the server")"; return 1; }
  o=$(smb_as "$auth" "del $f")
  [[ $o != *NT_STATUS_* ]] && [ ! -e "$disk" ] ||
    { why="delete: $(grep -m 1 NT_STATUS_ <<<"$o" || echo "the file is still on the server")"; admin_smb "del $f" >/dev/null; return 1; }
}
check "IUSR_shop creates and deletes a file in shop.example.com\\data" writes_data || true
no_write_wwwroot() {
  local f=shop.example.com/wwwroot/demo-probe.txt disk=$LAB_SITES_PATH/shop.example.com/wwwroot/demo-probe.txt o
  o=$(smb_as "$auth" "put $probe $f")
  if [ -e "$disk" ]; then why="the file was created"; admin_smb "del $f" >/dev/null; return 1; fi
  grep -q '^NT_STATUS_ACCESS_DENIED opening remote file' <<<"$o" ||
    { why="expected NT_STATUS_ACCESS_DENIED, got: $(grep -m 1 NT_STATUS_ <<<"$o" || echo "$o")"; return 1; }
}
check "IUSR_shop cannot create a file in shop.example.com\\wwwroot (NT_STATUS_ACCESS_DENIED)" no_write_wwwroot || true

echo "== static content (a file the administrator puts in each wwwroot) is readable by the site's anonymous identity:"
css=""
for s in shop blog static; do css+="put $probe $s.example.com/wwwroot/demo-style.css; "; done
admin_smb "$css" >/dev/null
shop_reads() {
  local o
  rm -f "$work/got.css"
  o=$(smb_as "$auth" "get shop.example.com/wwwroot/demo-style.css $work/got.css")
  cmp -s "$probe" "$work/got.css" || { why=$(grep -m 1 NT_STATUS_ <<<"$o" || echo "read back different bytes"); return 1; }
}
check "shop.example.com (anonymous = its pool identity, IUSR_shop): logged on as IUSR_shop, the file reads back byte for byte" shop_reads || true
may_read() { # PATH SID: the descriptor allows SID FILE_GENERIC_READ and denies it (or Everyone) none of it
  local d t m s allow=0
  d=$(sddl_of "$1") && [[ $d == O:* ]] || { why="smbcacls: $d"; return 1; }
  while IFS=';' read -r t _ m _ _ s; do
    [ "$s" = "$2" ] || [ "$s" = WD ] || continue
    case $t in
      A) [ "$s" = "$2" ] && (( (m & 0x120089) == 0x120089 )) && allow=1 ;;
      D) (( m & 0x120089 )) && { why="denied: $d"; return 1; } ;;
    esac
  done < <(aces "$d")
  [ "$allow" = 1 ] || { why="no read for $2: $d"; return 1; }
}
check "blog.example.com (anonymous = IIS AppPool\\blog.example.com): the file's descriptor allows that SID read, denies nothing" \
  may_read blog.example.com/wwwroot/demo-style.css "$blog_sid" || true
check "static.example.com (anonymous = IUSR, S-1-5-17): the file's descriptor allows IUSR read, denies nothing" \
  may_read static.example.com/wwwroot/demo-style.css S-1-5-17 || true
css=""
for s in shop blog static; do css+="del $s.example.com/wwwroot/demo-style.css; "; done
admin_smb "$css" >/dev/null

# ------------------------------------------------------------------ the config
brk readback
echo
echo "== the IIS host's applicationHost.config, read back over SMB (//$LAB_HOST/iis), as a diff to the original:"
rm -f "$work/from-smb.config"
in_lab smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_IIS" -c "get $LAB_APPHOST_REL $work/from-smb.config" >/dev/null 2>&1 || true
diff_shown=$(diff "$work/original.config" "$work/from-smb.config" 2>&1 | tr -d '\r') || true
[ "$mask_passwords" = 0 ] || diff_shown=$(sed -E 's/password="[^"]*"/password="(secret)"/g' <<<"$diff_shown")
show "$diff_shown"
only_added() {
  [ -s "$work/from-smb.config" ] || { why="could not read it over SMB"; return 1; }
  local d
  d=$(diff "$work/original.config" "$work/from-smb.config") && { why="no change at all"; return 1; }
  ! grep -q '^<' <<<"$d" || { why="changed or removed: $(grep -m 1 '^<' <<<"$d" | tr -d '\r' | sed -E 's/password="[^"]*"/password="(secret)"/g')"; return 1; }
}
check "apply only added to applicationHost.config: every original line is still there, unchanged" only_added || true
pool_password() {
  local pw
  pw=$(tr -d '\r' < "$work/from-smb.config" |
       awk '/<add name="shop\.example\.com"/ { p = 1 }
            p && /<processModel / { if (match($0, /password="[^"]*"/)) print substr($0, RSTART + 10, RLENGTH - 11); exit }')
  [ -n "$pw" ] || { why="the shop pool holds no password"; return 1; }
  [[ $pw == "$(<"$pwfile")" ]] || { why="it differs"; return 1; }
}
check "the shop pool's password in applicationHost.config is IUSR_shop's (the one that logged on)" pool_password || true

# ------------------------------------------------------------------ destroy
brk destroy
run destroy --remove-folders "$sites"
destroyed() {
  [ "$rc" -eq 0 ] || { why="exit $rc"; return 1; }
  grep -q '^destroy: .* 0 sites unchanged, 0 failed\.$' <<<"$out" || { why="no 'destroy: ... 0 sites unchanged, 0 failed.' summary"; return 1; }
}
check "destroy --remove-folders exits 0: the 3 sites removed, 0 failed" destroyed || true
original() {
  cmp -s "$config" "$work/original.config" || { why=$(cmp "$config" "$work/original.config" 2>&1 | head -n 1); return 1; }
}
check "applicationHost.config is back to its original bytes (cmp with the copy saved before validate)" original || true
account_gone() {
  local a o
  a=$(ad_user dn) || { why="ldapsearch failed: $a"; return 1; }
  [ -z "$a" ] || { why="still in AD: $a"; return 1; }
  o=$(smb_as "$auth" "ls")
  grep -q 'NT_STATUS_LOGON_FAILURE' <<<"$o" || { why="SMB logon: $(grep -m 1 NT_STATUS_ <<<"$o" || echo "it worked")"; return 1; }
}
check "IUSR_shop is gone: not in AD, and its logon fails (NT_STATUS_LOGON_FAILURE)" account_gone || true
folders_gone() {
  local d
  d=$(site_dirs)
  [ -z "$d" ] || { why="left: $(cd "$LAB_SITES_PATH" && find . -mindepth 1 | sort | tr '\n' ' ')"; return 1; }
}
check "the sites' folders are gone (they were empty: the demo's files were removed)" folders_gone || true
no_leak() { [ "$leaked" -eq 0 ] || { why="$leaked texts held one (shown masked)"; return 1; }; }
check "no password (IUSR_shop's, the lab's administrator's) appeared in the output" no_leak || true
finish
