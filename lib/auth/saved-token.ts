/**
 * The API token `npm start` saves for the local CLI (DATA_DIR/cli-token, the bare secret, so
 * `$(cat .data/cli-token)` works in curl) and, beside it, the API it belongs to
 * (DATA_DIR/cli-token-api.json). The CLI sends the saved token to those URLs only: a `--api`
 * pointing elsewhere must not hand the local super admin's token to another server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const TOKEN_FILE = 'cli-token';
const API_FILE = 'cli-token-api.json';

const SavedTokenApi = z.object({ apiUrls: z.array(z.url({ protocol: /^https?$/ })).min(1) });
type SavedTokenApi = z.infer<typeof SavedTokenApi>;

export interface SavedToken {
  token: string;
  /** Where it was read from (for messages). */
  file: string;
  /** The API base URLs it may be sent to; empty when none were recorded (send it nowhere). */
  apiUrls: string[];
}

export const savedTokenFile = (dataDir: string) => path.join(dataDir, TOKEN_FILE);

export function writeSavedToken(dataDir: string, token: string): void {
  fs.writeFileSync(savedTokenFile(dataDir), `${token}\n`, { mode: 0o600 });
}

/** Records the API the saved token belongs to (every `npm start`: the port may have changed). */
export function writeSavedTokenApi(dataDir: string, apiUrls: string[]): void {
  const body: SavedTokenApi = { apiUrls };
  fs.writeFileSync(path.join(dataDir, API_FILE), `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
}

export function readSavedToken(dataDir: string): SavedToken | undefined {
  const file = savedTokenFile(dataDir);
  let token: string;
  try {
    token = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!token) return undefined;
  let apiUrls: string[] = [];
  try {
    apiUrls = SavedTokenApi.parse(JSON.parse(fs.readFileSync(path.join(dataDir, API_FILE), 'utf8'))).apiUrls;
  } catch {
    // Saved by an older `npm start` (or edited by hand): no API is known, so the token goes nowhere.
  }
  return { token, file, apiUrls };
}

/** The URLs of an API listening on `host:port`, as a local client may spell them. */
export function localApiUrls(host: string, port: number): string[] {
  const loopback = ['0.0.0.0', '127.0.0.1', 'localhost', '::', '::1'].includes(host);
  return loopback
    ? [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
    : [`http://${host.includes(':') ? `[${host}]` : host}:${port}`];
}
