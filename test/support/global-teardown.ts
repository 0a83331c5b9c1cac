import fs from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { EmbeddedPostgresHandle } from '../../lib/postgres';

export default async function globalTeardown(): Promise<void> {
  const s = (globalThis as Record<string, unknown>).__flotillaTestServices as
    | { env: TestWorkflowEnvironment; pg: EmbeddedPostgresHandle; runDir: string }
    | undefined;
  if (!s) return;
  await s.env.teardown();
  await s.pg.stop();
  if (!process.env.KEEP_TEST_DATA) fs.rmSync(s.runDir, { recursive: true, force: true });
}
