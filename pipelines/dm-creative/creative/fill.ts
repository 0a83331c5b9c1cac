/**
 * One recipient's canvas: the template's canvas JSON with every placeholder in its texts filled
 * and every QR slot replaced by the recipient's QR code, drawn at the slot's place and size.
 * Works on the JSON, before Fabric sees it, so the renderer page receives plain data to draw.
 *
 * Per-character styles keep their positions: a placeholder that changes a line's length shifts
 * the styled characters after it on that line (draw styled words apart from placeholders).
 */
import { isQrSlot } from './canvas-check';
import { fillPlaceholders } from './placeholders';

type Obj = Record<string, unknown>;

/** Quiet zone around the code, in modules (the QR standard asks for 4; 2 prints reliably on paper). */
export const QR_MARGIN = 2;

/** A QR code's dark modules: `size` × `size`, row by row. */
export interface QrModules {
  size: number;
  dark: (row: number, col: number) => boolean;
}

function slotBox(o: Obj): { left: number; top: number; side: number } {
  const n = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const type = String(o.type ?? '').toLowerCase();
  const w = Math.abs((type === 'circle' ? n(o.radius, 0) * 2 : n(o.width, 0)) * n(o.scaleX, 1));
  const h = Math.abs((type === 'circle' ? n(o.radius, 0) * 2 : n(o.height, 0)) * n(o.scaleY, 1));
  // Fabric 7 places an object by its centre unless the JSON says otherwise.
  const ox = o.originX === 'left' ? 0 : o.originX === 'right' ? 1 : 0.5;
  const oy = o.originY === 'top' ? 0 : o.originY === 'bottom' ? 1 : 0.5;
  const side = Math.min(w, h);
  return { left: n(o.left, 0) - ox * w + (w - side) / 2, top: n(o.top, 0) - oy * h + (h - side) / 2, side };
}

/**
 * The QR slot as vector drawing: a white square (the quiet zone) and one path of the dark
 * modules, a square code centred in the slot. Vector, so it prints sharp at any size and the
 * PDF carries no image for it.
 */
function qrObjectsOf(slot: Obj, qr: QrModules): Obj[] {
  const { left, top, side } = slotBox(slot);
  const scale = side / (qr.size + 2 * QR_MARGIN);
  const path: Array<[string, ...number[]]> = [];
  for (let row = 0; row < qr.size; row++)
    for (let col = 0; col < qr.size; col++) {
      if (!qr.dark(row, col) || (col > 0 && qr.dark(row, col - 1))) continue;
      let end = col + 1;
      while (end < qr.size && qr.dark(row, end)) end++;
      path.push(['M', col, row], ['H', end], ['V', row + 1], ['H', col], ['Z']);
    }
  const common = { originX: 'left', originY: 'top', strokeWidth: 0, stroke: null, opacity: slot.opacity ?? 1 };
  return [
    { type: 'Rect', ...common, name: 'qr-quiet-zone', left, top, width: side, height: side, fill: '#ffffff' },
    {
      type: 'Path',
      ...common,
      name: 'qr',
      // The finder patterns fill the corners, so the path's box is the whole module grid.
      left: left + QR_MARGIN * scale,
      top: top + QR_MARGIN * scale,
      scaleX: scale,
      scaleY: scale,
      fill: '#000000',
      path,
    },
  ];
}

const TEXT_TYPES = new Set(['textbox', 'text', 'i-text', 'itext']);

/** The canvas for one recipient: placeholders filled, every QR slot drawn as `qr`. */
export function fillCanvas(canvas: Obj, values: Readonly<Record<string, string>>, qr: QrModules): Obj {
  const fill = (o: unknown): unknown[] => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return [o];
    const obj = o as Obj;
    if (isQrSlot(obj)) return qrObjectsOf(obj, qr);
    const out: Obj = { ...obj };
    if (TEXT_TYPES.has(String(obj.type ?? '').toLowerCase()) && typeof obj.text === 'string')
      out.text = fillPlaceholders(obj.text, values);
    if (Array.isArray(obj.objects)) out.objects = obj.objects.flatMap(fill);
    return [out];
  };
  return { ...canvas, objects: ((canvas.objects as unknown[] | undefined) ?? []).flatMap(fill) };
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
