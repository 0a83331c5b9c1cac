#!/usr/bin/env bash
# README command 2: installs what is missing, checks the code (npm run lint), then runs the whole
# test suite against real services (Temporal, embedded PostgreSQL) that the suite starts itself: every suite on the
# Temporal dev server, then the suites that exercise Temporal itself hardest (engine, partitions,
# retry-failed, schedules, the worker-kill faults, entity imports) again on the production topology
# (temporal-server's four services on PostgreSQL, lib/temporal-cluster.ts).
# With arguments, jest runs just those, on TEST_TEMPORAL_TOPOLOGY (dev unless set to cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/ensure-system-packages.sh
# The production topology's binaries, when this run uses it (the whole suite, or TEST_TEMPORAL_TOPOLOGY=cluster).
if [ $# -eq 0 ] || [ "${TEST_TEMPORAL_TOPOLOGY:-dev}" = cluster ]; then bash scripts/ensure-temporal-cluster.sh; fi
# The browser tests drive the built page (web/dist).
bash scripts/build-web.sh
if [ $# -gt 0 ]; then exec node_modules/.bin/jest "$@"; fi
# Types, ESLint, Prettier and the import-cycle check first (scripts/lint.sh): a red lint fails the run.
bash scripts/lint.sh
node_modules/.bin/jest
echo "flotilla: the Temporal-heavy suites again, on the production topology (TEST_TEMPORAL_TOPOLOGY=cluster)" >&2
TEST_TEMPORAL_TOPOLOGY=cluster exec node_modules/.bin/jest test/engine.test.ts test/partitions.test.ts test/retry-failed.test.ts test/schedules.test.ts test/faults.test.ts test/entity-import.test.ts
