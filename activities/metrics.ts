/**
 * Our own worker metrics, emitted through the Temporal SDK's metric meter so they are served on
 * the worker's Prometheus endpoint next to the SDK's (WORKER_METRICS_PORT, /metrics).
 */
import { Context } from '@temporalio/activity';

export function countItemSettled(attrs: { pipeline: string; status: string }): void {
  Context.current()
    .metricMeter.createCounter('flotilla_items_settled', 'items', 'Items that reached a final status')
    .add(1, attrs);
}

export function observeStepDuration(attrs: { pipeline: string; step: string; status: string }, ms: number): void {
  Context.current()
    .metricMeter.createHistogram('flotilla_step_duration', 'int', 'ms', 'Duration of one step attempt')
    .record(Math.round(ms), attrs);
}
