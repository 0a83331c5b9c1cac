/**
 * What README.md tells an operator to type works: its curl commands for the partner stand-in's
 * fault rules (add one, list them, drop one by id, clear them all), run against the real stand-in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startPartnerSandbox, type PartnerSandbox } from '../sandbox/partner-platform/server';

const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

interface Curl {
  method: string;
  path: string;
  body?: string;
}

/** The README's curl commands against the stand-in's fault rules, in the order it gives them. */
function faultCommands(): Curl[] {
  const joined = README.replace(/\\\n\s*/g, ' ');
  return [
    ...joined.matchAll(/curl -s(?: -X(\w+))? localhost:4010(\/__sandbox\/faults\S*)(?:[^\n]*?-d '([^']*)')?/g),
  ].map((m) => ({ method: m[1] ?? 'GET', path: m[2]!, ...(m[3] ? { body: m[3] } : {}) }));
}

let sandbox: PartnerSandbox;

beforeAll(async () => {
  sandbox = await startPartnerSandbox({ port: 0, apiKey: 'readme', latencyMs: { min: 0, max: 0 } });
});

afterAll(async () => {
  await sandbox?.close();
});

test('the README says how to add, list, drop and clear the partner stand-in’s fault rules, and each command works', async () => {
  const commands = faultCommands();
  expect(commands.map((c) => `${c.method} ${c.path}`)).toEqual([
    'POST /__sandbox/faults',
    'GET /__sandbox/faults',
    'DELETE /__sandbox/faults/<id>',
    'DELETE /__sandbox/faults',
  ]);
  const run = async (c: Curl, id?: string) => {
    const res = await fetch(`${sandbox.url}${c.path.replace('<id>', id ?? '')}`, {
      method: c.method,
      headers: c.body ? { 'content-type': 'application/json' } : {},
      body: c.body,
    });
    return { status: res.status, body: (await res.json()) as { rules: Array<{ id: string }> } };
  };
  const [add, list, drop, clear] = commands as [Curl, Curl, Curl, Curl];
  const first = await run(add);
  expect(first.status).toBe(201);
  await run(add);
  const listed = await run(list);
  expect(listed.body.rules).toHaveLength(2);
  const dropped = await run(drop, listed.body.rules[0]!.id);
  expect(dropped.body.rules.map((r) => r.id)).toEqual([listed.body.rules[1]!.id]);
  expect((await run(clear)).body.rules).toEqual([]);
  expect((await run(list)).body.rules).toEqual([]);
});
