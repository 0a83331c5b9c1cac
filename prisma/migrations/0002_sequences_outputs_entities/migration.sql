-- AlterTable
ALTER TABLE "batches" ADD COLUMN     "outputs" JSONB;

-- AlterTable
ALTER TABLE "batch_items" ADD COLUMN     "sequence_key" TEXT;

-- CreateTable
CREATE TABLE "entities" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "entities_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "entities_kind_created_at_idx" ON "entities"("kind", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "entities_kind_key_key" ON "entities"("kind", "key");

-- CreateIndex
CREATE INDEX "batch_items_batch_id_sequence_key_seq_idx" ON "batch_items"("batch_id", "sequence_key", "seq");

