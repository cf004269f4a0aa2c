#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/integration/ldap/run.sh: the ldap/ module against a real AD DC.
# Starts a throwaway lab (tests/lab/lab.sh) in a mktemp directory, builds the
# driver tests/integration/ldap/ldap_it.c (or uses $LDAP_IT_BIN), prepares a
# few objects with ldapadd (an unmarked account, two groups), a CA that does
# not match and a Kerberos ticket, then runs the driver's phases inside the
# lab's namespaces: account life cycle, default password policy, collisions
# with unmarked accounts, hostile names and DN escaping, groups and
# roll-back, bind errors, TLS errors and StartTLS, GSSAPI, adoption
# (accounts and groups made with samba-tool: Domain Admins, nesting, a custom
# group, the OU, built-in and computer accounts), the replication wait (the
# lab's DC by its URI, an account it lacks, an unreachable DC, failures not
# retried), a frozen DC (timeout) and a stopped DC (unreachable). Needs root. A lab that does not
# start is a FAILURE, never a skip. One line per check; ends with
# "N passed, M failed"; exit 1 on any failure. The lab is always stopped.
#
# The stopped-DC check stops the DC process (samba) rather than calling
# `lab.sh stop`: stop ends every process in the lab's namespaces, the driver
# included, and the point is what the driver sees when its DC goes away.
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
LAB="$REPO/tests/lab/lab.sh"

npass=0
nfail=0
pass() { printf 'PASS %s\n' "$*"; npass=$((npass + 1)); }
fail() { printf 'FAIL %s\n' "$*"; nfail=$((nfail + 1)); }

WORK=$(mktemp -d /tmp/ldap_it.XXXXXX)
chmod 755 "$WORK" # the lab below it must be reachable (lab.sh checks)
LABDIR="$WORK/lab"
LAB_STARTED=0

