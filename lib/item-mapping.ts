/**
 * From spreadsheet rows to pipeline items: which column feeds which item field (suggested from
 * the column names, or chosen by the operator), how a cell's text becomes the field's type, and
 * what the pipeline's item schema says about the result. One module, used by
 * `POST /api/uploads/:id/check` and by `POST /api/batches` with an upload, so the check judges
 * exactly what the batch would run.
 */
import { z } from 'zod';
import { formatPath, type FieldIssue } from './field-path';

/** An item field as the mapping page shows it, from the item schema's JSON Schema. */
export interface ItemField {
  name: string;
  type: string;
  required: boolean;
  description?: string;
}

/** Item field -> column name; null (or absent) leaves the field unmapped. */
export type ColumnMapping = Record<string, string | null>;

type Coercion = 'string' | 'number' | 'boolean' | 'json-array' | 'json-object';
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  description?: string;
};

/** Field names that would reach an object's prototype instead of the object. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

/** `Tracking ID` and `trackingId` both normalise to `trackingid`. */
export const normaliseName = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

function typesOf(s: JsonSchema | undefined): string[] {
  if (!s) return [];
  if (Array.isArray(s.type)) return s.type;
  if (typeof s.type === 'string') return [s.type];
  return [...(s.anyOf ?? []), ...(s.oneOf ?? [])].flatMap(typesOf);
}

function coercionOf(s: JsonSchema | undefined): Coercion {
  const types = typesOf(s).filter((t) => t !== 'null');
  // A field that takes text takes the cell as it is; otherwise the first typed reading it has.
  if (types.length === 0 || types.includes('string')) return 'string';
  if (types.includes('number') || types.includes('integer')) return 'number';
  if (types.includes('boolean')) return 'boolean';
  if (types.includes('array')) return 'json-array';
  if (types.includes('object')) return 'json-object';
  return 'string';
}

/** A cell's text as the field's type; text that does not read as that type stays text, for the schema to refuse by name. */
export function coerceCell(text: string, how: Coercion): unknown {
  switch (how) {
    case 'number': {
      const n = text.trim() === '' ? NaN : Number(text.trim());
      return Number.isNaN(n) ? text : n;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      return TRUE.has(t) ? true : FALSE.has(t) ? false : text;
    }
    case 'json-array':
    case 'json-object':
      try {
        const v: unknown = JSON.parse(text);
        return (how === 'json-array' ? Array.isArray(v) : v !== null && typeof v === 'object' && !Array.isArray(v))
          ? v
          : text;
      } catch {
        return text;
      }
    default:
      return text;
  }
}

/**
 * The item fields of a pipeline and how to read cells into them, from the item schema's JSON
 * Schema (the same document GET /api/pipelines shows). `open` when the schema keeps fields it
 * does not declare (ai-prompt's prompt columns): then any column may be mapped to a field of its
 * own name.
 */
export class ItemShape {
  readonly fields: ItemField[];
  readonly open: boolean;
  private readonly coercions = new Map<string, Coercion>();

  constructor(readonly schema: z.ZodType) {
    let json: JsonSchema = {};
    try {
      json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    } catch {
      // A schema JSON Schema cannot describe: no declared fields; the item schema still judges every row.
    }
    const branches = json.properties
      ? [json]
      : [...(json.anyOf ?? []), ...(json.oneOf ?? [])].filter((b) => b.properties);
    const fields = new Map<string, ItemField>();
    for (const branch of branches) {
      for (const [name, prop] of Object.entries(branch.properties ?? {})) {
        if (UNSAFE_KEYS.has(name)) continue;
        const required = branches.every((b) => b.required?.includes(name));
        const types = [...new Set(typesOf(prop))];
        fields.set(name, {
          name,
          type: types.length ? types.join('|') : 'any',
          required,
          ...(typeof prop.description === 'string' ? { description: prop.description } : {}),
        });
        if (!this.coercions.has(name)) this.coercions.set(name, coercionOf(prop));
      }
    }
    this.fields = [...fields.values()];
    this.open =
      branches.length === 0 ||
      branches.some((b) => b.additionalProperties !== undefined && b.additionalProperties !== false);
  }

  has(field: string): boolean {
    return this.coercions.has(field);
  }

