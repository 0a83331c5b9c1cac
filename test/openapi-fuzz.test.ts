/**
 * Bad inputs generated from the OpenAPI document itself (GET /api/openapi.json), so a new route
 * cannot skip the bad-input table: every operation with a JSON body or parameters gets a fixed
 * number of seeded, schema-derived cases — U+0000 and lone surrogates anywhere (values, property
 * names, query and path parameters), wrong types, oversized strings, unknown fields — and the
 * answers must be: never a 5xx; every 4xx the error body; a string PostgreSQL cannot store a 400
 * naming exactly that field; a field of the wrong declared type a 4xx; the server healthy after.
 * (That every mounted route is in the document is test/openapi.test.ts's job.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatPath } from '../lib/field-path';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { waitFor } from './support/api';
import { fixturePipeline } from './support/fixture-pipeline';
import { startStack } from './support/stack';

const SEED = 12;
const CASES_PER_OPERATION = 10;
const TIME_BUDGET_MS = 60_000;

type Schema = Record<string, any>;
type Param = { name: string; in: 'path' | 'query'; required: boolean; schema: Schema };
type Operation = {
  operationId: string;
  parameters: Param[];
  requestBody?: { content: Record<string, { schema: Schema }> };
};
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
type Segment = string | number;

let stack: Awaited<ReturnType<typeof startStack>>;
let doc: Doc;
const real: Record<string, string> = {};

beforeAll(async () => {
  // Uploads configured: without them their routes answer 503 by design, and would not be exercised.
  const uploadsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-uploads-'));
  stack = await startStack({
    name: 'fuzz',
    pipelines: [fixturePipeline, noopPipeline] as unknown as PipelineDefinition[],
    uploads: { dir: uploadsDir },
  });
  doc = (await stack.api.call('GET', '/api/openapi.json')).body;
  // Real things for path parameters, so a body is judged rather than answered 404 first.
  const batch = await stack.api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'fuzz target',
    items: [{ key: 'a' }],
  });
  real.batch = batch.body.id;
  const template = await stack.api.call('POST', '/api/templates', {
    name: 'fuzz target',
    pipeline: 'noop',
    source: { kind: 'items', items: [{ key: 'a' }] },
  });
  real.template = template.body.id;
  // Final, so its progress stream (GET .../events) ends at once.
  await waitFor(async () => (await stack.api.call('GET', `/api/batches/${real.batch}`)).body.status === 'completed', {
    what: 'the target batch',
  });
});

afterAll(async () => {
  await stack?.close();
});

/** mulberry32: small, seedable, good enough to pick cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] };
}

function resolve(s: Schema | undefined): Schema {
  let out = s ?? {};
  for (let i = 0; i < 10 && typeof out.$ref === 'string'; i++)
    out = doc.components.schemas[out.$ref.replace('#/components/schemas/', '')] ?? {};
  return out;
}

/** The branches of a union (null left out), or the schema itself. */
function branches(s: Schema): Schema[] {
  const alt = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  return alt ? alt.map(resolve).filter((b) => b.type !== 'null') : [s];
}

const typeOf = (s: Schema): string | undefined => [s.type].flat().find((t) => t && t !== 'null');

/** A value the schema accepts, as far as a generator can tell (patterns tried from a few candidates). */
function generate(schema: Schema | undefined, depth = 0): unknown {
  const s = resolve(schema);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const alt = branches(s);
  if (alt[0] !== s) return generate(alt[0], depth);
  if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((x: Schema) => generate(x, depth)));
  switch (typeOf(s)) {
    case 'string': {
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'email') return 'fuzz@example.com';
      if (s.format === 'uri') return 'https://example.com/';
      const candidates = ['fuzz', 'fuzz-1', 'a', 'A1', '0 * * * *', 'fuzz@example.com'];
      const fit = s.pattern ? (candidates.find((c) => new RegExp(s.pattern).test(c)) ?? 'fuzz') : 'fuzz';
      return fit.padEnd(s.minLength ?? 0, 'z');
    }
    case 'integer':
    case 'number':
      return Math.min(
        s.maximum ?? Infinity,
        Math.max(s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1), 1),
      );
    case 'boolean':
      return true;
    case 'array':
      return depth > 6 ? [] : Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => generate(s.items, depth + 1));
    case 'object':
      return depth > 6
        ? {}
        : Object.fromEntries(((s.required ?? []) as string[]).map((k) => [k, generate(s.properties?.[k], depth + 1)]));
    default:
      return 'fuzz';
  }
}

/** The schema describing the value at `at` inside a value of `schema` (the union branch that fits it). */
function schemaAt(schema: Schema, value: unknown): Schema {
  const s = resolve(schema);
  const alt = branches(s);
  if (alt.length === 1) return alt[0];
  const kind = Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'object'
        : typeof value === 'number'
          ? 'number'
          : typeof value;
  return alt.find((b) => typeOf(b) === kind || (kind === 'number' && typeOf(b) === 'integer')) ?? {};
}