# The last line printed is always the summary, whatever happens; notes go
# to stderr.
# shellcheck disable=SC2317  # called through trap
finish() {
  local rc=$?
  if (( LAB_STARTED )) && [[ -f $LABDIR/lab/holder.pid ]]; then
    if ! "$LAB" stop "$LABDIR" >/dev/null 2>&1; then
      fail "cleanup: lab stop failed for $LABDIR"
    fi
  fi
  (( rc == 0 || nfail > 0 )) || fail "run.sh ended early (exit $rc)"
  if (( nfail == 0 )) && [[ -z ${LDAP_IT_KEEP:-} ]]; then
    rm -rf "$WORK"
  else
    echo "work directory kept for inspection: $WORK" >&2
  fi
  echo "$npass passed, $nfail failed"
  (( nfail == 0 )) || exit 1
  exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

summary() { exit 0; }

[[ $(id -u) -eq 0 ]] || { fail "run.sh needs root (the lab uses namespaces and mounts)"; summary; }

# ------------------------------------------------------------------ build
if [[ -n ${LDAP_IT_BIN:-} ]]; then
  IT=$LDAP_IT_BIN
  if [[ -x $IT ]]; then pass "driver given: $IT"; else fail "LDAP_IT_BIN=$IT is not executable"; summary; fi
else
  # the project's own build (scripts/build.sh) has every test driver
  if "$REPO/scripts/build.sh" >"$WORK/build.log" 2>&1; then
    IT="$REPO/build/normal/bin/ldap_it"
    pass "build the driver (ldap_it)"
  else
    fail "build the driver (see $WORK/build.log)"
    tail -n 20 "$WORK/build.log" | sed 's/^/      | /'
    summary
  fi
fi

# ------------------------------------------------------------------ lab
if "$LAB" start "$LABDIR" >"$WORK/lab-start.log" 2>&1; then
  LAB_STARTED=1
  pass "lab started ($(grep -o "ready in [0-9.]* s" "$WORK/lab-start.log"))"
else
  LAB_STARTED=1
  fail "lab did not start (this is a failure, not a skip)"
  tail -n 25 "$WORK/lab-start.log" | sed 's/^/      | /'
  summary
fi
set -a
# shellcheck disable=SC1091
source "$LABDIR/lab.env"
set +a
in_lab() { "$LAB" exec "$LABDIR" -- "$@"; }

# ------------------------------------------------------------------ fixtures
ldapadd_admin() {
  LDAPTLS_CACERT=$LAB_CA LDAPTLS_REQCERT=demand in_lab ldapadd -o nettimeout=10 \
    -H "$LAB_LDAPS_URI" -x -D "$LAB_ADMIN_DN" -y "$LAB_ADMIN_PASSWORD_FILE"
}
prepare() {
  local pw
  pw=$(printf '"%s"' 'Unmarked-Pass-123' | iconv -t UTF-16LE | base64 -w0)
  ldapadd_admin <<EOF
dn: CN=IUSR_it_unmarked,$LAB_SITES_OU
objectClass: user
sAMAccountName: IUSR_it_unmarked
userAccountControl: 66048
unicodePwd:: $pw

dn: CN=IT_Sites,OU=Hosting,$LAB_BASE_DN
objectClass: group
sAMAccountName: IT_Sites

dn: CN=IT_Gone,OU=Hosting,$LAB_BASE_DN
objectClass: group
sAMAccountName: IT_Gone
EOF
}
if out=$(prepare 2>&1); then
  pass "ldapadd: an unmarked account IUSR_it_unmarked and groups IT_Sites, IT_Gone"
else
  fail "ldapadd of the fixtures: $out"
fi

# Adoption: accounts and groups made the way an administrator would, with
# samba-tool on the DC: a Domain Admins member, a member of a custom group,
# a member of Domain Admins through a nested group, a plain user, all in the
# sites' OU, and a plain user outside it. The driver checks what the real
# tokenGroups say about each.
export IT_ADOPT_PASSWORD="Adopt-Passw0rd-it-7"
adopt_fixtures() {
  local sam="$LAB_DIR/private/sam.ldb" u
  for u in IUSR_it_admin IUSR_it_pool IUSR_it_nested IUSR_it_plain; do
    in_lab samba-tool user create "$u" "$IT_ADOPT_PASSWORD" --userou=OU=Sites,OU=Hosting -H "$sam" || return 1
  done
  in_lab samba-tool user create IUSR_it_away "$IT_ADOPT_PASSWORD" --userou=OU=Hosting -H "$sam" &&
  in_lab samba-tool group add IT_WebPools --groupou=OU=Hosting -H "$sam" &&
  in_lab samba-tool group add IT_Helpdesk --groupou=OU=Hosting -H "$sam" &&
  in_lab samba-tool group addmembers "Domain Admins" IUSR_it_admin,IT_Helpdesk -H "$sam" &&
  in_lab samba-tool group addmembers IT_WebPools IUSR_it_pool -H "$sam" &&
  in_lab samba-tool group addmembers IT_Helpdesk IUSR_it_nested -H "$sam"
}
if out=$(adopt_fixtures 2>&1); then
  pass "samba-tool: IUSR_it_admin in Domain Admins, IUSR_it_pool in IT_WebPools, IUSR_it_nested through IT_Helpdesk, IUSR_it_plain, IUSR_it_away"
else
  fail "samba-tool fixtures for adoption: $out"
fi

if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/bad-ca.key" -out "$WORK/bad-ca.pem" \
     -subj "/CN=Not the lab CA" -days 1 >/dev/null 2>&1; then
  pass "a throwaway CA that did not sign the DC's certificate"
else
  fail "openssl could not make a throwaway CA"
fi

export KRB5_CONFIG=$LAB_KRB5_CONFIG KRB5CCNAME=$LAB_KRB5CCNAME
if in_lab kinit "$LAB_ADMIN_PRINCIPAL" <"$LAB_ADMIN_PASSWORD_FILE" >/dev/null 2>&1; then
  pass "kinit $LAB_ADMIN_PRINCIPAL (password on stdin)"
else
  fail "kinit $LAB_ADMIN_PRINCIPAL"
fi

( umask 022; cp "$LAB_ADMIN_PASSWORD_FILE" "$WORK/loose.password"; chmod 0644 "$WORK/loose.password" )
export IT_BAD_CA="$WORK/bad-ca.pem"
export IT_WRONG_PASSWORD="not-the-password-1A"
IT_ADMIN_PASSWORD=$(<"$LAB_ADMIN_PASSWORD_FILE")
export IT_ADMIN_PASSWORD
export IT_LOOSE_PASSWORD_FILE="$WORK/loose.password"
export IT_EMPTY_CCACHE="FILE:$WORK/no-such-ccache"

# A sanitizer-built driver: third-party leaks we cannot fix (see the file).
export LSAN_OPTIONS="suppressions=$HERE/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# ------------------------------------------------------------------ phases
# Counts the driver's PASS/FAIL lines; a crash or an exit without a FAIL
# line is a failure of its own.
count_output() {
  local phase=$1 rc=$2 file=$3 err=$4 p f
  grep -E '^(PASS|FAIL) ' "$file"
  p=$(grep -c '^PASS ' "$file")
  f=$(grep -c '^FAIL ' "$file")
  npass=$((npass + p))
  nfail=$((nfail + f))
  if (( rc > 128 )); then
    fail "phase $phase: the driver died of signal $((rc - 128))"
  elif (( rc != 0 && f == 0 )); then
    fail "phase $phase: the driver exited with $rc"
  elif (( p == 0 && f == 0 )); then
    fail "phase $phase: the driver printed no result"
  fi
  if (( rc != 0 )); then
    sed 's/^/      stderr| /' "$err" | tail -n 40
  fi
}

for phase in lifecycle policy collide hostile groups bind tls gssapi adopt replica; do
  in_lab "$IT" "$phase" >"$WORK/$phase.out" 2>"$WORK/$phase.err"
  rc=$?
  count_output "$phase" "$rc" "$WORK/$phase.out" "$WORK/$phase.err"
  if [[ $phase == tls ]]; then
    if grep -q '^warning: ldap: certificate checks are OFF for dc1.lab.test' "$WORK/$phase.err"; then
      pass "tls_insecure printed its warning on stderr"
    else
      fail "tls_insecure printed no warning on stderr"
    fi
  fi
done

# dc_phase PHASE ACTION: runs the driver, waits for READY, does ACTION to
# the DC, then lets the driver go on.
dc_phase() {
  local phase=$1 action=$2 fifo="$WORK/$1.fifo" pid i rc
  mkfifo "$fifo"
  in_lab "$IT" "$phase" <"$fifo" >"$WORK/$phase.out" 2>"$WORK/$phase.err" &
  pid=$!
  exec 9>"$fifo"
  for (( i = 0; i < 150; i++ )); do
    grep -q '^READY$' "$WORK/$phase.out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q '^READY$' "$WORK/$phase.out"; then
    "$action"
    echo go >&9
  fi
  exec 9>&-
  wait "$pid"
  rc=$?
  count_output "$phase" "$rc" "$WORK/$phase.out" "$WORK/$phase.err"
}

# shellcheck disable=SC2317  # called through dc_phase
freeze_dc() { kill -STOP "$LAB_SAMBA_PID"; }
# shellcheck disable=SC2317
stop_dc() {
  kill -TERM "$LAB_SAMBA_PID"
  local i
  for (( i = 0; i < 100; i++ )); do
    kill -0 "$LAB_SAMBA_PID" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "run.sh: samba $LAB_SAMBA_PID still running after 10 s" >&2
}

# The DC frozen (SIGSTOP, continued afterwards), then terminated.
dc_phase dc-freeze freeze_dc
kill -CONT "$LAB_SAMBA_PID" 2>/dev/null || true

dc_phase dc-stop stop_dc

# ------------------------------------------------------------------ stop
if "$LAB" stop "$LABDIR" >"$WORK/lab-stop.log" 2>&1; then
  pass "lab stopped, nothing left in its namespaces"
else
  fail "lab stop"
  sed 's/^/      | /' "$WORK/lab-stop.log"
fi
LAB_STARTED=0
summary
