-- AlterTable
ALTER TABLE "batch_items" ADD COLUMN     "partition" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "batches" ADD COLUMN     "partitions" INTEGER NOT NULL DEFAULT 1;

-- CreateIndex
CREATE INDEX "batch_items_batch_id_partition_seq_idx" ON "batch_items"("batch_id", "partition", "seq");
