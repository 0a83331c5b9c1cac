/**
 * What the engine offers pipelines beyond ordered steps, on the real Temporal dev server and a
 * real PostgreSQL: sequences (items sharing a key run in order and see their predecessors),
 * named activity pools with bounded concurrency, conditions over settings, the batch-end hook,
 * exports, file downloads and seeded entities.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { seedDemoEntities } from '../services/entities';
import { csvCell } from '../services/batch-export';
import type { Db } from '../lib/db';
import { definePipeline, type PipelineDefinition, type SequencePredecessor } from '../pipelines/types';
import { startApi, waitFor } from './support/api';
import { startStack, uid } from './support/stack';

const Item = z.object({
  key: z.string(),
  chat: z.string().optional(),
  text: z.string(),
  sleepMs: z.number().int().default(100),
});
type Item = z.infer<typeof Item>;

/** What the steps saw: start/end times, predecessors, the pool's concurrency. */
const seen = {
  spans: new Map<string, { start: number; end: number }>(),
  predecessors: new Map<string, SequencePredecessor[]>(),
  inPool: 0,
  maxInPool: 0,
  reset() {
    this.spans.clear();
    this.predecessors.clear();
    this.inPool = 0;
    this.maxInPool = 0;
  },
};

let filesDir: string;

const pipeline = definePipeline({
  name: 'features',
  title: 'Engine features (test)',
  description: 'Sequenced items on a bounded pool, a settings condition and a batch-end hook.',
  version: 1,
  itemNoun: 'row',
  itemSchema: Item,
  settingsSchema: z.object({ mode: z.enum(['full', 'short']).default('full') }),
  itemKey: (i) => i.key,
  entityKind: 'feature-row',
  demoItems: () => [
    { key: 'demo-1', text: 'first' },
    { key: 'demo-2', text: 'second' },
  ],
  queues: { pool: { concurrency: 2 } },
  sequenceKey: (i) => i.chat,
  steps: [
    {
      name: 'answer',
      queue: 'pool',
      retry: { initialIntervalMs: 50 },
      run: async (ctx) => {
        const start = Date.now();
        seen.predecessors.set(ctx.itemKey, await ctx.predecessors());
        seen.inPool += 1;
        seen.maxInPool = Math.max(seen.maxInPool, seen.inPool);
        try {
          await new Promise((r) => setTimeout(r, ctx.item.sleepMs));
        } finally {
          seen.inPool -= 1;
        }
        seen.spans.set(ctx.itemKey, { start, end: Date.now() });
        return { reply: `re: ${ctx.item.text}` };
      },
    },
    {
      name: 'extra',
      skipIf: { path: 'settings.mode', equals: 'short' },
      run: async () => ({ extra: true }),
    },
  ],
  onBatchEnd: {
    run: async (ctx) => {
      let n = 0;
      const keys: string[] = [];
      for await (const item of ctx.items({ status: 'succeeded' })) {
        n += 1;
        keys.push(item.itemKey);
      }
      const dir = path.join(filesDir, ctx.batchId);
      fs.mkdirSync(dir, { recursive: true });
      const body = `${ctx.batchName}: ${ctx.status}, ${n} succeeded of ${ctx.counts.total}\n${keys.join('\n')}\n`;
      fs.writeFileSync(path.join(dir, 'summary.txt'), body);
      return {
        files: [{ name: 'summary.txt', bytes: Buffer.byteLength(body), contentType: 'text/plain' }],
        succeededSeen: n,
        key: ctx.idempotencyKey,
      };
    },
  },
  exportColumns: (row) => ({ reply: (row.outputs.answer as { reply?: string } | undefined)?.reply ?? null }),
});

const pipelines = [pipeline] as unknown as PipelineDefinition[];
let db: Db;
let api: Awaited<ReturnType<typeof startApi>>;
let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  filesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-files-'));
  stack = await startStack({ name: 'features', pipelines, filesDir, progressIntervalMs: 200 });
  ({ db, api } = stack);
});

