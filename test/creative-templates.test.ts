/**
 * Creative templates through the API, on the real stack (dm-creative reading templates from the
 * database, the real worker rendering in Chromium): saving a Fabric canvas and what the API
 * refuses (every hostile template a 400 naming the object, never a request leaving the page or a
 * hung worker), previews drawn by the batch renderer, organisations kept apart, a batch freezing
 * the template's content (an edit afterwards changes neither the batch nor its version), the 400
 * for a placeholder the recipients do not have, and the built-in letter read-only.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { demoRecipients } from '../pipelines/dm-creative/demo-data';
import { BUILTIN, ensureBuiltInTemplate } from '../pipelines/dm-creative/template-store';
import { batchEnded } from './support/api';
import { startCreativeStack } from './support/creative-stack';
import { otherOrganisation } from './support/orgs';
import { createTestDatabase, uid } from './support/stack';

const run = promisify(execFile);
const FIXTURES = path.join(__dirname, 'fixtures', 'creative');
const postcard = () => JSON.parse(fs.readFileSync(path.join(FIXTURES, 'postcard-fabric6.json'), 'utf8'));

let stack: Awaited<ReturnType<typeof startCreativeStack>>;

beforeAll(async () => {
  stack = await startCreativeStack({ name: 'creative-api' });
});

afterAll(async () => {
  await stack?.close();
});

const call = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
  stack.api.call(method, p, body, headers);

const text = (t: string, more: Record<string, unknown> = {}) => ({
  type: 'Textbox',
  originX: 'left',
  originY: 'top',
  left: 20,
  top: 20,
  width: 400,
  fontFamily: 'Roboto',
  fontSize: 16,
  text: t,
  ...more,
});
const template = (name: string, objects: unknown[], page = { size: 'A5', orientation: 'portrait' }) => ({
  name,
  format: 'fabric',
  page,
  canvas: { version: '6.4.3', objects },
});

/** A preview's bytes, content type and missing-fields header. */
async function preview(p: string, body: unknown) {
  const res = await fetch(`${stack.api.base}${p}`, {
    method: 'POST',
    headers: { ...stack.api.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    missing: res.headers.get('x-flotilla-missing-fields'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

describe('saving', () => {
  test('a Fabric 6.x canvas is stored with what it uses; the list starts with the built-in letter; GET has the canvas', async () => {
    const created = await call('POST', '/api/creative-templates', postcard());
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/creative-templates/${created.body.id}`);
    expect(created.body).toMatchObject({
      name: 'Spring postcard',
      format: 'fabric',
      page: { size: 'postcard', orientation: 'landscape' },
      builtIn: false,
      uses: {
        placeholders: ['companyName', 'message', 'name', 'phoneNumber'],
        qrSlots: 1,
        fonts: ['Lato', 'Roboto'],
        width: 576,
        height: 384,
      },
    });
    expect(created.body.version).toMatch(/^ctv_[0-9a-f]{32}$/);
    const list = await call('GET', '/api/creative-templates');
    expect(list.body.templates[0]).toMatchObject({ id: 'builtin-letter', builtIn: true });
    expect(list.body.templates.map((t: { id: string }) => t.id)).toContain(created.body.id);
    expect(list.body.templates[0].canvas).toBeUndefined();
    const got = await call('GET', `/api/creative-templates/${created.body.id}`);
    expect(got.body.canvas.objects).toHaveLength(postcard().canvas.objects.length);
    expect((await call('POST', '/api/creative-templates', postcard())).status).toBe(409);
  });

  const refusals: Array<[string, unknown[], RegExp, RegExp]> = [
    [
      'an unknown object type',
      [{ type: 'video', left: 0 }],
      /canvas\.objects\[0\]\.type/,
      /"video" is not one this renderer draws/,
    ],
    [
      'an external image URL',
      [{ type: 'Image', src: 'https://evil.example/x.png' }],
      /objects\[0\]\.src/,
      /embedded as data:image/,
    ],
    [
      'a javascript: image',
      [{ type: 'image', src: 'javascript:alert(1)' }],
      /objects\[0\]\.src/,
      /"javascript:alert\(1\)" is not/,
    ],
    ['a file: image', [text('x'), { type: 'Image', src: 'file:///etc/passwd' }], /objects\[1\]\.src/, /data:image/],
    [
      'an SVG image',
      [{ type: 'Image', src: 'data:image/svg+xml;base64,PHN2Zz4=' }],
      /objects\[0\]\.src/,
      /png\|jpeg\|gif\|webp/,
    ],
    [
      'a font that is not bundled',
      [text('x', { fontFamily: 'Comic Sans MS' })],
      /objects\[0\]\.fontFamily/,
      /"Comic Sans MS" is not one of the bundled fonts/,
    ],
    ['huge dimensions', [{ type: 'Rect', width: 1e7, height: 10 }], /objects\[0\]\.width/, /from 0 to 20000/],
    [
      'a huge scale',
      [{ type: 'Rect', width: 500, height: 10, scaleX: 90 }],
      /objects\[0\]\.width/,
      /drawn width 45000 px/,
    ],
    [
      'a pattern fill',
      [{ type: 'Rect', width: 5, height: 5, fill: { type: 'pattern', source: 'http://x/p.png' } }],
      /objects\[0\]\.fill/,
      /"pattern" is not supported/,
    ],
    [
      'a colour that is not one',
      [{ type: 'Rect', width: 5, height: 5, fill: 'url(javascript:x)' }],
      /objects\[0\]\.fill/,
      /is not a colour/,
    ],
    [
      'image filters',
      [{ type: 'Image', src: 'data:image/png;base64,iVBORw0KGgo=', filters: [{ type: 'Blur' }] }],
      /objects\[0\]\.filters/,
      /filters are not supported/,
    ],
    [
      'a rotated QR slot',
      [{ type: 'Rect', name: 'qr', width: 50, height: 50, angle: 30 }],
      /objects\[0\]\.angle/,
      /cannot be rotated/,
    ],
    ['no objects', [], /canvas\.objects/, /nothing to print/],
  ];
  test.each(refusals)('%s is a 400 naming the object', async (_what, objects, pathRe, messageRe) => {
    const res = await call('POST', '/api/creative-templates', template(uid('bad'), objects));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    const issue = res.body.error.details.issues[0];
    expect(issue.path).toMatch(pathRe);
    expect(issue.message).toMatch(messageRe);
  });

  test('10,000 objects, groups nested 12 deep, 7 MB of canvas, 9 MB of body: each refused, nothing stored', async () => {
    const before = (await call('GET', '/api/creative-templates')).body.templates.length;
    const many = await call(
      'POST',
      '/api/creative-templates',
      template(
        'many',
        Array.from({ length: 10_000 }, () => ({ type: 'Rect', width: 1, height: 1 })),
      ),
    );
    expect(many.status).toBe(400);
    expect(many.body.error.details.issues[0].message).toMatch(/at most 2000 objects/);
    let nested: Record<string, unknown> = { type: 'Rect', width: 1, height: 1 };
    for (let i = 0; i < 12; i++) nested = { type: 'Group', objects: [nested] };
    const deep = await call('POST', '/api/creative-templates', template('deep', [nested]));
    expect(deep.status).toBe(400);
    expect(deep.body.error.details.issues[0].message).toMatch(/nest at most 8 deep/);
    const big = `data:image/png;base64,${'A'.repeat(2 * 1024 * 1024)}`;
    const heavy = await call(
      'POST',
      '/api/creative-templates',
      template(
        'heavy',
        [1, 2, 3].map(() => ({ type: 'Image', src: big })),
      ),
    );
    expect(heavy.status).toBe(400);
    expect(heavy.body.error.details.issues[0]).toMatchObject({
      path: 'canvas',
      message: expect.stringMatching(/at most 6 MB/),
    });
    const huge = await call(
      'POST',
      '/api/creative-templates',
      template('huge', [{ type: 'Image', src: `data:image/png;base64,${'A'.repeat(9 * 1024 * 1024)}` }]),
    );
    expect(huge.status).toBe(413);
    expect((await call('GET', '/api/creative-templates')).body.templates).toHaveLength(before);
  });

  test('the built-in letter is read-only; another organisation sees only the built-in letter', async () => {
    expect((await call('DELETE', '/api/creative-templates/builtin-letter')).status).toBe(409);
    const put = await call('PUT', '/api/creative-templates/builtin-letter', template('mine', [text('x')]));
    expect(put.status).toBe(409);
    expect(put.body.error.code).toBe('read_only');

    const mine = await call('POST', '/api/creative-templates', template(uid('private'), [text('ours')]));
    const { headers: other } = await otherOrganisation(stack.db);
    const theirs = await call('GET', '/api/creative-templates', undefined, other);
    expect(theirs.body.templates.map((t: { id: string }) => t.id)).toEqual(['builtin-letter']);
    for (const [method, p] of [
      ['GET', `/api/creative-templates/${mine.body.id}`],
      ['DELETE', `/api/creative-templates/${mine.body.id}`],
      ['POST', `/api/creative-templates/${mine.body.id}/preview`],
    ] as const)
      expect((await call(method, p, method === 'POST' ? {} : undefined, other)).status).toBe(404);
    // ...nor can it start a batch with it.
    const batch = await call(
      'POST',
      '/api/batches',
      { pipeline: 'dm-creative', name: 'x', items: [demoRecipients[0]], settings: { templateId: mine.body.id } },
      other,
    );
    expect(batch.status).toBe(400);
    expect(batch.body.error.details.issues[0]).toMatchObject({ path: 'settings.templateId' });
  });
});

describe('previews', () => {
  test('a PNG of the design size and a one-page PDF, drawn for the given recipient; missing fields named', async () => {
    const t = await call(
      'POST',
      '/api/creative-templates',
      template(uid('pv'), [
        text('Hello {{name}} from {{storeName}}'),
        { type: 'Rect', name: 'qr', originX: 'left', originY: 'top', left: 20, top: 80, width: 120, height: 120 },
      ]),
    );
    const png = await preview(`/api/creative-templates/${t.body.id}/preview`, { recipient: { name: 'Zoë' } });
    expect(png.status).toBe(200);
    expect(png.type).toBe('image/png');
    expect(png.bytes.subarray(1, 4).toString()).toBe('PNG');
    // IHDR: width and height of A5 at 96 px per inch.
    expect([png.bytes.readUInt32BE(16), png.bytes.readUInt32BE(20)]).toEqual([559, 794]);
    expect(png.missing).toBe('storeName');
    const pdf = await preview(`/api/creative-templates/${t.body.id}/preview`, {
      recipient: { name: 'Zoë', storeName: 'Elm Street' },
      format: 'pdf',
    });
    expect(pdf.type).toBe('application/pdf');
    expect(pdf.missing).toBe('');
    const file = path.join(stack.filesDir, '..', 'preview.pdf');
    fs.writeFileSync(file, pdf.bytes);
    expect((await run('pdftotext', [file, '-'])).stdout).toContain('Hello Zoë from Elm Street');
    expect((await run('pdfinfo', [file])).stdout).toMatch(/Pages:\s+1\b/);
    // A recipient field that breaks the item schema is a 400 naming it.
    const bad = await preview(`/api/creative-templates/${t.body.id}/preview`, {
      recipient: { phoneNumber: 'call me' },
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.bytes.toString()).error.details.issues[0].path).toBe('recipient.phoneNumber');
  });

  test('a draft is checked as a save would be and drawn without being stored', async () => {
    const ok = await preview('/api/creative-templates/preview', { template: postcard() });
    expect(ok.status).toBe(200);
    expect([ok.bytes.readUInt32BE(16), ok.bytes.readUInt32BE(20)]).toEqual([576, 384]);
    const refused = await preview('/api/creative-templates/preview', {
      template: template('d', [{ type: 'Image', src: 'http://127.0.0.1:1/x.png' }]),
    });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.bytes.toString()).error.details.issues[0].path).toBe('template.canvas.objects[0].src');
  });
});

describe('batches', () => {
  const items = demoRecipients.slice(0, 3).map((r, i) => ({ ...r, storeName: `Store ${i + 1}` }));

  test('a placeholder some recipient does not have is a 400 at creation, naming the item and field', async () => {
    const t = await call(
      'POST',
      '/api/creative-templates',
      template(uid('store'), [text('Visit {{storeName}}, {{name}}')]),
    );
    const res = await call('POST', '/api/batches', {
      pipeline: 'dm-creative',
      name: 'missing',
      items: [items[0], demoRecipients[1], items[2]],
      settings: { templateId: t.body.id },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual([
      {
        row: 2,
        path: 'items[1].storeName',
        message: expect.stringContaining('prints {{storeName}}, and this recipient has no storeName'),
      },
    ]);
  });

  test('a dry run draws the template for the item; a field it lacks is a 400 naming the item field', async () => {
    const t = await call('POST', '/api/creative-templates', template(uid('dry'), [text('Visit {{storeName}}')]));
    const ran = await call('POST', '/api/pipelines/dm-creative/dry-run', {
      item: items[0],
      settings: { templateId: t.body.id },
    });
    expect(ran.status).toBe(200);
    expect(ran.body).toMatchObject({ ok: true, steps: [{ name: 'render-pdf', outcome: 'ran' }] });
    const refused = await call('POST', '/api/pipelines/dm-creative/dry-run', {
      item: demoRecipients[0],
      settings: { templateId: t.body.id },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.issues[0].path).toBe('item.storeName');
  });

  test('the batch freezes the template: PDFs as saved when it started; an edit afterwards changes neither it nor its version', async () => {
    const t = await call(
      'POST',
      '/api/creative-templates',
      template(uid('frozen'), [text('Visit {{storeName}}, {{name}}')]),
    );
    const created = await call('POST', '/api/batches', {
      pipeline: 'dm-creative',
      name: 'frozen',
      items,
      settings: { templateId: t.body.id, templateVersion: 'ctv_forged' },
      concurrency: 3,
    });
    expect(created.status).toBe(202);
    const id: string = created.body.id;
    // Edited while the batch runs.
    const edited = await call(
      'PUT',
      `/api/creative-templates/${t.body.id}`,
      template(t.body.name, [text('EDITED {{name}}')]),
    );
    expect(edited.status).toBe(200);
    expect(edited.body.version).not.toBe(t.body.version);
    const batch = await batchEnded(stack.api, id);
    expect(batch.progress).toMatchObject({ status: 'completed', succeeded: 3 });
    // The server's version, not the forged one; the one current when the batch started.
    expect(batch.settings).toMatchObject({ templateId: t.body.id, templateVersion: t.body.version });
    for (const [i, r] of items.entries()) {
      const out = (await run('pdftotext', [path.join(stack.filesDir, id, `${r.trackingId}.pdf`), '-'])).stdout;
      expect(out).toContain(`Visit Store ${i + 1}, ${r.name}`);
      expect(out).not.toContain('EDITED');
    }
    // Deleting the template keeps the version the batch froze; a new batch would be refused.
    expect((await call('DELETE', `/api/creative-templates/${t.body.id}`)).status).toBe(204);
    expect(await stack.db.creativeTemplateVersion.count({ where: { id: t.body.version } })).toBe(1);
    const after = await call('POST', '/api/batches', {
      pipeline: 'dm-creative',
      name: 'gone',
      items,
      settings: { templateId: t.body.id },
    });
    expect(after.status).toBe(400);
    expect(after.body.error.details.issues[0].message).toMatch(/no creative template/);
  });
});

describe('the built-in letter', () => {
  test('workers starting together on a fresh database all store it (no unique-key race), once', async () => {
    const fresh = await createTestDatabase();
    try {
      const starts = await Promise.allSettled(Array.from({ length: 8 }, () => ensureBuiltInTemplate(fresh.db)));
      expect(starts.filter((s) => s.status === 'rejected')).toEqual([]);
      expect(await fresh.db.creativeTemplate.count({ where: { builtIn: true } })).toBe(1);
      expect(await fresh.db.creativeTemplateVersion.count({ where: { templateId: BUILTIN.templateId } })).toBe(1);
      // Once stored, a start updates nothing else.
      await ensureBuiltInTemplate(fresh.db);
      expect(await fresh.db.creativeTemplateVersion.count()).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});
