#!/usr/bin/env bash
# Writes the next migration from the change to prisma/schema.prisma since the last commit:
#   bash scripts/new-migration.sh add_batch_templates
# Needs a reachable PostgreSQL in DATABASE_URL (the embedded one of `npm start` will do); the
# Prisma CLI's JS engine connects even for a schema-to-schema diff. test/migrations.test.ts then
# checks that the migrations rebuild exactly what the schema says.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: new-migration.sh <name>}
: "${DATABASE_URL:=postgresql://flotilla:flotilla@127.0.0.1:${EMBEDDED_PG_PORT:-5433}/flotilla}"
export DATABASE_URL
last=$(ls prisma/migrations | grep -E '^[0-9]{4}_' | sort | tail -1)
next=$(printf '%04d' $((10#${last%%_*} + 1)))
prev=$(mktemp --suffix=.prisma)
git show HEAD:prisma/schema.prisma > "$prev"
mkdir -p "prisma/migrations/${next}_${name}"
node node_modules/prisma/build/index.js migrate diff --from-schema-datamodel "$prev" --to-schema-datamodel prisma/schema.prisma --script \
  > "prisma/migrations/${next}_${name}/migration.sql"
rm -f "$prev"
echo "prisma/migrations/${next}_${name}/migration.sql"
