/**
 * Deterministic "model answers" for the OpenAI stand-in. Not AI: plain rules over the prompt,
 * chosen so tests can predict every answer and so answers still look like answers in a demo.
 *
 * Structured answers are generated from the JSON schema of `response_format` and the content of
 * the last user message:
 * - enum: the value whose words occur most often (whole words, case-insensitive) in the content;
 *   ties and no hits: the first value;
 * - string: by property name / format: e-mail, URL, phone taken from the content; summary-like
 *   fields the first two sentences of four words or more; other strings the first such sentence
 *   (clipped to maxLength);
 * - number/integer: a hash of the content mapped into [minimum, maximum] (default [0, 1]);
 * - array of objects: one element per line of the content that holds an e-mail address (a
 *   "record": its e-mail goes to the e-mail property, its other segments, split at " — ", " - ",
 *   " | ", " · " or ", ", fill the remaining string properties in schema order);
 * - array of strings: the most frequent longer words of the content;
 * - nullable: null only where nothing fits (an e-mail property without an e-mail).
 * Plain answers: `Reply #<n> (<n-1> earlier turns): <first sentence of the last user message>`.
 */
import { unitHash } from '../hash';

export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
};

const EMAIL = /[A-Za-z0-9._%+'-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}/g;
const URL_RE = /https?:\/\/[^\s"'<>)]+/g;
const PHONE = /\+\d[\d ()-]{6,18}\d/g;
const STOPWORDS = new Set(
  'about above after again also among and any are back been before being below between both but can could does doing down during each every from further have having here hers into just more most much must only other ours over same should some such than that their theirs them then there these they this those through under until very what when where which while whom will with would your yours our who how all its not for you was were has had out off one two per via www http https com example'.split(
    ' ',
  ),
);

/** Sentences of the text; a line break ends one too (headings, list items). */
export function sentences(text: string): string[] {
  return text.split(/\n+/).flatMap(
    (line) =>
      line
        .replace(/\s+/g, ' ')
        .trim()
        .match(/[^.!?]+[.!?]+(?=\s|$)|[^.!?]+$/g)
        ?.map((s) => s.trim())
        .filter(Boolean) ?? [],
  );
}

/** Sentences of four words or more: prose, not headings or labels. */
function proseSentences(text: string): string[] {
  const all = sentences(text);
  const prose = all.filter((s) => s.split(' ').length >= 4);
  return prose.length ? prose : all;
}

function clip(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  return text.slice(0, Math.max(0, max - 1)).trimEnd() + '…';
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whole-word hits of the value's words (`public-sector` -> public, sector), plurals included. */
function hits(value: string, content: string): number {
  let n = 0;
  for (const word of value
    .toLowerCase()
    .split(/[\s_-]+/)
    .filter((w) => w.length >= 2)) {
    n += content.match(new RegExp(`(?<![A-Za-z0-9])${escapeRe(word)}(?:s|es)?(?![A-Za-z0-9])`, 'gi'))?.length ?? 0;
  }
  return n;
}

export function pickEnum(values: unknown[], content: string): unknown {
  let best = values[0];
  let bestHits = 0;
  for (const v of values) {
    const n = typeof v === 'string' ? hits(v, content) : 0;
    if (n > bestHits) {
      best = v;
      bestHits = n;
    }
  }
  return best;
}

export function keywords(content: string, count: number): string[] {
  const freq = new Map<string, number>();
  for (const w of content.toLowerCase().match(/[a-z][a-z-]{3,}/g) ?? []) {
    if (STOPWORDS.has(w)) continue;
    freq.set(w, (freq.get(w) ?? 0) + 1);
  }
  return [...freq.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count)
    .map(([w]) => w);
}

interface RecordLine {
  email: string;
  segments: string[];
}

/** Lines holding an e-mail address, split into their other segments. */
export function records(content: string): RecordLine[] {
  const out: RecordLine[] = [];
  for (const line of content.split(/\r?\n/)) {
    const email = line.match(EMAIL)?.[0];
    if (!email) continue;
    const segments = line
      .replace(email, ' ')
      .replace(/\bmailto:\S*/gi, ' ')
      .split(/\s+[—–|·-]\s+|,\s+|\t|:\s+/)
      .map((s) =>
        s
          .replace(/[()[\]<>]/g, ' ')
          .replace(/\s+/g, ' ')
          .trim(),
      )
      .filter((s) => s.length > 0 && !/^(e-?mail|mail)$/i.test(s));
    out.push({ email, segments });
  }
  return out;
}

interface GenContext {
  content: string;
  root: JsonSchema;
  record?: RecordLine;
  /** Segments of `record` not used by an earlier property. */
  spare?: string[];
  depth: number;
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; s.$ref && i < 20; i++) {
    const path = s.$ref.replace(/^#\/?/, '').split('/').filter(Boolean);
    let target: unknown = root;
    for (const p of path)
      target = (target as Record<string, unknown> | undefined)?.[
        decodeURIComponent(p.replace(/~1/g, '/').replace(/~0/g, '~'))
      ];
    if (!target || typeof target !== 'object') throw new Error(`unresolvable $ref ${s.$ref}`);
    s = target as JsonSchema;
  }
  return s;
}

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  if (schema.enum) return ['string'];
  return ['string'];
}

function generateString(name: string, schema: JsonSchema, ctx: GenContext, nullable: boolean): string | null {
  const key = name.toLowerCase();
  if (schema.format === 'email' || /e-?mail/.test(key)) {
    const email = ctx.record?.email ?? (ctx.record ? undefined : ctx.content.match(EMAIL)?.[0]);
    if (email) return email;
    return nullable ? null : 'info@example.com';
  }
  if (schema.format === 'uri' || schema.format === 'url' || /url|website|link/.test(key)) {
    const url = ctx.content.match(URL_RE)?.[0]?.replace(/[.,;:!?]+$/, '');
    return url ?? (nullable ? null : 'https://example.com/');
  }
  if (/phone|tel/.test(key)) {
    const phone = ctx.content.match(PHONE)?.[0];
    return phone ?? (nullable ? null : '+00 000 0000');
  }
  if (ctx.spare && ctx.spare.length) return clip(ctx.spare.shift()!, schema.maxLength);
  if (ctx.record) return nullable ? null : '';
  const all = proseSentences(ctx.content);
  const n = /summary|description|overview|abstract|answer|explanation|reason/.test(key) ? 2 : 1;
  let text = all.slice(0, n).join(' ') || ctx.content.trim().slice(0, 200) || name;
  text = clip(text, schema.maxLength ?? 600);
  if (schema.minLength && text.length < schema.minLength) text = text.padEnd(schema.minLength, '.');
  return text;
}

function generateNumber(schema: JsonSchema, ctx: GenContext, integer: boolean): number {
  const min =
    schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (integer ? 1 : 0.01) : 0);
  const max =
    schema.maximum ??
    (schema.exclusiveMaximum !== undefined
      ? schema.exclusiveMaximum - (integer ? 1 : 0.01)
      : Math.max(min, integer ? min + 100 : 1));
  const v = min + unitHash(ctx.content) * (max - min);
  return integer ? Math.round(v) : Math.round(v * 100) / 100;
}

function generateArray(schema: JsonSchema, ctx: GenContext): unknown[] {
  const items = resolve(schema.items ?? { type: 'string' }, ctx.root);
  const min = schema.minItems ?? 0;
  const max = schema.maxItems ?? 20;
  const itemTypes = typesOf(items);
  if (itemTypes.includes('object')) {
    const lines = records(ctx.content).slice(0, max);
    const out: unknown[] = lines.map((record) =>
      generate(items, '', { ...ctx, record, spare: [...record.segments], depth: ctx.depth + 1 }),
    );
    for (let i = out.length; i < min; i++)
      out.push(generate(items, '', { ...ctx, record: undefined, spare: undefined, depth: ctx.depth + 1 }));
    return out;
  }
  if (items.enum) {
    const matched = items.enum.filter((v) => typeof v === 'string' && hits(v, ctx.content) > 0).slice(0, max);
    return matched.length >= min ? matched : items.enum.slice(0, Math.max(min, 1));
  }
  if (itemTypes.includes('string')) {
    const count = Math.min(max, Math.max(min, 5));
    const words = keywords(ctx.content, count);
    while (words.length < min) words.push(`keyword-${words.length + 1}`);
    return words;
  }
  return Array.from({ length: min }, () => generate(items, '', { ...ctx, depth: ctx.depth + 1 }));
}

/** A value for `schema`, deterministic in the prompt content. */
export function generate(schema: JsonSchema, name: string, ctx: GenContext): unknown {
  if (ctx.depth > 12) return null;
  const s = resolve(schema, ctx.root);
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    const resolved = branches.map((b) => resolve(b, ctx.root));
    const nullable = resolved.some((b) => typesOf(b).includes('null'));
    const main = resolved.find((b) => !typesOf(b).includes('null') || typesOf(b).length > 1);
    if (!main) return null;
    if (nullable && typesOf(main).includes('string') && !main.enum) return generateString(name, main, ctx, true);
    return generate(main, name, ctx);
  }
  if (s.const !== undefined) return s.const;
  if (s.enum) return pickEnum(s.enum, ctx.content);
  const types = typesOf(s);
  const nullable = types.includes('null');
  const type = types.find((t) => t !== 'null') ?? 'null';
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [prop, propSchema] of Object.entries(s.properties ?? {}))
        out[prop] = generate(propSchema, prop, { ...ctx, depth: ctx.depth + 1 });
      return out;
    }
    case 'array':
      return generateArray(s, ctx);
    case 'number':
      return generateNumber(s, ctx, false);
    case 'integer':
      return generateNumber(s, ctx, true);
    case 'boolean':
      return hits(name, ctx.content) > 0;
    case 'null':
      return null;
    default:
      return generateString(name, s, ctx, nullable);
  }
}

export function structuredAnswer(schema: JsonSchema, content: string): unknown {
  return generate(schema, '', { content, root: schema, depth: 0 });
}

/** Plain answer: numbered by the turns before it, so tests can see the history was sent. */
export function plainAnswer(lastUser: string, earlierTurns: number): string {
  const first = sentences(lastUser)[0] ?? lastUser.trim();
  return `Reply #${earlierTurns + 1} (${earlierTurns} earlier turns): ${clip(first, 160)}`;
}
