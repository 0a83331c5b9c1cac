/**
 * Runs api/upload-parse-worker.ts on one file in a fresh worker thread with a hard time limit and
 * a memory cap, so a hostile file (zip bomb, catastrophic backtracking, prototype pollution in a
 * parser) costs at most one thread that is then thrown away; the API's own heap, globals and
 * event loop never see the parser.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ParseJob, ParseOutcome } from './upload-parse-worker';

export type ParseResult = ParseOutcome | { ok: false; code: 'parse_timeout'; message: string; details?: Record<string, unknown> };

/** Heap of one parser thread: a workbook that needs more is refused as unreadable (a zip bomb does). */
const PARSER_HEAP_MB = 512;
/** Parser threads at once per API process; further uploads wait their turn (not counted against their timeout). */
const MAX_PARALLEL_PARSES = 2;

const WORKER_FILE = path.join(__dirname, 'upload-parse-worker.ts');
/**
 * The thread loads the TypeScript worker through tsx's CommonJS hook (tsx is a dependency: the
 * API itself runs under `node --import tsx`); it starts with no exec flags and an empty
 * environment, so no secret of the API process (DATABASE_URL, API keys) is visible to a parser.
 */
const BOOTSTRAP = `require('tsx/cjs/api').register(); require(${JSON.stringify(WORKER_FILE)});`;

let running = 0;
const waiting: Array<() => void> = [];

async function slot(): Promise<() => void> {
  if (running >= MAX_PARALLEL_PARSES) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  return () => {
    running -= 1;
    waiting.shift()?.();
  };
}

/** Parses `job.file` into `job.rowsFile`; never throws for anything the file does. */
/** How long a thread's posted outcome may trail its error or exit event. */
const EXIT_GRACE_MS = 250;

export async function parseInWorker(job: ParseJob, timeoutMs: number): Promise<ParseResult> {
  const release = await slot();
  try {
    return await new Promise<ParseResult>((resolve) => {
      let settled = false;
      const worker = new Worker(BOOTSTRAP, {
        eval: true,
        workerData: job,
        execArgv: [],
        env: {},
        stdout: true,
        stderr: true,
        resourceLimits: { maxOldGenerationSizeMb: PARSER_HEAP_MB, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      });
      // A parser's own chatter is not ours to print.
      worker.stdout.resume();
      worker.stderr.resume();
      const finish = (result: ParseResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
        void worker.terminate();
      };
      const timer = setTimeout(() => {
        const seconds = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 100) / 10} s` : `${timeoutMs} ms`;
        finish({ ok: false, code: 'parse_timeout', message: `reading the file took longer than ${seconds}; it was stopped (simplify or split the file)`, details: { field: 'file', timeoutMs } });
      }, timeoutMs);
      worker.once('message', (outcome: ParseOutcome) => finish(outcome));
      // An error or exit can overtake the outcome the thread already posted (a stream torn down
      // after the answer): give the message a moment to arrive before reporting the failure.
      const afterGrace = (result: ParseResult) => setTimeout(() => finish(result), EXIT_GRACE_MS);
      worker.once('error', (err: Error & { code?: string }) => {
        const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
        afterGrace({
          ok: false,
          code: 'unreadable_file',
          message: oom ? `reading the file needed more than ${PARSER_HEAP_MB} MB of memory (a compressed workbook that expands enormously?)` : `the file could not be read: ${err.message}`,
          details: { field: 'file' },
        });
      });
      worker.once('exit', (code) => afterGrace({ ok: false, code: 'unreadable_file', message: `the parser stopped without an answer (exit ${code})`, details: { field: 'file' } }));
    });
  } finally {
    release();
  }
}
