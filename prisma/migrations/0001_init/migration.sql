-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "batches" (
    "id" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "pipeline" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "pause_reason" TEXT,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "plan" JSONB NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "failure_threshold" JSONB NOT NULL,
    "total" INTEGER NOT NULL,
    "progress" JSONB NOT NULL DEFAULT '{}',
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "batches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "batch_items" (
    "batch_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "steps" JSONB NOT NULL DEFAULT '[]',
    "error" JSONB,
    "cost_usd" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "run_id" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,

    CONSTRAINT "batch_items_pkey" PRIMARY KEY ("batch_id","seq")
);

-- CreateIndex
CREATE INDEX "batches_status_created_at_idx" ON "batches"("status", "created_at" DESC);

-- CreateIndex
CREATE INDEX "batches_pipeline_created_at_idx" ON "batches"("pipeline", "created_at" DESC);

-- CreateIndex
CREATE INDEX "batches_created_at_id_idx" ON "batches"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "batch_items_batch_id_status_seq_idx" ON "batch_items"("batch_id", "status", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "batch_items_batch_id_key_key" ON "batch_items"("batch_id", "key");

-- AddForeignKey
ALTER TABLE "batch_items" ADD CONSTRAINT "batch_items_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batches"("id") ON DELETE CASCADE ON UPDATE CASCADE;

