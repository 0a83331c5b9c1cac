/**
 * The HTTP API's contract: validation errors name the row and field and create nothing;
 * unknown things answer 404; listing filters and paginates; SSE streams progress with one
 * Temporal query per batch per interval however many clients watch.
 */
import http from 'node:http';
import type { Db } from '../lib/db';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { startApi, waitFor } from './support/api';
import { fixturePipeline } from './support/fixture-pipeline';
import { startStack } from './support/stack';

const pipelines = [fixturePipeline, noopPipeline] as unknown as PipelineDefinition[];
let db: Db;
let api: Awaited<ReturnType<typeof startApi>>;
let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  stack = await startStack({ name: 'api', pipelines: pipelines, progressIntervalMs: 300 });
  ({ db, api } = stack);
});

afterAll(async () => {
  await stack?.close();
});

const batchCount = () => db.batch.count();
const itemCount = () => db.batchItem.count();

async function expectNothingCreated(fn: () => Promise<void>) {
  const [b, i] = [await batchCount(), await itemCount()];
  await fn();
  expect(await batchCount()).toBe(b);
  expect(await itemCount()).toBe(i);
}

describe('POST /api/batches validation', () => {
  test('malformed JSON is a 400 invalid_json', async () => {
    await expectNothingCreated(async () => {
      const res = await api.call('POST', '/api/batches', '{"pipeline": "noop", "items": [', {
        'content-type': 'application/json',
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_json');
    });
  });

  test('wrong types name the field', async () => {
    await expectNothingCreated(async () => {
      const res = await api.call('POST', '/api/batches', { pipeline: 'noop', name: 'x', items: 'not-a-list' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.details.issues[0].path).toBe('items');
    });
    const res = await api.call('POST', '/api/batches', { pipeline: 'noop', name: 'x', items: [{}], concurrency: 5000 });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues[0].path).toBe('concurrency');
  });

  test('unknown fields and unknown pipelines are rejected', async () => {
    await expectNothingCreated(async () => {
      const extra = await api.call('POST', '/api/batches', { pipeline: 'noop', name: 'x', items: [{}], colour: 'red' });
      expect(extra.status).toBe(400);
      expect(extra.body.error.message).toMatch(/colour/);
      const unknown = await api.call('POST', '/api/batches', { pipeline: 'no-such-pipeline', name: 'x', items: [{}] });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details.issues[0]).toMatchObject({ path: 'pipeline' });
      expect(unknown.body.error.message).toMatch(/unknown pipeline "no-such-pipeline"/);
    });
  });

  test('an invalid item names its row and field and nothing is created', async () => {
    await expectNothingCreated(async () => {
      const items = [{ key: 'ok-1' }, { key: 'ok-2' }, { key: 42 }, { key: 'ok-4', sleepMs: 'soon' }];
      const res = await api.call('POST', '/api/batches', { pipeline: 'fixture', name: 'bad rows', items });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^row 3: items\[2\]\.key: /);
      expect(res.body.error.details.issues).toEqual([
        expect.objectContaining({ row: 3, path: 'items[2].key' }),
        expect.objectContaining({ row: 4, path: 'items[3].sleepMs' }),
      ]);
    });
  });

  test('invalid settings and duplicate item keys are rejected', async () => {
    await expectNothingCreated(async () => {
      const settings = await api.call('POST', '/api/batches', {
        pipeline: 'fixture',
        name: 'x',
        items: [{ key: 'a' }],
        settings: { label: 7 },
      });
      expect(settings.status).toBe(400);
      expect(settings.body.error.details.issues[0].path).toBe('settings.label');
      const dup = await api.call('POST', '/api/batches', {
        pipeline: 'fixture',
        name: 'x',
        items: [{ key: 'a' }, { key: 'b' }, { key: 'a' }],
      });
      expect(dup.status).toBe(400);
      expect(dup.body.error.details.issues[0]).toMatchObject({ row: 3, path: 'items[2].key' });
      expect(dup.body.error.message).toMatch(/duplicate item key "a" \(also row 1\)/);
    });
  });

  test('an empty item list and a non-JSON content type are rejected', async () => {
    await expectNothingCreated(async () => {
      const empty = await api.call('POST', '/api/batches', { pipeline: 'noop', name: 'x', items: [] });
      expect(empty.status).toBe(400);
      expect(empty.body.error.message).toMatch(/at least one item/);
      const text = await api.call('POST', '/api/batches', 'pipeline=noop', { 'content-type': 'text/plain' });
      expect(text.status).toBe(415);
    });
  });
});

