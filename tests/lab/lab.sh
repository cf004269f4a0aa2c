#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/lab/lab.sh: the throwaway "lab domain" for provision's integration
# tests. A real Samba AD DC (realm LAB.TEST, NetBIOS LAB, host dc1) that is
# also an SMB file server with NT ACL enforcement, running in its own network,
# mount and UTS namespaces with every file, pid, socket and log under one DIR.
#
#   lab.sh start  DIR          provision + start, write DIR/lab.env
#   lab.sh stop   DIR          stop everything started for DIR (idempotent)
#   lab.sh exec   DIR -- CMD   run CMD inside the lab's namespaces
#   lab.sh status DIR          exit 0 running, 3 stopped, 1 half-running
#   lab.sh restart-dc DIR      kill what is left of samba (smbd, winbindd...)
#                              and start it again in the same namespaces, the
#                              same database (a DC that died comes back)
#
# Facts behind the design: the samba-tool(8), smb.conf(5) and unshare(1)
# manual pages.
#
# Decisions:
# * Namespaces: one holder process, `unshare --net --mount --uts
#   --propagation private`, that sets the host name to dc1, brings lo up,
#   bind-mounts DIR/run/samba over /run/samba (so smbd's compiled-in winbindd
#   pipe /run/samba/winbindd/pipe, and every other compiled-in /run/samba
#   path, is per run, and nothing is written under the host's /run/samba) and
#   DIR/lab/hosts over /etc/hosts (dc1.lab.test -> 127.0.0.1), then sleeps.
#   samba and every client enter it with `nsenter --target HOLDER --net
#   --mount --uts`. The host name matters: libldap asks Kerberos for
#   ldap/<local host name> when it is connected to a loopback address.
#   Nothing is mounted in the host's mount namespace and nothing appears
#   under /run/netns: the namespaces live exactly as long as the processes in
#   them, so stopping the processes removes them. There is no name for
#   `ip netns exec`; use `lab.sh exec` (or $LAB_NSENTER from lab.env).
# * Admin password: 24 random [A-Za-z0-9] characters from /dev/urandom,
#   written only to DIR/lab/admin.password (0600, no trailing newline, the
#   form `ldapsearch -y` expects). `samba-tool domain provision` runs WITHOUT
#   --adminpass (it then picks its own random password, which we redact from
#   the provision log), and lab-offline-setup.py sets ours on the offline
#   sam.ldb, reading it from the file. So no argv ever holds the password.
# * Processes: stop acts on pids only, each checked to be in the lab's network
#   namespace (inode recorded at start) right before it is signalled, so a
#   reused pid is never hit. Every process found in the lab's namespaces is
#   the lab's: samba and its children, the holder, and any client still
#   running under `lab.sh exec` (those would keep the namespace alive; stop
#   terminates them too and names them). The kernel lets go of a namespace
#   after its last process is gone, not at once: stop waits (up to
#   $LAB_NS_WAIT s, default 30) until lsns no longer lists it.
# * /run/samba (the mount point above) is made when it is missing (a
#   container, or /run emptied by a restart without systemd): an empty
#   folder 0755 root, as the samba package's tmpfiles rule makes it.
# * The operator: a least-privilege account, provision-op, that the
#   integration tests' provision runs use (README, "Least-privilege operator
#   account"). Created offline with its own random password
#   (DIR/lab/operator.password and DIR/lab/operator.smb.auth, 0600, never in
#   argv). In AD: create and delete user objects directly in the Sites OU,
#   reset the password of and read adminDescription on users below it (ACEs
#   on the OU, as `samba-tool dsacl set` adds them). On SMB: one ACE on the
#   [sites] root and one on the IIS config folder of [iis] (Modify +
#   WRITE_DAC + WRITE_OWNER, this folder, subfolders and files), set with
#   smbcacls as Administrator once samba answers. It is also a member of
#   BUILTIN\Administrators because the tool's isolation keeps only
#   Administrators and SYSTEM in a site's folder (a finding, see the
#   README): LAB_OPERATOR_ADMIN=0 at start leaves that out.
set -euo pipefail
export LC_ALL=C

