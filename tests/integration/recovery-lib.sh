# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced (after lab-test.sh's lab_test_begin) by the recovery smoke test
# and the crash campaign: a batch of AD-identity sites r1..rN with folders
# and grants over smb:// and applicationHost.config over smb:// on the
# lab's [iis] share, and the classification of every site after a run was
# killed and recovered.
#   rec_setup N            conf, site list, state folder; config = fixture
#   rec_classify           sets whole, absent, half (counts) and half_list;
#                          every site must be whole or absent
#   rec_config_pristine    true when the config holds the fixture's bytes
# A site is whole when the directory has IUSR_rK, its folder exists on the
# share, the config names it, and `provision plan` sees nothing to change for
# it (its grants, pool and site are as the template says). It is absent when
# none of the four holds (plan would create everything; the folders are
# removed by destroy --remove-folders, which the tests use). Anything else
# is half. The first three are read without provision (ldapsearch, the share's
# folder, the config's bytes); the fourth is provision's own reading of the
# grants and settings.

rec_setup() {
  N=$1
  STATE=$work/state
  export PROVISION_STATE_DIR=$STATE
  CFG_URL="smb://$LAB_HOST/iis/$LAB_APPHOST_REL"
  CFG=$LAB_IIS_PATH/$LAB_APPHOST_REL
  lab_provision_conf "$repo" "$CFG_URL" "smb://$LAB_HOST/sites" \
    "secrets_file = $work/secrets" "[iis]" "backups = 2" > "$work/provision.ini"
  : > "$work/sites.ini"
  for k in $(seq 1 "$N"); do
    printf '[site r%d.example.com]\ntemplate = ad-identity\nid = r%d\n' "$k" "$k" >> "$work/sites.ini"
  done
}

prov() { in_lab env PROVISION_STATE_DIR="$STATE" ${HOOK:+PROVISION_TEST_HOOK=$HOOK} "$P" -c "$work/provision.ini" "$@"; }

rec_config_pristine() { cmp -s "$CFG" "$FIXTURE"; }

rec_classify() {
  local accounts plan k name has_acct has_dir has_cfg plan_state
  whole=0 absent=0 half=0 half_list=""
  accounts=$(in_lab ldapsearch -LLL -o ldif-wrap=no -H "$LAB_LDAPS_URI" -D "$LAB_ADMIN_UPN" \
    -y "$LAB_ADMIN_PASSWORD_FILE" -b "$LAB_BASE_DN" '(sAMAccountName=IUSR_r*)' sAMAccountName 2>&1 |
    awk '/^sAMAccountName:/ { print $2 }')
  plan=$(in_lab env PROVISION_STATE_DIR="$STATE" "$P" -c "$work/provision.ini" --json plan \
    "$work/sites.ini" 2>/dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for s in doc["sites"]:
    ops = {(c["op"], c["kind"]) for c in s["changes"]}
    if s["status"] == "unchanged":
        state = "none"
    elif {("+", "account"), ("+", "pool"), ("+", "site"), ("+", "location")} <= ops and \
            all(op == "+" or kind == "grant" for op, kind in ops):
        # everything to make (a new isolated folder also shows "~ grant":
        # inheritance inherited -> protected)
        state = "all"
    else:
        state = "some:" + ",".join(sorted(op + k for op, k in ops))
    print(s["name"], state)')
  for k in $(seq 1 "$N"); do
    name=r$k.example.com
    has_acct=0 has_dir=0 has_cfg=0
    grep -qx "IUSR_r$k" <<<"$accounts" && has_acct=1
    [ -d "$LAB_SITES_PATH/$name" ] && has_dir=1
    grep -q "<site name=\"$name\"" "$CFG" 2>/dev/null && has_cfg=1
    plan_state=$(awk -v n="$name" '$1 == n { print $2 }' <<<"$plan")
    if [ "$has_acct$has_dir$has_cfg" = 111 ] && [ "$plan_state" = none ]; then
      whole=$((whole + 1))
    elif [ "$has_acct$has_dir$has_cfg" = 000 ] && [ "$plan_state" = all ]; then
      absent=$((absent + 1))
    else
      half=$((half + 1))
      half_list+=" $name(account=$has_acct,folder=$has_dir,config=$has_cfg,plan=$plan_state)"
    fi
  done
}
