/**
 * A pipeline's settings form, generated from the JSON Schema the API derives from its zod schema:
 * which input each setting gets, its default, and the checks the page can make before asking the
 * API (which stays the judge: its 400 issues are mapped back onto these fields by path).
 */
import type { JsonSchema } from '../../api.ts';
import { fieldMessage, humanize, type FieldRule } from '../../../../contract/field-messages';

export type SettingKind = 'text' | 'textarea' | 'select' | 'number' | 'checkbox' | 'list' | 'group' | 'unsupported';

export interface SettingField {
  /** Property names from the settings object down to this field. */
  path: string[];
  /** DOM id of the input. */
  id: string;
  /** The path the API names in a validation issue: `settings.model`, `settings.address.city`. */
  issuePath: string;
  label: string;
  kind: SettingKind;
  /** The field's own schema, null branch of a nullable removed. */
  schema: JsonSchema;
  required: boolean;
  description?: string;
  /** Values of an enum (select). */
  options?: unknown[];
  /** An input type for strings with a format (email, url, date). */
  inputType?: 'text' | 'email' | 'url' | 'date';
  children?: SettingField[];
}

/** What the inputs hold while the operator types: text for most, a boolean for checkboxes. */
export type SettingsDraft = Record<string, string | boolean>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const primitive = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

const typesOf = (s: JsonSchema): string[] =>
  Array.isArray(s.type) ? s.type : typeof s.type === 'string' ? [s.type] : [];

/** A nullable or single-branch union becomes its one real branch; anything else stays as it is. */
function resolve(s: JsonSchema): JsonSchema {
  const union = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null) as JsonSchema[] | null;
  if (union) {
    const real = union.filter((b) => !(typesOf(b).length === 1 && typesOf(b)[0] === 'null'));
    if (real.length === 1) {
      const { anyOf: _a, oneOf: _o, ...rest } = s;
      return resolve({
        ...rest,
        ...real[0],
        description: s.description ?? real[0].description,
        default: s.default ?? real[0].default,
      });
    }
    return s;
  }
  const types = typesOf(s).filter((t) => t !== 'null');
  if (Array.isArray(s.type) && types.length === 1) return { ...s, type: types[0] };
  return s;
}

function kindOf(s: JsonSchema): Pick<SettingField, 'kind' | 'options' | 'inputType'> {
  if (Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every(primitive)) return { kind: 'select', options: s.enum };
  if (s.const !== undefined && primitive(s.const)) return { kind: 'select', options: [s.const] };
  const types = typesOf(s);
  if (types.length !== 1) return { kind: 'unsupported' };
  switch (types[0]) {
    case 'string': {
      const long = typeof s.maxLength === 'number' && s.maxLength > 200;
      const prose = /template|prompt/i.test(String(s.description ?? ''));
      const inputType =
        s.format === 'email'
          ? 'email'
          : s.format === 'uri' || s.format === 'url'
            ? 'url'
            : s.format === 'date'
              ? 'date'
              : 'text';
      return { kind: long || prose ? 'textarea' : 'text', inputType };
    }
    case 'number':
    case 'integer':
      return { kind: 'number' };
    case 'boolean':
      return { kind: 'checkbox' };
    case 'array': {
      const items = s.items ? resolve(s.items) : undefined;
      if (items && typesOf(items).length === 1 && typesOf(items)[0] === 'string') return { kind: 'list' };
      return { kind: 'unsupported' };
    }
    case 'object':
      return isObject(s.properties) && Object.keys(s.properties).length > 0
        ? { kind: 'group' }
        : { kind: 'unsupported' };
    default:
      return { kind: 'unsupported' };
  }
}

/** The form's fields, in the schema's order; nested objects become groups. */
export function settingFields(schema: JsonSchema | undefined, parent: string[] = []): SettingField[] {
  const required = new Set(schema?.required ?? []);
  return Object.entries(schema?.properties ?? {}).map(([name, raw]) => {
    const s = resolve(raw);
    const path = [...parent, name];
    const k = kindOf(s);
    const field: SettingField = {
      path,
      id: `setting-${path.join('-')}`,
      issuePath: ['settings', ...path].join('.'),
      label: typeof s.title === 'string' ? s.title : humanize(name),
      schema: s,
      required: required.has(name),
      ...(typeof s.description === 'string' && s.description ? { description: s.description } : {}),
      ...k,
    };
    if (k.kind === 'group') field.children = settingFields(s, path);
    return field;
  });
}

export const keyOf = (f: SettingField) => f.path.join('.');

