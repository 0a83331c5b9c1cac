/**
 * The stack with dm-creative reading creative templates from the stack's own database, as the
 * API and worker processes do (the built-in letter stored at start).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDmCreativePipeline, type DmCreativeDeps } from '../../pipelines/dm-creative';
import { closeSharedPdfRenderPools } from '../../pipelines/dm-creative/pdf-pool';
import {
  dbTemplateStore,
  ensureBuiltInTemplate,
  type CreativeTemplateStore,
} from '../../pipelines/dm-creative/template-store';
import type { PipelineDefinition } from '../../pipelines/types';
import { startStack } from './stack';

export async function startCreativeStack(opts: {
  name: string;
  webDir?: string;
  smtp?: DmCreativeDeps['smtp'];
  pdfRenderConcurrency?: number;
}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `flotilla-${opts.name}-`));
  const filesDir = path.join(tmp, 'files');
  // The pipeline is built before the stack's database exists, so it reads it once the stack is up.
  const held: { store?: CreativeTemplateStore } = {};
  const get = () => {
    if (!held.store) throw new Error('the creative stack is not started yet');
    return held.store;
  };
  const pipeline = createDmCreativePipeline({
    filesDir,
    appUrl: 'http://flotilla.test:3000',
    // No host: the batch-end e-mail is skipped (and the result says so).
    smtp: opts.smtp ?? { port: 587, secure: false, from: 'Flotilla <flotilla@localhost>' },
    chromiumPath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    pdfRenderConcurrency: opts.pdfRenderConcurrency ?? 1,
    creativeTemplates: { current: (org, id) => get().current(org, id), version: (v) => get().version(v) },
  });
  const stack = await startStack({
    name: opts.name,
    pipelines: [pipeline] as unknown as PipelineDefinition[],
    webDir: opts.webDir,
    filesDir,
    progressIntervalMs: 200,
  });
  held.store = dbTemplateStore(stack.db);
  await ensureBuiltInTemplate(stack.db);
  return {
    ...stack,
    filesDir,
    close: async () => {
      await stack.close();
      await closeSharedPdfRenderPools();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
