/**
 * `npm run bench:pdf`: dm-creative's render step with the browser pool against launching a
 * browser per recipient, on this machine's Debian Chromium.
 *
 *   npm run bench:pdf                                   # 1000 recipients pooled, 100 per-browser
 *   npm run bench:pdf -- --items 200 --per-browser-items 20 --concurrency 4 --out FILE
 *   npm run bench:pdf -- --template test/fixtures/creative/postcard-fabric6.json
 *
 * Both modes run the pipeline's real `render-pdf` handler (schema, template filled, QR code,
 * Fabric drawing in Chromium, atomic write) with `concurrency` recipients in flight; they differ
 * only in the pool: one shared pool of `concurrency` pages, or a fresh one-page pool (= a browser
 * launch and close) per recipient. The per-browser mode renders a sample and its rate is
 * extrapolated to all items (the JSON says so). With `--template` (a creative template as POST
 * /api/creative-templates takes it) the pooled run is done twice, with the built-in letter and
 * with that template, and the per-browser run uses the template. Memory is sampled every 200 ms
 * from /proc: this process plus every
 * descendant (Chromium's browser, zygote, renderer and utility processes), as the sum of RSS
 * (what the brief asks; counts shared pages once per process) and the sum of PSS (shared pages
 * divided among their sharers; closer to what the machine really spends).
 */
import { execFileSync } from 'node:child_process';
import { TreeMemorySampler } from './proc-memory';
import { latencySummary, machineInfo, runConcurrently } from './util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { env } from '../lib/env';
import {
  createDmCreativePipeline,
  dmCreativeSettingsSchema,
  recipientItemSchema,
  type RecipientItem,
} from '../pipelines/dm-creative';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { PdfRenderPool } from '../pipelines/dm-creative/pdf-pool';
import { checkCanvas } from '../pipelines/dm-creative/creative/canvas-check';
import { designSizeOf } from '../pipelines/dm-creative/creative/page-sizes';
import type { TemplateContent } from '../pipelines/dm-creative/template';
import { BUILTIN, memoryTemplateStore, versionIdOf } from '../pipelines/dm-creative/template-store';
import { CreativeTemplateBody } from '../contract/creative-templates';
import type { StepContext } from '../pipelines/types';
import { stepContext } from '../test/support/step-context';

interface Options {
  items: number;
  perBrowserItems: number;
  concurrency: number;
  out?: string;
  /** A creative template file to draw instead of (and compare with) the built-in letter. */
  template?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { items: 1_000, perBrowserItems: 100, concurrency: 4 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--items') o.items = Number(next());
    else if (a === '--per-browser-items') o.perBrowserItems = Number(next());
    else if (a === '--concurrency') o.concurrency = Number(next());
    else if (a === '--out') o.out = next();
    else if (a === '--template') o.template = next();
    else throw new Error(`unknown option ${a}`);
  }
  for (const [k, v] of Object.entries({
    items: o.items,
    perBrowserItems: o.perBrowserItems,
    concurrency: o.concurrency,
  })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  }
  o.perBrowserItems = Math.min(o.perBrowserItems, o.items);
  return o;
}

