/**
 * Runs services/upload-parse-worker.ts on one file in a fresh worker thread with a hard time limit and
 * a memory cap, so a hostile file (zip bomb, catastrophic backtracking, prototype pollution in a
 * parser) costs at most one thread that is then thrown away; the API's own heap, globals and
 * event loop never see the parser.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ParseJob, ParseOutcome } from './upload-parse-worker';

export type ParseResult =
  ParseOutcome | { ok: false; code: 'parse_timeout'; message: string; details?: Record<string, unknown> };

/** Heap of one parser thread: a workbook that needs more is refused as unreadable (a zip bomb does). */
const PARSER_HEAP_MB = 512;

const WORKER_FILE = path.join(__dirname, 'upload-parse-worker.ts');
/**
 * The thread loads the TypeScript worker through tsx's CommonJS hook (tsx is a dependency: the
 * API itself runs under `node --import tsx`); it starts with no exec flags and an environment
 * holding only TMPDIR, so no secret of the API process (DATABASE_URL, API keys) is visible to a parser.
 */
const BOOTSTRAP = `require('tsx/cjs/api').register(); require(${JSON.stringify(WORKER_FILE)});`;

/**
 * Admission of uploads, from their first byte to the end of their parse: at most `concurrency`
 * parse at once and `queue` more wait (receiving their bytes or their turn); one more is turned
 * away before anything of it is stored, rather than piling up files and threads.
 */
export class ParseQueue {
  private admitted = 0;
  private parsing = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  /** A place for one upload, or undefined when all are taken; `release` it when the upload is done. */
  admit(): { release: () => void } | undefined {
    if (this.admitted >= this.concurrency + this.queue) return undefined;
    this.admitted += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.admitted -= 1;
      },
    };
  }

  /** Runs `parse` when one of the `concurrency` slots is free; the wait does not count against its timeout. */
  async run<T>(parse: () => Promise<T>): Promise<T> {
    if (this.parsing >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.parsing += 1;
    try {
      return await parse();
    } finally {
      this.parsing -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** How long a thread's posted outcome may trail its error or exit event. */
const EXIT_GRACE_MS = 250;

/**
 * Parses `job.file` into `job.rowsFile`; never throws for anything the file does. The thread's
 * temp folder (TMPDIR: exceljs writes a worksheet that comes before the shared strings to a temp
 * file) is `job.workDir`, made for this parse and removed after the thread has stopped, also when
 * it was terminated mid-write.
 */
export async function parseInWorker(job: ParseJob, timeoutMs: number): Promise<ParseResult> {
  await fs.promises.mkdir(job.workDir, { recursive: true });
  let worker: Worker | undefined;
  try {
    return await new Promise<ParseResult>((resolve) => {
      let settled = false;
      worker = new Worker(BOOTSTRAP, {
        eval: true,
        workerData: job,
        execArgv: [],
        env: { TMPDIR: job.workDir },
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
      };
      const timer = setTimeout(() => {
        const seconds = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 100) / 10} s` : `${timeoutMs} ms`;
        finish({
          ok: false,
          code: 'parse_timeout',
          message: `reading the file took longer than ${seconds}; it was stopped (simplify or split the file)`,
          details: { field: 'file', timeoutMs },
        });
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
          message: oom
            ? `reading the file needed more than ${PARSER_HEAP_MB} MB of memory (a compressed workbook that expands enormously?)`
            : `the file could not be read: ${err.message}`,
          details: { field: 'file' },
        });
      });
      worker.once('exit', (code) =>
        afterGrace({
          ok: false,
          code: 'unreadable_file',
          message: `the parser stopped without an answer (exit ${code})`,
          details: { field: 'file' },
        }),
      );
    });
  } finally {
    await worker?.terminate();
    await fs.promises.rm(job.workDir, { recursive: true, force: true });
  }
}
