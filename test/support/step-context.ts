/**
 * A hand-built StepContext for calling step handlers directly (no Temporal), recording what the
 * step reports back: costs, logs, heartbeats.
 */
import type { SequencePredecessor, StepContext } from '../../pipelines/types';

export interface RecordedContext<I, S> {
  ctx: StepContext<I, S>;
  costs: number[];
  logs: Array<{ level: 'info' | 'warn' | 'error'; message: string; meta?: Record<string, unknown> }>;
  heartbeats: unknown[];
  /** Sum of the costs the step added. */
  cost(): number;
}

export function stepContext<I, S>(opts: {
  item: I;
  settings: S;
  step: string;
  itemKey?: string;
  batchId?: string;
  previous?: Record<string, unknown>;
  predecessors?: SequencePredecessor[];
  signal?: AbortSignal;
  attempt?: number;
}): RecordedContext<I, S> {
  const batchId = opts.batchId ?? 'batch-unit';
  const itemKey = opts.itemKey ?? 'item-1';
  const costs: number[] = [];
  const logs: RecordedContext<I, S>['logs'] = [];
  const heartbeats: unknown[] = [];
  const ctx: StepContext<I, S> = {
    batchId,
    itemKey,
    item: opts.item,
    settings: opts.settings,
    previous: opts.previous ?? {},
    idempotencyKey: `${batchId}/${itemKey}/${opts.step}`,
    signal: opts.signal ?? new AbortController().signal,
    attempt: opts.attempt ?? 1,
    heartbeat: (d) => void heartbeats.push(d),
    addCost: (usd) => void costs.push(usd),
    predecessors: async () => opts.predecessors ?? [],
    log: {
      info: (message, meta) => void logs.push({ level: 'info', message, meta }),
      warn: (message, meta) => void logs.push({ level: 'warn', message, meta }),
      error: (message, meta) => void logs.push({ level: 'error', message, meta }),
    },
  };
  return { ctx, costs, logs, heartbeats, cost: () => costs.reduce((a, b) => a + b, 0) };
}

/** gpt-4o-mini list price, written out here so the tests check the price table, not reuse it. */
export function gpt4oMiniCost(usage: { prompt_tokens: number; completion_tokens: number }): number {
  return (usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.6) / 1_000_000;
}
