/**
 * Guards, budgets, rate limits and notifications on the real stack: one active batch per
 * organisation and pipeline (race-free under concurrent requests), the cost budget pausing a
 * batch, a task-queue rate limit held by Temporal, and e-mail + signed webhooks (retried) when a
 * batch ends or pauses.
 */
import type http from 'node:http';
import { z } from 'zod';
import { signWebhook } from '../activities/notifications';
import type { BatchProgress } from '../common/types';
import { noopPipeline } from '../pipelines/noop';
import { definePipeline, type PipelineDefinition } from '../pipelines/types';
import { startMailbox } from '../sandbox/mailbox/server';
import { type startApi, waitFor } from './support/api';
import { allowStandIns } from './support/egress';
import { fixtureLog, fixturePipeline, type FixtureItem } from './support/fixture-pipeline';
import { recordChildHistory, recordHistory } from './support/histories';
import { startWebhookReceiver } from './support/webhook-receiver';
import { startStack, uid } from './support/stack';

/** Start times of the rate-limited step. */
const starts: number[] = [];
const limited = definePipeline({
  name: 'limited',
  title: 'Rate-limited (test)',
  description: 'One step on a queue limited to 120 starts a minute across workers.',
  version: 1,
  itemNoun: 'item',
  itemSchema: z.object({ key: z.string() }),
  settingsSchema: z.object({}),
  itemKey: (i) => i.key,
  queues: { calls: { concurrency: 10, ratePerMinute: 120 } },
  steps: [{ name: 'call', queue: 'calls', run: async () => void starts.push(Date.now()) }],
});

const pipelines = [fixturePipeline, noopPipeline, limited] as unknown as PipelineDefinition[];
let api: Awaited<ReturnType<typeof startApi>>;
let stack: Awaited<ReturnType<typeof startStack>>;
let mailbox: Awaited<ReturnType<typeof startMailbox>>;
let hooks: http.Server;
let hookUrl: string;
const received: Array<{ headers: http.IncomingHttpHeaders; body: string; status: number }> = [];
/** Batches (by name) whose next webhook call is answered 503. */
const failNextFor = new Set<string>();
const SECRET = 'whsec_test_0123456789abcdef';

beforeAll(async () => {
  mailbox = await startMailbox({ port: 0 });
  let base: string;
  ({ server: hooks, base } = await startWebhookReceiver((req, body) => {
    const name = (JSON.parse(body) as { batch: { name: string } }).batch.name;
    const status = failNextFor.delete(name) ? 503 : 200;
    received.push({ headers: req.headers, body, status });
    return status;
  }));
  hookUrl = `${base}/hooks/flotilla`;
  stack = await startStack({
    name: 'guards',
    pipelines,
    jobGuard: true,
    notifications: {
      smtp: { host: '127.0.0.1', port: mailbox.port, secure: false, from: 'Flotilla <flotilla@localhost>' },
      appUrl: 'http://flotilla.test',
    },
    // The receiver is on loopback: only its host:port passes the egress guard (API and worker).
    egress: allowStandIns(hookUrl),
  });
  ({ api } = stack);
});

afterAll(async () => {
  await stack?.close();
  await mailbox?.close();
  await new Promise((r) => hooks?.close(r));
});

beforeEach(() => fixtureLog.reset());

async function finished(
  id: string,
  statuses = ['completed', 'completed_with_errors', 'failed', 'cancelled'],
): Promise<BatchProgress> {
  return waitFor(
    async () => {
      const b = (await api.call('GET', `/api/batches/${id}`)).body;
      return statuses.includes(b.status) && statuses.includes(b.progress?.status)
        ? (b.progress as BatchProgress)
        : undefined;
    },
    { timeoutMs: 90_000, what: `batch ${id} to reach ${statuses.join('|')}` },
  );
}

