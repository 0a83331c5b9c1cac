-- AlterTable
ALTER TABLE "batches" ADD COLUMN     "budget_usd" DOUBLE PRECISION,
ADD COLUMN     "notify" JSONB,
ADD COLUMN     "org_id" TEXT NOT NULL DEFAULT 'default',
ADD COLUMN     "schedule_id" TEXT,
ADD COLUMN     "template_id" TEXT;

-- CreateTable
CREATE TABLE "active_batches" (
    "org_id" TEXT NOT NULL,
    "pipeline" TEXT NOT NULL,
    "batch_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "active_batches_pkey" PRIMARY KEY ("org_id","pipeline")
);

-- CreateTable
CREATE TABLE "batch_templates" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL DEFAULT 'default',
    "name" TEXT NOT NULL,
    "pipeline" TEXT NOT NULL,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "source" JSONB NOT NULL,
    "concurrency" INTEGER NOT NULL DEFAULT 20,
    "failure_threshold" JSONB,
    "budget_usd" DOUBLE PRECISION,
    "notify" JSONB,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "batch_templates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_deliveries" (
    "id" TEXT NOT NULL,
    "batch_id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "response_status" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "active_batches_batch_id_idx" ON "active_batches"("batch_id");

-- CreateIndex
CREATE UNIQUE INDEX "batch_templates_org_id_name_key" ON "batch_templates"("org_id", "name");

-- CreateIndex
CREATE INDEX "notification_deliveries_batch_id_created_at_idx" ON "notification_deliveries"("batch_id", "created_at");

-- CreateIndex
CREATE INDEX "batches_org_id_created_at_idx" ON "batches"("org_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "batches_created_by_created_at_idx" ON "batches"("created_by", "created_at" DESC);

