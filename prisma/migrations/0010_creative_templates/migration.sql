-- Creative templates (Fabric.js canvas JSON) and their immutable versions, which batches freeze.
-- CreateTable
CREATE TABLE "creative_templates" (
    "id" TEXT NOT NULL,
    "org_id" TEXT,
    "name" TEXT NOT NULL,
    "format" TEXT NOT NULL DEFAULT 'fabric',
    "page" JSONB NOT NULL,
    "version_id" TEXT NOT NULL,
    "uses" JSONB NOT NULL,
    "built_in" BOOLEAN NOT NULL DEFAULT false,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "creative_templates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "creative_template_versions" (
    "id" TEXT NOT NULL,
    "template_id" TEXT NOT NULL,
    "org_id" TEXT,
    "name" TEXT NOT NULL,
    "page" JSONB NOT NULL,
    "canvas" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "creative_template_versions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "creative_templates_org_id_name_key" ON "creative_templates"("org_id", "name");

-- CreateIndex
CREATE INDEX "creative_template_versions_template_id_idx" ON "creative_template_versions"("template_id");
