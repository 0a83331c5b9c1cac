#!/usr/bin/env bash
# Builds the operations web page (web/, its own package.json) into web/dist, which the API serves.
# Installs web/node_modules (`npm ci`: exactly the lockfile) when missing or when web/package-lock.json changed, and rebuilds only
# when web/dist is missing or older than the sources. Idempotent; quiet unless it does something.
set -euo pipefail
cd "$(dirname "$0")/../web"

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.flotilla-install-stamp
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "flotilla: installing web dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_hash" > "$stamp"
fi

needs_build=0
if [ ! -f dist/index.html ]; then
  needs_build=1
elif [ -n "$(find src index.html vite.config.ts package-lock.json -newer dist/index.html -print -quit)" ]; then
  needs_build=1
fi

if [ "$needs_build" = 1 ]; then
  echo "flotilla: building the web page (web/dist)" >&2
  log=$(mktemp)
  if ! npx --no-install vite build --logLevel warn >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi
