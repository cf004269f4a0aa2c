#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The fuzzing campaign: every libFuzzer target under ASan+UBSan, one at a
# time, for a number of minutes each per invocation, on a working corpus
# per target that persists between invocations (seeded from
# tests/fuzz/corpus). Meant to be run again and again (in the background,
# e.g. nohup tests/fuzz/campaign.sh 10 &) until every target has had its
# time; the ledger keeps the totals.
#
#   tests/fuzz/campaign.sh [MINUTES] [TARGET...]   fuzz (default: 10 minutes, all targets;
#                                                  90s means 90 seconds)
#   tests/fuzz/campaign.sh --until-goal [MINUTES]  only targets below the goal (30 min in all)
#   tests/fuzz/campaign.sh --report                the cumulative table only
#   tests/fuzz/campaign.sh --minimize [TARGET...]  minimise the working corpora and copy
#                                                  what adds coverage (most new features
#                                                  first) to tests/fuzz/corpus
#
# TARGET is a name such as fuzz_grant or grant.
#
# Environment:
#   FUZZ_MINUTES        minutes per target per invocation (default 10; an argument wins)
#   FUZZ_CAMPAIGN_DIR   the campaign's state (default /var/lib/provision-fuzz):
#                         corpus/TARGET/        working corpora
#                         artifacts/TARGET-*    crash-, leak-, timeout-, oom- inputs
#                         logs/DATE-TARGET.log  libFuzzer's output per run
#                         ledger.tsv            one line per run
#   FUZZ_CAMPAIGN_BUILD the build folder (default build/fuzz-campaign in the
#                       repository; configured when missing, brought up to date
#                       on every invocation; if that fails the binaries there are
#                       used as they are, with a warning)
#   FUZZ_GOAL_MINUTES   the total each target should reach (default 30)
#   FUZZ_MAX_RESTARTS   runs after a crash within one invocation's time (default 3)
#   FUZZ_JOBS           targets fuzzed at the same time (default 1: one core)
#   FUZZ_MINIMIZE_MAX_LEN    largest file --minimize copies into the repository (default 2048)
#   FUZZ_MINIMIZE_MAX_NEW    most files --minimize adds per target and invocation (default 20)
#   FUZZ_CORPUS_CAP          most files a repository corpus folder may hold (default 60)
#
# Ledger columns (TSV, header on the first line): date (UTC), target,
# seconds, executions, cov and ft (libFuzzer's final "cov:"/"ft:"), crashes
# (artifacts written), corpus (working corpus files after the run), commit.
# Exit status: 1 if any run of this invocation found a crash, leak, timeout
# or out-of-memory input (or failed to run), 2 on usage errors, else 0.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
campaign=${FUZZ_CAMPAIGN_DIR:-/var/lib/provision-fuzz}
build=${FUZZ_CAMPAIGN_BUILD:-$repo/build/fuzz-campaign}
goal_minutes=${FUZZ_GOAL_MINUTES:-30}
max_restarts=${FUZZ_MAX_RESTARTS:-3}
jobs=${FUZZ_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "campaign: FUZZ_JOBS must be a positive number" >&2; exit 2; }
min_max_len=${FUZZ_MINIMIZE_MAX_LEN:-2048}
min_max_new=${FUZZ_MINIMIZE_MAX_NEW:-20}
corpus_cap=${FUZZ_CORPUS_CAP:-60}
ledger=$campaign/ledger.tsv

# target  corpus folder (tests/fuzz/corpus/NAME)  -max_len
targets=(
  "fuzz_conf        conf         4096"
  "fuzz_template    template     8192"
  "fuzz_sitelist    sitelist     8192"
  "fuzz_grant       grant        512"
  "fuzz_sddl        sddl         8192"
  "fuzz_sd          sd           16384"
  "fuzz_smbsd       smbsd        8192"
  "fuzz_credentials credentials  2048"
  "fuzz_config      config       131072"
  "fuzz_journal     journal      65536"
  "fuzz_plan        plan         65536"
)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

die() {
  echo "campaign: $*" >&2
  exit 2
}

