#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds provision into build/normal (or $1). Prints the binary's path.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$repo/build/normal}
cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j "$(nproc)" >/dev/null
echo "$dir/bin/provision"