export function* leaves(fields: SettingField[]): Generator<SettingField> {
  for (const f of fields) {
    if (f.kind === 'group') yield* leaves(f.children ?? []);
    else yield f;
  }
}

const valueAt = (obj: unknown, path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), obj);

/** The text a value shows in its input. */
function draftOf(f: SettingField, v: unknown): string | boolean {
  if (f.kind === 'checkbox') return v === undefined ? false : Boolean(v);
  if (v === undefined || v === null) return '';
  if (f.kind === 'select') return JSON.stringify(v);
  if (f.kind === 'list') return Array.isArray(v) ? v.map(String).join('\n') : String(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The inputs for `settings` (or the defaults where it has no value). */
export function draftFrom(fields: SettingField[], settings: Record<string, unknown> = {}): SettingsDraft {
  const draft: SettingsDraft = {};
  for (const f of leaves(fields)) {
    if (f.kind === 'unsupported') continue;
    const v = valueAt(settings, f.path);
    draft[keyOf(f)] = draftOf(f, v !== undefined ? v : f.schema.default);
  }
  return draft;
}

/** Values of the settings object that no input shows (unsupported fields, unknown keys): kept as they are. */
export function extrasOf(fields: SettingField[], settings: Record<string, unknown>): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  const walk = (list: SettingField[], obj: Record<string, unknown>, into: Record<string, unknown>) => {
    const known = new Map(list.map((f) => [f.path[f.path.length - 1], f]));
    for (const [k, v] of Object.entries(obj)) {
      const f = known.get(k);
      if (!f || f.kind === 'unsupported') into[k] = v;
      else if (f.kind === 'group' && isObject(v)) {
        const sub: Record<string, unknown> = {};
        walk(f.children ?? [], v, sub);
        if (Object.keys(sub).length) into[k] = sub;
      }
    }
  };
  walk(fields, settings, extra);
  return extra;
}

/** A schema pattern as a RegExp; null when JavaScript cannot read it (the API still checks it). */
function regexOf(pattern: string): RegExp | null {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // try without the unicode flag, then give up
    }
  }
  return null;
}

/** The one wording of a broken rule (contract/field-messages.ts), naming the field. */
const say = (f: SettingField, rule: FieldRule) => fieldMessage(f.label, rule);

function checkString(f: SettingField, s: JsonSchema, v: string, label = f.label): string | null {
  const rule = stringRule(f, s, v);
  return rule ? fieldMessage(label, rule) : null;
}

