/**
 * What the scenario benchmarks that drive a running stack (`npm start`) share: JSON over HTTP
 * that fails loudly, and writing the result where BENCHMARKS.md points.
 */
import fs from 'node:fs';
import path from 'node:path';

/** A JSON request; a 4xx/5xx throws with the answer's body. */
export async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Prints the result and writes it to `out`, or to bench-results/<date>-<name>.json. */
export function writeResult(name: string, result: unknown, out?: string): void {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const file = out ?? path.join('bench-results', `${new Date().toISOString().slice(0, 10)}-${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
