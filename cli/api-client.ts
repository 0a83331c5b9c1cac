/**
 * The CLI's view of the HTTP API: JSON calls and raw streams, with every non-2xx answer turned
 * into the contract's ApiError (contract/errors.ts), which keeps the API's
 * `{ error: { code, message, details } }` so the command can name the field at fault.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { ApiError } from '../contract/api-error';
import { readSavedToken } from '../lib/auth/saved-token';

/** The API token the CLI sends as `Authorization: Bearer`. */
export interface Bearer {
  token: string;
  /**
   * The saved local token (`npm start`) is only for the API it was saved with: these base URLs
   * (compared by origin) and where it came from. Absent for a token the user gave (FLOTILLA_TOKEN),
   * which goes wherever they point the CLI.
   */
  savedFor?: { apiUrls: string[]; file: string };
}

/**
 * The token to send: one the user gave (FLOTILLA_TOKEN), else the one `npm start` saved in
 * `dataDir` (sent only to the API it was saved for). Shared by the CLI and the benchmarks that
 * drive a running stack.
 */
export function bearerOf(given: string | undefined, dataDir: string): Bearer | undefined {
  if (given?.trim()) return { token: given.trim() };
  const saved = readSavedToken(dataDir);
  return saved ? { token: saved.token, savedFor: { apiUrls: saved.apiUrls, file: saved.file } } : undefined;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
    private readonly bearer?: Bearer,
  ) {}

  async json<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, { body, accept: 'application/json' });
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A file sent as the raw body (streamed from disk, never whole in memory), the JSON answer read back. */
  async upload<T>(path: string, file: string): Promise<T> {
    const res = await this.send('POST', path, { file, accept: 'application/json' });
    return (await res.json()) as T;
  }

  /** The raw response of a 2xx (for exports and SSE); the caller reads `body`. */
  async stream(path: string, opts: { accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
    return this.send('GET', path, opts);
  }

  private async send(
    method: string,
    path: string,
    opts: { body?: unknown; file?: string; accept?: string; signal?: AbortSignal },
  ): Promise<Response> {
    const url = new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    const authorization = this.authorizationFor(url);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...this.headers,
          ...(authorization ? { authorization } : {}),
          ...(opts.accept ? { accept: opts.accept } : {}),
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(opts.file !== undefined
            ? { 'content-type': 'application/octet-stream', 'content-length': String(fs.statSync(opts.file).size) }
            : {}),
        },
        body:
          opts.file !== undefined
            ? (Readable.toWeb(fs.createReadStream(opts.file)) as ReadableStream)
            : opts.body !== undefined
              ? JSON.stringify(opts.body)
              : undefined,
        signal: opts.signal,
        ...(opts.file !== undefined ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach the API at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
    if (res.ok) return res;
    throw ApiError.of(res.status, res.statusText, await res.text().catch(() => ''));
  }

  /** Refuses (before anything is sent) to hand the saved local token to another API. */
  private authorizationFor(url: URL): string | undefined {
    if (!this.bearer) return undefined;
    const saved = this.bearer.savedFor;
    if (saved && !saved.apiUrls.some((u) => URL.canParse(u) && new URL(u).origin === url.origin)) {
      const belongs = saved.apiUrls.length
        ? `is for ${saved.apiUrls.join(' or ')}`
        : 'records no API (run npm start again)';
      throw new ApiError(
        0,
        'token_not_sent',
        `the API token saved by npm start (${saved.file}) ${belongs}, not ${url.origin}; set FLOTILLA_TOKEN to call another API`,
      );
    }
    return `Bearer ${this.bearer.token}`;
  }
}
