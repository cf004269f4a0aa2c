#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/integration/demo-check.sh: proves that scripts/demo.sh checks what it
# shows. Runs the demo as it is (it must exit 0 with every claim "ok:") and
# then once per DEMO_BREAK mode (it must exit 1, print "FAILED: <claim>" for
# the claim that mode breaks, and list it in its summary). Every run must
# stop its lab: lab.sh status says stopped, the samba and namespace-holder
# pids the demo named are gone, its lab folder is removed.
#
#   demo-check.sh [MODE...]     (no MODE: the plain run and every mode)
#   DEMO_CHECK_LOGS=DIR         keep the runs' output there (default: a temp dir)
#
# Needs root, like the demo. About 35 s a run.
set -uo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/../.." && pwd)
demo=$repo/scripts/demo.sh
[ "$(id -u)" -eq 0 ] || { echo "demo-check: run as root" >&2; exit 1; }
logs=${DEMO_CHECK_LOGS:-$(mktemp -d /tmp/demo-check.XXXXXX)}
mkdir -p "$logs"

# MODE -> the claims (prefixes of the text after "FAILED: ") it must fail,
# separated by '|'.
declare -A expect=(
  [validate]="validate:"
  [plan-writes]="plan exits 0 and changes nothing"
  [apply-refused]="apply exits 0"
  [drift]="re-apply changes nothing"
  [list-identity]="list:"
  [account-disabled]="IUSR_shop is in AD|IUSR_shop binds over LDAPS|IUSR_shop logs on over SMB"
  [account-deleted]="sid:|IUSR_shop binds over LDAPS|IUSR_shop logs on over SMB"
  [wwwroot-writable]='shop.example.com\wwwroot: IUSR_shop read|IUSR_shop cannot create a file in shop.example.com\wwwroot'
  [wwwroot-missing]='IUSR_shop cannot create a file in shop.example.com\wwwroot'
  [data-readonly]='IUSR_shop creates and deletes a file in shop.example.com\data'
  [data-nodelete]='IUSR_shop creates and deletes a file in shop.example.com\data'
  [iusr-read-revoked]="static.example.com (anonymous = IUSR"
  [anon-read-denied]="shop.example.com (anonymous = its pool identity|blog.example.com (anonymous|static.example.com (anonymous = IUSR"
  [config-line-changed]="apply only added to applicationHost.config|applicationHost.config is back to its original bytes"
  [pool-password]="the shop pool's password in applicationHost.config"
  [no-mask]="no password"
  [account-unmarked]="IUSR_shop is gone"
  [file-left]="the sites' folders are gone"
)
order="validate plan-writes apply-refused drift list-identity account-disabled account-deleted
wwwroot-writable wwwroot-missing data-readonly data-nodelete iusr-read-revoked anon-read-denied
config-line-changed pool-password no-mask account-unmarked file-left"

pass=0 fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'BAD  %s\n' "$*"; }

# lab_left LOG: empty when the run's lab is stopped and removed.
lab_left() {
  local dir pids p
  dir=$(sed -n 's/^== starting the lab domain in //p' "$1")
  [ -n "$dir" ] || { echo "no lab started"; return; }
  [ ! -e "$dir" ] || echo "$dir still exists"
  if "$repo/tests/lab/lab.sh" status "$dir" >/dev/null 2>&1 || [ $? -ne 3 ]; then echo "lab.sh status: not stopped"; fi
  pids=$(sed -n 's/^ok: the lab domain is up .* -- samba pid \([0-9]*\), namespace holder pid \([0-9]*\)$/\1 \2/p' "$1")
  for p in $pids; do  # still the lab's when its command line names the lab's folder (a zombie's is empty)
    if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$dir"; then echo "pid $p ($(cat "/proc/$p/comm")) still runs"; fi
  done
}

run_demo() { # NAME [ENV...]: run the demo, log to $logs/NAME.log; sets rc, secs
  local name=$1 t0
  shift
  t0=$EPOCHREALTIME
  env "$@" "$demo" > "$logs/$name.log" 2>&1
  rc=$?
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}

modes=("$@")
if [ ${#modes[@]} -eq 0 ]; then
  modes=(plain)
  for m in $order; do modes+=("$m"); done
fi
for m in "${modes[@]}"; do
  if [ "$m" = plain ]; then
    run_demo plain
    n=$(grep -c '^ok: ' "$logs/plain.log")
    if [ "$rc" -eq 0 ] && ! grep -q '^FAILED' "$logs/plain.log" && grep -q '^demo: all [0-9]* claims checked, all hold$' "$logs/plain.log"; then
      ok "plain run: exit 0, $n claims ok, none failed (${secs} s)"
    else
      bad "plain run: exit $rc; $(grep '^FAILED' "$logs/plain.log" | tr '\n' ' ')"
    fi
  else
    [ -n "${expect[$m]:-}" ] || { bad "$m: unknown mode"; continue; }
    run_demo "$m" DEMO_BREAK="$m"
    missing=""
    IFS='|' read -r -a want <<<"${expect[$m]}"
    for w in "${want[@]}"; do
      grep -qF "FAILED: $w" "$logs/$m.log" && grep -qF "  FAILED: $w" "$logs/$m.log" || missing+="'$w' "
    done
    got=$(sed -n 's/^  FAILED: //p' "$logs/$m.log" | sed 's/^\(.\{60\}\).*/\1.../' | paste -sd ';' -)
    if [ "$rc" -eq 1 ] && grep -q "^!! DEMO_BREAK=$m: " "$logs/$m.log" && [ -z "$missing" ]; then
      ok "$m: exit 1, failed: $got (${secs} s)"
    else
      bad "$m: exit $rc; not failed: ${missing:-none}; failed: $got"
    fi
  fi
  left=$(lab_left "$logs/$m.log")
  if [ -z "$left" ]; then ok "$m: lab stopped and removed"; else bad "$m: $left"; fi
  grep -q 'password = \|password="[^"(]' "$logs/$m.log" && bad "$m: the log shows a password field"
done
echo "demo-check: $pass passed, $fail failed (logs in $logs)"
[ "$fail" -eq 0 ]
