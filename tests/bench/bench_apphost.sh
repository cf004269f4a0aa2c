#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Config-engine benchmark: provision apply against a bare libxml2 parse+save
# and against xmlstarlet, on generated applicationHost.config files (the
# Server 2016 fixture plus N sites and pools, as IIS writes them).
#
# Run:  tests/bench/bench_apphost.sh
# Env:  REPEAT=n        runs per figure (default 5; less than 5 is refused)
#       SCALE=0         skip the scale curve (default 1: on)
#       BENCH_QUICK=1   smoke run: allows REPEAT down to 1 (figures not meaningful)
#
# Each figure is the median wall time of REPEAT runs of a whole process (min
# and max printed too) and its peak RSS (the highest of the runs). The sides
# are interleaved: round r runs every side once, in an order rotated by one
# each round, so machine noise falls on all sides alike. Untimed between runs:
# a fresh copy of the input config for provision (the journal's state folder,
# PROVISION_STATE_DIR in the temp folder, is kept: its fsync'ed records are
# part of the cost).
#
# Sides on the 10,000-site config (about 7.3 MB):
#   floor        a bare libxml2 parse + save of the file (no checks, no fsync)
#   one          provision -q apply of one new site (lock, checks, backup,
#                journal, fsync'ed atomic replace included)
#   batch        provision -q apply of 1,000 new sites
#   xs-bare      one `xmlstarlet ed` adding a bare <site name=..> element
#   xs-real      one `xmlstarlet ed` making what a scripted admin makes: a pool
#                (with processModel) and a site (id, application, virtual
#                directory, binding); checked once, untimed, to pass
#                schema_check and to hold that site and pool
# Targets (printed as "met" / "NOT met"; a missed target does not fail the
# bench, a failed side or correctness check does):
#   one-site apply   <= 0.5x floor and <= 0.5x realistic xmlstarlet
#   1,000-site batch <= 1.0x floor and <= 1.0x realistic xmlstarlet
#   provision peak RSS (one site and batch) <= 3x the config file size
# Scale curve (SCALE=1), interleaved with the sides above: configs of 1k, 10k,
# 50k and 100k sites; floor and one-site apply into each; batches of 1,000
# and 10,000 new sites into the 10k config. Printed: ms, ms per MB of config,
# for batches ms per site beyond the one-site cost, and the growth of time
# next to the growth of the file (linear: no per-site rescans).
# Correctness (untimed): the 1,000 batch result passes schema_check and a
# re-apply leaves its bytes unchanged; the same for the 10,000 batch (SCALE=1).
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
repeat=${REPEAT:-5}
scale=${SCALE:-1}
quick=${BENCH_QUICK:-0}

die() { echo "bench_apphost: $*" >&2; exit 1; }
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive integer (got '$repeat')"
[[ $scale == 0 || $scale == 1 ]] || die "SCALE must be 0 or 1 (got '$scale')"
if (( repeat < 5 )) && [[ $quick != 1 ]]; then
  die "REPEAT=$repeat: a figure needs the median of at least 5 runs (BENCH_QUICK=1 allows fewer, for a smoke run)"
fi

provision=$("$repo/scripts/build.sh")
bin=$(dirname "$provision")
schema=$repo/tests/fixtures/IIS_schema.server2016.xml
fixture=$repo/tests/fixtures/applicationHost.server2016-default.config
command -v xmlstarlet >/dev/null || die "xmlstarlet is not installed"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_apphost.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PROVISION_STATE_DIR=$work/state # the journal of each run (fsync'ed records) is part of the cost
read -ra xml_flags <<<"$(pkg-config --cflags --libs libxml-2.0)"
cc -O2 -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -o "$work/bench_apphost" \
  "$repo/tests/bench/bench_apphost.c" "${xml_flags[@]}"
B=$work/bench_apphost

# ---------------------------------------------------------------- inputs
if (( scale )); then counts=(1000 10000 50000 100000); else counts=(10000); fi
declare -A size
for n in "${counts[@]}"; do
  "$B" gen "$n" "$fixture" "$work/cfg-$n.config"
  size[$n]=$(stat -c %s "$work/cfg-$n.config")
