/**
 * dm-creative: one personalised direct-mail PDF per recipient, drawn from the batch's creative
 * template (the customer's own Fabric.js design, or the built-in letter) filled with the
 * recipient's fields and the QR code of their tracking URL; then, when the batch ends, one ZIP
 * of all PDFs and a completion e-mail with the download link (seed 002).
 *
 * - The template's content is frozen when the batch is created (`prepareBatch` records the
 *   version in the settings): editing the template never changes a running batch or a retry.
 *   A placeholder naming a field some recipient does not have is a 400 then, not a blank later.
 * - `render-pdf` runs on the pipeline's own `render` queue, so the number of concurrent renders
 *   per worker is the size of its browser pool (PDF_RENDER_CONCURRENCY), independent of how many
 *   items the worker runs at once. The pool is a per-process singleton (pdf-pool.ts).
 * - Files go to `<filesDir>/<batchId>/`, written atomically: a retried render rewrites the same
 *   file name, and an attempt that finds the file already written (the previous attempt died
 *   after the rename) returns it without rendering again.
 * - The batch-end hook sends at most one e-mail per idempotency key: the Message-ID and the
 *   `X-Flotilla-Idempotency-Key` header are derived from it, and a marker file written after a
 *   successful send stops a retried hook from sending again.
 *
 * Everything from outside (deps) is injected; this module never reads process.env.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { createMailer, MailSendError, type Mailer } from '../../lib/mailer';
import type { PipelineDeps } from '../deps';
import {
  definePipeline,
  NonRetryableStepError,
  type BatchEndContext,
  type BatchEndResult,
  type SettledItem,
  type StepContext,
} from '../types';
import { demoRecipients } from './demo-data';
import { completionEmail, zipDownloadUrl } from './email';
import { batchDirOf, fileSize, safeFileName, writeFileAtomic } from './files';
import { sharedPdfRenderPool, type PdfRenderPool } from './pdf-pool';
import { creativeDocOf, trackingUrlOf, type TemplateContent } from './template';
import { BUILTIN_TEMPLATE_ID } from './creative/builtin-letter';
import { CREATIVE_TEMPLATE_FORMAT } from '../../contract/values';
import { missingFieldsOf } from './creative/placeholders';
import { memoryTemplateStore, type CreativeTemplateStore } from './template-store';
import { writeZipAtomic, type ZipSource } from './zip';
import { optionalText, recipientItemSchema, type RecipientItem, type RecipientItemInput } from './item';

export { recipientItemSchema, type RecipientItem, type RecipientItemInput };

// ---------------------------------------------------------------------------------------------
// Schemas

export const dmCreativeSettingsSchema = z.object({
  companyName: z.string().trim().min(1).max(120).default('Northwind Home Services'),
  industry: optionalText(80),
  /** Free text ("friendly", "professional and concise", ...); informal voices greet by first name. */
  brandVoice: optionalText(200),
  /** The QR code encodes `<trackingBaseUrl>/<trackingId>`. */
  trackingBaseUrl: z.url({ protocol: /^https?$/ }).default('https://track.example.com/t/'),
  /** Who gets the completion e-mail; none: no e-mail. */
  notifyEmail: z.email().optional().meta({
    description: 'who gets the completion e-mail with the ZIP download link',
    whenEmpty: 'No completion e-mail will be sent: without a notify e-mail the ZIP link is only on the batch page.',
  }),
  /** The creative template (GET /api/creative-templates); the built-in letter by default. */
  templateId: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .default(BUILTIN_TEMPLATE_ID)
    .meta({ format: CREATIVE_TEMPLATE_FORMAT, description: 'a creative template (GET /api/creative-templates)' }),
  /** Set when the batch is created: the template content this batch renders (any value sent is replaced). */
  templateVersion: z
    .string()
    .max(64)
    .optional()
    .meta({ readOnly: true, description: 'set by the server: the template version the batch froze' }),
});

export type DmCreativeSettings = z.infer<typeof dmCreativeSettingsSchema>;

export const RENDER_STEP = 'render-pdf';

