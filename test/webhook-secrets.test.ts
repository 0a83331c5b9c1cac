/**
 * Webhook secrets are write-only and encrypted at rest, and webhook URLs are checked by the
 * egress guard when they are saved. On the real stack: a batch, a template and the
 * organisation's settings made with a secret; every answer that shows `notify` (raw bodies)
 * without it, the database columns without it in plaintext, and a delivery to a real loopback
 * receiver still signed with it (also after a PUT that did not send it again). Refused targets
 * (loopback, cloud metadata) are a 400 naming the field, and nothing is stored.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { signWebhook } from '../activities/notifications';
import { createSecretBox, ensureSecretsKeyFile, SecretOpenError } from '../lib/secret-box';
import { noopPipeline } from '../pipelines/noop';
import type { PipelineDefinition } from '../pipelines/types';
import { waitFor } from './support/api';
import { startWebhookReceiver } from './support/webhook-receiver';
import { startStack, uid } from './support/stack';

let stack: Awaited<ReturnType<typeof startStack>>;
let receiver: http.Server;
let hookUrl: string;
let otherHookUrl: string;
const received: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }> = [];

const call = (...args: Parameters<typeof stack.api.call>) => stack.api.call(...args);
/** A secret of this test, unlike any other string in the answers. */
const newSecret = (what: string) => `whsec_${what}_${crypto.randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  let base: string;
  ({ server: receiver, base } = await startWebhookReceiver((req, body) => {
    received.push({ path: req.url ?? '', headers: req.headers, body });
  }));
  hookUrl = `${base}/hooks/a`;
  otherHookUrl = `${base}/hooks/b`;
  stack = await startStack({
    name: 'webhook-secrets',
    pipelines: [noopPipeline] as unknown as PipelineDefinition[],
    notifications: {
      smtp: { port: 587, secure: false, from: 'Flotilla <flotilla@localhost>' },
      appUrl: 'http://flotilla.test',
    },
    // The receiver is on loopback: allowed by name, as EGRESS_ALLOW does for `npm start`.
    egress: { allow: [new URL(base).host] },
  });
});

afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

/** Every answer that shows the batch's notify, as raw text. */
async function batchAnswers(id: string): Promise<Record<string, string>> {
  const raw = async (p: string) => {
    const res = await fetch(`${stack.api.base}${p}`, { headers: stack.api.headers });
    expect(res.status).toBe(200);
    return res.text();
  };
  return {
    list: await raw('/api/batches?limit=200'),
    one: await raw(`/api/batches/${id}`),
    notifications: await raw(`/api/batches/${id}/notifications`),
    exportJson: await raw(`/api/batches/${id}/export?format=json`),
    exportCsv: await raw(`/api/batches/${id}/export?format=csv`),
  };
}

function expectNoSecret(answers: Record<string, string>, secret: string) {
  for (const [route, text] of Object.entries(answers))
    expect({ route, leaks: text.includes(secret) }).toEqual({ route, leaks: false });
}

async function columnText(sql: 'batches' | 'batch_templates' | 'org_settings', key: string): Promise<string> {
  const column = sql === 'org_settings' ? 'org_id' : 'id';
  const rows = await stack.db.$queryRawUnsafe<Array<{ notify: string | null }>>(
    `SELECT notify::text AS notify FROM ${sql} WHERE ${column} = $1`,
    key,
  );
  expect(rows).toHaveLength(1);
  return rows[0].notify ?? '';
}

async function finished(id: string) {
  return waitFor(
    async () => {
      const b = (await call('GET', `/api/batches/${id}`)).body;
      return ['completed', 'completed_with_errors', 'failed', 'cancelled'].includes(b.status) ? b : undefined;
    },
    { timeoutMs: 60_000, what: `batch ${id} to end` },
  );
}

/** A one-item noop batch with no notify of its own (the organisation's default applies), run to its end. */
async function runBatchOnOrgDefault(prefix: string): Promise<string> {
  const res = await call('POST', '/api/batches', { pipeline: 'noop', name: uid(prefix), items: [{ key: 'a' }] });
  expect(res.status).toBe(202);
  await finished(res.body.id);
  return res.body.id;
}

/** The delivery the receiver got for this batch, checked against the secret it should be signed with. */
async function deliveredSignedWith(batchId: string, secret: string, url = hookUrl) {
  const hook = await waitFor(async () => received.find((r) => JSON.parse(r.body).batch.id === batchId), {
    timeoutMs: 60_000,
    what: `the webhook of ${batchId}`,
  }).catch(async (err) => {
    throw new Error(
      `${(err as Error).message}; deliveries: ${JSON.stringify((await call('GET', `/api/batches/${batchId}/notifications`)).body)}`,
    );
  });
  expect(hook.path).toBe(new URL(url).pathname);
  const ts = String(hook.headers['x-flotilla-timestamp']);
  expect(hook.headers['x-flotilla-signature']).toBe(signWebhook(secret, ts, hook.body));
  return hook;
}

test("a batch's webhook secret is in no answer, stored encrypted, and still signs the delivery", async () => {
  const secret = newSecret('batch');
  const created = await call('POST', '/api/batches', {
    pipeline: 'noop',
    name: uid('secret-batch'),
    items: [{ key: 'a' }],
    notify: { emails: ['ops@example.com'], webhooks: [{ url: hookUrl, secret }] },
  });
  expect(created.status).toBe(202);
  const id = created.body.id;
  expect(JSON.stringify(created.body)).not.toContain(secret);

  const one = (await call('GET', `/api/batches/${id}`)).body;
  expect(one.notify).toEqual({ emails: ['ops@example.com'], webhooks: [{ url: hookUrl, secretSet: true }] });
  const listed = (await call('GET', '/api/batches?limit=200')).body.batches.find((b: { id: string }) => b.id === id);
  expect(listed.notify).toEqual(one.notify);

  const column = await columnText('batches', id);
  expect(column).not.toContain(secret);
  expect(column).toContain(hookUrl);
  expect(column).toMatch(/"secret": "enc:v1:[A-Za-z0-9_-]+"/);

  await finished(id);
  await deliveredSignedWith(id, secret);
  expectNoSecret(await batchAnswers(id), secret);
});

test('a template: write-only secret, encrypted, kept by a PUT that sends back what GET showed, and signing its batches', async () => {
  const secret = newSecret('template');
  const name = uid('secret-template');
  const body = {
    name,
    pipeline: 'noop',
    source: { kind: 'items', items: [{ key: 'a' }] },
    notify: { webhooks: [{ url: hookUrl, secret }] },
  };
  const created = await call('POST', '/api/templates', body);
  expect(created.status).toBe(201);
  const id = created.body.id;
  expect(JSON.stringify(created.body)).not.toContain(secret);
  expect(created.body.notify).toEqual({ emails: [], webhooks: [{ url: hookUrl, secretSet: true }] });

  const one = await fetch(`${stack.api.base}/api/templates/${id}`, { headers: stack.api.headers }).then((r) =>
    r.text(),
  );
  const list = await fetch(`${stack.api.base}/api/templates?limit=200`, { headers: stack.api.headers }).then((r) =>
    r.text(),
  );
  expect(one).not.toContain(secret);
  expect(list).not.toContain(secret);
  expect(JSON.parse(one).notify.webhooks).toEqual([{ url: hookUrl, secretSet: true }]);
  expect(await columnText('batch_templates', id)).not.toContain(secret);

  // Round trip: what GET showed, sent back with a new concurrency, keeps the secret.
  const shown = JSON.parse(one);
  const put = await call('PUT', `/api/templates/${id}`, {
    name: shown.name,
    pipeline: shown.pipeline,
    settings: shown.settings,
    source: shown.source,
    concurrency: 3,
    notify: shown.notify,
  });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ concurrency: 3, notify: { webhooks: [{ url: hookUrl, secretSet: true }] } });
  expect(JSON.stringify(put.body)).not.toContain(secret);
  expect(await columnText('batch_templates', id)).not.toContain(secret);

  // A URL it did not have before needs a secret: 400 naming the field, nothing changed.
  const missing = await call('PUT', `/api/templates/${id}`, {
    ...body,
    notify: { webhooks: [{ url: hookUrl }, { url: otherHookUrl }] },
  });
  expect(missing.status).toBe(400);
  expect(missing.body.error.details.issues).toEqual([expect.objectContaining({ path: 'notify.webhooks[1].secret' })]);
  expect((await call('GET', `/api/templates/${id}`)).body.concurrency).toBe(3);

  const started = await call('POST', `/api/templates/${id}/batches`, {});
  expect(started.status).toBe(202);
  await finished(started.body.id);
  await deliveredSignedWith(started.body.id, secret);
  expect(await columnText('batches', started.body.id)).not.toContain(secret);
  expectNoSecret(await batchAnswers(started.body.id), secret);
});

test("the organisation's settings: write-only secret, encrypted, kept by a round-trip PUT, and signing batches that use them", async () => {
  const secret = newSecret('org');
  try {
    const put = await call('PUT', '/api/org/settings', {
      notify: { emails: [], webhooks: [{ url: hookUrl, secret }] },
    });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(secret);
    expect(put.body.notify).toEqual({ emails: [], webhooks: [{ url: hookUrl, secretSet: true }] });
    const get = await fetch(`${stack.api.base}/api/org/settings`, { headers: stack.api.headers }).then((r) => r.text());
    expect(get).not.toContain(secret);
    const shown = JSON.parse(get);
    expect(shown.notify.webhooks).toEqual([{ url: hookUrl, secretSet: true }]);
    expect(await columnText('org_settings', shown.orgId)).not.toContain(secret);

    // Sent back as GET showed it, plus an e-mail: the secret stays.
    const again = await call('PUT', '/api/org/settings', { notify: { ...shown.notify, emails: ['ops@example.com'] } });
    expect(again.status).toBe(200);
    expect(again.body.notify).toEqual({ emails: ['ops@example.com'], webhooks: [{ url: hookUrl, secretSet: true }] });
    const missing = await call('PUT', '/api/org/settings', { notify: { webhooks: [{ url: otherHookUrl }] } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues[0].path).toBe('notify.webhooks[0].secret');

    const id = await runBatchOnOrgDefault('org-default');
    await deliveredSignedWith(id, secret);
    expect(await columnText('batches', id)).not.toContain(secret);
    expectNoSecret(await batchAnswers(id), secret);
  } finally {
    await call('PUT', '/api/org/settings', { notify: null });
  }
});

describe('refused webhook targets are a 400 naming the field, and nothing is stored', () => {
  const refused = [
    { url: 'http://127.0.0.1:9464/hook', reason: 'loopback' },
    { url: 'http://169.254.169.254/latest/meta-data/', reason: 'link-local' },
  ];

  test.each(refused)('a batch with $url', async ({ url, reason }) => {
    const name = uid('refused');
    const res = await call('POST', '/api/batches', {
      pipeline: 'noop',
      name,
      items: [{ key: 'a' }],
      notify: {
        webhooks: [
          { url: hookUrl, secret: newSecret('ok') },
          { url, secret: newSecret('refused') },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual([
      { path: 'notify.webhooks[1].url', message: expect.stringContaining(reason) },
    ]);
    expect(res.body.error.message).toContain(new URL(url).hostname);
    expect(await stack.db.batch.count({ where: { name } })).toBe(0);
  });

  test.each(refused)('a template with $url', async ({ url, reason }) => {
    const name = uid('refused');
    const res = await call('POST', '/api/templates', {
      name,
      pipeline: 'noop',
      source: { kind: 'items', items: [{ key: 'a' }] },
      notify: { webhooks: [{ url, secret: newSecret('refused') }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual([
      { path: 'notify.webhooks[0].url', message: expect.stringContaining(reason) },
    ]);
    expect(await stack.db.batchTemplate.count({ where: { name } })).toBe(0);
  });

  test.each(refused)("the organisation's settings with $url", async ({ url, reason }) => {
    const before = (await call('GET', '/api/org/settings')).body;
    const res = await call('PUT', '/api/org/settings', {
      notify: { webhooks: [{ url, secret: newSecret('refused') }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual([
      { path: 'notify.webhooks[0].url', message: expect.stringContaining(reason) },
    ]);
    expect((await call('GET', '/api/org/settings')).body).toEqual(before);
  });
});

describe('the secret box', () => {
  const key = crypto.randomBytes(32);
  const box = createSecretBox(key);

  test('AES-256-GCM with a random IV: two seals differ, both open; an altered value or another key does not', () => {
    const a = box.seal('whsec_0123456789abcdef');
    const b = box.seal('whsec_0123456789abcdef');
    expect(a).toMatch(/^enc:v1:/);
    expect(a).not.toBe(b);
    expect(box.open(a)).toBe('whsec_0123456789abcdef');
    expect(box.open(b)).toBe('whsec_0123456789abcdef');
    const raw = Buffer.from(a.slice('enc:v1:'.length), 'base64url');
    raw[raw.length - 1] ^= 1;
    expect(() => box.open(`enc:v1:${raw.toString('base64url')}`)).toThrow(SecretOpenError);
    expect(() => createSecretBox(crypto.randomBytes(32)).open(a)).toThrow(SecretOpenError);
  });

  test("npm start's key file: generated once under the data folder, mode 0600, kept on the next start", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-key-'));
    try {
      const file = ensureSecretsKeyFile(dir);
      expect(file).toBe(path.join(dir, 'secrets.key'));
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const key = fs.readFileSync(file, 'utf8').trim();
      expect(Buffer.from(key, 'base64')).toHaveLength(32);
      const sealed = createSecretBox(Buffer.from(key, 'base64')).seal('kept across restarts');
      fs.chmodSync(file, 0o644);
      expect(ensureSecretsKeyFile(dir)).toBe(file);
      expect(fs.readFileSync(file, 'utf8').trim()).toBe(key);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(createSecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64')).open(sealed)).toBe(
        'kept across restarts',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Runs a process entry point with the given env; resolves with its exit code and output. */
  function runEntry(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', script)], {
        env: {
          ...process.env,
          LOG_LEVEL: 'fatal',
          DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
          TEMPORAL_ADDRESS: '127.0.0.1:1',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  test.each(['api/server.ts', 'workers/main.ts'])(
    '%s without a key stops at startup naming SECRETS_KEY; a malformed key too',
    async (script) => {
      const missing = await runEntry(script, { SECRETS_KEY: '', SECRETS_KEY_FILE: '' });
      expect(missing.code).toBe(1);
      expect(missing.output).toMatch(/SECRETS_KEY \(32 bytes, base64\) or SECRETS_KEY_FILE must be set/);
      const short = await runEntry(script, {
        SECRETS_KEY: crypto.randomBytes(16).toString('base64'),
        SECRETS_KEY_FILE: '',
      });
      expect(short.code).toBe(1);
      expect(short.output).toMatch(/SECRETS_KEY: must be 32 bytes in base64/);
    },
  );
});

describe('key rotation', () => {
  const b64 = (k: Buffer) => k.toString('base64');
  const stackKey = Buffer.from(process.env.SECRETS_KEY!, 'base64');
  type Box = ReturnType<typeof createSecretBox>;

  test('a box opens what a retired key sealed, seals with the current key only, and says which is which', () => {
    const older = crypto.randomBytes(32);
    const current = crypto.randomBytes(32);
    const sealedOld = createSecretBox(older).seal('whsec_from_before_rotation');
    const box = createSecretBox(current, [older]);
    expect(box.open(sealedOld)).toBe('whsec_from_before_rotation');
    expect(box.isCurrent(sealedOld)).toBe(false);
    const sealedNew = box.seal('whsec_after_rotation');
    expect(box.isCurrent(sealedNew)).toBe(true);
    expect(() => createSecretBox(older).open(sealedNew)).toThrow(SecretOpenError);
    expect(() => box.open(createSecretBox(crypto.randomBytes(32)).seal('x'))).toThrow(
      /neither SECRETS_KEY nor a key of SECRETS_KEY_PREVIOUS/,
    );
  });

  /** Every stored webhook secret but those of `skipTemplate`, opened with `box`: `${table} ${id} ${url}` -> plaintext. */
  async function storedSecrets(box: Box, skipTemplate?: string) {
    const rows = [
      ...(await stack.db.batch.findMany({ select: { id: true, notify: true } })).map((r) => ['batches', r] as const),
      ...(await stack.db.batchTemplate.findMany({ select: { id: true, notify: true } }))
        .filter((r) => r.id !== skipTemplate)
        .map((r) => ['batch_templates', r] as const),
      ...(await stack.db.orgSettings.findMany({ select: { orgId: true, notify: true } })).map(
        (r) => ['org_settings', { id: r.orgId, notify: r.notify }] as const,
      ),
    ];
    const out = new Map<string, string>();
    for (const [table, r] of rows)
      for (const w of (r.notify as { webhooks?: Array<{ url: string; secret: string }> } | null)?.webhooks ?? [])
        out.set(`${table} ${r.id} ${w.url}`, box.open(w.secret));
    return out;
  }

  /** `npm run secrets:rotate` against the stack's database. */
  function rotate(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'bin/rotate-secrets.ts')], {
        env: { ...process.env, LOG_LEVEL: 'fatal', DATABASE_URL: stack.dbUrl, SECRETS_KEY_FILE: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      child.on('exit', (code) => resolve({ code, output }));
    });
  }

  test('secrets:rotate reseals every stored secret under the new key, names what no key opens, and a second run has nothing to do', async () => {
    // A secret in each place one is stored: the organisation's settings, a template, a batch.
    const orgSecret = newSecret('rotate_org');
    const put = await call('PUT', '/api/org/settings', { notify: { webhooks: [{ url: hookUrl, secret: orgSecret }] } });
    expect(put.status).toBe(200);
    try {
      const templateSecret = newSecret('rotate_template');
      const template = await call('POST', '/api/templates', {
        name: uid('rotate'),
        pipeline: 'noop',
        source: { kind: 'items', items: [{ key: 'a' }] },
        notify: { webhooks: [{ url: otherHookUrl, secret: templateSecret }] },
      });
      expect(template.status).toBe(201);
      const batchSecret = newSecret('rotate_batch');
      const batch = await call('POST', '/api/batches', {
        pipeline: 'noop',
        name: uid('rotate'),
        items: [{ key: 'a' }],
        notify: { webhooks: [{ url: otherHookUrl, secret: batchSecret }] },
      });
      expect(batch.status).toBe(202);
      await finished(batch.body.id);

      // A template whose secret was sealed with a key nobody configured (lost): it cannot be rotated.
      const lostUrl = `${hookUrl}?lost`;
      const lost = await call('POST', '/api/templates', {
        name: uid('lost-key'),
        pipeline: 'noop',
        source: { kind: 'items', items: [{ key: 'a' }] },
        notify: { webhooks: [{ url: lostUrl, secret: newSecret('lost') }] },
      });
      expect(lost.status).toBe(201);
      const lostSealed = createSecretBox(crypto.randomBytes(32)).seal('whsec_sealed_with_a_lost_key');
      await stack.db.batchTemplate.update({
        where: { id: lost.body.id },
        data: { notify: { emails: [], webhooks: [{ url: lostUrl, secret: lostSealed }] } },
      });
      const stackBox = createSecretBox(stackKey);
      await expect(storedSecrets(stackBox)).rejects.toThrow(SecretOpenError);
      const readable = await storedSecrets(stackBox, lost.body.id);
      expect(readable.get(`org_settings ${put.body.orgId} ${hookUrl}`)).toBe(orgSecret);
      expect(readable.get(`batch_templates ${template.body.id} ${otherHookUrl}`)).toBe(templateSecret);
      expect(readable.get(`batches ${batch.body.id} ${otherHookUrl}`)).toBe(batchSecret);

      const newKey = crypto.randomBytes(32);
      const first = await rotate({ SECRETS_KEY: b64(newKey), SECRETS_KEY_PREVIOUS: b64(stackKey) });
      expect(first.code).toBe(1);
      expect(first.output).toContain(`${readable.size} secrets resealed under SECRETS_KEY, 0 already were`);
      expect(first.output).toContain(`unreadable: batch_templates ${lost.body.id} webhook ${lostUrl}`);
      expect(first.output).not.toMatch(/whsec_|enc:v1:/);

      // Everything else opens with the new key alone, to the same secrets, and no longer with the old one.
      expect(await storedSecrets(createSecretBox(newKey), lost.body.id)).toEqual(readable);
      await expect(storedSecrets(stackBox, lost.body.id)).rejects.toThrow(SecretOpenError);
      // What no key opens was left as it was.
      const lostRow = await stack.db.batchTemplate.findUniqueOrThrow({ where: { id: lost.body.id } });
      expect((lostRow.notify as { webhooks: Array<{ secret: string }> }).webhooks[0].secret).toBe(lostSealed);

      // The operator deletes that template (or saves its webhook with a new secret); then nothing is left to do.
      expect((await call('DELETE', `/api/templates/${lost.body.id}`)).status).toBe(204);
      const second = await rotate({ SECRETS_KEY: b64(newKey), SECRETS_KEY_PREVIOUS: b64(stackKey) });
      expect(second.code).toBe(0);
      expect(second.output).toContain(`0 secrets resealed under SECRETS_KEY, ${readable.size} already were`);

      // Back to the stack's key (the new one retired now): its worker signs with the twice-resealed secret.
      const back = await rotate({ SECRETS_KEY: b64(stackKey), SECRETS_KEY_PREVIOUS: b64(newKey) });
      expect(back.code).toBe(0);
      expect(await storedSecrets(stackBox)).toEqual(readable);
      await deliveredSignedWith(await runBatchOnOrgDefault('rotated'), orgSecret);
    } finally {
      await call('PUT', '/api/org/settings', { notify: null });
    }
  });

  test('a malformed SECRETS_KEY_PREVIOUS stops the command naming which key', async () => {
    const res = await rotate({
      SECRETS_KEY: b64(crypto.randomBytes(32)),
      SECRETS_KEY_PREVIOUS: `${b64(crypto.randomBytes(32))},${b64(crypto.randomBytes(8))}`,
    });
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/SECRETS_KEY_PREVIOUS \(key 2\): must be 32 bytes in base64/);
  });
});
