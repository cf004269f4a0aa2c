#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Config-engine benchmark. Builds a 10,000-site applicationHost.config from
# the Server 2016 fixture, then measures, in one run and as whole processes
# (median of REPEAT runs, wall time, peak RSS):
#   floor     a bare libxml2 parse + save of the file (no checks, no fsync)
#   one       provision apply of one new site into it (lock, checks, backup,
#             fsync'ed atomic replace included)
#   batch     provision apply of 1,000 new sites into it
#   xmlstarlet  one `xmlstarlet ed` adding a site (what a script does today)
# Targets: one <= 1.5x floor; batch <= 3x floor; batch peak RSS <= 10x file.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
repeat=${REPEAT:-5}
provision=$("$repo/scripts/build.sh")
bin=$(dirname "$provision")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PROVISION_STATE_DIR=$work/state # the journal of each run (fsync'ed records) is part of the cost
cc -O2 -std=c11 -D_DEFAULT_SOURCE -o "$work/bench_apphost" "$repo/tests/bench/bench_apphost.c" \
  $(pkg-config --cflags --libs libxml-2.0)
B=$work/bench_apphost

"$B" gen 10000 "$repo/tests/fixtures/applicationHost.server2016-default.config" "$work/big.config"
size=$(stat -c %s "$work/big.config")
cat > "$work/provision.ini" <<CONF
[iis]
config = $work/target/applicationHost.config
backups = 1
[content]
root = D:\\Sites
[templates]
dir = $repo/templates
CONF
printf '[site bench-one.example.com]\ntemplate = standard\n' > "$work/one.ini"
for i in $(seq -w 1 1000); do printf '[site batch%s.example.com]\ntemplate = standard\n' "$i"; done > "$work/batch.ini"

fresh() { rm -rf "$work/target"; mkdir "$work/target"; cp "$work/big.config" "$work/target/applicationHost.config"; }
# median of the "ms=" values, and the max RSS seen
measure() {
  local label=$1; shift
  local times=() rss=0 line ms kb st
  for _ in $(seq "$repeat"); do
    [ "$label" = floor ] || [ "$label" = xmlstarlet ] || fresh
    line=$("$B" run "$@")
    ms=$(sed -E 's/ms=([0-9.]+).*/\1/' <<<"$line"); kb=$(sed -E 's/.*maxrss_kb=([0-9]+).*/\1/' <<<"$line")
    st=$(sed -E 's/.*status=([0-9]+).*/\1/' <<<"$line")
    [ "$st" = 0 ] || { echo "bench: $label failed (status $st)" >&2; exit 1; }
    times+=("$ms"); [ "$kb" -gt "$rss" ] && rss=$kb
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(( (repeat + 1) / 2 ))p")
  echo "$label $median $rss"
}

floor=$(measure floor "$B" floor "$work/big.config" "$work/floor-out.config")
one=$(measure one "$provision" -q -c "$work/provision.ini" apply "$work/one.ini")
batch=$(measure batch "$provision" -q -c "$work/provision.ini" apply "$work/batch.ini")
xs=$(measure xmlstarlet sh -c "xmlstarlet ed -s /configuration/system.applicationHost/sites -t elem -n site -v '' -i '/configuration/system.applicationHost/sites/site[last()]' -t attr -n name -v xs.example.com '$work/big.config' > '$work/xs.config'")

# Correctness of what was measured: the batch result validates and re-applies clean.
fresh
"$provision" -q -c "$work/provision.ini" apply "$work/batch.ini"
"$bin/schema_check" "$repo/tests/fixtures/IIS_schema.server2016.xml" "$work/target/applicationHost.config" >/dev/null
cp "$work/target/applicationHost.config" "$work/after.config"
"$provision" -q -c "$work/provision.ini" apply "$work/batch.ini"
cmp -s "$work/target/applicationHost.config" "$work/after.config"

read -r _ f_ms f_kb <<<"$floor"; read -r _ o_ms o_kb <<<"$one"
read -r _ b_ms b_kb <<<"$batch"; read -r _ x_ms x_kb <<<"$xs"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "config: 10,000 sites, $size bytes; median of $repeat runs; wall time of whole processes"
printf '%-34s %9s %12s %s\n' "measure" "ms" "peak RSS" "vs anchor"
printf '%-34s %9s %9s KB %s\n' "floor: libxml2 parse+save" "$f_ms" "$f_kb" "1.00x (anchor)"
printf '%-34s %9s %9s KB %sx floor (target <= 1.5)\n' "provision apply, 1 site" "$o_ms" "$o_kb" "$(ratio "$o_ms" "$f_ms")"
printf '%-34s %9s %9s KB %sx floor (target <= 3)\n' "provision apply, 1,000 sites" "$b_ms" "$b_kb" "$(ratio "$b_ms" "$f_ms")"
printf '%-34s %9s %9s KB %sx floor\n' "xmlstarlet ed, add 1 site" "$x_ms" "$x_kb" "$(ratio "$x_ms" "$f_ms")"
echo "batch peak RSS: $(ratio "$((b_kb * 1024))" "$size")x the file size (target <= 10)"
