/**
 * Starts the real services the suite talks to: the Temporal dev server (the `temporal` CLI via
 * TestWorkflowEnvironment.createLocal with the existing-path binary) and an embedded
 * PostgreSQL. Their addresses reach test files through process.env.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { BatchIdKey, ItemKeyKey, PipelineKey } from '../../common/search-attributes';
import { startEmbeddedPostgres } from '../../lib/postgres';
import { findTemporalBinary } from '../../lib/temporal';
import { workflowBundlePath } from '../../workers/bundle';
import { freePort } from './ports';

export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  const runDir = path.join(root, '.data', 'test-runs', `${Date.now()}-${process.pid}`);
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);

  const bin = findTemporalBinary(process.env.TEMPORAL_BIN);
  if (!bin) throw new Error('No temporal CLI: run `bash scripts/ensure-temporal.sh` (npm test does this first)');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: bin },
      ip: '127.0.0.1',
      searchAttributes: [BatchIdKey, PipelineKey, ItemKeyKey],
      dbFilename: path.join(runDir, 'temporal.db'),
      extraArgs: ['--log-level', 'error'],
    },
  });
  const pgPort = await freePort();
  const pg = await startEmbeddedPostgres({ dir: path.join(runDir, 'postgres'), port: pgPort });
  const bundle = await workflowBundlePath(path.join(root, '.data', 'bundles'));

  process.env.TEST_TEMPORAL_ADDRESS = env.address;
  process.env.TEST_PG_ADMIN_URL = pg.adminUrl;
  process.env.TEST_WORKFLOW_BUNDLE = bundle;
  process.env.TEST_RUN_DIR = runDir;
  (globalThis as Record<string, unknown>).__flotillaTestServices = { env, pg, runDir };
}
