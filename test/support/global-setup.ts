/**
 * Starts the real services the suite talks to: an embedded PostgreSQL and Temporal — the dev
 * server (the `temporal` CLI via TestWorkflowEnvironment.createLocal with the existing-path
 * binary), or with TEST_TEMPORAL_TOPOLOGY=cluster the production topology of
 * lib/temporal-cluster.ts (temporal-server's four services on that PostgreSQL). Their addresses
 * reach test files through process.env.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ENGINE_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../lib/postgres';
import { startTemporalCluster } from '../../lib/temporal-cluster';
import { findTemporalBinary } from '../../lib/temporal';
import { workflowBundlePath } from '../../workers/bundle';
import { freeClusterPorts, freePort } from './ports';

export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  const runDir = path.join(root, '.data', 'test-runs', `${Date.now()}-${process.pid}`);
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);

  const pgPort = await freePort();
  const pg = await startEmbeddedPostgres({ dir: path.join(runDir, 'postgres'), port: pgPort });
  let temporal: TestServices['temporal'] | undefined;
  let bundle: string;
  try {
    temporal =
      process.env.TEST_TEMPORAL_TOPOLOGY === 'cluster'
        ? await startCluster(runDir, pg.adminUrl)
        : await startDevServer(runDir);
    bundle = await workflowBundlePath(path.join(root, '.data', 'bundles'));
  } catch (err) {
    // Teardown never runs when setup throws: stop what started.
    await temporal?.stop().catch(() => undefined);
    await pg.stop().catch(() => undefined);
    throw err;
  }

  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_PG_ADMIN_URL = pg.adminUrl;
  process.env.TEST_WORKFLOW_BUNDLE = bundle;
  process.env.TEST_RUN_DIR = runDir;
  (globalThis as Record<string, unknown>).__flotillaTestServices = { temporal, pg, runDir } satisfies TestServices;
}

export interface TestServices {
  temporal: { address: string; stop(): Promise<void> };
  pg: EmbeddedPostgresHandle;
  runDir: string;
}

async function startDevServer(runDir: string): Promise<TestServices['temporal']> {
  const bin = findTemporalBinary(process.env.TEMPORAL_BIN);
  if (!bin) throw new Error('No temporal CLI: run `bash scripts/ensure-temporal.sh` (npm test does this first)');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: bin },
      ip: '127.0.0.1',
      searchAttributes: ENGINE_SEARCH_ATTRIBUTES,
      dbFilename: path.join(runDir, 'temporal.db'),
      extraArgs: ['--log-level', 'error'],
    },
  });
  return { address: env.address, stop: () => env.teardown() };
}

async function startCluster(runDir: string, postgresUrl: string): Promise<TestServices['temporal']> {
  const cluster = await startTemporalCluster({
    dir: path.join(runDir, 'temporal-cluster'),
    postgresUrl,
    namespace: 'default',
    ports: await freeClusterPorts(),
    logLevel: 'error',
  });
  return { address: cluster.address, stop: cluster.stop };
}