test('concurrent creates of one pipeline: exactly one 202, the others 409 naming it; another pipeline is not blocked', async () => {
  const body = (n: number) => ({ pipeline: 'fixture', name: `guarded ${n}`, items: [{ key: 'a', sleepMs: 1_500 }] });
  const results = await Promise.all(Array.from({ length: 6 }, (_, n) => api.call('POST', '/api/batches', body(n))));
  const accepted = results.filter((r) => r.status === 202);
  const refused = results.filter((r) => r.status === 409);
  expect(accepted).toHaveLength(1);
  expect(refused).toHaveLength(5);
  const activeId = accepted[0].body.id;
  for (const r of refused) {
    expect(r.body.error.code).toBe('conflict');
    expect(r.body.error.message).toContain(activeId);
    expect(r.body.error.details).toMatchObject({ activeBatchId: activeId, pipeline: 'fixture' });
  }
  // Only one batch row exists for them.
  const list = (await api.call('GET', '/api/batches?pipeline=fixture&limit=50')).body.batches.filter(
    (b: { name: string }) => b.name.startsWith('guarded'),
  );
  expect(list).toHaveLength(1);

  const other = await api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'other pipeline',
    items: [{ key: 'x' }],
  });
  expect(other.status).toBe(202);

  await finished(activeId);
  const next = await api.call('POST', '/api/batches', body(7));
  expect(next.status).toBe(202);
  await finished(next.body.id);
  await finished(other.body.id);
});

test('the cost budget pauses the batch and says why; after a resume it runs to the end', async () => {
  // Each of the fixture's 3 steps adds the item's cost: $0.03 an item.
  const items: FixtureItem[] = Array.from({ length: 6 }, (_, i) => ({ key: `c${i}`, cost: 0.01 }));
  const res = await api.call('POST', '/api/batches', {
    pipeline: 'fixture',
    name: 'budgeted',
    items,
    concurrency: 1,
    budgetUsd: 0.05,
    notify: { webhooks: [{ url: hookUrl, secret: SECRET }] },
  });
  expect(res.body).toMatchObject({ status: 'pending' });
  const id = res.body.id;
  const paused = await finished(id, ['paused']);
  expect(paused.pauseReason).toMatch(/^cost budget: estimated \$0\.0600 passed the budget of \$0\.05$/);
  expect(paused.estimatedCostUsd).toBeCloseTo(0.06, 6);
  expect(paused.succeeded).toBe(2);
  const hook = await waitFor(
    async () =>
      received.find((r) => r.headers['x-flotilla-event'] === 'budget_paused' && JSON.parse(r.body).batch.id === id),
    { what: 'budget webhook' },
  );
  expect(JSON.parse(hook.body).progress.pauseReason).toMatch(/cost budget/);

  expect((await api.call('POST', `/api/batches/${id}/resume`, {})).status).toBe(202);
  const done = await finished(id);
  expect(done).toMatchObject({ status: 'completed', succeeded: 6 });
  expect(done.estimatedCostUsd).toBeCloseTo(0.18, 6);
  await recordHistory(stack.client, 'batch-notifications', id);
});

