/** Words of the creative templates page: page sizes, orientations, what a template uses; a draft canvas read. */
import type { CreativeTemplateSummary, PageSize, TemplatePage } from '../../api.ts';
// The `{{name}}` syntax, defined once where the renderer fills it (plain TypeScript, no imports).
import { placeholdersIn } from '../../../../contract/values';

/** Every page size the contract takes, with its dimensions (the select's options, in this order). */
export const PAGE_SIZE_LABELS: Record<PageSize, string> = {
  A4: 'A4 (210 × 297 mm)',
  Letter: 'US Letter (8.5 × 11 in)',
  A5: 'A5 (148 × 210 mm)',
  postcard: 'Postcard (4 × 6 in)',
};

export const ORIENTATION_LABELS: Record<TemplatePage['orientation'], string> = {
  portrait: 'Portrait',
  landscape: 'Landscape',
};

/** "A4 portrait", "Postcard landscape". */
export const pageText = (p: TemplatePage) =>
  `${p.size === 'postcard' ? 'Postcard' : p.size} ${ORIENTATION_LABELS[p.orientation].toLowerCase()}`;

export const qrText = (t: CreativeTemplateSummary) => (t.uses.qrSlots > 0 ? 'Yes' : 'No');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A canvas as pasted or uploaded: the JSON object, or why it is not one. */
export function parseCanvas(text: string): { canvas: Record<string, unknown> } | { error: string } {
  if (!text.trim()) return { error: 'Choose a Fabric JSON file or paste the canvas JSON.' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `This is not JSON: ${(err as Error).message}` };
  }
  if (!isObject(v)) return { error: 'A Fabric canvas is a JSON object: { "objects": [ … ] }.' };
  return { canvas: v };
}

/**
 * The placeholders in a canvas's texts, before it is saved (the saved template's list is the
 * API's). Every `text` of every object, groups included.
 */
export function placeholdersOf(canvas: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 20) return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    if (!isObject(v)) return;
    if (typeof v.text === 'string') for (const p of placeholdersIn(v.text)) found.add(p);
    for (const [k, x] of Object.entries(v)) if (k !== 'text' && typeof x === 'object') walk(x, depth + 1);
  };
  walk(canvas, 0);
  return [...found].sort();
}
