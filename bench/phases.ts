/**
 * The phases of `npm run bench` after the stack is up, in the order bench/run.ts calls them:
 * small batches (latency of a tiny batch), each size against its baselines, one batch against
 * K concurrent ones (the split), and the worker's and API's metrics as evidence. The naive
 * fan-out is in bench/naive-fan-out.ts.
 */
import { runBaseline, runChildrenBaseline } from './baselines';
import type { EngineBatches } from './engine-batch';
import { eventTypeCounts } from './histories';
import type { Options } from './options';
import type { CpuGroup } from './proc-cpu';
import type { BenchReport } from './report';
import type { BenchStack } from './stack';
import { loadAverage, pct, perSec, say } from './util';

export interface PhaseContext {
  opts: Options;
  stack: BenchStack;
  report: BenchReport;
  engine: EngineBatches;
  cpuGroups: CpuGroup[];
}

/** `smallRuns` batches of 10 items one after another: the median wall time of a tiny batch. */
export async function runSmallBatches({ opts, engine, report }: PhaseContext): Promise<void> {
  const walls: number[] = [];
  for (let i = 0; i < opts.smallRuns; i++) walls.push((await engine.run(10, `small-${i}`)).wallMs);
  report.result.smallBatch = { items: 10, steps: 3, runs: walls, medianMs: pct(walls, 50) };
  say(`small batches (10 items x 3 steps): median ${pct(walls, 50)} ms over ${walls.length} runs`);
}

/** The engine on a batch of `n`, then (unless --no-baseline) the plain and the children baseline of `n`. */
export async function runSize(ctx: PhaseContext, n: number): Promise<void> {
  const { opts, stack, report, engine: engines, cpuGroups } = ctx;
  say(`engine: ${n} items, concurrency ${opts.concurrency}`);
  const engine = await engines.run(n, `bench-${n}`);
  say(
    `  ${engine.itemsPerSec} items/s, wall ${(engine.wallMs / 1000).toFixed(1)} s, ${engine.history.partitions} partitions (${engine.history.partitionRuns} runs), ${engine.history.eventsPerItem} batch events per item, max parent history ${engine.maxParentHistoryEvents} over ${engine.parentRuns} runs, ${engine.stickyScheduleToStartTimeouts} sticky schedule-to-start timeouts, worker peak ${engine.workerPeakRssMb} MB, GET p99 ${engine.apiGetBatchMs.p99} ms`,
  );
  let baseline;
  let childrenBaseline;
  if (opts.baseline) {
    say(`baseline: ${n} standalone workflows, concurrency ${opts.concurrency}`);
    baseline = await runBaseline(stack, opts, cpuGroups, n);
    say(
      `  ${baseline.itemsPerSec} items/s; engine/baseline = ${(engine.itemsPerSec / baseline.itemsPerSec).toFixed(2)}`,
    );
    say(
      `  CPU ms per item: engine ${JSON.stringify(engine.cpuMsPerItem)}; baseline ${JSON.stringify(baseline.cpuMsPerItem)}`,
    );
    // One noop item's history next to one baseline workflow's (same steps, same server).
    report.result.itemHistory ??= {
      item: await eventTypeCounts(stack.client, `${engine.id}/i1`),
      baseline: await eventTypeCounts(stack.client, baseline.firstWorkflowId),
    };
    say(`children baseline: ${n} baseline workflows as children, concurrency ${opts.concurrency}`);
    childrenBaseline = await runChildrenBaseline(stack, opts, cpuGroups, n, engine.history.partitions);
    say(
      `  ${childrenBaseline.itemsPerSec} items/s over ${childrenBaseline.parents} parents, ${childrenBaseline.parentEventsPerItem} parent events per item; engine/children = ${(engine.itemsPerSec / childrenBaseline.itemsPerSec).toFixed(2)}; CPU ms per item ${JSON.stringify(childrenBaseline.cpuMsPerItem)}`,
    );
  }
  const ratio = (a: number, b?: { itemsPerSec: number }) =>
    b ? Math.round((a / b.itemsPerSec) * 100) / 100 : undefined;
  report.addRun({
    engine,
    baseline,
    childrenBaseline,
    ratio: ratio(engine.itemsPerSec, baseline),
    ratioToChildren: ratio(engine.itemsPerSec, childrenBaseline),
    childrenToBaseline: childrenBaseline ? ratio(childrenBaseline.itemsPerSec, baseline) : undefined,
  });
}

/**
 * One batch of N against K concurrent batches of N/K, back to back: total items/s is N over
 * the wall time from the first POST to the last batch's end. Figures of each batch are read
 * after all have ended, so reading them loads nothing that is timed.
 */
export async function runSplit({ opts, report, engine }: PhaseContext): Promise<void> {
  const n = opts.splitSize;
  const k = opts.split;
  say(`split: one batch of ${n} items`);
  const one = await engine.run(n, `split-one-${n}`);
  say(
    `  ${one.itemsPerSec} items/s, ${one.history.partitions} partitions, ${one.history.eventsPerItem} events per item`,
  );
  say(`split: ${k} concurrent batches of ${n / k} items`);
  const loadAtStart = loadAverage();
  const driven = await Promise.all(
    Array.from({ length: k }, (_, i) => engine.drive(n / k, `split-${k}x${n / k}-${i}`)),
  );
  const wallMs = Math.max(...driven.map((d) => d.endedAt)) - Math.min(...driven.map((d) => d.t0));
  const loadAtEnd = loadAverage();
  const batches = [];
  for (const d of driven) batches.push(await engine.analyze(d));
  const splitPerSec = perSec(n, wallMs);
  report.record('split', {
    items: n,
    batches: k,
    one: { itemsPerSec: one.itemsPerSec, wallMs: one.wallMs, engine: one },
    concurrent: {
      itemsPerSec: splitPerSec,
      wallMs,
      loadAverage: { atStart: loadAtStart, atEnd: loadAtEnd },
      engines: batches,
    },
    // The acceptance: >= 0.9.
    ratio: Math.round((one.itemsPerSec / splitPerSec) * 100) / 100,
  });
  say(
    `  ${k} x ${n / k}: ${splitPerSec} items/s in total, wall ${(wallMs / 1000).toFixed(1)} s; one/split = ${(one.itemsPerSec / splitPerSec).toFixed(2)}`,
  );
}

/** Both processes expose Prometheus metrics: keep a few lines of each as evidence. */
export async function recordMetrics({ stack, report }: PhaseContext): Promise<void> {
  const scrape = async (url: string) =>
    (
      await fetch(url).then(
        (r) => r.text(),
        () => '',
      )
    ).split('\n');
  const workerMetrics = await scrape(`http://127.0.0.1:${stack.workerMetricsPort}/metrics`);
  const apiMetrics = await scrape(`http://127.0.0.1:${stack.apiMetricsPort}/metrics`);
  report.result.metrics = {
    workerSeries: workerMetrics.filter((l) => l && !l.startsWith('#')).length,
    workerSample: workerMetrics
      .filter((l) =>
        /^(flotilla_items_settled|temporal_workflow_completed|temporal_activity_execution_latency_count)/.test(l),
      )
      .slice(0, 8),
    apiSample: apiMetrics.filter((l) => /^(flotilla_batches|flotilla_progress_queries_total)/.test(l)).slice(0, 8),
  };
}
