/**
 * One recipient's creative: the batch's frozen template (a Fabric canvas) filled with the
 * recipient's fields, the batch settings and the QR code of the recipient's tracking URL (drawn
 * as vector shapes), ready
 * for the render pool to draw (creative/renderer-page.ts).
 *
 * Recipient and settings values only ever become the `text` of Fabric text objects, never markup:
 * Fabric escapes text when it writes SVG, and the renderer page runs no script but ours. The only
 * images are the template's own embedded `data:` images (checked when it was saved).
 */
import QRCode from 'qrcode';
import type { TemplatePage } from '../../contract/creative-templates';
import { checkCanvas, type FontUse } from './creative/canvas-check';
import { fillCanvas, QR_MARGIN, textOfCanvas, type QrModules } from './creative/fill';
import { designSizeOf, pageMmOf } from './creative/page-sizes';
import { placeholderValuesOf } from './creative/placeholders';
import type { CreativeDoc } from './pdf-pool';

/** A template's content as frozen into a batch: its version never changes. */
export interface TemplateContent {
  /** `ctv_…`: names this exact content. */
  versionId: string;
  templateId: string;
  name: string;
  page: TemplatePage;
  canvas: Record<string, unknown>;
}

/** `https://track.example.com/t/` + the tracking id (URL-encoded), with exactly one slash between. */
export function trackingUrlOf(trackingBaseUrl: string, trackingId: string): string {
  return `${trackingBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(trackingId)}`;
}

/** The QR code of `text` (error correction M: a code still reads with 15% of it smudged). */
export const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: QR_MARGIN } as const;

export function qrModulesOf(text: string): QrModules {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: QR_OPTIONS.errorCorrectionLevel });
  return { size: modules.size, dark: (row, col) => Boolean(modules.get(row, col)) };
}

interface Prepared {
  width: number;
  height: number;
  faces: FontUse[];
  page: { widthMm: number; heightMm: number };
}

/** What every recipient's render of one version shares, worked out once per process. */
const preparedVersions = new Map<string, Prepared>();

function prepared(t: TemplateContent): Prepared {
  let p = preparedVersions.get(t.versionId);
  if (!p) {
    const size = designSizeOf(t.canvas, t.page);
    const check = checkCanvas(t.canvas, size);
    p = {
      ...size,
      faces: check.faces,
      page: pageMmOf(t.page),
    };
    if (preparedVersions.size >= 50) preparedVersions.delete(preparedVersions.keys().next().value!);
    preparedVersions.set(t.versionId, p);
  }
  return p;
}

export interface CreativeSettings {
  companyName: string;
  industry?: string;
  brandVoice?: string;
  trackingBaseUrl: string;
}

/** The document the pool draws for this recipient. */
export function creativeDocOf(
  template: TemplateContent,
  recipient: Readonly<Record<string, unknown>> & { trackingId: string },
  settings: CreativeSettings,
): { doc: CreativeDoc; trackingUrl: string } {
  const p = prepared(template);
  const trackingUrl = trackingUrlOf(settings.trackingBaseUrl, recipient.trackingId);
  const canvas = fillCanvas(
    template.canvas,
    placeholderValuesOf({ recipient, settings, trackingUrl }),
    qrModulesOf(trackingUrl),
  );
  return {
    doc: { canvas, width: p.width, height: p.height, faces: p.faces, text: textOfCanvas(canvas), page: p.page },
    trackingUrl,
  };
}