describe('reading batches', () => {
  let first: string;
  let second: string;
  beforeAll(async () => {
    first = (
      await api.call('POST', '/api/batches', { pipeline: 'noop', name: 'list-a', items: [{ key: '1' }, { key: '2' }] })
    ).body.id;
    second = (
      await api.call('POST', '/api/batches', {
        pipeline: 'fixture',
        name: 'list-b',
        items: [{ key: 'x', rejectAt: 'a' }, { key: 'y' }],
      })
    ).body.id;
    for (const id of [first, second]) {
      await waitFor(
        async () =>
          ['completed', 'completed_with_errors'].includes((await api.call('GET', `/api/batches/${id}`)).body.status),
        { what: id },
      );
    }
  });

  test('unknown batch IDs answer 404 everywhere', async () => {
    for (const path of ['/api/batches/batch-nope', '/api/batches/batch-nope/items', '/api/batches/batch-nope/events']) {
      const res = await api.call('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await api.call('POST', '/api/batches/batch-nope/pause', {})).status).toBe(404);
    expect((await api.call('GET', '/api/nothing-here')).status).toBe(404);
  });

  test('control actions on a finished batch answer 409', async () => {
    for (const action of ['pause', 'resume', 'cancel']) {
      const res = await api.call('POST', `/api/batches/${first}/${action}`, {});
      expect(res.status).toBe(409);
      expect(res.body.error.message).toMatch(/already completed/);
    }
  });

  test('list filters by status and pipeline and paginates with a cursor', async () => {
    const byPipeline = await api.call('GET', '/api/batches?pipeline=fixture');
    expect(byPipeline.body.batches.map((b: { id: string }) => b.id)).toContain(second);
    expect(byPipeline.body.batches.every((b: { pipeline: string }) => b.pipeline === 'fixture')).toBe(true);
    const byStatus = await api.call('GET', '/api/batches?status=completed_with_errors');
    expect(byStatus.body.batches.map((b: { id: string }) => b.id)).toEqual([second]);
    const page1 = await api.call('GET', '/api/batches?limit=1');
    expect(page1.body.batches).toHaveLength(1);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await api.call('GET', `/api/batches?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.batches).toHaveLength(1);
    expect(page2.body.batches[0].id).not.toBe(page1.body.batches[0].id);
    const future = await api.call(
      'GET',
      `/api/batches?createdAfter=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(future.body.batches).toEqual([]);
    const badStatus = await api.call('GET', '/api/batches?status=weird');
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.details.issues[0].path).toMatch(/^status/);
    const badCursor = await api.call('GET', '/api/batches?cursor=zzz');
    expect(badCursor.status).toBe(400);
  });

  test('batch detail carries progress, steps and a Temporal Web link', async () => {
    const res = await api.call('GET', `/api/batches/${second}`);
    expect(res.body).toMatchObject({
      id: second,
      pipeline: 'fixture',
      status: 'completed_with_errors',
      steps: ['a', 'b', 'c'],
    });
    expect(res.body.progress).toMatchObject({ total: 2, succeeded: 1, failed: 1 });
    expect(res.body.temporalUrl).toContain(`/workflows/${second}`);
  });

  test('items filter by status and paginate, each with step results and error', async () => {
    const failed = await api.call('GET', `/api/batches/${second}/items?status=failed`);
    expect(failed.body.items).toHaveLength(1);
    expect(failed.body.items[0]).toMatchObject({
      key: 'x',
      status: 'failed',
      error: { step: 'a', type: 'RejectedError' },
      workflowId: `${second}/x`,
    });
    const page1 = await api.call('GET', `/api/batches/${first}/items?limit=1`);
    expect(page1.body.items.map((i: { key: string }) => i.key)).toEqual(['1']);
    const page2 = await api.call('GET', `/api/batches/${first}/items?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((i: { key: string }) => i.key)).toEqual(['2']);
    expect(page2.body.nextCursor).toBeNull();
    expect(page2.body.items[0].steps.map((s: { step: string; status: string }) => `${s.step}:${s.status}`)).toEqual([
      'one:succeeded',
      'two:succeeded',
      'three:succeeded',
    ]);
  });
});

test('GET /api/pipelines describes steps and schemas as JSON Schema', async () => {
  const res = await api.call('GET', '/api/pipelines');
  const fixture = res.body.pipelines.find((p: { name: string }) => p.name === 'fixture');
  expect(fixture.steps.map((s: { name: string }) => s.name)).toEqual(['a', 'b', 'c']);
  expect(fixture.steps[0].retry).toMatchObject({ maximumAttempts: 4, backoffCoefficient: 2 });
  expect(fixture.itemSchema).toMatchObject({ type: 'object', required: ['key'] });
  expect(fixture.itemSchema.properties.key).toMatchObject({ type: 'string' });
});

test('GET /api/health reports database, Temporal and worker', async () => {
  const res = await api.call('GET', '/api/health');
  expect(res.status).toBe(200);
  expect(res.body.checks.database.ok).toBe(true);
  expect(res.body.checks.temporal).toMatchObject({ ok: true, serverVersion: expect.any(String) });
  expect(res.body.checks.worker.ok).toBe(true);
});

test('GET /api/health tells anonymous callers only ok per check, never backend error text (worker absent)', async () => {
  // An API whose task queue no worker polls: the worker check fails with a message naming the queue.
  const lonely = await startApi({ db, client: stack.client, taskQueue: `nobody-polls-${Date.now()}`, pipelines });
  try {
    const anonymous = await fetch(`${lonely.base}/api/health`);
    const text = await anonymous.text();
    expect(anonymous.status).toBe(503);
    expect(JSON.parse(text)).toEqual({
      ok: false,
      checks: { database: { ok: true }, temporal: { ok: true }, worker: { ok: false } },
    });
    expect(text).not.toMatch(/error|task queue|nobody-polls|serverVersion|pollers/i);
    // The signed-in caller and the ops port see why.
    const signedIn = await lonely.call('GET', '/api/health');
    expect(signedIn.status).toBe(503);
    expect(signedIn.body.checks.worker.error).toMatch(/no worker polls task queue nobody-polls/);
    expect(signedIn.body.checks.temporal.serverVersion).toEqual(expect.any(String));
    const ops = await fetch(`${lonely.opsBase}/health`);
    expect(((await ops.json()) as any).checks.worker.error).toMatch(/no worker polls/);
  } finally {
    await lonely.close();
  }
});

/** Sends headers announcing `announced` bytes of body and only `sent` of them; resolves with the response, or rejects after `waitMs`. */
function partialPost(url: string, headers: Record<string, string>, announced: number, sent: number, waitMs: number) {
  return new Promise<{ status: number; body: string; socketClosed: Promise<void> }>((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(announced) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no response within ${waitMs} ms while the body was still being sent`));
    }, waitMs);
    req.on('error', () => {}); // the server closing mid-body is the point
    req.on('response', (res) => {
      clearTimeout(timer);
      const socketClosed = new Promise<void>((r) =>
        req.socket?.destroyed ? r() : req.socket?.once('close', () => r()),
      );
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, socketClosed }));
    });
    req.write('{"pipeline":"noop","name":"x","items":[' + ' '.repeat(sent - 40));
  });
}