/** What `render-pdf` returns (kept with the item; `file` is relative to the batch's directory). */
export interface RenderPdfOutput {
  file: string;
  bytes: number;
  pages?: number;
  trackingUrl: string;
  /** The file was already there from an earlier attempt. */
  reused?: boolean;
}

const RenderPdfOutputSchema = z.object({
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.pdf$/),
  bytes: z.number(),
});

export interface DmCreativeEmailResult {
  sent: boolean;
  to: string | null;
  messageId: string | null;
  /** Why nothing was sent. */
  skipped?: string;
  /** A previous attempt of this hook had already sent it. */
  alreadySent?: boolean;
}

export interface DmCreativeBatchEndResult extends BatchEndResult {
  files: Array<{ name: string; bytes: number; contentType: string }>;
  pdfs: number;
  downloadUrl: string;
  missingPdfs?: string[];
  email: DmCreativeEmailResult;
}

// ---------------------------------------------------------------------------------------------
// Rendering (also used by bench/pdf.ts)

/** Page objects in a PDF as Chromium writes it (no object streams). */
export function countPdfPages(pdf: Buffer): number {
  return (pdf.toString('latin1').match(/\/Type\s*\/Page\b(?!s)/g) ?? []).length;
}

export interface RenderedCreative {
  pdf: Buffer;
  pages: number;
  trackingUrl: string;
  blockedRequests: string[];
  launchedBrowser: boolean;
}

/** One recipient's creative as a PDF (or a PNG preview), drawn from `template` on `pool`. */
export async function renderRecipientPdf(
  pool: PdfRenderPool,
  recipient: RecipientItem,
  settings: DmCreativeSettings,
  template: TemplateContent,
  opts: { signal?: AbortSignal; timeoutMs?: number; output?: 'pdf' | 'png' } = {},
): Promise<RenderedCreative> {
  const { doc, trackingUrl } = creativeDocOf(template, recipient, settings);
  const out = await pool.render(doc, opts);
  return {
    pdf: out.pdf,
    pages: opts.output === 'png' ? 1 : countPdfPages(out.pdf),
    trackingUrl,
    blockedRequests: out.blockedRequests,
    launchedBrowser: out.launchedBrowser,
  };
}

// ---------------------------------------------------------------------------------------------
// Pipeline

export type DmCreativeDeps = Pick<
  PipelineDeps,
  'filesDir' | 'appUrl' | 'smtp' | 'chromiumPath' | 'pdfRenderConcurrency' | 'creativeTemplates'
> & {
  /** A pool of one's own (tests, benchmarks); by default the worker process's shared pool. */
  renderPool?: PdfRenderPool;
  /** A mailer of one's own; by default one built from `smtp`. */
  mailer?: Mailer;
};

/** `spring-campaign-2025.zip` from "Spring Campaign 2025". */
export function zipNameOf(batchName: string): string {
  const slug = batchName
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return `${slug || 'dm-creatives'}.zip`;
}

/** A Message-ID that is the same for every attempt of one hook round. */
export function messageIdOf(idempotencyKey: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'flotilla.invalid';
  return `<${idempotencyKey.replace(/[^A-Za-z0-9._-]+/g, '.')}.dm-creative@${domain}>`;
}

/** The PDFs of the batch's succeeded items, for its ZIP. */
async function* succeededPdfs(ctx: BatchEndContext<DmCreativeSettings>, dir: string): AsyncGenerator<ZipSource> {
  for await (const item of ctx.items({ status: 'succeeded' })) {
    const out = RenderPdfOutputSchema.safeParse(item.outputs[RENDER_STEP]);
    if (!out.success) {
      ctx.log.warn('succeeded item without a PDF output', { itemKey: item.itemKey });
      continue;
    }
    yield { name: out.data.file, file: path.join(dir, out.data.file) };
  }
}

