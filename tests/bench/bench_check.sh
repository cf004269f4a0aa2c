#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/bench/bench_check.sh: how fast `provision check` reads what it needs,
# against the scripted way, in ONE lab run (same Samba, same machine, same
# moment):
#  - set-up (timed, not a result): SITES sites s0001.example.com... of
#    template standard (folders SITE, SITE\wwwroot, SITE\data) applied with
#    `provision -q apply` on the lab's [sites] share, then ten files put in
#    each of those folders over SMB as the Administrator (smbclient mput, one
#    session per batch of sites), so that Samba gives them the descriptors a
#    Windows client's files get; every file is counted on the share;
#  - check: `provision check` of all sites (3 folders each), RUNS times;
#  - check --deep: `provision check --deep` of all sites (3 folders and 30
#    files each), RUNS times;
#  - anchor: one `smbcacls` process per folder (3 per site), sequentially,
#    as a scripted admin would read the same descriptors, RUNS times;
#    the three sides interleaved (run i of each, then run i+1);
#  - deep anchor: one `smbcacls` process per folder and per file (33 per
#    site), once, on a sample of 100 sites spread over the list, its time
#    extrapolated linearly to SITES;
# and asserts once (--json, before timing) that check and check --deep find
# nothing on these clean sites: exit 3 (the fixture's Default Web Site lies
# outside [content] root and is not checked), summary.checked == SITES, 0
# findings. Prints each side's median seconds, sites and objects per second,
# the ratios anchor time / check time, and the peak RSS of one check and one
# check --deep (GNU time -v).
# provision runs as the lab's least-privilege operator (lab_provision_conf);
# the smbcacls anchors log on as that operator too, and print names (SIDs
# resolved by the server, as smbcacls does by default).
# Usage: bench_check.sh [SITES] [RUNS] (default 1000 sites, 3 runs). Needs
# root. BENCH_CHECK_PROVISION may name a provision binary; otherwise
# build/normal/bin/provision, built with scripts/build.sh when it is missing
# (or has no check command: an old build). Ends with "N passed, M failed".
# shellcheck disable=SC2015  # A && pass || fail: pass (a printf) does not fail
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
FIXTURE="$REPO/tests/fixtures/applicationHost.server2016-default.config"
SITES=${1:-1000}
RUNS=${2:-3}
SAMPLE=100      # sites of the deep anchor
BATCH=100       # sites per smbclient session when putting the files
FILES=10        # files per folder
T0=$EPOCHREALTIME

npass=0
nfail=0
pass() { printf 'PASS %s\n' "$*"; npass=$((npass + 1)); }
fail() { printf 'FAIL %s\n' "$*"; nfail=$((nfail + 1)); }
summary() {
  echo "$npass passed, $nfail failed"
  (( nfail == 0 )) || exit 1
  exit 0
}

