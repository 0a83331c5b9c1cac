/**
 * Temporal plumbing for Node processes: finding the `temporal` CLI, the dev server's arguments,
 * and registering the engine's search attributes on any cluster.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../common/constants';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const PROJECT_TEMPORAL_BIN = path.join(PROJECT_ROOT, '.tools', 'bin', 'temporal');

/** TEMPORAL_BIN, else the project's tool folder, else `temporal` on PATH. */
export function findTemporalBinary(explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (fs.existsSync(PROJECT_TEMPORAL_BIN)) return PROJECT_TEMPORAL_BIN;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Dynamic config for the dev server. The defaults already match a production cluster's limits
 * (2,000 pending children, 10,000 signals per run); these only make the single-node dev server
 * hand out tasks promptly.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/**
 * SQLite settings for the dev server's database file. WAL with synchronous=NORMAL survives a
 * crash of the server process (what the stack and the fault tests exercise) without an fsync per
 * commit; measured in BENCHMARKS.md. Set TEMPORAL_SQLITE_SYNC=FULL for power-loss durability.
 */
export function devServerSqliteArgs(synchronous = 'NORMAL'): string[] {
  return ['--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', `synchronous=${synchronous}`];
}

export function devServerSearchAttributeArgs(): string[] {
  return Object.values(SEARCH_ATTRIBUTES).flatMap((name) => ['--search-attribute', `${name}=Keyword`]);
}

/** Registers the engine's search attributes when missing (a no-op on the dev server, which gets them as flags). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.values(SEARCH_ATTRIBUTES).filter((n) => !(n in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
}
