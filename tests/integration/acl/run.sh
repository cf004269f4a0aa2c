#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/integration/acl/run.sh: NTFS grants proven by enforcement, on real
# servers. Starts a throwaway lab domain (tests/lab/lab.sh), builds the
# driver tests/integration/acl/acl_it.c (or uses $ACL_IT_BIN) and checks:
#  1. SMB on the lab's [sites]: two AD users, grants for two sites with the
#     site roots locked down; logged in as each user, what is allowed and
#     what is denied; inherited entries on a file that existed before;
#     re-apply changes nothing; remove restores the earlier descriptors.
#  2. An IIS AppPool identity lands as its S-1-5-82 SID.
#  3. Kerberos instead of a password.
#  4. Bad input changes nothing: paths leaving the root, malformed
#     locations, a user without rights, a zero SID, a wrong password.
#  5. ntfs-3g: an mkntfs image mounted with -o inherit; grants with existing
#     children, checked with ntfssecaudit on the unmounted image, and
#     compared with what ntfs-3g itself gives a child created afterwards;
#     a descriptor over 64 KiB.
#  6. smb_replace_file on the lab's [iis] share (applicationHost.config):
#     content, "changed meanwhile", what a concurrent reader sees, the state
#     a crash leaves after each step.
# Needs root. A lab that does not start is a FAILURE. One line per check;
# ends with "N passed, M failed". The lab is always stopped (unless
# ACL_IT_KEEP_LAB is set, for debugging) and the ntfs-3g image unmounted.
# ACL_IT_STOP_AFTER=SECTION (1..6) ends the run after that section.
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
LAB="$REPO/tests/lab/lab.sh"
PY="python3 $HERE/helper.py"

npass=0
nfail=0
pass() { printf 'PASS %s\n' "$*"; npass=$((npass + 1)); }
fail() { printf 'FAIL %s\n' "$*"; nfail=$((nfail + 1)); }
# check DESCRIPTION COMMAND...: pass when the command succeeds
# (on failure, the last command output kept in $out is shown)
out=""
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; [[ -n $out ]] && head -n 5 <<<"$out" | sed 's/^/      out| /'; fi
}

WORK=$(mktemp -d /tmp/acl_it.XXXXXX)
# The share folders live below WORK and smbd opens them as the logged-in
# user: WORK must be traversable (the auth files in it are 0600 themselves).
chmod 0755 "$WORK"
LABDIR="$WORK/lab"
MNT="$WORK/mnt"
LAB_STARTED=0

