-- CreateTable
CREATE TABLE "org_settings" (
    "org_id" TEXT NOT NULL,
    "notify" JSONB,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "org_settings_pkey" PRIMARY KEY ("org_id")
);

