#!/usr/bin/env bash
# System packages the tests use, from Debian's archive: docker-compose (v1) validates
# docker-compose.temporal.yml without a Docker engine.
set -euo pipefail
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "flotilla: please install: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "flotilla: installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; }
