/**
 * dm-creative through the whole engine: the HTTP API starts a batch of 8 recipients, the real
 * worker renders each PDF on the pipeline's `render` queue with the process's shared Chromium
 * pool, the batch-end hook zips the PDFs and e-mails the owner over real SMTP to the loopback
 * mailbox stand-in, and the API serves the ZIP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itemTaskQueueOf, pipelineQueueOf } from '../common/constants';
import { createDmCreativePipeline, type RecipientItemInput } from '../pipelines/dm-creative';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { closeSharedPdfRenderPools, sharedPdfRenderPool } from '../pipelines/dm-creative/pdf-pool';
import type { PipelineDefinition } from '../pipelines/types';
import { startMailbox, type Mailbox } from '../sandbox/mailbox/server';
import { waitFor } from './support/api';
import { pdfTexts, readZip } from './support/pdf-zip';
import { recordHistory } from './support/histories';
import { startStack } from './support/stack';

const CHROMIUM = '/usr/bin/chromium';
const CONCURRENCY = 2;
const APP_URL = 'http://flotilla.test:3000';
const HOSTILE = '<img src=file:///etc/passwd>';

let stack: Awaited<ReturnType<typeof startStack>>;
let mailbox: Mailbox;
let filesDir: string;

beforeAll(async () => {
  filesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-creative-e2e-'));
  mailbox = await startMailbox({ port: 0, host: '127.0.0.1' });
  const pipeline = createDmCreativePipeline({
    filesDir,
    appUrl: APP_URL,
    smtp: {
      host: '127.0.0.1',
      port: mailbox.port,
      secure: false,
      user: 'flotilla',
      password: 'secret',
      from: 'Flotilla <flotilla@localhost>',
    },
    chromiumPath: CHROMIUM,
    pdfRenderConcurrency: CONCURRENCY,
  });
  stack = await startStack({ name: 'dm-creative', pipelines: [pipeline] as unknown as PipelineDefinition[], filesDir });
});

afterAll(async () => {
  await stack?.close();
  await closeSharedPdfRenderPools();
  await mailbox?.close();
  if (filesDir) fs.rmSync(filesDir, { recursive: true, force: true });
});

test('8 recipients: a PDF each on the render queue, a ZIP of exactly those PDFs, one completion e-mail with the right counts and link', async () => {
  const items: RecipientItemInput[] = [
    ...demoRecipients.slice(0, 7),
    { ...demoRecipients[7]!, trackingId: 'SPR25-HOSTILE', name: HOSTILE, lastname: 'Tester' },
  ];
  const { api } = stack;
  const res = await api.call('POST', '/api/batches', {
    pipeline: 'dm-creative',
    name: 'Spring Campaign 2025',
    items,
    settings: {
      companyName: 'Northwind Home Services',
      industry: 'Home services',
      brandVoice: 'friendly',
      notifyEmail: 'owner@example.com',
    },
    concurrency: 8,
  });
  expect(res.status).toBe(202);
  const id: string = res.body.id;

  const batch = await waitFor(
    async () => {
      const b = await api.call('GET', `/api/batches/${id}`);
      return ['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.body.status) && b.body.outputs
        ? b.body
        : undefined;
    },
    { timeoutMs: 110_000, what: 'dm-creative batch to finish' },
  );
  expect(batch.progress).toMatchObject({ status: 'completed', total: 8, succeeded: 8, failed: 0 });
  expect(batch.progress.steps['render-pdf']).toMatchObject({ succeeded: 8 });

  // The worker's shared pool rendered every PDF, never more than its size at once, and the
  // template made no request at all (not even a blocked one).
  const pool = sharedPdfRenderPool({ chromiumPath: CHROMIUM, concurrency: CONCURRENCY });
  expect(pool.stats()).toMatchObject({ renders: 8, blockedRequests: 0, launches: 1 });
  expect(pool.stats().peakActive).toBeLessThanOrEqual(CONCURRENCY);

  // One PDF per recipient under <filesDir>/<batchId>/, each naming its recipient.
  const dir = path.join(filesDir, id);
  const pdfNames = items.map((r) => `${r.trackingId}.pdf`).sort();
  expect(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.pdf'))
      .sort(),
  ).toEqual(pdfNames);
  const pdfs = items.map((r) => fs.readFileSync(path.join(dir, `${r.trackingId}.pdf`)));
  const texts = await pdfTexts(pdfs);
  for (const [i, r] of items.entries()) {
    expect(pdfs[i]!.subarray(0, 5).toString()).toBe('%PDF-');
    expect(texts[i]!.pages).toBe(1);
    expect(texts[i]!.text).toContain(`${r.name} ${r.lastname}`);
    expect(texts[i]!.text).toContain(`https://track.example.com/t/${r.trackingId}`);
  }
  expect(texts[7]!.text).toContain(HOSTILE);

  // The render step was scheduled on the pipeline's own queue, not the item queue.
  const history = await stack.client.workflow.getHandle(`${id}/SPR25-0001`).fetchHistory();
  const scheduled = (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'dm-creative.render-pdf');
  expect(scheduled).toHaveLength(1);
  expect(scheduled[0]!.taskQueue?.name).toBe(
    pipelineQueueOf(itemTaskQueueOf(stack.taskQueue), 'dm-creative', 'render'),
  );

  // Step outputs and export columns name the file.
  const listed = (await api.call('GET', `/api/batches/${id}/items?limit=20`)).body.items;
  const hostile = listed.find((i: { key: string }) => i.key === 'SPR25-HOSTILE');
  expect(hostile.steps[0]).toMatchObject({
    step: 'render-pdf',
    status: 'succeeded',
    output: { file: 'SPR25-HOSTILE.pdf', pages: 1, bytes: pdfs[7]!.length },
  });
  // A single PDF downloads by the file name its step output gives.
  const single = await fetch(`${api.base}/api/batches/${id}/files/SPR25-HOSTILE.pdf`, { headers: api.headers });
  expect(single.status).toBe(200);
  expect(single.headers.get('content-type')).toBe('application/pdf');
  expect(Buffer.from(await single.arrayBuffer()).equals(pdfs[7]!)).toBe(true);
  const csv = await (await fetch(`${api.base}/api/batches/${id}/export?format=csv`, { headers: api.headers })).text();
  expect(csv.split('\r\n')[0]).toContain('pdf_file');
  expect(csv).toContain('SPR25-0001.pdf');

  // The batch-end hook's result, kept with the batch.
  const zipName = 'spring-campaign-2025.zip';
  const zipPath = path.join(dir, zipName);
  expect(batch.outputs).toMatchObject({
    status: 'succeeded',
    files: [{ name: zipName, bytes: fs.statSync(zipPath).size, contentType: 'application/zip' }],
    pdfs: 8,
    email: { sent: true, to: 'owner@example.com' },
  });

  // The ZIP holds exactly the 8 PDFs, byte for byte.
  const entries = await readZip(zipPath);
  expect(entries.map((e) => e.name).sort()).toEqual(pdfNames);
  for (const e of entries) expect(e.data.equals(fs.readFileSync(path.join(dir, e.name)))).toBe(true);

  // ...and the API serves it at the link the e-mail gives.
  const download = await fetch(`${api.base}/api/batches/${id}/files/${zipName}`, { headers: api.headers });
  expect(download.status).toBe(200);
  expect(download.headers.get('content-type')).toContain('application/zip');
  expect(Buffer.from(await download.arrayBuffer()).equals(fs.readFileSync(zipPath))).toBe(true);

  // The completion e-mail arrived once at the loopback mailbox.
  const mail = await mailbox.waitFor((m) => m.headers['x-flotilla-batch-id'] === id, 10_000);
  expect(mail.to).toEqual(['owner@example.com']);
  expect(mail.authUser).toBe('flotilla');
  expect(mail.messageId).toBe(batch.outputs.email.messageId);
  expect(mail.headers['x-flotilla-idempotency-key']).toMatch(new RegExp(`^${id}/__batch-end/\\d+$`));
  expect(mail.subject).toBe('✅ Your batch of 8 DMs is ready!');
  expect(mail.text).toContain('Great news! Your batch job "Spring Campaign 2025" has been completed successfully.');
  expect(mail.text).toContain('- Total: 8 recipients');
  expect(mail.text).toContain('- Success: 8 (100%)');
  expect(mail.text).toContain('- Failed: 0 (0%)');
  expect(mail.text).toContain(`${APP_URL}/api/batches/${id}/files/${zipName}`);
  expect(mail.text).toContain(`${APP_URL}/batches/${id}`);
  expect(mailbox.messages.filter((m) => m.headers['x-flotilla-batch-id'] === id)).toHaveLength(1);
  await recordHistory(stack.client, 'batch-dm-creative-batch-end-hook', id);
  await recordHistory(stack.client, 'item-dm-creative-render-queue', `${id}/SPR25-0001`);
});
