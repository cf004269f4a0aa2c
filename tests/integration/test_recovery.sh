#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Crash recovery on the lab domain, a smoke run (the long campaign is
# tests/crash/crash_campaign.sh): a batch of AD-identity sites with folders
# and grants over smb:// and applicationHost.config over smb:// is killed
# (SIGKILL through PROVISION_TEST_HOOK) at each kind of step of apply,
# apply --rotate-passwords, destroy and recover itself; after
# `provision recover` every site must be whole or absent (recovery-lib.sh),
# the next apply must converge and destroy must give the fixture's bytes
# back. Then an injected internal error in each step type (the site is
# undone, the others go on, exit 3) and SIGINT in the middle of a batch
# (the current site undone, the done ones kept, exit 3).
# Usage: test_recovery.sh BUILD_DIR.
set -uo pipefail
export LC_ALL=C
# shellcheck source=lab-test.sh
source "$(dirname "$0")/lab-test.sh"
lab_test_begin recovery "${1:?usage: test_recovery.sh BUILD_DIR}"
# shellcheck source=recovery-lib.sh
source "$(dirname "$0")/recovery-lib.sh"
N=${RECOVERY_SITES:-6}
rec_setup "$N"

# expect LABEL WHOLE ABSENT: every site whole or absent, in these numbers
# (- for any).
expect() {
  rec_classify
  if [ "$half" -eq 0 ] && { [ "$2" = - ] || [ "$whole" -eq "$2" ]; } &&
    { [ "$3" = - ] || [ "$absent" -eq "$3" ]; }; then
    ok "$1: $whole whole, $absent absent, 0 half"
  else
    bad "$1: $whole whole, $absent absent, $half half:$half_list (wanted $2 whole, $3 absent)"
  fi
}
reset_all() { # converge, then remove everything: the config must be the fixture again
  HOOK= prov apply "$work/sites.ini" >"$work/out" 2>&1 || { bad "re-apply converges: $(tail -3 "$work/out")"; return; }
  HOOK= prov destroy --remove-folders "$work/sites.ini" >"$work/out" 2>&1 || { bad "destroy: $(tail -3 "$work/out")"; return; }
  rec_config_pristine && [ -z "$(ls "$STATE/journals")" ] && ok "$1: converged, destroyed, config back to the fixture's bytes" \
    || bad "$1: config not back to the fixture or a journal left: $(ls "$STATE/journals")"
}

# Kill apply at a step: before the write everything rolls back, after it forward.
for point in accounts:1:0 mkdir:4:0 sd:5:0 site:3:0 config:1:0 committed:1:1; do
  IFS=: read -r where nth after <<<"$point"
  HOOK=crash:$where:$nth prov apply "$work/sites.ini" >"$work/out" 2>&1; rc=$?
  [ $rc -eq 137 ] && [ -n "$(ls "$STATE/journals")" ] || bad "apply killed at $where:$nth (rc $rc): $(tail -2 "$work/out")"
  out=$(HOOK= prov recover 2>&1); rc=$?
  [ $rc -eq 0 ] && grep -q "recovered the interrupted apply" <<<"$out" || bad "recover after $where (rc $rc): $out"
  if [ "$after" = 1 ]; then expect "apply killed at $where" "$N" 0; else expect "apply killed at $where" 0 "$N"; fi
  reset_all "after $where"
done

# Killed between the two renames of the smb:// replace: no
# applicationHost.config at all; recovery puts the old one back and removes
# the dead run's temp file (it holds the new file, passwords included).
HOOK=crash:swap:1 prov apply "$work/sites.ini" >"$work/out" 2>&1; rc=$?
cfgdir=$(dirname "$CFG")
[ $rc -eq 137 ] && [ ! -e "$CFG" ] && ok "killed mid-replace: no applicationHost.config left" \
  || bad "swap kill (rc $rc): config present: $([ -e "$CFG" ] && echo yes)"
out=$(HOOK= prov recover 2>&1); rc=$?
[ $rc -eq 0 ] && rec_config_pristine && grep -q "was put back" <<<"$out" \
  && [ -z "$(ls -A "$cfgdir" | grep 'provision-tmp')" ] \
  && ok "recover put the original config back and removed the temp file" || bad "swap recovery (rc $rc): $out; $(ls -A "$cfgdir")"