test('an anonymous 40 MB POST /api/batches is answered 401 before its body is sent, and the connection is closed', async () => {
  const res = await partialPost(`${api.base}/api/batches`, {}, 40 * 1024 * 1024, 64 * 1024, 5_000);
  expect(res.status).toBe(401);
  expect(JSON.parse(res.body).error.code).toBe('unauthenticated');
  // Closed rather than drained: the rest of the 40 MB is never read.
  await Promise.race([
    res.socketClosed,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the server kept the connection to read the body')), 5_000),
    ),
  ]);
});

test('the 50 MB body limit is only for routes that carry many items: a 2 MB body elsewhere is 413', async () => {
  const created = await api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'small bodies',
    items: [{ key: 'a' }],
  });
  expect(created.status).toBe(202);
  const res = await api.call('POST', `/api/batches/${created.body.id}/pause`, { reason: 'x'.repeat(2 * 1024 * 1024) });
  expect(res.status).toBe(413);
  expect(res.body.error.code).toBe('payload_too_large');
  // A public route too: sign-in reads no more than the small limit from anyone.
  const signIn = await fetch(`${api.base}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'a@b.c', password: 'p'.repeat(2 * 1024 * 1024) }),
  });
  expect(signIn.status).toBe(413);
  // The batch route itself still takes a 2 MB body (and judges it: an oversized item).
  const big = await api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'big',
    items: [{ key: 'a', note: 'y'.repeat(2 * 1024 * 1024) }],
  });
  expect(big.status).toBe(400);
  expect(big.body.error.details.issues[0].path).toMatch(/^items\[0\]/);
});

/** Reads an SSE stream until it ends; returns the events. */
function readSse(url: string): Promise<Array<{ event: string; data: any }>> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: api.headers }, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        let buf = '';
        const events: Array<{ event: string; data: any }> = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let idx;
          while ((idx = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, idx);
            buf = buf.slice(idx + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) events.push({ event, data: JSON.parse(data) });
          }
        });
        res.on('end', () => resolve(events));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

test('SSE streams progress to many viewers with one Temporal query per interval, and ends when the batch does', async () => {
  const items = Array.from({ length: 8 }, (_, i) => ({ key: `s${i}`, sleepMs: 500 }));
  const created = await api.call('POST', '/api/batches', { pipeline: 'fixture', name: 'sse', items, concurrency: 2 });
  const id = created.body.id;
  const queriesBefore = api.hub.queries;
  const started = Date.now();
  const streams = await Promise.all(Array.from({ length: 10 }, () => readSse(`${api.base}/api/batches/${id}/events`)));
  const elapsed = Date.now() - started;
  const queries = api.hub.queries - queriesBefore;
  for (const events of streams) {
    const last = events[events.length - 1];
    expect(last.event).toBe('done');
    expect(last.data).toMatchObject({ status: 'completed', succeeded: 8, total: 8 });
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data.processed);
    expect(progress.length).toBeGreaterThan(1);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress); // never goes backwards
  }
  // 10 viewers, one shared poller: about one query per 300 ms interval, not ten.
  expect(queries).toBeLessThanOrEqual(Math.ceil(elapsed / 300) + 2);
  expect(queries).toBeGreaterThan(0);
});

test('metrics are not on the public port; the ops port serves them: batches by status, progress queries, request durations', async () => {
  await api.call('GET', '/api/batches');
  const pub = await fetch(`${api.base}/metrics`);
  expect(pub.status).toBe(404);
  expect(await pub.text()).not.toMatch(/flotilla_/);
  const res = await fetch(`${api.opsBase}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toMatch(/^flotilla_batches\{status="completed",pipeline="noop"\} \d+$/m);
  expect(text).toMatch(/^flotilla_progress_queries_total \d+$/m);
  expect(text).toMatch(
    /^flotilla_api_request_duration_seconds_count\{method="GET",route="\/api\/batches",status="200"\} [1-9]\d*$/m,
  );
});

