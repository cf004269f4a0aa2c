#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/bench/bench_endtoend.sh: provision's whole job, in ONE lab run
# (tests/lab/lab.sh: same Samba, same machine, same moment), two parts.
#
# Part 1, end to end (target: the tool's sites/s >= 0.9x the directory's own
# pace). E2E_SITES AD-identity sites e0001.example.com.. (template
# ad-identity: the account IUSR_e0001 over LDAPS, the folders SITE,
# SITE\wwwroot, SITE\data and their grants on the lab's [sites] share over
# smb://, the pool and the site in a local copy of the Server 2016 fixture's
# applicationHost.config), against the anchor, `ldapadd -f` of as many
# equivalent accounts (bench_ldap's LDIF: the same attributes, unicodePwd,
# the tool's marker) over one LDAPS connection. ROUNDS interleaved rounds:
# each applies E2E_SITES/ROUNDS new sites with one
# `provision -q apply --timings` and ldapadds E2E_SITES/ROUNDS other
# accounts; each side's times are summed. A third side in the same rounds,
# for the diagnosis (no target): provision apply of as many other
# AD-identity sites k0001.. with a configuration without [content]
# location (account and IIS config, no folders): the tool's own LDAP pace
# next to ldapadd's, so that what the folders cost the lab's DC (which is
# also its file server) shows apart. The three sides' order rotates each
# round. Printed: sites/s of each side, the ratio tool/anchor and "target
# >= 0.9x: met / NOT met", the accounts-only side's ratio, and the tool's
# --timings rows summed over its rounds. Another side, once, on SHELL_SITES
# sites of their own: the
# per-site shell loop a scripted admin would run from Linux: `samba-tool user
# add` against the DC over LDAP (Kerberos ticket of the operator, kinit once
# before the loop, untimed), one `smbclient -c 'mkdir ..'` session for the
# three folders, one `smbcacls --add` per grant (3), one `xmlstarlet ed -L -P`
# adding the pool and the site to a copy of the config; its sites/s and the
# ratio tool / shell loop are printed. Verified once, untimed: every tool
# account exists with the tool's marker (adminDescription=provision:site=
# SITE), every anchor account exists, each site's three folders exist on the
# share and the data folder holds the account's Modify grant, the config
# holds every site and pool (and the shell loop's copy its own), and a
# re-apply of one round's list prints "No changes".
#
# Part 2, the nightly convergence run (target: <= 10 s on this machine's
# lab). NIGHTLY_SITES AD-identity sites n0001.example.com.. applied once
# into their own copy of the fixture (timed, printed, not a result), then ten
# files put into each of the three folders of every site over SMB as the
# Administrator (smbclient mput, 100 sites per session, as
# bench_check.sh; not timed; every file counted on the share), then
# NIGHTLY_RUNS runs of a plain `provision -q apply --timings` of the same
# list. Each run must change nothing: exit 0, nothing on stdout, no error on
# stderr, the config's bytes unchanged (SHA-256), no journal left in the
# state folder, the audit log unchanged; an untimed run without -q after
# them must print "No changes: N sites already as described.". Printed:
# each run's wall time, the median, min-max, "target <= 10 s: met / NOT
# met", and the median of each --timings row.
#
# provision runs as the lab's least-privilege operator (lab_provision_conf,
# as the other benches), with PROVISION_STATE_DIR in the work folder (its
# journal fsyncs are part of the cost) and [iis] backups = 1. Times are wall
# times taken inside the lab's namespaces (lab.sh exec's own start is not
# counted), the same way for every side.
#
# Usage: tests/bench/bench_endtoend.sh [BUILD_DIR]   (needs root)
#   BUILD_DIR         default build/normal; built with scripts/build.sh when
#                     provision or bench_ldap is missing there
# Environment (defaults):
#   E2E_SITES=200     part 1's sites (and anchor accounts); 0 skips part 1
#   ROUNDS=5          part 1's interleaved rounds (1 <= ROUNDS <= E2E_SITES)
#   SHELL_SITES=10    the shell loop's sites; 0 skips that side
#   NIGHTLY_SITES=1000  part 2's sites; 0 skips part 2
#   NIGHTLY_RUNS=5    part 2's timed runs
# Sites are numbered 1..9999 per part. Prints PASS/FAIL lines for the
# checks, then the figures. Exit 0 when every check passed (a missed target
# is reported, not failed), 1 when something failed (the work folder is then
# kept), 2 on bad usage.
# The shell loop gives each account a password it generates and passes it on
# argv (samba-tool user add NAME PASSWORD, xmlstarlet), as such a script
# does; they are throwaway accounts of a throwaway lab, deleted with it.
# shellcheck disable=SC2015  # A && B || C: B (pass, an assignment) does not fail
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
FIXTURE="$REPO/tests/fixtures/applicationHost.server2016-default.config"
BUILD=${1:-$REPO/build/normal}
E2E_SITES=${E2E_SITES:-200}
ROUNDS=${ROUNDS:-5}
SHELL_SITES=${SHELL_SITES:-10}
NIGHTLY_SITES=${NIGHTLY_SITES:-1000}
NIGHTLY_RUNS=${NIGHTLY_RUNS:-5}
FILES=10          # files per folder (part 2)
BATCH=100         # sites per smbclient mput session (part 2)
E2E_TARGET=0.9    # tool sites/s >= 0.9x ldapadd's
NIGHTLY_TARGET=10 # seconds
T0=$EPOCHREALTIME

