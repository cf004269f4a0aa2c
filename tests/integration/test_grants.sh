#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# provision's folders and NTFS grants, proven by enforcement on the lab
# domain's [sites] share (a real SMB server enforcing NT ACLs): two
# AD-identity sites a and b and an ApplicationPoolIdentity site are applied
# over smb:// (accounts, folders, grants, IIS config in one run). Then,
# logged in over SMB as IUSR_a: writing in a's data works, writing in a's
# wwwroot is denied, reading it works; as IUSR_b, a's data can be neither
# read nor written (tenants isolated); a file that existed before the grant
# got the inherited ACEs; the AppPool site's folders carry the computed
# S-1-5-82 SID; re-apply changes nothing; destroy takes the grants and the
# accounts away and the config back to its bytes. The script back end writes
# an icacls script with numeric SIDs. Usage: test_grants.sh BUILD_DIR.
set -uo pipefail
export LC_ALL=C
# shellcheck source=lab-test.sh
source "$(dirname "$0")/lab-test.sh"
lab_test_begin grants "${1:?usage: test_grants.sh BUILD_DIR}"

cfg=$work/iis/applicationHost.config
mkdir -p "$work/iis"; cp "$FIXTURE" "$cfg"; chmod 644 "$cfg"
write_conf() { # LOCATION [CONFIG]
  lab_provision_conf "$repo" "${2:-$cfg}" "$1" "secrets_file = $work/secrets" > "$work/provision.ini"
}
write_conf "smb://$LAB_HOST/sites"
cat > "$work/sites.ini" <<'EOF2'
[site a.example.com]
template = ad-identity
id = a
[site b.example.com]
template = ad-identity
id = b
[site pool.example.com]
template = standard
EOF2
prov() { in_lab "$P" -c "$work/provision.ini" "$@"; }
smb_as() { # SAM COMMANDS
  local auth=$work/auth.$1
  (umask 077; printf 'username = %s\npassword = %s\ndomain = %s\n' "$1" \
    "$(awk -F'\t' -v a="$1" '$1 == a { print $3 }' "$work/secrets")" "$LAB_DOMAIN" > "$auth")
  in_lab smbclient -A "$auth" "$LAB_SMB_SITES" -c "$2" 2>&1
}
sddl() { in_lab smbcacls -A "$LAB_SMB_AUTHFILE" --numeric --sddl "$LAB_SMB_SITES" "$1" 2>/dev/null; }

# A file that exists before any grant, uploaded over SMB like any content.
echo "old content" > "$work/existing.css"
in_lab smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" \
  -c "mkdir a.example.com; mkdir a.example.com/wwwroot; put $work/existing.css a.example.com/wwwroot/existing.css" >/dev/null 2>&1

