/**
 * What a retry-failed request names, checked before a round is recorded: the keys it retries
 * (each a failed item of the batch) and the corrected inputs it brings (each valid for the
 * pipeline, for a failed item among those keys, and keeping the item's key). Every problem is
 * reported at once, as one 400.
 */
import type { Db } from '../lib/db';
import { formatPath, type FieldIssue } from '../lib/field-path';
import type { PipelineDefinition } from '../pipelines/types';
import type { RetryFailedBody } from '../contract/batches';
import { invalidInput } from './errors';

/** A failed item's corrected input, as JSON to store on its row. */
export interface EditedInput {
  key: string;
  input: string;
}

/** Adds an issue for every key that is not a failed item of the batch. */
async function checkKeys(db: Db, batchId: string, keys: string[], issues: FieldIssue[]): Promise<void> {
  const rows = await db.batchItem.findMany({
    where: { batchId, key: { in: keys } },
    select: { key: true, status: true },
  });
  const byKey = new Map(rows.map((r) => [r.key, r.status]));
  keys.forEach((k, i) => {
    const st = byKey.get(k);
    if (st === undefined) issues.push({ path: formatPath(['keys', i]), message: `no item "${k}" in batch ${batchId}` });
    else if (st !== 'failed')
      issues.push({ path: formatPath(['keys', i]), message: `item "${k}" is ${st}, not failed` });
  });
}

/** The corrected inputs that may be stored; an issue for every other one. */
async function checkInputs(
  db: Db,
  def: PipelineDefinition,
  batchId: string,
  body: RetryFailedBody,
  keys: string[] | undefined,
  issues: FieldIssue[],
): Promise<EditedInput[]> {
  const edited: EditedInput[] = [];
  for (const [key, raw] of Object.entries(body.inputs ?? {})) {
    if (keys && !keys.includes(key)) {
      issues.push({ path: formatPath(['inputs', key]), message: `item "${key}" is not among the keys retried` });
      continue;
    }
    const parsed = def.itemSchema.safeParse(raw);
    if (!parsed.success) {
      for (const iss of parsed.error.issues)
        issues.push({ path: formatPath(['inputs', key, ...iss.path]), message: iss.message });
      continue;
    }
    const row = await db.batchItem.findUnique({
      where: { batchId_key: { batchId, key } },
      select: { seq: true, status: true },
    });
    if (!row) issues.push({ path: formatPath(['inputs', key]), message: `no item "${key}" in batch ${batchId}` });
    else if (row.status !== 'failed')
      issues.push({ path: formatPath(['inputs', key]), message: `item "${key}" is ${row.status}, not failed` });
    else {
      const newKey = def.itemKey ? def.itemKey(parsed.data, row.seq - 1) : key;
      if (newKey !== key)
        issues.push({
          path: formatPath(['inputs', key]),
          message: `a corrected input must keep the item key "${key}" (it has "${newKey}")`,
        });
      else edited.push({ key, input: JSON.stringify(parsed.data) });
    }
  }
  return edited;
}

/** The keys retried (all failed items when absent) and the corrected inputs; throws every issue found. */
export async function checkRetryRequest(
  db: Db,
  def: PipelineDefinition,
  batchId: string,
  body: RetryFailedBody,
): Promise<{ keys: string[] | undefined; edited: EditedInput[] }> {
  const keys = body.keys ? [...new Set(body.keys)] : undefined;
  const issues: FieldIssue[] = [];
  if (keys) await checkKeys(db, batchId, keys, issues);
  const edited = await checkInputs(db, def, batchId, body, keys, issues);
  if (issues.length > 0) throw invalidInput(issues, `${issues[0].path}: ${issues[0].message}`);
  return { keys, edited };
}
