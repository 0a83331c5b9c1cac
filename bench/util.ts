/** What the phases of `npm run bench` share: progress lines on stderr, waits and the figures' rounding. */
import os from 'node:os';

/** A progress line on stderr, stamped with the time of day (stdout carries the JSON). */
export const say = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The p-th percentile (nearest rank) of `values`; 0 for none. */
export function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** The machine's 1, 5 and 15 minute load averages, to two decimals: others share these cores. */
export const loadAverage = () => os.loadavg().map((v) => Math.round(v * 100) / 100);

/** Items per second over `wallMs`, to one decimal. */
export const perSec = (items: number, wallMs: number) => Math.round((items / wallMs) * 1000 * 10) / 10;

/** The machine a result was measured on. */
export const machineInfo = () => ({
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
});

/** The median, 95th percentile and slowest of latencies, in whole milliseconds. */
export const latencySummary = (latencies: number[]) => ({
  p50: Math.round(pct(latencies, 50)),
  p95: Math.round(pct(latencies, 95)),
  max: Math.round(pct(latencies, 100)),
});

/**
 * Runs `work` over `items` with `concurrency` in flight, calling `started(i + 1)` after item `i`
 * (for progress lines); each item's latency in ms and the wall time in seconds.
 */
export async function runConcurrently<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  started?: (n: number) => void,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        const s = performance.now();
        await work(items[i]!);
        latencies.push(performance.now() - s);
        started?.(i + 1);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}
