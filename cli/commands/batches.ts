/** Batch commands: start, status (--watch), list, pause/resume/cancel, retry-failed. */
import path from 'node:path';
import { z } from 'zod';
import type { BatchProgress } from '../../common/types';
import { ApiError } from '../../contract/api-error';
import { ItemsFileError } from '../format';
import { BatchId, Concurrency, KeyList, Limit, SettingsJson } from '../args';
import { defineCommand, printJson, type Command, type CommandContext } from '../command';
import { batchSummary, batchTable } from '../format';
import { readItemsFile } from '../items-file';
import { ProgressView } from '../progress-view';
import { followProgress } from '../sse';
import type { BatchDetail, BatchList, CreatedBatch, RetryAccepted } from '../../contract/batch-views';

const TABS = ['in-progress', 'completed', 'failed'] as const;
const batchPath = (id: string, rest = '') => `/api/batches/${encodeURIComponent(id)}${rest}`;

/** Follows the batch's SSE stream to its end, drawing progress; prints a closing summary line. */
async function watch(ctx: CommandContext, id: string, total: number): Promise<BatchProgress> {
  const view = new ProgressView(ctx.out);
  // A batch whose workflow has not started yet reports a total of 0; the caller knows better.
  const withTotal = (p: BatchProgress) => (p.total ? p : { ...p, total });
  const final = await followProgress(ctx.api, id, (p) => view.update(withTotal(p)));
  view.finish(final);
  ctx.out.write(
    `${id} ${final.status}: ${final.succeeded} succeeded, ${final.failed} failed, ${final.skipped} skipped, ${final.cancelled} cancelled\n`,
  );
  return final;
}

const start = defineCommand({
  name: 'start',
  usage: 'start <pipeline> <file.csv|file.json> [--name NAME] [--settings JSON] [--concurrency N] [--watch]',
  summary: 'start a batch from a CSV (header row = fields) or a JSON array of items',
  positionals: ['pipeline', 'file'],
  options: {
    name: { type: 'string' },
    settings: { type: 'string' },
    concurrency: { type: 'string' },
    watch: { type: 'boolean', short: 'w' },
  },
  args: z.object({
    pipeline: z.string().min(1).max(100),
    file: z.string().min(1),
    name: z.string().trim().min(1).max(200).optional(),
    settings: SettingsJson.optional(),
    concurrency: Concurrency.optional(),
    watch: z.boolean().optional(),
  }),
  async run(a, ctx) {
    const file = readItemsFile(a.file, ctx.cwd);
    const body = {
      pipeline: a.pipeline,
      name: a.name ?? path.basename(a.file, path.extname(a.file)),
      items: file.items,
      ...(a.settings ? { settings: a.settings } : {}),
      ...(a.concurrency ? { concurrency: a.concurrency } : {}),
    };
    let created: CreatedBatch;
    try {
      created = await ctx.api.json('POST', '/api/batches', body);
    } catch (err) {
      // The API counts rows from 1 over the items; the operator thinks in lines of the file.
      if (err instanceof ApiError && file.format === 'csv') {
        throw new ItemsFileError(err, (row) =>
          file.lineOf(row) !== undefined ? `${path.basename(a.file)} line ${file.lineOf(row)}` : undefined,
        );
      }
      throw err;
    }
    if (ctx.json) printJson(ctx, created);
    else ctx.out.write(`started ${created.id} (${file.items.length} items, pipeline ${a.pipeline})\n`);
    if (a.watch) await watch(ctx, created.id, file.items.length);
    else if (!ctx.json) ctx.out.write(`follow it: flotilla status ${created.id} --watch\n`);
  },
});

const status = defineCommand({
  name: 'status',
  usage: 'status <batchId> [--watch]',
  summary: 'a batch and its progress; --watch follows it live until it ends',
  positionals: ['batchId'],
  options: { watch: { type: 'boolean', short: 'w' } },
  args: z.object({ batchId: BatchId, watch: z.boolean().optional() }),
  async run(a, ctx) {
    const batch = await ctx.api.json<BatchDetail>('GET', batchPath(a.batchId));
    if (!a.watch) {
      if (ctx.json) printJson(ctx, batch);
      else ctx.out.write(`${batchSummary(batch)}\n`);
      return;
    }
    ctx.out.write(`${batch.id}  "${batch.name}"  ${batch.pipeline}\n`);
    await watch(ctx, batch.id, batch.total);
  },
});

const list = defineCommand({
  name: 'list',
  usage:
    'list [--tab in-progress|completed|failed] [--pipeline NAME] [--status S,S] [--created-by WHO] [--limit N] [--cursor C]',
  summary: 'batch history, newest first',
  positionals: [],
  options: {
    tab: { type: 'string' },
    pipeline: { type: 'string' },
    status: { type: 'string' },
    'created-by': { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
  args: z.object({
    tab: z.enum(TABS).optional(),
    pipeline: z.string().min(1).optional(),
    status: z.string().min(1).optional(),
    'created-by': z.string().min(1).optional(),
    limit: Limit.optional(),
    cursor: z.string().min(1).optional(),
  }),
  async run(a, ctx) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({
      tab: a.tab,
      pipeline: a.pipeline,
      status: a.status,
      createdBy: a['created-by'],
      limit: a.limit,
      cursor: a.cursor,
    })) {
      if (v !== undefined) q.set(k, String(v));
    }
    const page = await ctx.api.json<BatchList>('GET', `/api/batches${q.size ? `?${q}` : ''}`);
    if (ctx.json) return void printJson(ctx, page);
    ctx.out.write(page.batches.length ? `${batchTable(page.batches)}\n` : 'no batches\n');
    if (page.nextCursor) ctx.err.write(`more: flotilla list --cursor ${page.nextCursor}\n`);
  },
});

const control = (action: 'pause' | 'resume' | 'cancel'): Command =>
  defineCommand({
    name: action,
    usage: `${action} <batchId>${action === 'resume' ? '' : ' [--reason TEXT]'}`,
    summary: {
      pause: 'pause a batch (running steps finish; no new ones start)',
      resume: 'resume a paused batch',
      cancel: 'cancel a batch (running steps are cancelled)',
    }[action],
    positionals: ['batchId'],
    options: action === 'resume' ? {} : { reason: { type: 'string' } },
    args: z.object({ batchId: BatchId, reason: z.string().min(1).max(500).optional() }),
    async run(a, ctx) {
      const res = await ctx.api.json('POST', batchPath(a.batchId, `/${action}`), a.reason ? { reason: a.reason } : {});
      if (ctx.json) printJson(ctx, res);
      else ctx.out.write(`${action} sent to ${a.batchId}\n`);
    },
  });

const retryFailed = defineCommand({
  name: 'retry-failed',
  usage: 'retry-failed <batchId> [--keys KEY,KEY]',
  summary: 'run failed items again from their failed step (all failed items unless --keys)',
  positionals: ['batchId'],
  options: { keys: { type: 'string' } },
  args: z.object({ batchId: BatchId, keys: KeyList.optional() }),
  async run(a, ctx) {
    const res = await ctx.api.json<RetryAccepted>(
      'POST',
      batchPath(a.batchId, '/retry-failed'),
      a.keys ? { keys: a.keys } : {},
    );
    if (ctx.json) printJson(ctx, res);
    else ctx.out.write(`retry round ${res.round} of ${a.batchId}: ${res.items} failed item(s) going again\n`);
  },
});

export const batchCommands: Command[] = [
  start,
  status,
  list,
  control('pause'),
  control('resume'),
  control('cancel'),
  retryFailed,
];
