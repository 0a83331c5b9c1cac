/**
 * Determinism guard: every saved history in test/histories must replay against today's
 * workflow code. A change that would break running batches (reordered commands, a removed
 * signal, a new activity call without a patch) fails here, in CI, before it ships.
 *
 * The saved histories are exactly the scenarios listed in test/support/histories.ts (a missing
 * one or one not listed fails), each of the workflow type its prefix names and showing what makes
 * it that scenario. They are recorded by the tests that exercise them, in one command:
 *
 *   bash scripts/record-histories.sh
 *
 * which runs the test files that call recordHistory with RECORD_HISTORIES=1 into a fresh folder,
 * replays that folder with this test, and only then replaces test/histories/*.json with it
 * (RECORD_HISTORIES_DIR=<dir> to put them elsewhere). Record again when a workflow change is
 * meant to break old histories (nothing deployed runs them) or adds a scenario; add a scenario
 * by listing it in SCENARIOS and calling recordHistory from the test that makes it happen.
 * REPLAY_HISTORIES_DIR=<dir> replays another folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { problemsOf, scenarioNames, type JsonHistory } from './support/histories';

// Replay workers log every state change at INFO; only problems matter here.
Runtime.install({ logger: new DefaultLogger('WARN') });

const dir = process.env.REPLAY_HISTORIES_DIR || path.join(__dirname, 'histories');
const saved = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''))
  .sort();

test('the saved histories are exactly the listed scenarios', () => {
  const listed: string[] = scenarioNames;
  expect({
    dir,
    missing: listed.filter((n) => !saved.includes(n)),
    notListed: saved.filter((n) => !listed.includes(n)),
  }).toEqual({ dir, missing: [], notListed: [] });
});

// (describe.each refuses an empty table; the test above names every missing file then.)
if (saved.length > 0)
  describe.each(saved)('%s', (name) => {
    let history: JsonHistory;
    beforeAll(() => {
      history = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
    });

    test('is a listed scenario of the workflow type its name says, showing what makes it that scenario', () => {
      expect(problemsOf(name, history)).toEqual([]);
    });

    test('replays without nondeterminism', async () => {
      expect(history.events.length).toBeGreaterThan(5);
      await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, history, name);
    });
  });
