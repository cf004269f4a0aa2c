# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced (after lab.env) by the scripts that run provision against the lab:
# prints a provision.ini for it.
#   lab_provision_conf REPO CONFIG [LOCATION] [LINE...]
# CONFIG: applicationHost.config (a path, or smb://... on the [iis] share);
# LOCATION: the [content] location ("" for none); each LINE is appended as
# it is, so callers add keys to [directory] or open another section
# ("[iis]", "backups = 2").
# provision runs as the lab's least-privilege operator (LAB_OP_*: the LDAP
# bind and both SMB logins), never as Administrator, whom Samba maps to root
# and so exempts from every NT ACL check; the Administrator stays for the
# tests' own set-up and verification. A lab.env without an operator (a lab
# started by an older lab.sh) falls back to the Administrator.
lab_provision_conf() {
  local repo=$1 config=$2 location=${3:-}
  local bind=${LAB_OP_UPN:-$LAB_ADMIN_UPN} pwfile=${LAB_OP_PASSWORD_FILE:-$LAB_ADMIN_PASSWORD_FILE}
  local auth=${LAB_OP_SMB_AUTHFILE:-$LAB_SMB_AUTHFILE}
  shift 2
  [ $# -gt 0 ] && shift
  printf '[iis]\nconfig = %s\nplain_passwords = accept\n' "$config"
  case $config in smb://*) printf 'auth_file = %s\n' "$auth" ;; esac
  printf '[content]\nroot = D:\\Sites\n'
  [ -n "$location" ] && printf 'location = %s\nauth_file = %s\n' "$location" "$auth"
  printf '[templates]\ndir = %s\n' "$repo/templates"
  printf '[directory]\nnetbios = %s\nuri = %s\nca_file = %s\nbind_dn = %s\n' \
    "$LAB_DOMAIN" "$LAB_LDAPS_URI" "$LAB_CA" "$bind"
  printf 'password_file = %s\nbase_dn = %s\nupn_suffix = %s\n' \
    "$pwfile" "$LAB_BASE_DN" "$LAB_DNS_DOMAIN"
  local line
  for line in "$@"; do printf '%s\n' "$line"; done
}