interface Location {
  path: Segment[];
  value: unknown;
  schema: Schema;
}

/** Every value in a generated body with the schema that describes it. */
function locations(value: unknown, schema: Schema, at: Segment[] = []): Location[] {
  const s = schemaAt(schema, value);
  const out: Location[] = [{ path: at, value, schema: s }];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...locations(v, s.items ?? {}, [...at, i])));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value))
      out.push(
        ...locations(
          v,
          s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : {}),
          [...at, k],
        ),
      );
  }
  return out;
}

function setAt(root: unknown, at: Segment[], v: unknown): unknown {
  if (at.length === 0) return v;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const seg of at.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  cur[at[at.length - 1]] = v;
  return copy;
}

const BAD_TEXT = { nul: 'fu\u0000zz', surrogate: 'fu\ud800zz' } as const;

function wrongTypeFor(s: Schema): unknown {
  switch (typeOf(s)) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return 'not a number';
    case 'boolean':
      return 'yes';
    case 'array':
      return { not: 'a list' };
    case 'object':
      return ['not', 'an', 'object'];
    default:
      return undefined;
  }
}

interface Case {
  kind: string;
  pathParams: Record<string, string>;
  query: Record<string, string>;
  body?: unknown;
  /** The field a 400 must name (exactly), for strings PostgreSQL cannot store. */
  names?: string;
  /** Must be refused (a 4xx), not merely survived. */
  mustRefuse?: boolean;
}

function pathValue(route: string, p: Param, method: string): string {
  // DELETE gets nothing real: a junk query parameter must not cost the target.
  if (method !== 'delete' && p.name === 'id' && route.startsWith('/api/batches/')) return real.batch;
  if (method !== 'delete' && p.name === 'id' && route.startsWith('/api/templates/')) return real.template;
  if (p.name === 'name' && route.startsWith('/api/pipelines/')) return 'noop';
  return String(generate(p.schema)).replace(/[^A-Za-z0-9_-]/g, '') || 'fuzz';
}

/** One seeded bad case for an operation, of a kind its schema admits. */
function makeCase(route: string, method: string, op: Operation, rnd: ReturnType<typeof prng>): Case {
  const pathParams = Object.fromEntries(
    op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, pathValue(route, p, method)]),
  );
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const query = Object.fromEntries(
    queryParams.filter((p) => p.required).map((p) => [p.name, String(generate(p.schema))]),
  );
  const bodySchema = op.requestBody?.content['application/json']?.schema;
  const base = bodySchema ? generate(bodySchema) : undefined;
  const locs = bodySchema ? locations(base, bodySchema) : [];
  const objects = locs.filter((l) => l.value && typeof l.value === 'object' && !Array.isArray(l.value));
  const params = [
    ...Object.keys(pathParams).map((name) => ({ in: 'path' as const, name })),
    ...queryParams.map((p) => ({ in: 'query' as const, name: p.name, schema: p.schema })),
  ];

  const kinds = [
    ...(locs.length ? ['body-nul', 'body-surrogate', 'body-wrong-type', 'body-oversized'] : []),
    ...(objects.length ? ['key-nul', 'body-unknown-field'] : []),
    ...(params.length ? ['param-nul', 'param-wrong-type'] : []),
    ...(queryParams.length || bodySchema ? ['query-unknown'] : []),
  ];
  const kind = rnd.pick(kinds);
  const c: Case = { kind, pathParams, query, body: base };
  switch (kind) {
    case 'body-nul':
    case 'body-surrogate': {
      // Any location below the root (a bare string is not a JSON body), or a new property of an
      // object: the edge check names whatever holds the text.
      const inner = locs.filter((l) => l.path.length > 0);
      const l = inner.length && rnd.next() < 0.7 ? rnd.pick(inner) : rnd.pick(objects.length ? objects : locs);
      const at = l.path.length === 0 || (objects.includes(l) && rnd.next() < 0.3) ? [...l.path, 'fuzzExtra'] : l.path;
      c.body = setAt(base, at, kind === 'body-nul' ? BAD_TEXT.nul : BAD_TEXT.surrogate);
      c.names = formatPath(at);
      break;
    }
    case 'key-nul': {
      const o = rnd.pick(objects);
      c.body = setAt(base, o.path, { ...(o.value as object), ['k\u0000ey']: 1 });
      c.names = formatPath(o.path);
      break;
    }
    case 'body-wrong-type': {
      const typed = locs.filter((l) => wrongTypeFor(l.schema) !== undefined);
      const l = typed.length ? rnd.pick(typed) : rnd.pick(locs);
      const wrong = wrongTypeFor(l.schema);
      c.body = setAt(base, l.path, wrong ?? 12345);
      c.mustRefuse = wrong !== undefined;
      break;
    }
    case 'body-oversized': {
      const strings = locs.filter((l) => typeof l.value === 'string');
      const l = strings.length ? rnd.pick(strings) : rnd.pick(locs);
      c.body = setAt(base, l.path, 'x'.repeat(rnd.pick([10_000, 300_000, 1_200_000])));
      break;
    }
    case 'body-unknown-field': {
      const o = rnd.pick(objects);
      c.body = setAt(base, o.path, { ...(o.value as object), zzUnknown: 'fuzz' });
      c.mustRefuse = o.schema.additionalProperties === false;
      break;
    }
    case 'param-nul': {
      const p = rnd.pick(params);
      if (p.in === 'path') c.pathParams = { ...pathParams, [p.name]: BAD_TEXT.nul };
      else c.query = { ...query, [p.name]: BAD_TEXT.nul };
      c.names = p.name;
      break;
    }
    case 'param-wrong-type': {
      const p = rnd.pick(params);
      const s = 'schema' in p ? resolve(p.schema) : {};
      const typed = ['integer', 'number', 'boolean'].includes(typeOf(s) ?? '') || Array.isArray(s.enum);
      if (p.in === 'path') c.pathParams = { ...pathParams, [p.name]: 'zz not valid' };
      else c.query = { ...query, [p.name]: 'zz-not-valid' };
      c.mustRefuse = p.in === 'query' && typed;
      break;
    }
    case 'query-unknown':
      c.query = { ...query, zzUnknown: 'fuzz' };
      break;
  }
  return c;
}

