/**
 * What a field must be, in plain words naming the field: the one mapping from a broken rule to
 * the message an operator reads, used by the API (every zod issue without a message of its own,
 * lib/zod-messages.ts) and by the page's own checks before anything is sent
 * (web/src/pages/operations/settings-schema.ts). Zod-free, so the page's bundle stays small.
 *
 * A pattern says what it wants in words with the schema meta `patternHint` ("a model name like
 * gpt-4o-mini"); without one the message shows the pattern.
 */

/** A rule a value broke. */
export type FieldRule =
  | { kind: 'required' }
  | { kind: 'type'; expected: string }
  | { kind: 'too_short'; minimum: number; unit: 'character' | 'entry' }
  | { kind: 'too_long'; maximum: number; unit: 'character' | 'entry'; actual?: number }
  | { kind: 'too_small'; minimum: number; inclusive: boolean }
  | { kind: 'too_big'; maximum: number; inclusive: boolean }
  | { kind: 'format'; format: string; pattern?: string; hint?: string }
  | { kind: 'one_of'; options: readonly unknown[] }
  | { kind: 'unknown_keys'; keys: readonly string[] };

/** Words that read as initials. */
const INITIALS = new Set(['id', 'url', 'icp', 'iban', 'vat', 'api', 'csv', 'sku', 'pdf', 'ai', 'qr']);

/** `platformRegion` -> "Platform region", `max_rows` -> "Max rows", `icp` -> "ICP". */
export function humanize(name: string): string {
  const words = name
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .map((w) => (INITIALS.has(w) ? w.toUpperCase() : w));
  const text = words.join(' ');
  return text ? text[0]!.toUpperCase() + text.slice(1) : name;
}

/** How a message names the field at `path`: its last name ("Phone number"), or the entry of a list. */
export function fieldLabel(path: readonly PropertyKey[]): string {
  const last = path[path.length - 1];
  if (last === undefined) return 'This';
  if (typeof last === 'number') {
    const list = path[path.length - 2];
    return `Entry ${last + 1}${typeof list === 'string' ? ` of ${humanize(list).toLowerCase()}` : ''}`;
  }
  return humanize(String(last));
}

const plural = (n: number, one: string) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : one === 'entry' ? 'entries' : `${one}s`}`;

const KINDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  integer: 'a whole number',
  boolean: 'yes or no (true or false)',
  array: 'a list',
  object: 'a set of fields (an object)',
  date: 'a date',
};

const FORMATS: Record<string, string> = {
  email: 'an e-mail address, e.g. ops@example.com',
  url: 'a full URL, e.g. https://example.com/',
  uri: 'a full URL, e.g. https://example.com/',
  datetime: 'a date and time, e.g. 2026-01-31T09:00:00Z',
  'date-time': 'a date and time, e.g. 2026-01-31T09:00:00Z',
  date: 'a date, e.g. 2026-01-31',
  uuid: 'a UUID',
};

/** The message: the field, then what it must be. */
export function fieldMessage(label: string, rule: FieldRule): string {
  switch (rule.kind) {
    case 'required':
      return `${label} is required.`;
    case 'type':
      return `${label} must be ${KINDS[rule.expected] ?? rule.expected}.`;
    case 'too_short':
      return rule.minimum === 1 && rule.unit === 'character'
        ? `${label} must not be empty.`
        : `${label} needs at least ${plural(rule.minimum, rule.unit)}.`;
    case 'too_long':
      return `${label} may have at most ${plural(rule.maximum, rule.unit)}${rule.actual !== undefined ? ` (it has ${rule.actual.toLocaleString('en')})` : ''}.`;
    case 'too_small':
      return `${label} must be ${rule.inclusive ? 'at least' : 'more than'} ${rule.minimum}.`;
    case 'too_big':
      return `${label} must be ${rule.inclusive ? 'at most' : 'less than'} ${rule.maximum}.`;
    case 'format':
      if (rule.hint) return `${label} must be ${rule.hint}.`;
      if (FORMATS[rule.format]) return `${label} must be ${FORMATS[rule.format]}.`;
      if (rule.pattern) return `${label} must match the pattern ${rule.pattern}.`;
      return `${label} must be a valid ${rule.format}.`;
    case 'one_of':
      return `${label} must be one of: ${rule.options.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join(', ')}.`;
    case 'unknown_keys':
      return `${rule.keys.map((k) => `"${k}"`).join(', ')} ${rule.keys.length === 1 ? 'is not a field' : 'are not fields'} of ${label === 'This' ? 'this request' : label.toLowerCase()}.`;
  }
}