[[ $SITES =~ ^[1-9][0-9]*$ && $SITES -le 9999 ]] || { echo "usage: bench_check.sh [SITES (1..9999)] [RUNS]" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench_check.sh [SITES] [RUNS (>= 1)]" >&2; exit 2; }
(( SAMPLE > SITES )) && SAMPLE=$SITES

WORK=$(mktemp -d /tmp/bench_check.XXXXXX)
chmod 0755 "$WORK" # smbd serves the lab's shares as the users' uids
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

[[ $(id -u) -eq 0 ]] || { fail "bench_check.sh needs root"; summary; }

# ---------------------------------------------------------------- prerequisites
for t in smbclient smbcacls python3; do
  command -v "$t" >/dev/null || { fail "$t is missing (scripts/install-deps.sh)"; summary; }
done
if [[ ! -x /usr/bin/time ]]; then
  # GNU time, for the peak RSS (the shell's `time` keyword does not give it)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >"$WORK/apt.log" 2>&1; then
    fail "/usr/bin/time is missing and apt-get install time failed (see $WORK/apt.log)"
    summary
  fi
fi

P=${BENCH_CHECK_PROVISION:-$REPO/build/normal/bin/provision}
if [[ -n ${BENCH_CHECK_PROVISION:-} ]]; then
  [[ -x $P ]] || { fail "BENCH_CHECK_PROVISION=$P is not an executable"; summary; }
elif [[ ! -x $P ]] || ! "$P" help check >/dev/null 2>&1; then
  echo "building provision (scripts/build.sh)"
  if ! "$REPO/scripts/build.sh" >"$WORK/build.log" 2>&1; then
    fail "build provision (see $WORK/build.log)"
    summary
  fi
fi
"$P" help check >/dev/null 2>&1 || { fail "$P has no check command"; summary; }
echo "provision: $P"

# seconds between two $EPOCHREALTIME values
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------- lab
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
export LDAPTLS_CACERT=$LAB_CA
export PROVISION_STATE_DIR=$WORK/state # journals and audit log of this run only
in_lab() { "$LAB" exec "$LABDIR" -- "$@"; }
tail -n 1 "$WORK/lab-start.log"
echo "cpu: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sites: $SITES, runs: $RUNS, files: $FILES per folder"
# the anchors log on as provision does (the least-privilege operator)
AUTH=${LAB_OP_SMB_AUTHFILE:-$LAB_SMB_AUTHFILE}

mkdir -p "$WORK/iis"
cfg=$WORK/iis/applicationHost.config
cp "$FIXTURE" "$cfg" && chmod 644 "$cfg"
# shellcheck source=SCRIPTDIR/../lab/provision-conf.sh
source "$REPO/tests/lab/provision-conf.sh"
lab_provision_conf "$REPO" "$cfg" "smb://$LAB_HOST/sites" >"$WORK/provision.ini"
prov() { in_lab "$P" -c "$WORK/provision.ini" "$@"; }

# timed.sh OUT CMD...: runs CMD inside the lab (stdout and stderr to OUT),
# prints "SECONDS EXIT", timed inside the lab so that lab.sh exec's own start
# is not counted.
cat >"$WORK/timed.sh" <<'EOF'
out=$1; shift
start=$EPOCHREALTIME
"$@" >"$out" 2>&1
rc=$?
end=$EPOCHREALTIME
awk -v a="$start" -v b="$end" -v rc="$rc" 'BEGIN { printf "%.3f %d\n", b - a, rc }'
EOF
# anchor.sh AUTH SHARE LIST: one smbcacls process per path of LIST, as a
# shell script would read them; prints "SECONDS FAILED".
cat >"$WORK/anchor.sh" <<'EOF'
fails=0
start=$EPOCHREALTIME
while read -r path; do
  smbcacls -A "$1" "$2" "$path" >/dev/null 2>&1 || fails=$((fails + 1))
done <"$3"
end=$EPOCHREALTIME
awk -v a="$start" -v b="$end" -v f="$fails" 'BEGIN { printf "%.3f %d\n", b - a, f }'
EOF

site() { printf 's%04d.example.com' "$1"; }

# ---------------------------------------------------------------- set-up: sites
for (( i = 1; i <= SITES; i++ )); do
  printf '[site s%04d.example.com]\ntemplate = standard\n' "$i"
done >"$WORK/sites.ini"
read -r t rc < <(in_lab bash "$WORK/timed.sh" "$WORK/apply.out" "$P" -c "$WORK/provision.ini" -q apply "$WORK/sites.ini")
ndirs=0
for (( i = 1; i <= SITES; i++ )); do
  printf -v s 's%04d.example.com' "$i"
  [[ -d $LAB_SITES_PATH/$s/wwwroot && -d $LAB_SITES_PATH/$s/data ]] && ndirs=$((ndirs + 1))
done
printf 'set-up: apply of %d sites: %s s (exit %s)\n' "$SITES" "$t" "$rc"
if [[ $rc == 0 ]] && (( ndirs == SITES )); then
  pass "apply: $SITES sites, their three folders on the share"
else
  fail "apply: exit $rc, $ndirs of $SITES sites with their folders: $(tail -n 5 "$WORK/apply.out")"
  summary
fi

# ---------------------------------------------------------------- set-up: files
# shellcheck source=SCRIPTDIR/site-files.sh
source "$HERE/site-files.sh"
put_site_files s "$SITES"
got=$put_got want=$put_want full=$put_full
printf 'set-up: %d files put over SMB (smbclient mput, %d sites per session): %s s\n' "$want" "$BATCH" "$(secs "$put_start" "$put_end")"
if (( put_fail == 0 && got == want && full == SITES * 3 )); then
  pass "files: $got on the share, $FILES in each of the $((SITES * 3)) folders"
else
  fail "files: $got of $want on the share, $full of $((SITES * 3)) folders with $FILES, $put_fail smbclient sessions failed: $(tail -n 3 "$WORK/put.out")"
fi
# They hold their folder's inheritable entries: the pool's Modify in data.
poolsid=$(prov sid "IIS AppPool\\$(site 1)" 2>/dev/null | cut -f2)
d=$(in_lab smbcacls --numeric -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" "$(site 1)/data/file01.txt" 2>&1)
if [[ $poolsid == S-1-5-82-* ]] && grep -q "^ACL:$poolsid:0/0x[0-9a-f]*/0x001301bf$" <<<"$d"; then
  pass "a file put over SMB holds the pool's Modify from its folder (an NT ACL of its own)"
else
  fail "descriptor of $(site 1)/data/file01.txt (pool $poolsid): $(tr '\n' '~' <<<"$d")"
fi

# ---------------------------------------------------------------- correctness, once
# jcheck OUT [--deep]: check --json of all sites; asserts exit 3, every site
# of the list checked, no findings.
jcheck() {
  local label=$1 res
  shift
  prov --json "$@" check >"$WORK/check.json" 2>"$WORK/check.err"
  local rc=$?
  res=$(python3 - "$WORK/check.json" "$SITES" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1], encoding="utf-8"))
    s = d["summary"]
    names = {x["name"] for x in d["sites"] if x["checked"]}
    want = {"s%04d.example.com" % i for i in range(1, int(sys.argv[2]) + 1)}
    print(s["checked"], s["findings"], "yes" if names == want else "no")
except Exception as e:  # not a document
    print("- - -", e)
PY
)
  read -r checked findings same _ <<<"$res"
  if (( rc == 3 )) && [[ $checked == "$SITES" && $findings == 0 && $same == yes ]]; then
    pass "$label: exit 3, summary.checked == $SITES (every site of the list), 0 findings"
  else
    fail "$label: exit $rc, checked $checked, findings $findings, the list's sites: $same; $(head -c 600 "$WORK/check.err")"
  fi
}
jcheck "check --json"
jcheck "check --deep --json" --deep

