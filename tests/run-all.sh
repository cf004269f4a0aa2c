#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs every test suite: unit tests (cmocka) and command-line tests in a
# normal build and again under AddressSanitizer + UndefinedBehaviorSanitizer,
# a smoke run of each fuzz target, and the integration tests against the lab
# domain (a throwaway Samba AD DC; needs root). Any failure, including a lab
# that cannot start, fails the run. Ends with one "N passed, M failed" line
# (test cases summed over the suites).
#
# Environment: FUZZ_SECONDS (default 15) per fuzz target; BUILD_ROOT
# (default ./build) for the build folders.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_root=${BUILD_ROOT:-$repo/build}
fuzz_seconds=${FUZZ_SECONDS:-15}
jobs=$(nproc)
total_passed=0 total_failed=0
failed_suites=()
logs=$build_root/logs
mkdir -p "$logs"

# suite NAME COMMAND...: runs it, shows its output, adds its counts. A suite
# that prints no count line counts as one test.
suite() {
  local name=$1; shift
  local log=$logs/$name.log
  echo "=== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line p f
  line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  elif line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1); [ -n "$line" ]; then
    f=$(sed -E 's/.*passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    p=$(( $(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line") - f ))
  else
    p=$(( rc == 0 ? 1 : 0 )) f=$(( rc == 0 ? 0 : 1 ))
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  total_passed=$((total_passed + p)) total_failed=$((total_failed + f))
  [ "$rc" -eq 0 ] || failed_suites+=("$name")
  echo "=== $name: $p passed, $f failed (exit $rc)"
}

configure_build() {
  local dir=$1; shift
  cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
    cmake --build "$dir" -j "$jobs"
}

suite build configure_build "$build_root/normal"
suite unit ctest --test-dir "$build_root/normal" --output-on-failure
suite cli "$repo/tests/cli/test_cli.sh" "$build_root/normal"
# The config-engine benchmark once, as a test of what it checks (10,000-site
# config: the batch schema-valid and re-applied unchanged, the xmlstarlet
# anchors valid); its figures come from a full run (README, Benchmarks).
suite bench-apphost-smoke env BENCH_QUICK=1 REPEAT=1 SCALE=0 "$repo/tests/bench/bench_apphost.sh"

suite build-sanitized configure_build "$build_root/sanitized" -DPROVISION_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
suite unit-sanitized ctest --test-dir "$build_root/sanitized" --output-on-failure
suite cli-sanitized "$repo/tests/cli/test_cli.sh" "$build_root/sanitized"

fuzz() {
  local target=$1 corpus=$2
  local work
  work=$(mktemp -d)
  cp -r "$repo/tests/fuzz/corpus/$corpus/." "$work/"
  "$build_root/fuzz/bin/$target" -max_total_time="$fuzz_seconds" -max_len=131072 \
    -print_final_stats=1 "$work" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done'
  local rc=${PIPESTATUS[0]}
  rm -rf "$work"
  return "$rc"
}
suite build-fuzz configure_build "$build_root/fuzz" -DCMAKE_C_COMPILER=clang -DPROVISION_FUZZ=ON \
  -DPROVISION_SANITIZE=ON
suite fuzz-config fuzz fuzz_config config
suite fuzz-conf fuzz fuzz_conf conf
suite fuzz-template fuzz fuzz_template template
suite fuzz-sitelist fuzz fuzz_sitelist sitelist
suite fuzz-grant fuzz fuzz_grant grant
suite fuzz-sd fuzz fuzz_sd sd
suite fuzz-sddl fuzz fuzz_sddl sddl
suite fuzz-smbsd fuzz fuzz_smbsd smbsd
suite fuzz-credentials fuzz fuzz_credentials credentials
suite fuzz-journal fuzz fuzz_journal journal
suite fuzz-plan fuzz fuzz_plan plan

if [ "$(id -u)" -ne 0 ]; then
  echo "run-all: the lab domain needs root; run as root" >&2
  total_failed=$((total_failed + 1)); failed_suites+=(lab)
else
  suite lab bash "$repo/tests/integration/test_lab.sh"
  export LDAP_IT_BIN=$build_root/normal/bin/ldap_it
  suite ldap bash "$repo/tests/integration/ldap/run.sh"
  suite accounts bash "$repo/tests/integration/test_accounts.sh" "$build_root/normal"
  export ACL_IT_BIN=$build_root/normal/bin/acl_it
  suite acl bash "$repo/tests/integration/acl/run.sh"
  suite grants bash "$repo/tests/integration/test_grants.sh" "$build_root/normal"
  suite check bash "$repo/tests/integration/test_check.sh" "$build_root/normal"
  suite recovery bash "$repo/tests/integration/test_recovery.sh" "$build_root/normal"
  suite faults bash "$repo/tests/integration/test_faults.sh" "$build_root/normal"
  # README's first command, as a test: every claim holds, and one broken on
  # purpose fails it (demo-check.sh runs the other modes)
  suite demo bash "$repo/tests/integration/demo-check.sh" wwwroot-writable
fi

echo
if [ ${#failed_suites[@]} -gt 0 ]; then
  echo "failed suites: ${failed_suites[*]}"
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
