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

function runBench(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts'), ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
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
    const { code, stderr } = await runBench(['--sizes', String(size), '--small-runs', '1', '--no-naive', '--no-warm-up', '--dir', path.join(dir, 'run'), '--out', out]);
    expect({ code, stderr: code === 0 ? '' : stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });

    const result = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(result.options).toMatchObject({ sizes: [size], baseline: true, naive: false, smallRuns: 1, warmUp: false });
    expect(result.runs).toHaveLength(1);
    const { engine, baseline, ratio } = result.runs[0];
    expect(engine).toMatchObject({ items: size, status: 'completed', succeeded: size, countedOnce: true });
    expect(engine.db.itemRows).toBe(size);
    expect(baseline.items).toBe(size);
    expect(result.smallBatch.runs).toHaveLength(1);
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
      smallBatchMedianMs: result.smallBatch.medianMs,
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
