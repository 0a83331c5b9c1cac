/**
 * The DM creative: one A4 page per recipient, addressed for a window envelope, with the
 * campaign message, a call-to-action phone number and a QR code of the recipient's tracking URL.
 *
 * Every recipient and settings value reaches the HTML through `escapeHtml` (text and attribute
 * positions alike), so a field such as `<img src=file:///etc/passwd>` prints as those characters
 * and never becomes markup. The only URL the page contains is the QR code's `data:` URL, which
 * is ours; the renderer (pdf-pool.ts) additionally blocks every request and disables
 * JavaScript, so even a bug here could not reach the network or the file system.
 */
import QRCode from 'qrcode';

/** The recipient fields the template uses (the pipeline's item, already validated). */
export interface CreativeRecipient {
  trackingId: string;
  name: string;
  lastname: string;
  address?: string;
  city?: string;
  zip?: string;
  message: string;
  phoneNumber: string;
}

/** The campaign-wide settings the template uses. */
export interface CreativeSettings {
  companyName: string;
  industry?: string;
  brandVoice?: string;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for any HTML text or quoted-attribute position. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (ch) => HTML_ESCAPES[ch]!);
}

/** `https://track.example.com/t/` + the tracking id (URL-encoded), with exactly one slash between. */
export function trackingUrlOf(trackingBaseUrl: string, trackingId: string): string {
  return `${trackingBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(trackingId)}`;
}

/** Options shared by the pipeline and the tests that decode the QR image. */
export const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 2, scale: 6 } as const;

/** A PNG `data:` URL of the QR code of `text`: inline, so rendering needs no request. */
export function qrDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { ...QR_OPTIONS, type: 'image/png' });
}

/** Brand voices that read better with a first-name greeting. */
const INFORMAL_VOICE = /\b(friendly|casual|playful|warm|fun|informal)\b/i;

function greetingOf(r: CreativeRecipient, s: CreativeSettings): string {
  return s.brandVoice && INFORMAL_VOICE.test(s.brandVoice) ? `Hi ${r.name},` : `Dear ${r.name} ${r.lastname},`;
}

/** The message keeps the recipient's paragraphs and line breaks, escaped line by line. */
function paragraphsOf(message: string): string {
  return message
    .split(/\r?\n\s*\r?\n/)
    .map((p) => `<p>${p.split(/\r?\n/).map(escapeHtml).join('<br>')}</p>`)
    .join('\n');
}

export interface CreativeInput {
  recipient: CreativeRecipient;
  settings: CreativeSettings;
  trackingUrl: string;
  /** From `qrDataUrl(trackingUrl)`; must be a `data:image/png;base64,` URL. */
  qrDataUrl: string;
}

/** The complete HTML document of one recipient's creative. */
export function renderCreativeHtml({ recipient: r, settings: s, trackingUrl, qrDataUrl: qr }: CreativeInput): string {
  if (!/^data:image\/png;base64,[A-Za-z0-9+/=]+$/.test(qr)) throw new Error('qrDataUrl must be a base64 PNG data: URL');
  const e = escapeHtml;
  const cityLine = [r.zip, r.city].filter((v) => v && v.trim()).join(' ');
  const addressLines = [`${r.name} ${r.lastname}`, r.address, cityLine]
    .filter((v) => v && v.trim())
    .map((v) => `<div>${e(v)}</div>`)
    .join('');
  const tagline = s.industry ? `${s.companyName} · ${s.industry}` : s.companyName;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(s.companyName)} – ${e(r.trackingId)}</title>
<style>
  @page { size: A4; margin: 0; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1f2933; font-size: 11pt; line-height: 1.5; }
  .page { width: 210mm; height: 297mm; padding: 18mm 20mm; position: relative; overflow: hidden; }
  .brand { font-size: 20pt; font-weight: bold; color: #0b5cab; letter-spacing: 0.02em; }
  .tagline { font-size: 9pt; color: #52606d; }
  .window { position: absolute; top: 45mm; left: 20mm; width: 90mm; min-height: 35mm; font-size: 11pt; }
  .body { margin-top: 62mm; }
  .greeting { font-weight: bold; margin-bottom: 4mm; }
  .message p { margin: 0 0 3mm; white-space: normal; overflow-wrap: anywhere; }
  .cta { margin-top: 10mm; display: flex; align-items: center; gap: 10mm; padding: 6mm; border: 0.6mm solid #0b5cab; border-radius: 3mm; }
  .cta img { width: 38mm; height: 38mm; }
  .cta .phone { font-size: 14pt; font-weight: bold; }
  .cta .url { font-size: 8pt; color: #52606d; overflow-wrap: anywhere; }
  .footer { position: absolute; bottom: 12mm; left: 20mm; right: 20mm; font-size: 8pt; color: #7b8794; border-top: 0.3mm solid #cbd2d9; padding-top: 2mm; }
</style>
</head>
<body>
<div class="page">
  <div class="brand">${e(s.companyName)}</div>
  <div class="tagline">${e(tagline)}</div>
  <div class="window">${addressLines}</div>
  <div class="body">
    <div class="greeting">${e(greetingOf(r, s))}</div>
    <div class="message">${paragraphsOf(r.message)}</div>
    <div class="cta">
      <img src="${qr}" alt="QR code">
      <div>
        <div>Scan the code or call us:</div>
        <div class="phone">${e(r.phoneNumber)}</div>
        <div class="url">${e(trackingUrl)}</div>
      </div>
    </div>
  </div>
  <div class="footer">${e(s.companyName)} · Ref. ${e(r.trackingId)}</div>
</div>
</body>
</html>`;
}
