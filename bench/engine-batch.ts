/**
 * The engine's side of `npm run bench`: a batch of `n` noop items created through the API and
 * polled until it ends (the timed part), then its figures read once it has ended: throughput,
 * item latency, history sizes of the batch and its partitions, workflow tasks that stalled, the
 * server's retries, CPU per item, RSS of the worker and the API, GET latency.
 */
import { CpuSampler, cpuPerItem, type CpuGroup } from './proc-cpu';
import { batchWorkflowTaskTrouble, partitionRuns } from './histories';
import { RssSampler } from './rss';
import { ServerMetrics } from './server-metrics';
import type { BenchStack } from './stack';
import { loadAverage, pct, perSec, say, sleep } from './util';

export type DrivenBatch = Awaited<ReturnType<EngineBatches['drive']>>;
export type EngineFigures = Awaited<ReturnType<EngineBatches['analyze']>>;

export class EngineBatches {
  constructor(
    private readonly stack: BenchStack,
    private readonly concurrency: number,
    private readonly cpuGroups: CpuGroup[],
    private readonly server: ServerMetrics,
  ) {}

  /** Drives a batch and reads its figures. */
  async run(n: number, name: string): Promise<EngineFigures> {
    return this.analyze(await this.drive(n, name));
  }

  /** Creates a batch of `n` noop items and polls it until it ends: the timed part of a run. */
  async drive(n: number, name: string) {
    const { base, auth, worker, api } = this.stack;
    const serverBefore = await this.server.counters();
    const loadAtStart = loadAverage();
    const items = Array.from({ length: n }, (_, i) => ({ key: `i${i + 1}` }));
    const latencies: number[] = [];
    const wr = new RssSampler(worker.pid!).start();
    const ar = new RssSampler(api.pid!).start();
    const cpu = new CpuSampler(this.cpuGroups).start();
    const t0 = Date.now();
    const res = await fetch(`${base}/api/batches`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ pipeline: 'noop', name, items, concurrency: this.concurrency }),
    });
    if (res.status !== 202) throw new Error(`create failed: ${res.status} ${await res.text()}`);
    const createMs = Date.now() - t0;
    const { id } = (await res.json()) as { id: string };
    let progress: Record<string, number | string>;
    let lastLog = 0;
    for (;;) {
      const q0 = performance.now();
      const got = await fetch(`${base}/api/batches/${id}`, { headers: auth });
      const b = (await got.json()) as { status: string; progress: Record<string, number | string> };
      latencies.push(performance.now() - q0);
      // An error answer has no status: without this the loop would poll it forever.
      if (!got.ok) throw new Error(`GET /api/batches/${id} failed: ${got.status} ${JSON.stringify(b)}`);
      progress = b.progress;
      if (['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.status)) break;
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        say(`  ${name}: ${progress.processed}/${n} (${progress.throughputPerSec}/s, run ${progress.generation})`);
      }
      await sleep(n <= 100 ? 20 : 250);
    }
    const endedAt = Date.now();
    const wallMs = endedAt - t0;
    wr.stop();
    ar.stop();
    const cpuMsPerItem = cpuPerItem(cpu.stop(), n);
    return {
      id,
      n,
      t0,
      endedAt,
      wallMs,
      createMs,
      progress,
      latencies,
      wr,
      ar,
      cpuMsPerItem,
      serverBefore,
      loadAtStart,
      loadAtEnd: loadAverage(),
    };
  }

  /** The figures of a driven batch, read once it has ended (nothing here is timed). */
  async analyze(driven: DrivenBatch) {
    const { id, n, t0, wallMs, progress, latencies, wr, ar } = driven;
    const { client, db } = this.stack;
    const itemLat = await db.query(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
              count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded, count(*)::int AS rows
       FROM batch_items WHERE batch_id = $1`,
      [id],
    );
    const sizes = await db.query(
      `SELECT pg_total_relation_size('batch_items')::bigint AS items_bytes, pg_database_size(current_database())::bigint AS db_bytes`,
    );
    // Visibility lags a run's close (its historyLength can still read 0, and the last run can be
    // missing): list the runs, then ask each run itself.
    const runIds = new Set([(await client.workflow.getHandle(id).describe()).runId]);
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) runIds.add(wf.runId);
    const historyLengths = await Promise.all(
      [...runIds].map(async (runId) => (await client.workflow.getHandle(id, runId).describe()).historyLength),
    );
    const workflowTasks = await batchWorkflowTaskTrouble(client, id, [...runIds], t0);
    const server = ServerMetrics.delta(driven.serverBefore, await this.server.counters());
    const partitions = await partitionRuns(client, db, id);
    const batchEvents = historyLengths.reduce((a, b) => a + b, 0);
    return {
      id,
      items: n,
      wallMs,
      createMs: driven.createMs,
      itemsPerSec: perSec(n, wallMs),
      status: progress.status,
      succeeded: progress.succeeded,
      countedOnce: progress.succeeded === n && itemLat.rows[0].succeeded === n && itemLat.rows[0].rows === n,
      itemLatencyMs: { p50: Number(itemLat.rows[0].p50), p99: Number(itemLat.rows[0].p99) },
      parentRuns: historyLengths.length,
      maxParentHistoryEvents: Math.max(...historyLengths),
      // Events of every run of the batch workflow and of every run of its partition workflows.
      history: {
        batchRuns: historyLengths.length,
        batchEvents,
        partitions: partitions.partitions,
        partitionRuns: partitions.runs,
        partitionEvents: partitions.events,
        maxPartitionRunEvents: partitions.maxRunEvents,
        eventsPerItem: Math.round(((batchEvents + partitions.events) / n) * 100) / 100,
        partitionStickyScheduleToStartTimeouts: partitions.stickyScheduleToStartTimeouts,
        partitionWorkflowTasks: partitions.workflowTasks,
      },
      // Workflow tasks of the batch workflow that timed out or failed, over all its runs.
      stickyScheduleToStartTimeouts: workflowTasks.stickyScheduleToStartTimeouts,
      batchWorkflowTasks: workflowTasks,
      // The Temporal server during this batch (bench/server-metrics.ts).
      server,
      cpuMsPerItem: driven.cpuMsPerItem,
      apiGetBatchMs: {
        samples: latencies.length,
        p50: Math.round(pct(latencies, 50) * 10) / 10,
        p99: Math.round(pct(latencies, 99) * 10) / 10,
        max: Math.round(Math.max(...latencies) * 10) / 10,
      },
      workerPeakRssMb: Math.round(wr.peakKb / 1024),
      workerRssMbByTenth: wr.deciles(),
      apiPeakRssMb: Math.round(ar.peakKb / 1024),
      db: {
        itemRows: itemLat.rows[0].rows,
        batchItemsMb: Math.round(Number(sizes.rows[0].items_bytes) / 2 ** 20),
        databaseMb: Math.round(Number(sizes.rows[0].db_bytes) / 2 ** 20),
      },
      loadAverage: { atStart: driven.loadAtStart, atEnd: driven.loadAtEnd },
    };
  }
}
