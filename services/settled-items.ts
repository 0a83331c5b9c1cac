/**
 * A batch's items as they settled (status, outputs, error, cost), read a page at a time in seq
 * order so any batch size costs constant memory: what a batch-end hook reads
 * (activities/batch-end.ts) and what an export writes (services/batch-export.ts).
 */
import type { Db } from '../lib/db';
import type { SettledItem } from '../pipelines/types';

type StepOutputs = Record<string, unknown>;

/** Step outputs by step name from a stored item's step results (succeeded steps only). */
export function outputsOf(steps: unknown): StepOutputs {
  const out: StepOutputs = {};
  for (const s of (Array.isArray(steps) ? steps : []) as Array<{ step: string; status: string; output?: unknown }>) {
    if (s.status === 'succeeded') out[s.step] = s.output ?? null;
  }
  return out;
}

const PAGE = 500;

/** Every item of a batch in seq order, a page at a time. */
export async function* batchItems(db: Db, batchId: string, filter?: { status?: string }): AsyncGenerator<SettledItem> {
  let after = 0;
  for (;;) {
    const rows = await db.batchItem.findMany({
      where: { batchId, seq: { gt: after }, ...(filter?.status ? { status: filter.status } : {}) },
      orderBy: { seq: 'asc' },
      take: PAGE,
      select: { seq: true, key: true, input: true, status: true, steps: true, error: true, costUsd: true },
    });
    for (const r of rows) {
      const e = r.error as { step?: string; type?: string; message?: string } | null;
      yield {
        itemKey: r.key,
        seq: r.seq,
        item: r.input,
        status: r.status,
        outputs: outputsOf(r.steps),
        error: e ? { step: e.step ?? '', type: e.type ?? 'Error', message: e.message ?? '' } : null,
        costUsd: r.costUsd,
      };
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1].seq;
  }
}