test('a user holds at most 20 open progress streams: the 21st is 429 with a plain message, closing one frees a slot', async () => {
  const created = await api.call('POST', '/api/batches', {
    pipeline: 'fixture',
    name: 'many streams',
    items: [{ key: 'slow', sleepMs: 60_000 }],
  });
  const id = created.body.id;
  const open = (): Promise<{ status: number; req: http.ClientRequest; body: Promise<string> }> =>
    new Promise((resolve, reject) => {
      const req = http.get(`${api.base}/api/batches/${id}/events`, { headers: api.headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        const ended = new Promise<string>((r) => res.on('end', () => r(body)).on('error', () => r(body)));
        res.on('data', (c: string) => (body += c));
        resolve({ status: res.statusCode!, req, body: ended });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
  const streams = [];
  try {
    for (let i = 0; i < 20; i++) streams.push(await open());
    expect(streams.map((s) => s.status)).toEqual(Array(20).fill(200));
    const refused = await open();
    expect(refused.status).toBe(429);
    const body = JSON.parse(await refused.body);
    expect(body.error).toMatchObject({ code: 'too_many_streams', message: expect.stringMatching(/at most 20/) });
    streams.shift()!.req.destroy();
    const again = await waitFor(
      async () => {
        const s = await open();
        if (s.status === 200) return s;
        s.req.destroy();
        return null;
      },
      { timeoutMs: 5_000, what: 'a freed stream slot' },
    );
    streams.push(again);
  } finally {
    for (const s of streams) s.req.destroy();
    await api.call('POST', `/api/batches/${id}/cancel`, {});
  }
});
