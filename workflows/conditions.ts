/** Evaluates a step's declarative `skipIf` and item-type routing inside the workflow sandbox. */
import type { StepCondition, StepPlan } from '../common/types';

export function valueAt(root: Record<string, unknown>, path: string): unknown {
  let cur: unknown = root;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function conditionHolds(
  c: StepCondition,
  scope: { item: unknown; steps: Record<string, unknown>; settings?: unknown },
): boolean {
  const v = valueAt(scope as Record<string, unknown>, c.path);
  if (c.exists !== undefined && (v !== undefined && v !== null) !== c.exists) return false;
  if ('equals' in c && !same(v, c.equals)) return false;
  if ('notEquals' in c && same(v, c.notEquals)) return false;
  return true;
}

export function activityFor(step: StepPlan, item: unknown): string {
  const routing = step.activityByItemType;
  if (!routing) return step.activity;
  const v = valueAt({ item } as Record<string, unknown>, routing.path);
  return (typeof v === 'string' && routing.activities[v]) || step.activity;
}