LAB_SH=$(readlink -f "${BASH_SOURCE[0]}")
LAB_HERE=$(dirname "$LAB_SH")
REPO_ROOT=$(cd "$LAB_HERE/../.." && pwd)
FIXTURE="$REPO_ROOT/tests/fixtures/applicationHost.server2016-default.config"
APPHOST_REL="Windows/System32/inetsrv/config/applicationHost.config"

REALM=LAB.TEST
DNSDOMAIN=lab.test
NETBIOS=LAB
HOSTNAME_SHORT=dc1
HOST_FQDN="$HOSTNAME_SHORT.$DNSDOMAIN"
BASE_DN="DC=lab,DC=test"
SITES_OU="OU=Sites,OU=Hosting,$BASE_DN"
ADMIN_DN="CN=Administrator,CN=Users,$BASE_DN"
ADMIN_UPN="Administrator@$DNSDOMAIN"
OP_USER=provision-op
OP_DN="CN=$OP_USER,CN=Users,$BASE_DN"
OP_UPN="$OP_USER@$DNSDOMAIN"
# An ACE mask: Modify (0x1301bf) + WRITE_DAC + WRITE_OWNER = 0x1f01bf.
OP_SMB_MASK=0x001f01bf

START_TIMEOUT=${LAB_START_TIMEOUT:-60}   # hard limit (s) before start gives up
READY_BUDGET=${LAB_READY_BUDGET:-15}     # target (s); exceeding it only warns
NS_WAIT=${LAB_NS_WAIT:-30}               # stop: how long (s) a namespace may linger

SAMBA=/usr/sbin/samba
PY=/usr/bin/python3   # samba's python modules live with the system python

msg() { printf 'lab: %s\n' "$*" >&2; }
die() { msg "error: $*"; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: lab.sh start  DIR
       lab.sh stop   DIR
       lab.sh exec   DIR -- CMD [ARGS...]
       lab.sh status DIR
       lab.sh restart-dc DIR
EOF
  exit 2
}

now() { printf '%s' "${EPOCHREALTIME/./}"; }          # microseconds
elapsed() { local us=$(( $(now) - $1 )); printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)); }

# ---------------------------------------------------------------- processes

# netns / mntns identifiers of a pid ("net:[4026532178]"), empty if gone.
ns_of() { readlink "/proc/$1/ns/$2" 2>/dev/null || true; }

# Start time (clock ticks since boot, field 22 of /proc/PID/stat): pid plus
# start time names one process for good, even if the pid is reused later.
start_time_of() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  local -a f
  read -r -a f <<<"$rest"
  printf '%s' "${f[19]}"
}

comm_of() { cat "/proc/$1/comm" 2>/dev/null || true; }

# All pids whose network or mount namespace is the lab's.
lab_pids() {
  local netns=$1 mntns=$2 p pid
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    if [[ -n $netns && $(ns_of "$pid" net) == "$netns" ]] ||
       [[ -n $mntns && $(ns_of "$pid" mnt) == "$mntns" ]]; then
      printf '%s\n' "$pid"
    fi
  done
}

# Append "pid starttime comm" for each pid to DIR/lab/pids (the record the
# integration test checks after stop).
record_pids() {
  local pid st
  for pid in "$@"; do
    st=$(start_time_of "$pid") || continue
    printf '%s %s %s\n' "$pid" "$st" "$(comm_of "$pid")" >>"$STATE/pids"
  done
}

# Signal a pid only if it is still in the lab's network or mount namespace.
signal_lab_pid() {
  local sig=$1 pid=$2
  if [[ $(ns_of "$pid" net) == "$NETNS_ID" || $(ns_of "$pid" mnt) == "$MNTNS_ID" ]]; then
    kill "-$sig" "$pid" 2>/dev/null || true
  fi
}

# Wait up to $1 seconds (tenths) until none of the given pids is in the lab.
wait_gone() {
  local tenths=$(( $1 * 10 )) pid alive
  shift
  while :; do
    alive=0
    for pid in "$@"; do
      if [[ $(ns_of "$pid" net) == "$NETNS_ID" || $(ns_of "$pid" mnt) == "$MNTNS_ID" ]]; then
        alive=1; break
      fi
    done
    (( alive == 0 )) && return 0
    (( tenths-- <= 0 )) && return 1
    sleep 0.1
  done
}

