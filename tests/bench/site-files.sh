# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034  # put_* are read by the sourcing script
# Sourced by the lab benchmarks that need content in the sites' folders
# (bench_check.sh, bench_endtoend.sh).
#
# put_site_files PREFIX N: FILES files in each of the three folders (SITE,
# SITE/wwwroot, SITE/data) of the sites PREFIX0001.example.com ..
# PREFIXnnnn.example.com, built locally under $WORK/tree, then put through
# SMB as the Administrator, BATCH sites per smbclient session (Samba then
# gives each file the descriptor a Windows client's file gets; files written
# to the backing folder would have no NT ACL), and counted on the share.
# Needs WORK, FILES, BATCH, in_lab and the lab's LAB_SMB_AUTHFILE,
# LAB_SMB_SITES, LAB_SITES_PATH. Sets put_want (files meant), put_got (files
# on the share), put_full (folders holding exactly FILES), put_fail (failed
# smbclient sessions), put_start and put_end ($EPOCHREALTIME around the put).
put_site_files() {
  local prefix=$1 n=$2 tree=$WORK/tree i b d f s fn names
  local dirs=()
  for ((i = 1; i <= n; i++)); do
    printf -v s '%s%04d.example.com' "$prefix" "$i"
    dirs+=("$tree/$s/wwwroot" "$tree/$s/data")
  done
  mkdir -p "${dirs[@]}"
  for ((i = 1; i <= n; i++)); do
    printf -v s '%s%04d.example.com' "$prefix" "$i"
    for d in "$s" "$s/wwwroot" "$s/data"; do
      for ((f = 1; f <= FILES; f++)); do
        printf -v fn 'file%02d.txt' "$f"
        printf 'bench %s/%s\n' "$d" "$fn" >"$tree/$d/$fn"
      done
    done
  done
  put_start=$EPOCHREALTIME
  put_fail=0
  for ((b = 1; b <= n; b += BATCH)); do
    names=
    for ((i = b; i < b + BATCH && i <= n; i++)); do printf -v s ' %s%04d.example.com' "$prefix" "$i"; names+=$s; done
    in_lab smbclient -A "$LAB_SMB_AUTHFILE" "$LAB_SMB_SITES" \
      -c "lcd $tree; prompt off; recurse on; mput$names" >"$WORK/put.out" 2>&1 || put_fail=$((put_fail + 1))
  done
  put_end=$EPOCHREALTIME
  put_want=$((n * 3 * FILES))
  local pat="$LAB_SITES_PATH/${prefix}[0-9][0-9][0-9][0-9].example.com/*"
  put_got=$(find "$LAB_SITES_PATH" -mindepth 2 -maxdepth 3 -type f -path "$pat" | wc -l)
  put_full=$(find "$LAB_SITES_PATH" -mindepth 2 -maxdepth 3 -type f -path "$pat" -printf '%h\n' |
    sort | uniq -c | awk -v k="$FILES" '$1 == k { c++ } END { print c + 0 }')
}
