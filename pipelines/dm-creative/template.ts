/**
 * One recipient's creative: the batch's frozen template (a Fabric canvas) filled with the
 * recipient's fields, the batch settings and the QR code of the recipient's tracking URL, ready
 * for the render pool to draw (creative/renderer-page.ts).
 *
 * Recipient and settings values only ever become the `text` of Fabric text objects, never markup:
 * Fabric escapes text when it writes SVG, and the renderer page runs no script but ours. The only
 * images are the template's own embedded `data:` images (checked when it was saved) and the QR
 * codes made here.
 */
import QRCode from 'qrcode';
import type { TemplatePage } from '../../contract/creative-templates';
import { checkCanvas, type FontUse } from './creative/canvas-check';
import { fillCanvas, qrPixelsFor, qrSlotsOf, textOfCanvas, type QrImage } from './creative/fill';
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

/** Options shared by the pipeline and the tests that decode the QR image. */
export const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 2 } as const;

/** A PNG `data:` URL of the QR code of `text`, `width` pixels square: inline, so rendering needs no request. */
export function qrDataUrl(text: string, width = 300): Promise<string> {
  return QRCode.toDataURL(text, { ...QR_OPTIONS, width, type: 'image/png' });
}

interface Prepared {
  width: number;
  height: number;
  faces: FontUse[];
  qrSizes: number[];
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
      qrSizes: qrSlotsOf(t.canvas).map(qrPixelsFor),
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
export async function creativeDocOf(
  template: TemplateContent,
  recipient: Readonly<Record<string, unknown>> & { trackingId: string },
  settings: CreativeSettings,
): Promise<{ doc: CreativeDoc; trackingUrl: string }> {
  const p = prepared(template);
  const trackingUrl = trackingUrlOf(settings.trackingBaseUrl, recipient.trackingId);
  const qrs: QrImage[] = await Promise.all(
    p.qrSizes.map(async (size) => ({ size, dataUrl: await qrDataUrl(trackingUrl, size) })),
  );
  const canvas = fillCanvas(template.canvas, placeholderValuesOf({ recipient, settings, trackingUrl }), qrs);
  return {
    doc: { canvas, width: p.width, height: p.height, faces: p.faces, text: textOfCanvas(canvas), page: p.page },
    trackingUrl,
  };
}
