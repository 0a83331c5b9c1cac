-- CreateTable
CREATE TABLE "uploads" (
    "id" TEXT NOT NULL,
    "org_id" TEXT,
    "filename" TEXT NOT NULL,
    "type" TEXT,
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "row_count" INTEGER,
    "columns" JSONB NOT NULL DEFAULT '[]',
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "message" TEXT,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "uploads_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "uploads_org_id_created_at_idx" ON "uploads"("org_id", "created_at" DESC);

