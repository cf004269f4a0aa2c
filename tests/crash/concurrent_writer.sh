#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Concurrent edits: another tool (as IIS Manager or appcmd would: read,
# edit, write a temp file, rename it over) edits applicationHost.config in
# a loop while provision applies and destroys a batch of sites on it.
#
# The other tool does not know provision's lock. provision merges its
# changes (they touch DefaultAppPool, none of the batch's objects) and tries
# the write again; what is left is the moment between provision's last
# compare and its rename: an edit the other tool writes exactly then is
# replaced. The other tool notices it (the value it wrote is gone at its
# next read) and counts it. Prints the numbers; fails when a run of
# provision failed, when a site is missing or left behind, or when the file
# does not validate.
#
# Usage: concurrent_writer.sh BUILD_DIR [ROUNDS] [SITES] [PAUSE_MS]
# PAUSE_MS: the other tool's pause between two writes (default 50: twenty
# writes a second, far more than an operator's tool makes; a pause shorter
# than what one write of provision takes can starve it: it gives up after
# 10 attempts, writing nothing, and says so).
set -uo pipefail

build=${1:?usage: concurrent_writer.sh BUILD_DIR [ROUNDS] [SITES]}
rounds=${2:-${ROUNDS:-10}}
sites=${3:-${SITES:-300}}
pause_ms=${4:-${PAUSE_MS:-50}}
repo=$(cd "$(dirname "$0")/../.." && pwd)
P=$build/bin/provision
[ -x "$P" ] || { echo "concurrent_writer: build first ($P)" >&2; exit 1; }

work=$(mktemp -d)
writer_pid=
cleanup() {
  [ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null && wait "$writer_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
export PROVISION_STATE_DIR=$work/state
cp "$repo/tests/fixtures/applicationHost.server2016-default.config" applicationHost.config
cp -r "$repo/templates" templates
cat > provision.ini <<'CONF'
[iis]
config = applicationHost.config
backups = 0
[content]
root = D:\Sites
[templates]
dir = templates
[directory]
netbios = LAB
CONF
for i in $(seq 1 "$sites"); do
  printf '[site s%d.example.com]\ntemplate = standard\n\n' "$i"
done > batch.ini

# The other tool: bumps DefaultAppPool's queueLength (10..65535) each time.
cat > writer.py <<'PY'
import os, re, sys, time
path, stop, stats, pause = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) / 1000
pat = re.compile(rb'(<add name="DefaultAppPool")( queueLength="(\d+)")?')
last = None; writes = lost = 0
while not os.path.exists(stop):
    with open(path, 'rb') as f:
        data = f.read()
    m = pat.search(data)
    if not m:
        time.sleep(0.001); continue   # mid-rename: no file content yet
    now = int(m.group(3)) if m.group(3) else None
    if last is not None and now != last:
        lost += 1                      # what it wrote last is gone
    new = 10 + ((now or 1000) - 10 + 1) % 65000
    out = data[:m.start()] + m.group(1) + b' queueLength="%d"' % new + data[m.end():]
    tmp = path + '.other-tool.tmp'
    with open(tmp, 'wb') as f:
        f.write(out)
    os.rename(tmp, path)
    last = new; writes += 1
    time.sleep(pause)
with open(stats, 'w') as f:
    f.write('%d %d\n' % (writes, lost))
PY

cp applicationHost.config original.config
python3 writer.py applicationHost.config "$work/stop" "$work/stats" "$pause_ms" &
writer_pid=$!
until grep -q 'name="DefaultAppPool" queueLength=' applicationHost.config; do sleep 0.01; done

failed=0 merges=0 refusals=0 ok_runs=0
for r in $(seq 1 "$rounds"); do
  for cmd in apply destroy; do
    out=$("$P" -c provision.ini "$cmd" batch.ini 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
      ok_runs=$((ok_runs + 1))
    else
      failed=$((failed + 1)); echo "round $r $cmd: exit $rc:"; grep -o "provision: .*" <<<"$out" | head -5
    fi
    grep -q "edits were made again on the new content" <<<"$out" && merges=$((merges + 1))
    grep -q "other tools wrote it" <<<"$out" && refusals=$((refusals + 1))
    present=$(grep -c '<site name="s[0-9]*\.example\.com"' applicationHost.config)
    want=$sites; [ "$cmd" = destroy ] && want=0
    if [ $rc -eq 0 ] && [ "$present" -ne "$want" ]; then
      failed=$((failed + 1)); echo "round $r $cmd: $present batch sites in the file, want $want"
    fi
  done
done
touch "$work/stop"; wait "$writer_pid"; writer_pid=
read -r writes lost < "$work/stats"

"$build/bin/schema_check" "$repo/tests/fixtures/IIS_schema.server2016.xml" applicationHost.config >/dev/null \
  || { echo "the final file does not validate"; failed=$((failed + 1)); }
echo "concurrent writer: $rounds rounds of apply+destroy of $sites sites, another tool writing every ${pause_ms} ms: $ok_runs runs succeeded, $failed failures"
echo "  runs that merged another tool's change and wrote again: $merges; gave up after retries: $refusals"
echo "  the other tool: $writes writes, $lost lost (written between provision's last compare and its rename)"
[ "$failed" -eq 0 ]