function stringRule(f: SettingField, s: JsonSchema, v: string): FieldRule | null {
  if (typeof s.minLength === 'number' && v.length < s.minLength)
    return { kind: 'too_short', minimum: s.minLength, unit: 'character' };
  if (typeof s.maxLength === 'number' && v.length > s.maxLength)
    return { kind: 'too_long', maximum: s.maxLength, unit: 'character', actual: v.length };
  if (typeof s.pattern === 'string') {
    const re = regexOf(s.pattern);
    const hint = typeof s.patternHint === 'string' ? { hint: s.patternHint } : {};
    if (re && !re.test(v)) return { kind: 'format', format: 'regex', pattern: s.pattern, ...hint };
  }
  if (f.inputType === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return { kind: 'format', format: 'email' };
  if (f.inputType === 'url') {
    try {
      if (!/^https?:$/.test(new URL(v).protocol)) return { kind: 'format', format: 'url' };
    } catch {
      return { kind: 'format', format: 'url' };
    }
  }
  return null;
}

function checkNumber(f: SettingField, s: JsonSchema, n: number): string | null {
  if (typesOf(s).includes('integer') && !Number.isInteger(n)) return say(f, { kind: 'type', expected: 'int' });
  if (typeof s.minimum === 'number' && n < s.minimum)
    return say(f, { kind: 'too_small', minimum: s.minimum, inclusive: true });
  if (typeof s.exclusiveMinimum === 'number' && n <= s.exclusiveMinimum)
    return say(f, { kind: 'too_small', minimum: s.exclusiveMinimum, inclusive: false });
  if (typeof s.maximum === 'number' && n > s.maximum)
    return say(f, { kind: 'too_big', maximum: s.maximum, inclusive: true });
  if (typeof s.exclusiveMaximum === 'number' && n >= s.exclusiveMaximum)
    return say(f, { kind: 'too_big', maximum: s.exclusiveMaximum, inclusive: false });
  return null;
}

/** Entries of a list input: one per line or comma, blanks dropped. */
export const listEntries = (text: string): string[] =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

/** One field's value from its input, or the reason it has none. `undefined`: left empty. */
export function readField(f: SettingField, raw: string | boolean | undefined): { value?: unknown; error?: string } {
  const s = f.schema;
  if (f.kind === 'checkbox') return { value: Boolean(raw) };
  const text = typeof raw === 'string' ? raw : '';
  if (f.kind === 'list') {
    const entries = listEntries(text);
    if (entries.length === 0) return f.required ? { error: say(f, { kind: 'required' }) } : {};
    if (typeof s.minItems === 'number' && entries.length < s.minItems)
      return { error: say(f, { kind: 'too_short', minimum: s.minItems, unit: 'entry' }) };
    if (typeof s.maxItems === 'number' && entries.length > s.maxItems)
      return { error: say(f, { kind: 'too_long', maximum: s.maxItems, unit: 'entry', actual: entries.length }) };
    const item = s.items ? resolve(s.items) : {};
    const itemField = {
      ...f,
      kind: 'text' as const,
      schema: item,
      inputType:
        item.format === 'email' ? ('email' as const) : item.format === 'uri' ? ('url' as const) : ('text' as const),
    };
    for (let i = 0; i < entries.length; i++) {
      const entry = `Entry ${i + 1} of ${f.label.toLowerCase()}`;
      if (Array.isArray(item.enum) && !item.enum.includes(entries[i]))
        return { error: fieldMessage(entry, { kind: 'one_of', options: item.enum }) };
      const e = checkString(itemField, item, entries[i], entry);
      if (e) return { error: e };
    }
    return { value: entries };
  }
  if (text.trim() === '') return f.required ? { error: say(f, { kind: 'required' }) } : {};
  if (f.kind === 'select') {
    try {
      return { value: JSON.parse(text) };
    } catch {
      return { error: say(f, { kind: 'one_of', options: f.options ?? [] }) };
    }
  }
  if (f.kind === 'number') {
    const n = Number(text.trim());
    if (!Number.isFinite(n)) return { error: say(f, { kind: 'type', expected: 'number' }) };
    const e = checkNumber(f, s, n);
    return e ? { error: e } : { value: n };
  }
  const e = checkString(f, s, text);
  return e ? { error: e } : { value: text };
}

/**
 * The settings object the inputs describe, and what is wrong with them (by issue path).
 * Empty optional inputs are left out, so the pipeline's defaults apply.
 */
export function collectSettings(
  fields: SettingField[],
  draft: SettingsDraft,
  extra: Record<string, unknown> = {},
): { settings: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const build = (list: SettingField[], base: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...base };
    for (const f of list) {
      const name = f.path[f.path.length - 1];
      if (f.kind === 'unsupported') continue; // its value, if any, is in `base`
      if (f.kind === 'group') {
        const sub = build(f.children ?? [], isObject(base[name]) ? base[name] : {});
        if (Object.keys(sub).length > 0 || f.required) out[name] = sub;
        continue;
      }
      const r = readField(f, draft[keyOf(f)]);
      if (r.error) errors[f.issuePath] = r.error;
      else if (r.value !== undefined) out[name] = r.value;
    }
    return out;
  };
  return { settings: build(fields, extra), errors };
}

/** The field an API issue path points at (`settings.tags[2]` is the `tags` field), if the form shows it. */
export function fieldForIssue(fields: SettingField[], issuePath: string): SettingField | null {
  let best: SettingField | null = null;
  const visit = (list: SettingField[]) => {
    for (const f of list) {
      const p = f.issuePath;
      if (issuePath === p || issuePath.startsWith(`${p}.`) || issuePath.startsWith(`${p}[`)) {
        if (f.kind === 'group') visit(f.children ?? []);
        if (!best || p.length > best.issuePath.length) best = f;
      }
    }
  };
  visit(fields);
  return best;
}

const isEmptyValue = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/**
 * What leaving a setting empty means, when its schema says (`whenEmpty`, e.g. dm-creative's
 * `notifyEmail`: no completion e-mail is sent), for a value that is empty; else null.
 */
export function whenEmptyNotice(schema: JsonSchema | undefined, value: unknown): string | null {
  const text = schema?.whenEmpty;
  return typeof text === 'string' && isEmptyValue(value) ? text : null;
}

/** Every such notice for a batch's settings (the top-level ones of its pipeline's schema). */
export function whenEmptyNotices(schema: JsonSchema | undefined, settings: Record<string, unknown> = {}): string[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(props)
    .map(([key, s]) => whenEmptyNotice(s, settings[key]))
    .filter((n): n is string => n !== null);
}
