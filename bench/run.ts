/**
 * `npm run bench`: the engine against the baseline that bounds it, on the embedded stack.
 *
 *   npm run bench                          # 2k and 10k items + baseline, one batch of 2k vs 4 of 500,
 *                                          # naive fan-out, small batches (about 20 minutes on 2 cores)
 *   npm run bench -- --sizes 1000,10000    # other sizes
 *   npm run bench -- --items 100000        # one batch of that size (no baseline), API latency sampled
 *   npm run bench -- --server cluster      # the same on the production topology (temporal-server's four
 *                                          # services on PostgreSQL; scripts/ensure-temporal-cluster.sh)
 *   npm run bench -- --million [N]         # N (1,000,000) recipients imported from a gzip CSV, one batch over
 *                                          # them run for 30 minutes, paused, resumed, cancelled (bench/million.ts);
 *                                          # --pipeline NAME (dm-creative) --run-minutes M (30); --concurrency 50
 *   options: --concurrency N (200) --no-baseline --children-per-parent N (engine's partitions) --no-naive --small-runs N (10) --no-warm-up
 *            --split K (4; 0 or --no-split: off) --split-size N (2000)
 *            --out FILE --dir DIR (the run's stack; default .data/bench/<time>)
 *   The API and worker get this process's environment: BATCH_ITEMS_PER_PARTITION,
 *   BATCH_MAX_PARTITIONS, BATCH_MIN_PARTITION_WINDOW and WORKER_* set here apply to the run
 *   (the JSON records them under options.env).
 *
 * Each run gets a fresh Temporal (dev server or cluster) and PostgreSQL under .data/bench/<time>; the worker
 * and the API run as their own processes, so their RSS is measured as deployed. The benchmark
 * calls the API as `npm start`'s local CLI does: a super admin and an API token made in the run's
 * database, the token saved in the run's DATA_DIR/cli-token and sent as `Authorization: Bearer`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findTemporalBinary, PROJECT_ROOT } from '../lib/temporal';
import { EngineBatches } from './engine-batch';
import { runMillion, type MillionOptions } from './million';
import { runNaiveFanOut } from './naive-fan-out';
import { parseArgs } from './options';
import { recordMetrics, runSize, runSmallBatches, runSplit, type PhaseContext } from './phases';
import { BenchReport } from './report';
import { RssSampler } from './rss';
import { ServerMetrics } from './server-metrics';
import { cpuGroupsOf, startBenchStack, Teardown, type BenchStack } from './stack';
import { say } from './util';

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const runDir = opts.dir ?? path.join(PROJECT_ROOT, '.data', 'bench', new Date().toISOString().replace(/[:.]/g, '-'));
  fs.mkdirSync(runDir, { recursive: true });
  fs.chmodSync(runDir, 0o755);
  const bin = findTemporalBinary(process.env.TEMPORAL_BIN);
  if (!bin) throw new Error('no temporal CLI: run bash scripts/ensure-temporal.sh');
  const teardown = new Teardown();
  teardown.onSignals((signal) => say(`${signal}: stopping`));

  try {
    const stack = await startBenchStack(runDir, opts.server, bin, teardown);
    const report = new BenchReport(opts);
    if (opts.million) return await runMillionPhase(stack, opts.server, opts.million, report);
    const workerRss = new RssSampler(stack.worker.pid!).start();
    const apiRss = new RssSampler(stack.api.pid!).start();
    // Where the cores go in each timed phase, per item (ms of CPU per item and process tree).
    const cpuGroups = cpuGroupsOf(stack);
    const engine = new EngineBatches(stack, opts.concurrency, cpuGroups, new ServerMetrics(runDir));
    const ctx: PhaseContext = { opts, stack, report, engine, cpuGroups };

    // Warm-up: the first workflow tasks compile the bundle in the worker.
    if (opts.warmUp) await engine.run(20, 'warm-up');
    if (opts.smallRuns > 0) await runSmallBatches(ctx);
    for (const n of opts.sizes) await runSize(ctx, n);
    if (opts.split > 0) await runSplit(ctx);
    if (opts.naive) report.record('naiveFanOut', await runNaiveFanOut(stack));
    await recordMetrics(ctx);
    workerRss.stop();
    apiRss.stop();
    report.result.workerPeakRssMb = Math.round(workerRss.peakKb / 1024);
    report.result.apiPeakRssMb = Math.round(apiRss.peakKb / 1024);
    report.finish(true);
  } finally {
    await teardown.run();
  }
}

/** `--million`: the entity import and one batch over its recipients instead of the other phases (bench/million.ts). */
async function runMillionPhase(
  stack: BenchStack,
  server: 'dev' | 'cluster',
  options: MillionOptions,
  report: BenchReport,
) {
  const { db, runDir } = stack;
  const million: Record<string, unknown> = {};
  report.result.million = million;
  const temporalStoreBytes = async () => {
    if (server === 'cluster') {
      const r = await db.query(
        `SELECT sum(pg_database_size(datname))::bigint AS b FROM pg_database WHERE datname IN ('temporal', 'temporal_visibility')`,
      );
      return Number(r.rows[0].b);
    }
    return ['temporal.db', 'temporal.db-wal'].reduce(
      (sum, f) => sum + (fs.existsSync(path.join(runDir, f)) ? fs.statSync(path.join(runDir, f)).size : 0),
      0,
    );
  };
  await runMillion(
    {
      base: stack.base,
      auth: stack.auth,
      db,
      runDir,
      apiPid: stack.api.pid!,
      workerPid: stack.worker.pid!,
      temporalStoreBytes,
      rss: (pid) => new RssSampler(pid),
      say,
      record: (key, value) => {
        million[key] = value;
        report.save(false);
      },
    },
    options,
  );
  report.finish(false);
}

main().then(
  () => process.exit(0),
  (err) => {
    say(`failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
