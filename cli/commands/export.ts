/**
 * `export`: a batch's results streamed from the API straight to a file or stdout, so an export
 * of any size passes through in constant memory. A failed download leaves no partial file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { BatchId } from '../args';
import { defineCommand, type Command } from '../command';

export const exportCommand: Command = defineCommand({
  name: 'export',
  usage: 'export <batchId> [--format csv|json] [--out FILE]',
  summary: "a batch's results, each row joined to its input (stdout unless --out)",
  positionals: ['batchId'],
  options: { format: { type: 'string' }, out: { type: 'string', short: 'o' } },
  args: z.object({
    batchId: BatchId,
    format: z.enum(['csv', 'json']).default('csv'),
    out: z.string().min(1).optional(),
  }),
  async run(a, ctx) {
    const res = await ctx.api.stream(`/api/batches/${encodeURIComponent(a.batchId)}/export?format=${a.format}`);
    if (!res.body) throw new Error('the API sent no export body');
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    if (!a.out) {
      // Not ending stdout: the process may still have things to say.
      await pipeline(body, stdoutOf(ctx.out), { end: false });
      return;
    }
    const out = path.resolve(ctx.cwd, a.out);
    const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.part`);
    try {
      await pipeline(body, fs.createWriteStream(tmp));
      fs.renameSync(tmp, out);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    ctx.out.write(`exported ${a.batchId} (${a.format}, ${fs.statSync(out).size} bytes) to ${a.out}\n`);
  },
});

function stdoutOf(t: { write(chunk: string): unknown }): Writable {
  if (t instanceof Writable) return t;
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      t.write(chunk.toString('utf8'));
      cb();
    },
  });
}
