/**
 * The JSON of a `npm run bench` run: the machine, the options, then each phase's figures as it
 * ends. Written after every phase too, so a run stopped half-way (others share this machine)
 * keeps its figures; `complete` says whether it got to the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/temporal';
import type { Options } from './options';
import { loadAverage, say } from './util';

export class BenchReport {
  readonly result: Record<string, unknown>;
  /** --out, else bench-results/bench-<ms>.json. */
  readonly out: string;

  constructor(opts: Options) {
    this.result = {
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
      },
      options: opts,
      startedAt: new Date().toISOString(),
      // Others share this machine's cores: compare only figures of one run.
      loadAverageAtStart: loadAverage(),
      runs: [] as unknown[],
    };
    this.out = opts.out ?? path.join(PROJECT_ROOT, 'bench-results', `bench-${Date.now()}.json`);
  }

  /** A phase's figures under `key`, saved at once. */
  record(key: string, value: unknown): void {
    this.result[key] = value;
    this.save(false);
  }

  /** One size's engine and baseline figures, appended to `runs`, saved at once. */
  addRun(run: unknown): void {
    (this.result.runs as unknown[]).push(run);
    this.save(false);
  }

  save(complete: boolean): void {
    fs.mkdirSync(path.dirname(this.out), { recursive: true });
    fs.writeFileSync(this.out, JSON.stringify({ ...this.result, complete }, null, 2));
  }

  /** Stamps the end, saves the JSON complete and says where; `print` also writes it to stdout. */
  finish(print: boolean): void {
    this.result.finishedAt = new Date().toISOString();
    this.save(true);
    if (print) process.stdout.write(`${JSON.stringify(this.result, null, 2)}\n`);
    say(`written to ${this.out}`);
  }
}
