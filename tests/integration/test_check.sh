#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# provision check on the lab domain: three sites (a.example.com as its own AD
# account IUSR_a, pool.example.com as its ApplicationPoolIdentity,
# static.example.com with anonymous = IUSR) applied over smb://, then check
# reading the IIS config and the real descriptors on the [sites] share.
# Proves: freshly applied sites have no findings (all sites: exit 3, the
# fixture's Default Web Site lies outside [content] root; named: exit 0,
# "no findings" and the access table); each classic failure, built by hand
# with smbcacls as the Administrator (or by editing the IIS config), is named
# by exactly its finding id and nothing else, exit 4, with the identity,
# evidence and fix it is about (IUSR's read entry deleted: 401.3; Everyone
# denied read: 500.19 and 401.3; BUILTIN\Users on wwwroot; another tenant's
# AppPool identity or AD account in a site's folder; the pool writing its
# wwwroot; IUSR writing data; a pool running as LocalSystem) and the site is
# clean again (exit 0, descriptors back to their bytes) once the entry is
# undone; an Everyone entry added on the share root does not reach the
# isolated site folders, and when the root's entries are pushed down into
# them check names it (inherited from D:\Sites) and apply isolates them
# again; an unknown NAME is bad input (exit 2, stderr only); the human
# output for one finding is short and carries the fix; check --sites shows a
# hand-made change as drift and a missing site as '+ site'; a file that lost
# its inherited grant is found by check --deep only and repaired by apply
# --deep; a disabled account and a stale stored password (one refused
# logon, counted once) are named; after an account is deleted by hand and
# made again, apply removes the old SID's grants and check names any other
# entry of it; --prove's accesses over SMB as IUSR_a match the descriptors;
# a root that connects as a user with a stale password is named; an
# application whose pool cannot read its own root is named.
# Ends with destroy:
# the config back to its bytes, accounts, grants and folders gone.
# Usage: test_check.sh BUILD_DIR.
# shellcheck disable=SC2015  # A && ok || bad: ok (an echo) does not fail
set -uo pipefail
export LC_ALL=C
# shellcheck source=lab-test.sh
source "$(dirname "$0")/lab-test.sh"
lab_test_begin check "${1:?usage: test_check.sh BUILD_DIR}"

