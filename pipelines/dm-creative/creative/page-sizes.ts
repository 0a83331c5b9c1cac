/** Page sizes of creative templates, and the canvas size a design is drawn at. */
import type { TemplatePage } from '../../../contract/creative-templates';

const SIZES_MM: Record<TemplatePage['size'], [number, number]> = {
  A4: [210, 297],
  Letter: [215.9, 279.4],
  A5: [148, 210],
  postcard: [101.6, 152.4],
};

/** The page in millimetres, orientation applied. */
export function pageMmOf(page: TemplatePage): { widthMm: number; heightMm: number } {
  const [a, b] = SIZES_MM[page.size];
  return page.orientation === 'landscape' ? { widthMm: b, heightMm: a } : { widthMm: a, heightMm: b };
}

/** CSS pixels per millimetre (96 per inch), the scale Fabric editors design pages at. */
export const PX_PER_MM = 96 / 25.4;

/**
 * The canvas size the design was made at: the canvas JSON's own `width`/`height` when it carries
 * them (editors that export the page size do), else the page at 96 pixels per inch. The design is
 * scaled to the page either way.
 */
export function designSizeOf(canvas: Record<string, unknown>, page: TemplatePage): { width: number; height: number } {
  const { widthMm, heightMm } = pageMmOf(page);
  const own = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 10 && v <= 20_000 ? v : undefined);
  return {
    width: own(canvas.width) ?? Math.round(widthMm * PX_PER_MM),
    height: own(canvas.height) ?? Math.round(heightMm * PX_PER_MM),
  };
}
