#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The crash campaign (long; not part of tests/run-all.sh, whose recovery
# suite is its smoke run): on the lab domain, a batch of SITES AD-identity
# sites with folders and grants over smb:// and applicationHost.config over
# smb:// is killed with SIGKILL KILLS times: aimed at each phase through
# PROVISION_TEST_HOOK (the account adds, the folder and descriptor writes,
# the sites' IIS edits and the config write, destroy, --rotate-passwords
# and recover itself, at least KILLS/6 each) and, for the account phase,
# also after a random delay. After each kill: `provision recover`, then
# every site is classified (tests/integration/recovery-lib.sh): whole or
# absent, never half. Every 10th round and at the end a plain apply must
# converge; at the end destroy --remove-folders must give the fixture's
# bytes back. Prints the counts and the time taken; exits 1 on any half
# site or failed check.
#   tests/crash/crash_campaign.sh [BUILD_DIR]     (root; SITES=50 KILLS=300)
set -uo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build/normal}
[ -x "$build/bin/provision" ] || "$repo/scripts/build.sh" >/dev/null
SITES=${SITES:-50}
KILLS=${KILLS:-300}
SEED=${SEED:-$$}
RANDOM=$SEED
# shellcheck source=../integration/lab-test.sh
source "$repo/tests/integration/lab-test.sh"
lab_test_begin crash "$build"
# shellcheck source=../integration/recovery-lib.sh
source "$repo/tests/integration/recovery-lib.sh"
rec_setup "$SITES"
start=$SECONDS
kills=0 total_whole=0 total_absent=0 total_half=0 problems=0
declare -A per_phase=()
rnd() { echo $((RANDOM % $1 + 1)); }

converge() {
  HOOK= prov apply "$work/sites.ini" >"$work/conv" 2>&1 || { bad "apply does not converge: $(tail -3 "$work/conv")"; problems=$((problems + 1)); }
}
missed=0
after_kill() { # PHASE LABEL EXIT-STATUS: a run that was not killed (its point
  local rc     # not reached) is not counted
  if [ "$3" -ne 137 ]; then missed=$((missed + 1)); return; fi
  kills=$((kills + 1)); per_phase[$1]=$(( ${per_phase[$1]:-0} + 1 ))
  HOOK= prov recover >"$work/rec" 2>&1; rc=$?
  if [ $rc -ne 0 ]; then
    bad "round $kills ($2): recover exit $rc: $(tail -3 "$work/rec")"; problems=$((problems + 1))
  fi
  if ! in_lab xmllint --noout "$CFG" 2>/dev/null && ! xmllint --noout "$CFG" 2>/dev/null; then
    bad "round $kills ($2): the config is not well-formed"; problems=$((problems + 1))
  fi
  rec_classify
  total_whole=$((total_whole + whole)) total_absent=$((total_absent + absent)) total_half=$((total_half + half))
  if [ "$half" -ne 0 ]; then bad "round $kills ($2): $half half:$half_list"; else
    echo "round $kills ($2): $whole whole, $absent absent"; fi
  [ $((kills % 10)) -eq 0 ] && converge
}
kill_apply() { # PHASE HOOK [apply options]
  local phase=$1 hook=$2; shift 2
  HOOK=$hook prov apply "$@" "$work/sites.ini" >/dev/null 2>&1
  after_kill "$phase" "apply $* $hook" $?
}

round=0
while [ "$kills" -lt "$KILLS" ]; do
  case $((round % 6)) in
    0) # the account phase: before the adds, or while they run
       case $((RANDOM % 3)) in
         0) kill_apply accounts "crash:accounts:1" ;;
         1) kill_apply accounts "crash:account:$(rnd "$SITES")" ;;
         2) HOOK= prov destroy --remove-folders "$work/sites.ini" >/dev/null 2>&1
            in_lab env PROVISION_STATE_DIR="$STATE" "$P" -c "$work/provision.ini" apply "$work/sites.ini" >/dev/null 2>&1 &
            sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
            if pkill -KILL -f "^$P -c $work/provision.ini"; then wait; after_kill accounts "apply, random kill" 137
            else wait; missed=$((missed + 1)); fi ;;
       esac ;;
    1) # folders and descriptors
       HOOK= prov destroy --remove-folders "$work/sites.ini" >/dev/null 2>&1
       if [ $((RANDOM % 2)) -eq 0 ]; then kill_apply grants "crash:mkdir:$(rnd $((SITES * 3)))"
       else kill_apply grants "crash:sd:$(rnd $((SITES * 3)))"; fi ;;
    2) # the IIS edits and the config write
       case $((RANDOM % 3)) in
         0) kill_apply config "crash:site:$(rnd "$SITES")" ;;
         1) kill_apply config "crash:config:1" ;;
         2) kill_apply config "crash:committed:1" ;;
       esac ;;
    3) # destroy
       converge
       case $((RANDOM % 3)) in
         0) h="crash:delete:$(rnd "$SITES")" ;;
         1) h="crash:config:1" ;;
         2) h="crash:rmdir:$(rnd $((SITES * 3)))" ;;
       esac
       HOOK=$h prov destroy --remove-folders "$work/sites.ini" >/dev/null 2>&1
       after_kill destroy "destroy $h" $? ;;
    4) # password rotation
       converge
       case $((RANDOM % 3)) in
         0) kill_apply rotate "crash:rotate:$(rnd "$SITES")" --rotate-passwords ;;
         1) kill_apply rotate "crash:config:1" --rotate-passwords ;;
         2) kill_apply rotate "crash:committed:1" --rotate-passwords ;;
       esac ;;
    5) # recover itself
       HOOK= prov destroy --remove-folders "$work/sites.ini" >/dev/null 2>&1
       HOOK="crash:sd:$(rnd $((SITES * 3)))" prov apply "$work/sites.ini" >/dev/null 2>&1
       HOOK="crash:recover:$(rnd $((SITES * 2)))" prov recover >/dev/null 2>&1
       after_kill recover "recover killed" $? ;;
  esac
  round=$((round + 1))
done

converge
rec_classify
[ "$whole" -eq "$SITES" ] && ok "final apply converges: $whole whole" || bad "final apply: $whole whole, $half half"
HOOK= prov destroy --remove-folders "$work/sites.ini" >/dev/null 2>&1
rec_config_pristine && ok "final destroy: the config has the fixture's bytes" || bad "final destroy: config differs from the fixture"
echo
echo "crash campaign: seed $SEED, $SITES sites, $kills kills in $((SECONDS - start)) s ($missed runs whose aimed point was not reached, not counted)"
for ph in accounts grants config destroy rotate recover; do echo "  $ph: ${per_phase[$ph]:-0} kills"; done
echo "  site states after recovery: $total_whole whole, $total_absent absent, $total_half half (must be 0)"
[ "$total_half" -eq 0 ] && [ "$problems" -eq 0 ] && ok "no half-made site in $kills kills" || bad "$total_half half sites, $problems other problems"
summary
