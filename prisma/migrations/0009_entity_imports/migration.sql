-- Entities belong to an organisation: a key is unique within (organisation, kind), and the ID
-- (lib/entity-keys.ts) names all three.
DROP INDEX "entities_kind_key_key";
UPDATE "entities" SET "id" = "org_id" || '/' || "kind" || '/' || "key";
CREATE UNIQUE INDEX "entities_org_id_kind_key_key" ON "entities"("org_id", "kind", "key");

-- A super admin's override of the plan's row limit for one entity import.
ALTER TABLE "organizations" ADD COLUMN "max_import_rows" INTEGER;

-- Streamed imports of a CSV (or gzip CSV) file into stored entities.
CREATE TABLE "entity_imports" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "pipeline" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "compressed" BOOLEAN NOT NULL,
    "max_rows" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "columns" JSONB,
    "mapping" JSONB,
    "total_rows" INTEGER,
    "rows_read" INTEGER NOT NULL DEFAULT 0,
    "rows_imported" INTEGER NOT NULL DEFAULT 0,
    "rows_failed" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    CONSTRAINT "entity_imports_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "entity_imports_org_id_created_at_idx" ON "entity_imports"("org_id", "created_at" DESC);

-- The received file, in order, until the import has read it.
CREATE TABLE "entity_import_chunks" (
    "import_id" TEXT NOT NULL,
    "n" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,
    CONSTRAINT "entity_import_chunks_pkey" PRIMARY KEY ("import_id", "n"),
    CONSTRAINT "entity_import_chunks_import_id_fkey" FOREIGN KEY ("import_id") REFERENCES "entity_imports"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- Rows the import refused, with why (the first 10,000 of an import).
CREATE TABLE "entity_import_errors" (
    "import_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "row" INTEGER NOT NULL,
    "field" TEXT NOT NULL,
    "column" TEXT,
    "message" TEXT NOT NULL,
    "value" TEXT,
    CONSTRAINT "entity_import_errors_pkey" PRIMARY KEY ("import_id", "seq"),
    CONSTRAINT "entity_import_errors_import_id_fkey" FOREIGN KEY ("import_id") REFERENCES "entity_imports"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