  coercionOf(field: string): Coercion {
    return this.coercions.get(field) ?? 'string';
  }

  /**
   * Each field gets the column whose normalised name equals its own (unmatched: null); a schema
   * that keeps undeclared fields also gets every column no field took, under the column's name.
   */
  suggest(columns: string[]): ColumnMapping {
    const mapping: ColumnMapping = {};
    const taken = new Set<string>();
    for (const f of this.fields) {
      const col = columns.find((c) => normaliseName(c) === normaliseName(f.name) && normaliseName(c) !== '');
      mapping[f.name] = col ?? null;
      if (col) taken.add(col);
    }
    if (this.open) {
      for (const c of columns) {
        if (taken.has(c) || UNSAFE_KEYS.has(c) || this.fields.some((f) => normaliseName(f.name) === normaliseName(c)))
          continue;
        mapping[c] = c;
      }
    }
    return mapping;
  }

  /** What is wrong with a mapping: a field the pipeline does not have, a column the file does not have (paths `<prefix>.<field>`). */
  mappingIssues(mapping: ColumnMapping, columns: string[], prefix: string): FieldIssue[] {
    const issues: FieldIssue[] = [];
    const known = new Set(columns);
    for (const [field, column] of Object.entries(mapping)) {
      const path = `${prefix}.${field}`;
      if (UNSAFE_KEYS.has(field)) issues.push({ path, message: `"${field}" cannot be a field name` });
      else if (!this.has(field) && !this.open)
        issues.push({
          path,
          message: `the pipeline's items have no field "${field}"; fields: ${this.fields.map((f) => f.name).join(', ')}`,
        });
      else if (column !== null && !known.has(column))
        issues.push({
          path,
          message: `the file has no column "${column}"; columns: ${columns.slice(0, 30).join(', ')}${columns.length > 30 ? ', …' : ''}`,
        });
    }
    return issues;
  }
}

/** One row's item and, when asked, what the item schema says about it. */
export interface RowCheck {
  item: Record<string, unknown>;
  /** The item as the schema gives it back, when it passed. */
  data?: unknown;
  errors: Array<{ field: string; column: string | null; message: string; value?: string; path: string }>;
}

/** Reads rows (cells aligned with `columns`) into items through a checked mapping. */
export class RowMapper {
  private readonly plan: Array<{ field: string; index: number; how: Coercion }>;

  constructor(
    private readonly shape: ItemShape,
    columns: string[],
    readonly mapping: ColumnMapping,
  ) {
    const indexOf = new Map(columns.map((c, i) => [c, i]));
    this.plan = Object.entries(mapping)
      .filter((e): e is [string, string] => e[1] !== null && indexOf.has(e[1]) && !UNSAFE_KEYS.has(e[0]))
      .map(([field, column]) => ({ field, index: indexOf.get(column)!, how: shape.coercionOf(field) }));
  }

  /** The item of a row: each mapped field from its cell, an empty cell leaving the field out. */
  item(cells: string[]): Record<string, unknown> {
    const item: Record<string, unknown> = {};
    for (const { field, index, how } of this.plan) {
      const text = cells[index] ?? '';
      if (text === '') continue;
      item[field] = coerceCell(text, how);
    }
    return item;
  }

  /** The item and the schema's objections, each named by field and column. */
  check(cells: string[]): RowCheck {
    const item = this.item(cells);
    const parsed = this.shape.schema.safeParse(item);
    if (parsed.success) return { item, data: parsed.data, errors: [] };
    const errors = parsed.error.issues.map((iss) => {
      const field = typeof iss.path[0] === 'string' ? iss.path[0] : '(root)';
      const column = this.mapping[field] ?? null;
      const idx = column === null ? -1 : (this.plan.find((p) => p.field === field)?.index ?? -1);
      const value = idx >= 0 ? cells[idx] : undefined;
      const missing = iss.path.length === 1 && iss.code === 'invalid_type' && item[field] === undefined;
      const message = missing
        ? column
          ? `required, but the cell in column "${column}" is empty`
          : `required, but no column is mapped to "${field}"`
        : iss.message;
      return {
        field,
        column,
        message,
        path: formatPath(iss.path),
        ...(value !== undefined && value !== '' ? { value: value.slice(0, 200) } : {}),
      };
    });
    return { item, errors };
  }
}
