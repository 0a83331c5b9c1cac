/**
 * The `flotilla` CLI as an operator runs it: a child process (`node --import tsx bin/flotilla.ts`)
 * against a real API, worker, Temporal and PostgreSQL. Start from a CSV, status (plain and
 * --watch without a TTY), list, export to a file and to stdout, and the exit-code contract:
 * 2 for a wrong command line, 1 for an API refusal that names the field (and the CSV line).
 * The terminal pieces (SSE parsing, redraw in place on a TTY) are checked in-process.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { AuthService } from '../api/auth/service';
import { runCli } from '../cli/main';
import { ensureLocalAdmin } from '../lib/auth/local-admin';
import { sseEvents } from '../cli/sse';
import { ProgressView } from '../cli/progress-view';
import type { PipelineDefinition } from '../pipelines/types';
import { waitFor } from './support/api';
import { fixturePipeline } from './support/fixture-pipeline';
import { startStack } from './support/stack';

const ROOT = path.resolve(__dirname, '..');
let stack: Awaited<ReturnType<typeof startStack>>;
let dir: string;
let batchId: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI as `npm run cli` does: in the repository root with INIT_CWD = the operator's
 * directory (here the test's scratch directory, where its files are). Asynchronously: the API
 * under test lives in this process.
 */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'bin', 'flotilla.ts'), ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          INIT_CWD: dir,
          FLOTILLA_API_URL: stack.api.base,
          FLOTILLA_TOKEN: stack.api.headers.authorization.replace('Bearer ', ''),
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The same CLI in this process (no spawn): for the cases where the exit path is already proven. */
async function cliHere(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    out: { write: (s: string) => (stdout += s) },
    err: { write: (s: string) => (stderr += s) },
    apiUrl: stack.api.base,
    token: stack.api.headers.authorization.replace('Bearer ', ''),
    cwd: dir,
  });
  return { code, stdout, stderr };
}

const write = (name: string, text: string) => {
  fs.writeFileSync(path.join(dir, name), text);
  return name;
};

