#!/usr/bin/env bash
# `npm run lint`, run first by `npm test` (so CI enforces it): types (server and web/), ESLint
# (eslint.config.mjs: floating promises, the workflow sandbox's import rule, 500 lines per file and
# 120 per function), Prettier's check (.prettierrc.json) and dependency-cruiser's rules
# (.dependency-cruiser.cjs: no import cycle). Each step names what failed; all steps run.
set -uo pipefail
cd "$(dirname "$0")/.."
# ESLint and tsc type-check web/ with its own packages (React types).
bash scripts/build-web.sh
failed=()
step() {
  local name=$1
  shift
  if ! "$@"; then failed+=("$name"); fi
}
step "types (server)" node_modules/.bin/tsc -p tsconfig.json --noEmit
step "types (web)" web/node_modules/.bin/tsc -p web/tsconfig.json --noEmit
step eslint node_modules/.bin/eslint --max-warnings 0 .
step prettier node_modules/.bin/prettier --check --log-level warn .
step "import cycles" node_modules/.bin/depcruise --config .dependency-cruiser.cjs --output-type err \
  common contract services workflows activities workers api cli bin lib pipelines scripts sandbox test bench web/src
if [ ${#failed[@]} -gt 0 ]; then
  echo "flotilla: lint failed: ${failed[*]}" >&2
  exit 1
fi