usage() {
  sed -n '3,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

lookup() { # NAME -> "target corpus max_len" or nothing
  local name=$1 line
  [[ $name == fuzz_* ]] || name=fuzz_$name
  for line in "${targets[@]}"; do
    read -r t _ _ <<<"$line"
    if [ "$t" = "$name" ]; then
      echo "$line"
      return 0
    fi
  done
  return 1
}

report() {
  if [ ! -s "$ledger" ]; then
    echo "campaign: no runs yet (ledger $ledger)"
    return 0
  fi
  echo "Fuzzing campaign: $campaign (goal: $goal_minutes min per target)"
  awk -F'\t' -v goal="$goal_minutes" '
    NR == 1 { next }
    !($2 in seen) { seen[$2] = 1; order[++n] = $2 }
    { secs[$2] += $3; execs[$2] += $4; cov[$2] = $5; ft[$2] = $6; crashes[$2] += $7
      runs[$2]++; last[$2] = $1 }
    END {
      printf "%-17s %5s %9s %13s %7s %7s %7s  %s\n", "target", "runs", "minutes", "executions",
             "cov", "ft", "crashes", "goal"
      for (i = 1; i <= n; i++) {
        t = order[i]
        m = secs[t] / 60
        printf "%-17s %5d %9.1f %13d %7s %7s %7d  %s\n", t, runs[t], m, execs[t], cov[t], ft[t],
               crashes[t], (m >= goal ? "reached" : sprintf("%.1f min to go", goal - m))
        ts += secs[t]; te += execs[t]; tc += crashes[t]
      }
      printf "%-17s %5s %9.1f %13d %7s %7s %7d\n", "total", "", ts / 60, te, "", "", tc
    }' "$ledger"
}

build_targets() {
  if [ ! -f "$build/CMakeCache.txt" ]; then
    echo "campaign: configuring $build (clang, libFuzzer, ASan+UBSan)"
    cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPROVISION_FUZZ=ON -DPROVISION_SANITIZE=ON >/dev/null || die "cmake configure failed"
  fi
  local names=() line t
  for line in "${selected[@]}"; do
    read -r t _ _ <<<"$line"
    names+=("$t")
  done
  if ! nice -n 19 cmake --build "$build" -j2 --target "${names[@]}" >"$campaign/logs/build.log" 2>&1
  then
    echo "campaign: warning: the build failed (see $campaign/logs/build.log);" \
      "using the binaries already in $build/bin" >&2
  fi
  for t in "${names[@]}"; do
    [ -x "$build/bin/$t" ] || die "$build/bin/$t is missing (see $campaign/logs/build.log)"
  done
}

commit_id() {
  local c
  c=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null) || c=unknown
  if [ "$c" != unknown ] && ! git -C "$repo" diff --quiet HEAD 2>/dev/null; then
    c=$c-dirty
  fi
  echo "$c"
}