beforeAll(async () => {
  // The fixture pipeline once more over stored entities of kind "thing", for `import`.
  const storedThings = { ...fixturePipeline, name: 'fixture-things', entityKind: 'thing' };
  stack = await startStack({
    name: 'cli',
    pipelines: [fixturePipeline, storedThings] as unknown as PipelineDefinition[],
    progressIntervalMs: 200,
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-cli-'));
});

afterAll(async () => {
  await stack?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('against the API', () => {
  test('start from a CSV file: header row = fields, one item per row', async () => {
    const file = write('restaurants.csv', 'key,rejectAt\nc-1,\nc-2,b\nc-3,\n');
    const run = await cli(['start', 'fixture', file, '--name', 'CLI batch', '--concurrency', '2']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const m = /^started (batch-[\w-]+) \(3 items, pipeline fixture\)$/m.exec(run.stdout);
    expect(m).not.toBeNull();
    batchId = m![1];
    const batch = await waitFor(async () => {
      const res = await stack.api.call('GET', `/api/batches/${batchId}`);
      return res.body.status === 'completed_with_errors' && res.body;
    });
    expect(batch).toMatchObject({ name: 'CLI batch', concurrency: 2, total: 3 });
    const items = await stack.api.call('GET', `/api/batches/${batchId}/items`);
    expect(items.body.items.map((i: { key: string; input: unknown }) => [i.key, i.input])).toEqual([
      ['c-1', { key: 'c-1', rejectAt: '' }],
      ['c-2', { key: 'c-2', rejectAt: 'b' }],
      ['c-3', { key: 'c-3', rejectAt: '' }],
    ]);
  });

  test('status prints the batch and its progress; --watch without a TTY prints plain lines to the end', async () => {
    const status = await cli(['status', batchId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${batchId}  "CLI batch"`);
    expect(status.stdout).toMatch(/^status\s+completed_with_errors$/m);
    expect(status.stdout).toMatch(/3\/3 100%/);
    expect(status.stdout).toMatch(/succeeded 2\s+failed 1/);

    const watched = await cli(['status', batchId, '--watch']);
    expect(watched.code).toBe(0);
    expect(watched.stdout).not.toMatch(/\x1b|\r/); // no terminal control characters in a pipe
    expect(watched.stdout).toMatch(/^completed_with_errors 3\/3 \(100%\) succeeded=2 failed=1 /m);
    expect(watched.stdout.trim().split('\n').pop()).toBe(
      `${batchId} completed_with_errors: 2 succeeded, 1 failed, 0 skipped, 0 cancelled`,
    );
  });

  test('start --watch follows a running batch live over SSE until it ends', async () => {
    const file = write('slow.json', JSON.stringify([1, 2, 3].map((n) => ({ key: `w-${n}`, sleepMs: 200 }))));
    const run = await cli(['start', 'fixture', file, '--concurrency', '1', '--watch']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^started batch-[\w-]+ \(3 items, pipeline fixture\)$/);
    const progress = lines.filter((l) => /^\w+ \d+\/3 /.test(l));
    expect(progress.length).toBeGreaterThan(1); // it saw the batch move, not only its end
    expect(progress[progress.length - 1]).toMatch(/^completed 3\/3 \(100%\)/);
    expect(lines[lines.length - 1]).toMatch(/ completed: 3 succeeded, 0 failed/);
  });

  test('list filters by tab and pipeline', async () => {
    const completed = await cli(['list', '--tab', 'completed', '--pipeline', 'fixture']);
    expect(completed.code).toBe(0);
    expect(completed.stdout).toMatch(/^ID\s+STATUS\s+PIPELINE/);
    expect(completed.stdout).toContain(batchId);
    const failed = await cliHere(['list', '--tab', 'failed', '--json']);
    expect(JSON.parse(failed.stdout)).toEqual({ batches: [], nextCursor: null });
  });

  test('export streams to a file or to stdout', async () => {
    const run = await cli(['export', batchId, '--format', 'csv', '--out', 'results.csv']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^exported .* to results\.csv$/m);
    const lines = fs.readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\r\n');
    expect(lines[0]).toMatch(/^seq,key,rejectAt,status,error_step,error_type,error_message/);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['1,c-1', '2,c-2', '3,c-3']);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);

    const json = await cliHere(['export', batchId, '--format', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).map((r: { key: string; status: string }) => `${r.key}:${r.status}`)).toEqual([
      'c-1:succeeded',
      'c-2:failed',
      'c-3:succeeded',
    ]);
  });

  test('exit 2 on a wrong command line, before anything reaches the API', async () => {
    const before = await stack.db.batch.count();
    const missing = await cli(['start', 'fixture']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/<file> is required/);
    expect(missing.stderr).toMatch(/^usage: flotilla start /m);
    const badValue = await cli(['start', 'fixture', 'restaurants.csv', '--concurrency', 'many']);
    expect(badValue).toMatchObject({ code: 2, stdout: '' });
    expect(badValue.stderr).toMatch(/--concurrency: expected a whole number/);
    const badJson = await cliHere(['start', 'fixture', 'restaurants.csv', '--settings', '{oops']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/--settings: is not valid JSON/);
    expect((await cliHere(['start', 'fixture', 'restaurants.csv', '--settings', '[1]'])).stderr).toMatch(
      /--settings: expected a JSON object/,
    );
    expect((await cliHere(['start', 'fixture', 'missing.csv'])).stderr).toMatch(
      /<file>: cannot read missing\.csv: ENOENT/,
    );
    expect((await cliHere(['start', 'fixture', write('items.txt', 'x')])).stderr).toMatch(
      /must end in \.csv or \.json/,
    );
    expect((await cliHere(['frobnicate'])).code).toBe(2);
    expect((await cliHere(['status', batchId, '--colour'])).stderr).toMatch(/Unknown option '--colour'/);
    expect((await cliHere(['status', batchId, 'extra'])).stderr).toMatch(/unexpected argument "extra"/);
    expect((await cliHere(['export', batchId, '--format', 'xml'])).code).toBe(2);
    expect((await cliHere(['retry-failed', batchId, '--keys', ' , '])).stderr).toMatch(
      /--keys: expected one or more item keys/,
    );
    expect((await cliHere(['status', batchId, '--api', 'not a url'])).stderr).toMatch(
      /--api: expected an http\(s\) URL/,
    );
    expect(await stack.db.batch.count()).toBe(before);
  });

  test('exit 1 when the API refuses: its message, the field, and the CSV line', async () => {
    const file = write('bad.csv', 'key,sleepMs\nb-1,10\n');
    const run = await cli(['start', 'fixture', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: row 1: items\[0\]\.sleepMs: .* \(HTTP 400 validation_error\)$/m);
    expect(run.stderr).toMatch(/^ {2}field items\[0\]\.sleepMs \(row 1, bad\.csv line 2\): /m);

    const conflict = await cliHere(['pause', batchId]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/already completed_with_errors \(HTTP 409 conflict\)/);

    const missing = await cliHere(['status', 'batch-nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/batch batch-nope not found \(HTTP 404 not_found\)/);

    const unreachable = await cliHere(['list', '--api', 'http://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the API at http:\/\/127\.0\.0\.1:1/);
  });
});

test('import: a gzip CSV of entities is sent, followed to its end, and its refused rows named; a failed import is exit 1', async () => {
  fs.writeFileSync(path.join(dir, 'things.csv.gz'), zlib.gzipSync('key,note\nt-1,a\nt 2!,b\nt-3,c\n'));
  const run = await cli(['import', 'thing', 'things.csv.gz']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const id = /^sent things\.csv\.gz as import (imp-[\w-]+)$/m.exec(run.stdout)?.[1];
  expect(id).toBeDefined();
  expect(run.stdout).toContain(`import ${id} succeeded: 2 imported, 1 refused of 3 rows`);
  expect(run.stdout).toMatch(/^ {2}row 3: key: key "t 2!" must be 1-200 letters/m);
  expect(
    (await stack.db.entity.findMany({ where: { kind: 'thing' }, orderBy: { key: 'asc' } })).map((e) => e.key),
  ).toEqual(['t-1', 't-3']);

  // No key column: the import fails with why, and the CLI says so with exit 1.
  write('nokey.csv', 'note\nx\n');
  const failed = await cliHere(['import', 'thing', 'nokey.csv']);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toMatch(/the import failed: the file has no column for "key" \(required\)/);
  // An unknown kind is the API's 400, naming the field.
  const unknown = await cliHere(['import', 'planet', 'nokey.csv']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/kind/);
});

test('schedules: list, pause with a reason, unpause, trigger a run; an unknown schedule is exit 1', async () => {
  const template = await stack.api.call('POST', '/api/templates', {
    name: `cli-${Date.now()}`,
    pipeline: 'fixture',
    source: { kind: 'items', items: [{ key: 's-1' }] },
  });
  expect(template.status).toBe(201);
  const created = await stack.api.call('POST', '/api/schedules', {
    templateId: template.body.id,
    slug: `cli-test-${Date.now().toString(36)}`,
    cron: '0 9 * * MON',
  });
  expect(created.status).toBe(201);
  const id: string = created.body.id;
  try {
    const listed = await cliHere(['schedules', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`^${id}\\s+active\\s+0 9 \\* \\* MON\\s+\\S+\\s+${template.body.id} / fixture$`, 'm'),
    );

    expect(await cliHere(['schedules', 'pause', id, '--reason', 'partner maintenance'])).toMatchObject({
      code: 0,
      stdout: `paused schedule ${id}\n`,
    });
    const paused = await stack.api.call('GET', `/api/schedules/${id}`);
    expect(paused.body).toMatchObject({ paused: true, note: 'partner maintenance' });
    expect((await cliHere(['schedules', 'list'])).stdout).toMatch(new RegExp(`^${id}\\s+paused`, 'm'));
    expect((await cliHere(['schedules', 'unpause', id])).code).toBe(0);
    expect((await stack.api.call('GET', `/api/schedules/${id}`)).body.paused).toBe(false);

    expect(await cliHere(['schedules', 'trigger', id])).toMatchObject({
      code: 0,
      stdout: `triggered schedule ${id}\n`,
    });
    await waitFor(async () => (await stack.db.batch.count({ where: { scheduleId: id } })) > 0, {
      what: 'the triggered run to start a batch',
    });

    const unknown = await cliHere(['schedules', 'pause', 'flotilla-no-such-schedule']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not found \(HTTP 404 not_found\)/);
    const noId = await cliHere(['schedules', 'trigger']);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toMatch(/<scheduleId> is required/);
  } finally {
    // The dev server is shared by every test file: leave no schedule behind.
    await stack.api.call('DELETE', `/api/schedules/${id}`);
  }
});

test('users (super admins): list, sign one out everywhere, disable, enable; a malformed ID is exit 2', async () => {
  const auth = new AuthService({ db: stack.db, sessionTtlMs: 3_600_000 });
  const password = 'a long enough password';
  const u = await auth.createUser({
    email: `cli-user-${Date.now().toString(36)}@test.local`,
    password,
    orgId: 'default',
    role: 'member',
    canRunBatch: false,
  });
  await auth.signIn(u.email, password);
  const listed = await cliHere(['users', 'list', '--org', 'default']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(
    new RegExp(`^${u.id}\\s+${u.email.replace(/\./g, '\\.')}\\s+default\\s+member\\s+no\\s+active$`, 'm'),
  );
  expect(await cliHere(['users', 'revoke-sessions', u.id])).toMatchObject({
    code: 0,
    stdout: `signed ${u.id} out of 1 session(s)\n`,
  });
  expect(await cliHere(['users', 'disable', u.id])).toMatchObject({ code: 0, stdout: `disabled user ${u.id}\n` });
  expect(await auth.signIn(u.email, password)).toBeNull();
  expect(await cliHere(['users', 'enable', u.id])).toMatchObject({ code: 0, stdout: `enabled user ${u.id}\n` });
  expect(await auth.signIn(u.email, password)).not.toBeNull();
  const bad = await cliHere(['users', 'disable', 'nope']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/<userId>: expected a user ID/);
});

describe('the local token `npm start` saves', () => {
  let recorder: http.Server;
  let recorderUrl: string;
  let dataDir: string;
  /** Authorization headers the other server received. */
  const received: Array<string | undefined> = [];

  beforeAll(async () => {
    recorder = http.createServer((req, res) => {
      received.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"batches":[],"nextCursor":null}');
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', () => r()));
    recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-cli-data-'));
    // As `npm start` does for the API it runs.
    await ensureLocalAdmin(stack.db, dataDir, [stack.api.base]);
  });

  afterAll(async () => {
    await new Promise((r) => recorder.close(r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('is sent to the API it was saved for and to no other; FLOTILLA_TOKEN goes where the user points it', async () => {
    const saved = fs.readFileSync(path.join(dataDir, 'cli-token'), 'utf8').trim();
    const local = await cli(['list'], { FLOTILLA_TOKEN: '', DATA_DIR: dataDir });
    expect(local).toMatchObject({ code: 0, stderr: '' });

    const other = await cli(['list'], { FLOTILLA_TOKEN: '', DATA_DIR: dataDir, FLOTILLA_API_URL: recorderUrl });
    const viaFlag = await cli(['list', '--api', recorderUrl], { FLOTILLA_TOKEN: '', DATA_DIR: dataDir });
    expect(received.filter((h) => h?.includes(saved))).toEqual([]);
    for (const run of [other, viaFlag]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `the API token saved by npm start (${path.join(dataDir, 'cli-token')}) is for ${stack.api.base}, not ${recorderUrl}`,
      );
    }

    const explicit = await cli(['list'], {
      FLOTILLA_TOKEN: 'flt_chosen-by-the-user',
      DATA_DIR: dataDir,
      FLOTILLA_API_URL: recorderUrl,
    });
    expect(explicit.code).toBe(0);
    expect(received).toContain('Bearer flt_chosen-by-the-user');
  });
});

describe('terminal pieces', () => {
  test('SSE events survive arbitrary chunk boundaries; retry is reported', async () => {
    const text =
      'retry: 1500\n\n: keep-alive\n\nevent: progress\ndata: {"a":1}\n\nevent: done\r\ndata: {"a":\ndata: 2}\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.slice(i, i + 7);
    }
    let retry = 0;
    const events = [];
    for await (const e of sseEvents(chunks(), { onRetry: (ms) => (retry = ms) })) events.push(e);
    expect(retry).toBe(1500);
    expect(events).toEqual([
      { event: 'progress', data: '{"a":1}' },
      { event: 'done', data: '{"a":\n2}' },
    ]);
  });

  test('on a TTY the bar is redrawn in place; elsewhere each distinct state is one line', () => {
    const p = {
      status: 'running' as const,
      total: 10,
      processed: 4,
      succeeded: 3,
      failed: 1,
      skipped: 0,
      cancelled: 0,
      running: 2,
      elapsedMs: 5_000,
      etaMs: 7_000,
    };
    const tty: string[] = [];
    const view = new ProgressView({ isTTY: true, columns: 120, write: (s: string) => tty.push(s) });
    view.update(p);
    view.update({ ...p, processed: 5, succeeded: 4 });
    view.finish({ ...p, status: 'completed', processed: 10, succeeded: 9, running: 0 });
    expect(tty.slice(0, 3).every((s) => s.startsWith('\r\x1b[2K') && !s.includes('\n'))).toBe(true);
    expect(tty[0]).toMatch(/running\s+\[█{12}░{18}\]\s+4\/10\s+40%/);
    expect(tty[2]).toMatch(/completed .* 10\/10\s+100%/);
    expect(tty[3]).toBe('\n');

    const plain: string[] = [];
    const log = new ProgressView({ isTTY: false, write: (s: string) => plain.push(s) });
    log.update(p);
    log.update(p);
    log.finish({ ...p, status: 'completed', processed: 10 });
    expect(plain).toEqual([
      'running 4/10 (40%) succeeded=3 failed=1 skipped=0 cancelled=0 running=2 elapsed=0:05 eta=0:07\n',
      'completed 10/10 (100%) succeeded=3 failed=1 skipped=0 cancelled=0 running=2 elapsed=0:05\n',
    ]);
  });
});
