/**
 * The engine heartbeats for every running step (activities/steps.ts). A step's own heartbeat
 * details are what its next attempt resumes from, so the engine's heartbeats must repeat them,
 * never blank them out; and a retried attempt keeps its predecessor's details until it reports
 * its own. (Through Temporal, the fault tests show what the heartbeats buy: a dead worker's
 * steps retried within seconds.)
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { createStepActivities, type StepActivityInput } from '../activities/steps';
import { definePipeline, type PipelineDefinition, type StepContext } from '../pipelines/types';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Long enough for several engine heartbeats (one a second). */
const RUN_MS = 2_600;

const pipeline = definePipeline({
  name: 'beats',
  title: 'Heartbeat fixture',
  description: 'Steps that run for a while, with and without progress details.',
  version: 1,
  itemNoun: 'item',
  itemSchema: z.object({}).passthrough(),
  settingsSchema: z.object({}).passthrough(),
  steps: [
    {
      name: 'reports-progress',
      run: async (ctx: StepContext<unknown, unknown>) => {
        ctx.heartbeat({ uploaded: 1, total: 3 });
        await sleep(RUN_MS);
        return { ok: true };
      },
    },
    { name: 'silent', run: async () => sleep(RUN_MS).then(() => ({ ok: true })) },
  ],
}) as unknown as PipelineDefinition;

const activities = createStepActivities([pipeline]);
const input: StepActivityInput = { batchId: 'b', itemKey: 'i', step: 's', item: {}, settings: {}, previous: {} };

async function heartbeatsOf(
  activity: string,
  info: { attempt?: number; heartbeatDetails?: unknown } = {},
): Promise<unknown[]> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 5_000, ...info });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  await env.run(activities[activity]!, input);
  return beats;
}

test('a step that reported progress: every later heartbeat carries its details', async () => {
  const beats = await heartbeatsOf('beats.reports-progress');
  expect(beats.length).toBeGreaterThanOrEqual(3);
  expect(beats).toEqual(beats.map(() => ({ uploaded: 1, total: 3 })));
});

test("a retried attempt keeps the previous attempt's details until it reports its own", async () => {
  const beats = await heartbeatsOf('beats.silent', { attempt: 2, heartbeatDetails: { uploaded: 2, total: 3 } });
  expect(beats.length).toBeGreaterThanOrEqual(2);
  expect(beats).toEqual(beats.map(() => ({ uploaded: 2, total: 3 })));
});

test('a step that never heartbeats is heartbeated for, at least once a second', async () => {
  const beats = await heartbeatsOf('beats.silent');
  expect(beats.length).toBeGreaterThanOrEqual(Math.floor(RUN_MS / 1_000));
});