cfg=$work/iis/applicationHost.config
mkdir -p "$work/iis"; cp "$FIXTURE" "$cfg"; chmod 644 "$cfg"
lab_provision_conf "$repo" "$cfg" "smb://$LAB_HOST/sites" "secrets_file = $work/secrets" > "$work/provision.ini"
cat > "$work/sites.ini" <<'EOF2'
[site a.example.com]
template = ad-identity
id = a
[site pool.example.com]
template = standard
[site static.example.com]
template = static
EOF2
sites=(a.example.com pool.example.com static.example.com)
prov() { in_lab "$P" -c "$work/provision.ini" "$@"; }
# acl ARGS... PATH: smbcacls on the [sites] share as the Administrator.
acl() { in_lab smbcacls -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$@"; }
flat() { tr '\n' '~'; }

# The numeric descriptors of the share root and of every site folder.
folders=("")
for s in "${sites[@]}"; do folders+=("$s" "$s/wwwroot" "$s/data"); done
snapshot() {
  local f
  for f in "${folders[@]}"; do echo "== /$f"; acl --numeric "$f" 2>&1; done
}

# jcheck NAME...: check --json; the document in $work/check.json, the exit
# status in jrc, stderr in $work/check.err.
jcheck() { prov --json check "$@" > "$work/check.json" 2> "$work/check.err"; jrc=$?; }
# jq_ EXPR: a Python expression over that document: d is the document,
# site(N) the site N, ids(N) its sorted finding ids joined by blanks,
# finding(N, ID) its (first) finding ID. Booleans print as yes/no.
jq_() {
  python3 - "$work/check.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
def site(n):
    return next((s for s in d["sites"] if s["name"] == n), None)
def ids(n):
    s = site(n)
    return "(no site %s)" % n if s is None else " ".join(sorted(f["id"] for f in s["findings"]))
def finding(n, i):
    return next((f for f in site(n)["findings"] if f["id"] == i), None)
r = eval(sys.argv[2])
print(("yes" if r else "no") if isinstance(r, bool) else r)
PY
}
got_json() { echo "exit $jrc: $(flat < "$work/check.json") stderr: $(flat < "$work/check.err")"; }

# expect CASE SITE IDS: check --json SITE exits 4 and names exactly IDS
# (blank-separated, any order) for SITE.
expect() {
  local label=$1 site=$2 want got
  want=$(tr ' ' '\n' <<<"$3" | sort | xargs)
  jcheck "$site"
  got=$(jq_ "ids('$site')")
  if [ "$jrc" -eq 4 ] && [ "$got" = "$want" ]; then
    ok "$label: check $site names exactly [$want] (exit 4)"
  else
    bad "$label: check $site: wanted exit 4 and [$want], got exit $jrc and [$got]: $(got_json)"
  fi
}
# clean CASE: every descriptor is back to the snapshot, and check of the
# three sites exits 0 with no findings.
clean() {
  local label=$1 now nf
  now=$(snapshot)
  jcheck "${sites[@]}"
  nf=$(jq_ 'd["summary"]["findings"]')
  if [ "$now" = "$snap" ] && [ "$jrc" -eq 0 ] && [ "$nf" = 0 ]; then
    ok "$label: undone, descriptors back to their bytes, check exits 0 again"
  else
    bad "$label: after undoing: exit $jrc, $nf findings; descriptors changed: $(diff <(echo "$snap") <(echo "$now") | flat) $(got_json)"
  fi
}

out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -d "$LAB_SITES_PATH/static.example.com/wwwroot" ] \
  && ok "apply: three sites (ad-identity, standard, static) over smb://" || bad "apply (rc $rc): $out"
snap=$(snapshot)

# 1. Freshly applied: nothing to find.
jcheck
[ "$jrc" -eq 3 ] && [ "$(jq_ 'd["summary"]')" = "{'sites': 4, 'checked': 3, 'findings': 0, 'critical': 0}" ] \
  && [ "$(jq_ 'all(site(n)["checked"] is True and site(n)["reason"] is None for n in ["a.example.com", "pool.example.com", "static.example.com"])')" = yes ] \
  && [ "$(jq_ 'site("Default Web Site")["checked"] is False and "not below" in site("Default Web Site")["reason"]')" = yes ] \
  && ok "check (all): exit 3, the three sites checked with no findings, Default Web Site outside [content] root not checked" \
  || bad "check (all): $(got_json)"
out=$(prov check "${sites[@]}" 2>&1); rc=$?
pool_m() { # SITE: the pool's access to the files in SITE's data, from the table
  awk -v row="D:\\\\Sites\\\\$1\\\\data" '
    $1 == "folder" { col = 0; for (i = 1; i <= NF; i++) if ($i == "pool") col = i }
    $1 == row && col { print $col; exit }' <<<"$out"
}
[ $rc -eq 0 ] && grep -qx "a.example.com: no findings" <<<"$out" \
  && grep -qx "pool.example.com: no findings" <<<"$out" && grep -qx "static.example.com: no findings" <<<"$out" \
  && [ "$(pool_m a.example.com)" = M ] && [ "$(pool_m pool.example.com)" = M ] \
  && [ "$(pool_m static.example.com)" = M ] \
  && ok "check of the three sites by name: exit 0, no findings each, the table shows the pool's M on data" \
  || bad "check by name (rc $rc; pool on data: $(pool_m a.example.com)/$(pool_m pool.example.com)/$(pool_m static.example.com)): $out"