# lsns lists a namespace as long as something holds it; after the last
# process left, the kernel releases it asynchronously (on a loaded machine
# that is not instantaneous). wait_ns_gone INODE...: returns 0 once lsns lists
# none of them, or 1 after NS_WAIT seconds, printing the ones still listed.
ns_listed() { lsns -n -o NS 2>/dev/null | grep -qx " *$1"; }
wait_ns_gone() {
  local deadline ino left
  deadline=$(( $(now) + NS_WAIT * 1000000 ))
  while :; do
    left=()
    for ino in "$@"; do ns_listed "$ino" && left+=("$ino"); done
    (( ${#left[@]} == 0 )) && return 0
    if (( $(now) >= deadline )); then printf '%s\n' "${left[@]}"; return 1; fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- state

set_dir() {
  [[ -n ${1:-} ]] || usage
  DIR=$(readlink -m "$1")
  STATE="$DIR/lab"
  HOLDER_PID="" SAMBA_PID="" NETNS_ID="" MNTNS_ID=""
  if [[ -f $STATE/holder.pid ]]; then HOLDER_PID=$(<"$STATE/holder.pid"); fi
  if [[ -f $STATE/samba.pid ]]; then SAMBA_PID=$(<"$STATE/samba.pid"); fi
  if [[ -f $STATE/netns ]]; then NETNS_ID=$(<"$STATE/netns"); fi
  if [[ -f $STATE/mntns ]]; then MNTNS_ID=$(<"$STATE/mntns"); fi
}

# Holder pid is valid only while it still sits in the recorded namespace.
holder_alive() {
  [[ -n $HOLDER_PID && -n $NETNS_ID ]] && [[ $(ns_of "$HOLDER_PID" net) == "$NETNS_ID" ]]
}

in_lab() {
  holder_alive || die "no running lab in $DIR"
  nsenter --target "$HOLDER_PID" --net --mount --uts --wd="$PWD" -- "$@"
}

# ---------------------------------------------------------------- stop

do_stop() {
  if [[ -z $NETNS_ID && -z $MNTNS_ID ]]; then
    if [[ -n $HOLDER_PID ]]; then
      # holder died before it recorded its namespaces; its pid is ours only
      # if it still runs the holder command line for this DIR.
      local cmdline
      cmdline=$(tr '\0' ' ' <"/proc/$HOLDER_PID/cmdline" 2>/dev/null) || cmdline=""
      if [[ $cmdline == *lab-holder* && $cmdline == *"$DIR"* ]]; then
        kill -KILL "$HOLDER_PID" 2>/dev/null || true
      fi
    fi
    msg "stop: nothing running for $DIR"
    return 0
  fi
  local t0 pids=() others=() p
  t0=$(now)
  mapfile -t pids < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
  if (( ${#pids[@]} == 0 )); then
    msg "stop: nothing running for $DIR"
    rm -f "$STATE/holder.pid" "$STATE/samba.pid"
    return 0
  fi
  record_pids "${pids[@]}"

  # 1. samba's master first (on SIGTERM it stops smbd and winbindd), then
  #    at once everything else in the namespaces: samba-dcerpcd runs
  #    detached (parent 1, own session) and outlives the master otherwise,
  #    and clients left running under `lab.sh exec` would keep it all alive.
  if [[ -n $SAMBA_PID ]]; then
    signal_lab_pid TERM "$SAMBA_PID"
    signal_lab_pid CONT "$SAMBA_PID"
  fi
  for p in "${pids[@]}"; do [[ $p != "$HOLDER_PID" ]] && others+=("$p"); done
  local comm
  for p in "${others[@]}"; do
    [[ $p == "$SAMBA_PID" ]] && continue
    comm=$(comm_of "$p")
    [[ -n $comm ]] || continue   # already gone
    case $comm in
      samba*|smbd*|winbindd*|rpcd_*|tfork*|cleanupd*) ;;
      *) msg "stop: terminating pid $p ($comm) still running in the lab" ;;
    esac
    signal_lab_pid TERM "$p"
    signal_lab_pid CONT "$p"   # a test may have stopped it (SIGSTOP)
  done
  # 2. anything still there after 6 s (including processes forked since the
  #    list was taken) gets SIGKILL.
  if (( ${#others[@]} )) && ! wait_gone 6 "${others[@]}"; then
    mapfile -t pids < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
    record_pids "${pids[@]}"
    others=()
    for p in "${pids[@]}"; do [[ $p != "$HOLDER_PID" ]] && others+=("$p"); done
    for p in "${others[@]}"; do
      msg "stop: pid $p ($(comm_of "$p")) ignored SIGTERM, sending SIGKILL"
      signal_lab_pid KILL "$p"
    done
    wait_gone 3 "${others[@]}" || true
  fi
  # a process forked between the listing and the signals: one more sweep
  mapfile -t pids < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
  for p in "${pids[@]}"; do
    [[ $p == "$HOLDER_PID" ]] && continue
    record_pids "$p"
    signal_lab_pid KILL "$p"
    wait_gone 3 "$p" || true
  done

  # 3. unmount what the holder mounted (they would vanish with the mount
  #    namespace anyway; doing it explicitly makes a failure visible).
  if holder_alive; then
    nsenter --target "$HOLDER_PID" --mount -- umount /etc/hosts /run/samba 2>/dev/null ||
      msg "stop: note: umount inside the lab namespace failed (the namespace goes anyway)"
    # 4. the holder itself
    signal_lab_pid TERM "$HOLDER_PID"
    if ! wait_gone 3 "$HOLDER_PID"; then
      signal_lab_pid KILL "$HOLDER_PID"
      wait_gone 3 "$HOLDER_PID" || true
    fi
  fi

  # 5. verify
  local left=() bad=0
  mapfile -t left < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
  if (( ${#left[@]} )); then
    bad=1
    for p in "${left[@]}"; do msg "stop: STILL RUNNING pid $p ($(comm_of "$p"))"; done
  fi
  local ino inos=() lingering
  for ino in "$NETNS_ID" "$MNTNS_ID"; do
    ino=${ino##*[}; ino=${ino%]}
    [[ -n $ino ]] && inos+=("$ino")
  done
  if ! lingering=$(wait_ns_gone "${inos[@]}"); then
    bad=1
    for ino in $lingering; do msg "stop: namespace $ino still listed by lsns after ${NS_WAIT}s"; done
  fi
  if findmnt -rn -o TARGET,SOURCE | grep -F -- "$DIR" >&2; then
    bad=1; msg "stop: mounts referring to $DIR remain in the host namespace (above)"
  fi
  if (( bad )); then
    msg "stop: FAILED, something survived"
    return 1
  fi
  rm -f "$STATE/holder.pid" "$STATE/samba.pid"
  msg "stop: stopped in $(elapsed "$t0") s"
  return 0
}

# ---------------------------------------------------------------- start

gen_password() {
  local raw pw=""
  while :; do
    raw=$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9')
    pw=${raw:0:24}
    if [[ ${#pw} -eq 24 && $pw =~ [A-Z] && $pw =~ [a-z] && $pw =~ [0-9] ]]; then
      break
    fi
  done
  printf '%s' "$pw"
}

START_OK=0
start_cleanup() {
  local rc=$?
  (( START_OK )) && return 0
  msg "start FAILED (rc=$rc); cleaning up"
  local f
  for f in "$DIR/log/provision.log" "$DIR/log/holder.out" "$DIR/log/samba.out" \
           "$DIR/log/log.smbd" "$DIR/log/log.winbindd" "$DIR/log/log.samba"; do
    if [[ -s $f ]]; then
      printf -- '---- tail of %s ----\n' "$f" >&2
      tail -n 25 "$f" >&2
    fi
  done
  set_dir "$DIR"
  do_stop || msg "cleanup after failed start left something behind (see above)"
  exit 1
}

do_start() {
  local t0
  t0=$(now)
  [[ $(id -u) -eq 0 ]] || die "start needs root (namespaces, mounts, samba)"
  local cmd
  for cmd in samba-tool "$SAMBA" smbclient ldapsearch unshare nsenter ip findmnt lsns "$PY"; do
    command -v "$cmd" >/dev/null || die "missing $cmd (run scripts/install-deps.sh)"
  done
  [[ -d /usr/share/samba/setup/ad-schema ]] || die "samba-ad-provision is not installed (run scripts/install-deps.sh)"
  [[ -f $FIXTURE ]] || die "fixture missing: $FIXTURE"
  if [[ -e $DIR ]]; then
    [[ -d $DIR ]] || die "$DIR exists and is not a directory"
    [[ -z $(ls -A "$DIR") ]] || die "$DIR is not empty (start wants a fresh directory)"
  fi
  # The holder mounts DIR/run/samba over /run/samba: the mount point must
  # exist. The samba package makes it at boot (tmpfiles); without systemd
  # (a container, /run emptied by a restart) it may not: make it the same way.
  if [[ ! -d /run/samba ]]; then
    [[ -e /run/samba ]] && die "/run/samba exists and is not a directory"
    { mkdir -p /run/samba && chmod 0755 /run/samba; } ||
      die "cannot create /run/samba (the lab mounts its own run folder there)"
    msg "created /run/samba (it was missing)"
  fi

  mkdir -p "$DIR"
  trap start_cleanup EXIT
  trap 'exit 130' INT TERM HUP
  mkdir -p "$DIR/log" "$DIR/run/samba/winbindd" "$DIR/run/ncalrpc" \
           "$DIR/run/ntp_signd" "$DIR/shares/sites" "$DIR/shares/iis/$(dirname "$APPHOST_REL")"
  # smbd serves the shares as the logged-in user's unix uid: every folder
  # above them must be traversable by others, or ordinary users' logins get
  # ACCESS_DENIED (mktemp -d makes 0700 folders).
  chmod 755 "$DIR"
  local up=$DIR
  while up=$(dirname "$up"); [[ $up != / ]]; do
    if [[ $(( 8#$(stat -c %a "$up") & 1 )) -eq 0 ]]; then
      die "$up is not traversable by others (chmod o+x it): SMB users could not reach the shares"
    fi
  done
  mkdir -m 0700 "$STATE"
  cp -- "$FIXTURE" "$DIR/shares/iis/$APPHOST_REL"

  # --- secrets (0600, never in argv)
  local pw
  pw=$(gen_password)
  ( umask 077
    printf '%s' "$pw" >"$STATE/admin.password"
    printf 'username = Administrator\npassword = %s\ndomain = %s\n' "$pw" "$NETBIOS" >"$STATE/smb.auth" )
  pw=$(gen_password)
  ( umask 077
    printf '%s' "$pw" >"$STATE/operator.password"
    printf 'username = %s\npassword = %s\ndomain = %s\n' "$OP_USER" "$pw" "$NETBIOS" >"$STATE/operator.smb.auth" )
  pw=""

  # --- provision (no --adminpass: see the header)
  msg "provisioning $REALM in $DIR"
  ( umask 077
    samba-tool domain provision --configfile=/dev/null --targetdir="$DIR" \
      --realm="$REALM" --domain="$NETBIOS" --server-role=dc \
      --dns-backend=NONE --use-rfc2307 --host-name="$HOSTNAME_SHORT" \
      --option="interfaces=lo" --option="bind interfaces only=yes" \
      --option="pid directory=$DIR/run" --option="log file=$DIR/log/log.%m" \
      --option="ncalrpc dir=$DIR/run/ncalrpc" \
      --option="ntp signd socket directory=$DIR/run/ntp_signd" \
      --option="smb passwd file=$DIR/private/smbpasswd" \
      --option="usershare path=$DIR/usershares" \
      --option="usershare max shares=0" \
      >"$DIR/log/provision.log" 2>&1 ) || die "samba-tool domain provision failed"
  # samba-tool printed the random password it chose; it is replaced below,
  # but keep it out of the log all the same.
  sed -i 's/\(Admin password: *\).*/\1<redacted>/' "$DIR/log/provision.log"

  msg "provisioned at +$(elapsed "$t0") s"
  local conf="$DIR/etc/smb.conf"
  # Fewer services: no DNS updates (python helpers run every few minutes),
  # no NetBIOS/WINS, no KCC or NTP signing. LDAP, CLDAP, KDC, SMB stay.
  grep -q '^[[:space:]]*server services = ' "$conf" || die "unexpected smb.conf from provision"
  sed -i 's/^\([[:space:]]*server services = \).*/\1s3fs, rpc, ldap, cldap, kdc, drepl, winbindd/' "$conf"
  cat >>"$conf" <<EOF

# Added by tests/lab/lab.sh: the IIS host's C\$ and the content share.
# NT ACLs are enforced by the DC's default vfs objects (dfs_samba4 acl_xattr).
[iis]
	path = $DIR/shares/iis
	read only = No

[sites]
	path = $DIR/shares/sites
	read only = No
EOF

  LAB_OPERATOR_ADMIN=${LAB_OPERATOR_ADMIN:-1} \
    "$PY" "$LAB_HERE/lab-offline-setup.py" "$conf" "$STATE/admin.password" \
    "$STATE/operator.password" "$STATE/operator.sid" \
    >>"$DIR/log/provision.log" 2>&1 || die "setting the admin password / creating OUs and the operator failed"
  OP_SID=$(<"$STATE/operator.sid")

  msg "admin password set, OUs and operator created at +$(elapsed "$t0") s"
  # --- client-side files
  printf '127.0.0.1\t%s %s localhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    "$HOST_FQDN" "$HOSTNAME_SHORT" >"$STATE/hosts"
  cat >"$STATE/krb5.conf" <<EOF
# krb5.conf for the lab realm; valid inside the lab namespaces only
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
	dns_canonicalize_hostname = false
[realms]
	$REALM = {
		kdc = $HOST_FQDN
		admin_server = $HOST_FQDN
	}
[domain_realm]
	.$DNSDOMAIN = $REALM
	$DNSDOMAIN = $REALM
EOF

  # --- namespace holder
  # shellcheck disable=SC2016  # expanded by the inner bash
  setsid unshare --net --mount --uts --propagation private -- bash -c '
    set -e
    dir=$1
    echo $$ >"$dir/lab/holder.pid"
    hostname "$2"
    ip link set lo up
    mount --bind "$dir/run/samba" /run/samba
    mount --bind "$dir/lab/hosts" /etc/hosts
    readlink /proc/self/ns/net >"$dir/lab/netns"
    readlink /proc/self/ns/mnt >"$dir/lab/mntns"
    exec -a "lab-holder:$dir" sleep infinity
  ' lab-holder "$DIR" "$HOSTNAME_SHORT" </dev/null >"$DIR/log/holder.out" 2>&1 &
  local i
  for (( i = 0; i < 100; i++ )); do
    [[ -s $STATE/mntns ]] && break
    sleep 0.05
  done
  set_dir "$DIR"
  holder_alive || die "namespace holder did not come up"
  [[ $(ns_of "$HOLDER_PID" net) != "$(ns_of $$ net)" ]] || die "holder is not in a new network namespace"

  # --- samba
  start_samba "$conf"
  msg "samba started (pid $SAMBA_PID) at +$(elapsed "$t0") s; waiting for LDAPS and SMB"
  local ca="$DIR/private/tls/ca.pem" i_pids=()
  wait_ready

  # --- the operator's rights on the shares (Administrator, over SMB, as a
  # Windows administrator would set them)
  operator_share_acls
  msg "operator's share ACEs set at +$(elapsed "$t0") s"

  mapfile -t i_pids < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
  record_pids "${i_pids[@]}"

  # --- lab.env
  q() { printf '%s=%q\n' "$1" "$2"; }
  {
    echo "# lab.env: written by tests/lab/lab.sh start; source it (sh/bash)."
    q LAB_DIR "$DIR"
    q LAB_REALM "$REALM"
    q LAB_DOMAIN "$NETBIOS"
    q LAB_DNS_DOMAIN "$DNSDOMAIN"
    q LAB_HOST "$HOST_FQDN"
    q LAB_BASE_DN "$BASE_DN"
    q LAB_SITES_OU "$SITES_OU"
    q LAB_LDAPS_URI "ldaps://$HOST_FQDN"
    q LAB_LDAP_URI "ldap://$HOST_FQDN"
    q LAB_CA "$ca"
    q LAB_ADMIN_USER Administrator
    q LAB_ADMIN_DN "$ADMIN_DN"
    q LAB_ADMIN_UPN "$ADMIN_UPN"
    q LAB_ADMIN_PRINCIPAL "Administrator@$REALM"
    q LAB_ADMIN_PASSWORD_FILE "$STATE/admin.password"
    q LAB_OP_USER "$OP_USER"
    q LAB_OP_DN "$OP_DN"
    q LAB_OP_UPN "$OP_UPN"
    q LAB_OP_SID "$OP_SID"
    q LAB_OP_PASSWORD_FILE "$STATE/operator.password"
    q LAB_OP_SMB_AUTHFILE "$STATE/operator.smb.auth"
    q LAB_SMB_IIS "//$HOST_FQDN/iis"
    q LAB_SMB_SITES "//$HOST_FQDN/sites"
    q LAB_SMB_AUTHFILE "$STATE/smb.auth"
    q LAB_IIS_PATH "$DIR/shares/iis"
    q LAB_SITES_PATH "$DIR/shares/sites"
    q LAB_APPHOST_REL "$APPHOST_REL"
    q LAB_SMB_CONF "$conf"
    q LAB_KRB5_CONFIG "$STATE/krb5.conf"
    q LAB_KRB5CCNAME "FILE:$STATE/krb5cc"
    q LAB_HOLDER_PID "$HOLDER_PID"
    q LAB_SAMBA_PID "$SAMBA_PID"
    q LAB_NETNS_ID "$NETNS_ID"
    q LAB_NSENTER "nsenter --target $HOLDER_PID --net --mount --uts --"
    q LAB_EXEC "$LAB_SH exec $DIR --"
  } >"$DIR/lab.env"

  START_OK=1
  trap - EXIT INT TERM HUP
  local took
  took=$(elapsed "$t0")
  msg "ready in $took s (provision + start; LDAPS and SMB answer): source $DIR/lab.env"
  if (( ${took%.*} >= READY_BUDGET )); then
    msg "warning: start took longer than the ${READY_BUDGET}s budget"
  fi
}

# ---------------------------------------------------------------- samba

# start_samba CONF: samba in the holder's namespaces, its pid in
# DIR/lab/samba.pid (SAMBA_PID set). Used by start and restart-dc.
start_samba() {
  local conf=$1 i
  rm -f "$STATE/samba.pid"
  # -F: foreground without the stdin watch of -i (stdin is /dev/null).
  # setsid: own session and process group, immune to the caller's terminal.
  # shellcheck disable=SC2016
  setsid nsenter --target "$HOLDER_PID" --net --mount --uts -- bash -c '
    echo $$ >"$1"; shift; exec "$@"' lab-samba "$STATE/samba.pid" \
    "$SAMBA" -F -M single --configfile="$conf" --option="log file=$DIR/log/log.samba" </dev/null >>"$DIR/log/samba.out" 2>&1 &
  for (( i = 0; i < 100; i++ )); do
    [[ -s $STATE/samba.pid ]] && break
    sleep 0.05
  done
  set_dir "$DIR"
  [[ -n $SAMBA_PID ]] || die "samba did not start"
}

# Waits (START_TIMEOUT) for LDAPS (verified TLS, admin bind) and an SMB admin
# login.
wait_ready() {
  local ca="$DIR/private/tls/ca.pem" ldaps_ok=0 smb_ok=0 deadline
  deadline=$(( $(now) + START_TIMEOUT * 1000000 ))
  while (( ldaps_ok == 0 || smb_ok == 0 )); do
    [[ $(ns_of "$SAMBA_PID" net) == "$NETNS_ID" ]] || die "samba exited during start"
    (( $(now) < deadline )) || die "not ready after ${START_TIMEOUT}s (ldaps=$ldaps_ok smb=$smb_ok)"
    if (( ldaps_ok == 0 )) && [[ -s $ca ]] &&
       LDAPTLS_CACERT=$ca LDAPTLS_REQCERT=demand in_lab ldapsearch -LLL -o nettimeout=2 \
         -H "ldaps://$HOST_FQDN" -x -D "$ADMIN_DN" -y "$STATE/admin.password" \
         -b "$SITES_OU" -s base dn >/dev/null 2>&1; then
      ldaps_ok=1
    fi
    if (( smb_ok == 0 )) &&
       in_lab smbclient -A "$STATE/smb.auth" "//$HOST_FQDN/iis" -t 3 -c 'ls' >/dev/null 2>&1; then
      smb_ok=1
    fi
    (( ldaps_ok && smb_ok )) || sleep 0.2
  done
}

# The operator's ACE on the content root ([sites]) and on the IIS config
# folder ([iis]), inherited by subfolders and files; on the config folder
# also propagated to the applicationHost.config already there. Then the
# operator's own SMB login must work.
operator_share_acls() {
  local ace="ACL:$OP_SID:ALLOWED/OI|CI/$OP_SMB_MASK"
  in_lab smbcacls -A "$STATE/smb.auth" "//$HOST_FQDN/sites" "" -a "$ace" >/dev/null ||
    die "smbcacls: cannot give $OP_USER its ACE on [sites]"
  in_lab smbcacls -A "$STATE/smb.auth" "//$HOST_FQDN/iis" "$(dirname "$APPHOST_REL")" \
    --propagate-inheritance -a "$ace" >/dev/null ||
    die "smbcacls: cannot give $OP_USER its ACE on the IIS config folder"
  in_lab smbclient -A "$STATE/operator.smb.auth" "//$HOST_FQDN/sites" -t 5 -c 'ls' >/dev/null 2>&1 ||
    die "$OP_USER cannot log on to [sites]"
}

# ---------------------------------------------------------------- restart-dc

# After samba died (or was killed by a test): whatever is left of it in the
# lab (smbd, winbindd, samba-dcerpcd and their children) is stopped, samba is
# started again on the same database, lab.env's LAB_SAMBA_PID updated.
do_restart_dc() {
  local t0 pids=() p comm
  t0=$(now)
  holder_alive || die "no running lab in $DIR"
  mapfile -t pids < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
  local victims=()
  for p in "${pids[@]}"; do
    [[ $p == "$HOLDER_PID" ]] && continue
    comm=$(comm_of "$p")
    case $comm in
      samba*|smbd*|winbindd*|rpcd_*|tfork*|cleanupd*) victims+=("$p") ;;
    esac
  done
  if (( ${#victims[@]} )); then
    record_pids "${victims[@]}"
    for p in "${victims[@]}"; do signal_lab_pid CONT "$p"; signal_lab_pid TERM "$p"; done
    if ! wait_gone 6 "${victims[@]}"; then
      for p in "${victims[@]}"; do signal_lab_pid KILL "$p"; done
      wait_gone 3 "${victims[@]}" || die "restart-dc: samba processes would not go: ${victims[*]}"
    fi
  fi
  # a killed smbd leaves its winbindd pipe and sockets: samba makes them anew
  start_samba "$DIR/etc/smb.conf"
  wait_ready
  mapfile -t pids < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
  record_pids "${pids[@]}"
  if [[ -f $DIR/lab.env ]]; then
    sed -i "s/^LAB_SAMBA_PID=.*/LAB_SAMBA_PID=$SAMBA_PID/" "$DIR/lab.env"
  fi
  msg "restart-dc: samba (pid $SAMBA_PID) answers again after $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- status

do_status() {
  if ! holder_alive; then
    local left=()
    if [[ -n $NETNS_ID ]]; then mapfile -t left < <(lab_pids "$NETNS_ID" "$MNTNS_ID"); fi
    if (( ${#left[@]} )); then
      echo "lab $DIR: BROKEN (holder gone, ${#left[@]} processes left: ${left[*]}); run lab.sh stop"
      return 1
    fi
    echo "lab $DIR: stopped"
    return 3
  fi
  local pids=() p
  mapfile -t pids < <(lab_pids "$NETNS_ID" "$MNTNS_ID")
  echo "lab $DIR: running (holder $HOLDER_PID, samba $SAMBA_PID, $NETNS_ID)"
  for p in "${pids[@]}"; do printf '  %-8s %s\n' "$p" "$(comm_of "$p")"; done
  echo "  listening:"
  nsenter --target "$HOLDER_PID" --net -- ss -Hltn | awk '{print "    tcp " $4}' | sort -u
  if [[ -z $SAMBA_PID || $(ns_of "$SAMBA_PID" net) != "$NETNS_ID" ]]; then
    echo "  samba master is NOT running"
    return 1
  fi
  return 0
}

# ---------------------------------------------------------------- main

(( $# >= 2 )) || usage
sub=$1
set_dir "$2"
shift 2
case $sub in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  restart-dc) do_restart_dc ;;
  exec)
    [[ ${1:-} == -- ]] && shift
    (( $# )) || usage
    holder_alive || die "no running lab in $DIR"
    exec nsenter --target "$HOLDER_PID" --net --mount --uts --wd="$PWD" -- "$@"
    ;;
  *) usage ;;
esac
