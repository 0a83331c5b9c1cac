#!/usr/bin/env bash
# Makes sure the production Temporal topology's binaries are in .tools/bin, built from the Go
# module proxy like the CLI (see ../shared/ENVIRONMENT.md): temporal-server and temporal-sql-tool
# v1.29.1 (the server version the CLI v1.5.1 embeds) and Temporal Web's ui-server v2.42.1.
# Each is built into its own folder first: all three commands are named `server` or `sql`.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER_VERSION=v1.29.1
UI_VERSION=v2.42.1
mkdir -p .tools/bin
build() { # <binary name> <module path@version>
  local name=$1 module=$2
  if [ -x ".tools/bin/$name" ]; then return 0; fi
  if ! command -v go >/dev/null 2>&1; then
    echo "flotilla: no $name and no Go toolchain to build it; install Go" >&2
    exit 1
  fi
  echo "flotilla: building $name ($module) into .tools/bin; the first build takes a few minutes" >&2
  local tmp
  tmp=$(mktemp -d)
  if ! GOBIN="$tmp" GOFLAGS=-mod=mod go install "$module"; then
    GOBIN="$tmp" go install -ldflags=-checklinkname=0 "$module"
  fi
  mv "$tmp"/* ".tools/bin/$name"
  rmdir "$tmp"
}
build temporal-server "go.temporal.io/server/cmd/server@$SERVER_VERSION"
build temporal-sql-tool "go.temporal.io/server/cmd/tools/sql@$SERVER_VERSION"
build temporal-ui-server "github.com/temporalio/ui-server/v2/cmd/server@$UI_VERSION"