out=$(prov plan "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -qF "+ folder D:\Sites\b.example.com" <<<"$out" && cmp -s "$cfg" "$FIXTURE" \
  && [ ! -e "$LAB_SITES_PATH/b.example.com" ] && ok "plan lists folders and grants, changes nothing" \
  || bad "plan (rc $rc): $(tr "\n" "~" <<<"$out")"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -d "$LAB_SITES_PATH/a.example.com/data" ] && [ -d "$LAB_SITES_PATH/b.example.com/wwwroot" ] \
  && ok "apply: accounts, folders, grants, config" || bad "apply (rc $rc): $out"

echo hello > "$work/up.txt"
out=$(smb_as IUSR_a "put $work/up.txt a.example.com/data/up.txt"); 
[ -f "$LAB_SITES_PATH/a.example.com/data/up.txt" ] && ok "IUSR_a writes in a\\data" || bad "IUSR_a data write: $out"
out=$(smb_as IUSR_a "put $work/up.txt a.example.com/wwwroot/up.txt")
grep -q "NT_STATUS_ACCESS_DENIED" <<<"$out" && [ ! -f "$LAB_SITES_PATH/a.example.com/wwwroot/up.txt" ] \
  && ok "IUSR_a is denied writing in a\\wwwroot" || bad "IUSR_a wwwroot write: $out"
out=$(smb_as IUSR_a "get a.example.com/wwwroot/existing.css $work/got.css")
cmp -s "$work/got.css" "$LAB_SITES_PATH/a.example.com/wwwroot/existing.css" \
  && ok "IUSR_a reads a\\wwwroot (the file that existed before)" || bad "IUSR_a read: $out"
out=$(smb_as IUSR_b "get a.example.com/data/up.txt $work/stolen.txt")
[ ! -f "$work/stolen.txt" ] && grep -q "NT_STATUS_ACCESS_DENIED\|NT_STATUS_OBJECT" <<<"$out" \
  && ok "IUSR_b cannot read a\\data" || bad "IUSR_b read a: $out"
out=$(smb_as IUSR_b "put $work/up.txt a.example.com/data/b.txt")
[ ! -f "$LAB_SITES_PATH/a.example.com/data/b.txt" ] && ok "IUSR_b cannot write a\\data" || bad "IUSR_b write a: $out"
out=$(smb_as IUSR_b "put $work/up.txt b.example.com/data/b.txt")
[ -f "$LAB_SITES_PATH/b.example.com/data/b.txt" ] && ok "IUSR_b writes in its own data" || bad "IUSR_b own: $out"

sid_a=$(prov sid 'LAB\IUSR_a' | cut -f2)
d=$(sddl 'a.example.com/wwwroot/existing.css')
grep -q "(A;ID;0x001200a9;;;$sid_a)\|(A;ID;0x1200a9;;;$sid_a)" <<<"$d" \
  && ok "the pre-existing file inherited IUSR_a's RX ($sid_a)" || bad "inherited on existing file: $d"
apppool=$(prov sid 'IIS AppPool\pool.example.com' | cut -f2)
d=$(sddl 'pool.example.com/data')
grep -q "$apppool" <<<"$d" && [[ $apppool == S-1-5-82-* ]] \
  && ok "AppPool site: data carries $apppool" || bad "AppPool SID: $apppool in $d"
d=$(sddl 'a.example.com')
! grep -q ";;;WD)\|S-1-1-0" <<<"$d" && grep -q "S-1-5-32-544\|;;;BA)" <<<"$d" \
  && ok "site root isolated: Administrators, SYSTEM and its grants, no Everyone" || bad "isolation: $d"

cp "$cfg" "$work/applied"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "No changes" <<<"$out" && cmp -s "$cfg" "$work/applied" \
  && ok "re-apply changes nothing" || bad "re-apply (rc $rc): $out"

out=$(prov destroy "$work/sites.ini" 2>&1); rc=$?
d=$(sddl 'a.example.com/data')
[ $rc -eq 0 ] && cmp -s "$cfg" "$FIXTURE" && ! grep -q "$sid_a" <<<"$d" \
  && [ -f "$LAB_SITES_PATH/a.example.com/data/up.txt" ] \
  && ok "destroy: grants and accounts gone, content kept, config restored" || bad "destroy (rc $rc): $out / $d"

# The script back end: an icacls .cmd for the Windows host.
write_conf "script:$work/grants.cmd"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
grep -q 'icacls' "$work/grants.cmd" && grep -q "\*S-1-5-82-" "$work/grants.cmd" \
  && ok "script back end: icacls with numeric SIDs written to grants.cmd" || bad "script (rc $rc): $out"
prov destroy "$work/sites.ini" >/dev/null 2>&1

# applicationHost.config itself on the IIS host's C$ ([iis] share) over smb://.
remote="smb://$LAB_HOST/iis/$LAB_APPHOST_REL"
local_copy="$LAB_IIS_PATH/$LAB_APPHOST_REL"
write_conf "smb://$LAB_HOST/sites" "$remote"
printf '[iis]\nbackups = 2\n' >> "$work/provision.ini"
printf '[site remote.example.com]\ntemplate = standard\n' > "$work/remote.ini"
out=$(prov apply "$work/remote.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q '<site name="remote.example.com" id="2">' "$local_copy" \
  && ls "$(dirname "$local_copy")" | grep -q 'applicationHost.config.provision-bak-' \
  && ok "config over smb://: apply writes the IIS host's file, the old one kept as a backup" \
  || bad "smb config apply (rc $rc): $out"
cp "$local_copy" "$work/remote-applied"
out=$(prov apply "$work/remote.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "No changes" <<<"$out" && cmp -s "$local_copy" "$work/remote-applied" \
  && ok "config over smb://: re-apply changes nothing" || bad "smb re-apply (rc $rc): $out"
out=$(prov destroy "$work/remote.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && cmp -s "$local_copy" "$FIXTURE" \
  && [ "$(ls "$(dirname "$local_copy")" | grep -c 'provision-bak-')" -le 2 ] \
  && ok "config over smb://: destroy restores the original bytes; backups pruned to 2" \
  || bad "smb destroy (rc $rc): $out"

summary
