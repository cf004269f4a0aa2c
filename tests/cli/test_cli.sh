#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Command-line tests: the provision binary on copies of the real fixtures.
# Each bad input must give a clear error (file, line or object) and leave
# the configuration byte-identical. Usage: test_cli.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: test_cli.sh BUILD_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
P=$build/bin/provision
SCHEMA_CHECK=$build/bin/schema_check
SCHEMA=$repo/tests/fixtures/IIS_schema.server2016.xml
FIX=$repo/tests/fixtures
[ -x "$P" ] && [ -x "$SCHEMA_CHECK" ] || { echo "test_cli: build first ($P)"; exit 1; }

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

work=$(mktemp -d)
export PROVISION_STATE_DIR=$work/state
trap 'rm -rf "$work"' EXIT

# A fresh work folder: config copy, conf file, templates, site list.
setup() {
  rm -rf "$work/w"; mkdir -p "$work/w"; cd "$work/w" || exit 1
  cp "$FIX/${1:-applicationHost.server2016-default.config}" applicationHost.config
  chmod 644 applicationHost.config
  cp -r "$repo/templates" templates
  cat > provision.ini <<CONF
[iis]
config = applicationHost.config
backups = 3
[content]
root = D:\\Sites
[templates]
dir = templates
[directory]
netbios = LAB
CONF
  cp "$repo/examples/sites.ini" sites.ini
  cp applicationHost.config original.config
}

same_as_original() { cmp -s applicationHost.config original.config; }

# expect_fail NAME EXIT_CODE MESSAGE_PART -- provision args...
expect_fail() {
  local name=$1 code=$2 msg=$3; shift 4
  local out rc
  out=$("$P" -c provision.ini "$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ]; then bad "$name: exit $rc, wanted $code: $out"; return; fi
  if ! grep -qF -- "$msg" <<<"$out"; then bad "$name: message lacks '$msg': $out"; return; fi
  if ! same_as_original; then bad "$name: the config changed"; return; fi
  ok "$name"
}

# --- the happy path -------------------------------------------------------
setup
out=$("$P" -c provision.ini validate sites.ini) && grep -q "2 sites valid" <<<"$out" \
  && ok "validate" || bad "validate: $out"

out=$("$P" -c provision.ini plan sites.ini); rc=$?
[ $rc -eq 0 ] && same_as_original && grep -q "+ site shop.example.com" <<<"$out" \
  && grep -q "+ pool static.example.com" <<<"$out" \
  && ok "plan shows + and changes nothing" || bad "plan (rc $rc): $out"

out=$("$P" -c provision.ini --json plan sites.ini) && python3 -m json.tool <<<"$out" >/dev/null \
  && grep -q '"op":"+"' <<<"$out" && ok "plan --json is JSON" || bad "plan --json: $out"

out=$("$P" -c provision.ini apply sites.ini); rc=$?
[ $rc -eq 0 ] && ! same_as_original && ok "apply" || bad "apply (rc $rc): $out"
"$SCHEMA_CHECK" "$SCHEMA" applicationHost.config >/dev/null 2>"$work/schema.err" \
  && ok "applied config validates against the IIS 10 schema" \
  || bad "schema: $(cat "$work/schema.err")"
grep -q '<anonymousAuthentication userName="" />' applicationHost.config \
  && grep -q '<anonymousAuthentication userName="IUSR" />' applicationHost.config \
  && ok "anonymous identity per site (pool / IUSR)" || bad "anonymous identity"
grep -q 'virtualDirectory path="/" physicalPath="D:\\Sites\\shop.example.com\\wwwroot" />' \
  applicationHost.config && ok "root directory connects as the application user" \
  || bad "pass-through vdir"
[ "$(stat -c %a applicationHost.config)" = 644 ] && ok "file mode kept" || bad "file mode"
ls applicationHost.config.*.bak >/dev/null 2>&1 && [ "$(stat -c %a applicationHost.config.*.bak)" = 600 ] \
  && cmp -s applicationHost.config.*.bak original.config && ok "backup of the original, mode 0600" \
  || bad "backup"
# (the backup is the original's inode under a second name, then alone)
[ "$(stat -c %h applicationHost.config.*.bak)" = 1 ] && [ "$(stat -c %h applicationHost.config)" = 1 ] \
  && ok "backup and config are separate files" || bad "link counts"

cp applicationHost.config applied.config
out=$("$P" -c provision.ini apply sites.ini); rc=$?
[ $rc -eq 0 ] && cmp -s applicationHost.config applied.config && grep -q "No changes" <<<"$out" \
  && [ "$(ls applicationHost.config.*.bak | wc -l)" = 1 ] \
  && ok "re-apply changes nothing, byte for byte" || bad "re-apply (rc $rc): $out"

out=$("$P" -c provision.ini list) && grep -q "shop.example.com" <<<"$out" \
  && grep -q "anonymous IUSR" <<<"$out" && ok "list" || bad "list: $out"
out=$("$P" -c provision.ini --json list) && python3 -c '
import json,sys; d=json.load(sys.stdin); names=[s["name"] for s in d["sites"]]
assert names == ["Default Web Site","shop.example.com","static.example.com"], names
s=d["sites"][1]; assert s["anonymous_user"]=="" and s["identity"]=="ApplicationPoolIdentity", s
' <<<"$out" && ok "list --json" || bad "list --json: $out"

# A change in the site list is applied in place.
sed -i 's/^id = shop$/id = shop\nsite.bindings = http\/*:8080:shop.example.com/' sites.ini
out=$("$P" -c provision.ini apply sites.ini); rc=$?
[ $rc -eq 0 ] && grep -q "~ site shop.example.com" <<<"$out" \
  && grep -q 'bindingInformation="\*:8080:shop.example.com"' applicationHost.config \
  && ! grep -q 'bindingInformation="\*:80:www.shop.example.com"' applicationHost.config \
  && ok "changed bindings are applied (~)" || bad "update (rc $rc): $out"

out=$("$P" -c provision.ini destroy sites.ini); rc=$?
[ $rc -eq 0 ] && same_as_original && ok "destroy restores the exact original bytes" \
  || bad "destroy (rc $rc): $out"
out=$("$P" -c provision.ini destroy sites.ini); rc=$?
[ $rc -eq 0 ] && grep -q "No changes" <<<"$out" && ok "destroy again: nothing to do" \
  || bad "destroy twice (rc $rc): $out"
[ "$(ls applicationHost.config.*.bak | wc -l)" = 3 ] && ok "backups pruned to 3" \
  || bad "backups: $(ls applicationHost.config.*.bak | wc -l)"

# The reverse-proxy host: LF-free CRLF file with an existing location.
setup applicationHost.reverse-proxy.config
"$P" -q -c provision.ini apply sites.ini && "$SCHEMA_CHECK" "$SCHEMA" applicationHost.config >/dev/null \
  && "$P" -q -c provision.ini destroy sites.ini && same_as_original \
  && ok "reverse-proxy fixture: apply validates, destroy restores" || bad "reverse-proxy round trip"

# --- exit codes and the sid command ---------------------------------------
setup
out=$("$P" sid 'IIS AppPool\DefaultAppPool' IUSR 'IIS_IUSRS') \
  && grep -q "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415" <<<"$out" \
  && grep -q "S-1-5-17" <<<"$out" && grep -q "S-1-5-32-568" <<<"$out" \
  && ok "sid" || bad "sid: $out"
"$P" --version | grep -q '^provision [0-9]' && ok "--version" || bad "--version"
"$P" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] && ok "unknown command: exit 2" || bad "unknown command"
"$P" -c provision.ini apply >/dev/null 2>&1; [ $? -eq 2 ] && ok "missing argument: exit 2" || bad "missing argument"

