-- AlterTable
ALTER TABLE "batch_items" ADD COLUMN     "replaced" JSONB,
ADD COLUMN     "retry_round" INTEGER;

-- CreateTable
CREATE TABLE "batch_retry_rounds" (
    "batch_id" TEXT NOT NULL,
    "round" INTEGER NOT NULL,
    "requested_by" TEXT NOT NULL,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "keys" JSONB,
    "edited_keys" JSONB NOT NULL DEFAULT '[]',
    "reset_count" INTEGER NOT NULL DEFAULT 0,
    "not_reset" JSONB NOT NULL DEFAULT '[]',
    "outcome" JSONB,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "batch_retry_rounds_pkey" PRIMARY KEY ("batch_id","round")
);

-- AddForeignKey
ALTER TABLE "batch_retry_rounds" ADD CONSTRAINT "batch_retry_rounds_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batches"("id") ON DELETE CASCADE ON UPDATE CASCADE;

