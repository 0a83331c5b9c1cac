#!/usr/bin/env bash
# README command 1: installs what is missing, then runs the whole stack (scripts/dev-stack.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/ensure-system-packages.sh
bash scripts/build-web.sh
exec node_modules/.bin/tsx scripts/dev-stack.ts
