/**
 * A dry run of one item: the pipeline's steps in order, on the real workers and task queues, up
 * to the first step that would change something outside Flotilla (`writes`). Reading and
 * computing steps run for real (a duplicate check against the partner, a rendered PDF, an AI
 * answer), so the operator sees real output for the first item before starting thousands; no
 * step with `writes` ever runs. Each step gets one attempt: a dry run reports, it does not persist.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { PipelinePlan } from '../common/types';
import type { DryRunResult, DryRunStep } from '../contract/preflight';
import { activityFor, conditionHolds } from './conditions';
import { describeFailure, stepActivity } from './item';

export interface DryRunInput {
  plan: PipelinePlan;
  itemKey: string;
  item: unknown;
  settings: unknown;
}

export async function dryRunWorkflow(input: DryRunInput): Promise<DryRunResult> {
  const { plan, itemKey, item, settings } = input;
  // Step activities see the dry run's workflow ID as their batch ID: nothing in the database has
  // it, so no stored item, predecessor or ledger is touched, and files land in a folder of their own.
  const batchId = workflowInfo().workflowId;
  const startedAt = Date.now();
  const outputs: Record<string, unknown> = {};
  const steps: DryRunStep[] = [];
  let stopped: string | null = null;
  let ok = true;
  for (const step of plan.steps) {
    if (stopped) {
      steps.push({ name: step.name, outcome: 'not-reached', reason: stopped });
      continue;
    }
    if (step.skipIf && conditionHolds(step.skipIf, { item, steps: outputs, settings })) {
      steps.push({ name: step.name, outcome: 'skipped', reason: `skipIf ${step.skipIf.path}` });
      continue;
    }
    if (step.writes) {
      steps.push({
        name: step.name,
        outcome: 'stopped-before-write',
        reason: `a dry run stops here: this step ${step.writes}`,
      });
      stopped = `after ${step.name}, which a dry run does not run`;
      continue;
    }
    const t0 = Date.now();
    try {
      const res = await stepActivity(step, activityFor(step, item), { maximumAttempts: 1 })({
        batchId,
        itemKey,
        step: step.name,
        item,
        settings,
        previous: outputs,
      });
      outputs[step.name] = res.output;
      steps.push({
        name: step.name,
        outcome: 'ran',
        durationMs: Date.now() - t0,
        output: res.output,
        ...(res.skipItem ? { reason: `the item would end here as skipped: ${res.skipItem}` } : {}),
      });
      if (res.skipItem) stopped = 'the item would be skipped';
    } catch (err) {
      const e = describeFailure(step, err);
      ok = false;
      steps.push({ name: step.name, outcome: 'failed', durationMs: Date.now() - t0, error: `${e.type}: ${e.message}` });
      stopped = `${step.name} failed`;
    }
  }
  return { pipeline: plan.pipeline, itemKey, ok, durationMs: Date.now() - startedAt, steps };
}
