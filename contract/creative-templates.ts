/**
 * Creative templates: a customer's own DM design as Fabric.js canvas JSON (what its editor's
 * `canvas.toJSON()` exports), stored per organisation and chosen per dm-creative batch. The
 * canvas is checked object by object when saved (pipelines/dm-creative/creative/canvas-check.ts);
 * here only its envelope. Each schema doubles as its type.
 */
import { z } from 'zod';
import { cursorPage, pageQuery } from './pages';

export const PAGE_SIZES = ['A4', 'Letter', 'A5', 'postcard'] as const;
export type PageSize = (typeof PAGE_SIZES)[number];
export const ORIENTATIONS = ['portrait', 'landscape'] as const;

/** Bytes of canvas JSON one template may hold (embedded images included). */
export const MAX_CANVAS_JSON_BYTES = 6 * 1024 * 1024;

export const TemplatePage = z
  .object({
    size: z.enum(PAGE_SIZES).meta({ description: 'A4 210×297 mm, Letter 8.5×11 in, A5 148×210 mm, postcard 4×6 in' }),
    orientation: z.enum(ORIENTATIONS).default('portrait'),
  })
  .strict();
export type TemplatePage = z.infer<typeof TemplatePage>;

export const CreativeTemplateBody = z
  .object({
    name: z.string().trim().min(1).max(120),
    format: z.literal('fabric'),
    canvas: z
      .record(z.string(), z.unknown())
      .meta({ description: 'Fabric.js canvas JSON (5.x or 6.x+), as `canvas.toJSON(["name", "data"])` writes it' }),
    page: TemplatePage,
  })
  .strict();
export type CreativeTemplateBody = z.infer<typeof CreativeTemplateBody>;

/** What a template uses, found when it is saved. */
export const TemplateUses = z.object({
  placeholders: z.array(z.string()).meta({ description: 'field names written `{{name}}` in its texts' }),
  qrSlots: z.number().int().meta({ description: 'objects marked as the QR code slot (`name: "qr"`)' }),
  fonts: z.array(z.string()),
  objects: z.number().int(),
  width: z.number().meta({ description: 'the design size in canvas pixels' }),
  height: z.number(),
});
export type TemplateUses = z.infer<typeof TemplateUses>;

export const CreativeTemplateSummary = z.object({
  id: z.string(),
  name: z.string(),
  format: z.literal('fabric'),
  page: TemplatePage,
  builtIn: z.boolean().meta({ description: 'the default letter: shared by every organisation, read-only' }),
  version: z.string().meta({ description: 'the content version a batch started now would freeze' }),
  uses: TemplateUses,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type CreativeTemplateSummary = z.infer<typeof CreativeTemplateSummary>;

export const CreativeTemplateView = CreativeTemplateSummary.extend({ canvas: z.record(z.string(), z.unknown()) });
export type CreativeTemplateView = z.infer<typeof CreativeTemplateView>;

export const CreativeTemplatePage = cursorPage('templates', CreativeTemplateSummary);
export type CreativeTemplatePage = z.infer<typeof CreativeTemplatePage>;

export const ListCreativeTemplatesQuery = z.object({ ...pageQuery }).strict();
export type ListCreativeTemplatesQuery = z.infer<typeof ListCreativeTemplatesQuery>;

/**
 * A preview: the template filled with this recipient (any dm-creative item fields; a sample
 * recipient when absent) and these batch settings, as a PNG (default) or the PDF page.
 */
export const PreviewBody = z
  .object({
    recipient: z.record(z.string(), z.unknown()).optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    format: z.enum(['png', 'pdf']).default('png'),
  })
  .strict();
export type PreviewBody = z.infer<typeof PreviewBody>;

export const CreativeTemplateIdParam = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a creative template ID is letters, digits, _ and - (at most 64)'),
});
export type CreativeTemplateIdParam = z.infer<typeof CreativeTemplateIdParam>;

/** A preview of a template not saved yet (the page shows it before the operator saves). */
export const DraftPreviewBody = PreviewBody.extend({ template: CreativeTemplateBody });
export type DraftPreviewBody = z.infer<typeof DraftPreviewBody>;