# a. static: IUSR's read entry on wwwroot deleted -> 401.3.
iusr_r='ACL:S-1-5-17:ALLOWED/OI|CI/0x00120089'
out=$(acl --delete "$iusr_r" static.example.com/wwwroot 2>&1) || bad "a: smbcacls --delete: $out"
expect "a (IUSR's read entry deleted)" static.example.com anonymous-cannot-read
fix=$(jq_ 'finding("static.example.com", "anonymous-cannot-read")["fix"]')
[ "$(jq_ 'finding("static.example.com", "anonymous-cannot-read")["severity"]')" = critical ] \
  && [ "$(jq_ 'finding("static.example.com", "anonymous-cannot-read")["identity"]')" = IUSR ] \
  && grep -qF '/grant "IUSR:(OI)(CI)R"' <<<"$fix" \
  && ok "a: critical, identity IUSR, fix: $fix" || bad "a: identity, severity or fix: $(got_json)"
# j. The human output of that one finding is short and carries the fix.
out=$(prov check static.example.com 2>&1); rc=$?
block=$(sed -n '/^static\.example\.com: /,/^check: /p' <<<"$out" | sed '$d')
lines=$(grep -c '' <<<"$block")
[ $rc -eq 4 ] && [ "$lines" -ge 3 ] && [ "$lines" -le 15 ] \
  && grep -qF 'fix: icacls "D:\Sites\static.example.com\wwwroot" /grant "IUSR:(OI)(CI)R"' <<<"$block" \
  && ok "j: the human output for case a is $lines lines for the site and carries the fix line" \
  || bad "j (rc $rc, $lines lines): $out"
# apply puts a missing grant back.
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -qF 'S-1-5-17: (A;OICI;0x120089;;;S-1-5-17)' <<<"$out" \
  && ok "a: apply puts IUSR's read entry back" || bad "a: apply (rc $rc): $out"
clean a

# b. static: Everyone denied Read Data on wwwroot -> 500.19 and 401.3.
deny='ACL:S-1-1-0:DENIED/OI|CI/0x00000001'
out=$(acl --add "$deny" static.example.com/wwwroot 2>&1) || bad "b: smbcacls --add: $out"
expect "b (Everyone denied read)" static.example.com "pool-cannot-read anonymous-cannot-read"
[ "$(jq_ 'all(any(e["ace"].startswith("Everyone:") and "(DENY)" in e["ace"] for e in f["evidence"]) for f in site("static.example.com")["findings"])')" = yes ] \
  && ok "b: the evidence of both names Everyone's (DENY) entry" || bad "b: evidence: $(got_json)"
out=$(acl --delete "$deny" static.example.com/wwwroot 2>&1) || bad "b: smbcacls --delete: $out"
clean b

# c. pool: BUILTIN\Users RX on wwwroot -> a group every tenant holds.
users='ACL:S-1-5-32-545:ALLOWED/OI|CI/0x001200a9'
out=$(acl --add "$users" pool.example.com/wwwroot 2>&1) || bad "c: smbcacls --add: $out"
expect "c (BUILTIN\\Users on wwwroot)" pool.example.com group-access
who=$(jq_ 'finding("pool.example.com", "group-access")["identity"]')
[ "$who" = 'BUILTIN\Users' ] && ok "c: identity $who" || bad "c: identity '$who': $(got_json)"
out=$(acl --delete "$users" pool.example.com/wwwroot 2>&1) || bad "c: smbcacls --delete: $out"
clean c

