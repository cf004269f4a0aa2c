#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/bench/bench_acl.sh: grants per second over SMB, the engine against
# the scripted way, in ONE lab run (same Samba, same machine, same moment):
#  - engine: tests/bench/bench_acl.c applies the grants of N sites (folders
#    SITE\wwwroot and SITE\data, 2 or 3 grants each) through acl_apply_site
#    with one SMB session (libsmbclient context) for the whole run, folders
#    created by the engine, each site's reads remembered as the tool's
#    apply does it; then applies them all again (no change);
#  - scripted: one `smbcacls --add` process per grant for N other sites
#    (their folders made beforehand, not timed).
# ROUNDS (5) interleaved rounds of N/ROUNDS sites each side; prints the
# medians of both rates, of the re-apply rate and of the ratio, with the
# targets (re-apply >= 2,000 grants/s, ratio >= 20x: printed, not failed;
# below 10x fails), and checks a sample of the results.
# Usage: bench_acl.sh [N] (default 500). Needs root. BENCH_ACL_BIN may name a
# built bench_acl. Ends with "N passed, M failed".
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
PY="python3 $REPO/tests/integration/acl/helper.py"
N=${1:-500}
ROUNDS=${ROUNDS:-5}
(( ROUNDS >= 1 && N >= ROUNDS )) || { echo "bench_acl: need N >= ROUNDS >= 1" >&2; exit 2; }

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
# shellcheck disable=SC2317  # called through trap
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

# ------------------------------------------------------------ rounds
# ROUNDS rounds of N/ROUNDS sites each side: the engine applies its slice
# (one bench_acl process: one SMB session) and re-applies it, then one
# smbcacls process per grant does another slice; every figure is the median
# over the rounds, so the machine's noise falls on both sides alike.
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
SLICE=$((N / ROUNDS))
eng_rates=() re_rates=() sc_rates=() ratios=()
eng_total=0 sc_total=0
for ((r = 0; r < ROUNDS; r++)); do
  echo "== round $((r + 1))/$ROUNDS: $SLICE sites each side"
  in_lab "$BIN" "$LAB_SMB_AUTHFILE" "smb:$LAB_SMB_SITES/engine" "$SLICE" "r${r}s" >"$WORK/engine.$r.out" 2>&1
  rc=$?
  cat "$WORK/engine.$r.out"
  e=$(sed -n 's/^engine: .*rate=\([0-9.]*\).*/\1/p' "$WORK/engine.$r.out")
  re=$(sed -n 's/^engine-reapply: .*rate=\([0-9.]*\).*/\1/p' "$WORK/engine.$r.out")
  g=$(sed -n 's/^engine: .*grants=\([0-9]*\).*/\1/p' "$WORK/engine.$r.out")
  if (( rc != 0 )) || [[ -z $e || -z $re ]]; then fail "engine round $r (rc=$rc)"; summary; fi
  eng_total=$((eng_total + g))
  : >"$WORK/mk.cmds"
  : >"$WORK/grants"
  for ((i = 0; i < SLICE; i++)); do
    s=$(printf 'r%do%04d' "$r" "$i")
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
  sc_total=$((sc_total + sc_grants))
  sc_out=$(in_lab bash "$WORK/loop.sh" "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$WORK/grants")
  sc_secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$sc_out")
  sc_fail=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$sc_out")
  sc=$(awk -v g="$sc_grants" -v s="$sc_secs" 'BEGIN {printf "%.1f", g / s}')
  printf 'smbcacls: sites=%d grants=%d seconds=%.3f rate=%s failed=%s\n' "$SLICE" "$sc_grants" "$sc_secs" "$sc" "$sc_fail"
  [[ $sc_fail == 0 ]] || { fail "smbcacls loop round $r: $sc_fail failures"; summary; }
  eng_rates+=("$e") re_rates+=("$re") sc_rates+=("$sc")
  ratios+=("$(awk -v a="$e" -v b="$sc" 'BEGIN {printf "%.1f", a / b}')")
done
pass "engine applied $eng_total grants in $ROUNDS rounds, each re-apply changed nothing"
pass "smbcacls loop: all $sc_total --add calls succeeded"

# ---------------------------------------------------------------- sample check
ok=1
for r in 0 $((ROUNDS - 1)); do
  for i in 0 $((SLICE - 1)); do
    e=$(in_lab smbcacls -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$(printf 'engine/r%ds%04d/data' "$r" "$i")" --numeric --sddl 2>&1)
    s=$(in_lab smbcacls -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$(printf 'scripted/r%do%04d/data' "$r" "$i")" --numeric --sddl 2>&1)
    se=$($PY poolsid "$(printf 'r%ds%04d' "$r" "$i")")
    ss=$($PY poolsid "$(printf 'r%do%04d' "$r" "$i")")
    $PY has "$e" "(A;OICI;0x1301bf;;;$se)" >/dev/null || ok=0
    $PY has "$s" "(A;OICI;0x1301bf;;;$ss)" >/dev/null || ok=0
  done
done
if (( ok )); then pass "sampled folders hold the grants (engine and smbcacls alike)"; else fail "sampled folders lack grants"; fi

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }
eng_med=$(median "${eng_rates[@]}") re_med=$(median "${re_rates[@]}") sc_med=$(median "${sc_rates[@]}")
ratio_med=$(median "${ratios[@]}")
echo
echo "RESULT medians of $ROUNDS interleaved rounds of $SLICE sites (min-max in brackets):"
printf '  engine, first apply:      %8.1f grants/s  [%s]\n' "$eng_med" "$(range "${eng_rates[@]}")"
printf '  engine, re-apply (none):  %8.1f grants/s  [%s]   target >= 2000: %s\n' "$re_med" \
  "$(range "${re_rates[@]}")" "$(awk -v r="$re_med" 'BEGIN {print (r >= 2000 ? "met" : "NOT met")}')"
printf '  smbcacls --add per grant: %8.1f grants/s  [%s]\n' "$sc_med" "$(range "${sc_rates[@]}")"
printf '  ratio engine/smbcacls:    %8.1fx           [%s]   target >= 20x: %s\n' "$ratio_med" \
  "$(range "${ratios[@]}")" "$(awk -v r="$ratio_med" 'BEGIN {print (r >= 20 ? "met" : "NOT met")}')"
if awk -v r="$ratio_med" 'BEGIN {exit !(r >= 10)}'; then pass "engine at least 10x the smbcacls loop"; else fail "engine below 10x the smbcacls loop"; fi
"$LAB" stop "$LABDIR" >/dev/null 2>&1 && LAB_STARTED=0
summary
