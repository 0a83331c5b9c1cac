/** `schedules list|trigger|pause|unpause <id>`: recurring batches (GET/POST /api/schedules…). */
import { z } from 'zod';
import { ScheduleId } from '../args';
import { defineCommand, printJson, type Command } from '../command';
import { table } from '../format';
import type { ScheduleList, ScheduleSummary } from '../../contract/schedules';

const when = (s: ScheduleSummary) =>
  [...(s.cron ?? []), ...(s.intervals ?? []).map((i) => `every ${i.every}${i.offset ? ` +${i.offset}` : ''}`)].join(
    '; ',
  ) + (s.timezone && s.timezone !== 'UTC' ? ` (${s.timezone})` : '');

export const schedulesCommand: Command = defineCommand({
  name: 'schedules',
  usage: 'schedules list | schedules trigger|pause|unpause <scheduleId> [--reason TEXT]',
  summary: 'list recurring batches, run one now, pause or unpause one',
  positionals: ['action', 'scheduleId'],
  options: { reason: { type: 'string' } },
  args: z
    .object({
      action: z.enum(['list', 'trigger', 'pause', 'unpause']),
      scheduleId: ScheduleId.optional(),
      reason: z.string().min(1).max(500).optional(),
    })
    .refine((a) => a.action === 'list' || a.scheduleId !== undefined, { path: ['scheduleId'], message: 'is required' }),
  async run(a, ctx) {
    if (a.action === 'list') {
      const res = await ctx.api.json<ScheduleList>('GET', '/api/schedules');
      if (ctx.json) return void printJson(ctx, res);
      if (res.schedules.length === 0) return void ctx.out.write('no schedules\n');
      const rows = res.schedules.map((s) => [
        s.id,
        s.paused ? 'paused' : 'active',
        when(s),
        s.nextRunTimes?.[0] ?? '',
        [s.templateId, s.pipeline].filter(Boolean).join(' / '),
      ]);
      ctx.out.write(`${table(['ID', 'STATE', 'WHEN', 'NEXT RUN', 'TEMPLATE / PIPELINE'], rows)}\n`);
      if (res.nextCursor) ctx.err.write(`more schedules after ${res.nextCursor}\n`);
      return;
    }
    const id = a.scheduleId!;
    const body = a.reason && a.action !== 'trigger' ? { reason: a.reason } : {};
    const res = await ctx.api.json('POST', `/api/schedules/${encodeURIComponent(id)}/${a.action}`, body);
    if (ctx.json) printJson(ctx, res);
    else
      ctx.out.write(
        `${a.action === 'trigger' ? 'triggered' : a.action === 'pause' ? 'paused' : 'unpaused'} schedule ${id}\n`,
      );
  },
});