test('e-mail and a signed webhook when the batch ends; a failing webhook is retried until delivered', async () => {
  failNextFor.add('notified');
  const before = received.length;
  const res = await api.call('POST', '/api/batches', {
    pipeline: 'fixture',
    name: 'notified',
    items: [{ key: 'ok' }, { key: 'bad', rejectAt: 'b' }],
    notify: { emails: ['ops@example.com'], webhooks: [{ url: hookUrl, secret: SECRET }] },
  });
  expect(res.status).toBe(202);
  const id = res.body.id;
  await finished(id);

  const calls = await waitFor(
    async () => {
      const mine = received.slice(before).filter((r) => JSON.parse(r.body).batch.id === id);
      return mine.length >= 2 ? mine : undefined;
    },
    { timeoutMs: 60_000, what: 'the webhook retry' },
  ).catch(async (err) => {
    const d = (await api.call('GET', `/api/batches/${id}/notifications`)).body;
    throw new Error(
      `${err.message}: ${JSON.stringify(d)} ${JSON.stringify(received.map((r) => [r.status, r.headers['x-flotilla-event'], r.body.slice(0, 80)]))}`,
    );
  });
  expect(calls.map((c) => c.status)).toEqual([503, 200]);
  const [first, second] = calls;
  // The same delivery (same ID and event), signed over timestamp + body with the batch's secret.
  expect(second.headers['x-flotilla-delivery']).toBe(first.headers['x-flotilla-delivery']);
  expect(second.headers['x-flotilla-event']).toBe('completed_with_errors');
  expect(second.headers['x-flotilla-signature']).toBe(
    signWebhook(SECRET, String(second.headers['x-flotilla-timestamp']), second.body),
  );
  expect(second.headers['x-flotilla-signature']).not.toBe(
    signWebhook('another-secret-0123456789', String(second.headers['x-flotilla-timestamp']), second.body),
  );
  const payload = JSON.parse(second.body);
  expect(payload).toMatchObject({
    event: 'completed_with_errors',
    batch: { id, name: 'notified', pipeline: 'fixture' },
    progress: { total: 2, succeeded: 1, failed: 1 },
  });

  const mail = await mailbox.waitFor((m) => m.subject.includes('"notified"'), 30_000);
  expect(mail.to).toEqual(['ops@example.com']);
  expect(mail.subject).toBe('Batch "notified" completed with errors');
  expect(mail.text).toContain('Succeeded: 1 (50%)');
  expect(mail.text).toContain(`http://flotilla.test/batches/${id}`);

  const deliveries = await waitFor(
    async () => {
      const d = (await api.call('GET', `/api/batches/${id}/notifications`)).body.deliveries;
      return d.length === 2 && d.every((x: { status: string }) => x.status === 'delivered') ? d : undefined;
    },
    { what: 'deliveries recorded' },
  );
  const webhook = deliveries.find((d: { channel: string }) => d.channel === 'webhook');
  expect(webhook).toMatchObject({ event: 'completed_with_errors', target: hookUrl, attempts: 2, responseStatus: 200 });
  await recordChildHistory(stack.client, 'notification-webhook-retried', id, 'notificationWorkflow');
});

test('webhook secrets are required and checked at creation', async () => {
  const res = await api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'x',
    items: [{ key: 'a' }],
    notify: { webhooks: [{ url: hookUrl, secret: 'short' }] },
  });
  expect(res.status).toBe(400);
  expect(res.body.error.details.issues[0].path).toBe('notify.webhooks[0].secret');
  const bad = await api.call('POST', '/api/batches', {
    pipeline: 'noop',
    name: 'x',
    items: [{ key: 'a' }],
    notify: { emails: ['not-an-email'] },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.issues[0].path).toBe('notify.emails[0]');
});

test('a queue rate limit holds: 8 calls at 120 a minute take seconds, not milliseconds', async () => {
  starts.length = 0;
  const res = await api.call('POST', '/api/batches', {
    pipeline: 'limited',
    name: uid('rate'),
    items: Array.from({ length: 8 }, (_, i) => ({ key: `r${i}` })),
    concurrency: 8,
  });
  expect(res.status).toBe(202);
  await finished(res.body.id);
  expect(starts).toHaveLength(8);
  starts.sort((a, b) => a - b);
  // 2 a second: after the first burst the other starts are spread over at least ~2.5 s.
  expect(starts[7] - starts[0]).toBeGreaterThanOrEqual(2_000);
});

test("the organisation's notification settings apply to batches that name no targets of their own", async () => {
  const bad = await api.call('PUT', '/api/org/settings', {
    notify: { webhooks: [{ url: 'ftp://x', secret: SECRET }] },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.issues[0].path).toBe('notify.webhooks[0].url');
  const put = await api.call('PUT', '/api/org/settings', { notify: { webhooks: [{ url: hookUrl, secret: SECRET }] } });
  expect(put.status).toBe(200);
  expect((await api.call('GET', '/api/org/settings')).body.notify.webhooks[0].url).toBe(hookUrl);
  try {
    const res = await api.call('POST', '/api/batches', {
      pipeline: 'noop',
      name: 'org default',
      items: [{ key: 'a' }],
    });
    expect(res.status).toBe(202);
    await finished(res.body.id);
    const hook = await waitFor(async () => received.find((r) => JSON.parse(r.body).batch.id === res.body.id), {
      what: 'the org webhook',
    });
    expect(hook.headers['x-flotilla-event']).toBe('completed');
    expect(hook.headers['x-flotilla-signature']).toBe(
      signWebhook(SECRET, String(hook.headers['x-flotilla-timestamp']), hook.body),
    );
  } finally {
    await api.call('PUT', '/api/org/settings', { notify: null });
  }
});
