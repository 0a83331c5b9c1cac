/**
 * The worker's Prometheus metrics during bench/dm-creative-batch.ts's batch phase: busy slots of
 * the render queue and of the item queue, sampled, and the mean schedule-to-start and execution
 * times of their activities and workflow tasks over the phase.
 */

/** Samples the worker's Prometheus gauges and histograms for the render and item queues. */
export class WorkerMetricsSampler {
  private timer?: NodeJS.Timeout;
  private readonly samples: Array<{
    t: number;
    render: number;
    itemActivities: number;
    itemWorkflowTasks: number;
    itemLocalActivities: number;
  }> = [];
  private before: Record<string, number> = {};
  private t0 = 0;
  private busyUntil = Infinity;
  constructor(
    private readonly url: string,
    private readonly queues: { render: string; items: string },
  ) {}

  private async read(): Promise<Record<string, number>> {
    const text = await fetch(this.url).then(
      (r) => r.text(),
      () => '',
    );
    const out: Record<string, number> = {};
    for (const [, name, labels, value] of text.matchAll(/^(\w+)\{([^}]*)\} (\S+)$/gm)) {
      const queue = /task_queue="([^"]+)"/.exec(labels!)?.[1];
      if (queue !== this.queues.render && queue !== this.queues.items) continue;
      const q = queue === this.queues.render ? 'render' : 'items';
      const type = /worker_type="([^"]+)"/.exec(labels!)?.[1];
      if (name === 'temporal_worker_task_slots_used') out[`used:${q}:${type}`] = Number(value);
      else if (
        /^temporal_(activity_schedule_to_start_latency|activity_execution_latency|workflow_task_schedule_to_start_latency|workflow_task_execution_latency)_(sum|count)$/.test(
          name!,
        )
      ) {
        // Histograms: summed over their label sets (e.g. activity types) per queue.
        out[`${name}:${q}`] = (out[`${name}:${q}`] ?? 0) + Number(value);
      }
    }
    return out;
  }

  async start(everyMs = 500): Promise<this> {
    this.before = await this.read();
    this.t0 = Date.now();
    this.timer = setInterval(() => {
      void this.read().then((m) => {
        if (!('used:render:ActivityWorker' in m)) return;
        this.samples.push({
          t: Date.now() - this.t0,
          render: m['used:render:ActivityWorker'] ?? 0,
          itemActivities: m['used:items:ActivityWorker'] ?? 0,
          itemLocalActivities: m['used:items:LocalActivityWorker'] ?? 0,
          itemWorkflowTasks: m['used:items:WorkflowWorker'] ?? 0,
        });
      });
    }, everyMs);
    return this;
  }

  /** Samples after this offset (ms from start) are left out of the busy-slot means (the ZIP at the end). */
  itemsDoneAt(ms: number): void {
    this.busyUntil = ms;
  }

  async stop(renderSlots: number) {
    clearInterval(this.timer);
    const after = await this.read();
    const d = (k: string) => (after[k] ?? 0) - (this.before[k] ?? 0);
    const meanMs = (h: string, q: string) => {
      const count = d(`${h}_count:${q}`);
      // The SDK's histograms are in milliseconds.
      return count ? Math.round(d(`${h}_sum:${q}`) / count) : null;
    };
    const during = this.samples.filter((s) => s.t <= this.busyUntil);
    const mean = (f: (s: (typeof during)[number]) => number) =>
      during.length ? Math.round((during.reduce((a, s) => a + f(s), 0) / during.length) * 100) / 100 : 0;
    const full = during.filter((s) => s.render >= renderSlots).length;
    return {
      samples: during.length,
      renderSlots,
      renderSlotsBusyMean: mean((s) => s.render),
      renderQueueFullPercent: during.length ? Math.round((100 * full) / during.length) : 0,
      itemActivitySlotsBusyMean: mean((s) => s.itemActivities),
      itemLocalActivitySlotsBusyMean: mean((s) => s.itemLocalActivities),
      itemWorkflowTaskSlotsBusyMean: mean((s) => s.itemWorkflowTasks),
      render: {
        activities: d('temporal_activity_execution_latency_count:render'),
        scheduleToStartMeanMs: meanMs('temporal_activity_schedule_to_start_latency', 'render'),
        executionMeanMs: meanMs('temporal_activity_execution_latency', 'render'),
      },
      itemQueue: {
        activities: d('temporal_activity_execution_latency_count:items'),
        activityScheduleToStartMeanMs: meanMs('temporal_activity_schedule_to_start_latency', 'items'),
        activityExecutionMeanMs: meanMs('temporal_activity_execution_latency', 'items'),
        workflowTasks: d('temporal_workflow_task_execution_latency_count:items'),
        workflowTaskScheduleToStartMeanMs: meanMs('temporal_workflow_task_schedule_to_start_latency', 'items'),
        workflowTaskExecutionMeanMs: meanMs('temporal_workflow_task_execution_latency', 'items'),
      },
    };
  }
}
