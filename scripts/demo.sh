#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job on the built-in lab domain: builds provision, starts a
# throwaway Samba AD DC with its [iis] share (standing in for an IIS host's
# C$, holding a real Windows Server 2016 applicationHost.config) and
# provisions the example sites into that host's configuration: validate,
# plan, apply, re-apply (no change), list, then reads the result back over
# SMB as a client of the share would, destroys the sites and checks the file
# is byte for byte the original again. Stops the lab on exit. Needs root.
#
# Today provision edits the share's file in place through the lab's
# folder (the way a mount of C$ or the tool on the host itself would);
# the smb:// back end and AD accounts land with the next issues.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (the lab domain needs namespaces)" >&2; exit 1; }

echo "== building"
provision=$("$repo/scripts/build.sh")

lab=$(mktemp -d /tmp/provision-lab.XXXXXX)
cleanup() { "$repo/tests/lab/lab.sh" stop "$lab" >/dev/null || true; rm -rf "$lab"; }
trap cleanup EXIT
echo "== starting the lab domain in $lab"
"$repo/tests/lab/lab.sh" start "$lab"
# shellcheck disable=SC1091
source "$lab/lab.env"

config="$LAB_IIS_PATH/$LAB_APPHOST_REL"
work=$lab/provision
mkdir -p "$work"
cat > "$work/provision.ini" <<CONF
[iis]
config = $config
backups = 5
[content]
root = D:\\Sites
[templates]
dir = $repo/templates
[directory]
netbios = $LAB_DOMAIN
CONF
sites=$repo/examples/sites.ini
run() { echo; echo "\$ provision $*"; "$provision" -c "$work/provision.ini" "$@"; }

run validate "$sites"
run plan "$sites"
run apply "$sites"
run apply "$sites"
run list

echo
echo "== the IIS host's applicationHost.config, read back over SMB (//$LAB_HOST/iis):"
"$repo/tests/lab/lab.sh" exec "$lab" -- smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_IIS" \
  -c "get $LAB_APPHOST_REL $work/from-smb.config" >/dev/null
diff "$repo/tests/fixtures/applicationHost.server2016-default.config" "$work/from-smb.config" \
  | tr -d '\r' || true

run destroy "$sites"
if cmp -s "$config" "$repo/tests/fixtures/applicationHost.server2016-default.config"; then
  echo; echo "== destroy returned applicationHost.config to its original bytes"
else
  echo "demo: the configuration differs from the original after destroy" >&2
  exit 1
fi