seed() { # corpus-name target: copy the repository's seeds the working corpus lacks
  local work=$campaign/corpus/$2
  mkdir -p "$work"
  cp -n "$repo/tests/fuzz/corpus/$1"/* "$work/" 2>/dev/null || true
}

# One libFuzzer process: appends a ledger line; returns the number of
# artifacts it wrote (0 when clean), or 1 when it failed without one.
run_once() {
  local target=$1 corpus=$2 max_len=$3 seconds=$4
  local stamp log before after start end rc execs cov ft found files
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  log=$campaign/logs/$stamp-$target.log
  before=$(find "$campaign/artifacts" -maxdepth 1 -name "$target-*" | wc -l)
  start=$(date +%s)
  nice -n 19 "$build/bin/$target" "$campaign/corpus/$target" \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$campaign/artifacts/$target-" >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  after=$(find "$campaign/artifacts" -maxdepth 1 -name "$target-*" | wc -l)
  found=$((after - before))
  [ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found=1
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  files=$(find "$campaign/corpus/$target" -maxdepth 1 -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$target" \
    "$((end - start))" "${execs:-0}" "${cov:--}" "${ft:--}" "$found" "$files" "$commit" >>"$ledger"
  printf 'campaign: %-17s %4ss %10s execs  cov %-6s ft %-6s corpus %-5s %s\n' "$target" \
    "$((end - start))" "${execs:-0}" "${cov:--}" "${ft:--}" "$files" \
    "$([ "$found" -eq 0 ] && echo ok || echo "FOUND $found (rc $rc, log $log)")"
  if [ "$found" -gt 0 ]; then
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" |
      head -5 | sed 's/^/    /'
  fi
  return "$found"
}

fuzz_target() { # "target corpus max_len" seconds
  local target corpus max_len
  read -r target corpus max_len <<<"$1"
  local deadline restarts=0 found=0 left
  seed "$corpus" "$target"
  deadline=$(($(date +%s) + $2))
  while :; do
    left=$((deadline - $(date +%s)))
    [ "$left" -ge 5 ] || break
    run_once "$target" "$corpus" "$max_len" "$left"
    local r=$?
    found=$((found + r))
    [ "$r" -eq 0 ] && break
    restarts=$((restarts + 1))
    [ "$restarts" -le "$max_restarts" ] || break
  done
  return $((found > 0))
}

minimize_target() { # "target corpus max_len"
  local target corpus max_len
  read -r target corpus max_len <<<"$1"
  local work=$campaign/corpus/$target dest=$repo/tests/fuzz/corpus/$corpus
  local tmp log have room
  seed "$corpus" "$target"
  tmp=$(mktemp -d "$campaign/merge.XXXXXX")
  log=$campaign/logs/$(date -u +%Y%m%dT%H%M%SZ)-$target-minimize.log
  # The working corpus, minimised in place.
  mkdir "$tmp/work"
  if ! nice -n 19 "$build/bin/$target" -merge=1 -max_len="$max_len" -timeout=20 \
    -artifact_prefix="$campaign/artifacts/$target-" "$tmp/work" "$work" >"$log" 2>&1; then
    echo "campaign: $target: merge failed (see $log)" >&2
    rm -rf "$tmp"
    return 1
  fi
  local n_before n_after
  n_before=$(find "$work" -maxdepth 1 -type f | wc -l)
  rm -rf "$work.old"
  mv "$work" "$work.old" && mv "$tmp/work" "$work" && rm -rf "$work.old"
  n_after=$(find "$work" -maxdepth 1 -type f | wc -l)
  # What the working corpus covers beyond the repository's seeds: small
  # files only, chosen greedily by the features they add (libFuzzer's merge
  # control file lists each file's features), within the caps.
  mkdir "$tmp/repo" "$tmp/small" "$tmp/out"
  cp "$dest"/* "$tmp/repo/" 2>/dev/null || true
  find "$work" -maxdepth 1 -type f -size -"$((min_max_len + 1))"c -exec cp {} "$tmp/small/" \;
  if ! nice -n 19 "$build/bin/$target" -merge=1 -merge_control_file="$tmp/control" \
    -max_len="$min_max_len" -timeout=20 -artifact_prefix="$campaign/artifacts/$target-" \
    "$tmp/out" "$tmp/repo" "$tmp/small" >>"$log" 2>&1; then
    echo "campaign: $target: merge against the repository corpus failed (see $log)" >&2
    rm -rf "$tmp"
    return 1
  fi
  have=$(find "$dest" -maxdepth 1 -type f | wc -l)
  room=$((corpus_cap - have))
  [ "$room" -gt "$min_max_new" ] && room=$min_max_new
  [ "$room" -ge 0 ] || room=0
  local seeds picks added=0 more=0 gain path
  seeds=$(find "$tmp/repo" -maxdepth 1 -type f | wc -l)
  picks=$(awk -v cap="$room" -v seeds="$seeds" -v repo="$tmp/repo/" '
    NR == 1 { n = $1; next }
    NR == 2 { next }
    NR <= n + 2 { path[NR - 3] = $0; next }
    $1 == "FT" {
      idx = $2
      if (index(path[idx], repo) == 1) { for (i = 3; i <= NF; i++) have[$i] = 1 }
      else { f = ""; for (i = 3; i <= NF; i++) f = f " " $i; feats[idx] = f }
    }
    function gain(idx,   c, j, a, g) {
      c = split(feats[idx], a, " ")
      for (j = 1; j <= c; j++) if (!(a[j] in have)) g++
      return g + 0
    }
    END {
      for (k = 0; k < cap; k++) {
        best = -1; bestgain = 0
        for (idx in feats) if (!(idx in taken) && (g = gain(idx)) > bestgain) { bestgain = g; best = idx }
        if (best < 0) break
        taken[best] = 1
        c = split(feats[best], a, " ")
        for (j = 1; j <= c; j++) have[a[j]] = 1
        print bestgain "\t" path[best]
      }
      more = 0
      for (idx in feats) if (!(idx in taken) && gain(idx) > 0) more++
      print "more\t" more
    }' "$tmp/control")
  while IFS=$'\t' read -r gain path; do
    if [ "$gain" = more ]; then
      more=$path
    elif [ ! -e "$dest/$(basename "$path")" ]; then
      cp "$path" "$dest/" && added=$((added + 1))
    fi
  done <<<"$picks"
  printf 'campaign: %-17s working corpus %s -> %s files; %s added to tests/fuzz/corpus/%s' \
    "$target" "$n_before" "$n_after" "$added" "$corpus"
  if [ "$more" -gt 0 ]; then
    printf ' (%s more would add coverage; caps: %s per run, %s per folder)' \
      "$more" "$min_max_new" "$corpus_cap"
  fi
  echo
  rm -rf "$tmp"
}

# --- arguments
mode=fuzz
until_goal=0
minutes=${FUZZ_MINUTES:-10}
names=()
while [ $# -gt 0 ]; do
  case $1 in
  --report) mode=report ;;
  --minimize) mode=minimize ;;
  --until-goal) until_goal=1 ;;
  -h | --help) usage ;;
  -*) echo "campaign: unknown option $1" >&2; usage ;;
  *)
    if [[ $1 =~ ^[0-9]+s?$ ]]; then
      minutes=$1
    else
      names+=("$1")
    fi
    ;;
  esac
  shift
done
if [[ $minutes =~ ^[0-9]+s$ ]]; then
  budget=${minutes%s}
elif [[ $minutes =~ ^[0-9]+$ ]]; then
  budget=$((minutes * 60))
else
  die "the time must be a whole number of minutes (or of seconds: 90s)"
fi
[ "$budget" -ge 5 ] || die "give each target at least 5 seconds"

if [ "$mode" = report ]; then
  report
  exit 0
fi

selected=()
if [ ${#names[@]} -gt 0 ]; then
  for n in "${names[@]}"; do
    line=$(lookup "$n") || die "unknown target $n (known: $(printf '%s ' "${targets[@]%% *}"))"
    selected+=("$line")
  done
else
  selected=("${targets[@]}")
fi

if ! mkdir -p "$campaign/corpus" "$campaign/artifacts" "$campaign/logs" 2>/dev/null ||
  [ ! -w "$campaign" ]; then
  die "cannot write $campaign (set FUZZ_CAMPAIGN_DIR)"
fi
[ -s "$ledger" ] ||
  printf 'date\ttarget\tseconds\texecutions\tcov\tft\tcrashes\tcorpus\tcommit\n' >"$ledger"

# One campaign at a time: the machine's cores are shared.
exec 9>"$campaign/.lock"
flock -n 9 || die "another campaign is running ($campaign/.lock)"

if [ "$until_goal" -eq 1 ]; then
  remaining=()
  for line in "${selected[@]}"; do
    read -r t _ _ <<<"$line"
    done_secs=$(awk -F'\t' -v t="$t" 'NR > 1 && $2 == t { s += $3 } END { print s + 0 }' "$ledger")
    [ "$done_secs" -lt $((goal_minutes * 60)) ] && remaining+=("$line")
  done
  if [ ${#remaining[@]} -eq 0 ]; then
    echo "campaign: every selected target has reached $goal_minutes minutes"
    report
    exit 0
  fi
  selected=("${remaining[@]}")
fi

build_targets
commit=$(commit_id)

if [ "$mode" = minimize ]; then
  rc=0
  for line in "${selected[@]}"; do
    minimize_target "$line" || rc=1
  done
  exit "$rc"
fi

echo "campaign: ${#selected[@]} target(s), $budget s each, $jobs at a time, state in $campaign"
failed=()
# Up to $jobs targets at once (FUZZ_JOBS), each its own process and corpus;
# their ledger lines are single short appends.
declare -A running=()
collect() { # wait for one running target; note it when it found something
  local pid
  wait -n -p pid "${!running[@]}"
  local r=$?
  [ "$r" -ne 0 ] && failed+=("${running[$pid]}")
  unset "running[$pid]"
}
for line in "${selected[@]}"; do
  while [ "${#running[@]}" -ge "$jobs" ]; do collect; done
  read -r t _ _ <<<"$line"
  fuzz_target "$line" "$budget" &
  running[$!]=$t
done
while [ "${#running[@]}" -gt 0 ]; do collect; done
echo
report
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "campaign: crashes found in: ${failed[*]} (inputs in $campaign/artifacts)"
  exit 1
fi
exit 0
