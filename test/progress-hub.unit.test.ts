/**
 * The progress hub's rules against a source the test scripts: one query shared by every reader,
 * a final batch answered from its row, and a batch reopened by a retry round never answered with
 * the final progress of the round before (the page's live stream would end on it).
 */
import pino from 'pino';
import { deriveProgress, type BatchProgress, type BatchStatus } from '../common/types';
import { ProgressHub, type ProgressSource } from '../api/progress-hub';

const log = pino({ level: 'silent' });

function progress(status: BatchStatus, retryRound = 0): BatchProgress {
  return deriveProgress({
    batchId: 'b1',
    pipeline: 'fixture',
    status,
    counters: { total: 6, started: 6, succeeded: 5, failed: 1, skipped: 0, cancelled: 0, costUsd: 0, steps: {} },
    running: 0,
    startedAtMs: 0,
    finishedAtMs: null,
    nowMs: 1_000,
    generation: 0,
    retryRound,
  });
}

/** A batch row and a workflow whose answers the test sets; a gate holds the next row read. */
class ScriptedSource implements ProgressSource {
  row: { status: string; progress: unknown } | null = { status: 'running', progress: progress('running') };
  workflow: BatchProgress = progress('running');
  queries = 0;
  snapshots = 0;
  private gate?: Promise<void>;

  /** Holds the next row read until the returned function is called; that read sees the row as it is now. */
  holdNextRead(): () => void {
    let open!: () => void;
    this.gate = new Promise((r) => (open = r));
    return open;
  }

  async snapshot() {
    this.snapshots += 1;
    const seen = this.row && { ...this.row };
    const gate = this.gate;
    this.gate = undefined;
    if (gate) await gate;
    return seen;
  }

  async query() {
    this.queries += 1;
    return this.workflow;
  }
}

let hubs: ProgressHub[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});
const hubOf = (source: ProgressSource, intervalMs = 60_000) => {
  const hub = new ProgressHub(source, intervalMs, log);
  hubs.push(hub);
  return hub;
};

test('concurrent readers of a running batch share one query', async () => {
  const source = new ScriptedSource();
  const hub = hubOf(source);
  const answers = await Promise.all(Array.from({ length: 20 }, () => hub.get('b1')));
  expect(answers.map((a) => a?.status)).toEqual(Array(20).fill('running'));
  expect(source.queries).toBe(1);
  expect(hub.queries).toBe(1);
  // Within the interval the cached value answers without another query.
  await hub.get('b1');
  expect(source.queries).toBe(1);
});

test('a batch the row says ended is answered from the row, without a query', async () => {
  const source = new ScriptedSource();
  source.row = { status: 'completed_with_errors', progress: progress('completed_with_errors') };
  const hub = hubOf(source);
  expect((await hub.opening('b1'))?.status).toBe('completed_with_errors');
  expect((await hub.get('b1', { knownStatus: 'completed_with_errors' }))?.status).toBe('completed_with_errors');
  expect(source.queries).toBe(0);
});

test('a stream opened after a retry round reopened the batch starts from the new round, not the cached end', async () => {
  const source = new ScriptedSource();
  source.row = { status: 'completed_with_errors', progress: progress('completed_with_errors') };
  const hub = hubOf(source);
  expect((await hub.get('b1'))?.status).toBe('completed_with_errors');
  // Round 1 reopens the batch: the row and the workflow run again.
  source.row = { status: 'running', progress: progress('running', 1) };
  source.workflow = progress('running', 1);
  // A reader that does not know the row's status gets the cached end (this is what the stream used to open with)…
  expect((await hub.get('b1'))?.status).toBe('completed_with_errors');
  // …while a stream opens with the row's status and so with the new round.
  const opened = await hub.opening('b1');
  expect(opened).toMatchObject({ status: 'running', retryRound: 1 });
  expect((await hub.get('b1'))?.status).toBe('running');
});

test('a fetch begun before the reopening neither answers nor caches the round before', async () => {
  const source = new ScriptedSource();
  source.row = { status: 'completed_with_errors', progress: progress('completed_with_errors') };
  const hub = hubOf(source);
  // A reader reads the row while the batch has still ended, and the read is slow to return…
  const release = source.holdNextRead();
  const earlier = hub.get('b1', { knownStatus: 'completed_with_errors' });
  // …then round 1 reopens the batch, and a reader that saw the row say running asks.
  source.row = { status: 'running', progress: progress('running', 1) };
  source.workflow = progress('running', 1);
  const reader = hub.get('b1', { knownStatus: 'running' });
  release();
  expect(await reader).toMatchObject({ status: 'running', retryRound: 1 });
  // The earlier reader gets the end it read the row at.
  expect((await earlier)?.status).toBe('completed_with_errors');
  // Nothing put the old end back in the cache.
  expect(await hub.get('b1')).toMatchObject({ status: 'running', retryRound: 1 });
});

test('right after the batch ends, a row that still says running gets the end', async () => {
  const source = new ScriptedSource();
  source.workflow = progress('completed');
  const hub = hubOf(source);
  expect((await hub.get('b1', { knownStatus: 'running' }))?.status).toBe('completed');
});

test('a live subscription goes on until the batch ends and then stops asking', async () => {
  const source = new ScriptedSource();
  const hub = hubOf(source, 10);
  const seen: string[] = [];
  const ended = new Promise<void>((resolve) => {
    hub.subscribe('b1', (p) => {
      seen.push(p.status);
      if (p.status === 'running' && seen.length === 3) {
        source.row = { status: 'completed', progress: progress('completed') };
      }
      if (p.status === 'completed') resolve();
    });
  });
  await ended;
  const reads = source.snapshots;
  await new Promise((r) => setTimeout(r, 50));
  expect(seen).toEqual(['running', 'running', 'running', 'completed']);
  expect(source.snapshots).toBe(reads);
});

test('a failed query is answered with the row, marked stale', async () => {
  const source = new ScriptedSource();
  source.query = async () => {
    throw new Error('workflow task timed out');
  };
  const hub = hubOf(source);
  expect(await hub.get('b1')).toMatchObject({ status: 'running', stale: true });
});

test('a batch that does not exist is null', async () => {
  const source = new ScriptedSource();
  source.row = null;
  const hub = hubOf(source);
  expect(await hub.get('nope')).toBeNull();
  expect(await hub.opening('nope')).toBeNull();
});