afterAll(async () => {
  await stack?.close();
  fs.rmSync(filesDir, { recursive: true, force: true });
});

beforeEach(() => seen.reset());

async function runBatch(
  items: Array<Partial<Item> & { key: string }>,
  settings: Record<string, unknown> = {},
  concurrency = 20,
  via = api,
) {
  const res = await via.call('POST', '/api/batches', {
    pipeline: 'features',
    name: uid('b'),
    items: items.map((i) => ({ text: i.key, ...i })),
    settings,
    concurrency,
  });
  expect(res.status).toBe(202);
  const id: string = res.body.id;
  const batch = await waitFor(
    async () => {
      const b = await via.call('GET', `/api/batches/${id}`);
      return ['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.body.status) ? b.body : undefined;
    },
    { timeoutMs: 90_000, what: `batch ${id} to finish` },
  );
  return { id, batch };
}

// Three chats interleaved, plus rows of no chat; each answer takes long enough for two to overlap on a busy machine.
const chatItems = [
  { key: 'a1', chat: 'A', sleepMs: 600 },
  { key: 'b1', chat: 'B', sleepMs: 600 },
  { key: 'x1', sleepMs: 600 },
  { key: 'a2', chat: 'A', sleepMs: 600 },
  { key: 'c1', chat: 'C', sleepMs: 600 },
  { key: 'b2', chat: 'B', sleepMs: 600 },
  { key: 'a3', chat: 'A', sleepMs: 600 },
  { key: 'x2', sleepMs: 600 },
  { key: 'c2', chat: 'C', sleepMs: 600 },
  { key: 'a4', chat: 'A', sleepMs: 600 },
];

/** Each chat's rows ran one after another, in row order, each seeing the ones before it. */
function expectChatsInOrder(items: typeof chatItems) {
  for (const chat of ['A', 'B', 'C']) {
    const rows = items.filter((i) => i.chat === chat).map((i) => i.key);
    for (let k = 1; k < rows.length; k++) {
      // Row k started only after row k-1 finished, and saw every row before it, settled.
      expect(seen.spans.get(rows[k])!.start).toBeGreaterThanOrEqual(seen.spans.get(rows[k - 1])!.end);
      const preds = seen.predecessors.get(rows[k])!;
      expect(preds.map((p) => p.itemKey)).toEqual(rows.slice(0, k));
      expect(preds.every((p) => p.status === 'succeeded')).toBe(true);
      expect(preds[k - 1].outputs.answer).toEqual({ reply: `re: ${rows[k - 1]}` });
    }
    expect(seen.predecessors.get(rows[0])).toEqual([]);
  }
}

test('split among partitions, the rows of one chat share a partition and still run in order', async () => {
  const partitioned = await startApi({
    db,
    client: stack.client,
    taskQueue: stack.taskQueue,
    pipelines,
    partitioning: { itemsPerPartition: 1, maxPartitions: 3, minWindow: 1 },
  });
  try {
    const { id, batch } = await runBatch(chatItems, {}, 20, partitioned);
    expect(batch.progress).toMatchObject({ status: 'completed', succeeded: 10, failed: 0 });
    const rows = await db.batchItem.findMany({ where: { batchId: id }, select: { key: true, partition: true } });
    const partitionOfKey = new Map(rows.map((r) => [r.key, r.partition]));
    for (const chat of ['A', 'B', 'C']) {
      const parts = new Set(chatItems.filter((i) => i.chat === chat).map((i) => partitionOfKey.get(i.key)));
      expect({ chat, partitions: parts.size }).toEqual({ chat, partitions: 1 });
    }
    // The batch did split: a partition workflow ran each partition's rows (the batch-end hook once, at the batch).
    const used = new Set(rows.map((r) => r.partition));
    expect(used.size).toBeGreaterThan(1);
    const parts = await stack.client.workflow.count(`FlotillaBatchId = '${id}' AND WorkflowType = 'partitionWorkflow'`);
    expect(parts.count).toBe(used.size);
    expect(batch.outputs).toMatchObject({ status: 'succeeded', succeededSeen: 10 });
    expectChatsInOrder(chatItems);
  } finally {
    await partitioned.close();
  }
});

test('items of one sequence run one after another and see their predecessors; other items run in parallel on a pool bounded at 2', async () => {
  const items = chatItems;
  const { id, batch } = await runBatch(items);
  expect(batch.progress).toMatchObject({ status: 'completed', succeeded: 10, failed: 0 });

  expectChatsInOrder(items);
  expect(seen.predecessors.get('x2')).toEqual([]);
  // The pool ran two at a time, never more.
  expect(seen.maxInPool).toBe(2);

  // The batch-end hook saw every succeeded item; its result is kept with the batch.
  expect(batch.outputs).toMatchObject({
    status: 'succeeded',
    succeededSeen: 10,
    key: `${id}/__batch-end/0`,
    files: [{ name: 'summary.txt' }],
  });
  const file = await fetch(`${api.base}/api/batches/${id}/files/summary.txt`, { headers: api.headers });
  expect(file.status).toBe(200);
  expect(file.headers.get('content-disposition')).toContain('summary.txt');
  const text = await file.text();
  expect(text).toContain('10 succeeded of 10');
  expect(text.trim().split('\n').slice(1).sort()).toEqual(items.map((i) => i.key).sort());
});

test('a step condition over settings skips the step for every item, shown as skipped', async () => {
  const { batch } = await runBatch(
    [
      { key: 's1', sleepMs: 0 },
      { key: 's2', sleepMs: 0 },
    ],
    { mode: 'short' },
  );
  expect(batch.progress.status).toBe('completed');
  expect(batch.progress.steps.extra).toMatchObject({ skipped: 2, succeeded: 0 });
  expect(batch.progress.steps.answer).toMatchObject({ succeeded: 2 });
  const items = (await api.call('GET', `/api/batches/${batch.id}/items`)).body.items;
  // A condition without words of its own is spelled out (never the raw `skipIf …` expression).
  expect(items[0].steps[1]).toMatchObject({ step: 'extra', status: 'skipped', reason: 'settings.mode is "short"' });
});

test('results export as CSV joined to the input, formulas neutralised, and as JSON', async () => {
  const { id } = await runBatch([
    { key: 'e1', text: "=cmd|' /C calc'!A0", sleepMs: 0 },
    { key: 'e2', text: 'plain, with "quotes"', sleepMs: 0 },
  ]);
  const csv = await fetch(`${api.base}/api/batches/${id}/export?format=csv`, { headers: api.headers });
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-type')).toContain('text/csv');
  const lines = (await csv.text()).trim().split('\r\n');
  expect(lines[0]).toBe('seq,key,text,sleepMs,status,error_step,error_type,error_message,cost_usd,reply');
  expect(lines[1]).toBe(`1,e1,'=cmd|' /C calc'!A0,0,succeeded,,,,0,re: =cmd|' /C calc'!A0`);
  expect(lines[2]).toBe('2,e2,"plain, with ""quotes""",0,succeeded,,,,0,"re: plain, with ""quotes"""');

  const json = await api.call('GET', `/api/batches/${id}/export?format=json`);
  expect(json.status).toBe(200);
  expect(json.body).toHaveLength(2);
  expect(json.body[0]).toMatchObject({
    key: 'e1',
    status: 'succeeded',
    input: { text: "=cmd|' /C calc'!A0" },
    reply: "re: =cmd|' /C calc'!A0",
  });

  // A preview: the first rows only (the batch page's Results).
  const first = await api.call('GET', `/api/batches/${id}/export?format=json&limit=1`);
  expect(first.body.map((r: { key: string }) => r.key)).toEqual(['e1']);
  expect((await api.call('GET', `/api/batches/${id}/export?format=json&limit=0`)).status).toBe(400);
  expect((await api.call('GET', `/api/batches/${id}/export?format=xml`)).status).toBe(400);
  expect((await api.call('GET', `/api/batches/nope/export`)).status).toBe(404);
});

test('csv cells: formula starts are prefixed, separators quoted', () => {
  expect(csvCell('+1')).toBe("'+1");
  expect(csvCell('-2+3')).toBe("'-2+3");
  expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  expect(csvCell('\tx')).toBe("'\tx");
  expect(csvCell('a,b')).toBe('"a,b"');
  expect(csvCell(null)).toBe('');
  expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  expect(csvCell(-5)).toBe("'-5");
});

test('file downloads refuse names outside the batch directory', async () => {
  const { id } = await runBatch([{ key: 'f1', sleepMs: 0 }]);
  for (const name of ['..%2F..%2Fetc%2Fpasswd', '.hidden', '%2Fetc%2Fpasswd']) {
    const res = await api.call('GET', `/api/batches/${id}/files/${name}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
  }
  expect((await api.call('GET', `/api/batches/${id}/files/missing.pdf`)).status).toBe(404);
});

test('demo items are seeded once as entities and listed', async () => {
  expect(await seedDemoEntities(db, pipelines)).toEqual({ 'feature-row': 2 });
  expect(await seedDemoEntities(db, pipelines)).toEqual({});
  const list = await api.call('GET', '/api/entities?kind=feature-row&limit=1');
  expect(list.status).toBe(200);
  expect(list.body.entities).toHaveLength(1);
  expect(list.body.entities[0]).toMatchObject({
    kind: 'feature-row',
    key: 'demo-1',
    data: { key: 'demo-1', text: 'first' },
  });
  const next = await api.call(
    'GET',
    `/api/entities?kind=feature-row&cursor=${encodeURIComponent(list.body.nextCursor)}`,
  );
  expect(next.body.entities.map((e: { key: string }) => e.key)).toEqual(['demo-2']);
  const demo = await api.call('GET', '/api/pipelines/features/demo-items');
  expect(demo.body).toMatchObject({ source: 'entities', items: [{ key: 'demo-1' }, { key: 'demo-2' }] });
  expect((await api.call('GET', '/api/entities?limit=0')).status).toBe(400);
});

test('a CSV export of 100,000 items streams in bounded memory', async () => {
  const id = uid('export');
  await db.$executeRaw`
    INSERT INTO batches (id, workflow_id, pipeline, name, status, plan, concurrency, failure_threshold, total)
    VALUES (${id}, ${id}, 'features', 'export 100k', 'completed', '{"pipeline":"features","version":1,"steps":[]}'::jsonb, 10, '{}'::jsonb, 100000)`;
  await db.$executeRaw`
    INSERT INTO batch_items (batch_id, seq, key, input, status, steps, cost_usd)
    SELECT ${id}, g, 'k' || g, jsonb_build_object('key', 'k' || g, 'text', repeat('x', 1500), 'sleepMs', 0), 'succeeded',
           jsonb_build_array(jsonb_build_object('step', 'answer', 'status', 'succeeded', 'attempts', 1, 'durationMs', 5, 'output', jsonb_build_object('reply', 'r' || g))),
           0.001
    FROM generate_series(1, 100000) AS g`;
  // The export runs in a process whose heap is far smaller than the file: holding the rows or the
  // file would kill it (out of memory); streaming a page at a time does not.
  const out = execFileSync(
    process.execPath,
    ['--max-old-space-size=48', '--import', 'tsx', path.join(__dirname, 'support', 'export-child.ts'), stack.dbUrl, id],
    {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    },
  );
  const result = JSON.parse(out) as { lines: number; bytes: number; heapLimitMb: number };
  expect(result.lines).toBe(100_001);
  expect(result.bytes).toBeGreaterThan(100_000 * 1500);
  expect(result.bytes).toBeGreaterThan(result.heapLimitMb * 1024 * 1024);
}, 180_000);
