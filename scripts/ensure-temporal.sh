#!/usr/bin/env bash
# Makes sure a `temporal` CLI (dev server) is available: TEMPORAL_BIN, the project's
# .tools/bin/temporal, or one on PATH; otherwise builds v1.5.1 from the Go module proxy
# (the newest tag that `go install` can build; see ../shared/ENVIRONMENT.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${TEMPORAL_BIN:-}" ] && [ -x "$TEMPORAL_BIN" ]; then exit 0; fi
if [ -x .tools/bin/temporal ]; then exit 0; fi
if command -v temporal >/dev/null 2>&1; then exit 0; fi
if ! command -v go >/dev/null 2>&1; then
  echo "flotilla: no 'temporal' CLI and no Go toolchain to build it; install Go or set TEMPORAL_BIN" >&2
  exit 1
fi
echo "flotilla: building the Temporal CLI (dev server) into .tools/bin; the first build takes a few minutes" >&2
mkdir -p .tools/bin
if ! GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install github.com/temporalio/cli/cmd/temporal@v1.5.1; then
  echo "flotilla: retrying with -ldflags=-checklinkname=0" >&2
  GOBIN="$PWD/.tools/bin" go install -ldflags=-checklinkname=0 github.com/temporalio/cli/cmd/temporal@v1.5.1
fi
