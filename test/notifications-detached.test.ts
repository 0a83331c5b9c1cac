/**
 * Notifications never hold up a batch. The organisation's notification settings name ten
 * webhooks on a loopback TCP server that accepts connections and never answers (every attempt
 * waits out the webhook timeout, then Temporal backs off and tries again for a quarter of an
 * hour). With such receivers, on the real stack:
 * - a batch's workflow closes within seconds of its final status, and retry-failed sent right
 *   after resets the failed item and finishes its round at once;
 * - pause, resume and cancel of a running batch act at once, continue-as-new is not put off;
 * - batches ending together with dead receivers do not slow another batch down;
 * and the deliveries are not lost: one row per event and target, attempted and retrying.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { BatchProgress } from '../common/types';
import type { PipelineDefinition } from '../pipelines/types';
import { startApi, startBatch, waitFor } from './support/api';
import { allowStandIns } from './support/egress';
import { fixtureLog, fixturePipeline, type FixtureItem } from './support/fixture-pipeline';
import { startStack, uid } from './support/stack';

const pipelines = [fixturePipeline] as unknown as PipelineDefinition[];
const SECRET = 'whsec_silent_0123456789abcdef';
const FINAL = ['completed', 'completed_with_errors', 'failed', 'cancelled'];
const RECEIVERS = 10;

let stack: Awaited<ReturnType<typeof startStack>>;
let api: Awaited<ReturnType<typeof startApi>>;
let client: Client;

/** The receiver that never answers: it accepts, reads the request line, and stays silent. */
let silent: net.Server;
let receiver: string;
const sockets = new Set<net.Socket>();
/** Request lines received (`POST /hook/3 HTTP/1.1`), one per connection. */
const requestLines: string[] = [];

beforeAll(async () => {
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (chunk) => requestLines.push(chunk.toString('latin1').split('\r\n')[0]!));
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  receiver = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
  // The receiver is on loopback: on the stack's egress allowlist, as EGRESS_ALLOW would put it.
  stack = await startStack({ name: 'detached', pipelines, egress: allowStandIns(`http://${receiver}`) });
  ({ api, client } = stack);
  const hooks = Array.from({ length: RECEIVERS }, (_, i) => ({ url: `http://${receiver}/hook/${i}`, secret: SECRET }));
  const put = await api.call('PUT', '/api/org/settings', { notify: { webhooks: hooks } });
  expect(put.status).toBe(200);
});

afterAll(async () => {
  // Refuse new connections and drop the held ones, so the worker's shutdown does not wait on them.
  silent?.close();
  for (const s of sockets) s.destroy();
  await stack?.close();
});

beforeEach(() => fixtureLog.reset());

