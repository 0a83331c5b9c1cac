/**
 * Creative templates print as designed: for three templates (Fabric 6.x class names on a
 * postcard, Fabric 5.x lower-case types on A4 with a group, a path and a gradient, US Letter with
 * a triangle, an ellipse with a radial gradient, a polygon and a scaled image; each with text,
 * an embedded image and a QR slot), the PDF page the pool prints, rasterised by poppler's
 * pdftoppm, and the same filled canvas drawn by Fabric on a 2D canvas in the browser differ in
 * under 1% of pixels. The PDF's text is real text (pdftotext reads the recipient's name).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer';
import { CreativeTemplateBody } from '../contract/creative-templates';
import { dmCreativeSettingsSchema, recipientItemSchema } from '../pipelines/dm-creative';
import { checkCanvas } from '../pipelines/dm-creative/creative/canvas-check';
import { designSizeOf } from '../pipelines/dm-creative/creative/page-sizes';
import { drawInPage, openRendererPage } from '../pipelines/dm-creative/creative/renderer-page';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { CHROMIUM_ARGS, PdfRenderPool } from '../pipelines/dm-creative/pdf-pool';
import { creativeDocOf, type TemplateContent } from '../pipelines/dm-creative/template';
import { versionIdOf } from '../pipelines/dm-creative/template-store';
import { SHOTS } from './support/browser';
import { pixelDiff } from './support/pixel-diff';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const FIXTURES = path.join(__dirname, 'fixtures', 'creative');
/** Rasterised at twice the design size. */
const MULTIPLIER = 2;
/** Colours match when every channel is within this (of 255), within one pixel of the same place. */
const TOLERANCE = 48;

const settings = dmCreativeSettingsSchema.parse({ companyName: 'Harbor Dental', industry: 'Dentistry' });
const recipient = recipientItemSchema.parse({
  ...demoRecipients[2],
  name: 'Mireille',
  lastname: 'Okonkwo-Lindqvist',
  message:
    'Spring is here, and so is your check-up. Book before the end of the month and the cleaning is on us.\n\nWe look forward to seeing you.',
});

let pool: PdfRenderPool;
let browser: Browser;
let page: Page;
let tmp: string;
const blocked: string[] = [];
const report: Record<string, unknown> = {};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'creative-fidelity-'));
  pool = new PdfRenderPool({ chromiumPath: CHROMIUM, concurrency: 1 });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, pipe: true, args: [...CHROMIUM_ARGS] });
  page = await browser.newPage();
  await openRendererPage(page, (url) => blocked.push(url), 30_000);
});

afterAll(async () => {
  await pool?.close();
  await browser?.close();
  fs.mkdirSync(path.join(__dirname, '..', '.data', 'reports'), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, '..', '.data', 'reports', 'creative-fidelity.json'),
    JSON.stringify(report, null, 2),
  );
  fs.rmSync(tmp, { recursive: true, force: true });
});

function fixture(file: string): TemplateContent {
  const body = CreativeTemplateBody.parse(JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')));
  const check = checkCanvas(body.canvas, designSizeOf(body.canvas, body.page));
  expect(check.issues).toEqual([]);
  expect(check.uses.qrSlots).toBe(1);
  return {
    versionId: versionIdOf(file, body.page, body.canvas),
    templateId: file,
    name: body.name,
    page: body.page,
    canvas: body.canvas,
  };
}

/** The printed page, rasterised by pdftoppm to the reference's size; the PDF's text. */
async function printed(template: TemplateContent, name: string, r = recipient) {
  const { doc } = creativeDocOf(template, r, settings);
  const out = await pool.render(doc);
  expect(out.blockedRequests).toEqual([]);
  const pdfFile = path.join(tmp, `${name}.pdf`);
  fs.writeFileSync(pdfFile, out.pdf);
  const [w, h] = [doc.width * MULTIPLIER, doc.height * MULTIPLIER].map(Math.round);
  await run('pdftoppm', [
    ...['-png', '-singlefile', '-scale-to-x', String(w), '-scale-to-y', String(h)],
    ...[pdfFile, path.join(tmp, name)],
  ]);
  const { stdout: text } = await run('pdftotext', ['-layout', pdfFile, '-']);
  const { stdout: info } = await run('pdfinfo', [pdfFile]);
  return { png: fs.readFileSync(path.join(tmp, `${name}.png`)), text, info, doc };
}

/** The same filled canvas drawn by Fabric itself on a 2D canvas, as PNG. */
async function drawnByFabric(template: TemplateContent, r = recipient): Promise<Buffer> {
  const { doc } = creativeDocOf(template, r, settings);
  const { page: _paper, ...draw } = doc;
  const { png } = await page.evaluate(drawInPage, { ...draw, cssWidth: '', cssHeight: '' }, 'png' as const, MULTIPLIER);
  return Buffer.from(png!.split(',')[1]!, 'base64');
}

describe.each([
  ['postcard-fabric6.json', '6in x 4in', /432 x 288 pts/],
  ['a4-flyer-fabric5.json', 'A4', /59[45]\.\d+ x 841\.\d+ pts \(A4\)/],
  ['letter-offer.json', 'Letter', /612 x 792 pts \(letter\)/],
])('%s', (file, _size, pageSize) => {
  test('the printed PDF and Fabric’s own drawing differ in under 1% of pixels; the text is text', async () => {
    const template = fixture(file);
    const name = file.replace(/\.json$/, '');
    const pdf = await printed(template, name);
    const reference = await drawnByFabric(template);
    const diff = await pixelDiff(pdf.png, reference, TOLERANCE);
    report[file] = { ...diff, tolerance: TOLERANCE };
    fs.mkdirSync(SHOTS, { recursive: true });
    fs.copyFileSync(path.join(tmp, `${name}.png`), path.join(SHOTS, `creative-${name}-pdf.png`));
    expect(diff.width).toBe(Math.round(pdf.doc.width * MULTIPLIER));
    // There is a design to compare (not a blank page against a blank page)...
    expect(diff.inkRatio).toBeGreaterThan(0.05);
    // ...and print and design agree.
    expect(diff.ratio).toBeLessThan(0.01);
    expect(pdf.info).toMatch(pageSize);
    expect(pdf.info).toMatch(/Pages:\s+1\b/);
    expect(pdf.text).toContain('Mireille');
    expect(pdf.text).toContain('Harbor Dental');
    expect(blocked).toEqual([]);
  });
});

test('the comparison can fail: another recipient’s drawing differs from this print', async () => {
  const template = fixture('postcard-fabric6.json');
  const pdf = await printed(template, 'control');
  const other = await drawnByFabric(
    template,
    recipientItemSchema.parse({
      ...recipient,
      name: 'Bartholomew',
      message: 'An entirely different message. '.repeat(8),
    }),
  );
  const diff = await pixelDiff(pdf.png, other, TOLERANCE);
  report.control = diff;
  expect(diff.ratio).toBeGreaterThan(0.01);
});
