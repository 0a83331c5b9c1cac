/**
 * dm-creative without the engine: the built-in letter filled for a recipient, the QR code, the
 * browser pool (real Debian Chromium: concurrency bound, page reuse, request blocking, script-like
 * text drawn as text, crash relaunch), atomic files, the ZIP, the completion e-mail through the
 * loopback SMTP mailbox, and the step / batch-end handlers called with hand-built contexts.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import QRCode from 'qrcode';
import { createMailer } from '../lib/mailer';
import {
  createDmCreativePipeline,
  dmCreativeSettingsSchema,
  messageIdOf,
  recipientItemSchema,
  RENDER_STEP,
  renderRecipientPdf,
  zipNameOf,
  type RecipientItemInput,
} from '../pipelines/dm-creative';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { completionEmail, percent } from '../pipelines/dm-creative/email';
import { safeFileName, writeFileAtomic } from '../pipelines/dm-creative/files';
import { CHROMIUM_ARGS, PdfRenderPool } from '../pipelines/dm-creative/pdf-pool';
import { creativeDocOf, QR_OPTIONS, trackingUrlOf } from '../pipelines/dm-creative/template';
import { BUILTIN } from '../pipelines/dm-creative/template-store';
import type { CreativeDoc } from '../pipelines/dm-creative/pdf-pool';
import type { BatchEndContext, SettledItem, StepContext } from '../pipelines/types';
import { startMailbox, type Mailbox } from '../sandbox/mailbox/server';
import { pdfText, readZip } from './support/pdf-zip';
import { stepContext } from './support/step-context';
// pngjs comes with qrcode (its PNG writer); here it reads the QR image back.
import { PNG } from 'pngjs';

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '<img src=file:///etc/passwd>';
const settings = dmCreativeSettingsSchema.parse({
  companyName: 'Northwind Home Services',
  industry: 'Home services',
  brandVoice: 'friendly',
});
const recipient = (over: Partial<RecipientItemInput> = {}) =>
  recipientItemSchema.parse({ ...demoRecipients[0], ...over });
const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

let pool: PdfRenderPool;
let tmp: string;

beforeAll(() => {
  pool = new PdfRenderPool({ chromiumPath: CHROMIUM, concurrency: 3 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-creative-unit-'));
});

afterAll(async () => {
  await pool?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A text object at the top left (Roboto). */
const text = (t: string) => ({
  type: 'Textbox',
  originX: 'left',
  originY: 'top',
  left: 10,
  top: 10,
  width: 500,
  fontSize: 14,
  fontFamily: 'Roboto',
  text: t,
});

/** A document of these objects for the pool, unchecked (as if the canvas check had been skipped). */
const docOf = (objects: object[]): CreativeDoc => ({
  canvas: { objects },
  width: 600,
  height: 400,
  faces: [{ family: 'Roboto', weight: 400, style: 'normal' }],
  text: 'Aa',
  page: { widthMm: 160, heightMm: 106 },
});

