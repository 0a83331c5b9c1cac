/**
 * The Temporal dev server's own metrics (its address is in its log), read before and after each batch:
 * - busyWorkflowRetries: history tasks retried because their workflow was locked (BusyWorkflow),
 *   by task type;
 * - workflowTaskDispatchesOver10s: history's tasks that hand a workflow task to matching, done
 *   over 10 s after they were created (past the default sticky schedule-to-start timeout).
 * The cluster's services run without a metrics listener: their counters read as none.
 */
import fs from 'node:fs';
import path from 'node:path';

export type ServerCounters = Record<string, number>;

export class ServerMetrics {
  private readonly url?: string;

  /** The dev server prints its metrics address in runDir/temporal.log. */
  constructor(runDir: string) {
    const devServerLog = path.join(runDir, 'temporal.log');
    this.url = fs.existsSync(devServerLog)
      ? /Metrics:\s+(http:\/\/\S+\/metrics)/.exec(fs.readFileSync(devServerLog, 'utf8'))?.[1]
      : undefined;
  }

  async counters(): Promise<ServerCounters> {
    if (!this.url) return {};
    const text = await fetch(this.url).then(
      (r) => r.text(),
      () => '',
    );
    const series = [...text.matchAll(/^(\w+)\{([^}]*)\} (\S+)$/gm)].filter((m) => m[2].includes('namespace="default"'));
    const out: ServerCounters = {};
    for (const [, name, labels, value] of series) {
      if (name !== 'task_errors_throttled' || !labels.includes('resource_exhausted_cause="BusyWorkflow"')) continue;
      const type = /task_type="([^"]+)"/.exec(labels)?.[1] ?? '?';
      out[`busy:${type}`] = (out[`busy:${type}`] ?? 0) + Number(value);
    }
    const dispatches = (le: string) =>
      series
        .filter(
          ([, name, labels]) =>
            name === 'task_latency_queue_bucket' &&
            labels.includes('task_type="TransferActiveTaskWorkflowTask"') &&
            labels.includes(`le="${le}"`),
        )
        .reduce((sum, m) => sum + Number(m[3]), 0);
    out.workflowTaskDispatchesOver10s = dispatches('+Inf') - dispatches('10');
    return out;
  }

  static delta(before: ServerCounters, after: ServerCounters) {
    const busyWorkflowRetries: Record<string, number> = {};
    for (const [k, v] of Object.entries(after))
      if (k.startsWith('busy:') && v !== (before[k] ?? 0)) busyWorkflowRetries[k.slice(5)] = v - (before[k] ?? 0);
    return {
      busyWorkflowRetries,
      workflowTaskDispatchesOver10s:
        (after.workflowTaskDispatchesOver10s ?? 0) - (before.workflowTaskDispatchesOver10s ?? 0),
    };
  }
}
