# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Sourced (after lab-test.sh's lab_test_begin and recovery-lib.sh's
# rec_setup) by test_faults.sh: faults done to the lab while provision runs,
# and the checks that close every case.
#   f_timeouts SECONDS       [directory], [content] and [iis] timeout in provision.ini
#   f_bg_apply [ARGS...]     starts `provision apply ARGS sites.ini` in the
#                            background (output in $work/out), sets bg
#   f_bg_wait [LIMIT]        waits for it (killing it after LIMIT s, default
#                            180); sets rc and took (seconds, 2 decimals)
#   f_wait_journal RE N [LIMIT]
#                            waits until the running journal holds N records
#                            matching the extended regex RE (0 when it did)
#   f_samba_pids             the lab's AD DC processes (comm "samba")
#   f_stop_samba_at_hook     once the background run stopped itself (a
#                            stop:POINT:N hook), SIGSTOPs samba and lets the
#                            run go on; sets stopped (samba's pids, empty
#                            when the run never stopped)
#   f_settle LABEL           after the fault is lifted: `provision recover`,
#                            no journal left, no temp file beside the config,
#                            every site whole or absent (rec_classify)
#   f_converge LABEL         apply gives N whole sites, destroy --remove-folders
#                            gives the fixture's bytes back, no IUSR_r account,
#                            no site folder, no journal, no temp file
# Cases never wait for a fixed time when they can wait for an event: the
# machine may be loaded (2 cores, other labs running).

f_timeouts() {
  local t=$1 ini=$work/provision.ini
  sed -i -e "/^password_file = /a timeout = $t" -e "/^location = /a timeout = $t" "$ini"
  case $(sed -n 's/^config = //p' "$ini") in smb://*) sed -i "/^config = /a timeout = $t" "$ini" ;; esac
}

f_bg_apply() {
  rm -f "$work/bg.pid"
  # shellcheck disable=SC2016 # $$ and $0 belong to the inner sh
  in_lab sh -c 'echo $$ >"$0"; exec "$@"' "$work/bg.pid" \
    env PROVISION_STATE_DIR="$STATE" ${HOOK:+PROVISION_TEST_HOOK=$HOOK} "$P" \
    -c "$work/provision.ini" "$@" apply "$work/sites.ini" >"$work/out" 2>&1 &
  bg=$!
  bg_t0=${EPOCHREALTIME/./}
}

# The provision process itself (the sh above became it), if it still runs.
f_bg_pid() {
  local pid
  pid=$(cat "$work/bg.pid" 2>/dev/null) || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$P")" ] && echo "$pid"
}

f_stop_samba_at_hook() {
  local run_pid=""
  stopped=""
  for _ in $(seq 1 600); do
    run_pid=$(f_bg_pid) && [ "$(awk '{print $3}' "/proc/$run_pid/stat" 2>/dev/null)" = T ] && break
    run_pid=""
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$run_pid" ] || return 0
  stopped=$(f_samba_pids)
  # shellcheck disable=SC2086
  [ -n "$stopped" ] && kill -STOP $stopped
  kill -CONT "$run_pid"
}

f_bg_wait() {
  local limit=${1:-180} i pid
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$bg" 2>/dev/null; then
    echo "     note: provision still running after ${limit}s: killed (SIGKILL)"
    pid=$(f_bg_pid) && kill -KILL "$pid"
  fi
  wait "$bg"
  rc=$?
  local us=$((${EPOCHREALTIME/./} - bg_t0))
  took=$(printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)))
}

f_wait_journal() {
  local re=$1 n=$2 limit=${3:-120} i j
  for ((i = 0; i < limit * 50; i++)); do
    for j in "$STATE"/journals/*.journal; do
      [ -f "$j" ] || continue
      [ "$(grep -cE "$re" "$j" 2>/dev/null)" -ge "$n" ] && return 0
    done
    kill -0 "$bg" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}

f_samba_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$LAB_NETNS_ID" ] || continue
    [ "$(cat "$p/comm" 2>/dev/null)" = samba ] && echo "${p#/proc/}"
  done
}

f_accounts() { # the IUSR_r* accounts in AD, one a line (as Administrator)
  in_lab ldapsearch -LLL -o ldif-wrap=no -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" \
    -y "$LAB_ADMIN_PASSWORD_FILE" -b "$LAB_BASE_DN" '(sAMAccountName=IUSR_r*)' sAMAccountName 2>&1 |
    awk '/^sAMAccountName:/ { print $2 }'
}

# Temp files of provision beside the config: ".NAME.provision-XXXXXX" (local)
# or ".NAME.provision-tmp-PID-N" (smb://); a case whose config folder is
# not visible from here redefines it.
f_temp_files() {
  local f
  for f in "$(dirname "$CFG")"/.*.provision-*; do
    [ -e "$f" ] && printf '%s\n' "${f##*/}"
  done
  return 0
}