# ---------------------------------------------------------------- the anchors' lists
: >"$WORK/folders"
for (( i = 1; i <= SITES; i++ )); do
  printf -v s 's%04d.example.com' "$i"
  printf '%s\n%s/wwwroot\n%s/data\n' "$s" "$s" "$s" >>"$WORK/folders"
done
: >"$WORK/objects"
for (( k = 0; k < SAMPLE; k++ )); do
  printf -v s 's%04d.example.com' $((1 + k * SITES / SAMPLE))
  for d in "$s" "$s/wwwroot" "$s/data"; do
    echo "$d" >>"$WORK/objects"
    for (( f = 1; f <= FILES; f++ )); do printf '%s/file%02d.txt\n' "$d" "$f" >>"$WORK/objects"; done
  done
done
nfolders=$(wc -l <"$WORK/folders")
nsample=$(wc -l <"$WORK/objects")
nobj_deep=$((SITES * 3 * (FILES + 1)))

# ---------------------------------------------------------------- timed runs
echo "== $RUNS interleaved runs: check, check --deep, anchor (smbcacls per folder)"
: >"$WORK/t.check"
: >"$WORK/t.deep"
: >"$WORK/t.anchor"
bad_rc=0
anchor_fail=0
for (( r = 1; r <= RUNS; r++ )); do
  read -r tc rcc < <(in_lab bash "$WORK/timed.sh" "$WORK/run.out" "$P" -c "$WORK/provision.ini" check)
  read -r td rcd < <(in_lab bash "$WORK/timed.sh" "$WORK/run.out" "$P" -c "$WORK/provision.ini" --deep check)
  read -r ta fa < <(in_lab bash "$WORK/anchor.sh" "$AUTH" "$LAB_SMB_SITES" "$WORK/folders")
  [[ $rcc == 3 && $rcd == 3 ]] || bad_rc=$((bad_rc + 1))
  anchor_fail=$((anchor_fail + ${fa:-1}))
  echo "$tc" >>"$WORK/t.check"
  echo "$td" >>"$WORK/t.deep"
  echo "$ta" >>"$WORK/t.anchor"
  printf 'run %d: check %s s (exit %s), check --deep %s s (exit %s), anchor %s s (%s failed)\n' \
    "$r" "$tc" "$rcc" "$td" "$rcd" "$ta" "$fa"
