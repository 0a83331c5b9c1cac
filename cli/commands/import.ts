/**
 * `import`: a CSV or gzip CSV file of entities (a million recipients, say) sent to the API as it
 * is on disk, then followed until the import workflow has read it: rows counted, imported and
 * refused, the first refused rows with why, and where all of them can be downloaded.
 */
import path from 'node:path';
import { z } from 'zod';
import { defineCommand, printJson, type Command } from '../command';
import type { EntityImportView, ImportErrorsPage } from '../../contract/entity-imports';

const POLL_MS = 1_000;
/** How often a progress line is printed while the import runs. */
const SAY_EVERY_MS = 5_000;
const SHOWN_ERRORS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const n = (v: number) => v.toLocaleString('en-US');

export const importCommand: Command = defineCommand({
  name: 'import',
  usage: 'import <kind> <file.csv|file.csv.gz> [--no-wait]',
  summary: 'import a CSV (or gzip CSV) of entities of a kind into the stored ones (upserted by key)',
  positionals: ['kind', 'file'],
  options: { 'no-wait': { type: 'boolean' } },
  args: z.object({ kind: z.string().min(1).max(50), file: z.string().min(1), 'no-wait': z.boolean().optional() }),
  async run(a, ctx) {
    const file = path.resolve(ctx.cwd, a.file);
    const q = new URLSearchParams({ kind: a.kind, filename: path.basename(file) });
    let imp = await ctx.api.upload<EntityImportView>(`/api/entity-imports?${q}`, file);
    if (!ctx.json) ctx.out.write(`sent ${imp.fileName} as import ${imp.id}\n`);
    if (a['no-wait']) {
      if (ctx.json) printJson(ctx, imp);
      return;
    }
    for (let said = Date.now(); imp.status !== 'succeeded' && imp.status !== 'failed';) {
      await sleep(POLL_MS);
      imp = await ctx.api.json<EntityImportView>('GET', `/api/entity-imports/${imp.id}`);
      if (!ctx.json && Date.now() - said >= SAY_EVERY_MS) {
        said = Date.now();
        ctx.out.write(
          imp.totalRows === null ? `  counting rows…\n` : `  ${n(imp.rowsRead)} of ${n(imp.totalRows)} rows read\n`,
        );
      }
    }
    const errors =
      imp.rowsFailed > 0
        ? await ctx.api.json<ImportErrorsPage>('GET', `/api/entity-imports/${imp.id}/errors?limit=${SHOWN_ERRORS}`)
        : { errors: [] };
    if (ctx.json) {
      printJson(ctx, { ...imp, errors: errors.errors });
    } else {
      ctx.out.write(
        `import ${imp.id} ${imp.status}: ${n(imp.rowsImported)} imported, ${n(imp.rowsFailed)} refused${imp.totalRows !== null ? ` of ${n(imp.totalRows)} rows` : ''}\n`,
      );
      for (const e of errors.errors) ctx.out.write(`  row ${e.row}: ${e.column ?? e.field}: ${e.message}\n`);
      if (imp.rowsFailed > errors.errors.length)
        ctx.out.write(`  … every refused row: GET /api/entity-imports/${imp.id}/errors.csv\n`);
    }
    if (imp.status === 'failed') throw new Error(`the import failed: ${imp.error}`);
  },
});
