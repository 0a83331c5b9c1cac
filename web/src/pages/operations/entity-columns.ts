/** Which of the stored entities' fields the picker shows as columns, and which facets it offers as filters. */
import type { EntityFacets, StoredEntity } from '../../api.ts';

const MAX_COLUMNS = 5;
/** Fields that name a row read best first. */
const NAME_FIELDS = ['name', 'title', 'label', 'fullName', 'companyName', 'firstName', 'lastname', 'lastName'];

export type Scalar = string | number | boolean;
export const isScalar = (v: unknown): v is Scalar =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Up to five short scalar fields of the entities' data: names first, then the facets, then the
 * rest in the data's own order. A field that only repeats the entity's key is left out.
 */
export function columnsOf(entities: StoredEntity[], facetFields: string[]): string[] {
  if (entities.length === 0) return [];
  const seen = new Map<string, { count: number; chars: number; isKey: boolean }>();
  for (const e of entities) {
    for (const [k, v] of Object.entries(e.data ?? {})) {
      if (!isScalar(v)) continue;
      const s = seen.get(k) ?? { count: 0, chars: 0, isKey: true };
      s.count++;
      s.chars += String(v).length;
      s.isKey &&= String(v) === e.key;
      seen.set(k, s);
    }
  }
  const usable = [...seen.entries()]
    .filter(([, s]) => s.count * 2 >= entities.length && s.chars / s.count <= 48 && !s.isKey)
    .map(([k]) => k);
  const rank = (k: string) => {
    const n = NAME_FIELDS.indexOf(k);
    if (n >= 0) return n;
    const f = facetFields.indexOf(k);
    return f >= 0 ? 100 + f : 1000;
  };
  return usable
    .map((k, i) => ({ k, r: rank(k), i }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .slice(0, MAX_COLUMNS)
    .map((c) => c.k);
}

export const MAX_FACET_FILTERS = 4;

/**
 * The facets worth a filter: at least two values, short enough for a select, and values that
 * entities share (a field with a value per entity, like a name or an e-mail, filters nothing).
 * Fields most entities have come first, then those with fewest values.
 */
export function usefulFacets(facets: EntityFacets | null): EntityFacets['fields'] {
  if (!facets) return [];
  const most = Math.max(2, Math.floor(facets.total / 2));
  const covered = (f: EntityFacets['fields'][number]) => f.values.reduce((n, v) => n + v.count, 0);
  return facets.fields
    .filter(
      (f) =>
        f.values.length >= 2 &&
        f.values.length <= most &&
        f.values.some((v) => v.count >= 2) &&
        f.values.every((v) => String(v.value).length <= 40),
    )
    .sort((a, b) => covered(b) - covered(a) || a.values.length - b.values.length || a.field.localeCompare(b.field));
}

export const cellText = (v: unknown): string =>
  v === undefined || v === null || v === '' ? '—' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