done
(( bad_rc == 0 )) && pass "every timed check and check --deep exited 3" || fail "$bad_rc timed runs did not exit 3"
(( anchor_fail == 0 )) && pass "anchor: every smbcacls read succeeded" || fail "anchor: $anchor_fail smbcacls reads failed"

echo "== deep anchor: smbcacls per folder and per file, once, $SAMPLE sites ($nsample objects)"
read -r tds fds < <(in_lab bash "$WORK/anchor.sh" "$AUTH" "$LAB_SMB_SITES" "$WORK/objects")
printf 'deep anchor: %s s for %d sites (%s failed), extrapolated x %d/%d\n' "$tds" "$SAMPLE" "$fds" "$SITES" "$SAMPLE"
[[ $fds == 0 ]] && pass "deep anchor: every smbcacls read succeeded" || fail "deep anchor: $fds smbcacls reads failed"

# ---------------------------------------------------------------- peak RSS
rss() { # ARGS...: peak RSS (MiB) of one check with ARGS
  in_lab /usr/bin/time -v -o "$WORK/time.out" "$P" -c "$WORK/provision.ini" "$@" check >/dev/null 2>&1
  awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time.out"
}
rss_c=$(rss)
rss_d=$(rss --deep)

# ---------------------------------------------------------------- table
m_c=$(median <"$WORK/t.check")
m_d=$(median <"$WORK/t.deep")
m_a=$(median <"$WORK/t.anchor")
m_x=$(awk -v t="$tds" -v n="$SITES" -v s="$SAMPLE" 'BEGIN { printf "%.3f", t * n / s }')
row() { # SIDE SECONDS OBJECTS
  awk -v side="$1" -v t="$2" -v n="$SITES" -v o="$3" \
    'BEGIN { printf "%-36s %10.3f %10.1f %12.1f %9d\n", side, t, n / t, o / t, o }'
}
echo
echo "RESULT $SITES sites, $RUNS runs (medians), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s %10s %10s %12s %9s\n' side "median s" "sites/s" "objects/s" objects
row "check" "$m_c" "$nfolders"
row "check --deep" "$m_d" "$nobj_deep"
row "anchor: smbcacls per folder" "$m_a" "$nfolders"
row "deep anchor: smbcacls per object (*)" "$m_x" "$nobj_deep"
echo "(*) measured once on $SAMPLE sites ($nsample objects, $tds s), extrapolated linearly to $SITES sites"
awk -v a="$m_a" -v c="$m_c" -v x="$m_x" -v d="$m_d" 'BEGIN {
  printf "ratio check vs anchor (anchor time / check time): %.1fx\n", a / c
  printf "ratio check --deep vs deep anchor (deep anchor time / check --deep time): %.1fx\n", x / d }'
echo "peak RSS: check ${rss_c:-?} MiB, check --deep ${rss_d:-?} MiB ($SITES sites)"
[[ -n $rss_c && -n $rss_d ]] && pass "peak RSS read (/usr/bin/time -v)" || fail "peak RSS: no /usr/bin/time -v output"
echo "total: $(secs "$T0" "$EPOCHREALTIME") s"

"$LAB" stop "$LABDIR" >/dev/null 2>&1 && LAB_STARTED=0
summary
