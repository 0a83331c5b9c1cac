/**
 * Determinism guard: every saved history in test/histories must replay against today's
 * workflow code. A change that would break running batches (reordered commands, a removed
 * signal, a new activity call without a patch) fails here, in CI, before it ships.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

// Replay workers log every state change at INFO; only problems matter here.
Runtime.install({ logger: new DefaultLogger('WARN') });

const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('there are saved histories of both workflow types', () => {
  expect(files.some((f) => f.startsWith('batch-'))).toBe(true);
  expect(files.some((f) => f.startsWith('item-'))).toBe(true);
});

test.each(files)('%s replays without nondeterminism', async (file) => {
  const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  expect(history.events.length).toBeGreaterThan(5);
  await Worker.runReplayHistory(
    { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } },
    history,
    file.replace(/\.json$/, ''),
  );
});