done
big=$work/cfg-10000.config
cat >"$work/provision.ini" <<CONF
[iis]
config = $work/target/applicationHost.config
backups = 1
[content]
root = D:\\Sites
[templates]
dir = $repo/templates
CONF
printf '[site bench-one.example.com]\ntemplate = standard\n' >"$work/one.ini"
"$B" sites batch 1000 "$work/batch1000.ini"  # batch00001 .. batch01000.example.com
(( scale )) && "$B" sites batch 10000 "$work/batch10000.ini" # batch00001 .. batch10000.example.com

# The realistic xmlstarlet edit: a pool and a full site in one invocation.
# gen gives its sites the ids 2 .. N+1 (the fixture's Default Web Site is 1).
xs_id=$((10000 + 2))
A=/configuration/system.applicationHost
P="$A/applicationPools/add[last()]"
S="$A/sites/site[last()]"
xs_real=(ed
  -s "$A/applicationPools" -t elem -n add -v ''
  -i "$P" -t attr -n name -v xs.example.com
  -i "$P" -t attr -n managedRuntimeVersion -v v4.0
  -s "$P" -t elem -n processModel -v ''
  -i "$P/processModel" -t attr -n identityType -v ApplicationPoolIdentity
  -s "$A/sites" -t elem -n site -v ''
  -i "$S" -t attr -n name -v xs.example.com
  -i "$S" -t attr -n id -v "$xs_id"
  -s "$S" -t elem -n application -v ''
  -i "$S/application" -t attr -n path -v /
  -i "$S/application" -t attr -n applicationPool -v xs.example.com
  -s "$S/application" -t elem -n virtualDirectory -v ''
  -i "$S/application/virtualDirectory" -t attr -n path -v /
  -i "$S/application/virtualDirectory" -t attr -n physicalPath -v 'D:\Sites\xs.example.com\www'
  -s "$S" -t elem -n bindings -v ''
  -s "$S/bindings" -t elem -n binding -v ''
  -i "$S/bindings/binding" -t attr -n protocol -v http
  -i "$S/bindings/binding" -t attr -n bindingInformation -v '*:80:xs.example.com'
  "$big")
xs_bare=(ed
  -s "$A/sites" -t elem -n site -v ''
  -i "$S" -t attr -n name -v xs.example.com
  "$big")

fresh() { # N: a fresh target holding the N-site config
  rm -rf "$work/target"
  mkdir "$work/target"
  cp "$work/cfg-$1.config" "$work/target/applicationHost.config"
}
apply() { "$provision" -q -c "$work/provision.ini" apply "$1"; }
count() { xmlstarlet sel -t -v "count($1)" "$2"; }

# ---------------------------------------------------------------- correctness (untimed)
check() { echo "check: $*"; }
[[ $(count "$A/sites/site[@id='$xs_id']" "$big") == 0 ]] || die "site id $xs_id is already used in the generated config"
[[ $(count "$A/sites/site[@name='xs.example.com']" "$big") == 0 ]] || die "xs.example.com is already in the generated config"
xmlstarlet "${xs_real[@]}" >"$work/xs-real.config" || die "realistic xmlstarlet edit failed"
"$bin/schema_check" "$schema" "$work/xs-real.config" >/dev/null ||
  die "realistic xmlstarlet output fails schema_check"
site_q="$A/sites/site[@name='xs.example.com' and @id='$xs_id']"
site_q+="[application[@path='/' and @applicationPool='xs.example.com']"
site_q+="/virtualDirectory[@path='/' and @physicalPath='D:\\Sites\\xs.example.com\\www']]"
site_q+="[bindings/binding[@protocol='http' and @bindingInformation='*:80:xs.example.com']]"
pool_q="$A/applicationPools/add[@name='xs.example.com' and @managedRuntimeVersion='v4.0']"
pool_q+="[processModel/@identityType='ApplicationPoolIdentity']"
[[ $(count "$site_q" "$work/xs-real.config") == 1 ]] || die "realistic xmlstarlet output lacks the site"
[[ $(count "$pool_q" "$work/xs-real.config") == 1 ]] || die "realistic xmlstarlet output lacks the pool"
[[ $(count "$A/sites/site" "$work/xs-real.config") == $(($(count "$A/sites/site" "$big") + 1)) ]] ||
  die "realistic xmlstarlet output: not exactly one site more"
check "realistic xmlstarlet edit: schema-valid, holds site xs.example.com (id $xs_id) and its pool"
xmlstarlet "${xs_bare[@]}" >"$work/xs-bare.config" || die "bare xmlstarlet edit failed"
[[ $(count "$A/sites/site[@name='xs.example.com']" "$work/xs-bare.config") == 1 ]] ||
  die "bare xmlstarlet output lacks the site"
