#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Account creation through the tool: N (500) AD-identity sites applied with
# `provision apply` (each: a look-up, an account created in one add with its
# password - pipelined on one LDAPS connection -, its pool and site in
# applicationHost.config), against the anchor, `ldapadd -f` of N other
# accounts with the same attributes over one LDAPS connection, in the same
# lab run. ROUNDS (5) alternating slices, so both sides see the same load.
# Prints both rates (accounts/s) and the ratio (target >= 1.0x).
# Usage: bench_accounts.sh [BUILD_DIR]. Needs root.
set -uo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build/normal}
[ -x "$build/bin/provision" ] || "$repo/scripts/build.sh" "$build" >/dev/null
P=$build/bin/provision
BIN=$build/bin/bench_ldap
LAB=$repo/tests/lab/lab.sh
N=${N:-500}
ROUNDS=${ROUNDS:-5}
SLICE=$((N / ROUNDS))
work=$(mktemp -d /tmp/bench_accounts.XXXXXX)
chmod 755 "$work"
lab=$work/lab
finish() { "$LAB" stop "$lab" >/dev/null 2>&1; rm -rf "$work"; }
trap finish EXIT
export PROVISION_STATE_DIR=$work/state # the journal is part of the cost
die() { echo "bench_accounts: $*" >&2; exit 1; }
"$LAB" start "$lab" >"$work/start.log" 2>&1 || { tail -20 "$work/start.log"; die "the lab did not start"; }
set -a # bench_ldap's LDIF generator reads the lab's variables
# shellcheck disable=SC1091
source "$lab/lab.env"
set +a
export LDAPTLS_CACERT=$LAB_CA
in_lab() { "$LAB" exec "$lab" -- "$@"; }
mkdir -p "$work/iis"
cp "$repo/tests/fixtures/applicationHost.server2016-default.config" "$work/iis/applicationHost.config"
# shellcheck source=../lab/provision-conf.sh
source "$repo/tests/lab/provision-conf.sh"
lab_provision_conf "$repo" "$work/iis/applicationHost.config" "" "[iis]" "backups = 1" \
  > "$work/provision.ini"
now() { printf '%s' "$EPOCHREALTIME"; }
t_tool=0 t_add=0
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < SLICE; i++)); do
    printf '[site s%d-%03d.example.com]\ntemplate = ad-identity\nid = s%d%03d\n' "$r" "$i" "$r" "$i"
  done > "$work/sites.$r.ini"
  t0=$(now)
  in_lab "$P" -q -c "$work/provision.ini" apply "$work/sites.$r.ini" || die "provision apply failed"
  t1=$(now)
  t_tool=$(awk -v a="$t_tool" -v b="$t0" -v c="$t1" 'BEGIN { printf "%.3f", a + c - b }')
  (umask 077; in_lab "$BIN" ldif "$SLICE" "IUSR_la${r}_" > "$work/add.ldif") || die "no LDIF"
  [ "$(grep -c '^dn: ' "$work/add.ldif")" = "$SLICE" ] || die "the LDIF does not hold $SLICE accounts"
  t0=$(now)
  in_lab ldapadd -H "$LAB_LDAPS_URI" -x -D "$LAB_ADMIN_DN" -y "$LAB_ADMIN_PASSWORD_FILE" \
    -f "$work/add.ldif" >/dev/null || die "ldapadd failed"
  t1=$(now)
  t_add=$(awk -v a="$t_add" -v b="$t0" -v c="$t1" 'BEGIN { printf "%.3f", a + c - b }')
done
made=$(in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -x -D "$LAB_ADMIN_DN" -y "$LAB_ADMIN_PASSWORD_FILE" \
  -b "$LAB_SITES_OU" "(&(sAMAccountName=IUSR_s*)(adminDescription=provision:site=*))" 1.1 | grep -c '^dn: ')
[ "$made" = "$N" ] || die "the tool made $made accounts, not $N"
added=$(in_lab ldapsearch -LLL -H "$LAB_LDAPS_URI" -x -D "$LAB_ADMIN_DN" -y "$LAB_ADMIN_PASSWORD_FILE" \
  -b "$LAB_SITES_OU" "(sAMAccountName=IUSR_la*)" 1.1 | grep -c '^dn: ')
[ "$added" = "$N" ] || die "ldapadd made $added accounts, not $N"
awk -v n="$N" -v t="$t_tool" -v a="$t_add" 'BEGIN {
  printf "provision apply (%d AD-identity sites): %.2f s = %.1f accounts/s\n", n, t, n / t
  printf "ldapadd (one LDAPS connection):        %.2f s = %.1f accounts/s (anchor)\n", a, n / a
  printf "ratio tool/ldapadd: %.2fx (target >= 1.0x)\n", (n / t) / (n / a)
}'