async function send(method: string, route: string, c: Case) {
  const p = route.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(c.pathParams[name]));
  const qs = new URLSearchParams(c.query).toString();
  const body = c.body === undefined ? undefined : JSON.stringify(c.body);
  const res = await fetch(`${stack.api.base}${p}${qs ? `?${qs}` : ''}`, {
    method: method.toUpperCase(),
    headers: { ...stack.api.headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body,
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

test('schema-derived bad inputs for every operation: never a 5xx, the error body on every 4xx, unstorable text named, the server healthy', async () => {
  const rnd = prng(SEED);
  const started = Date.now();
  const problems: unknown[] = [];
  const perOperation: Record<string, Record<number, number>> = {};
  let sent = 0;
  const operations = Object.entries(doc.paths)
    .flatMap(([route, ops]) => Object.entries(ops).map(([method, op]) => ({ route, method, op })))
    .filter(({ op }) => op.parameters.length > 0 || op.requestBody?.content['application/json']);
  expect(operations.length).toBeGreaterThan(30);

  for (let round = 0; round < CASES_PER_OPERATION && Date.now() - started < TIME_BUDGET_MS; round++) {
    for (const { route, method, op } of operations) {
      if (Date.now() - started >= TIME_BUDGET_MS) break;
      const c = makeCase(route, method, op, rnd);
      const res = await send(method, route, c);
      sent++;
      (perOperation[op.operationId] ??= {})[res.status] = (perOperation[op.operationId][res.status] ?? 0) + 1;
      const what = {
        operation: `${method.toUpperCase()} ${route}`,
        kind: c.kind,
        status: res.status,
        names: c.names,
        answer: res.text.slice(0, 300),
      };
      const error = res.json?.error;
      const shaped = error && typeof error.code === 'string' && typeof error.message === 'string';
      if (res.status >= 500) problems.push({ ...what, why: 'a 5xx' });
      else if (res.status >= 400 && !shaped) problems.push({ ...what, why: 'a 4xx without the error body' });
      else if (
        error?.code === 'validation_error' &&
        !(
          error.details?.issues?.length > 0 &&
          error.details.issues.every((i: { path: unknown }) => typeof i.path === 'string')
        )
      ) {
        problems.push({ ...what, why: 'a validation_error naming no field' });
      } else if (
        c.names !== undefined &&
        !(res.status === 400 && error?.code === 'validation_error' && error.details.issues[0].path === c.names)
      ) {
        problems.push({ ...what, why: `unstorable text not refused naming ${c.names}` });
      } else if (c.mustRefuse && res.status < 400)
        problems.push({ ...what, why: 'a field of the wrong declared type accepted' });
    }
  }

  const figures = { seed: SEED, operations: operations.length, sent, elapsedMs: Date.now() - started, perOperation };
  fs.writeFileSync(
    path.join(process.env.TEST_RUN_DIR!, 'openapi-fuzz.json'),
    JSON.stringify({ ...figures, problems }, null, 2),
  );
  expect(problems).toEqual([]);
  // Every operation was reached at least once within the time budget.
  expect(Object.keys(perOperation).length).toBe(operations.length);
  // Healthy afterwards: health answers and a real batch still runs to the end.
  expect((await stack.api.call('GET', '/api/health')).status).toBe(200);
  const after = await stack.api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'after the fuzz',
    items: [{ key: 'z' }],
  });
  expect(after.status).toBe(202);
  await waitFor(
    async () => (await stack.api.call('GET', `/api/batches/${after.body.id}`)).body.status === 'completed',
    { what: 'a batch after the fuzz' },
  );
}, 180_000);