# d. a: pool.example.com's AppPool identity Modify on a's data -> another tenant.
apppool=$(prov sid 'IIS AppPool\pool.example.com' | cut -f2)
[[ $apppool == S-1-5-82-* ]] && ok "d: pool.example.com's AppPool SID $apppool" || bad "d: sid: '$apppool'"
tenant="ACL:$apppool:ALLOWED/OI|CI/0x001301bf"
out=$(acl --add "$tenant" a.example.com/data 2>&1) || bad "d: smbcacls --add: $out"
expect "d (another tenant's AppPool identity on a's data)" a.example.com other-tenant-access
who=$(jq_ 'finding("a.example.com", "other-tenant-access")["identity"]')
[ "$who" = 'IIS AppPool\pool.example.com' ] && ok "d: identity $who" || bad "d: identity '$who': $(got_json)"
out=$(acl --delete "$tenant" a.example.com/data 2>&1) || bad "d: smbcacls --delete: $out"
clean d
# d2. pool: a's AD account (resolved over LDAP) RX on pool's data.
sid_a=$(prov sid 'LAB\IUSR_a' | cut -f2)
tenant="ACL:$sid_a:ALLOWED/OI|CI/0x001200a9"
out=$(acl --add "$tenant" pool.example.com/data 2>&1) || bad "d2: smbcacls --add: $out"
expect "d2 (a's account IUSR_a on pool's data)" pool.example.com other-tenant-access
who=$(jq_ 'finding("pool.example.com", "other-tenant-access")["identity"]')
[ "$who" = 'LAB\IUSR_a' ] && ok "d2: identity $who ($sid_a)" || bad "d2: identity '$who' ($sid_a): $(got_json)"
out=$(acl --delete "$tenant" pool.example.com/data 2>&1) || bad "d2: smbcacls --delete: $out"
clean d2

# e. pool: the pool identity Modify on its own wwwroot -> it can rewrite its code.
modify="ACL:$apppool:ALLOWED/OI|CI/0x001301bf"
out=$(acl --add "$modify" pool.example.com/wwwroot 2>&1) || bad "e: smbcacls --add: $out"
expect "e (the pool may modify wwwroot)" pool.example.com pool-can-write-content
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -qF '~ grant D:\Sites\pool.example.com\wwwroot' <<<"$out" \
  && ok "e: apply takes the pool's wwwroot grant back to RX" || bad "e: apply (rc $rc): $out"
clean e

# f. static: IUSR may write in data -> anonymous write.
iusr_w='ACL:S-1-5-17:ALLOWED/OI|CI/0x00100116'
out=$(acl --add "$iusr_w" static.example.com/data 2>&1) || bad "f: smbcacls --add: $out"
expect "f (IUSR may write in data)" static.example.com anonymous-can-write
out=$(acl --delete "$iusr_w" static.example.com/data 2>&1) || bad "f: smbcacls --delete: $out"
clean f

# g. Everyone RX (OI)(CI) added on the share root: the isolated site folders
# do not inherit it.
everyone='ACL:S-1-1-0:ALLOWED/OI|CI/0x001200a9'
out=$(acl --add "$everyone" "" 2>&1) || bad "g: smbcacls --add: $out"
jcheck
now=$(snapshot)
[ "$jrc" -eq 3 ] && [ "$(jq_ 'd["summary"]["findings"]')" = 0 ] \
  && [ "$(diff <(echo "$snap") <(echo "$now") | grep -c '^[<>]')" = 1 ] \
  && grep -qx "> ACL:S-1-1-0:0/0x3/0x001200a9" <<<"$(diff <(echo "$snap") <(echo "$now"))" \
  && ok "g: Everyone on the share root: only the root changed, check stays at 0 findings (exit 3)" \
  || bad "g: $(diff <(echo "$snap") <(echo "$now") | flat) $(got_json)"
out=$(acl --delete "$everyone" "" 2>&1) || bad "g: smbcacls --delete: $out"
clean g
# g2. The root's entries pushed down into every folder below, as Windows
# propagates them (the site folders carry no PROTECTED flag over SMB,
# README): check names Everyone inherited from D:\Sites on every site, and
# apply isolates the site folders again.
out=$(acl --propagate-inheritance --add "$everyone" "" 2>&1) || bad "g2: smbcacls --propagate-inheritance --add: $out"
jcheck
[ "$jrc" -eq 4 ] \
  && [ "$(jq_ 'all(ids(n) == "group-access" and finding(n, "group-access")["identity"] == "Everyone" and any(e["inherited_from"] == "D:\\Sites" for e in finding(n, "group-access")["evidence"]) for n in ["a.example.com", "pool.example.com", "static.example.com"])')" = yes ] \
  && ok "g2: pushed down from the share root: exactly group-access Everyone, inherited from D:\\Sites, on each site (exit 4)" \
  || bad "g2: $(got_json)"
