/**
 * dm-creative without the engine: the template and its escaping, the QR code, the browser pool
 * (real Debian Chromium: concurrency bound, page reuse, request blocking, JavaScript off, crash
 * relaunch), atomic files, the ZIP, the completion e-mail through the loopback SMTP mailbox, and
 * the step / batch-end handlers called with hand-built contexts.
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
import {
  escapeHtml,
  QR_OPTIONS,
  qrDataUrl,
  renderCreativeHtml,
  trackingUrlOf,
} from '../pipelines/dm-creative/template';
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

describe('template', () => {
  test('escapeHtml escapes every markup character', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\`</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
    );
    expect(escapeHtml(undefined)).toBe('');
  });

  test('every field reaches the HTML escaped; the only image is the QR data: URL', async () => {
    const r = recipient({
      name: HOSTILE,
      lastname: '"><script>alert(1)</script>',
      address: "1 O'Brien <b>St</b>",
      city: 'A&B',
      zip: '<z>',
      message: 'line <i>1</i>\nline 2\n\npara <iframe src=x>',
      phoneNumber: '+1 555 0100',
    });
    const s = dmCreativeSettingsSchema.parse({
      companyName: '<style>*{display:none}</style>ACME',
      industry: '<b>x</b>',
      brandVoice: 'formal',
    });
    const url = trackingUrlOf(s.trackingBaseUrl, r.trackingId);
    const html = renderCreativeHtml({ recipient: r, settings: s, trackingUrl: url, qrDataUrl: await qrDataUrl(url) });
    expect(html).toContain('&lt;img src=file:///etc/passwd&gt;');
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<iframe');
    expect(html).not.toContain('<i>');
    expect(html).toContain('&lt;style&gt;*{display:none}&lt;/style&gt;ACME');
    expect(html).toContain('line &lt;i&gt;1&lt;/i&gt;<br>line 2</p>');
    expect(html.match(/<img\b/g)).toHaveLength(1);
    expect(html).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" alt="QR code">/);
    // No tag carries a URL of its own (the hostile text above contains `src=file:` as text only).
    expect(html).not.toMatch(/<[^>]*\b(src|href)\s*=\s*["']?(https?:|file:)/);
    // A formal brand voice greets with the full name.
    expect(html).toContain(`Dear ${escapeHtml(r.name)} ${escapeHtml(r.lastname)},`);
  });

  test('the QR code must be one of ours', () => {
    const r = recipient();
    expect(() =>
      renderCreativeHtml({ recipient: r, settings, trackingUrl: 'x', qrDataUrl: 'http://evil.example/qr.png' }),
    ).toThrow(/data: URL/);
    expect(() =>
      renderCreativeHtml({
        recipient: r,
        settings,
        trackingUrl: 'x',
        qrDataUrl: 'data:image/png;base64,AAAA" onerror="x',
      }),
    ).toThrow();
  });

  test('tracking URL: one slash, id URL-encoded; the default base', () => {
    expect(trackingUrlOf('https://track.example.com/t/', 'SPR25-0001')).toBe('https://track.example.com/t/SPR25-0001');
    expect(trackingUrlOf('https://t.example.org/c', 'a b/c')).toBe('https://t.example.org/c/a%20b%2Fc');
    expect(dmCreativeSettingsSchema.parse({}).trackingBaseUrl).toBe('https://track.example.com/t/');
    expect(dmCreativeSettingsSchema.safeParse({ trackingBaseUrl: 'javascript:alert(1)' }).success).toBe(false);
  });

  test('the QR image encodes exactly the tracking URL', async () => {
    const url = trackingUrlOf(settings.trackingBaseUrl, 'SPR25-0007');
    const dataUrl = await qrDataUrl(url);
    const png = PNG.sync.read(Buffer.from(dataUrl.split(',')[1]!, 'base64'));
    const expected = QRCode.create(url, { errorCorrectionLevel: QR_OPTIONS.errorCorrectionLevel });
    const size = expected.modules.size;
    expect(png.width).toBe((size + 2 * QR_OPTIONS.margin) * QR_OPTIONS.scale);
    // Read the module grid back from the pixels (centre of each module: dark or light).
    const dark = (row: number, col: number) => {
      const x = (QR_OPTIONS.margin + col) * QR_OPTIONS.scale + QR_OPTIONS.scale / 2;
      const y = (QR_OPTIONS.margin + row) * QR_OPTIONS.scale + QR_OPTIONS.scale / 2;
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
    expect(demoRecipients).toHaveLength(25);
    for (const r of demoRecipients) expect(recipientItemSchema.safeParse(r).success).toBe(true);
    expect(new Set(demoRecipients.map((r) => r.trackingId)).size).toBe(25);
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
        renderRecipientPdf(pool, recipient({ trackingId: `BOUND-${i}`, name: `Person${i}` }), settings),
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
    const out = await renderRecipientPdf(pool, recipient({ name: HOSTILE, lastname: 'Smith' }), settings);
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
      );
      const { text } = await pdfText(out.pdf);
      expect(text).toContain(field);
      expect(out.blockedRequests).toEqual([]);
      expect(trap.hits).toEqual([]);
    } finally {
      await trap.close();
    }
  });

  test('even raw HTML cannot load http or file resources: the interceptor aborts and logs them', async () => {
    const trap = await startTrap();
    try {
      const base = `http://127.0.0.1:${trap.port}`;
      const html = `<!DOCTYPE html><html><head>
        <link rel="stylesheet" href="${base}/style.css">
        <style>@font-face { font-family: X; src: url(${base}/font.woff); } body { background: url(${base}/bg.png); font-family: X; }</style>
        </head><body><p>raw document</p>
        <img src="${base}/x.png"><img src="file:///etc/passwd"><iframe src="file:///etc/hostname"></iframe>
        <script src="${base}/x.js"></script></body></html>`;
      const out = await pool.render(html);
      expect(trap.hits).toEqual([]);
      // Every http resource was attempted and aborted by the interceptor...
      expect(out.blockedRequests).toEqual(
        expect.arrayContaining([`${base}/style.css`, `${base}/x.png`, `${base}/bg.png`]),
      );
      expect(out.blockedRequests.every((u) => u.startsWith(base))).toBe(true);
      expect(pool.stats().recentBlocked).toEqual(expect.arrayContaining([`${base}/x.png`]));
      // ...while file: URLs never even become requests (Chromium refuses local resources to an
      // about:blank document), and nothing of those files reached the PDF.
      const { text } = await pdfText(out.pdf);
      expect(text).toContain('raw document');
      expect(text).not.toMatch(/root:.*:0:0:/);
      expect(text).not.toContain(fs.readFileSync('/etc/hostname', 'utf8').trim());
    } finally {
      await trap.close();
    }
  });

  test('JavaScript does not run in the page', async () => {
    const out = await pool.render(
      '<!DOCTYPE html><p id="p">static text</p><script>document.getElementById("p").textContent = "SCRIPT RAN";</script>',
    );
    const { text } = await pdfText(out.pdf);
    expect(text).toContain('static text');
    expect(text).not.toContain('SCRIPT RAN');
  });

  test('a killed browser is relaunched by the next render', async () => {
    const own = new PdfRenderPool({ chromiumPath: CHROMIUM, concurrency: 2 });
    try {
      await own.render('<p>first</p>');
      const [pid] = own.browserPids();
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      const out = await own.render('<p>after the crash</p>');
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
      const first = own.render('<p>one</p>');
      const second = own.render('<p>two</p>', { signal: ac.signal });
      ac.abort(new Error('cancelled by test'));
      await expect(second).rejects.toThrow('cancelled by test');
      await expect(first).resolves.toMatchObject({ blockedRequests: [] });
    } finally {
      await own.close();
    }
    await expect(own.render('<p>x</p>')).rejects.toThrow(/closed/);
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
      settings: dmCreativeSettingsSchema.parse(s),
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
