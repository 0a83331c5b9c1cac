#!/usr/bin/env bash
# System packages from Debian's archive: chromium renders dm-creative PDFs (Puppeteer never
# downloads a browser here); docker-compose (v1) validates docker-compose.temporal.yml without a
# Docker engine, and poppler-utils (pdftoppm, pdftotext) reads the PDFs back (tests only).
set -euo pipefail
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "flotilla: please install: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "flotilla: installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; }