usage() { echo "bench_endtoend: $*" >&2; exit 2; }
isnum() { [[ $1 =~ ^[0-9]+$ ]]; }
isnum "$E2E_SITES" && (( E2E_SITES <= 9999 )) || usage "E2E_SITES must be 0..9999 (got '$E2E_SITES')"
isnum "$ROUNDS" && (( ROUNDS >= 1 )) || usage "ROUNDS must be >= 1 (got '$ROUNDS')"
(( E2E_SITES == 0 || ROUNDS <= E2E_SITES )) || usage "ROUNDS ($ROUNDS) must not exceed E2E_SITES ($E2E_SITES)"
isnum "$SHELL_SITES" && (( SHELL_SITES <= 9999 )) || usage "SHELL_SITES must be 0..9999 (got '$SHELL_SITES')"
isnum "$NIGHTLY_SITES" && (( NIGHTLY_SITES <= 9999 )) || usage "NIGHTLY_SITES must be 0..9999 (got '$NIGHTLY_SITES')"
isnum "$NIGHTLY_RUNS" && (( NIGHTLY_RUNS >= 1 )) || usage "NIGHTLY_RUNS must be >= 1 (got '$NIGHTLY_RUNS')"
(( E2E_SITES == 0 )) && SHELL_SITES=0 # the shell loop is a side of part 1

npass=0
nfail=0
pass() { printf 'PASS %s\n' "$*"; npass=$((npass + 1)); }
fail() { printf 'FAIL %s\n' "$*"; nfail=$((nfail + 1)); }
# a failure after which the figures would mean nothing
die() { fail "$*"; echo "$npass passed, $nfail failed"; exit 1; }

WORK=$(mktemp -d /tmp/bench_endtoend.XXXXXX)
chmod 0755 "$WORK" # smbd serves the lab's shares as the users' uids
LABDIR="$WORK/lab"
LAB_STARTED=0
# shellcheck disable=SC2317  # called through trap
finish() {
  if (( LAB_STARTED )); then
    "$LAB" stop "$LABDIR" >/dev/null 2>&1 || echo "bench_endtoend: lab STOP FAILED for $LABDIR" >&2
  fi
  if (( nfail == 0 )); then rm -rf "$WORK"; else echo "work directory kept: $WORK"; fi
}
trap finish EXIT
trap 'echo "bench_endtoend: interrupted" >&2; exit 130' INT TERM HUP

(( $(id -u) == 0 )) || die "bench_endtoend.sh needs root (the lab uses namespaces)"
(( E2E_SITES + NIGHTLY_SITES > 0 )) || { echo "E2E_SITES=0 and NIGHTLY_SITES=0: nothing to do"; exit 0; }

# ---------------------------------------------------------------- prerequisites
tools=(smbclient ldapadd ldapsearch sha256sum)
(( E2E_SITES )) && tools+=(xmlstarlet)
(( SHELL_SITES )) && tools+=(samba-tool smbcacls kinit kdestroy)
for t in "${tools[@]}"; do
  command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps.sh)"
done
P=$BUILD/bin/provision
BIN=$BUILD/bin/bench_ldap
if [[ ! -x $P || ! -x $BIN ]]; then
  echo "building $BUILD (scripts/build.sh)"
  "$REPO/scripts/build.sh" "$BUILD" >"$WORK/build.log" 2>&1 || die "build failed (see $WORK/build.log)"
fi
[[ -x $P && -x $BIN ]] || die "no provision or bench_ldap in $BUILD/bin"
"$P" help apply 2>&1 | grep -q -- '--timings' || die "$P has no apply --timings (an old build?)"
echo "provision: $P"