out=$(acl --delete "$everyone" "" 2>&1) || bad "g2: smbcacls --delete: $out"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(grep -c 'inheritance: inherited -> own entries only' <<<"$out")" = 3 ] \
  && ok "g2: apply isolates the three site folders again" || bad "g2: apply (rc $rc): $out"
clean g2

# h. pool.example.com's pool running as LocalSystem (the IIS config edited by
# hand, line endings kept).
cp "$cfg" "$work/apphost.saved"
python3 - "$cfg" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8", newline="").read()
text, n = re.subn(r'(<add name="pool\.example\.com"[^>]*>\s*<processModel )identityType="ApplicationPoolIdentity"',
                  r'\1identityType="LocalSystem"', text)
open(path, "w", encoding="utf-8", newline="").write(text)
sys.exit(0 if n == 1 else 1)
PY
rc=$?
[ $rc -eq 0 ] && [ "$(diff "$work/apphost.saved" "$cfg" | grep -c '^[<>]')" = 2 ] \
  && grep -q '<processModel identityType="LocalSystem" />' "$cfg" \
  && ok "h: the config edited: pool.example.com's processModel identityType=LocalSystem, one line changed" \
  || bad "h: edit (rc $rc): $(diff "$work/apphost.saved" "$cfg" | head -5 | flat)"
expect "h (a pool running as LocalSystem)" pool.example.com pool-localsystem
fix=$(jq_ 'finding("pool.example.com", "pool-localsystem") and finding("pool.example.com", "pool-localsystem")["fix"]')
grep -qF '/processModel.identityType:ApplicationPoolIdentity' <<<"$fix" \
  && ok "h: fix: $fix" || bad "h: fix '$fix'"
cp "$work/apphost.saved" "$cfg"
cmp -s "$cfg" "$work/apphost.saved" && ok "h: the config restored" || bad "h: config not restored"
clean h

# k. Drift (check --sites): pool.example.com's runtime changed by hand.
cp "$cfg" "$work/apphost.saved"
sed -i 's/\(<add name="pool\.example\.com"[^>]*managedRuntimeVersion="\)v4\.0"/\1v2.0"/' "$cfg"
prov --json check --sites "$work/sites.ini" > "$work/check.json" 2> "$work/check.err"; jrc=$?
[ "$jrc" -eq 4 ] && [ "$(jq_ 'ids("pool.example.com")')" = drift ] \
  && [ "$(jq_ 'ids("a.example.com") + "|" + ids("static.example.com")')" = "|" ] \
  && [ "$(jq_ 'any("managedRuntimeVersion: v2.0 -> v4.0" in e["ace"] for e in finding("pool.example.com", "drift")["evidence"])')" = yes ] \
  && [ "$(jq_ 'site("Default Web Site") is None')" = yes ] \
  && ok "k: check --sites: the hand-made runtime change is pool.example.com's drift, and only the lists' sites are checked" \
  || bad "k: $(got_json)"
cp "$work/apphost.saved" "$cfg"
printf '[site new.example.com]\ntemplate = standard\n' > "$work/new.ini"
prov --json check --sites "$work/new.ini" > "$work/check.json" 2> "$work/check.err"; jrc=$?
[ "$jrc" -eq 4 ] && [ "$(jq_ 'site("new.example.com")["checked"] is False and ids("new.example.com") == "drift"')" = yes ] \
  && [ "$(jq_ 'any(e["ace"].startswith("+ site new.example.com") for e in finding("new.example.com", "drift")["evidence"])')" = yes ] \
  && ok "k: a listed site missing from the config: not checked, its drift is '+ site'" || bad "k (missing site): $(got_json)"