const say = (msg: string) => process.stderr.write(`[bench:pdf ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// Runs

const settings = dmCreativeSettingsSchema.parse({
  companyName: 'Northwind Home Services',
  industry: 'Home services',
  brandVoice: 'friendly',
});

function recipients(n: number, prefix: string): RecipientItem[] {
  return Array.from({ length: n }, (_, i) =>
    recipientItemSchema.parse({
      ...demoRecipients[i % demoRecipients.length],
      trackingId: `${prefix}-${String(i + 1).padStart(6, '0')}`,
    }),
  );
}

function stepCtx(
  batchId: string,
  item: RecipientItem,
  t: TemplateContent,
): StepContext<RecipientItem, typeof settings> {
  const s = { ...settings, templateId: t.templateId, templateVersion: t.versionId };
  return stepContext({ batchId, itemKey: item.trackingId, item, settings: s, step: 'render-pdf' }).ctx;
}

/** The template file, checked as the API would check it. */
function templateOf(file: string): TemplateContent {
  const body = CreativeTemplateBody.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  const check = checkCanvas(body.canvas, designSizeOf(body.canvas, body.page));
  if (check.issues.length) throw new Error(`${file}: ${check.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const templateId = 'bench-template';
  return {
    versionId: versionIdOf(templateId, body.page, body.canvas),
    templateId,
    name: body.name,
    page: body.page,
    canvas: body.canvas,
  };
}

/** Runs `items` through `render` with `concurrency` in flight; latency per item and the wall time. */
async function drive(
  items: RecipientItem[],
  concurrency: number,
  render: (item: RecipientItem) => Promise<{ bytes: number }>,
  onProgress?: (done: number) => void,
) {
  let bytes = 0;
  const { latencies, seconds } = await runConcurrently(
    items,
    concurrency,
    async (item) => {
      bytes += (await render(item)).bytes;
    },
    (n) => {
      onProgress?.(n);
      if (n % 100 === 0) say(`  ${n}/${items.length}`);
    },
  );
  return {
    seconds: Number(seconds.toFixed(2)),
    pdfsPerSecond: Number((items.length / seconds).toFixed(2)),
    latencyMs: latencySummary(latencies),
    avgPdfBytes: Math.round(bytes / items.length),
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const chromiumPath = env.CHROMIUM_PATH;
  const filesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-pdf-'));
  const base = {
    filesDir,
    appUrl: 'http://127.0.0.1',
    smtp: { port: 25, secure: false, from: 'bench@localhost' },
    chromiumPath,
    pdfRenderConcurrency: o.concurrency,
  };
  const chromiumVersion = execFileSync(chromiumPath, ['--version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  say(
    `${chromiumVersion}; ${os.cpus().length} CPUs; pooled ${o.items}, per-browser ${o.perBrowserItems}, concurrency ${o.concurrency}`,
  );

  const template = o.template ? templateOf(o.template) : BUILTIN;
  const creativeTemplates = memoryTemplateStore([template]);

  /** The pool: browsers launched once, one page per slot, reused. Peak memory after a fifth of the items, too. */
  const pooledRun = async (t: TemplateContent, prefix: string) => {
    say(`pooled (${t.name}): ${o.items} recipients`);
    const pool = new PdfRenderPool({ chromiumPath, concurrency: o.concurrency });
    const step = createDmCreativePipeline({ ...base, creativeTemplates, renderPool: pool }).steps[0]!;
    const mem = new TreeMemorySampler().start();
    let early = 0;
    const run = await drive(
      recipients(o.items, prefix),
      o.concurrency,
      async (item) => (await step.run(stepCtx(`batch-bench-${prefix}`, item, t))) as { bytes: number },
      (n) => {
        if (n === Math.ceil(o.items / 5)) early = mem.peakPssKb;
      },
    );
    const stats = pool.stats();
    await pool.close();
    const m = mem.stop();
    say(`pooled (${t.name}): ${run.pdfsPerSecond} PDFs/s, peak RSS ${m.peakRssMb} MB (PSS ${m.peakPssMb} MB)`);
    return {
      template: t.name,
      items: o.items,
      ...run,
      ...m,
      peakPssMbAfterFifth: Math.round(early / 1024),
      launches: stats.launches,
      pagesCreated: stats.pagesCreated,
      blockedRequests: stats.blockedRequests,
    };
  };

  try {
    // 1. The pool, with the built-in letter (and the template, when one is given).
    const pooledBuiltIn = o.template ? await pooledRun(BUILTIN, 'BUILTIN') : undefined;
    const pooled = await pooledRun(template, 'POOL');

    // 2. A browser per recipient: a one-page pool launched and closed around each render.
    say(`per-browser (${template.name}): ${o.perBrowserItems} recipients`);
    const mem = new TreeMemorySampler().start();
    let launches = 0;
    const perBrowser = await drive(recipients(o.perBrowserItems, 'EACH'), o.concurrency, async (item) => {
      const own = new PdfRenderPool({ chromiumPath, concurrency: 1 });
      try {
        const step = createDmCreativePipeline({ ...base, creativeTemplates, renderPool: own }).steps[0]!;
        return (await step.run(stepCtx('batch-bench-each', item, template))) as { bytes: number };
      } finally {
        launches += own.stats().launches;
        await own.close();
      }
    });
    const perBrowserMem = mem.stop();
    say(
      `per-browser: ${perBrowser.pdfsPerSecond} PDFs/s, peak RSS ${perBrowserMem.peakRssMb} MB (PSS ${perBrowserMem.peakPssMb} MB)`,
    );

    const ratio = Number((pooled.pdfsPerSecond / perBrowser.pdfsPerSecond).toFixed(1));
    const date = new Date().toISOString().slice(0, 10);
    const result = {
      benchmark: 'dm-creative render-pdf: browser pool vs a browser per recipient',
      date: new Date().toISOString(),
      machine: { ...machineInfo(), chromium: chromiumVersion },
      options: o,
      pooled,
      ...(pooledBuiltIn
        ? {
            pooledBuiltIn,
            templateVsBuiltIn: Number((pooled.pdfsPerSecond / pooledBuiltIn.pdfsPerSecond).toFixed(2)),
          }
        : {}),
      perBrowser: {
        items: o.perBrowserItems,
        ...perBrowser,
        ...perBrowserMem,
        launches,
        extrapolated: o.perBrowserItems < o.items,
        estimatedSecondsForAllItems: Number((o.items / perBrowser.pdfsPerSecond).toFixed(1)),
        note:
          o.perBrowserItems < o.items
            ? `measured on ${o.perBrowserItems} of the ${o.items} recipients; the time for all of them is extrapolated from that rate`
            : 'measured on all recipients',
      },
      ratio,
      memoryNote:
        'peak over 200 ms samples of this process + all its descendants (Chromium processes); RSS summed per process (shared pages counted repeatedly), PSS shares them out',
    };
    const out = o.out ?? path.join('bench-results', `${date}-pdf${o.template ? '-template' : ''}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    say(
      `pool ${pooled.pdfsPerSecond} PDFs/s vs per-browser ${perBrowser.pdfsPerSecond} PDFs/s: ${ratio}x; written to ${out}`,
    );
  } finally {
    fs.rmSync(filesDir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:pdf failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
