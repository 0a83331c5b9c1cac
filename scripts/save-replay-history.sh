#!/usr/bin/env bash
# Saves a workflow history from a running stack into test/histories/ for the replay test:
#   bash scripts/save-replay-history.sh <name> <workflowId> [runId]
# Histories are the contract between today's workflow code and every batch already running:
# save one whenever a workflow change adds a new path (a patch, a new signal, a new step kind).
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 wf=$2 run=${3:-}
bin=${TEMPORAL_BIN:-$( [ -x .tools/bin/temporal ] && echo .tools/bin/temporal || command -v temporal )}
"$bin" workflow show --address "${TEMPORAL_ADDRESS:-127.0.0.1:${TEMPORAL_DEV_PORT:-7233}}" \
  --namespace "${TEMPORAL_NAMESPACE:-default}" -w "$wf" ${run:+-r "$run"} -o json > "test/histories/$name.json"
echo "test/histories/$name.json: $(grep -c '"eventId"' "test/histories/$name.json") events"