export function createDmCreativePipeline(deps: DmCreativeDeps) {
  const mailer = deps.mailer ?? createMailer(deps.smtp);
  const templates = deps.creativeTemplates ?? memoryTemplateStore();

  return definePipeline({
    name: 'dm-creative',
    title: 'DM creatives (PDF)',
    description:
      'Renders a personalised direct-mail PDF with a tracking QR code per recipient, then zips them all and e-mails the download link.',
    version: 1,
    itemNoun: 'recipient',
    entityKind: 'recipient',
    itemSchema: recipientItemSchema,
    settingsSchema: dmCreativeSettingsSchema,
    itemKey: (item) => item.trackingId,
    demoItems: () => demoRecipients,
    queues: { render: { concurrency: deps.pdfRenderConcurrency, env: 'PDF_RENDER_CONCURRENCY' } },
    steps: [
      {
        name: RENDER_STEP,
        result: 'PDFs rendered',
        description:
          "Fills the batch's creative template (the recipient's fields, the QR code of the tracking URL) and draws it to PDF with Fabric.js on the browser pool.",
        queue: 'render',
        // Covers a wait for a free page behind a full pool plus a browser (re)launch. The engine
        // heartbeats all the while (rendering happens in Chromium, off the event loop), so the
        // default heartbeat timeout holds and a dead worker's renders resume within seconds.
        startToCloseTimeoutMs: 3 * 60_000,
        retry: { maximumAttempts: 4 },
        run: renderStepOf(deps, templates),
      },
    ],
    prepareBatch: async ({ orgId, settings }) => {
      const t = await templates.current(orgId, settings.templateId);
      if (!t)
        return {
          problems: [
            {
              path: ['templateId'],
              message: `there is no creative template "${settings.templateId}" in your organisation`,
            },
          ],
        };
      const placeholders = t.uses.placeholders;
      return {
        settings: { ...settings, templateVersion: t.versionId },
        checkItem: (item) =>
          missingFieldsOf(placeholders, item).map((field) => ({
            path: [field],
            message: `the template "${t.name}" prints {{${field}}}, and this recipient has no ${field}`,
          })),
      };
    },
    onBatchEnd: {
      startToCloseTimeoutMs: 30 * 60_000,
      run: async (ctx): Promise<DmCreativeBatchEndResult> => {
        const settings = dmCreativeSettingsSchema.parse(ctx.settings);
        const dir = batchDirOf(deps.filesDir, ctx.batchId);
        const zipName = zipNameOf(ctx.batchName);
        const zip = await writeZipAtomic(path.join(dir, zipName), succeededPdfs(ctx, dir), {
          signal: ctx.signal,
          onEntry: (entries) => {
            if (entries % 200 === 0) ctx.heartbeat({ entries });
          },
        });
        if (zip.missing.length)
          ctx.log.warn('PDFs of succeeded items are missing from the batch directory', {
            missing: zip.missing.length,
            first: zip.missing[0]?.name,
          });
        ctx.log.info('ZIP of the batch written', { file: zipName, bytes: zip.bytes, entries: zip.entries });
        const email = await sendCompletionEmail(deps, mailer, ctx, settings, dir, {
          name: zipName,
          bytes: zip.bytes,
          entries: zip.entries,
        });
        return {
          files: [{ name: zipName, bytes: zip.bytes, contentType: 'application/zip' }],
          pdfs: zip.entries,
          downloadUrl: zipDownloadUrl(deps.appUrl, ctx.batchId, zipName),
          ...(zip.missing.length ? { missingPdfs: zip.missing.slice(0, 20).map((m) => m.name) } : {}),
          email,
        };
      },
    },
    exportColumns: (item: SettledItem) => {
      const out = item.outputs[RENDER_STEP] as Partial<RenderPdfOutput> | undefined;
      return {
        pdf_file: out?.file ?? null,
        pdf_bytes: out?.bytes ?? null,
        pdf_pages: out?.pages ?? null,
        tracking_url: out?.trackingUrl ?? null,
      };
    },
  });
}

/**
 * The render step: one recipient's PDF, written atomically into the batch directory (a file left
 * by an earlier attempt is complete and reused). The browser pool is taken at the first render.
 */