# Called after each provision run of f_settle and f_converge: a case whose
# config is not readable from here (in the lab's mount namespace only)
# redefines it to copy the file to $CFG.
f_cfg_refresh() { :; }

f_settle() {
  local label=$1 out rcv
  out=$(HOOK='' prov recover 2>&1); rcv=$?
  f_cfg_refresh
  [ $rcv -eq 0 ] || bad "$label: provision recover (rc $rcv): $(tail -3 <<<"$out")"
  if [ -n "$(ls -A "$STATE/journals" 2>/dev/null)" ]; then
    bad "$label: a journal is left after recover: $(ls "$STATE/journals")"
  fi
  local tmp
  tmp=$(f_temp_files)
  [ -z "$tmp" ] || bad "$label: temp files beside the config: $tmp"
  rec_classify
  if [ "$half" -eq 0 ]; then
    ok "$label: after recover $whole whole, $absent absent, 0 half; no journal, no temp file"
  else
    bad "$label: $whole whole, $absent absent, $half half:$half_list"
  fi
}

f_converge() {
  local label=$1 out r left
  out=$(HOOK='' prov apply "$work/sites.ini" 2>&1); r=$?
  f_cfg_refresh
  rec_classify
  if [ $r -ne 0 ] || [ "$whole" -ne "$N" ]; then
    bad "$label: re-apply (rc $r): $whole of $N whole:$half_list $(tail -3 <<<"$out")"
  fi
  out=$(HOOK='' prov destroy --remove-folders "$work/sites.ini" 2>&1); r=$?
  f_cfg_refresh
  left=$(f_accounts | wc -l)
  if [ $r -eq 0 ] && rec_config_pristine && [ "$left" -eq 0 ] &&
    [ -z "$(ls -A "$LAB_SITES_PATH")" ] && [ -z "$(ls -A "$STATE/journals")" ] && [ -z "$(f_temp_files)" ]; then
    ok "$label: re-apply made all $N whole; destroy gave the fixture's bytes back, no account, folder or journal left"
  else
    bad "$label: destroy (rc $r): pristine=$(rec_config_pristine && echo yes || echo no) accounts=$left" \
      "folders=$(ls -A "$LAB_SITES_PATH" | head -3 | tr '\n' ' ') journals=$(ls "$STATE/journals") $(tail -3 <<<"$out")"
  fi
}

# Packet drops inside the lab's network namespace (nftables; this kernel has
# no netem). Everything the lab serves goes over its loopback, so the output
# hook sees both directions: "tcp dport 445" is the client's requests to SMB,
# "tcp sport 445" the server's answers.
#   f_drop RULE...   e.g. f_drop "tcp dport { 445, 636 }" "tcp sport { 445, 636 }"
#   f_undrop
f_drop() {
  local r rules=""
  for r in "$@"; do rules+="    $r drop"$'\n'; done
  in_lab nft -f - <<EON
table inet provision_fault {
  chain out {
    type filter hook output priority 0; policy accept;
$rules  }
}
EON
}
f_undrop() { in_lab nft delete table inet provision_fault 2>/dev/null || true; }

# Waits (up to LIMIT s, default 90) until no TCP connection in the lab has
# data queued: requests or answers held back by a drop are then delivered
# (or given up), so what the server did is final.
f_tcp_drained() {
  local limit=${1:-90} i
  for ((i = 0; i < limit * 5; i++)); do
    [ -z "$(in_lab ss -Htn 2>/dev/null | awk '$2 > 0 || $3 > 0')" ] && return 0
    sleep 0.2
  done
  return 1
}
