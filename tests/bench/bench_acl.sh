#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/bench/bench_acl.sh: grants per second over SMB, the engine against
# the scripted way, in ONE lab run (same Samba, same machine, same moment):
#  - engine: tests/bench/bench_acl.c applies the grants of N sites (folders
#    SITE\wwwroot and SITE\data, 2 or 3 grants each) through acl_apply_site
#    with one SMB session (libsmbclient context) for the whole run, folders
#    created by the engine; then applies them all again (no change);
#  - scripted: one `smbcacls --add` process per grant for N other sites
#    (their folders made beforehand, not timed).
# Prints both rates, the ratio and checks a sample of the results.
# Usage: bench_acl.sh [N] (default 500). Needs root. BENCH_ACL_BIN may name a
# built bench_acl. Ends with "N passed, M failed".
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
PY="python3 $REPO/tests/integration/acl/helper.py"
N=${1:-500}

npass=0
nfail=0
pass() { printf 'PASS %s\n' "$*"; npass=$((npass + 1)); }
fail() { printf 'FAIL %s\n' "$*"; nfail=$((nfail + 1)); }
summary() {
  echo "$npass passed, $nfail failed"
  (( nfail == 0 )) || exit 1
  exit 0
}

WORK=$(mktemp -d /tmp/bench_acl.XXXXXX)
chmod 0755 "$WORK"
LABDIR="$WORK/lab"
LAB_STARTED=0
finish() {
  if (( LAB_STARTED )) && [[ -f $LABDIR/lab/holder.pid ]]; then
    "$LAB" stop "$LABDIR" >/dev/null 2>&1 || echo "cleanup: STOP FAILED for $LABDIR"
  fi
  if (( nfail == 0 )); then rm -rf "$WORK"; else echo "work directory kept: $WORK"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

[[ $(id -u) -eq 0 ]] || { fail "bench_acl.sh needs root"; summary; }

if [[ -n ${BENCH_ACL_BIN:-} ]]; then
  BIN=$BENCH_ACL_BIN
else
  # the project's own build (scripts/build.sh) has every test driver
  if "$REPO/scripts/build.sh" >"$WORK/build.log" 2>&1; then
    BIN="$REPO/build/normal/bin/bench_acl"
  else
    fail "build bench_acl (see $WORK/build.log)"
    summary
  fi
fi

if "$LAB" start "$LABDIR" >"$WORK/lab-start.log" 2>&1; then
  LAB_STARTED=1
else
  LAB_STARTED=1
  fail "lab did not start"
  tail -n 20 "$WORK/lab-start.log"
  summary
fi
# shellcheck disable=SC1091
source "$LABDIR/lab.env"
in_lab() { "$LAB" exec "$LABDIR" -- "$@"; }
echo "lab: $(tail -n 1 "$WORK/lab-start.log")"
echo "cpu: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

in_lab smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" -c 'mkdir engine; mkdir scripted' >/dev/null 2>&1

# ---------------------------------------------------------------- engine
echo "== engine: $N sites through acl_apply_site, one SMB session"
in_lab "$BIN" "$LAB_SMB_AUTHFILE" "smb:$LAB_SMB_SITES/engine" "$N" site >"$WORK/engine.out" 2>&1
rc=$?
cat "$WORK/engine.out"
eng_rate=$(sed -n 's/^engine: .*rate=\([0-9.]*\).*/\1/p' "$WORK/engine.out")
eng_grants=$(sed -n 's/^engine: .*grants=\([0-9]*\).*/\1/p' "$WORK/engine.out")
if (( rc == 0 )) && [[ -n $eng_rate ]]; then pass "engine applied $eng_grants grants, re-apply changed nothing"; else fail "engine run (rc=$rc)"; fi

# ---------------------------------------------------------------- scripted
echo "== scripted: one smbcacls --add process per grant, $N other sites"
: >"$WORK/mk.cmds"
: >"$WORK/grants"
for (( i = 0; i < N; i++ )); do
  s=$(printf 'other%04d' "$i")
  sid=$($PY poolsid "$s")
  printf 'mkdir scripted/%s; mkdir scripted/%s/wwwroot; mkdir scripted/%s/data;\n' "$s" "$s" "$s" >>"$WORK/mk.cmds"
  printf 'scripted/%s/wwwroot ACL:%s:ALLOWED/0x3/0x001200a9\n' "$s" "$sid" >>"$WORK/grants"
  printf 'scripted/%s/data ACL:%s:ALLOWED/0x3/0x001301bf\n' "$s" "$sid" >>"$WORK/grants"
  if (( i % 3 == 0 )); then
    printf 'scripted/%s/wwwroot ACL:S-1-5-17:ALLOWED/0x3/0x00120089\n' "$s" >>"$WORK/grants"
  fi
done
in_lab smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" -c "$(tr -d '\n' <"$WORK/mk.cmds")" >/dev/null 2>&1
sc_grants=$(wc -l <"$WORK/grants")
cat >"$WORK/loop.sh" <<'EOF'
# one process per grant, as a shell script would do it
fails=0
start=$(date +%s.%N)
while read -r path ace; do
  smbcacls -A "$1" "$2" "$path" --add "$ace" >/dev/null 2>&1 || fails=$((fails + 1))
done <"$3"
end=$(date +%s.%N)
echo "seconds=$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}') failed=$fails"
EOF
sc_out=$(in_lab bash "$WORK/loop.sh" "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$WORK/grants")
sc_secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$sc_out")
sc_fail=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$sc_out")
sc_rate=$(awk -v g="$sc_grants" -v s="$sc_secs" 'BEGIN {print g / s}')
printf 'smbcacls: sites=%d grants=%d seconds=%.3f rate=%.1f failed=%s\n' "$N" "$sc_grants" "$sc_secs" "$sc_rate" "$sc_fail"
if [[ $sc_fail == 0 ]]; then pass "smbcacls loop: every --add succeeded"; else fail "smbcacls loop: $sc_fail failures"; fi

# ---------------------------------------------------------------- sample check
ok=1
for i in 0 1 $((N / 2)) $((N - 1)); do
  e=$(in_lab smbcacls -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$(printf 'engine/site%04d/data' "$i")" --numeric --sddl 2>&1)
  s=$(in_lab smbcacls -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$(printf 'scripted/other%04d/data' "$i")" --numeric --sddl 2>&1)
  se=$($PY poolsid "$(printf 'site%04d' "$i")")
  ss=$($PY poolsid "$(printf 'other%04d' "$i")")
  $PY has "$e" "(A;OICI;0x1301bf;;;$se)" >/dev/null || ok=0
  $PY has "$s" "(A;OICI;0x1301bf;;;$ss)" >/dev/null || ok=0
done
if (( ok )); then pass "sampled folders hold the grants (engine and smbcacls alike)"; else fail "sampled folders lack grants"; fi

ratio=$(awk -v e="$eng_rate" -v s="$sc_rate" 'BEGIN {print e / s}')
printf 'RESULT engine %.1f grants/s, smbcacls %.1f grants/s, ratio %.1fx (target >= 10x)\n' "$eng_rate" "$sc_rate" "$ratio"
if awk -v r="$ratio" 'BEGIN {exit !(r >= 10)}'; then pass "engine at least 10x the smbcacls loop"; else fail "engine below 10x the smbcacls loop"; fi
"$LAB" stop "$LABDIR" >/dev/null 2>&1 && LAB_STARTED=0
summary
