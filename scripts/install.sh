#!/usr/bin/env bash
# Installs whatever a fresh clone is missing: npm dependencies exactly as package-lock.json pins
# them (`npm ci`: the lockfile is complete, optional platform packages included, and is never
# rewritten), the generated Prisma client, and the Temporal CLI. Safe to run again: each step
# checks first (the stamp records the lockfile it installed).
set -euo pipefail
cd "$(dirname "$0")/.."

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.flotilla-install-stamp
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "flotilla: installing npm dependencies" >&2
  # Puppeteer must not download a browser (Debian's Chromium is used); see README.
  PUPPETEER_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi
[ -f prisma/generated/client.ts ] || node scripts/prisma-generate.mjs
bash scripts/ensure-temporal.sh
