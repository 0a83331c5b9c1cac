import fs from 'node:fs';
import type { TestServices } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const s = (globalThis as Record<string, unknown>).__flotillaTestServices as TestServices | undefined;
  if (!s) return;
  await s.temporal.stop();
  await s.pg.stop();
  if (!process.env.KEEP_TEST_DATA) fs.rmSync(s.runDir, { recursive: true, force: true });
}
