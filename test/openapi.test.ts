/**
 * GET /api/openapi.json: a well-formed OpenAPI 3.1 document whose schemas compile as JSON Schema
 * 2020-12 and accept what the API accepts; and complete: every route the Express app mounts
 * (found by walking its router stack) is in the document, and nothing in the document is not
 * mounted. A new route without a row in api/openapi-routes.ts fails here by name.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
// ajv (a dev dependency): draft 2020-12 is what OpenAPI 3.1 uses.
import Ajv2020 from 'ajv/dist/2020';
import { createApp } from '../api/app';
import { openApiPath } from '../api/openapi';
import { logger } from '../lib/logger';
import { noopPipeline } from '../pipelines/noop';
import { PipelineRegistry } from '../pipelines/registry';
import type { PipelineDefinition } from '../pipelines/types';
import { fixturePipeline } from './support/fixture-pipeline';
import { connectTemporal, createTestDatabase } from './support/stack';

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        summary: string;
        parameters: Array<{ name: string; in: string; required: boolean; schema: object }>;
        requestBody?: { content: Record<string, { schema: object }> };
        responses: Record<string, { description: string; content?: Record<string, { schema?: object }> }>;
      }
    >
  >;
  components: { schemas: Record<string, object> };
};

let app: ReturnType<typeof createApp>;
let server: Server;
let base: string;
let doc: Doc;
let closeAll: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  const temporal = await connectTemporal();
  app = createApp({
    db: database.db,
    client: temporal.client,
    namespace: 'default',
    registry: new PipelineRegistry([fixturePipeline, noopPipeline] as unknown as PipelineDefinition[]),
    taskQueue: 'openapi-test',
    log: logger,
    progressIntervalMs: 1000,
    temporalWebUrl: 'http://127.0.0.1:8233',
  });
  server = app.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const res = await fetch(`${base}/api/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
  closeAll = async () => {
    app.hub.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await temporal.close();
    await database.close();
  };
});

afterAll(async () => {
  await closeAll?.();
});

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string | string[];
}

/** `METHOD /path` of every route mounted on the app, sub-routers included (Express 5 / router 2). */
function mountedRoutes(stack: Layer[], prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      for (const p of [layer.route.path].flat()) {
        for (const m of Object.keys(layer.route.methods))
          if (METHODS.includes(m)) out.push(`${m.toUpperCase()} ${prefix}${p}`);
      }
    } else if (layer.handle?.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      out.push(...mountedRoutes(layer.handle.stack, prefix + mount));
    }
  }
  return out;
}

test('the document is OpenAPI 3.1 with unique operations, declared path parameters and responses', () => {
  expect(doc.openapi).toBe('3.1.0');
  expect(doc.info).toMatchObject({ title: 'Flotilla API', version: expect.any(String) });
  expect(doc.components.schemas.Error).toBeDefined();
  const operationIds = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    expect(path).toMatch(/^\//);
    expect(path).not.toMatch(/:/); // Express-style parameters were converted to {name}
    const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [method, op] of Object.entries(ops)) {
      expect(METHODS).toContain(method);
      expect(op.summary).toEqual(expect.any(String));
      expect(operationIds.has(op.operationId)).toBe(false);
      operationIds.add(op.operationId);
      const declared = op.parameters
        .filter((p) => p.in === 'path')
        .map((p) => p.name)
        .sort();
      expect({ path, declared }).toEqual({ path, declared: inPath });
      for (const p of op.parameters) {
        expect(['path', 'query']).toContain(p.in);
        if (p.in === 'path') expect(p.required).toBe(true);
      }
      expect(Object.keys(op.responses).length).toBeGreaterThan(1);
      for (const [status, r] of Object.entries(op.responses)) {
        expect(status).toMatch(/^[1-5]\d\d$/);
        expect(r.description).toEqual(expect.any(String));
      }
    }
  }
});

test('every schema in it compiles as JSON Schema 2020-12 and judges requests as the API does', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
  const compile = (schema: object) =>
    ajv.compile(JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/')));
  for (const ops of Object.values(doc.paths)) {
    for (const op of Object.values(ops)) {
      for (const p of op.parameters) compile(p.schema);
      for (const c of Object.values(op.requestBody?.content ?? {})) compile(c.schema);
      for (const r of Object.values(op.responses))
        for (const c of Object.values(r.content ?? {})) if (c.schema) compile(c.schema);
    }
  }
  const createBatch = compile(doc.paths['/api/batches'].post.requestBody!.content['application/json'].schema);
  expect(createBatch({ pipeline: 'noop', name: 'x', items: [{ key: 'a' }] })).toBe(true);
  expect(createBatch({ pipeline: 'noop', name: 'x', items: [{}], colour: 'red' })).toBe(false);
  expect(createBatch({ pipeline: 'noop', name: 'x', items: [] })).toBe(false);
  const tab = doc.paths['/api/batches'].get.parameters.find((p) => p.name === 'tab')!;
  expect(compile(tab.schema)('failed')).toBe(true);
  expect(compile(tab.schema)('archived')).toBe(false);
});

test('every route the app mounts is in the document, and nothing else is', () => {
  const mounted = mountedRoutes((app.app as unknown as { router: { stack: Layer[] } }).router.stack)
    .filter((r) => / \/api\//.test(r) || r.endsWith(' /metrics'))
    .map((r) => {
      const [method, path] = r.split(' ');
      return `${method} ${openApiPath(path)}`;
    });
  expect(mounted.length).toBeGreaterThan(15);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  const missing = [...new Set(mounted)].filter((r) => !documented.includes(r)).sort();
  const stale = documented.filter((r) => !mounted.includes(r)).sort();
  // A failure here lists the routes to add to (or remove from) api/openapi-routes.ts.
  expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  expect(mounted).toEqual(
    expect.arrayContaining([
      'GET /api/batches/{id}/analytics',
      'GET /api/stats',
      'GET /api/openapi.json',
      'POST /api/batches/{id}/pause',
    ]),
  );
});
