#!/usr/bin/env bash
# Records every saved workflow history the replay test (test/replay.test.ts) holds the workflow
# code to, from the tests that exercise each scenario (listed in test/support/histories.ts):
#   bash scripts/record-histories.sh                                # into test/histories/
#   RECORD_HISTORIES_DIR=/tmp/histories bash scripts/record-histories.sh  # somewhere else
# 1. runs, with RECORD_HISTORIES=1, exactly the test files that call recordHistory (found by
#    grep), writing into a fresh temporary folder;
# 2. runs test/replay.test.ts on that folder: every listed scenario recorded, none other, each
#    of its workflow type and replaying against today's bundle;
# 3. only then replaces the target's *.json with the new set (a stale history cannot linger).
# The jest runs start their own Temporal dev server and PostgreSQL, as `npm test` does.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${RECORD_HISTORIES_DIR:-test/histories}
mapfile -t files < <(grep -l 'recordHistory(\|recordChildHistory(' test/*.test.ts)
[ ${#files[@]} -gt 0 ] || { echo "no test file calls recordHistory" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flotilla-histories.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "recording from ${files[*]}"
RECORD_HISTORIES=1 RECORD_HISTORIES_DIR="$tmp" node_modules/.bin/jest "${files[@]}"
REPLAY_HISTORIES_DIR="$tmp" node_modules/.bin/jest test/replay.test.ts
mkdir -p "$target"
rm -f "$target"/*.json
cp "$tmp"/*.json "$target"/
echo "$(ls "$tmp"/*.json | wc -l) histories in $target ($(( $(date +%s) - start )) s)"
