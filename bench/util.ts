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
