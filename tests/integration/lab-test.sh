# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced by the tests that run provision against the lab domain
# (test_accounts.sh, test_grants.sh): counters, a work folder, a started lab
# (a lab that does not start fails the test, never skips it), clean-up on
# exit and the closing "NAME: N passed, M failed" line.
#   lab_test_begin NAME BUILD_DIR
# sets repo LAB P (the provision binary) FIXTURE work lab and the lab.env
# variables, and defines ok, bad, summary and in_lab.

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
summary() { echo "$suite: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
in_lab() { "$LAB" exec "$lab" -- "$@"; }
lab_test_finish() {
  [ "$started" = 1 ] && "$LAB" stop "$lab" >/dev/null 2>&1
  rm -rf "$work"
}

lab_test_begin() {
  suite=$1
  local build=$2
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  LAB=$repo/tests/lab/lab.sh
  P=$build/bin/provision
  FIXTURE=$repo/tests/fixtures/applicationHost.server2016-default.config
  passed=0 failed=0 started=0
  work=$(mktemp -d "/tmp/test_$suite.XXXXXX")
  chmod 755 "$work" # smbd serves the lab's shares as the users' uids (lab.sh checks)
  lab=$work/lab
  export PROVISION_STATE_DIR=$work/state # journals and audit log of this test only
  trap lab_test_finish EXIT
  [ -x "$P" ] || { bad "build first: $P"; summary; }
  if ! "$LAB" start "$lab" >"$work/start.log" 2>&1; then
    bad "the lab domain did not start"; tail -20 "$work/start.log"; summary
  fi
  started=1
  # shellcheck disable=SC1091
  source "$lab/lab.env"
  export LDAPTLS_CACERT=$LAB_CA
  ok "lab started"
  # shellcheck source=../lab/provision-conf.sh
  source "$repo/tests/lab/provision-conf.sh"
}
