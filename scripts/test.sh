#!/usr/bin/env bash
# README command 2: installs what is missing, then runs the whole test suite against real
# services (Temporal dev server, embedded PostgreSQL) that the suite starts itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/ensure-system-packages.sh
# The browser tests drive the built page (web/dist).
bash scripts/build-web.sh
exec node_modules/.bin/jest "$@"
