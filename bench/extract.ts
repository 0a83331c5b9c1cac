/**
 * `npm run bench:extract`: milliseconds to extract the facts of each 1 MiB hostile page
 * (bench/hostile-pages.ts), the way the company-enrichment fetch step does on a home page:
 * `extractFacts`, then `findSubpages` over its links.
 *
 *   npm run bench:extract                # 1 MiB pages, best of 3
 *   npm run bench:extract -- --kib 100 --runs 5
 */
import { extractFacts, findSubpages } from '../pipelines/company-enrichment/extract';
import { HOSTILE_PAGES } from './hostile-pages';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} takes a positive number`);
  return value;
}

const bytes = option('kib', 1024) * 1024;
const runs = option('runs', 3);
const url = 'https://hostile.example/';
let worst = 0;
for (const p of HOSTILE_PAGES) {
  const html = p.html(bytes);
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    findSubpages(extractFacts(html, url).links, url);
    best = Math.min(best, performance.now() - started);
  }
  worst = Math.max(worst, best);
  process.stdout.write(`${best.toFixed(1).padStart(9)} ms  ${p.name}\n`);
}
process.stdout.write(`${worst.toFixed(1).padStart(9)} ms  worst, per ${bytes / 1024} KiB page\n`);
