#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/bench/bench_ldap.sh: account creation through ldap/ against the
# ldapadd anchor, in one throwaway lab (tests/lab/lab.sh). Creates N (500)
# accounts through the module (dir_create_accounts: up to 16 operations in
# flight on one LDAPS connection, each account = one add + one read-back of
# SID/GUID), then N other accounts with the same attributes (unicodePwd
# included) by `ldapadd -f` over one LDAPS connection, prints both rates and
# the ratio, deletes every account again and stops the lab.
#   N=500        accounts per side
#   ROUNDS=5     split each side into ROUNDS alternating slices (module slice,
#                then ldapadd slice, ...): on a shared machine both sides then
#                see the same background load; the totals are compared.
#                ROUNDS=1: all 500 through the module, then all 500 by ldapadd
# Also printed: the DC's CPU time per account and how busy the DC was
# (its CPU time / wall time) on each side: both sides are bound by the DC.
#   SERIAL=1     also time the module one account at a time
#   BENCH_STRICT=1  exit 1 when the module is slower than ldapadd
#   BENCH_LDAP_BIN=path  use this bench_ldap instead of building one
# Needs root. A lab that does not start is a failure.
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
N=${N:-500}

WORK=$(mktemp -d /tmp/bench_ldap.XXXXXX)
chmod 755 "$WORK" # the lab below it must be reachable (lab.sh checks)
LABDIR="$WORK/lab"
STARTED=0
die() { echo "bench_ldap: error: $*" >&2; exit 1; }
finish() {
  if (( STARTED )) && [[ -f $LABDIR/lab/holder.pid ]]; then
    "$LAB" stop "$LABDIR" >/dev/null 2>&1 || echo "bench_ldap: STOP FAILED for $LABDIR" >&2
  fi
  rm -rf "$WORK"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP
[[ $(id -u) -eq 0 ]] || die "needs root (the lab uses namespaces)"

if [[ -n ${BENCH_LDAP_BIN:-} ]]; then
  BIN=$BENCH_LDAP_BIN
else
  # the project's own build (scripts/build.sh) has bench_ldap
  "$REPO/scripts/build.sh" >"$WORK/build.log" 2>&1 || { tail -n 20 "$WORK/build.log" >&2; die "build failed"; }
  BIN="$REPO/build/normal/bin/bench_ldap"
fi

STARTED=1
"$LAB" start "$LABDIR" >"$WORK/lab-start.log" 2>&1 || { tail -n 20 "$WORK/lab-start.log" >&2; die "the lab did not start"; }
set -a
# shellcheck disable=SC1091
source "$LABDIR/lab.env"
set +a
in_lab() { "$LAB" exec "$LABDIR" -- "$@"; }
export LDAPTLS_CACERT=$LAB_CA LDAPTLS_REQCERT=demand
ldap_admin() { in_lab "$1" -H "$LAB_LDAPS_URI" -x -D "$LAB_ADMIN_DN" -y "$LAB_ADMIN_PASSWORD_FILE" "${@:2}"; }
now() { printf '%s' "$EPOCHREALTIME"; }
# CPU time (clock ticks) the DC process has used so far
dc_ticks() { awk '{ print $14 + $15 }' "/proc/$LAB_SAMBA_PID/stat"; }
TCK=$(getconf CLK_TCK)
count() {  # accounts whose sAMAccountName starts with $1
  ldap_admin ldapsearch -LLL -o ldif-wrap=no -b "$LAB_SITES_OU" "(sAMAccountName=$1*)" 1.1 |
    grep -c '^dn: '
}

echo "bench_ldap: $N accounts per side in ${ROUNDS:-5} round(s), Samba AD DC in $LABDIR ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"

ROUNDS=${ROUNDS:-5}
(( ROUNDS >= 1 && N % ROUNDS == 0 )) || die "N ($N) must be a multiple of ROUNDS ($ROUNDS)"
SLICE=$(( N / ROUNDS ))
m_s=0 l_s=0 m_cpu=0 l_cpu=0
: >"$WORK/module.dns"
: >"$WORK/ldapadd.dns"
for (( r = 0; r < ROUNDS; r++ )); do
  # 1. the module: one dir_create_accounts call per slice
  c0=$(dc_ticks)
  out=$(in_lab "$BIN" create "$SLICE" "IUSR_bm${r}_" "$WORK/module.$r.dns") ||
    die "module create failed: $out"
  m_cpu=$(( m_cpu + $(dc_ticks) - c0 ))
  read -r _ n s <<<"$out"
  [[ $n == "$SLICE" ]] || die "module created $n of $SLICE"
  m_s=$(awk -v a="$m_s" -v b="$s" 'BEGIN { printf "%.3f", a + b }')
  cat "$WORK/module.$r.dns" >>"$WORK/module.dns"

  # 2. ldapadd, same attributes, one LDAPS connection per slice
  ( umask 077; "$BIN" ldif "$SLICE" "IUSR_la${r}_" >"$WORK/ldapadd.ldif" )
  c0=$(dc_ticks)
  t0=$(now)
  ldap_admin ldapadd -f "$WORK/ldapadd.ldif" >/dev/null || die "ldapadd failed"
  t1=$(now)
  l_cpu=$(( l_cpu + $(dc_ticks) - c0 ))
  l_s=$(awk -v a="$l_s" -v b="$t0" -v c="$t1" 'BEGIN { printf "%.3f", a + c - b }')
  sed -n 's/^dn: //p' "$WORK/ldapadd.ldif" >>"$WORK/ldapadd.dns"
done
l_n=$(count IUSR_la)
[[ $l_n == "$N" ]] || die "ldapadd created $l_n of $N"

if [[ ${SERIAL:-0} == 1 ]]; then
  out=$(in_lab "$BIN" serial "$N" IUSR_bs "$WORK/serial.dns") || die "serial create failed: $out"
  read -r _ s_n s_s <<<"$out"
fi

awk -v n="$N" -v m="$m_s" -v l="$l_s" -v mc="$m_cpu" -v lc="$l_cpu" -v hz="$TCK" 'BEGIN {
  printf "module  (dir_create_accounts, pipelined): %d accounts in %.2f s = %.1f accounts/s (DC: %.1f ms CPU/account, busy %.0f%%)\n", n, m, n / m, 1000 * mc / hz / n, 100 * mc / hz / m
  printf "ldapadd (one LDAPS connection):           %d accounts in %.2f s = %.1f accounts/s (DC: %.1f ms CPU/account, busy %.0f%%)\n", n, l, n / l, 1000 * lc / hz / n, 100 * lc / hz / l
  printf "ratio module/ldapadd: %.2fx (target >= 1.0x)\n", (n / m) / (n / l)
}'
if [[ ${SERIAL:-0} == 1 ]]; then
  awk -v n="$s_n" -v s="$s_s" 'BEGIN { printf "module, one at a time (dir_create_account): %d accounts in %.2f s = %.1f accounts/s\n", n, s, n / s }'
fi

# 3. clean up: every account created above
dnfiles=("$WORK/module.dns" "$WORK/ldapadd.dns")
[[ ${SERIAL:-0} == 1 ]] && dnfiles+=("$WORK/serial.dns")
cat "${dnfiles[@]}" >"$WORK/all.dns"
t0=$(now)
ldap_admin ldapdelete -c -f "$WORK/all.dns" >/dev/null 2>"$WORK/delete.err"
t1=$(now)
left=$(( $(count IUSR_bm) + $(count IUSR_la) + $(count IUSR_bs) ))
echo "cleanup: deleted $(wc -l <"$WORK/all.dns") accounts in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; $left left"
(( left == 0 )) || die "cleanup left $left accounts"

"$LAB" stop "$LABDIR" >/dev/null 2>&1 || die "lab stop failed"
STARTED=0
if [[ ${BENCH_STRICT:-0} == 1 ]] && awk -v m="$m_s" -v l="$l_s" 'BEGIN { exit !(m > l) }'; then
  die "the module is slower than ldapadd"
fi