/** A loopback HTTP server that counts what reaches it. */
async function startTrap() {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('x');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    hits,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('creative: the built-in letter filled for a recipient', () => {
  test('hostile fields stay text in the canvas; placeholders, greeting and QR slot are filled', async () => {
    const r = recipient({
      name: HOSTILE,
      lastname: '"><script>alert(1)</script>',
      address: "1 O'Brien <b>St</b>",
      city: 'A&B',
      zip: '<z>',
      message: 'line <i>1</i>\nline 2\n\npara <iframe src=x>',
      phoneNumber: '+1 555 0100',
    });
    const s = dmCreativeSettingsSchema.parse({ companyName: '<style>*{}</style>ACME', brandVoice: 'formal' });
    const { doc, trackingUrl } = creativeDocOf(BUILTIN, r, s);
    const objects = doc.canvas.objects as Array<Record<string, unknown>>;
    const textOf = (name: string) => objects.find((o) => o.name === name)?.text;
    expect(textOf('address')).toBe(`${HOSTILE} "><script>alert(1)</script>\n1 O'Brien <b>St</b>\n<z> A&B`);
    expect(textOf('message')).toBe(r.message);
    expect(textOf('brand')).toBe('<style>*{}</style>ACME');
    // A formal brand voice greets with the full name; no placeholder is left.
    expect(textOf('greeting')).toBe(`Dear ${HOSTILE} "><script>alert(1)</script>,`);
    expect(JSON.stringify(doc.canvas)).not.toMatch(/\{\{/);
    // The QR slot became vector drawing where the slot was: its quiet zone and a path of modules.
    expect(objects.filter((o) => o.type === 'Image')).toEqual([]);
    expect(objects.find((o) => o.name === 'qr-quiet-zone')).toMatchObject({ left: 96, top: 873, width: 144 });
    expect(objects.find((o) => o.name === 'qr')).toMatchObject({ type: 'Path', fill: '#000000' });
    expect(trackingUrl).toBe(`https://track.example.com/t/${r.trackingId}`);
    expect(doc.faces).toEqual(
      expect.arrayContaining([
        { family: 'Arimo', weight: 400, style: 'normal' },
        { family: 'Arimo', weight: 700, style: 'normal' },
      ]),
    );
    expect(doc.page).toEqual({ widthMm: 210, heightMm: 297 });
  });

  test('tracking URL: one slash, id URL-encoded; the default base', () => {
    expect(trackingUrlOf('https://track.example.com/t/', 'SPR25-0001')).toBe('https://track.example.com/t/SPR25-0001');
    expect(trackingUrlOf('https://t.example.org/c', 'a b/c')).toBe('https://t.example.org/c/a%20b%2Fc');
    expect(dmCreativeSettingsSchema.parse({}).trackingBaseUrl).toBe('https://track.example.com/t/');
    expect(dmCreativeSettingsSchema.safeParse({ trackingBaseUrl: 'javascript:alert(1)' }).success).toBe(false);
  });

  test('the printed QR code encodes exactly the tracking URL', async () => {
    const url = trackingUrlOf(settings.trackingBaseUrl, 'SPR25-0007');
    const out = await renderRecipientPdf(pool, recipient({ trackingId: 'SPR25-0007' }), settings, BUILTIN, {
      output: 'png',
    });
    const png = PNG.sync.read(out.pdf);
    expect([png.width, png.height]).toEqual([794, 1123]);
    // Read the module grid back from the drawn pixels: the slot is 144 px square at (96, 873).
    const expected = QRCode.create(url, { errorCorrectionLevel: QR_OPTIONS.errorCorrectionLevel });
    const size = expected.modules.size;
    const module = 144 / (size + 2 * QR_OPTIONS.margin);
    const dark = (row: number, col: number) => {
      const x = Math.floor(96 + (QR_OPTIONS.margin + col + 0.5) * module);
      const y = Math.floor(873 + (QR_OPTIONS.margin + row + 0.5) * module);
      return png.data[(y * png.width + x) * 4]! < 128;
    };
    let mismatches = 0;
    for (let row = 0; row < size; row++)
      for (let col = 0; col < size; col++) if (dark(row, col) !== Boolean(expected.modules.get(row, col))) mismatches++;
    expect(mismatches).toBe(0);
    // ...and the data those modules carry is the URL (byte mode segment), not something else.
    expect(
      expected.segments
        .map((s) => Buffer.from((s as unknown as { data: Uint8Array | string }).data as string).toString())
        .join(''),
    ).toBe(url);
    const other = QRCode.create(trackingUrlOf(settings.trackingBaseUrl, 'SPR25-0008'), { errorCorrectionLevel: 'M' });
    let differs = 0;
    for (let row = 0; row < size; row++)
      for (let col = 0; col < size; col++) if (dark(row, col) !== Boolean(other.modules.get(row, col))) differs++;
    expect(differs).toBeGreaterThan(0);
  });

  test('item and settings schemas', () => {
    expect(recipientItemSchema.safeParse({ ...demoRecipients[0], trackingId: '../x' }).success).toBe(false);
    expect(recipientItemSchema.safeParse({ ...demoRecipients[0], name: HOSTILE }).success).toBe(true);
    expect(recipientItemSchema.safeParse({ ...demoRecipients[0], phoneNumber: 'call me' }).success).toBe(false);
    // Extra columns are kept for templates that print them; objects are not columns.
    expect(recipientItemSchema.parse({ ...demoRecipients[0], storeName: 'Elm St', floor: 3 })).toMatchObject({
      storeName: 'Elm St',
      floor: 3,
    });
    expect(recipientItemSchema.safeParse({ ...demoRecipients[0], extra: { a: 1 } }).success).toBe(false);
    expect(demoRecipients).toHaveLength(25);
    for (const r of demoRecipients) expect(recipientItemSchema.safeParse(r).success).toBe(true);
    expect(new Set(demoRecipients.map((r) => r.trackingId)).size).toBe(25);
    expect(dmCreativeSettingsSchema.parse({}).templateId).toBe('builtin-letter');
  });
});

describe('files', () => {
  test('safeFileName keeps plain keys and makes the rest safe and distinct', () => {
    expect(safeFileName('SPR25-0001')).toBe('SPR25-0001');
    for (const key of ['../../etc/passwd', '..', '.hidden', 'a/b', 'a b', 'a_b ', 'ünï cødé', '<img src=x>']) {
      const name = safeFileName(key);
      expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
      expect(name).not.toContain('..');
    }
    expect(safeFileName('a b')).not.toBe(safeFileName('a_b '));
  });

  test('writeFileAtomic leaves no temporary file and replaces whole files', async () => {
    const dest = path.join(tmp, 'atomic', 'f.bin');
    await writeFileAtomic(dest, Buffer.from('one'));
    await writeFileAtomic(dest, Buffer.from('two'));
    expect(fs.readFileSync(dest, 'utf8')).toBe('two');
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['f.bin']);
  });

  test('zip names', () => {
    expect(zipNameOf('Spring Campaign 2025')).toBe('spring-campaign-2025.zip');
    expect(zipNameOf('../..')).toBe('dm-creatives.zip');
  });
});

describe('PDF render pool (real Chromium)', () => {
  test('launch flags are the ones this machine needs', () => {
    expect([...CHROMIUM_ARGS]).toEqual([
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ]);
  });

  test('never more than N pages render at once; one page per slot, reused', async () => {
    const before = pool.stats();
    let maxActive = 0;
    let maxPages = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxActive = Math.max(maxActive, pool.stats().active);
        maxPages = Math.max(maxPages, await pool.openPages());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        renderRecipientPdf(pool, recipient({ trackingId: `BOUND-${i}`, name: `Person${i}` }), settings, BUILTIN),
      ),
    );
    sampling = false;
    await sampler;
    const after = pool.stats();
    expect(results.every((r) => r.pdf.subarray(0, 5).toString() === '%PDF-' && r.pages === 1)).toBe(true);
    expect(after.peakActive).toBe(3);
    expect(maxActive).toBeLessThanOrEqual(3);
    expect(after.renders - before.renders).toBe(15);
    // Pages are created once per slot and reused: Chromium itself never holds more than 3 (+ its initial blank tab).
    expect(after.pagesCreated).toBeLessThanOrEqual(3);
    expect(maxPages).toBeLessThanOrEqual(4);
    expect(after.launches).toBe(1);
    const { text } = await pdfText(results[4]!.pdf);
    expect(text).toContain('Person4');
  });

  test('a hostile name renders as literal text and makes no request', async () => {
    const before = pool.stats().blockedRequests;
    const out = await renderRecipientPdf(pool, recipient({ name: HOSTILE, lastname: 'Smith' }), settings, BUILTIN);
    const { text } = await pdfText(out.pdf);
    expect(text).toContain(HOSTILE);
    expect(text).not.toMatch(/root:.*:0:0:/);
    expect(out.blockedRequests).toEqual([]);
    expect(pool.stats().blockedRequests).toBe(before);
  });

  test('markup in a field fetches nothing: zero requests reach a local HTTP server', async () => {
    const trap = await startTrap();
    try {
      const field = `<img src="http://127.0.0.1:${trap.port}/x">`;
      const out = await renderRecipientPdf(
        pool,
        recipient({
          message: `Hello ${field}`,
          address: `<link rel=stylesheet href="http://127.0.0.1:${trap.port}/css">`,
        }),
        settings,
        BUILTIN,
      );
      const { text } = await pdfText(out.pdf);
      expect(text).toContain(field);
      expect(out.blockedRequests).toEqual([]);
      expect(trap.hits).toEqual([]);
    } finally {
      await trap.close();
    }
  });

  test('even a canvas that skipped the check cannot load http or file resources: the interceptor aborts them', async () => {
    const trap = await startTrap();
    try {
      const base = `http://127.0.0.1:${trap.port}`;
      const out = await pool
        .render(
          docOf([
            text('raw canvas'),
            {
              type: 'Image',
              originX: 'left',
              originY: 'top',
              left: 10,
              top: 60,
              width: 20,
              height: 20,
              src: `${base}/x.png`,
            },
            {
              type: 'Image',
              originX: 'left',
              originY: 'top',
              left: 40,
              top: 60,
              width: 20,
              height: 20,
              src: 'file:///etc/passwd',
            },
            {
              type: 'Rect',
              left: 0,
              top: 0,
              width: 50,
              height: 50,
              fill: { type: 'pattern', source: `${base}/pattern.png` },
            },
          ]),
        )
        .catch((err: Error) => err);
      // The page's Content-Security-Policy refuses such images before they become requests (what
      // would get past it, the interceptor aborts); Fabric then gives up on the canvas with a
      // bounded render error or draws it without them. Either way nothing left the page.
      expect(trap.hits).toEqual([]);
      expect(pool.stats().active).toBe(0);
      if (!(out instanceof Error)) {
        const { text: t } = await pdfText(out.pdf);
        expect(t).not.toMatch(/root:.*:0:0:/);
      }
    } finally {
      await trap.close();
    }
  });

  test('script-like text is drawn as text and runs nothing', async () => {
    const payload = '<script>document.body.textContent = "SCRIPT RAN"</script><img src=x onerror="document.title=1">';
    const out = await pool.render(docOf([text(payload)]));
    const printed = (await pdfText(out.pdf)).text.replace(/\s+/g, ' ');
    expect(printed).toContain(payload);
    // Had the script run, the page would hold its words alone instead of the drawing.
    expect(printed.replace(payload, '')).not.toContain('SCRIPT RAN');
    expect(out.blockedRequests).toEqual([]);
  });

  test('a drawing past its time is a bounded render error; the slot draws again afterwards', async () => {
    const own = new PdfRenderPool({ chromiumPath: CHROMIUM, concurrency: 1, renderTimeoutMs: 15_000 });
    try {
      await own.render(docOf([text('warm')]));
      const heavy = docOf(Array.from({ length: 2_000 }, (_, i) => ({ ...text('word '.repeat(400)), top: i % 300 })));
      const started = Date.now();
      await expect(own.render(heavy, { timeoutMs: 300 })).rejects.toThrow(/did not render within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
      const out = await own.render(docOf([text('after the timeout')]));
      expect((await pdfText(out.pdf)).text).toContain('after the timeout');
      expect(own.stats()).toMatchObject({ failedRenders: 1, active: 0 });
    } finally {
      await own.close();
    }
  });

  test('a killed browser is relaunched by the next render', async () => {
    const own = new PdfRenderPool({ chromiumPath: CHROMIUM, concurrency: 2 });
    try {
      await own.render(docOf([text('first')]));
      const [pid] = own.browserPids();
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      const out = await own.render(docOf([text('after the crash')]));
      expect(out.launchedBrowser).toBe(true);
      expect((await pdfText(out.pdf)).text).toContain('after the crash');
      expect(own.stats()).toMatchObject({ launches: 2, crashes: 1 });
      expect(own.browserPids()[0]).not.toBe(pid);
    } finally {
      await own.close();
    }
    expect(own.browserPids()).toEqual([]);
  });

  test('a render waiting for a slot can be aborted; a closed pool refuses work', async () => {
    const own = new PdfRenderPool({ chromiumPath: CHROMIUM, concurrency: 1 });
    try {
      const ac = new AbortController();
      const first = own.render(docOf([text('one')]));
      const second = own.render(docOf([text('two')]), { signal: ac.signal });
      ac.abort(new Error('cancelled by test'));
      await expect(second).rejects.toThrow('cancelled by test');
      await expect(first).resolves.toMatchObject({ blockedRequests: [] });
    } finally {
      await own.close();
    }
    await expect(own.render(docOf([text('x')]))).rejects.toThrow(/closed/);
  });
});

describe('completion e-mail text', () => {
  test('counts, percentages and links as in the brief', () => {
    const mail = completionEmail({
      batchId: 'batch-1',
      batchName: 'Summer Campaign 2025',
      status: 'completed_with_errors',
      counts: { total: 5000, succeeded: 4998, failed: 2, skipped: 0, cancelled: 0, costUsd: 0 },
      appUrl: 'https://app.example.com/',
      zip: { name: 'summer-campaign-2025.zip', bytes: 245 * 1024 * 1024, entries: 4998 },
      signature: 'Northwind',
    });
    expect(mail.subject).toBe('✅ Your batch of 5,000 DMs is ready!');
    expect(mail.text).toContain('- Total: 5,000 recipients');
    expect(mail.text).toContain('- Success: 4,998 (99.96%)');
    expect(mail.text).toContain('- Failed: 2 (0.04%)');
    expect(mail.text).toContain(
      'Download ZIP (245 MB, 4,998 PDFs): https://app.example.com/api/batches/batch-1/files/summer-campaign-2025.zip',
    );
    expect(mail.text).toContain('https://app.example.com/batches/batch-1');
    expect(percent(1, 3)).toBe('33.33%');
    expect(percent(8, 8)).toBe('100%');
    const failed = completionEmail({
      batchId: 'b',
      batchName: 'X',
      status: 'failed',
      counts: { total: 10, succeeded: 2, failed: 5, skipped: 0, cancelled: 3, costUsd: 0 },
      appUrl: 'http://a',
      signature: 'S',
    });
    expect(failed.subject).toBe('❌ Batch job failed: X');
    expect(failed.text).toContain('- Processed: 7 / 10 (70%)');
  });
});

describe('step and batch-end handlers with hand-built contexts', () => {
  let mailbox: Mailbox;
  beforeAll(async () => {
    mailbox = await startMailbox({ port: 0 });
  });
  afterAll(async () => {
    await mailbox?.close();
  });

  const smtpFor = (mb: Mailbox) => ({
    host: '127.0.0.1',
    port: mb.port,
    secure: false,
    user: 'any-user',
    password: 'any-password',
    from: 'Flotilla <flotilla@localhost>',
  });

  function stepCtx(batchId: string, item: RecipientItemInput, s: Record<string, unknown>): StepContext<any, any> {
    return stepContext({
      batchId,
      itemKey: item.trackingId,
      item: recipientItemSchema.parse(item),
      settings: dmCreativeSettingsSchema.parse({ ...s, templateVersion: BUILTIN.versionId }),
      step: RENDER_STEP,
    }).ctx;
  }

  function endCtx(batchId: string, items: SettledItem[], s: Record<string, unknown>, round = 1): BatchEndContext<any> {
    const succeeded = items.filter((i) => i.status === 'succeeded').length;
    return {
      batchId,
      batchName: 'Spring Campaign 2025',
      pipeline: 'dm-creative',
      status: succeeded === items.length ? 'completed' : 'completed_with_errors',
      settings: dmCreativeSettingsSchema.parse(s),
      counts: {
        total: items.length,
        succeeded,
        failed: items.length - succeeded,
        skipped: 0,
        cancelled: 0,
        costUsd: 0,
      },
      items: async function* (filter) {
        for (const i of items) if (!filter?.status || i.status === filter.status) yield i;
      },
      idempotencyKey: `${batchId}/__batch-end/${round}`,
      signal: new AbortController().signal,
      heartbeat: () => undefined,
      log: silentLog,
    };
  }

  test('render-pdf writes <filesDir>/<batchId>/<key>.pdf atomically; a retry reuses it; the hook zips and e-mails once', async () => {
    const filesDir = path.join(tmp, 'files');
    const p = createDmCreativePipeline({
      filesDir,
      appUrl: 'http://app.test:3000',
      smtp: smtpFor(mailbox),
      chromiumPath: CHROMIUM,
      pdfRenderConcurrency: 3,
      renderPool: pool,
    });
    expect(p).toMatchObject({
      name: 'dm-creative',
      entityKind: 'recipient',
      itemNoun: 'recipient',
      queues: { render: { concurrency: 3, env: 'PDF_RENDER_CONCURRENCY' } },
    });
    expect(p.steps[0]).toMatchObject({ name: RENDER_STEP, queue: 'render' });
    expect(p.demoItems!()).toHaveLength(25);

    const batchId = 'batch-unit-0001';
    const s = { companyName: 'Northwind Home Services', notifyEmail: 'owner@example.com' };
    const recipients = demoRecipients.slice(0, 4);
    const outputs = await Promise.all(
      recipients.map((r) => p.steps[0]!.run(stepCtx(batchId, r, s)) as Promise<Record<string, unknown>>),
    );
    for (const [i, r] of recipients.entries()) {
      expect(outputs[i]).toMatchObject({
        file: `${r.trackingId}.pdf`,
        pages: 1,
        trackingUrl: `https://track.example.com/t/${r.trackingId}`,
      });
      const pdf = fs.readFileSync(path.join(filesDir, batchId, `${r.trackingId}.pdf`));
      expect(pdf.length).toBe(outputs[i]!.bytes);
      expect((await pdfText(pdf)).text).toContain(`${r.name} ${r.lastname}`);
    }
    expect(fs.readdirSync(path.join(filesDir, batchId)).sort()).toEqual(
      recipients.map((r) => `${r.trackingId}.pdf`).sort(),
    );
    const again = await p.steps[0]!.run(stepCtx(batchId, recipients[0]!, s));
    expect(again).toMatchObject({ file: outputs[0]!.file, bytes: outputs[0]!.bytes, reused: true });

    const settled: SettledItem[] = recipients.map((r, i) => ({
      itemKey: r.trackingId,
      seq: i + 1,
      item: r,
      status: 'succeeded',
      outputs: { [RENDER_STEP]: outputs[i] },
      error: null,
      costUsd: 0,
    }));
    settled.push({
      itemKey: 'FAILED-1',
      seq: 5,
      item: {},
      status: 'failed',
      outputs: {},
      error: { step: RENDER_STEP, type: 'Error', message: 'x' },
      costUsd: 0,
    });
    const ctx = endCtx(batchId, settled, s);
    const result = (await p.onBatchEnd!.run(ctx)) as any;
    const zipPath = path.join(filesDir, batchId, 'spring-campaign-2025.zip');
    expect(result.files).toEqual([
      { name: 'spring-campaign-2025.zip', bytes: fs.statSync(zipPath).size, contentType: 'application/zip' },
    ]);
    const entries = await readZip(zipPath);
    expect(entries.map((e) => e.name).sort()).toEqual(recipients.map((r) => `${r.trackingId}.pdf`).sort());
    for (const e of entries) expect(e.data.equals(fs.readFileSync(path.join(filesDir, batchId, e.name)))).toBe(true);

    const expectedId = messageIdOf(ctx.idempotencyKey, 'Flotilla <flotilla@localhost>');
    expect(result.email).toEqual({ sent: true, to: 'owner@example.com', messageId: expectedId });
    const mail = await mailbox.waitFor((m) => m.messageId === expectedId, 10_000);
    expect(mail.to).toEqual(['owner@example.com']);
    expect(mail.authUser).toBe('any-user');
    expect(mail.subject).toBe('✅ Your batch of 5 DMs is ready!');
    expect(mail.text).toContain('- Success: 4 (80%)');
    expect(mail.text).toContain('- Failed: 1 (20%)');
    expect(mail.text).toContain(`http://app.test:3000/api/batches/${batchId}/files/spring-campaign-2025.zip`);
    expect(mail.text).toContain(`http://app.test:3000/batches/${batchId}`);
    expect(mail.headers['x-flotilla-idempotency-key']).toBe(ctx.idempotencyKey);

    // A retried hook (same idempotency key) rebuilds the same ZIP but does not e-mail again.
    const retried = (await p.onBatchEnd!.run(endCtx(batchId, settled, s))) as any;
    expect(retried.email).toMatchObject({ sent: true, alreadySent: true, messageId: expectedId });
    expect(retried.files).toEqual(result.files);
    await new Promise((r) => setTimeout(r, 200));
    expect(mailbox.messages.filter((m) => m.messageId === expectedId)).toHaveLength(1);
    expect(fs.readdirSync(path.join(filesDir, batchId)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    expect(p.exportColumns!(settled[0]!)).toMatchObject({ pdf_file: `${recipients[0]!.trackingId}.pdf`, pdf_pages: 1 });
    expect(p.exportColumns!(settled[4]!)).toMatchObject({ pdf_file: null });
  });

  test('no notifyEmail or no SMTP host: the ZIP is built, no e-mail, and the result says why', async () => {
    const filesDir = path.join(tmp, 'files-noemail');
    const base = {
      filesDir,
      appUrl: 'http://app.test',
      chromiumPath: CHROMIUM,
      pdfRenderConcurrency: 3,
      renderPool: pool,
    };
    const count = mailbox.messages.length;
    const noHost = createDmCreativePipeline({ ...base, smtp: { port: 25, secure: false, from: 'x@localhost' } });
    const r1 = (await noHost.onBatchEnd!.run(
      endCtx('batch-unit-0002', [], { notifyEmail: 'owner@example.com' }),
    )) as any;
    expect(r1.email).toEqual({
      sent: false,
      to: 'owner@example.com',
      messageId: null,
      skipped: expect.stringMatching(/SMTP is not configured/),
    });
    expect(r1.files[0]).toMatchObject({ name: 'spring-campaign-2025.zip', contentType: 'application/zip' });
    expect(await readZip(path.join(filesDir, 'batch-unit-0002', 'spring-campaign-2025.zip'))).toEqual([]);
    const noTo = createDmCreativePipeline({ ...base, smtp: smtpFor(mailbox) });
    const r2 = (await noTo.onBatchEnd!.run(endCtx('batch-unit-0003', [], {}))) as any;
    expect(r2.email).toMatchObject({ sent: false, to: null, skipped: expect.stringMatching(/notifyEmail/) });
    expect(mailbox.messages.length).toBe(count);
  });

  test('mailer and mailbox: no auth works too; a wrong address is refused before SMTP', async () => {
    const mailer = createMailer({
      host: '127.0.0.1',
      port: mailbox.port,
      secure: false,
      from: 'Tests <tests@localhost>',
    });
    try {
      const sent = await mailer.send({
        to: 'a@example.com',
        subject: 'hello',
        text: 'body',
        messageId: '<t1@localhost>',
      });
      expect(sent.accepted).toEqual(['a@example.com']);
      const got = await mailbox.waitFor((m) => m.messageId === '<t1@localhost>');
      expect(got).toMatchObject({
        subject: 'hello',
        to: ['a@example.com'],
        authUser: undefined,
        envelope: { from: 'tests@localhost', to: ['a@example.com'] },
      });
      expect(got.text.trim()).toBe('body');
      await expect(mailer.send({ to: 'not an address', subject: 's', text: 't' })).rejects.toThrow();
      await expect(mailbox.waitFor((m) => m.subject === 'never', 100)).rejects.toThrow(/no matching message/);
    } finally {
      mailer.close();
    }
  });
});
