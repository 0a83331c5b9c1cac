/**
 * One recipient's canvas: the template's canvas JSON with every placeholder in its texts filled
 * and every QR slot replaced by an image of the recipient's QR code at the slot's place and size.
 * Works on the JSON, before Fabric sees it, so the renderer page receives plain data to draw.
 *
 * Per-character styles keep their positions: a placeholder that changes a line's length shifts
 * the styled characters after it on that line (draw styled words apart from placeholders).
 */
import { isQrSlot } from './canvas-check';
import { fillPlaceholders } from './placeholders';

type Obj = Record<string, unknown>;

/** Print resolution of the QR image (dots per inch at the slot's printed size). */
const QR_DPI = 300;

export interface QrImage {
  /** A PNG `data:` URL of the QR code, `size` pixels square. */
  dataUrl: string;
  size: number;
}

/** The pixel size a slot's QR image is made at, for `qrImageFor`. */
export function qrPixelsFor(slot: Obj): number {
  const drawn = Math.max(slotSize(slot).width, slotSize(slot).height, 16);
  return Math.min(2_000, Math.round((drawn * QR_DPI) / 96));
}

function slotSize(o: Obj): { width: number; height: number } {
  const n = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const type = String(o.type ?? '').toLowerCase();
  const w = type === 'circle' ? n(o.radius, 0) * 2 : n(o.width, 0);
  const h = type === 'circle' ? n(o.radius, 0) * 2 : n(o.height, 0);
  return { width: Math.abs(w * n(o.scaleX, 1)), height: Math.abs(h * n(o.scaleY, 1)) };
}

/** The QR slots of a canvas (at any depth), for making their images first. */
export function qrSlotsOf(canvas: Obj): Obj[] {
  const slots: Obj[] = [];
  const walk = (o: unknown) => {
    if (!o || typeof o !== 'object') return;
    const obj = o as Obj;
    if (isQrSlot(obj)) slots.push(obj);
    if (Array.isArray(obj.objects)) obj.objects.forEach(walk);
  };
  (canvas.objects as unknown[] | undefined)?.forEach(walk);
  return slots;
}

/** The QR slot as an image of the same place and size. */
function qrImageOf(slot: Obj, qr: QrImage): Obj {
  const { width, height } = slotSize(slot);
  const side = Math.min(width, height);
  const pick = (k: string) => (slot[k] === undefined ? {} : { [k]: slot[k] });
  return {
    type: 'Image',
    ...pick('left'),
    ...pick('top'),
    ...pick('angle'),
    ...pick('originX'),
    ...pick('originY'),
    ...pick('opacity'),
    ...pick('flipX'),
    ...pick('flipY'),
    // A square code centred in the slot when the slot is not square.
    ...(String(slot.originX ?? 'left') === 'left' && width > side ? { left: Number(slot.left ?? 0) + (width - side) / 2 } : {}),
    ...(String(slot.originY ?? 'top') === 'top' && height > side ? { top: Number(slot.top ?? 0) + (height - side) / 2 } : {}),
    width: qr.size,
    height: qr.size,
    scaleX: side / qr.size,
    scaleY: side / qr.size,
    src: qr.dataUrl,
    name: 'qr',
  };
}

const TEXT_TYPES = new Set(['textbox', 'text', 'i-text', 'itext']);

/** The canvas for one recipient; `qrFor` gives the QR image of each slot, in `qrSlotsOf` order. */
export function fillCanvas(canvas: Obj, values: Readonly<Record<string, string>>, qrImages: readonly QrImage[]): Obj {
  let slot = 0;
  const fill = (o: unknown): unknown => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return o;
    const obj = o as Obj;
    if (isQrSlot(obj)) {
      const qr = qrImages[slot++];
      if (qr) return qrImageOf(obj, qr);
    }
    const out: Obj = { ...obj };
    if (TEXT_TYPES.has(String(obj.type ?? '').toLowerCase()) && typeof obj.text === 'string')
      out.text = fillPlaceholders(obj.text, values);
    if (Array.isArray(obj.objects)) out.objects = obj.objects.map(fill);
    return out;
  };
  return { ...canvas, objects: ((canvas.objects as unknown[] | undefined) ?? []).map(fill) };
}

/** All text the filled canvas draws, for loading the font subsets it needs. */
export function textOfCanvas(canvas: Obj): string {
  const parts: string[] = [];
  const walk = (o: unknown) => {
    if (!o || typeof o !== 'object') return;
    const obj = o as Obj;
    if (typeof obj.text === 'string') parts.push(obj.text);
    if (Array.isArray(obj.objects)) obj.objects.forEach(walk);
  };
  (canvas.objects as unknown[] | undefined)?.forEach(walk);
  return parts.join(' ').slice(0, 200_000);
}
