#!/usr/bin/env bash
# README command 1: installs what is missing, then runs the whole stack (scripts/dev-stack.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/ensure-system-packages.sh
# The production topology's binaries (temporal-server, temporal-sql-tool, ui-server) only when asked for.
if [ "${TEMPORAL_TOPOLOGY:-dev}" = cluster ] && [ -z "${TEMPORAL_ADDRESS:-}" ]; then bash scripts/ensure-temporal-cluster.sh; fi
bash scripts/build-web.sh
exec node_modules/.bin/tsx scripts/dev-stack.ts