expect "killed mid-replace" 0 "$N"
reset_all "after the swap kill"

# The next apply recovers by itself (no recover command), then does its work.
HOOK=crash:sd:3 prov apply "$work/sites.ini" >/dev/null 2>&1
out=$(HOOK= prov apply "$work/sites.ini" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "recovered the interrupted apply" <<<"$out" && ok "apply recovers a journal of the same targets first" \
  || bad "apply after a crash (rc $rc): $out"
expect "apply after a crash" "$N" 0

# A password rotation killed after the write: recovery sets the password the
# config holds, so the pool's account logs on with it.
HOOK=crash:rotate:2 prov apply --rotate-passwords "$work/sites.ini" >"$work/out" 2>&1; rc=$?
[ $rc -eq 137 ] || bad "rotate killed (rc $rc)"
HOOK= prov recover >"$work/out" 2>&1 || bad "recover after rotate: $(cat "$work/out")"
for k in 1 2 "$N"; do
  pw=$(python3 - "$CFG" "r$k.example.com" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for p in root.iter("add"):
    if p.get("name") == sys.argv[2] and p.find("processModel") is not None:
        print(p.find("processModel").get("password") or "")
PY
)
  f=$work/pw.$k; (umask 077; printf '%s' "$pw" > "$f")
  if [ -n "$pw" ] && in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -D "IUSR_r$k@$LAB_DNS_DOMAIN" -y "$f" \
    -b "$LAB_BASE_DN" -s base dn >/dev/null 2>&1; then
    ok "rotation killed, recovered: IUSR_r$k logs on with the password in the config"
  else
    bad "IUSR_r$k does not log on with the config's password after recovery"
  fi
  rm -f "$f"
done
expect "rotation killed and recovered" "$N" 0

# destroy killed after the write (one site done): recovery finishes the rest.
HOOK=crash:delete:2 prov destroy --remove-folders "$work/sites.ini" >"$work/out" 2>&1; rc=$?
[ $rc -eq 137 ] || bad "destroy killed (rc $rc)"
HOOK= prov recover >"$work/out" 2>&1 || bad "recover after destroy: $(cat "$work/out")"
expect "destroy killed at its second site" 0 "$N"
rec_config_pristine && ok "destroy recovered: config back to the fixture's bytes" || bad "config after destroy recovery"

# recover itself killed, then run again.
HOOK=crash:sd:6 prov apply "$work/sites.ini" >/dev/null 2>&1
HOOK=crash:recover:2 prov recover >/dev/null 2>&1; rc=$?
[ $rc -eq 137 ] || bad "recover killed (rc $rc)"
out=$(HOOK= prov recover 2>&1) && grep -q "recovered" <<<"$out" || bad "second recover: $out"
expect "recover killed, run again" 0 "$N"

# plan and validate never recover; they mention the waiting journal.
HOOK=crash:sd:2 prov apply "$work/sites.ini" >/dev/null 2>&1
out=$(HOOK= prov plan "$work/sites.ini" 2>&1)
grep -q "journal" <<<"$out" && [ -n "$(ls "$STATE/journals")" ] && ok "plan mentions the waiting journal and leaves it" \
  || bad "plan with a waiting journal: $out"
HOOK= prov recover >/dev/null 2>&1
reset_all "after plan"

# An injected internal error in each step type: that site is undone, the
# others go on, exit 3.
for point in account:2 mkdir:5 sd:6 site:3; do
  HOOK=fail:$point prov apply "$work/sites.ini" >"$work/out" 2>&1; rc=$?
  [ $rc -eq 3 ] && grep -q "injected fault" "$work/out" && [ -z "$(ls "$STATE/journals")" ] \
    && ok "fail:$point: exit 3, journal closed" || bad "fail:$point (rc $rc): $(tail -3 "$work/out")"
  expect "fail:$point" $((N - 1)) 1
  reset_all "after fail:$point"
done

# SIGINT in the middle of the batch (raised at a descriptor write of the
# third site): the current site is undone, the done ones kept, exit 3.
HOOK=signal:sd:9 prov apply "$work/sites.ini" >"$work/out" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "interrupted" "$work/out" && ok "SIGINT: exit 3, says interrupted" \
  || bad "SIGINT (rc $rc): $(tail -3 "$work/out")"
rec_classify
[ "$half" -eq 0 ] && [ "$whole" -ge 1 ] && [ "$absent" -ge 1 ] && ok "SIGINT: $whole done kept, $absent undone, 0 half" \
  || bad "SIGINT: $whole whole, $absent absent, $half half:$half_list"
reset_all "after SIGINT"

# Two random kills with plain timing.
for delay in 0.8 1.6; do
  in_lab env PROVISION_STATE_DIR="$STATE" "$P" -c "$work/provision.ini" apply "$work/sites.ini" >/dev/null 2>&1 &
  sleep "$delay"; pkill -KILL -f "^$P -c $work/provision.ini" ; wait
  HOOK= prov recover >/dev/null 2>&1 || bad "recover after a kill at ${delay}s"
  expect "killed after ${delay}s" - -
  reset_all "after the kill at ${delay}s"
done

# Saved plans against the real directory and share: a plan made, then an
# account or a descriptor it relies on changed by someone else: apply
# --plan refuses, naming it, and changes nothing.
HOOK= prov plan -o "$work/a.plan" "$work/sites.ini" >/dev/null 2>&1 || bad "plan -o on the lab"
in_lab samba-tool user create IUSR_r2 --random-password -H "ldap://$LAB_HOST" -U Administrator \
  --password="$(cat "$LAB_ADMIN_PASSWORD_FILE")" >/dev/null 2>&1 || bad "test set-up: samba-tool user create IUSR_r2"
cp "$CFG" "$work/before.config"
out=$(HOOK= prov apply --plan "$work/a.plan" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "changed since the plan: account IUSR_r2 (it exists now)" <<<"$out" && cmp -s "$CFG" "$work/before.config" \
  && [ ! -d "$LAB_SITES_PATH/r1.example.com" ] && ok "apply --plan refuses: an account it relies on appeared" \
  || bad "apply --plan with a changed account (rc $rc): $out"
in_lab samba-tool user delete IUSR_r2 -H "ldap://$LAB_HOST" -U Administrator \
  --password="$(cat "$LAB_ADMIN_PASSWORD_FILE")" >/dev/null 2>&1 || bad "test set-up: samba-tool user delete"
HOOK= prov apply "$work/sites.ini" >/dev/null 2>&1 || bad "apply before the descriptor case"
HOOK= prov plan -o "$work/b.plan" "$work/sites.ini" >/dev/null 2>&1 || bad "plan -o (no change)"
in_lab smbcacls -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" r3.example.com/data -a 'ACL:S-1-1-0:ALLOWED/0x0/READ' >/dev/null 2>&1 \
  || bad "test set-up: smbcacls -a on r3 data"
out=$(HOOK= prov apply --plan "$work/b.plan" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "changed since the plan: descriptor r3.example.com/data" <<<"$out" \
  && ok "apply --plan refuses: a descriptor it read changed" || bad "apply --plan with a changed descriptor (rc $rc): $out"
HOOK= prov plan -o "$work/c.plan" "$work/sites.ini" >/dev/null 2>&1
out=$(HOOK= prov apply --plan "$work/c.plan" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "a fresh plan of the same state applies" || bad "apply --plan (rc $rc): $out"
reset_all "after saved plans"

[ -s "$STATE/audit.log" ] && python3 -c '
import json, sys
secrets = [l.rstrip("\n").split("\t")[2] for l in open(sys.argv[2]) if l.count("\t") == 2]
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line); n += 1
    assert d["v"] == 1 and d["run"] and d["step"] and d["result"]
    assert not any(p in line for p in secrets), "a password in the audit log"
assert secrets and n > 0
print(n)' "$STATE/audit.log" "$work/secrets" >"$work/n" && ok "audit log: $(cat "$work/n") JSON lines, versioned, no password of the secrets file" \
  || bad "audit log unreadable"
summary