check "bare xmlstarlet edit: holds <site name=\"xs.example.com\">"

batches=(1000)
(( scale )) && batches+=(10000)
for nb in "${batches[@]}"; do
  fresh 10000
  apply "$work/batch$nb.ini" || die "batch of $nb failed"
  "$bin/schema_check" "$schema" "$work/target/applicationHost.config" >/dev/null ||
    die "batch of $nb: result fails schema_check"
  [[ $(count "$A/sites/site[starts-with(@name,'batch')]" "$work/target/applicationHost.config") == "$nb" ]] ||
    die "batch of $nb: not $nb new sites in the result"
  cp "$work/target/applicationHost.config" "$work/after.config"
  apply "$work/batch$nb.ini" || die "batch of $nb: re-apply failed"
  cmp -s "$work/target/applicationHost.config" "$work/after.config" ||
    die "batch of $nb: re-apply changed the file"
  check "batch of $nb into 10k: schema-valid, $nb new sites, re-apply leaves the bytes unchanged"
done

# ---------------------------------------------------------------- measurement
side() { # NAME: prepares (untimed), runs the side once; prints "ms=.. maxrss_kb=.. status=.."
  case $1 in
    floor-*) "$B" run "$B" floor "$work/cfg-${1#floor-}.config" "$work/floor-out.config" ;;
    one-*) fresh "${1#one-}" && "$B" run "$provision" -q -c "$work/provision.ini" apply "$work/one.ini" ;;
    batch-*) fresh 10000 && "$B" run "$provision" -q -c "$work/provision.ini" apply "$work/batch${1#batch-}.ini" ;;
    xs-bare) "$B" run -o "$work/xs-bare.config" xmlstarlet "${xs_bare[@]}" ;;
    xs-real) "$B" run -o "$work/xs-real.config" xmlstarlet "${xs_real[@]}" ;;
    *) die "unknown side $1" ;;
  esac
}
sides=(floor-10000 one-10000 batch-1000 xs-bare xs-real)
(( scale )) && sides+=(floor-1000 one-1000 floor-50000 one-50000 floor-100000 one-100000 batch-10000)
mkdir "$work/res"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); libxml2 $(pkg-config --modversion libxml-2.0), xmlstarlet $(xmlstarlet --version | head -n 1)"
echo "measuring: ${#sides[@]} sides x $repeat rounds, interleaved" >&2
for ((r = 0; r < repeat; r++)); do
  for ((k = 0; k < ${#sides[@]}; k++)); do
    name=${sides[(r + k) % ${#sides[@]}]}
    line=$(side "$name") || die "side $name: could not run"
    read -r f_ms f_kb f_st <<<"$line"
    [[ $f_st == status=0 ]] || die "side $name failed (round $((r + 1)): ${f_st#status=})"
    echo "${f_ms#ms=} ${f_kb#maxrss_kb=}" >>"$work/res/$name"
  done
  echo "round $((r + 1))/$repeat done" >&2
done

# NAME -> "median min max peak_rss_kb"
stats() {
  sort -g -k1,1 "$work/res/$1" | awk '{ ms[NR] = $1; if ($2 > rss) rss = $2 }
    END { m = NR % 2 ? ms[(NR + 1) / 2] : (ms[NR / 2] + ms[NR / 2 + 1]) / 2
          printf "%.1f %.1f %.1f %d\n", m, ms[1], ms[NR], rss }'
}
declare -A med lo hi rss
for name in "${sides[@]}"; do
  read -r "med[$name]" "lo[$name]" "hi[$name]" "rss[$name]" <<<"$(stats "$name")"
done
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
ratio() { calc %.2f "($1) / ($2)"; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "met" : "NOT met") }'; }

# ---------------------------------------------------------------- report
s10=${size[10000]}
echo
echo "config: 10,000 sites, $s10 bytes ($(calc %.1f "$s10 / 1e6") MB); median of $repeat interleaved runs; wall time of whole processes"
(( repeat >= 5 )) || echo "BENCH_QUICK: $repeat run(s) per figure: a smoke run, the figures are not meaningful"
line() { printf '%-36s %9s %15s %11s %8s %8s  %s\n' "$@"; }
line measure "median ms" "min-max ms" "peak RSS KB" "x floor" "x xs" target
row() { # LABEL SIDE TARGET
  line "$1" "${med[$2]}" "${lo[$2]}-${hi[$2]}" "${rss[$2]}" \
    "$(ratio "${med[$2]}" "${med[floor-10000]}")" "$(ratio "${med[$2]}" "${med[xs-real]}")" "$3"
}
row "floor: libxml2 parse+save" floor-10000 "(anchor)"
row "provision apply, 1 site" one-10000 "<= 0.5x floor, <= 0.5x xs"
row "provision apply, 1,000 sites" batch-1000 "<= 1.0x floor, <= 1.0x xs"
row "xmlstarlet ed, bare <site name>" xs-bare ""
row "xmlstarlet ed, realistic pool+site" xs-real "(anchor)"
echo "  x xs = ratio to the realistic xmlstarlet edit; peak RSS = the highest of the runs"
echo
echo "targets:"
target() { # LABEL VALUE LIMIT
  printf '  %-50s %7s  %s\n' "$1 (<= $3)" "$2" "$(verdict "$2" "$3")"
}
target "one-site apply / floor" "$(ratio "${med[one-10000]}" "${med[floor-10000]}")" 0.5
target "one-site apply / realistic xmlstarlet" "$(ratio "${med[one-10000]}" "${med[xs-real]}")" 0.5
target "1,000-site batch / floor" "$(ratio "${med[batch-1000]}" "${med[floor-10000]}")" 1.0
target "1,000-site batch / realistic xmlstarlet" "$(ratio "${med[batch-1000]}" "${med[xs-real]}")" 1.0
target "one-site apply peak RSS / file size" "$(ratio "${rss[one-10000]} * 1024" "$s10")" 3
target "1,000-site batch peak RSS / file size" "$(ratio "${rss[batch-1000]} * 1024" "$s10")" 3
# What the program and its shared libraries (libldap, GnuTLS, libxml2 with
# ICU...) take before reading anything: part of every peak above.
base_kb=$("$B" run "$provision" --version | sed -E 's/.*maxrss_kb=([0-9]+).*/\1/')
echo "  peak RSS of 'provision --version' (program and libraries, no data): $base_kb KB;"
echo "  beyond it, one site: $(ratio "(${rss[one-10000]} - $base_kb) * 1024" "$s10")x the file," \
  "1,000 sites: $(ratio "(${rss[batch-1000]} - $base_kb) * 1024" "$s10")x"

(( scale )) || exit 0
echo
echo "scale curve: median of $repeat interleaved runs (same rounds as above); MB = 10^6 bytes"
sline() { printf '%-30s %8s %7s %9s %15s %11s %8s %9s\n' "$@"; }
sline measure sites MB "median ms" "min-max ms" "peak RSS KB" "ms/MB" "ms/site+"
srow() { # LABEL SITES SIDE [NEW_SITES]
  local n=$2 s=$3 per=""
  [[ -n ${4:-} ]] && per=$(calc %.3f "(${med[$s]} - ${med[one-10000]}) / $4")
  sline "$1" "$n" "$(calc %.1f "${size[$n]} / 1e6")" "${med[$s]}" "${lo[$s]}-${hi[$s]}" \
    "${rss[$s]}" "$(calc %.1f "${med[$s]} / (${size[$n]} / 1e6)")" "$per"
}
for n in "${counts[@]}"; do srow "floor: libxml2 parse+save" "$n" "floor-$n"; done
for n in "${counts[@]}"; do srow "provision apply, 1 site" "$n" "one-$n"; done
srow "provision apply, 1,000 sites" 10000 batch-1000 1000
srow "provision apply, 10,000 sites" 10000 batch-10000 10000
echo "  ms/site+ = (batch - one-site apply into 10k) / new sites"
echo "linearity (time ratio next to file-size ratio; equal = linear):"
for n in 50000 100000; do
  printf '  %3dk / 10k: file %5.2fx   floor %5.2fx   one-site apply %5.2fx\n' "$((n / 1000))" \
    "$(ratio "${size[$n]}" "$s10")" "$(ratio "${med[floor-$n]}" "${med[floor-10000]}")" \
    "$(ratio "${med[one-$n]}" "${med[one-10000]}")"
done
printf '  batch beyond one site, 10,000 / 1,000 new sites: %.2fx for 10.00x the sites\n' \
  "$(ratio "${med[batch-10000]} - ${med[one-10000]}" "${med[batch-1000]} - ${med[one-10000]}")"