# ---------------------------------------------------------------- helpers
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# "timings: <step> <ms> [<calls>]" lines (stderr of --timings) -> TSV step, ms, calls
timings_tsv() {
  awk '/^timings: / {
    sub(/^timings: +/, "")
    if ($1 == "step" && $NF == "calls") next
    n = NF; calls = ""
    if (n >= 3 && $(n - 1) ~ /^[0-9.]+$/ && $n ~ /^[0-9]+$/) { calls = $n; ms = $(n - 1); last = n - 2 }
    else { ms = $n; last = n - 1 }
    name = $1
    for (i = 2; i <= last; i++) name = name " " $i
    printf "%s\t%s\t%s\n", name, ms, calls
  }' "$1"
}
# TSV rows of several runs (step, ms, calls) -> one row per step (first
# seen order): MODE sum (ms and calls summed) or median (their medians).
timings_fold() {
  awk -F'\t' -v mode="$1" '
    function med(list,   v, k, i, j, t) {
      k = split(list, v, " ")
      for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
      return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    !($1 in seen) { seen[$1] = 1; order[++n] = $1 }
    { ms[$1] = ms[$1] " " $2; if ($3 != "") { calls[$1] = calls[$1] " " $3; hasc[$1] = 1 }
      sms[$1] += $2; scalls[$1] += $3 }
    END {
      for (i = 1; i <= n; i++) {
        s = order[i]
        if (mode == "sum") { m = sms[s]; c = scalls[s] } else { m = med(ms[s]); c = hasc[s] ? med(calls[s]) : 0 }
        printf "%s\t%.1f\t%s\n", s, m, hasc[s] ? sprintf("%d", c) : ""
      }
    }'
}
# prints a folded table with each row's share of the whole run
timings_table() {
  awk -F'\t' '{ name[NR] = $1; ms[NR] = $2; calls[NR] = $3; if ($1 == "whole run") whole = $2 }
    END {
      printf "    %-40s %10s %8s %6s\n", "step", "ms", "calls", "share"
      for (i = 1; i <= NR; i++)
        printf "    %-40s %10.1f %8s %5.1f%%\n", name[i], ms[i], calls[i], (whole > 0 ? 100 * ms[i] / whole : 0)
    }' "$1"
}

# ---------------------------------------------------------------- lab
LAB_STARTED=1 # from here on the trap stops it, whatever happens
if ! "$LAB" start "$LABDIR" >"$WORK/lab-start.log" 2>&1; then
  tail -n 20 "$WORK/lab-start.log"
  die "the lab did not start"
fi
set -a # bench_ldap's LDIF generator reads the lab's variables
# shellcheck disable=SC1091
source "$LABDIR/lab.env"
set +a
export LDAPTLS_CACERT=$LAB_CA
export PROVISION_STATE_DIR=$WORK/state # journals and audit log of this run only
in_lab() { "$LAB" exec "$LABDIR" -- "$@"; }
ldap_admin() { in_lab "$1" -H "$LAB_LDAPS_URI" -x -D "$LAB_ADMIN_DN" -y "$LAB_ADMIN_PASSWORD_FILE" "${@:2}"; }
AUTH=${LAB_OP_SMB_AUTHFILE:-$LAB_SMB_AUTHFILE} # the operator's SMB login
tail -n 1 "$WORK/lab-start.log"
echo "cpu: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC1091
source "$REPO/tests/lab/provision-conf.sh"
# shellcheck source=SCRIPTDIR/site-files.sh
source "$HERE/site-files.sh"

# timed.sh OUT ERR CMD...: runs CMD (stdout to OUT, stderr to ERR), prints
# "SECONDS EXIT"; run inside the lab, so that lab.sh exec is not counted.
cat >"$WORK/timed.sh" <<'EOF'
out=$1 err=$2
shift 2
start=$EPOCHREALTIME
"$@" >"$out" 2>"$err"
rc=$?
end=$EPOCHREALTIME
awk -v a="$start" -v b="$end" -v rc="$rc" 'BEGIN { printf "%.3f %d\n", b - a, rc }'
EOF
timed() { in_lab bash "$WORK/timed.sh" "$@"; }

# sites PREFIX FROM TO: an ad-identity site list, PREFIX%04d.example.com
sites() {
  local i
  for (( i = $2; i <= $3; i++ )); do
    printf '[site %s%04d.example.com]\ntemplate = ad-identity\nid = %s%04d\n' "$1" "$i" "$1" "$i"
  done
}
# folders_ok PREFIX FROM TO: how many of these sites have their three folders
folders_ok() {
  local i s k=0
  for (( i = $2; i <= $3; i++ )); do
    printf -v s '%s%04d.example.com' "$1" "$i"
    [[ -d $LAB_SITES_PATH/$s/wwwroot && -d $LAB_SITES_PATH/$s/data ]] && k=$((k + 1))
  done
  echo "$k"
}
A=/configuration/system.applicationHost
# config_names CONFIG PREFIX WHAT: sorted names of the sites (WHAT=site) or
# pools (WHAT=pool) of CONFIG that start with PREFIX and a digit
config_names() {
  local xp="$A/sites/site"
  [[ $3 == pool ]] && xp="$A/applicationPools/add"
  xmlstarlet sel -t -m "$xp" -v @name -n "$1" 2>/dev/null | grep -E "^$2[0-9]{4}\.example\.com$" | sort
}
expect_names() { # PREFIX FROM TO
  local i
  for (( i = $2; i <= $3; i++ )); do printf '%s%04d.example.com\n' "$1" "$i"; done | sort
}

e2e_done=0
shell_done=0
nightly_done=0

# ================================================================ part 1
if (( E2E_SITES )); then
  echo
  echo "== part 1: end to end, $E2E_SITES AD-identity sites in $ROUNDS rounds, provision apply and ldapadd interleaved"
  mkdir -p "$WORK/iis"
  cfg=$WORK/iis/applicationHost.config
  cp "$FIXTURE" "$cfg" && chmod 644 "$cfg"
  lab_provision_conf "$REPO" "$cfg" "smb://$LAB_HOST/sites" "[iis]" "backups = 1" >"$WORK/provision.ini"
  acfg=$WORK/iis/accounts-only.config
  cp "$FIXTURE" "$acfg" && chmod 644 "$acfg"
  lab_provision_conf "$REPO" "$acfg" "" "[iis]" "backups = 1" >"$WORK/accounts-only.ini"
  t_tool=0 t_add=0 t_acct=0
  : >"$WORK/e2e.timings"
  for (( r = 0; r < ROUNDS; r++ )); do
    lo=$(( r * E2E_SITES / ROUNDS + 1 ))
    hi=$(( (r + 1) * E2E_SITES / ROUNDS ))
    n=$(( hi - lo + 1 ))
    sites e "$lo" "$hi" >"$WORK/e2e.$r.ini"
    sites k "$lo" "$hi" >"$WORK/acct.$r.ini"
    (umask 077; in_lab "$BIN" ldif "$n" "IUSR_a${r}_" >"$WORK/add.$r.ldif") || die "bench_ldap ldif failed"
    [[ $(grep -c '^dn: ' "$WORK/add.$r.ldif") == "$n" ]] || die "the LDIF of round $r does not hold $n accounts"
    sides=(tool add acct)
    order=("${sides[@]:r % 3}" "${sides[@]:0:r % 3}")
    for side in "${order[@]}"; do
      if [[ $side == tool ]]; then
        res=$(timed "$WORK/apply.out" "$WORK/apply.err" \
          "$P" -q -c "$WORK/provision.ini" apply --timings "$WORK/e2e.$r.ini")
        read -r t rc <<<"$res"
        [[ $rc == 0 ]] || die "round $((r + 1)): provision apply exit $rc: $(grep -v '^timings: ' "$WORK/apply.err" | head -n 5)"
        timings_tsv "$WORK/apply.err" >>"$WORK/e2e.timings"
        t_tool=$(add "$t_tool" "$t")
        ttool=$t
      elif [[ $side == acct ]]; then
        res=$(timed "$WORK/acct.out" "$WORK/acct.err" \
          "$P" -q -c "$WORK/accounts-only.ini" apply "$WORK/acct.$r.ini")
        read -r t rc <<<"$res"
        [[ $rc == 0 ]] || die "round $((r + 1)): accounts-only apply exit $rc: $(head -n 5 "$WORK/acct.err")"
        t_acct=$(add "$t_acct" "$t")
        tacct=$t
      else
        res=$(timed "$WORK/ldapadd.out" "$WORK/ldapadd.err" \
          ldapadd -H "$LAB_LDAPS_URI" -x -D "$LAB_ADMIN_DN" -y "$LAB_ADMIN_PASSWORD_FILE" -f "$WORK/add.$r.ldif")
        read -r t rc <<<"$res"
        [[ $rc == 0 ]] || die "round $((r + 1)): ldapadd exit $rc: $(head -n 5 "$WORK/ldapadd.err")"
        t_add=$(add "$t_add" "$t")
        tadd=$t
      fi
    done
    printf 'round %d (order %s): provision apply of %d sites %s s, ldapadd of %d accounts %s s, accounts-only apply %s s\n' \
      "$((r + 1))" "${order[*]}" "$n" "$ttool" "$n" "$tadd" "$tacct"
  done
  timings_fold sum <"$WORK/e2e.timings" >"$WORK/e2e.timings.sum"
  e2e_done=1

  # ------------------------------------------------------------ the shell loop
  if (( SHELL_SITES )); then
    echo "== part 1: the scripted admin's shell loop, $SHELL_SITES sites x0001.., once"
    mkdir -p "$WORK/shell"
    scfg=$WORK/shell/applicationHost.config
    cp "$FIXTURE" "$scfg" && chmod 644 "$scfg"
    expect_names x 1 "$SHELL_SITES" >"$WORK/shell.list"
    # The admin logs on once (Kerberos, as the operator provision runs as),
    # then loops; samba-tool then talks LDAP to the DC (SASL, sealed).
    export KRB5_CONFIG=$LAB_KRB5_CONFIG KRB5CCNAME=FILE:$WORK/krb5cc.shell
    in_lab kinit "$LAB_OP_USER@$LAB_REALM" <"$LAB_OP_PASSWORD_FILE" >"$WORK/kinit.out" 2>&1 ||
      die "kinit $LAB_OP_USER@$LAB_REALM: $(head -n 3 "$WORK/kinit.out")"
    # shell.sh LIST CONFIG: the loop; prints "SECONDS FAILED_STEPS", each
    # command's messages in shell.log
    cat >"$WORK/shell.sh" <<'EOF'
list=$1 cfg=$2 log=$3
A=/configuration/system.applicationHost
fails=0
id=1000
start=$EPOCHREALTIME
while read -r site; do
  sam=IUSR_${site%%.*}
  id=$((id + 1))
  pw="aA1$(head -c 18 /dev/urandom | base64 | tr "+/" "-_")" # never a leading "-" (samba-tool would read an option)
  samba-tool user add "$sam" "$pw" --userou=OU=Sites,OU=Hosting --description="IIS identity for $site" \
    -H "ldap://$LAB_HOST" --use-kerberos=required >>"$log" 2>&1 || fails=$((fails + 1))
  smbclient -A "$AUTH" "$LAB_SMB_SITES" -c "mkdir $site; mkdir $site/wwwroot; mkdir $site/data" \
    >>"$log" 2>&1 || fails=$((fails + 1))
  smbcacls -A "$AUTH" "$LAB_SMB_SITES" "$site" --add "ACL:$LAB_DOMAIN\\$sam:ALLOWED/0x0/0x001200a9" \
    >>"$log" 2>&1 || fails=$((fails + 1))
  smbcacls -A "$AUTH" "$LAB_SMB_SITES" "$site/wwwroot" --add "ACL:$LAB_DOMAIN\\$sam:ALLOWED/OI|CI/0x001200a9" \
    >>"$log" 2>&1 || fails=$((fails + 1))
  smbcacls -A "$AUTH" "$LAB_SMB_SITES" "$site/data" --add "ACL:$LAB_DOMAIN\\$sam:ALLOWED/OI|CI/0x001301bf" \
    >>"$log" 2>&1 || fails=$((fails + 1))
  p="$A/applicationPools/add[last()]"
  s="$A/sites/site[last()]"
  l="/configuration/location[last()]"
  xmlstarlet ed -L -P \
    -i "$A/applicationPools/applicationPoolDefaults" -t elem -n add -v '' \
    -i "$p" -t attr -n name -v "$site" \
    -i "$p" -t attr -n managedRuntimeVersion -v v4.0 \
    -i "$p" -t attr -n managedPipelineMode -v Integrated \
    -s "$p" -t elem -n processModel -v '' \
    -i "$p/processModel" -t attr -n identityType -v SpecificUser \
    -i "$p/processModel" -t attr -n userName -v "$LAB_DOMAIN\\$sam" \
    -i "$p/processModel" -t attr -n password -v "$pw" \
    -i "$A/sites/siteDefaults" -t elem -n site -v '' \
    -i "$s" -t attr -n name -v "$site" \
    -i "$s" -t attr -n id -v "$id" \
    -s "$s" -t elem -n application -v '' \
    -i "$s/application" -t attr -n path -v / \
    -i "$s/application" -t attr -n applicationPool -v "$site" \
    -s "$s/application" -t elem -n virtualDirectory -v '' \
    -i "$s/application/virtualDirectory" -t attr -n path -v / \
    -i "$s/application/virtualDirectory" -t attr -n physicalPath -v "D:\\Sites\\$site\\wwwroot" \
    -s "$s" -t elem -n bindings -v '' \
    -s "$s/bindings" -t elem -n binding -v '' \
    -i "$s/bindings/binding[last()]" -t attr -n protocol -v http \
    -i "$s/bindings/binding[last()]" -t attr -n bindingInformation -v "*:80:$site" \
    -s "$s/bindings" -t elem -n binding -v '' \
    -i "$s/bindings/binding[last()]" -t attr -n protocol -v http \
    -i "$s/bindings/binding[last()]" -t attr -n bindingInformation -v "*:80:www.$site" \
    -s /configuration -t elem -n location -v '' \
    -i "$l" -t attr -n path -v "$site" \
    -s "$l" -t elem -n system.webServer -v '' \
    -s "$l/system.webServer" -t elem -n security -v '' \
    -s "$l/system.webServer/security" -t elem -n authentication -v '' \
    -s "$l/system.webServer/security/authentication" -t elem -n anonymousAuthentication -v '' \
    -i "$l/system.webServer/security/authentication/anonymousAuthentication" -t attr -n userName -v '' \
    "$cfg" >>"$log" 2>&1 || fails=$((fails + 1))
done <"$list"
end=$EPOCHREALTIME
awk -v a="$start" -v b="$end" -v f="$fails" 'BEGIN { printf "%.3f %d\n", b - a, f }'
EOF
    res=$(AUTH=$AUTH in_lab bash "$WORK/shell.sh" "$WORK/shell.list" "$scfg" "$WORK/shell.log")
    read -r t_shell shell_fails <<<"$res"
    in_lab kdestroy >/dev/null 2>&1
    unset KRB5_CONFIG KRB5CCNAME
    printf 'shell loop: %d sites in %s s (%s failed steps)\n' "$SHELL_SITES" "$t_shell" "$shell_fails"
    if [[ $shell_fails == 0 ]]; then
      pass "shell loop: every samba-tool, smbclient, smbcacls and xmlstarlet step succeeded"
      shell_done=1
    else
      fail "shell loop: $shell_fails steps failed: $(grep -i -m 5 'error\|fail\|denied' "$WORK/shell.log" | tr '\n' '~')"
    fi
    got=$(ldap_admin ldapsearch -LLL -b "$LAB_SITES_OU" "(sAMAccountName=IUSR_x*)" 1.1 | grep -c '^dn: ')
    k=$(folders_ok x 1 "$SHELL_SITES")
    if [[ $got == "$SHELL_SITES" && $k == "$SHELL_SITES" ]] &&
       [[ $(config_names "$scfg" x site) == "$(cat "$WORK/shell.list")" ]] &&
       [[ $(config_names "$scfg" x pool) == "$(cat "$WORK/shell.list")" ]] &&
       xmlstarlet val -q -w "$scfg"; then
      pass "shell loop: $SHELL_SITES accounts, their folders on the share, their sites and pools in its config copy"
    else
      fail "shell loop: $got accounts, $k sites with their folders, config: $(config_names "$scfg" x site | wc -l) sites, $(config_names "$scfg" x pool | wc -l) pools (of $SHELL_SITES)"
      shell_done=0
    fi
  fi

  # ------------------------------------------------------------ correctness, once
  echo "== part 1: correctness (untimed)"
  for (( i = 1; i <= E2E_SITES; i++ )); do
    printf 'IUSR_e%04d provision:site=e%04d.example.com\n' "$i" "$i"
  done | sort >"$WORK/e2e.accounts.want"
  ldap_admin ldapsearch -LLL -o ldif-wrap=no -b "$LAB_SITES_OU" "(sAMAccountName=IUSR_e*)" \
    sAMAccountName adminDescription >"$WORK/e2e.accounts.ldif" 2>&1
  awk '/^dn: / { if (sam != "") print sam, desc; sam = ""; desc = "" }
       /^sAMAccountName: / { sam = $2 } /^adminDescription: / { desc = $2 }
       END { if (sam != "") print sam, desc }' "$WORK/e2e.accounts.ldif" | sort >"$WORK/e2e.accounts.got"
  if cmp -s "$WORK/e2e.accounts.want" "$WORK/e2e.accounts.got"; then
    pass "accounts: IUSR_e0001..IUSR_e$(printf '%04d' "$E2E_SITES"), each with the tool's marker adminDescription=provision:site=SITE"
  else
    fail "accounts: $(wc -l <"$WORK/e2e.accounts.got") IUSR_e* found, not the $E2E_SITES marked ones wanted: $(diff "$WORK/e2e.accounts.want" "$WORK/e2e.accounts.got" | head -n 4 | tr '\n' '~')"
  fi
  got=$(ldap_admin ldapsearch -LLL -b "$LAB_SITES_OU" "(sAMAccountName=IUSR_a*)" 1.1 | grep -c '^dn: ')
  [[ $got == "$E2E_SITES" ]] && pass "anchor: ldapadd made its $E2E_SITES accounts" ||
    fail "anchor: $got IUSR_a* accounts, not $E2E_SITES"
  got=$(ldap_admin ldapsearch -LLL -b "$LAB_SITES_OU" "(sAMAccountName=IUSR_k*)" 1.1 | grep -c '^dn: ')
  k=$(folders_ok k 1 "$E2E_SITES")
  [[ $got == "$E2E_SITES" && $k == 0 && $(config_names "$acfg" k site | wc -l) == "$E2E_SITES" ]] &&
    pass "accounts-only side: $E2E_SITES accounts IUSR_k*, their sites in its config, no folders" ||
    fail "accounts-only side: $got IUSR_k* accounts, $k sites with folders, $(config_names "$acfg" k site | wc -l) sites in its config (of $E2E_SITES)"
  k=$(folders_ok e 1 "$E2E_SITES")
  [[ $k == "$E2E_SITES" ]] && pass "folders: SITE, SITE\\wwwroot, SITE\\data of all $E2E_SITES sites on the share" ||
    fail "folders: $k of $E2E_SITES sites have their three folders on the share"
  # the grant of the first site's data folder: the account's Modify, inherited below
  d=$(in_lab smbcacls -A "$AUTH" "$LAB_SMB_SITES" "e0001.example.com/data" 2>&1)
  if grep -qi "^ACL:$LAB_DOMAIN\\\\IUSR_e0001:ALLOWED/OI|CI/\(CHANGE\|RWXD\|0x001301bf\)$" <<<"$d"; then
    pass "grant: e0001.example.com\\data gives $LAB_DOMAIN\\IUSR_e0001 Modify (OI|CI)"
  else
    fail "grant: e0001.example.com\\data: $(tr '\n' '~' <<<"$d")"
  fi
  expect_names e 1 "$E2E_SITES" >"$WORK/e2e.names"
  if [[ $(config_names "$cfg" e site) == "$(cat "$WORK/e2e.names")" &&
        $(config_names "$cfg" e pool) == "$(cat "$WORK/e2e.names")" ]]; then
    pass "config: all $E2E_SITES sites and their pools in applicationHost.config"
  else
    fail "config: $(config_names "$cfg" e site | wc -l) sites, $(config_names "$cfg" e pool | wc -l) pools of $E2E_SITES"
  fi
  in_lab "$P" -c "$WORK/provision.ini" apply "$WORK/e2e.0.ini" >"$WORK/reapply.out" 2>&1
  rc=$?
  n0=$(( E2E_SITES / ROUNDS ))
  if [[ $rc == 0 ]] && grep -qx "No changes: $n0 sites\? already as described\." "$WORK/reapply.out"; then
    pass "re-apply of round 1's list: $(cat "$WORK/reapply.out")"
  else
    fail "re-apply of round 1's list: exit $rc: $(head -n 5 "$WORK/reapply.out" | tr '\n' '~')"
  fi
fi

# ================================================================ part 2
if (( NIGHTLY_SITES )); then
  echo
  echo "== part 2: the nightly convergence run, $NIGHTLY_SITES AD-identity sites, $NIGHTLY_RUNS runs"
  mkdir -p "$WORK/iis-nightly"
  ncfg=$WORK/iis-nightly/applicationHost.config
  cp "$FIXTURE" "$ncfg" && chmod 644 "$ncfg"
  lab_provision_conf "$REPO" "$ncfg" "smb://$LAB_HOST/sites" "[iis]" "backups = 1" >"$WORK/nightly.ini"
  sites n 1 "$NIGHTLY_SITES" >"$WORK/nightly.sites.ini"
  res=$(timed "$WORK/apply.out" "$WORK/apply.err" "$P" -q -c "$WORK/nightly.ini" apply "$WORK/nightly.sites.ini")
  read -r t rc <<<"$res"
  printf 'set-up: first apply of %d sites (accounts, folders, grants, config): %s s (exit %s; not a result)\n' \
    "$NIGHTLY_SITES" "$t" "$rc"
  [[ $rc == 0 ]] || die "set-up apply: exit $rc: $(head -n 5 "$WORK/apply.err")"
  k=$(folders_ok n 1 "$NIGHTLY_SITES")
  (( k == NIGHTLY_SITES )) || die "set-up apply: $k of $NIGHTLY_SITES sites have their three folders"

  # ten files per folder, put through SMB as the Administrator
  put_site_files n "$NIGHTLY_SITES"
  got=$put_got want=$put_want full=$put_full
  printf 'set-up: %d files put over SMB (smbclient mput, %d sites per session): %s s (not a result)\n' \
    "$want" "$BATCH" "$(secs "$put_start" "$put_end")"
  if (( put_fail == 0 && got == want && full == NIGHTLY_SITES * 3 )); then
    pass "files: $got on the share, $FILES in each of the $((NIGHTLY_SITES * 3)) folders"
  else
    die "files: $got of $want on the share, $full of $((NIGHTLY_SITES * 3)) folders with $FILES, $put_fail smbclient sessions failed: $(tail -n 3 "$WORK/put.out")"
  fi

  journals() { find "$PROVISION_STATE_DIR" -name '*.journal*' 2>/dev/null | wc -l; }
  audit() { sha256sum 2>/dev/null <"$PROVISION_STATE_DIR/audit.log" | cut -d' ' -f1; }
  (( $(journals) == 0 )) || fail "set-up: $(journals) journals left in the state folder before the nightly runs"
  : >"$WORK/nightly.times"
  : >"$WORK/nightly.timings"
  bad=0
  for (( r = 1; r <= NIGHTLY_RUNS; r++ )); do
    before=$(sha256sum <"$ncfg")
    abefore=$(audit)
    res=$(timed "$WORK/run.out" "$WORK/run.err" "$P" -q -c "$WORK/nightly.ini" apply --timings "$WORK/nightly.sites.ini")
    read -r t rc <<<"$res"
    after=$(sha256sum <"$ncfg")
    nj=$(journals)
    other=$(grep -v '^timings: ' "$WORK/run.err" | head -n 3)
    printf 'run %d: %s s (exit %s)\n' "$r" "$t" "$rc"
    echo "$t" >>"$WORK/nightly.times"
    timings_tsv "$WORK/run.err" >>"$WORK/nightly.timings"
    if [[ $rc != 0 || -s $WORK/run.out || -n $other || $before != "$after" || $nj != 0 || $abefore != "$(audit)" ]]; then
      bad=$((bad + 1))
      fail "nightly run $r changed or said something: exit $rc, stdout $(head -c 300 "$WORK/run.out" | tr '\n' '~'), stderr ${other//$'\n'/\~}, config $([[ $before == "$after" ]] && echo same || echo CHANGED), $nj journals"
    fi
  done
  (( bad == 0 )) && pass "nightly runs: every one exit 0, silent, config bytes unchanged, no journal left, audit log unchanged"
  in_lab "$P" -c "$WORK/nightly.ini" apply "$WORK/nightly.sites.ini" >"$WORK/run.out" 2>&1
  rc=$?
  if [[ $rc == 0 ]] && grep -qx "No changes: $NIGHTLY_SITES sites\? already as described\." "$WORK/run.out"; then
    pass "nightly: a run without -q says: $(cat "$WORK/run.out")"
  else
    fail "nightly: a run without -q: exit $rc: $(head -n 5 "$WORK/run.out" | tr '\n' '~')"
  fi
  timings_fold median <"$WORK/nightly.timings" >"$WORK/nightly.timings.med"
  nightly_done=1
fi

"$LAB" stop "$LABDIR" >"$WORK/lab-stop.log" 2>&1 && LAB_STARTED=0 || fail "lab stop: $(tail -n 3 "$WORK/lab-stop.log")"
echo
echo "$npass passed, $nfail failed"

# ================================================================ figures
echo
echo "RESULT $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(secs "$T0" "$EPOCHREALTIME") s in all"
if (( e2e_done )); then
  echo "part 1: end to end, $E2E_SITES AD-identity sites (account + 3 folders + grants + pool and site), $ROUNDS interleaved rounds"
  awk -v n="$E2E_SITES" -v t="$t_tool" -v a="$t_add" -v k="$t_acct" -v tgt="$E2E_TARGET" 'BEGIN {
    printf "  %-66s %9.3f s %8.1f sites/s\n", "provision apply (tool, whole job)", t, n / t
    printf "  %-66s %9.3f s %8.1f sites/s\n", "anchor: ldapadd -f, one LDAPS connection (accounts only)", a, n / a
    r = (n / t) / (n / a)
    printf "  ratio tool/ldapadd: %.2fx   target >= %.1fx: %s\n", r, tgt, (r >= tgt ? "met" : "NOT met")
    printf "  %-66s %9.3f s %8.1f sites/s\n", "diagnosis: provision apply, accounts and config only (no folders)", k, n / k
    printf "  ratio accounts-only apply/ldapadd: %.2fx (the tool\x27s own LDAP pace; no target)\n", (n / k) / (n / a)
  }'
  if (( shell_done )); then
    awk -v n="$E2E_SITES" -v t="$t_tool" -v sn="$SHELL_SITES" -v s="$t_shell" 'BEGIN {
      printf "  %-66s %9.3f s %8.1f sites/s (%d sites, once)\n", "anchor: shell loop (samba-tool, smbclient, smbcacls, xmlstarlet)", s, sn / s, sn
      printf "  ratio tool / shell loop: %.1fx\n", (n / t) / (sn / s)
    }'
  elif (( SHELL_SITES )); then
    echo "  anchor: shell loop: FAILED (see above), no figure"
  fi
  echo "  provision --timings, summed over the $ROUNDS rounds:"
  timings_table "$WORK/e2e.timings.sum"
fi
if (( nightly_done )); then
  echo "part 2: nightly convergence, plain apply of $NIGHTLY_SITES AD-identity sites ($((NIGHTLY_SITES * 3)) folders, $((NIGHTLY_SITES * 3 * FILES)) files), nothing to change"
  printf '  runs (s): %s\n' "$(paste -sd' ' "$WORK/nightly.times")"
  med=$(median <"$WORK/nightly.times")
  awk -v m="$med" -v n="$NIGHTLY_SITES" -v tgt="$NIGHTLY_TARGET" \
      -v lo="$(sort -g "$WORK/nightly.times" | head -n 1)" -v hi="$(sort -g "$WORK/nightly.times" | tail -n 1)" 'BEGIN {
    printf "  median %.3f s (min %.3f, max %.3f) = %.1f sites/s   target <= %d s: %s\n", m, lo, hi, n / m, tgt, (m <= tgt ? "met" : "NOT met")
  }'
  echo "  provision --timings, median of the $NIGHTLY_RUNS runs:"
  timings_table "$WORK/nightly.timings.med"
fi
(( nfail == 0 )) || exit 1
exit 0