function renderStepOf(
  deps: DmCreativeDeps,
  templates: CreativeTemplateStore,
): (ctx: StepContext<RecipientItem, DmCreativeSettings>) => Promise<RenderPdfOutput> {
  const pool = () =>
    deps.renderPool ?? sharedPdfRenderPool({ chromiumPath: deps.chromiumPath, concurrency: deps.pdfRenderConcurrency });

  return async function renderStep(ctx: StepContext<RecipientItem, DmCreativeSettings>): Promise<RenderPdfOutput> {
    const recipient = recipientItemSchema.parse(ctx.item);
    const settings = dmCreativeSettingsSchema.parse(ctx.settings);
    const file = `${safeFileName(ctx.itemKey)}.pdf`;
    const dest = path.join(batchDirOf(deps.filesDir, ctx.batchId), file);
    const trackingUrl = trackingUrlOf(settings.trackingBaseUrl, recipient.trackingId);

    if ((await fileSize(dest)) !== undefined) {
      // Written atomically by an earlier attempt that died before reporting: it is complete.
      const pdf = await fs.promises.readFile(dest);
      ctx.log.info('PDF already rendered by an earlier attempt', { file, attempt: ctx.attempt });
      return { file, bytes: pdf.length, pages: countPdfPages(pdf), trackingUrl, reused: true };
    }

    const template = settings.templateVersion ? await templates.version(settings.templateVersion) : null;
    if (!template)
      throw new NonRetryableStepError(
        `the batch's creative template version ${settings.templateVersion ?? '(none)'} is not stored`,
        'TemplateMissingError',
      );
    const out = await renderRecipientPdf(pool(), recipient, settings, template, {
      signal: ctx.signal,
      timeoutMs: 60_000,
    });
    if (out.launchedBrowser)
      ctx.log.info('launched a Chromium for the PDF render pool', { chromiumPath: deps.chromiumPath });
    if (out.blockedRequests.length)
      ctx.log.warn('the creative tried to load resources; they were blocked', {
        urls: out.blockedRequests.slice(0, 10),
      });
    await writeFileAtomic(dest, out.pdf);
    return { file, bytes: out.pdf.length, pages: out.pages, trackingUrl };
  };
}

/**
 * The completion e-mail with the ZIP's download link, sent at most once per hook round: a marker
 * file written after the send stops a retried hook from sending again.
 */
async function sendCompletionEmail(
  deps: DmCreativeDeps,
  mailer: Mailer,
  ctx: BatchEndContext<DmCreativeSettings>,
  settings: DmCreativeSettings,
  dir: string,
  zip: { name: string; bytes: number; entries: number },
): Promise<DmCreativeEmailResult> {
  const to = settings.notifyEmail ?? null;
  if (!to) return { sent: false, to: null, messageId: null, skipped: 'no notifyEmail in the batch settings' };
  if (!mailer.configured) return { sent: false, to, messageId: null, skipped: 'SMTP is not configured (no SMTP host)' };

  const messageId = messageIdOf(ctx.idempotencyKey, mailer.from);
  const marker = path.join(
    dir,
    `.email-sent-${crypto.createHash('sha256').update(ctx.idempotencyKey).digest('hex').slice(0, 16)}.json`,
  );
  if ((await fileSize(marker)) !== undefined) {
    ctx.log.info('completion e-mail already sent by an earlier attempt', { to, messageId });
    return { sent: true, to, messageId, alreadySent: true };
  }
  const { subject, text } = completionEmail({
    batchId: ctx.batchId,
    batchName: ctx.batchName,
    status: ctx.status,
    counts: ctx.counts,
    appUrl: deps.appUrl,
    zip,
    signature: settings.companyName,
  });
  try {
    const sent = await mailer.send({
      to,
      subject,
      text,
      messageId,
      headers: { 'X-Flotilla-Idempotency-Key': ctx.idempotencyKey, 'X-Flotilla-Batch-Id': ctx.batchId },
    });
    await writeFileAtomic(
      marker,
      Buffer.from(JSON.stringify({ messageId: sent.messageId, to, at: new Date().toISOString() })),
    );
    ctx.log.info('completion e-mail sent', { to, messageId: sent.messageId });
    return { sent: true, to, messageId: sent.messageId };
  } catch (err) {
    if (err instanceof MailSendError && err.permanent)
      throw new NonRetryableStepError(err.message, 'EmailRejectedError', { responseCode: err.responseCode });
    throw err;
  }
}
