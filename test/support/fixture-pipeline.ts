/**
 * A test pipeline whose items say how their steps behave: fail N times, always fail, fail
 * without retry, or take a while (honouring cancellation). It exercises the engine; real
 * pipelines are tested on their own.
 */
import { z } from 'zod';
import { definePipeline, NonRetryableStepError } from '../../pipelines/types';

export const FixtureItem = z.object({
  key: z.string(),
  failTimes: z.record(z.string(), z.number().int()).optional(),
  failAlways: z.string().optional(),
  rejectAt: z.string().optional(),
  sleepMs: z.number().int().optional(),
  cost: z.number().optional(),
  /** Fail this step (without retry) while the item's key is in `fixtureLog.blocked`. */
  failWhileBlocked: z.string().optional(),
});
export type FixtureItem = z.infer<typeof FixtureItem>;

/** What the steps saw, per process: `${itemKey}/${step}` -> attempts and cancellations. */
export const fixtureLog = {
  attempts: new Map<string, number>(),
  cancelled: new Set<string>(),
  blocked: new Set<string>(),
  reset() {
    this.attempts.clear();
    this.cancelled.clear();
    this.blocked.clear();
  },
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    });
  });
}

const step = (name: string) => ({
  name,
  retry: { initialIntervalMs: 50, maximumIntervalMs: 200 },
  startToCloseTimeoutMs: 30_000,
  run: async (ctx: {
    item: FixtureItem;
    itemKey: string;
    attempt: number;
    signal: AbortSignal;
    addCost(usd: number): void;
    heartbeat(): void;
  }) => {
    const id = `${ctx.itemKey}/${name}`;
    fixtureLog.attempts.set(id, (fixtureLog.attempts.get(id) ?? 0) + 1);
    if (ctx.item.sleepMs) {
      try {
        await sleep(ctx.item.sleepMs, ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) fixtureLog.cancelled.add(id);
        throw err;
      }
    }
    if (ctx.item.failWhileBlocked === name && fixtureLog.blocked.has(ctx.itemKey))
      throw new NonRetryableStepError(`blocked at ${name}`, 'BlockedError');
    if (ctx.item.rejectAt === name) throw new NonRetryableStepError(`rejected at ${name}`, 'RejectedError');
    if (ctx.item.failAlways === name) throw new Error(`boom at ${name}`);
    if ((ctx.item.failTimes?.[name] ?? 0) >= ctx.attempt)
      throw new Error(`transient failure ${ctx.attempt} at ${name}`);
    if (ctx.item.cost) ctx.addCost(ctx.item.cost);
    return { step: name, attempt: ctx.attempt };
  },
});

export const fixturePipeline = definePipeline({
  name: 'fixture',
  title: 'Test fixture',
  description: 'Steps whose behaviour the item chooses (tests only).',
  version: 1,
  itemNoun: 'item',
  itemSchema: FixtureItem,
  settingsSchema: z.object({ label: z.string().optional() }),
  itemKey: (item) => item.key,
  steps: [step('a'), step('b'), step('c')],
});