cat > partial.ini <<'EOF2'
[site good.example.com]
template = standard
[site clash.example.com]
template = standard
site.bindings = http/*:80:
EOF2
out=$("$P" -c provision.ini apply partial.ini 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "good.example.com" applicationHost.config \
  && ! grep -q 'name="clash.example.com"' applicationHost.config \
  && grep -q "already used by site 'Default Web Site'" <<<"$out" \
  && ok "partial failure: exit 3, the good site applied, the bad one not" \
  || bad "partial (rc $rc): $out"

# --- bad input: clear errors, nothing changed -------------------------------
setup
printf '<configuration><sites>' > broken.config
cp broken.config applicationHost.config; cp broken.config original.config
expect_fail "malformed XML" 2 "applicationHost.config:1: malformed XML" -- plan sites.ini
expect_fail "malformed XML (apply)" 2 "malformed XML" -- apply sites.ini
printf '<?xml version="1.0"?>\r\n<configuration>\r\n</configuration>\r\n' > applicationHost.config
cp applicationHost.config original.config
expect_fail "config without sites or pools" 2 "not an applicationHost.config" -- apply sites.ini
printf '<?xml version="1.0"?>\n<!DOCTYPE configuration [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<configuration>&x;</configuration>\n' > applicationHost.config
cp applicationHost.config original.config
expect_fail "DTD / external entity" 2 "DTD" -- apply sites.ini
: > applicationHost.config; cp applicationHost.config original.config
expect_fail "empty config" 2 "empty" -- apply sites.ini
printf '<configuration a="\xff"/>' > applicationHost.config; cp applicationHost.config original.config
expect_fail "invalid UTF-8 config" 2 "invalid UTF-8" -- apply sites.ini
truncate -s 300M applicationHost.config; cp --sparse=always applicationHost.config original.config
expect_fail "very large config" 1 "larger than" -- apply sites.ini

setup
printf '[pool]\nnmae = x\n' > templates/typo.ini
printf '[site t.example.com]\ntemplate = typo\n' > t.ini
expect_fail "unknown template key" 2 "typo.ini:2: unknown key 'nmae' in [pool]" -- validate t.ini
expect_fail "unknown template key (apply)" 2 "unknown key 'nmae'" -- apply t.ini
printf '[pools]\nname = x\n' > templates/typo.ini
expect_fail "unknown template section" 2 "typo.ini:1: unknown section [pools]" -- apply t.ini
printf '[pool]\nname = x\n' > templates/typo.ini
expect_fail "missing required key" 2 "site.path" -- apply t.ini
printf '[template]\nextends = loop2\n' > templates/loop1.ini
printf '[template]\nextends = loop1\n' > templates/loop2.ini
printf '[site t.example.com]\ntemplate = loop1\n' > t.ini
expect_fail "extends cycle" 2 "cycle" -- apply t.ini
printf '[template]\nextends = standard\n[site]\npath = D:\\${nothere}\n' > templates/undef.ini
printf '[site t.example.com]\ntemplate = undef\n' > t.ini
expect_fail "undefined variable" 2 "undef.ini:4: site.path (site 't.example.com'): undefined variable \${nothere}" -- apply t.ini
printf '[template]\nextends = standard\n[site]\npath = D:\\caf\xe9\n' > templates/latin1.ini
printf '[site t.example.com]\ntemplate = latin1\n' > t.ini
expect_fail "invalid UTF-8 template" 2 "latin1.ini:4: invalid UTF-8" -- apply t.ini
: > templates/empty.ini
printf '[site t.example.com]\ntemplate = empty\n' > t.ini
expect_fail "empty template" 2 "required" -- apply t.ini
printf '[site bad/name]\ntemplate = standard\n' > t.ini
expect_fail "forbidden characters in a site name" 2 "t.ini:1: [site bad/name]: a site name cannot contain / or ?" -- apply t.ini
printf '[site t.example.com]\ntemplate = standard\npool.name = a;b\n' > t.ini
expect_fail "forbidden characters in a pool name" 2 "t.ini:3: pool.name" -- apply t.ini
printf '[site t.example.com]\ntemplate = ad-identity\nid = much-too-long-id\n' > t.ini
expect_fail "overlong account name" 2 "'IUSR_much-too-long-id': the account name (sAMAccountName) is longer than 20 characters" -- apply t.ini
printf '[site t.example.com]\ntemplate = standard\n[site T.example.com]\ntemplate = standard\n' > t.ini
expect_fail "duplicate sites in one list" 2 "t.ini:3: site 'T.example.com' is listed twice (also at t.ini:1)" -- apply t.ini
printf '[site t.example.com]\ntemplate = standard\n' > t1.ini
printf '[site t.example.com]\ntemplate = static\n' > t2.ini
expect_fail "duplicate sites across lists" 2 "listed twice" -- apply t1.ini t2.ini
printf '[site t.example.com]\ntemplate = standard\nsite.bindings = http/*:80:\n' > t.ini
expect_fail "conflicting binding" 1 "binding http/*:80: is already used by site 'Default Web Site'" -- apply t.ini
printf '[site a.example.com]\ntemplate = standard\nsite.bindings = http/*:80:same\n[site b.example.com]\ntemplate = standard\nsite.bindings = http/*:80:SAME\n' > t.ini
out=$("$P" -c provision.ini plan t.ini 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "already used by site 'a.example.com'" <<<"$out" && same_as_original \
  && ok "conflicting bindings inside one batch" || bad "batch conflict (rc $rc): $out"
printf '[site t.example.com]\ntemplate = standard\nsite.id = 4294967296\n' > t.ini
expect_fail "site id out of range" 2 "must be a whole number from 1 to 4294967295" -- apply t.ini
printf '[site t.example.com]\ntemplate = standard\nsite.id = 1\n' > t.ini
expect_fail "site id in use" 1 "id 1 is already used by site 'Default Web Site'" -- apply t.ini
printf '[site t.example.com]\ntemplate = standard\nsite.bindings = http/*:70000:t\n' > t.ini
expect_fail "binding syntax" 2 "the port must be a number from 1 to 65535" -- apply t.ini
printf '[site t.example.com]\ntemplate = standard\nsite.bindings = https/*:443:;sni\n' > t.ini
expect_fail "SNI without host" 2 "SNI needs a host name" -- apply t.ini
{ printf '[site t.example.com]\ntemplate = standard\nsite.bindings = '; for i in $(seq 30); do printf 'http/*:80:h%02d.example.com, ' "$i"; done; echo; } > t.ini
expect_fail "line longer than inih's buffer" 2 "t.ini:3: line too long" -- apply t.ini
printf '[site t.example.com]\ntemplate = standard\n  id = x\n' > t.ini
expect_fail "continuation line" 2 "t.ini:3: indented line" -- apply t.ini
printf '[iis]\nconfig = applicationHost.config\nbackup = 3\n' > bad-conf.ini
out=$("$P" -c bad-conf.ini validate sites.ini 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "bad-conf.ini:3: unknown key 'backup' in \[iis\]" <<<"$out" \
  && ok "unknown configuration key" || bad "conf key (rc $rc): $out"
printf '[site t.example.com]\ntemplate = ad-identity\nid = t\n' > t.ini
expect_fail "account identity needs plain_passwords = accept" 1 "set [iis] plain_passwords = accept" -- apply t.ini
sed -i 's/^backups = 3$/backups = 3\nplain_passwords = accept/' provision.ini
expect_fail "account identity without a directory" 1 "identity = account needs a [directory] section" -- plan t.ini

# The seed scenario: who serves static files must be able to read them.
printf '[template]\nextends = standard\n[site]\nanonymous = iusr\n' > templates/iusr-no-read.ini
printf '[site t.example.com]\ntemplate = iusr-no-read\n' > t.ini
expect_fail "anonymous IUSR without Read (the 401 on CSS/JS)" 2 "IUSR gets no Read on the files of D:\\Sites\\t.example.com\\wwwroot: static files such as CSS and JS would answer 401" -- plan t.ini
printf '[site t.example.com]\ntemplate = static\ngrants.wwwroot = pool:(OI)(CI)RX, deny Everyone:(OI)(CI)R, anonymous:(OI)(CI)R\n' > t.ini
expect_fail "a deny on the content for IUSR" 2 "IUSR is denied Read on" -- validate t.ini
printf '[site t.example.com]\ntemplate = standard\ngrants.wwwroot = pool:(CI)RX\n' > t.ini
expect_fail "pool identity cannot read its root" 2 "IIS AppPool\\t.example.com gets no Read on the files of" -- apply t.ini

# Someone holds the lock (in the state folder, one per target): refuse,
# change nothing.
lockfile=$(ls "$PROVISION_STATE_DIR"/config-*.lock | head -1)
[ -f "$lockfile" ] && [ ! -e applicationHost.config.lock ] && ok "the run lock is in the state folder" \
  || bad "run lock: $lockfile"
( flock -x 9; sleep 3 ) 9>"$lockfile" &
sleep 0.5
expect_fail "another run holds the lock" 1 "another provision run is changing this file" -- apply sites.ini
wait

# A big site list: many sites in one run, then all gone again.
{ for i in $(seq 1 300); do printf '[site s%03d.example.com]\ntemplate = standard\n\n' "$i"; done; } > many.ini
"$P" -q -c provision.ini apply many.ini && [ "$("$P" -c provision.ini list | tail -1)" = "301 sites" ] \
  && "$SCHEMA_CHECK" "$SCHEMA" applicationHost.config >/dev/null \
  && "$P" -q -c provision.ini destroy many.ini && same_as_original \
  && ok "300-site batch: apply, validate, destroy to the original" || bad "300-site batch"

# The schema checker itself catches what it should.
sed 's/identityType="ApplicationPoolIdentity"/identityType="Bogus"/; s/<add name="DefaultAppPool" \/>/<add name="DefaultAppPool" bogusAttribute="1" \/>/' \
  original.config > tampered.config
if "$SCHEMA_CHECK" "$SCHEMA" tampered.config >/dev/null 2>"$work/tampered.err" ; then
  bad "schema_check accepted a tampered config"
else
  grep -q "Bogus" "$work/tampered.err" && grep -q "bogusAttribute" "$work/tampered.err" \
    && ok "schema_check catches bad enum values and undeclared attributes" \
    || bad "schema_check output: $(cat "$work/tampered.err")"
fi

# --- the command table: usage, help, options ------------------------------
setup
commands="validate plan apply destroy list check import sid recover help"
out=$("$P" --help); rc=$?
missing=""
for c in $commands; do grep -qE "^  $c( |\$)" <<<"$out" || missing="$missing $c"; done
[ $rc -eq 0 ] && [ -z "$missing" ] && ok "--help lists every command" \
  || bad "--help (rc $rc) lacks:$missing: $out"
[ "$("$P" -h)" = "$out" ] && [ "$("$P" help)" = "$out" ] \
  && ok "-h and help print the same usage as --help" || bad "-h / help differ from --help"
err=$("$P" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && grep -qE "^  recover( |\$)" <<<"$err" && ok "no command: exit 2, the usage on stderr" \
  || bad "no command (rc $rc): $err"
out=$("$P" help apply); rc=$?
[ $rc -eq 0 ] && grep -q -- "--plan FILE" <<<"$out" && grep -q -- "--rotate-passwords" <<<"$out" \
  && ! grep -q -- "--remove-folders" <<<"$out" && grep -q "the IIS configuration" <<<"$out" \
  && ok "help apply: --plan, --rotate-passwords, what it opens" || bad "help apply (rc $rc): $out"
out=$("$P" help plan) && grep -q -- "-o, --output FILE" <<<"$out" \
  && grep -q "usage: provision \[OPTIONS\] plan \[-o FILE\] \[--deep\] \[--timings\] SITES\.\.\." <<<"$out" \
  && [ "$("$P" plan --help)" = "$out" ] && ok "help plan: -o, --deep; plan --help is the same" \
  || bad "help plan: $out"
out=$("$P" help list) && ! grep -q "site lists" <<<"$out" && grep -q "the IIS configuration" <<<"$out" \
  && ok "help list: opens the IIS configuration, no site lists" || bad "help list: $out"
out=$("$P" help nosuch 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "no command 'nosuch'" <<<"$out" && ok "help nosuch: exit 2" \
  || bad "help nosuch (rc $rc): $out"
expect_fail "-o with apply" 2 "-o is only for plan and import, not apply" -- -o out.plan apply sites.ini
expect_fail "--output after destroy" 2 "--output is only for plan and import, not destroy" -- destroy --output out.plan sites.ini
expect_fail "apply with --plan and site lists" 2 "not both" -- apply --plan X sites.ini
expect_fail "apply with neither site lists nor --plan" 2 "apply needs site lists or --plan FILE" -- apply
expect_fail "--plan with plan" 2 "--plan is only for apply, not plan" -- plan --plan X sites.ini
expect_fail "--rotate-passwords with destroy" 2 "--rotate-passwords is only for apply, not destroy" -- destroy --rotate-passwords sites.ini
expect_fail "--remove-folders with apply" 2 "--remove-folders is only for destroy, not apply" -- --remove-folders apply sites.ini
expect_fail "-o without a file" 2 "-o needs a file name" -- plan sites.ini -o
expect_fail "list takes no arguments" 2 "list takes no arguments" -- list sites.ini
out=$("$P" -c provision.ini validate -q sites.ini); rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && ok "an option after the command (validate -q)" \
  || bad "validate -q (rc $rc): $out"
out=$("$P" validate sites.ini -c provision.ini); rc=$?
[ $rc -eq 0 ] && grep -q "2 sites valid" <<<"$out" && ok "-c CONF after the site lists" \
  || bad "validate ... -c (rc $rc): $out"
out=$("$P" -c provision.ini validate -- -q 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q -- "-q" <<<"$out" && ! grep -q "sites valid" <<<"$out" \
  && ok "-- ends the options (-q is then a site list)" || bad "validate -- -q (rc $rc): $out"
out=$("$P" -c provision.ini plan -o "$work/out.plan" sites.ini); rc=$?
[ $rc -eq 0 ] && same_as_original && grep -q "+ site shop.example.com" <<<"$out" \
  && ok "plan -o FILE SITES... is accepted" || bad "plan -o (rc $rc): $out"

# A queued edit overlapping another is an internal error reported like any
# other (no abort, nothing printed by the library, nothing written). No
# known input does it any more (an empty <site/> once did): the fault hook
# stands in for such a bug, so that it cannot leave anything half-done.
setup
export PROVISION_TEST_HOOK=fail:render:1
expect_fail "overlapping edits: an internal error, nothing written" 1 "internal error: two edits of this run overlap" -- apply sites.ini
out=$("$P" -c provision.ini apply sites.ini 2>&1)
unset PROVISION_TEST_HOOK
grep -q "apply: 0 created, 0 changed, 0 removed; 0 sites unchanged, 2 failed." <<<"$out" \
  && ok "a failed write counts nothing as created" || bad "summary after a failed write: $out"
# A state folder others can write is refused; the summary does not claim
# "No changes" after such an error.
mkdir -m 777 "$work/open-state"
out=$(PROVISION_STATE_DIR=$work/open-state "$P" -c provision.ini apply sites.ini 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "writable by group or others" <<<"$out" && ! grep -q "No changes" <<<"$out" \
  && same_as_original && ok "a shared state folder is refused; no 'No changes' after the error" \
  || bad "open state folder (rc $rc): $out"

# list, plan and validate never recover: they say a journal waits.
setup
mkdir -p "$PROVISION_STATE_DIR/journals"
printf 'provision-journal\t1\nbegin\t-\trun=x\tpid=1\tcommand=apply\tconfig=%s\n' "$PWD/applicationHost.config" \
  > "$PROVISION_STATE_DIR/journals/x.journal"
for cmd in list "validate sites.ini" "plan sites.ini"; do
  out=$("$P" -c provision.ini $cmd 2>&1); rc=$?
  [ $rc -eq 0 ] && grep -q "1 journal of interrupted or running provision runs" <<<"$out" \
    && [ -f "$PROVISION_STATE_DIR/journals/x.journal" ] && same_as_original \
    && ok "$cmd mentions the waiting journal and leaves it" || bad "$cmd with a waiting journal (rc $rc): $out"
done
rm -f "$PROVISION_STATE_DIR/journals/x.journal"

# A FIFO (or any special file) as the config is refused before it is read:
# no hang, no lock file beside it.
setup
rm applicationHost.config; mkfifo applicationHost.config
for cmd in plan apply; do
  out=$(timeout 10 "$P" -c provision.ini $cmd sites.ini 2>&1); rc=$?
  [ $rc -eq 1 ] && grep -q "not a regular file; refused" <<<"$out" && [ ! -e applicationHost.config.lock ] \
    && ok "$cmd refuses a FIFO as the config" || bad "$cmd with a FIFO config (rc $rc): $out"
done

# sid --json is one valid document even with names it cannot resolve; each
# such name carries its errors; the configuration is read once.
setup
out=$("$P" -c provision.ini --json sid nobody 'LAB\x' 'LAB\y' IUSR 2>"$work/sid.err"); rc=$?
[ $rc -eq 2 ] && [ ! -s "$work/sid.err" ] && python3 -c '
import json, sys
d = json.loads(sys.argv[1])
s = d["sids"]
assert d["version"] == 1 and [x["name"] for x in s] == ["nobody", "LAB\\x", "LAB\\y", "IUSR"]
assert s[0]["errors"][0]["class"] == "input" and s[1]["errors"][0]["class"] == "directory"
assert s[3]["sid"] == "S-1-5-17"' "$out" && ok "sid --json: one valid document, errors per name, exit 2" \
  || bad "sid --json (rc $rc): $out $(cat "$work/sid.err")"

# No silent limits: a list key may repeat more than 256 times; a section
# name longer than inih keeps is refused with the limit.
setup
{ printf '[site many.example.com]\ntemplate = standard\n'
  for i in $(seq 1 300); do printf 'site.bindings = http/*:8080:h%d.example.com\n' "$i"; done; } > t.ini
out=$("$P" -c provision.ini --json plan t.ini); rc=$?
n=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
ch = [c for c in d["sites"][0]["changes"] if c["kind"] == "site"][0]
print(len([a for a in ch["attributes"] if a["name"] == "bindings"][0]["new"].split(", ")))' "$out" 2>&1)
[ $rc -eq 0 ] && [ "$n" = 300 ] && ok "300 repeated site.bindings keys: all 300 bindings planned" \
  || bad "300 bindings (rc $rc): $n"
printf '[site %s.example.com]\ntemplate = standard\n' "$(printf 'x%.0s' $(seq 1 60))" > t.ini
expect_fail "a section name longer than inih keeps" 2 "t.ini:1: section name too long (77 bytes; at most 49)" -- validate t.ini

# A symbolic link as the config is refused (replacing it would leave its
# target unchanged), naming the target; the target is untouched.
setup
mv applicationHost.config real.config; ln -s real.config applicationHost.config
out=$("$P" -c provision.ini apply sites.ini 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "is a symbolic link to .*real.config; set \[iis\] config to the file itself" <<<"$out" \
  && [ -L applicationHost.config ] && cmp -s real.config original.config \
  && ok "a symlinked config is refused, its target untouched" || bad "symlinked config (rc $rc): $out"

# Control characters from input never reach the terminal raw.
setup
printf '[site a\033[31mred.example.com]\ntemplate = standard\nbell = \a\n' > t.ini
out=$("$P" -c provision.ini validate t.ini 2>&1); rc=$?
[ $rc -eq 2 ] && ! grep -q $'\033' <<<"$out" && ! grep -q $'\a' <<<"$out" && grep -qF '\x1b' <<<"$out" \
  && ok "control characters in input are escaped in messages" || bad "control characters (rc $rc): $(cat -v <<<"$out")"

# SMB timeouts are configuration keys, checked like any other.
setup
printf '[content]\ntimeout = 0\n' >> provision.ini
sed -i 's/^\[content\]$/[content]/' provision.ini
expect_fail "an SMB timeout out of range" 2 "timeout: must be a number of seconds from 1 to 3600" -- validate sites.ini

# --- existing site elements of every valid shape ------------------------
# An existing <site> may be empty, or hold empty <application/>, <bindings/>:
# apply completes it (no "overlapping edits"), the result passes the schema,
# and a second apply changes nothing.
shape_n=0
for shape in '<site name="shop.example.com" id="7" />' \
  '<site name="shop.example.com" id="7"><bindings /></site>' \
  '<site name="shop.example.com" id="7">\n<application path="/" />\n</site>' \
  '<site name="shop.example.com" id="7"><application path="/"><virtualDirectory path="/" /></application><bindings></bindings></site>' \
  '<site name="shop.example.com" id="7"><application path="/app" applicationPool="DefaultAppPool" /></site>'; do
  shape_n=$((shape_n + 1))
  setup
  sed -i "s|<sites>|<sites>\n            $shape|" applicationHost.config
  out=$("$P" -c provision.ini apply sites.ini 2>&1); rc=$?
  again=$("$P" -c provision.ini apply sites.ini 2>&1); rc2=$?
  if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && grep -q "^No changes: 2 sites already as described" <<<"$again" \
    && "$SCHEMA_CHECK" "$SCHEMA" applicationHost.config >/dev/null 2>&1 \
    && grep -q 'physicalPath="D:\\Sites\\shop.example.com\\wwwroot"' applicationHost.config; then
    ok "an existing site element of shape $shape_n is completed"
  else
    bad "site shape $shape_n (rc $rc/$rc2): $out / $again"
  fi
done

# --- every way a pool is referenced counts -----------------------------
# A site's own <applicationDefaults applicationPool=...> gives its
# applications without the attribute their pool: list shows it, and destroy
# does not remove a pool another site uses that way.
setup
"$P" -q -c provision.ini apply sites.ini
sed -i 's|<site name="Default Web Site" id="1">|<site name="Default Web Site" id="1">\n                <applicationDefaults applicationPool="shop.example.com" />|' applicationHost.config
sed -i 's|<application path="/">|<application path="/app"><virtualDirectory path="/" physicalPath="C:\\app" /></application><application path="/">|' applicationHost.config
grep -q '<applicationDefaults applicationPool="shop.example.com" />' applicationHost.config || bad "test set-up: no site-level applicationDefaults"
cp applicationHost.config original.config
out=$("$P" -c provision.ini --json list) && python3 -c '
import json,sys; d=json.load(sys.stdin); s=[x for x in d["sites"] if x["name"]=="Default Web Site"][0]
assert s["pool"]=="shop.example.com", s
' <<<"$out" && ok "list: a site's pool comes from its own applicationDefaults" || bad "list site-level default: $out"
# Even with no application using it, the site's default is a reference.
sed -i 's|<application path="/">|<application path="/" applicationPool="DefaultAppPool">|; s|<application path="/app">|<application path="/app" applicationPool="DefaultAppPool">|' applicationHost.config
out=$("$P" -c provision.ini destroy sites.ini 2>&1); rc=$?
[ $rc -eq 3 ] && grep -qF "pool 'shop.example.com' is also used by site 'Default Web Site'; nothing was removed" <<<"$out" \
  && grep -q '<add name="shop.example.com"' applicationHost.config && grep -q '<site name="shop.example.com"' applicationHost.config \
  && ! grep -q '<site name="static.example.com"' applicationHost.config \
  && ok "destroy keeps a pool another site uses through its applicationDefaults" || bad "destroy site-level default (rc $rc): $out"

# --- leftovers of killed runs ------------------------------------------
# A run killed while writing leaves .applicationHost.config.provision-PID-XXXXXX
# (a complete one holds the plain pool passwords). The next changing run,
# holding the lock, removes those of dead pids and keeps a live run's.
setup
sleep 0 & dead_pid=$!; wait $dead_pid
printf 'secret' > ".applicationHost.config.provision-$dead_pid-abcdef"
printf 'live' > ".applicationHost.config.provision-$$-ghijkl"
printf 'other' > ".other.config.provision-$dead_pid-abcdef"
out=$("$P" -c provision.ini plan sites.ini 2>&1)
[ -e ".applicationHost.config.provision-$dead_pid-abcdef" ] && ok "plan leaves temp files alone (it takes no lock)" \
  || bad "plan removed a temp file: $out"
out=$("$P" -c provision.ini apply sites.ini 2>&1); rc=$?
[ $rc -eq 0 ] && [ ! -e ".applicationHost.config.provision-$dead_pid-abcdef" ] \
  && [ -e ".applicationHost.config.provision-$$-ghijkl" ] && [ -e ".other.config.provision-$dead_pid-abcdef" ] \
  && grep -q "removed 1 temporary file(s) left by runs that died writing it" <<<"$out" \
  && ok "apply removes a dead run's temp file beside the config, and only that" || bad "dead temps (rc $rc): $out"
ls -a | grep -q '\.applicationHost\.config\.provision-[0-9]*-......$' && [ "$(ls -a | grep -c 'provision-')" = 2 ] \
  && ok "apply leaves no temp file of its own" || bad "temp files after apply: $(ls -a)"

# --- concurrent edits --------------------------------------------------
# Another tool writes the file between this run's read and its write (the
# run is stopped right before the replace: PROVISION_TEST_HOOK=stop:config:1).
# A change elsewhere is merged (both kept); one in an object the run
# changes stops the run, naming it, with nothing of the run written.
# stopped_run OUT -- ARGS: starts provision, waits until it stops itself.
run_pid=
stopped_run() {
  local out=$1; shift 2
  PROVISION_TEST_HOOK=stop:config:1 "$P" -c provision.ini "$@" >"$out" 2>&1 &
  run_pid=$!
  for _ in $(seq 1 600); do
    [ "$(awk '{print $3}' "/proc/$run_pid/stat" 2>/dev/null)" = T ] && return 0
    sleep 0.05
  done
  bad "the run did not stop at the hook"; kill -9 "$run_pid"; return 1
}
other_tool_edit() { # an atomic rewrite, as IIS Manager or appcmd would
  sed "$1" applicationHost.config > .other-tool.tmp && mv .other-tool.tmp applicationHost.config
}
setup
if stopped_run "$work/merge.out" -- apply sites.ini; then
  other_tool_edit 's|<site name="Default Web Site" id="1"|<site name="Default Web Site" id="1" serverAutoStart="false"|'
  kill -CONT "$run_pid"; wait "$run_pid"; rc=$?
  out=$(cat "$work/merge.out")
  [ $rc -eq 0 ] && grep -q 'serverAutoStart="false"' applicationHost.config \
    && grep -q '<site name="shop.example.com"' applicationHost.config && grep -q '<add name="static.example.com"' applicationHost.config \
    && grep -q "this run's edits were made again on the new content" <<<"$out" \
    && "$SCHEMA_CHECK" "$SCHEMA" applicationHost.config >/dev/null 2>&1 \
    && ok "concurrent edit elsewhere: merged, nothing of either writer lost" || bad "merge (rc $rc): $out"
fi
setup
if stopped_run "$work/conflict.out" -- apply sites.ini; then
  other_tool_edit 's|<add name="DefaultAppPool"|<add name="static.example.com" /><add name="DefaultAppPool"|'
  cp applicationHost.config original.config
  kill -CONT "$run_pid"; wait "$run_pid"; rc=$?
  out=$(cat "$work/conflict.out")
  [ $rc -eq 1 ] && same_as_original \
    && grep -q "another tool changed pool static.example.com since this run read the file; nothing was written" <<<"$out" \
    && ok "concurrent edit of a pool the run creates: refused, naming it; the other tool's file kept" || bad "conflict (rc $rc): $out"
fi
# A half-written file read back (another tool mid-write) is read again, not
# reported as malformed: truncated now, completed a moment later.
setup
if stopped_run "$work/half.out" -- apply sites.ini; then
  other_tool_edit 's|<site name="Default Web Site" id="1"|<site name="Default Web Site" id="1" serverAutoStart="false"|'
  cp applicationHost.config "$work/complete.config"
  head -c 3000 "$work/complete.config" > applicationHost.config
  kill -CONT "$run_pid"; sleep 0.3; cp "$work/complete.config" applicationHost.config
  wait "$run_pid"; rc=$?
  out=$(cat "$work/half.out")
  [ $rc -eq 0 ] && grep -q 'serverAutoStart="false"' applicationHost.config && grep -q '<site name="shop.example.com"' applicationHost.config \
    && ok "a config read half-written is read again until complete" || bad "half-written (rc $rc): $out"
fi

# --- messages in the order they explain each other ----------------------
# A site's "the directory is not available (see its error above)" comes
# after the directory's own error.
setup
cat >> provision.ini <<'CONF'
plain_passwords = accept
CONF
sed -i 's/^\[iis\]$/[iis]\nplain_passwords = accept/; $d' provision.ini
sed -i 's/^netbios = LAB$/netbios = LAB\nupn_suffix = lab.test\nuri = ldaps:\/\/127.0.0.1:1\nbase_dn = DC=lab,DC=test\nbind_dn = CN=x,DC=lab,DC=test\npassword_file = pw\ntimeout = 2/' provision.ini
printf 'x' > pw; chmod 600 pw
printf '[site ad.example.com]\ntemplate = ad-identity\nid = ad1\n' > ad.ini
out=$("$P" -c provision.ini apply ad.ini 2>&1 >/dev/null); rc=$?
ldap_line=$(grep -n "cannot connect to the LDAP server" <<<"$out" | cut -d: -f1)
site_line=$(grep -n "the directory is not available (see its error above)" <<<"$out" | cut -d: -f1)
[ $rc -eq 1 ] && [ -n "$ldap_line" ] && [ -n "$site_line" ] && [ "$ldap_line" -lt "$site_line" ] && same_as_original \
  && ok "the directory's error comes before the site message that refers to it" || bad "message order (rc $rc): $out"

# --- libraries loaded on first need ---------------------------------------
# libldap (with GnuTLS, SASL and the rest behind it) and libsmbclient are
# loaded with dlopen when a directory or an smb:// location is first used
# (ldap/ldap_api.h, provision/smb/smbc_api.h): provision does not link them,
# and a run without either never maps them. loaded_libs OUT ARGS...: runs
# provision with ARGS under LD_DEBUG=files; $rc, and the files ld.so loaded
# (one name a line) in OUT.
loaded_libs() {
  local list=$1; shift
  rm -rf "$work/lddebug"; mkdir "$work/lddebug"
  LD_DEBUG=files LD_DEBUG_OUTPUT=$work/lddebug/ld "$P" "$@" >/dev/null 2>&1; rc=$?
  cat "$work/lddebug"/ld.* 2>/dev/null | grep -o 'file=[^ ]*' | sed 's/^file=//' | sort -u > "$list"
}
linked=$(ldd "$P" 2>&1 | grep -E 'libldap|liblber|libgnutls|libsmbclient')
[ -z "$linked" ] && ok "provision links neither libldap, GnuTLS nor libsmbclient" \
  || bad "linked at start: $linked"
# The directory run above (a [directory] with a URI): libldap is loaded.
loaded_libs "$work/libs.txt" -c provision.ini apply ad.ini
[ $rc -eq 1 ] && grep -qx 'libldap-2.5.so.0' "$work/libs.txt" && same_as_original \
  && ok "a run with a directory loads libldap when it connects" \
  || bad "directory run (rc $rc) loaded: $(tr '\n' ' ' < "$work/libs.txt")"
# Without it (the library missing, here a file that is none): the run's
# directory error names the library and its package; nothing changes.
mkdir -p "$work/nolib"; echo "not a library" > "$work/nolib/libldap-2.5.so.0"
out=$(LD_LIBRARY_PATH=$work/nolib "$P" -c provision.ini apply ad.ini 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "ldap: cannot load libldap-2.5.so.0 (install the libldap-2.5-0 package): " <<<"$out" \
  && grep -q "the directory is not available (see its error above)" <<<"$out" && same_as_original \
  && ok "libldap missing: the directory's error names it and its package" \
  || bad "libldap missing (rc $rc): $out"
# A local config-only run ([directory] without a URI), and validate: neither
# library is mapped.
setup
loaded_libs "$work/libs.txt" -c provision.ini apply sites.ini
mapped=$(grep -E 'libldap|liblber|libgnutls|libsmbclient' "$work/libs.txt" | tr '\n' ' ')
[ $rc -eq 0 ] && [ -s "$work/libs.txt" ] && [ -z "$mapped" ] \
  && ok "a local apply maps neither libldap nor libsmbclient" \
  || bad "local apply (rc $rc) mapped: ${mapped:-(no LD_DEBUG output)}"
loaded_libs "$work/libs.txt" -c provision.ini validate sites.ini
mapped=$(grep -E 'libldap|liblber|libgnutls|libsmbclient' "$work/libs.txt" | tr '\n' ' ')
[ $rc -eq 0 ] && [ -s "$work/libs.txt" ] && [ -z "$mapped" ] \
  && ok "validate maps neither libldap nor libsmbclient" \
  || bad "validate (rc $rc) mapped: ${mapped:-(no LD_DEBUG output)}"

# Pool names and folders of two sites spelled in two cases, caught at
# validation (after templates are expanded), naming both origins.
setup
printf '[site a.example.com]\ntemplate = standard\npool.name = P\xc3\xb6\xc3\xb6l\n[site b.example.com]\ntemplate = standard\npool.name = P\xc3\x96\xc3\x96L\n' > t.ini
expect_fail "pool names of two sites in two cases" 2 "collides with pool" -- validate t.ini
printf '[site a.example.com]\ntemplate = standard\nfolders.data = D:\\Sites\\shared\\Data\n[site b.example.com]\ntemplate = standard\nfolders.data = D:\\Sites\\SHARED\\data\n' > t.ini
expect_fail "folders of two sites in two cases" 2 "collides with" -- validate t.ini

# [content] operator: a SID, kept with full control in isolated folders
setup
sed -i 's/^\[content\]$/[content]\noperator = bob/' provision.ini
expect_fail "[content] operator must be a SID" 2 "operator: must be a SID" -- validate sites.ini
setup
sed -i "s|^\[content\]\$|[content]\noperator = S-1-5-21-1-2-3-1105\nlocation = script:$work/w/grants.ps1|" provision.ini
out=$("$P" -c provision.ini apply sites.ini 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "S-1-5-21-1-2-3-1105:(OI)(CI)(F)" grants.ps1 \
  && [ "$(grep -c 'S-1-5-21-1-2-3-1105' grants.ps1)" = 2 ] \
  && grep -q "^apply: [0-9]* created, 0 changed" <<<"$out" \
  && ok "the operator keeps full control in each site's isolated folder; new sites are all +" || bad "operator grant (rc $rc): $out"

# --- one path rule, at validation --------------------------------------
# What apply's content back ends refuse, validate and plan refuse first,
# naming the file, line, key and site.
for bad_path in 'CON' 'a\\b' 'x.' '...' 'com1.txt'; do
  setup
  printf '[site shop.example.com]\ntemplate = standard\nfolders.data = D:\\Sites\\shop.example.com\\%s\n' "$bad_path" > bad.ini
  expect_fail "validate refuses folder path component '$bad_path'" 2 "bad.ini:3: folders.data (site 'shop.example.com'): " -- validate bad.ini
  expect_fail "plan refuses folder path component '$bad_path'" 2 "bad.ini:3: folders.data (site 'shop.example.com'): " -- plan bad.ini
done
setup
printf '[site shop.example.com]\ntemplate = standard\nsite.path = D:\\Sites\\NUL\\wwwroot\n' > bad.ini
expect_fail "validate refuses a DOS device name in the site's path" 2 "bad.ini:3: site.path (site 'shop.example.com'): a component is a DOS device name" -- validate bad.ini

# --- saved plans --------------------------------------------------------
# apply --plan executes the plan when nothing it relies on changed: the same
# bytes as a plain apply.
setup
"$P" -c provision.ini apply sites.ini >/dev/null && cp applicationHost.config "$work/direct.config"
cp original.config applicationHost.config
out=$("$P" -c provision.ini plan -o s.plan sites.ini); rc=$?
[ $rc -eq 0 ] && same_as_original && grep -q "plan saved to s.plan" <<<"$out" && [ "$(stat -c %a s.plan)" = 600 ] \
  && ! grep -qi "password=" s.plan && ok "plan -o writes a 0600 plan file and changes nothing" || bad "plan -o (rc $rc): $out"
[ "$(stat -c %a "$PROVISION_STATE_DIR/plan.key")" = 600 ] && ok "the plan key is 0600 in the state folder" \
  || bad "plan key mode: $(stat -c %a "$PROVISION_STATE_DIR/plan.key")"
out=$("$P" -c provision.ini apply --plan s.plan); rc=$?
[ $rc -eq 0 ] && cmp -s applicationHost.config "$work/direct.config" \
  && ok "apply --plan gives the bytes a plain apply gives" || bad "apply --plan (rc $rc): $out"
cp applicationHost.config original.config # from here on, "unchanged" means this
expect_fail "a saved plan applies once (its objects exist now)" 1 "changed since the plan: config site shop.example.com (it exists now)" -- apply --plan s.plan

# A change to an object the plan touches is refused, naming it.
setup
"$P" -c provision.ini plan -o s.plan sites.ini >/dev/null
sed -i 's|<add name="DefaultAppPool"|<add name="shop.example.com" /><add name="DefaultAppPool"|' applicationHost.config
cp applicationHost.config original.config
expect_fail "saved plan: a pool it creates appeared meanwhile" 1 "changed since the plan: config pool shop.example.com (it exists now)" -- apply --plan s.plan
# A change elsewhere in the file is merged: it stays, and the plan applies.
setup
"$P" -c provision.ini plan -o s.plan sites.ini >/dev/null
sed -i 's|<site name="Default Web Site" id="1"|<site name="Default Web Site" id="1" serverAutoStart="false"|' applicationHost.config
grep -q 'serverAutoStart="false"' applicationHost.config || bad "test set-up: the other change was not made"
out=$("$P" -c provision.ini apply --plan s.plan 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q 'serverAutoStart="false"' applicationHost.config && grep -q '<site name="shop.example.com"' applicationHost.config \
  && ok "saved plan: a change elsewhere in the config is kept and the plan applies" || bad "merge (rc $rc): $out"
# The defaults every new site relies on count as part of the plan.
setup
"$P" -c provision.ini plan -o s.plan sites.ini >/dev/null
sed -i 's|<applicationPoolDefaults|<applicationPoolDefaults queueLength="2000"|' applicationHost.config
cp applicationHost.config original.config
expect_fail "saved plan: the pool defaults changed" 1 "changed since the plan: config defaults pool" -- apply --plan s.plan
# An edited plan, a plan signed with another state folder, a changed site list.
setup
"$P" -c provision.ini plan -o s.plan sites.ini >/dev/null
sed 's|shop.example.com|evil.example.com|' s.plan > edited.plan
expect_fail "saved plan: an edited plan is refused" 1 "signature does not match" -- apply --plan edited.plan
PROVISION_STATE_DIR=$work/other-state "$P" -c provision.ini plan -o other.plan sites.ini >/dev/null
expect_fail "saved plan: a plan from another state folder is refused" 1 "signature does not match" -- apply --plan other.plan
printf '\n; edited\n' >> sites.ini
expect_fail "saved plan: a changed site list is refused" 1 "changed since the plan: the site list" -- apply --plan s.plan
printf 'x' >> s.plan
expect_fail "saved plan: bytes after the signature are refused" 1 "signature does not match" -- apply --plan s.plan

# --- names equal without regard to case, over all of Unicode ------------
# IIS and NTFS compare names by simple upper-casing, the AppPool SID hashes
# the simple lower case (provision/fold.h): names differing only in the case
# of a non-ASCII letter are one name (one pool SID, one folder). They are
# refused in one list, across lists and against the config; nothing is written.
setup
printf '[site \xc3\x84rger.example.com]\ntemplate = standard\n[site \xc3\xa4RGER.example.com]\ntemplate = standard\n' > t.ini
expect_fail "non-ASCII case: two sites in one list" 2 \
  "$(printf "t.ini:3: site '\xc3\xa4RGER.example.com' is listed twice (also at t.ini:1): it collides with '\xc3\x84rger.example.com', as IIS and NTFS treat names equal without regard to case")" -- apply t.ini
# (IDN host names are bound in their ASCII form.)
printf '[site \xc3\x84rger.example.com]\ntemplate = standard\nsite.bindings = http/*:80:xn--rger-koa.example.com\n' > t1.ini
printf '[site \xc3\xa4RGER.example.com]\ntemplate = static\nsite.bindings = http/*:8080:xn--rger-koa.example.com\n' > t2.ini
expect_fail "non-ASCII case: two sites across lists" 2 \
  "$(printf "t2.ini:1: site '\xc3\xa4RGER.example.com' is listed twice (also at t1.ini:1): it collides with '\xc3\x84rger.example.com'")" -- plan t1.ini t2.ini
printf '[site Kelvin.example.com]\ntemplate = standard\n[site \xe2\x84\xaaelvin.example.com]\ntemplate = standard\n' > t.ini
expect_fail "Kelvin sign and K are one name" 2 \
  "$(printf "t.ini:3: site '\xe2\x84\xaaelvin.example.com' is listed twice (also at t.ini:1): it collides with 'Kelvin.example.com'")" -- validate t.ini
printf '[site a\xcd\xb8.example.com]\ntemplate = standard\n' > t.ini
expect_fail "a site name with an unassigned code point" 2 \
  "$(printf "t.ini:1: [site a\xcd\xb8.example.com]: U+0378 (byte 2) is not a character of Unicode 15.0.0")" -- validate t.ini
printf '[site t.example.com]\ntemplate = standard\npool.name = p\xf0\xaf\xbf\xbf\n' > t.ini
expect_fail "a pool name with an unassigned code point" 2 \
  "t.ini:3: pool.name (site 't.example.com'): U+2FFFF (byte 2) is not a character of Unicode" -- validate t.ini
printf '[site t.example.com]\ntemplate = standard\nfolders.logs = D:\\Sites\\t.example.com\\WWWROOT\n' > t.ini
expect_fail "two folders of a site spelled in two cases" 2 \
  "t.ini:3: folders.logs (site 't.example.com'): 'D:\\Sites\\t.example.com\\WWWROOT' collides with folder wwwroot ('D:\\Sites\\t.example.com\\wwwroot')" -- validate t.ini
# Against what the config already holds: the site, and its pool.
"$P" -q -c provision.ini apply t1.ini || bad "non-ASCII case: set-up apply failed"
grep -q "$(printf '<site name="\xc3\x84rger.example.com"')" applicationHost.config || bad "non-ASCII case: set-up site missing"
cp applicationHost.config original.config
expect_fail "non-ASCII case: a site already in the config" 1 \
  "$(printf "site '\xc3\xa4RGER.example.com' collides with site '\xc3\x84rger.example.com' (./applicationHost.config:")" -- apply t2.ini
expect_fail "non-ASCII case: a plan against the config" 1 \
  "IIS and NTFS treat names equal without regard to case" -- plan t2.ini
expect_fail "non-ASCII case: destroy does not take the other spelling" 1 \
  "$(printf "site '\xc3\xa4RGER.example.com' collides with site '\xc3\x84rger.example.com' (./applicationHost.config:")" -- destroy t2.ini
printf '[site other.example.com]\ntemplate = standard\npool.name = \xc3\xa4RGER.example.com\n' > t3.ini
expect_fail "non-ASCII case: a pool already in the config" 1 \
  "$(printf "site 'other.example.com': pool '\xc3\xa4RGER.example.com' collides with pool '\xc3\x84rger.example.com' (./applicationHost.config:")" -- apply t3.ini
out=$("$P" -c provision.ini apply t1.ini 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^No changes" <<<"$out" && same_as_original \
  && ok "non-ASCII case: the same spelling is the same site" || bad "same spelling (rc $rc): $out"

# --- check without a content location -------------------------------------
# Descriptors need [content] location (the lab tests check them); without
# one, check still reads the config: sites are "not checked" (exit 3),
# what needs no descriptor is still found (exit 4), names are checked.
setup
"$P" -q -c provision.ini apply sites.ini || bad "check: set-up apply failed"
cp applicationHost.config original.config
out=$("$P" -c provision.ini check 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "^shop.example.com: not checked: the configuration has no \[content\] location" <<<"$out" \
  && grep -q "^check: 3 sites, 0 checked; 0 findings (0 critical)$" <<<"$out" && same_as_original \
  && ok "check without [content] location: not checked, exit 3" || bad "check no content (rc $rc): $out"
out=$("$P" -c provision.ini --json check shop.example.com 2>&1); rc=$?
[ $rc -eq 3 ] && python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["sites"]
assert d["command"] == "check" and len(s) == 1 and s[0]["name"] == "shop.example.com", s
assert s[0]["checked"] is False and "[content] location" in s[0]["reason"], s
assert s[0]["findings"] == [] and d["summary"] == {"sites": 1, "checked": 0, "findings": 0, "critical": 0}, d
' <<<"$out" && ok "check --json NAME" || bad "check --json (rc $rc): $out"
expect_fail "check of a site that is not there" 2 "check: 'nosuch.example.com' is not a site of the IIS configuration" -- check nosuch.example.com shop.example.com
out=$("$P" -c provision.ini check nosuch.example.com 2>/dev/null); [ -z "$out" ] \
  && ok "check of an unknown site prints nothing on stdout" || bad "check unknown stdout: $out"
out=$("$P" -c provision.ini check SHOP.EXAMPLE.COM 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "^shop.example.com: not checked" <<<"$out" \
  && ok "check NAME: names compare as IIS compares them" || bad "check case (rc $rc): $out"
# A pool running as LocalSystem needs no descriptor to be named.
python3 - <<'PY'
import re
p = "applicationHost.config"
t = open(p, encoding="utf-8-sig").read()
t2 = re.sub(r'(<add name="shop\.example\.com"[^>]*>\s*<processModel )identityType="[^"]*"', r'\1identityType="LocalSystem"', t, count=1)
if t2 == t:
    t2 = re.sub(r'(<add name="shop\.example\.com"[^>]*>)', r'\1<processModel identityType="LocalSystem" />', t, count=1)
open(p, "w", encoding="utf-8").write(t2)
PY
cp applicationHost.config original.config
out=$("$P" -c provision.ini check shop.example.com 2>&1); rc=$?
[ $rc -eq 4 ] && grep -q "^  warning pool-localsystem: pool 'shop.example.com' runs as LocalSystem" <<<"$out" \
  && grep -q 'fix: appcmd set apppool "shop.example.com" /processModel.identityType:ApplicationPoolIdentity' <<<"$out" \
  && same_as_original && ok "check: a LocalSystem pool is a finding (exit 4)" || bad "check LocalSystem (rc $rc): $out"
# A connect-as user without a password: named without any descriptor.
sed -i 's|\(<virtualDirectory path="/" physicalPath="D:\\Sites\\shop.example.com\\wwwroot"\)|\1 userName="LAB\\content"|' applicationHost.config
cp applicationHost.config original.config
out=$("$P" -c provision.ini check shop.example.com 2>&1); rc=$?
[ $rc -eq 4 ] && grep -q "^  critical connect-as-no-password: virtual directory / of site 'shop.example.com' connects as LAB.content, but stores no password" <<<"$out" \
  && same_as_original && ok "check: a connect-as user without a password (exit 4)" || bad "check connect-as (rc $rc): $out"
out=$("$P" -c provision.ini help check) && grep -q "4 findings" <<<"$out" && grep -q "the content location" <<<"$out" \
  && grep -q "usage: provision \[OPTIONS\] check \[--sites\] \[--deep\] \[--prove\] \[NAME\.\.\.\]" <<<"$out" \
  && ok "help check: exit statuses, options and what it opens" || bad "help check: $out"
expect_fail "--deep is not for list" 2 "provision: --deep is only for plan, apply and check, not list" -- list --deep

# --- import: sites made by hand, described so that the next plan shows no change
for fx in applicationHost.server2016-default.config applicationHost.reverse-proxy.config; do
  setup "$fx"
  out=$("$P" -c provision.ini import -o imported.ini 2>&1); rc=$?
  plan=$("$P" -c provision.ini plan imported.ini 2>&1); prc=$?
  [ $rc -eq 0 ] && grep -q "^import: 1 site described in imported.ini" <<<"$out" \
    && grep -qx "template = imported" imported.ini && grep -qx "site.anonymous = server" imported.ini \
    && [ $prc -eq 0 ] && grep -q "^No changes: 1 site already as described" <<<"$plan" && same_as_original \
    && ok "import $fx: the next plan shows no change" || bad "import $fx (rc $rc/$prc): $out $plan"
done
setup
python3 "$repo/tests/cli/gen_handmade.py" "$FIX/applicationHost.server2016-default.config" applicationHost.config 1000 \
  || bad "gen_handmade.py failed"
cp applicationHost.config original.config
out=$("$P" -c provision.ini import -o imported.ini 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "^import: 701 sites described in imported.ini (the next plan shows no change), 300 left out$" <<<"$out" \
  && [ "$(grep -c "left out: its root connects as LAB.content; provision manages pass-through only" <<<"$out")" = 100 ] \
  && [ "$(grep -c "left out: anonymous requests run as LAB.anon" <<<"$out")" = 100 ] \
  && [ "$(grep -c "left out: its pool runs as the AD account LAB.svc[0-9]*: describing it needs \[directory\]" <<<"$out")" = 100 ] \
  && same_as_original && ok "import of 1,000 hand-made sites: 701 described, 300 left out saying why (exit 3)" \
  || bad "import 1000 (rc $rc): $(head -c 2000 <<<"$out")"
out=$("$P" -c provision.ini plan imported.ini 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^No changes: 701 sites already as described" <<<"$out" \
  && ok "import: the plan of the imported list shows no change" || bad "import: plan (rc $rc): $(head -c 2000 <<<"$out")"
grep -q "^; not managed: application /api (pool pool0004-api)$" imported.ini \
  && grep -q "^; not managed: virtual directory /img -> D:.Images.hand0004.example.com$" imported.ini \
  && grep -q "^; left out: hand0007.example.com: its root connects as" imported.ini \
  && [ "$(awk 'length > 198' imported.ini | wc -l)" = 0 ] \
  && ok "import: what is not managed and what was left out are comments, no line over 198" \
  || bad "import: comments: $(grep -n 'hand0004\|hand0007' imported.ini | head -5)"
sed -n '/^\[site hand0002.example.com\]/,/^$/p' imported.ini > one.txt
grep -qx "pool.runtime = none" one.txt && grep -qx "pool.pipeline = Classic" one.txt && grep -qx "site.anonymous = iusr" one.txt \
  && grep -qx "site.bindings = https/\*:443:hand0002.example.com;sni" one.txt \
  && ok "import: No Managed Code, Classic, IUSR and an SNI binding written as a site list writes them" \
  || bad "import: hand0002: $(cat one.txt)"
out=$("$P" -c provision.ini apply imported.ini 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^No changes" <<<"$out" && same_as_original \
  && ok "import: apply of the imported list changes nothing (the config keeps its bytes)" || bad "import: apply (rc $rc): $(head -c 1000 <<<"$out")"
expect_fail "import over an existing file" 2 "imported.ini exists: import writes a new site list, never over one" -- import -o imported.ini
expect_fail "import without -o" 2 "import needs -o FILE" -- import
expect_fail "import of a site that is not there" 2 "import: 'nosuch.example.com' is not a site of the IIS configuration" -- import -o other.ini nosuch.example.com
[ ! -e other.ini ] && ok "import: nothing written after bad input" || bad "import: other.ini written"
# A name that would write sections of its own into the list: left out, and
# its comment stays one comment.
setup
sed -i 's|<site name="Default Web Site"|<site name="evil]\&#10;template = standard\&#10;[site x"|' applicationHost.config
out=$("$P" -c provision.ini import -o evil.ini 2>&1); rc=$?
[ $rc -eq 3 ] && grep -q "its name holds a control character: a site list section cannot hold it" <<<"$out" \
  && [ "$(grep -c '^\[' evil.ini)" = 0 ] && ! grep -q '^template' evil.ini \
  && ok "import: a site name holding a newline is left out, its comment stays a comment" \
  || bad "import evil name (rc $rc): $out $(cat evil.ini)"
setup
python3 "$repo/tests/cli/gen_handmade.py" "$FIX/applicationHost.server2016-default.config" applicationHost.config 20
out=$("$P" -c provision.ini import -o two.ini hand0001.example.com HAND0002.example.com 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '^\[site ' two.ini)" = 2 ] && grep -q "^\[site hand0002.example.com\]$" two.ini \
  && ok "import NAME...: only those, names compared as IIS does" || bad "import names (rc $rc): $out"

# --timings: where the run's time went, on stderr; stdout stays the report.
setup
printf '[site timed.example.com]\ntemplate = standard\n' > timed.ini
"$P" -c provision.ini apply --timings timed.ini >out.txt 2>err.txt; rc=$?
rows=$(grep -c '^timings: ' err.txt)
[ $rc -eq 0 ] && [ "$rows" = 11 ] && ! grep -q '^timings:' out.txt \
  && grep -qE '^timings: config write \(beside, compare, swap\) +[0-9.]+ +2$' err.txt \
  && grep -qE '^timings: journal \(writes, fsyncs\) +0\.0 +0$' err.txt \
  && grep -qE '^timings: whole run +[0-9.]+$' err.txt \
  && [ -z "$(ls -A "$PROVISION_STATE_DIR/journals")" ] \
  && ok "--timings: the table on stderr (config written: 2 steps; a local config alone needs no journal)" \
  || bad "--timings (rc $rc, $rows rows): $(cat err.txt out.txt)"
"$P" -c provision.ini apply --timings timed.ini >out.txt 2>err.txt; rc=$?
[ $rc -eq 0 ] && grep -qE '^timings: journal \(writes, fsyncs\) +0\.0 +0$' err.txt \
  && grep -qE '^timings: config write \(beside, compare, swap\) +0\.0 +0$' err.txt \
  && [ -z "$(ls -A "$PROVISION_STATE_DIR/journals")" ] \
  && ok "--timings: a run that changes nothing writes no journal and no config" \
  || bad "--timings no change (rc $rc): $(cat err.txt)"
cp applicationHost.config original.config
expect_fail "--timings is not for list" 2 "--timings is only for plan, apply and destroy, not list" -- list --timings

cd /
echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