out=$(prov check --sites "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && ! grep -q "Default Web Site" <<<"$out" && ok "k: undone: check --sites exits 0" || bad "k: after undoing (rc $rc): $out"

# l. Deep: a file in data lost the pool's entry its folder passes down.
echo "uploaded" > "$work/up.txt"
out=$(in_lab smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" -c "put $work/up.txt pool.example.com/data/up.txt" 2>&1) \
  || bad "l: upload: $out"
# Samba copies inheritable entries without the INHERITED flag (0x0).
out=$(acl --delete "ACL:$apppool:ALLOWED/0x0/0x001301bf" pool.example.com/data/up.txt 2>&1) || bad "l: smbcacls --delete: $out"
jcheck pool.example.com
[ "$jrc" -eq 0 ] && ok "l: without --deep, check reads the folders only (exit 0)" || bad "l: plain check: $(got_json)"
prov --json --deep check pool.example.com > "$work/check.json" 2> "$work/check.err"; jrc=$?
[ "$jrc" -eq 4 ] && [ "$(jq_ 'ids("pool.example.com")')" = inheritance-stale ] \
  && [ "$(jq_ '[e["path"] for e in finding("pool.example.com", "inheritance-stale")["evidence"]] == ["D:\\Sites\\pool.example.com\\data\\up.txt"]')" = yes ] \
  && ok "l: check --deep names the file that lost its inherited grant, and only it" || bad "l: check --deep: $(got_json)"
out=$(prov plan "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^No changes" <<<"$out" && ok "l: plain plan sees no change (it compares the folders only)" || bad "l: plan (rc $rc): $out"
out=$(prov plan --deep "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -qF 'descendants repaired: 1: pool.example.com\data\up.txt' <<<"$out" \
  && ok "l: plan --deep shows the repair" || bad "l: plan --deep (rc $rc): $out"
out=$(prov apply --deep "$work/sites.ini" 2>&1); rc=$?
d=$(acl --numeric pool.example.com/data/up.txt 2>&1)
[ $rc -eq 0 ] && grep -q "^ACL:$apppool:0/0x10/0x001301bf$" <<<"$d" \
  && ok "l: apply --deep gives the file the pool's inherited entry back" || bad "l: apply --deep (rc $rc): $out $d"
prov --json --deep check pool.example.com > "$work/check.json" 2> "$work/check.err"; jrc=$?
out=$(prov apply --deep "$work/sites.ini" 2>&1); rc=$?
[ "$jrc" -eq 0 ] && [ $rc -eq 0 ] && grep -q "^No changes" <<<"$out" \
  && ok "l: repaired: check --deep exits 0, a second apply --deep changes nothing" || bad "l: after repair: $(got_json) apply: $out"
in_lab smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" -c "del pool.example.com/data/up.txt" >/dev/null 2>&1
clean l

# m. a's account disabled in AD: its pool cannot start.
samdb=$LAB_DIR/private/sam.ldb
out=$(in_lab samba-tool user disable IUSR_a -H "$samdb" 2>&1) || bad "m: samba-tool disable: $out"
expect "m (IUSR_a disabled)" a.example.com account-disabled
grep -q "Enable-ADAccount IUSR_a" <<<"$(jq_ 'finding("a.example.com", "account-disabled")["fix"]')" \
  && ok "m: fix Enable-ADAccount IUSR_a" || bad "m: fix: $(got_json)"
out=$(in_lab samba-tool user enable IUSR_a -H "$samdb" 2>&1) || bad "m: samba-tool enable: $out"
clean m

# n. The password the pool stores no longer logs on: one bind, never retried.
bad_pwd() { in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" -y "$LAB_ADMIN_PASSWORD_FILE" \
  -b "$LAB_BASE_DN" '(sAMAccountName=IUSR_a)' badPwdCount 2>/dev/null | awk '/^badPwdCount:/ { print $2 }'; }
# Samba counts refused logons only under a lockout policy: 5 for this case.
out=$(in_lab samba-tool domain passwordsettings set --account-lockout-threshold=5 -H "$samdb" 2>&1) \
  || bad "n: lockout threshold: $out"
before=$(bad_pwd)
cp "$cfg" "$work/apphost.saved"
sed -i 's/\(userName="LAB\\IUSR_a" password="\)[^"]*"/\1Not-The-Password-1"/' "$cfg"
expect "n (a stale password in the pool)" a.example.com password-logon
after=$(bad_pwd)
[ -n "$before" ] && [ "$after" = $((before + 1)) ] \
  && ok "n: exactly one refused logon counted (badPwdCount $before -> $after)" || bad "n: badPwdCount $before -> $after"
cp "$work/apphost.saved" "$cfg"
out=$(in_lab samba-tool domain passwordsettings set --account-lockout-threshold=0 -H "$samdb" 2>&1) \
  || bad "n: lockout threshold back: $out"
clean n

# o. a's account deleted by hand: check cannot find the pool's identity;
# apply makes it again (a new SID) and removes the old SID's entries that
# have exactly the site's own grant; an entry of the old SID with other
# rights is named by check (unresolved-sid) and left alone by apply.
old_sid=$(prov sid 'LAB\IUSR_a' | cut -f2)
out=$(in_lab samba-tool user delete IUSR_a -H "$samdb" 2>&1) || bad "o: samba-tool delete: $out"
jcheck a.example.com
[ "$jrc" -eq 3 ] && [ "$(jq_ 'site("a.example.com")["checked"] is False and "IUSR_a" in site("a.example.com")["reason"]')" = yes ] \
  && ok "o: the pool's account gone: a.example.com not checked, saying why (exit 3)" || bad "o: check: $(got_json)"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
new_sid=$(prov sid 'LAB\IUSR_a' | cut -f2)
d=$(acl --numeric a.example.com/data 2>&1)
[ $rc -eq 0 ] && [ -n "$new_sid" ] && [ "$new_sid" != "$old_sid" ] \
  && grep -qF "$old_sid: (A;OICI;0x1301bf;;;$old_sid) -> (unset)" <<<"$out" \
  && ! grep -q "$old_sid" <<<"$d" && grep -q "^ACL:$new_sid:0/0x3/0x001301bf$" <<<"$d" \
  && ok "o: apply made IUSR_a again ($new_sid) and removed the old SID's grant ($old_sid)" \
  || bad "o: apply (rc $rc): $out $d"
jcheck a.example.com
[ "$jrc" -eq 0 ] && ok "o: check a.example.com exits 0 again" || bad "o: check after apply: $(got_json)"
stale="ACL:$old_sid:ALLOWED/OI|CI/0x001200a9"
out=$(acl --add "$stale" a.example.com/data 2>&1) || bad "o: smbcacls --add: $out"
expect "o (an entry of the deleted account, other rights)" a.example.com unresolved-sid
[ "$(jq_ 'finding("a.example.com", "unresolved-sid")["identity"]')" = "$old_sid" ] \
  && ok "o: unresolved-sid names $old_sid" || bad "o: identity: $(got_json)"
out=$(prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^No changes" <<<"$out" && grep -q "$old_sid" <<<"$(acl --numeric a.example.com/data 2>&1)" \
  && ok "o: apply leaves an entry that is not exactly the site's grant" || bad "o: apply (rc $rc): $out"
out=$(acl --delete "$stale" a.example.com/data 2>&1) || bad "o: smbcacls --delete: $out"

# p. --prove: logged on over SMB as IUSR_a with the password the config
# holds, the accesses tried for real match what the descriptors say; the
# probe files are gone again.
prov --json --prove check a.example.com > "$work/check.json" 2> "$work/check.err"; jrc=$?
probes=$(jq_ '" ".join("%s:%s:%s" % (p["kind"], p["path"].split("\\")[-1], {True: "allowed", False: "denied", None: "?"}[p["got"]]) for p in site("a.example.com")["probes"])')
[ "$jrc" -eq 0 ] \
  && [ "$probes" = "read:wwwroot:allowed write:a.example.com:denied write:wwwroot:denied write:data:allowed read:wwwroot:denied write:wwwroot:denied" ] \
  && [ "$(jq_ 'all(p["got"] == p["expected"] for p in site("a.example.com")["probes"]) and "IIS_IUSRS" in site("a.example.com")["notes"]')" = yes ] \
  && [ -z "$(find "$LAB_SITES_PATH" -name '.provision-prove-*')" ] \
  && ok "p: --prove as IUSR_a: reads wwwroot, writes data only, nothing in pool.example.com's; as the descriptors say; no probe file left" \
  || bad "p: --prove: probes [$probes] $(got_json)"

# q. pool.example.com's root connects as IUSR_a with a stale password (the
# config edited by hand): one refused logon, named.
cp "$cfg" "$work/apphost.saved"
python3 - "$cfg" <<'PY' || bad "q: config edit"
import re, sys
p = sys.argv[1]
t = open(p, encoding="utf-8", newline="").read()
t, n = re.subn(r'(<virtualDirectory path="/" physicalPath="D:\\Sites\\pool\.example\.com\\wwwroot")',
               r'\1 userName="LAB\\IUSR_a" password="Not-The-Password-2"', t)
open(p, "w", encoding="utf-8", newline="").write(t)
sys.exit(0 if n == 1 else 1)
PY
expect "q (a connect-as user with a stale password)" pool.example.com connect-as-logon
cp "$work/apphost.saved" "$cfg"

# r. An application /api of pool.example.com in DefaultAppPool, its root on
# pool.example.com's data (the config edited by hand): DefaultAppPool's
# identity cannot read there.
cp "$cfg" "$work/apphost.saved"
python3 - "$cfg" <<'PY' || bad "r: config edit"
import re, sys
p = sys.argv[1]
t = open(p, encoding="utf-8", newline="").read()
t, n = re.subn(r'(<site name="pool\.example\.com"[^>]*>\s*<application path="/"[^>]*>.*?</application>)',
               r'\1<application path="/api" applicationPool="DefaultAppPool"><virtualDirectory path="/" physicalPath="D:\\Sites\\pool.example.com\\data" /></application>',
               t, count=1, flags=re.S)
open(p, "w", encoding="utf-8", newline="").write(t)
sys.exit(0 if n == 1 else 1)
PY
expect "r (an application whose pool cannot read its root)" pool.example.com pool-cannot-read
[ "$(jq_ 'finding("pool.example.com", "pool-cannot-read")["identity"] + "|" + finding("pool.example.com", "pool-cannot-read")["path"]')" = 'IIS AppPool\DefaultAppPool|D:\Sites\pool.example.com\data' ] \
  && ok "r: names DefaultAppPool's identity on the application's root" || bad "r: $(got_json)"
cp "$work/apphost.saved" "$cfg"

# i. A NAME that is not a site: bad input, the name on stderr, nothing on stdout.
for mode in text --json; do
  args=(check no-such-site.example)
  [ $mode = --json ] && args=(--json "${args[@]}")
  prov "${args[@]}" > "$work/i.out" 2> "$work/i.err"; rc=$?
  [ $rc -eq 2 ] && [ ! -s "$work/i.out" ] && grep -qF "no-such-site.example" "$work/i.err" \
    && ok "i ($mode): check no-such-site.example: exit 2, named on stderr, stdout empty" \
    || bad "i ($mode): rc $rc, stdout: $(flat < "$work/i.out") stderr: $(flat < "$work/i.err")"
done

# Destroy: config back to its bytes, accounts, grants and (empty) folders gone.
out=$(prov destroy --remove-folders "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && cmp -s "$cfg" "$FIXTURE" && [ -z "$(find "$LAB_SITES_PATH" -mindepth 1 -print -quit)" ] \
  && ! prov sid 'LAB\IUSR_a' >/dev/null 2>&1 \
  && ok "destroy: config restored, IUSR_a, grants and site folders gone" \
  || bad "destroy (rc $rc; left: $(find "$LAB_SITES_PATH" -mindepth 1 | flat)): $out"
jcheck
[ "$jrc" -eq 3 ] && [ "$(jq_ 'd["summary"]')" = "{'sites': 1, 'checked': 0, 'findings': 0, 'critical': 0}" ] \
  && ok "check after destroy: only Default Web Site, not checked (exit 3)" || bad "check after destroy: $(got_json)"

summary
