#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the lab domain
# need. Safe to run again. Run as root.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  # libraries the tool links against
  libxml2-dev libinih-dev nettle-dev libldap2-dev libsasl2-dev libsmbclient-dev
  libsasl2-modules-gssapi-mit
  # tests
  libcmocka-dev libxml2-utils xmlstarlet openssl python3
  # the lab domain (Samba AD DC, clients, ntfs-3g volume)
  samba samba-ad-provision samba-dsdb-modules samba-vfs-modules smbclient winbind ldap-utils
  krb5-user ntfs-3g iproute2 util-linux procps psmisc
  # fault tests: packet drops inside the lab's network namespace
  nftables
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (it installs Debian packages)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