finish() {
  local rc=$?
  if mountpoint -q "$MNT" 2>/dev/null; then
    umount "$MNT" 2>/dev/null || umount -l "$MNT" || echo "cleanup: could not unmount $MNT"
  fi
  if [[ -n ${ACL_IT_KEEP_LAB:-} ]]; then
    echo "lab left running for inspection (ACL_IT_KEEP_LAB): $LAB stop $LABDIR"
  elif (( LAB_STARTED )) && [[ -f $LABDIR/lab/holder.pid ]]; then
    echo "cleanup: stopping the lab in $LABDIR"
    "$LAB" stop "$LABDIR" >/dev/null 2>&1 || echo "cleanup: STOP FAILED for $LABDIR"
  fi
  if (( nfail == 0 && rc == 0 )) && [[ -z ${ACL_IT_KEEP:-} ]]; then
    rm -rf "$WORK"
  else
    echo "work directory kept for inspection: $WORK"
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM HUP

summary() {
  echo "$npass passed, $nfail failed"
  (( nfail == 0 )) || exit 1
  exit 0
}

section_done() { [[ ${ACL_IT_STOP_AFTER:-} == "$1" ]] && summary; return 0; }

[[ $(id -u) -eq 0 ]] || { fail "run.sh needs root (lab namespaces, FUSE mount)"; summary; }

# ------------------------------------------------------------------ build
if [[ -n ${ACL_IT_BIN:-} ]]; then
  IT=$ACL_IT_BIN
  if [[ -x $IT ]]; then pass "driver given: $IT"; else fail "ACL_IT_BIN=$IT is not executable"; summary; fi
else
  # the project's own build (scripts/build.sh) has every test driver
  if "$REPO/scripts/build.sh" >"$WORK/build.log" 2>&1; then
    IT="$REPO/build/normal/bin/acl_it"
    pass "build the driver (acl_it)"
  else
    fail "build the driver (see $WORK/build.log)"
    tail -n 20 "$WORK/build.log" | sed 's/^/      | /'
    summary
  fi
fi

# ------------------------------------------------------------------ lab
if "$LAB" start "$LABDIR" >"$WORK/lab-start.log" 2>&1; then
  LAB_STARTED=1
  pass "lab started"
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
SITES_URL="smb:${LAB_SMB_SITES}"
IIS_URL="smb:${LAB_SMB_IIS}"
ADMIN=(-A "$LAB_SMB_AUTHFILE")

sddl() { in_lab smbcacls "${ADMIN[@]}" "$LAB_SMB_SITES" "$1" --numeric --sddl 2>&1; }
as_user() { local auth=$1; shift; in_lab smbclient -A "$auth" "$LAB_SMB_SITES" -c "$*" 2>&1; }
snapshot() { $PY snapshot "$LAB_SITES_PATH"; }
it() { in_lab "$IT" "$@"; }

# ------------------------------------------------------------------ users
mkpass() { printf 'Aa1-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
make_user() { # NAME -> WORK/NAME.auth, prints the SID
  local name=$1 pw
  pw=$(mkpass)
  in_lab samba-tool user create "$name" "$pw" -H "$LABDIR/private/sam.ldb" >/dev/null 2>&1 || return 1
  ( umask 077; printf 'username = %s\npassword = %s\ndomain = %s\n' "$name" "$pw" "$LAB_DOMAIN" >"$WORK/$name.auth" )
  in_lab samba-tool user show "$name" -H "$LABDIR/private/sam.ldb" --attributes=objectSid 2>/dev/null |
    awk '/^objectSid:/ {print $2}'
}
SID_A=$(make_user IUSR_a) && [[ $SID_A == S-1-5-21-* ]] && pass "AD user IUSR_a ($SID_A)" || fail "create IUSR_a"
SID_B=$(make_user IUSR_b) && [[ $SID_B == S-1-5-21-* ]] && pass "AD user IUSR_b ($SID_B)" || fail "create IUSR_b"
UA="$WORK/IUSR_a.auth"
UB="$WORK/IUSR_b.auth"

# ------------------------------------------------------------------ 1. SMB sites
echo "== SMB: two tenants on [sites]"
printf '<h1>site a</h1>\n' >"$WORK/index-a.html"
printf '<h1>site b</h1>\n' >"$WORK/index-b.html"
printf 'upload\n' >"$WORK/upload.txt"
in_lab smbclient "${ADMIN[@]}" "$LAB_SMB_SITES" -c "mkdir a; mkdir a/wwwroot; put $WORK/index-a.html a/wwwroot/index.html; mkdir b; mkdir b/wwwroot; put $WORK/index-b.html b/wwwroot/index.html" >/dev/null 2>&1
check "pre-existing files a\\wwwroot\\index.html and b\\wwwroot\\index.html" \
  test -f "$LAB_SITES_PATH/a/wwwroot/index.html" -a -f "$LAB_SITES_PATH/b/wwwroot/index.html"

# Tenant isolation: the site root is protected and holds only Administrators
# and SYSTEM (Full, inherited by everything below) and the site's identity
# (list/read the root itself); the share root's "Everyone: Read" stops there.
site_specs() { # SITE SID
  cat <<EOF
$1|S-1-5-32-544:(OI)(CI)F|protect
$1|S-1-5-18:(OI)(CI)F|protect
$1|$2:RX|protect
$1\\wwwroot|$2:(OI)(CI)RX
$1\\data|$2:(OI)(CI)M
EOF
}
site_specs a "$SID_A" >"$WORK/specs-a"
site_specs b "$SID_B" >"$WORK/specs-b"

declare -A BEFORE
for p in a a/wwwroot a/wwwroot/index.html; do BEFORE[$p]=$(sddl "$p"); done
snap0=$(snapshot)

out=$(it "${ADMIN[@]}" -n apply "$SITES_URL" "$WORK/specs-a" 2>&1)
check "dry run reports the folder to create and the grants" \
  grep -q '^+ folder a\\data' <<<"$out"
check "dry run changed nothing on the share" test "$(snapshot)" == "$snap0"

out=$(it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-a" 2>&1); rc=$?
check "apply site a" test $rc -eq 0
printf '%s\n' "$out" | sed 's/^/      | /'
# (over SMB the server keeps no PROTECTED flag: the report says what the
# folder holds, its own entries only)
check "apply reports + folder a\\data, the isolation and the descendants" \
  bash -c 'grep -q "^+ folder a\\\\data" <<<"$1" && grep -q "inheritance: inherited -> own entries only" <<<"$1" && ! grep -q protected <<<"$1" && grep -q "descendants updated" <<<"$1"' _ "$out"
out=$(it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-b" 2>&1); rc=$?
check "apply site b" test $rc -eq 0

s_root=$(sddl a); s_www=$(sddl a/wwwroot); s_data=$(sddl a/data); s_idx=$(sddl a/wwwroot/index.html)
echo "      a:          $s_root"
echo "      a\\wwwroot:  $s_www"
echo "      a\\data:     $s_data"
echo "      index.html: $s_idx"
check "site root a: Administrators, SYSTEM, IUSR_a only, no Everyone" \
  bash -c "$PY has '$s_root' '(A;OICI;0x1f01ff;;;BA)' '(A;OICI;0x1f01ff;;;SY)' '(A;;0x1200a9;;;$SID_A)' && $PY lacks '$s_root' WD && $PY lacks '$s_root' S-1-1-0"
check "a\\data: explicit M (OI)(CI) for IUSR_a plus inherited Administrators and SYSTEM" \
  $PY has "$s_data" "(A;OICI;0x1301bf;;;$SID_A)" "(A;OICIID;0x1f01ff;;;BA)" "(A;OICIID;0x1f01ff;;;SY)"
check "pre-existing index.html got the inherited ACEs (RX for IUSR_a, F for BA and SY, flag ID)" \
  $PY has "$s_idx" "(A;ID;0x1200a9;;;$SID_A)" "(A;ID;0x1f01ff;;;BA)" "(A;ID;0x1f01ff;;;SY)"
check "pre-existing index.html lost Everyone" $PY lacks "$s_idx" WD

echo "== enforcement, logged in as the tenants"
out=$(as_user "$UA" "put $WORK/upload.txt a/data/upload.txt")
check "IUSR_a can write in a\\data" bash -c '! grep -q NT_STATUS <<<"$1" && test -f "$2"' _ "$out" "$LAB_SITES_PATH/a/data/upload.txt"
out=$(as_user "$UA" "put $WORK/upload.txt a/wwwroot/evil.txt")
check "IUSR_a cannot write in a\\wwwroot (ACCESS_DENIED)" grep -q NT_STATUS_ACCESS_DENIED <<<"$out"
out=$(as_user "$UA" "get a/wwwroot/index.html $WORK/got-a.html")
check "IUSR_a can read a\\wwwroot\\index.html" cmp -s "$WORK/got-a.html" "$WORK/index-a.html"
out=$(as_user "$UB" "get a/data/upload.txt $WORK/got-b.txt")
check "IUSR_b cannot read a\\data\\upload.txt (ACCESS_DENIED)" grep -q NT_STATUS_ACCESS_DENIED <<<"$out"
out=$(as_user "$UB" "ls a/data/*")
check "IUSR_b cannot list a\\data (ACCESS_DENIED)" grep -q NT_STATUS_ACCESS_DENIED <<<"$out"
out=$(as_user "$UB" "put $WORK/upload.txt a/data/b-was-here.txt")
check "IUSR_b cannot write in a\\data (ACCESS_DENIED)" grep -q NT_STATUS_ACCESS_DENIED <<<"$out"
out=$(as_user "$UB" "get a/wwwroot/index.html $WORK/got-b.html")
check "IUSR_b cannot read a\\wwwroot\\index.html (ACCESS_DENIED)" grep -q NT_STATUS_ACCESS_DENIED <<<"$out"
out=$(as_user "$UA" "put $WORK/upload.txt b/data/a-was-here.txt")
check "IUSR_a cannot write in b\\data (ACCESS_DENIED)" grep -q NT_STATUS_ACCESS_DENIED <<<"$out"
out=$(as_user "$UB" "put $WORK/upload.txt b/data/upload.txt")
check "IUSR_b can write in its own b\\data" bash -c '! grep -q NT_STATUS <<<"$1"' _ "$out"

echo "== idempotence and removal"
snap1=$(snapshot)
out=$(it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-a" 2>&1)
check "second apply of site a reports nothing" grep -qx 'changes: 0' <<<"$out"
check "second apply of site a changed nothing" test "$(snapshot)" == "$snap1"

out=$(it "${ADMIN[@]}" remove "$SITES_URL" "$WORK/specs-a" 2>&1); rc=$?
check "remove site a" test $rc -eq 0
for p in a a/wwwroot a/wwwroot/index.html; do
  now=$(sddl "$p")
  check "remove restored the descriptor of $p (same ACEs; they carry the INHERITED flag now)" \
    test "$($PY norm "$now")" == "$($PY norm "${BEFORE[$p]}")"
done
check "remove kept the content (a\\data\\upload.txt)" test -f "$LAB_SITES_PATH/a/data/upload.txt"
out=$(it "${ADMIN[@]}" remove "$SITES_URL" "$WORK/specs-a" 2>&1)
check "second remove reports nothing" grep -qx 'changes: 0' <<<"$out"

in_lab smbclient "${ADMIN[@]}" "$LAB_SMB_SITES" -c "del b/data/upload.txt" >/dev/null 2>&1
out=$(it "${ADMIN[@]}" -D remove "$SITES_URL" "$WORK/specs-b" 2>&1); rc=$?
check "remove site b with folder deletion" test $rc -eq 0
check "the empty b\\data was deleted and reported" \
  bash -c 'grep -q "^- folder b\\\\data" <<<"$1" && ! test -e "$2"' _ "$out" "$LAB_SITES_PATH/b/data"
check "b\\wwwroot (not empty) was kept" test -f "$LAB_SITES_PATH/b/wwwroot/index.html"
# site a again, for the denial tests below
it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-a" >/dev/null 2>&1

section_done 1

# ------------------------------------------------------------------ 2. AppPool
echo "== ApplicationPoolIdentity"
printf 'pools\\shop|IIS AppPool\\shop:(OI)(CI)M\n' >"$WORK/specs-pool"
POOL_SID=$($PY poolsid shop)
out=$(it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-pool" 2>&1); rc=$?
check "apply a grant to IIS AppPool\\shop" test $rc -eq 0
s_pool=$(sddl pools/shop)
echo "      pools\\shop: $s_pool"
check "smbcacls shows $POOL_SID (computed independently) with M (OI)(CI)" \
  $PY has "$s_pool" "(A;OICI;0x1301bf;;;$POOL_SID)"

section_done 2

# ------------------------------------------------------------------ 3. Kerberos
echo "== Kerberos"
export KRB5_CONFIG=$LAB_KRB5_CONFIG KRB5CCNAME=$LAB_KRB5CCNAME
if in_lab kinit "$LAB_ADMIN_PRINCIPAL" <"$LAB_ADMIN_PASSWORD_FILE" >/dev/null 2>&1; then
  printf 'krb\\data|S-1-5-17:(OI)(CI)R\n' >"$WORK/specs-krb"
  out=$(it -k apply "$SITES_URL" "$WORK/specs-krb" 2>&1); rc=$?
  check "apply with the Kerberos ticket (no password)" test $rc -eq 0
  out=$(KRB5CCNAME="FILE:$WORK/no-ccache" it -k apply "$SITES_URL" "$WORK/specs-krb" 2>&1); rc=$?
  check "no ticket: a clear error" bash -c 'test $2 -ne 0 && grep -q "Kerberos ticket" <<<"$1"' _ "$out" $rc
else
  fail "kinit $LAB_ADMIN_PRINCIPAL"
fi

section_done 3

# ------------------------------------------------------------------ 4. bad input
echo "== bad input changes nothing"
snap2=$(snapshot)
bad_path() { # LABEL FOLDER
  printf '%s|S-1-5-17:(OI)(CI)M\n' "$2" >"$WORK/specs-bad"
  out=$(it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-bad" 2>&1); rc=$?
  echo "      $1: ${out##*error: }" | head -1
  check "refused: $1" bash -c 'test $1 -ne 0 && grep -q "error: path" <<<"$2"' _ $rc "$out"
}
bad_path "..\\escape" '..\escape'
bad_path "a\\..\\..\\etc" 'a\..\..\etc'
bad_path "absolute /etc" '/etc'
bad_path "absolute \\Windows" '\Windows'
bad_path "UNC \\\\server\\x" '\\server\x'
bad_path "drive C:" 'C:'
bad_path "drive C:\\x" 'C:\x'
bad_path "stream a:b" 'a:b'
bad_path "device name NUL" 'a\NUL'
printf 'a\tb|S-1-5-17:(OI)(CI)M\n' >"$WORK/specs-bad"
out=$(it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-bad" 2>&1); rc=$?
check "refused: control character in a path" bash -c 'test $1 -ne 0 && grep -q "control character" <<<"$2"' _ $rc "$out"
printf 'a\\data|S-1-0-0:(OI)(CI)M\n' >"$WORK/specs-bad"
out=$(it "${ADMIN[@]}" apply "$SITES_URL" "$WORK/specs-bad" 2>&1); rc=$?
check "refused: a zero SID" bash -c 'test $1 -ne 0 && grep -q "SID is zero" <<<"$2"' _ $rc "$out"
for loc in "smb:/dc1.lab.test/sites" "ftp://dc1.lab.test/sites" "smb://dc1.lab.test" "smb://user@dc1.lab.test/sites" \
           "script:/tmp/out.txt" "relative/folder" "C:\\sites" "//dc1.lab.test/sites"; do
  out=$(it "${ADMIN[@]}" apply "$loc" "$WORK/specs-a" 2>&1); rc=$?
  check "refused location '$loc'" bash -c 'test $1 -ne 0 && grep -qiE "location|ntfs-3g|script" <<<"$2"' _ $rc "$out"
done
printf 'a\\data|S-1-1-0:(OI)(CI)F\n' >"$WORK/specs-deny"
out=$(it -A "$UB" apply "$SITES_URL" "$WORK/specs-deny" 2>&1); rc=$?
echo "      ${out##*error: }" | head -1
check "IUSR_b granting itself into a\\data: access denied" bash -c 'test $1 -ne 0 && grep -q "access denied" <<<"$2"' _ $rc "$out"
printf 'a\\data\\newdir|S-1-1-0:(OI)(CI)F\n' >"$WORK/specs-deny2"
out=$(it -A "$UB" apply "$SITES_URL" "$WORK/specs-deny2" 2>&1); rc=$?
check "IUSR_b creating a folder in a\\data: access denied" bash -c 'test $1 -ne 0 && grep -q "access denied" <<<"$2"' _ $rc "$out"
printf 'b\\wwwroot|%s:(OI)(CI)F\n' "$SID_B" >"$WORK/specs-deny3"
out=$(it -A "$UB" apply "$SITES_URL" "$WORK/specs-deny3" 2>&1); rc=$?
check "IUSR_b changing the DACL of b\\wwwroot (no WRITE_DAC): refused" bash -c 'test $1 -ne 0 && grep -q "cannot write the security descriptor" <<<"$2"' _ $rc "$out"
( umask 077; printf 'username = IUSR_b\npassword = wrong-Password-1\ndomain = %s\n' "$LAB_DOMAIN" >"$WORK/wrong.auth" )
out=$(it -A "$WORK/wrong.auth" apply "$SITES_URL" "$WORK/specs-deny" 2>&1); rc=$?
check "wrong password: logon failure named" bash -c 'test $1 -ne 0 && grep -q "logon failure" <<<"$2"' _ $rc "$out"
cp "$UA" "$WORK/loose.auth"; chmod 0644 "$WORK/loose.auth"
out=$(it -A "$WORK/loose.auth" apply "$SITES_URL" "$WORK/specs-a" 2>&1); rc=$?
check "auth file readable by others: refused" bash -c 'test $1 -ne 0 && grep -q "must be 0600" <<<"$2"' _ $rc "$out"
out=$(it "${ADMIN[@]}" apply "smb://dc1.lab.test/nosuchshare" "$WORK/specs-a" 2>&1); rc=$?
check "unknown share: named" bash -c 'test $1 -ne 0 && grep -q "share" <<<"$2"' _ $rc "$out"
out=$(it "${ADMIN[@]}" apply "smb://127.0.0.9/sites" "$WORK/specs-a" 2>&1); rc=$?
check "unreachable server: named" bash -c 'test $1 -ne 0 && grep -q "connection refused" <<<"$2"' _ $rc "$out"
check "none of the bad input changed the share" test "$(snapshot)" == "$snap2"

section_done 4

# ------------------------------------------------------------------ 5. ntfs-3g
echo "== ntfs-3g"
IMG="$WORK/ntfs.img"
mkdir -p "$MNT"
USERMAP_SID="S-1-5-21-3141592653-589793238-462643383-10000"
if truncate -s 16M "$IMG" && mkntfs -F -Q "$IMG" >"$WORK/mkntfs.log" 2>&1 &&
   ntfs-3g "$IMG" "$MNT" && mkdir -p "$MNT/.NTFS-3G" &&
   printf '::%s\n' "$USERMAP_SID" >"$MNT/.NTFS-3G/UserMapping" && umount "$MNT" &&
   ntfs-3g -o inherit "$IMG" "$MNT"; then
  pass "mkntfs image mounted with ntfs-3g -o inherit and a UserMapping"
  mkdir -p "$MNT/s/wwwroot/css" "$MNT/s/data/sub"
  printf 'hi\n' >"$MNT/s/wwwroot/index.html"
  printf 'x\n' >"$MNT/s/data/sub/old.txt"
  cat >"$WORK/specs-n" <<'EOF'
s|S-1-5-32-544:(OI)(CI)F|protect
s|S-1-5-18:(OI)(CI)F|protect
s|IIS AppPool\shop:RX|protect
s\wwwroot|IIS AppPool\shop:(OI)(CI)RX
s\wwwroot|IUSR:(OI)(CI)R
s\data|IIS AppPool\shop:(OI)(CI)M
EOF
  out=$("$IT" apply "$MNT" "$WORK/specs-n" 2>&1); rc=$?
  check "apply on the ntfs-3g mount" test $rc -eq 0
  out=$("$IT" apply "$MNT" "$WORK/specs-n" 2>&1)
  check "second apply on ntfs-3g reports nothing" grep -qx 'changes: 0' <<<"$out"
  # ntfs-3g's own inheritance for children created now
  printf 'new\n' >"$MNT/s/data/sub/new.txt"
  mkdir "$MNT/s/data/sub/newdir" "$MNT/s/wwwroot/newdir"
  printf 'new\n' >"$MNT/s/wwwroot/new.html"
  mkdir -p "$MNT/big-folder"
  "$IT" fill "$MNT" big-folder 30 >"$WORK/fill.out" 2>&1
  big_before=$("$IT" sddl "$MNT" big-folder 2>&1 | sha1sum)
  printf 'big-folder|S-1-5-21-9-9-9-9:(OI)(CI)M\n' >"$WORK/specs-big"
  out=$("$IT" apply "$MNT" "$WORK/specs-big" 2>&1); rc=$?
  echo "      $(cat "$WORK/fill.out" 2>/dev/null) -> ${out##*error: }"
  check "a descriptor that would pass 64 KiB: refused" bash -c 'test $1 -ne 0 && grep -q "64 KiB" <<<"$2"' _ $rc "$out"
  check "... and left as it was" test "$("$IT" sddl "$MNT" big-folder 2>&1 | sha1sum)" == "$big_before"
  umount "$MNT" && pass "unmounted" || fail "unmount $MNT"

  # ntfssecaudit reads the image itself: "type", "flags", "Acc rgts" and the
  # "dec" SID of each ACE, and the descriptor's flags.
  audit() { # PATH -> "control=0x...." and "type flags mask sid" lines
    ntfssecaudit -vv "$IMG" "$1" 2>/dev/null | awk '
      /^Global header/ {g=1}
      g && /^    flags/ {print "control=" $2; g=0}
      /^DACL/ {d=1}
      /^No SACL|^SACL/ {d=0}
      d && /^        type/ {t=$2}
      d && /^        flags/ {f=$2}
      d && /^        Acc rgts/ {m=$3}
      d && /^            dec S-/ {print t, f, m, $2}'
  }
  norm_audit() { audit "$1" | grep -v '^control=' | sort; }
  POOL_SID=$($PY poolsid shop)
  a_root=$(audit /s)
  echo "$a_root" | sed 's/^/      \/s: /'
  check "ntfssecaudit /s: protected (0x9404: P, AI), explicit BA, SY F (OI)(CI) and the pool RX" \
    bash -c 'grep -qx "control=0x9404" <<<"$1" && grep -qx "0 0x3 0x1f01ff S-1-5-32-544" <<<"$1" &&
             grep -qx "0 0x3 0x1f01ff S-1-5-18" <<<"$1" && grep -qx "0 0x0 0x1200a9 $2" <<<"$1" &&
             test $(grep -vc control <<<"$1") -eq 3' _ "$a_root" "$POOL_SID"
  a_old=$(audit /s/data/sub/old.txt)
  echo "$a_old" | sed 's/^/      old.txt: /'
  check "ntfssecaudit old.txt (existed before): inherited M for the pool, F for BA and SY, no mkntfs defaults" \
    bash -c 'grep -qx "0 0x10 0x1301bf $2" <<<"$1" && grep -qx "0 0x10 0x1f01ff S-1-5-32-544" <<<"$1" &&
             grep -qx "0 0x10 0x1f01ff S-1-5-18" <<<"$1" && test $(grep -vc control <<<"$1") -eq 3' _ "$a_old" "$POOL_SID"
  check "new file (ntfs-3g's inheritance) == old file (our propagation): s\\data\\sub" \
    test "$(norm_audit /s/data/sub/new.txt)" == "$(norm_audit /s/data/sub/old.txt)"
  check "new folder == existing folder: s\\data\\sub\\newdir vs s\\data\\sub" \
    test "$(norm_audit /s/data/sub/newdir)" == "$(norm_audit /s/data/sub)"
  check "new file == old file: s\\wwwroot (explicit RX pool, R IUSR)" \
    test "$(norm_audit /s/wwwroot/new.html)" == "$(norm_audit /s/wwwroot/index.html)"
  check "new folder == existing folder: s\\wwwroot\\newdir vs s\\wwwroot\\css" \
    test "$(norm_audit /s/wwwroot/newdir)" == "$(norm_audit /s/wwwroot/css)"
  c_new=$(audit /s/data/sub/new.txt | grep control); c_old=$(audit /s/data/sub/old.txt | grep control)
  check "control of a new and of an old child: both 0x8404 (AUTO_INHERITED)" \
    test "$c_new $c_old" == "control=0x8404 control=0x8404"
else
  fail "make and mount the ntfs-3g image (see $WORK/mkntfs.log)"
fi
mountpoint -q "$MNT" && umount "$MNT"

section_done 5

# ------------------------------------------------------------------ 6. replace
echo "== smb_replace_file on [iis]"
CONF_URL="$IIS_URL/$LAB_APPHOST_REL"
CONF_PATH="$LAB_IIS_PATH/$LAB_APPHOST_REL"
CONF_DIR=$(dirname "$CONF_PATH")
cp "$CONF_PATH" "$WORK/old.config"
sed 's/name="DefaultAppPool"/name="DefaultAppPool2"/' "$WORK/old.config" >"$WORK/new.config"
cmp -s "$WORK/old.config" "$WORK/new.config" && fail "the test edit changed nothing"
acl_before=$(in_lab smbcacls "${ADMIN[@]}" "$LAB_SMB_IIS" "$LAB_APPHOST_REL" --numeric --sddl 2>&1 | sed 's/^O:[^G]*//')
out=$(it "${ADMIN[@]}" -b replace "$CONF_URL" "$WORK/new.config" "$WORK/old.config" 2>&1); rc=$?
check "replace applicationHost.config" test $rc -eq 0
check "the target holds exactly the new content" cmp -s "$CONF_PATH" "$WORK/new.config"
# first existing file among the arguments (unexpanded globs do not exist)
first() { local f; for f in "$@"; do [[ -e $f ]] && { basename -- "$f"; return; }; done; }
bak=$(first "$CONF_DIR"/applicationHost.config.provision-bak-*)
check "the backup ($bak) holds exactly the old content" cmp -s "$CONF_DIR/$bak" "$WORK/old.config"
check "no temp file left" bash -c '! ls -A "$1" | grep -q provision-tmp' _ "$CONF_DIR"
acl_after=$(in_lab smbcacls "${ADMIN[@]}" "$LAB_SMB_IIS" "$LAB_APPHOST_REL" --numeric --sddl 2>&1 | sed 's/^O:[^G]*//')
check "the new file carries the old file's DACL" test "$($PY norm "$acl_after")" == "$($PY norm "$acl_before")"
rm -f "$CONF_DIR/$bak"
out=$(it "${ADMIN[@]}" replace "$CONF_URL" "$WORK/new.config" "$WORK/old.config" 2>&1); rc=$?
echo "      ${out##*error: }"
check "changed meanwhile (the file no longer holds what was read): refused" \
  bash -c 'test $1 -ne 0 && grep -q "changed since it was read" <<<"$2"' _ $rc "$out"
check "... the file is untouched and nothing is left behind" \
  bash -c 'cmp -s "$1" "$2" && test $(ls -A "$3" | wc -l) -eq 1' _ "$CONF_PATH" "$WORK/new.config" "$CONF_DIR"

# A reader on another connection reads the file in a loop while 100
# replaces alternate between the two contents.
it "${ADMIN[@]}" watch "$CONF_URL" "$WORK/new.config" "$WORK/old.config" 6 >"$WORK/watch.out" 2>&1 &
wpid=$!
sleep 0.5
loop=$(it "${ADMIN[@]}" replace-loop "$CONF_URL" "$WORK/new.config" "$WORK/old.config" 100 2>&1)
wait $wpid
echo "      writer: $(head -1 <<<"$loop")"
sed 's/^/      reader: /' "$WORK/watch.out"
reads=$(grep '^reads:' "$WORK/watch.out")
other=$(sed -n 's/.*other=\([0-9]*\).*/\1/p' <<<"$reads")
okreads=$(sed -n 's/.*old=\([0-9]*\) new=\([0-9]*\).*/\1 \2/p' <<<"$reads")
check "the reader never saw a partial or mixed file (other=0)" test "${other:-x}" == 0
check "the reader saw both contents" bash -c 'set -- $1; test ${1:-0} -gt 0 -a ${2:-0} -gt 0' _ "$okreads"
check "the reader's failures were only 'not found' (the rename window) and 'busy' (during a rename)" \
  bash -c '! grep "^read errors:" "$1" | grep -vq "Device or resource busy"' _ "$WORK/watch.out"
fails=$(sed -n 's/.*failed: \([0-9]*\).*/\1/p' <<<"$loop")
check "the writer's replaces went through despite the busy reader (failed=${fails:-?} of 100, each retried ~1 s)" \
  test "${fails:-100}" -le 5
# put the known content back
cur=$WORK/new.config; cmp -s "$CONF_PATH" "$WORK/old.config" && cur=$WORK/old.config
it "${ADMIN[@]}" replace "$CONF_URL" "$WORK/new.config" "$cur" >/dev/null 2>&1 || cp "$WORK/new.config" "$CONF_PATH"

# What a crash leaves after each step (the driver exits right after it).
# The target gets an explicit entry first, so that its DACL differs from
# what the folder would pass to a new file: the temp file must carry it
# (it holds the new config, plain passwords included).
in_lab smbcacls "${ADMIN[@]}" "$LAB_SMB_IIS" "$LAB_APPHOST_REL" -a "ACL:S-1-5-32-544:ALLOWED/0x0/FULL" >/dev/null 2>&1
acl_target=$(in_lab smbcacls "${ADMIN[@]}" "$LAB_SMB_IIS" "$LAB_APPHOST_REL" --numeric --sddl 2>&1 | sed 's/^O:[^G]*//')
for step in 1 2 3 4; do
  rm -f "$CONF_DIR"/*.provision-bak-* "$CONF_DIR"/.*.provision-tmp-*
  cp "$WORK/new.config" "$CONF_PATH"
  it "${ADMIN[@]}" -c $step replace "$CONF_URL" "$WORK/old.config" "$WORK/new.config" >/dev/null 2>&1
  tmpf=$(first "$CONF_DIR"/.*.provision-tmp-*)
  bakf=$(first "$CONF_DIR"/*.provision-bak-*)
  case $step in
    1|2) check "crash after step $step: target still the old content, the complete new one in the temp file" \
           bash -c 'cmp -s "$1" "$2" && cmp -s "$3" "$4" && test -z "$5"' _ "$CONF_PATH" "$WORK/new.config" "$CONF_DIR/$tmpf" "$WORK/old.config" "$bakf"
         if [ "$step" = 1 ]; then
           acl_tmp=$(in_lab smbcacls "${ADMIN[@]}" "$LAB_SMB_IIS" "$(dirname "$LAB_APPHOST_REL")/$tmpf" --numeric --sddl 2>&1 | sed 's/^O:[^G]*//')
           check "the temp file holding the new content has the target's DACL (with its explicit entry)" \
             bash -c 'test "$1" == "$2" && grep -qF "(A;;0x001f01ff;;;BA)" <<<"$3"' _ "$($PY norm "$acl_tmp")" "$($PY norm "$acl_target")" "$acl_tmp"
         fi ;;
    3) check "crash after step 3 (the window): no target, old content complete in the backup, new complete in the temp" \
         bash -c '! test -e "$1" && cmp -s "$2" "$3" && cmp -s "$4" "$5"' _ "$CONF_PATH" "$CONF_DIR/$bakf" "$WORK/new.config" "$CONF_DIR/$tmpf" "$WORK/old.config" ;;
    4) check "crash after step 4: target has the new content, the backup the old" \
         bash -c 'cmp -s "$1" "$2" && cmp -s "$3" "$4" && test -z "$5"' _ "$CONF_PATH" "$WORK/old.config" "$CONF_DIR/$bakf" "$WORK/new.config" "$tmpf" ;;
  esac
done
rm -f "$CONF_DIR"/*.provision-bak-* "$CONF_DIR"/.*.provision-tmp-*
cp "$WORK/old.config" "$CONF_PATH"

section_done 6

# ------------------------------------------------------------------ stop
if "$LAB" stop "$LABDIR" >"$WORK/lab-stop.log" 2>&1; then
  pass "lab stopped, nothing left in its namespaces"
else
  fail "lab stop"
  sed 's/^/      | /' "$WORK/lab-stop.log"
fi
summary
