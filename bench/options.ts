/** The command line of `npm run bench` (bench/run.ts's header lists it); the JSON records the parsed options as they are. */
import path from 'node:path';
import type { MillionOptions } from './million';

export interface Options {
  sizes: number[];
  concurrency: number;
  baseline: boolean;
  /** Children per parent in the children baseline (default: as many parents as the engine's batch had partitions). */
  childrenPerParent?: number;
  naive: boolean;
  smallRuns: number;
  /** A 20-item batch first, so the worker's bundle compile is not timed (off: a CI smoke run). */
  warmUp: boolean;
  out?: string;
  dir?: string;
  single: boolean;
  /** One batch of splitSize items against `split` concurrent batches of splitSize/split (0: not run). */
  split: number;
  splitSize: number;
  /** Which Temporal the run starts: the dev server, or the production topology (lib/temporal-cluster.ts). */
  server: 'dev' | 'cluster';
  /** The variables of this process that tune the API and worker it starts (partitioning, worker slots). */
  env: Record<string, string>;
  /** `--million [N]`: the entity import and one batch over N recipients instead (bench/million.ts). */
  million?: MillionOptions;
}

export function parseArgs(argv: string[]): Options {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) =>
      /^(BATCH_(ITEMS_PER_PARTITION|MAX_PARTITIONS|MIN_PARTITION_WINDOW)|WORKER_MAX_\w+)$/.test(k),
    ),
  ) as Record<string, string>;
  const o: Options = {
    sizes: [2_000, 10_000],
    concurrency: 200,
    baseline: true,
    naive: true,
    smallRuns: 10,
    warmUp: true,
    single: false,
    split: 4,
    splitSize: 2_000,
    server: 'dev',
    env,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--sizes') o.sizes = next().split(',').map(Number);
    else if (a === '--items') {
      o.sizes = [Number(next())];
      o.single = true;
      o.baseline = false;
      o.naive = false;
      o.smallRuns = 0;
      o.split = 0;
    } else if (a === '--concurrency') o.concurrency = Number(next());
    else if (a === '--no-baseline') o.baseline = false;
    else if (a === '--children-per-parent') o.childrenPerParent = Number(next());
    else if (a === '--no-naive') o.naive = false;
    else if (a === '--small-runs') o.smallRuns = Number(next());
    else if (a === '--no-warm-up') o.warmUp = false;
    else if (a === '--split') o.split = Number(next());
    else if (a === '--no-split') o.split = 0;
    else if (a === '--split-size') o.splitSize = Number(next());
    else if (a === '--server') {
      const v = next();
      if (v !== 'dev' && v !== 'cluster') throw new Error(`--server is dev or cluster, not ${v}`);
      o.server = v;
    } else if (a === '--million') {
      const n = argv[i + 1] && /^\d+$/.test(argv[i + 1]) ? Number(next()) : 1_000_000;
      o.million = { rows: n, pipeline: 'dm-creative', runMinutes: 30, concurrency: 50, ...o.million };
    } else if (a === '--pipeline' || a === '--run-minutes') {
      if (!o.million) throw new Error(`${a} goes after --million`);
      if (a === '--pipeline') o.million.pipeline = next();
      else o.million.runMinutes = Number(next());
    } else if (a === '--out') o.out = next();
    else if (a === '--dir') o.dir = path.resolve(next());
    else throw new Error(`unknown option ${a}`);
  }
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('sizes must be positive integers');
  if (o.million && argv.includes('--concurrency')) o.million.concurrency = o.concurrency;
  if (
    !Number.isInteger(o.split) ||
    o.split < 0 ||
    (o.split > 0 && (!Number.isInteger(o.splitSize) || o.splitSize % o.split !== 0 || o.splitSize < o.split))
  )
    throw new Error('--split K needs a --split-size that K divides');
  return o;
}
