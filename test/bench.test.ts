/**
 * `npm run bench` as an operator runs it, on a tiny size: a child process that starts its own
 * Temporal dev server, PostgreSQL, worker and API, and writes its figures as JSON. The benchmark
 * is not part of the app, so nothing else would notice when a change to the API (access control
 * made every call of it a 401) leaves it broken.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function runBench(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('npm run bench completes a tiny run against the authenticated API and writes its figures', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-'));
  const out = path.join(dir, 'result.json');
  try {
    const size = 20;
    // 10 items a partition: the 20-item batch is split in two (its events are counted over the
    // batch and both partitions), the split comparison's two batches of 10 are not.
    const { code, stderr } = await runBench(
      [
        '--sizes',
        String(size),
        '--small-runs',
        '1',
        '--no-naive',
        '--no-warm-up',
        '--split',
        '2',
        '--split-size',
        String(size),
        '--dir',
        path.join(dir, 'run'),
        '--out',
        out,
      ],
      { BATCH_ITEMS_PER_PARTITION: '10' },
    );
    expect({ code, stderr: code === 0 ? '' : stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });

    const result = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(result.options).toMatchObject({
      sizes: [size],
      baseline: true,
      naive: false,
      smallRuns: 1,
      warmUp: false,
      split: 2,
      splitSize: size,
      server: 'dev',
      env: { BATCH_ITEMS_PER_PARTITION: '10' },
    });
    expect(result.runs).toHaveLength(1);
    const { engine, baseline, ratio } = result.runs[0];
    expect(engine).toMatchObject({ items: size, status: 'completed', succeeded: size, countedOnce: true });
    expect(engine.db.itemRows).toBe(size);
    expect(baseline.items).toBe(size);
    // Temporal itself in the engine's shape: as many parents as the engine had partitions.
    const children = result.runs[0].childrenBaseline;
    expect(children).toMatchObject({ items: size, parents: 2 });
    expect(children.parentEventsPerItem).toBeGreaterThanOrEqual(3);
    // Where the cores went: every process of the run is sampled in every timed phase.
    for (const cpu of [engine.cpuMsPerItem, baseline.cpuMsPerItem, children.cpuMsPerItem])
      expect(cpu.temporal).toBeGreaterThan(0);
    expect(engine.cpuMsPerItem.worker).toBeGreaterThan(0);
    expect(result.smallBatch.runs).toHaveLength(1);
    expect(engine.history).toMatchObject({ batchRuns: 1, partitions: 2, partitionRuns: 2 });
    // Each partition starts and reports, the batch starts and sums them: more than an item's own events.
    expect(engine.history.partitionEvents).toBeGreaterThan(0);
    expect(engine.history.eventsPerItem).toBeCloseTo(
      (engine.history.batchEvents + engine.history.partitionEvents) / size,
      1,
    );
    // One noop item and one baseline workflow, each counted by event type.
    for (const h of [result.itemHistory.item, result.itemHistory.baseline]) {
      expect(h.byType.WORKFLOW_EXECUTION_STARTED).toBe(1);
      expect(h.byType.ACTIVITY_TASK_COMPLETED).toBe(3);
      expect(Object.values(h.byType as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(h.events);
    }
    expect(
      result.split.concurrent.engines.map((e: { items: number; status: string; history: { partitions: number } }) => [
        e.items,
        e.status,
        e.history.partitions,
      ]),
    ).toEqual([
      [size / 2, 'completed', 1],
      [size / 2, 'completed', 1],
    ]);
    expect(result.split.one.engine.history.partitions).toBe(2);
    const figures = {
      wallMs: engine.wallMs,
      itemsPerSec: engine.itemsPerSec,
      createMs: engine.createMs,
      getBatchSamples: engine.apiGetBatchMs.samples,
      getBatchP99: engine.apiGetBatchMs.p99,
      maxParentHistoryEvents: engine.maxParentHistoryEvents,
      workerPeakRssMb: engine.workerPeakRssMb,
      apiPeakRssMb: engine.apiPeakRssMb,
      baselineWallMs: baseline.wallMs,
      baselineItemsPerSec: baseline.itemsPerSec,
      ratio,
      childrenItemsPerSec: children.itemsPerSec,
      ratioToChildren: result.runs[0].ratioToChildren,
      smallBatchMedianMs: result.smallBatch.medianMs,
      splitOneItemsPerSec: result.split.one.itemsPerSec,
      splitConcurrentItemsPerSec: result.split.concurrent.itemsPerSec,
      splitRatio: result.split.ratio,
    };
    // Named, so a failure says which figure was not a positive number.
    expect(Object.entries(figures).filter(([, v]) => !positive(v))).toEqual([]);
    // The API's metrics come from its loopback ops port (API_METRICS_PORT), the worker's from its own.
    expect(result.metrics.workerSeries).toBeGreaterThan(0);
    expect(result.metrics.apiSample.length).toBeGreaterThan(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
