/**
 * What the scenario benchmarks that drive a running stack (`npm start`) share: JSON over HTTP
 * that fails loudly, the stack's API called with the token the CLI would send, and writing the
 * result where BENCHMARKS.md points.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../contract/api-error';
import { ApiClient, bearerOf } from '../cli/api-client';
import { savedTokenFile } from '../lib/auth/saved-token';
import { dataDir } from '../lib/env';

/** A JSON request to a stand-in (partner platform, OpenAI), never the API: no token goes there. A 4xx/5xx throws with the answer's body. */
export async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * The stack's API at `app`, called as the CLI calls it: with FLOTILLA_TOKEN, else the token
 * `npm start` saved in DATA_DIR/cli-token, which goes only to the API it was saved for. A non-2xx
 * answer throws with its status and the API's error. `T` is the answer's shape (contract/).
 */
export function stackApi(app: string) {
  const bearer = bearerOf(process.env.FLOTILLA_TOKEN, dataDir);
  const client = new ApiClient(app, {}, bearer);
  return async <T>(method: 'GET' | 'POST' | 'DELETE', apiPath: string, body?: unknown): Promise<T> => {
    if (!bearer)
      throw new Error(
        `no API token: start the stack with npm start (it saves one in ${savedTokenFile(dataDir)}) or set FLOTILLA_TOKEN`,
      );
    try {
      return await client.json<T>(method, apiPath, body);
    } catch (err) {
      if (err instanceof ApiError)
        throw new Error(`${method} ${apiPath}: ${err.status} ${err.code}: ${err.message}`, { cause: err });
      throw err;
    }
  };
}

/** Prints the result and writes it to `out`, or to bench-results/<date>-<name>.json. */
export function writeResult(name: string, result: unknown, out?: string): void {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const file = out ?? path.join('bench-results', `${new Date().toISOString().slice(0, 10)}-${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