async function createBatch(
  via: typeof api,
  items: FixtureItem[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  return startBatch(via, { pipeline: 'fixture', name: uid('batch'), items, concurrency: 5, ...extra });
}

/** Polls the batch row until `accept` holds; returns the row's status and when it was first seen. */
async function statusSeen(
  id: string,
  accept: (status: string) => boolean,
  timeoutMs = 60_000,
): Promise<{ status: string; at: number }> {
  return waitFor(
    async () => {
      const b = await stack.db.batch.findUnique({ where: { id }, select: { status: true } });
      return b && accept(b.status) ? { status: b.status, at: Date.now() } : undefined;
    },
    { timeoutMs, intervalMs: 50, what: `batch ${id} status` },
  );
}

/** Milliseconds from `since` until the run is closed, or null if it is still open after `timeoutMs`. */
async function closedAfter(
  workflowId: string,
  runId: string,
  since: number,
  timeoutMs: number,
): Promise<{ ms: number | null; status: string }> {
  let status = '';
  const closed = await waitFor(
    async () => {
      status = (await client.workflow.getHandle(workflowId, runId).describe()).status.name;
      return status !== 'RUNNING' ? Date.now() : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  ).catch(() => null);
  return { ms: closed === null ? null : closed - since, status };
}

async function deliveriesOf(
  id: string,
): Promise<
  Array<{ id: string; event: string; target: string; status: string; attempts: number; lastError: string | null }>
> {
  return (await api.call('GET', `/api/batches/${id}/notifications`)).body.deliveries;
}

/** Every event was planned once per receiver, and every delivery was attempted and is being retried. */
async function expectRetryingOncePerEvent(id: string, events: string[]) {
  const rows = await waitFor(
    async () => {
      const d = await deliveriesOf(id);
      return d.length === events.length * RECEIVERS && d.every((x) => x.status === 'retrying' && x.attempts >= 1)
        ? d
        : undefined;
    },
    { timeoutMs: 60_000, what: `every delivery of ${id} attempted and retrying` },
  ).catch(async (err) => {
    throw new Error(
      `${(err as Error).message}: ${JSON.stringify((await deliveriesOf(id)).map((x) => [x.event, x.target, x.status, x.attempts]))}`,
    );
  });
  const pairs = rows.map((r) => `${r.event} ${r.target}`);
  expect(new Set(pairs).size).toBe(rows.length);
  expect([...new Set(rows.map((r) => r.event))].sort()).toEqual([...events].sort());
  for (let i = 0; i < RECEIVERS; i++) expect(requestLines).toContain(`POST /hook/${i} HTTP/1.1`);
  // One notification workflow per event, still retrying after the batch has moved on.
  const runs = await waitFor(
    async () => {
      const found: Array<{ workflowId: string; status: string }> = [];
      for await (const wf of client.workflow.list({
        query: `FlotillaBatchId = '${id}' AND WorkflowType = 'notificationWorkflow'`,
      }))
        found.push({ workflowId: wf.workflowId, status: wf.status.name });
      return found.length === events.length ? found : undefined;
    },
    { timeoutMs: 15_000, what: `the notification workflows of ${id}` },
  );
  for (const r of runs) {
    expect(r.status).toBe('RUNNING');
    // `<batchId>#…`: no item workflow (`<batchId>/<key>`) can have this ID.
    expect(r.workflowId.startsWith(`${id}#notify:`)).toBe(true);
  }
}

test('with receivers that never answer, the batch workflow closes at its final status and retry-failed right after acts at once', async () => {
  fixtureLog.blocked.add('bad');
  const id = await createBatch(api, [{ key: 'ok' }, { key: 'bad', failWhileBlocked: 'b' }]);
  const final = await statusSeen(id, (s) => FINAL.includes(s));
  expect(final.status).toBe('completed_with_errors');
  const firstRun = (await client.workflow.getHandle(id).describe()).runId;
  const closed = await closedAfter(id, firstRun, final.at, 20_000);

  // Retry at once: the receivers are still being tried (their first attempt has not even timed out).
  fixtureLog.blocked.clear();
  const requested = Date.now();
  const res = await api.call('POST', `/api/batches/${id}/retry-failed`, {});
  expect(res.status).toBe(202);
  let round: { resetCount: number; finishedAt: string | null } | undefined;
  const roundDone = await waitFor(
    async () => {
      round = (await api.call('GET', `/api/batches/${id}/retry-rounds`)).body.rounds[0];
      return round?.finishedAt ? Date.now() - requested : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  ).catch(() => null);

  const seen = `batch workflow closed ${closed.ms === null ? `never (still ${closed.status} 20 s after its final status)` : `${closed.ms} ms after its final status`}; retry round ${roundDone === null ? `not finished after 30 s (resetCount ${round?.resetCount})` : `finished in ${roundDone} ms`}`;
  expect({ seen, closedWithin5s: closed.ms !== null && closed.ms < 5_000 }).toEqual({ seen, closedWithin5s: true });
  expect({ seen, roundWithin15s: roundDone !== null && roundDone < 15_000 }).toEqual({ seen, roundWithin15s: true });
  expect(round).toMatchObject({ resetCount: 1 });
  // The round is recorded finished just before the batch's final status is written.
  await statusSeen(id, (s) => s === 'completed', 10_000);
  expect(((await api.call('GET', `/api/batches/${id}`)).body.progress as BatchProgress).succeeded).toBe(2);
  const secondRun = await client.workflow.getHandle(id).describe();
  expect(secondRun.runId).not.toBe(firstRun);
  expect((await closedAfter(id, secondRun.runId, Date.now(), 5_000)).status).toBe('COMPLETED');

  await expectRetryingOncePerEvent(id, ['completed_with_errors', 'completed']);
});

test('pause, resume and cancel of a running batch act at once, and continue-as-new is not put off, while its receivers never answer', async () => {
  // A second API on the same stack whose batches continue-as-new after a few dozen events.
  const small = await startApi({
    db: stack.db,
    client,
    taskQueue: stack.taskQueue,
    pipelines,
    workflowLimits: { maxHistoryEvents: 60 },
  });
  try {
    const items: FixtureItem[] = Array.from({ length: 40 }, (_, i) => ({ key: `i-${i}`, cost: 0.03, sleepMs: 400 }));
    const id = await createBatch(small, items, { concurrency: 1, budgetUsd: 0.05 });
    const pausedAt = await statusSeen(id, (s) => s === 'paused');
    const generationAtPause = (await api.call('GET', `/api/batches/${id}`)).body.progress?.generation ?? 0;
    // The budget pause was notified: ten deliveries now hang on the silent receiver.
    await waitFor(async () => (await deliveriesOf(id)).length === RECEIVERS, {
      what: 'budget_paused deliveries planned',
    });
    expect(pausedAt.status).toBe('paused');

    const timed = async (action: string, want: string) => {
      const t0 = Date.now();
      expect((await api.call('POST', `/api/batches/${id}/${action}`, {})).status).toBe(202);
      return (await statusSeen(id, (s) => s === want, 30_000)).at - t0;
    };
    const resumedIn = await timed('resume', 'running');
    const generation = await waitFor(
      async () => {
        const g = (await api.call('GET', `/api/batches/${id}`)).body.progress?.generation ?? 0;
        return g > generationAtPause ? g : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    ).catch(() => generationAtPause);
    const pausedIn = await timed('pause', 'paused');
    const resumedAgainIn = await timed('resume', 'running');
    const cancelledIn = await timed('cancel', 'cancelled');
    const run = await client.workflow.getHandle(id).describe();
    const closed = await closedAfter(id, run.runId, Date.now() - cancelledIn, 20_000);

    // Every figure in one place when one is off.
    const seen = {
      resumedIn,
      pausedIn,
      resumedAgainIn,
      cancelledIn,
      generationAtPause,
      generation,
      closedAfterCancelMs: closed.ms,
      runStatus: closed.status,
    };
    // "At once" against what a control held up by a delivery would take: at least the 10 s webhook
    // timeout. Seen here: well under 3 s alone; a cancel took 5.9 s once with the whole suite on 2 CPUs.
    const atOnce = [resumedIn, pausedIn, resumedAgainIn, cancelledIn].every((ms) => ms < 8_000);
    expect({
      seen,
      atOnce,
      continuedAsNew: generation > generationAtPause,
      closedWithin10s: closed.ms !== null && closed.ms < 10_000,
    }).toEqual({
      seen,
      atOnce: true,
      continuedAsNew: true,
      closedWithin10s: true,
    });

    await expectRetryingOncePerEvent(id, ['budget_paused', 'cancelled']);
  } finally {
    await small.close();
  }
});

test('batches ending together with dead receivers do not slow down another batch', async () => {
  fixtureLog.blocked.add('bad-0').add('bad-1').add('bad-2');
  // Three batches end at once: thirty deliveries wait on the silent receiver, more than the
  // batch worker's activity slots.
  const ending = await Promise.all(
    [0, 1, 2].map((n) => createBatch(api, [{ key: `bad-${n}`, failWhileBlocked: 'a' }])),
  );
  await Promise.all(ending.map((id) => statusSeen(id, (s) => FINAL.includes(s))));
  await waitFor(async () => (await Promise.all(ending.map(deliveriesOf))).every((d) => d.length === RECEIVERS), {
    what: 'their deliveries planned',
  });
  const t0 = Date.now();
  const id = await createBatch(api, [{ key: 'a' }, { key: 'b' }, { key: 'c' }]);
  const done = await statusSeen(id, (s) => FINAL.includes(s), 60_000);
  expect(done.status).toBe('completed');
  // With the deliveries on the batch's queue this took 38.8 s (held up by the hung deliveries);
  // apart, a few seconds, more under the whole suite's load (6.8 s seen in CI).
  expect({ batchTookMs: done.at - t0, under: done.at - t0 < 15_000 }).toEqual({
    batchTookMs: done.at - t0,
    under: true,
  });
});
