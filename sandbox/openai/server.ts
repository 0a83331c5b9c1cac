/**
 * STAND-IN for an OpenAI-compatible chat completions API. It is NOT OpenAI and NOT part of the
 * Flotilla engine: the real web is unreachable here, so the AI pipelines, their tests and
 * `npm start` talk to this server on loopback through the real `openai` client code path.
 *
 * What it does (all in memory, deterministic, see ./fake-content.ts for the answers):
 * - POST /v1/chat/completions with `model`, `messages` and optionally
 *   `response_format: {type: 'json_schema', json_schema: {name, schema}}` (an answer generated
 *   from the schema and the prompt that validates against it) or `{type: 'json_object'}`;
 *   plain answers are derived from the last user message and the number of earlier turns.
 * - `usage` with realistic token counts: characters / 4, rounded up (prompt: all message
 *   contents; completion: the answer).
 * - Bearer key check when started with an `apiKey` (401 `invalid_api_key` otherwise).
 * - Fault injection (`addFaults`): answer matching requests with a status (429, 500, 400, ...),
 *   or with a 200 whose content you choose (e.g. JSON that breaks the schema), N times or always.
 * - Optional latency per request.
 * - A log of every request (`requests`: model, messages, headers, response format, status,
 *   usage, answer, start and end time) for tests to assert on.
 * - GET /v1/models, GET /healthz.
 *
 * Errors use OpenAI's shape: `{ error: { message, type, param, code } }`.
 *
 * From tests: `startOpenAiStandIn({ port: 0, apiKey })`. As a script:
 *   tsx sandbox/openai/server.ts   (OPENAI_STANDIN_PORT=4020, OPENAI_API_KEY=stand-in-key)
 */
import http from 'node:http';
import { z } from 'zod';
import { plainAnswer, structuredAnswer, type JsonSchema } from './fake-content';
import { asyncHandler } from '../async-handler';
import { baseUrlOf, closeServer, listen, runFromCli } from '../serve';

export interface RecordedRequest {
  /** 1-based, in arrival order. */
  n: number;
  method: string;
  path: string;
  model: string | null;
  messages: Array<{ role: string; content: string }>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  responseFormat: unknown;
  status: number;
  faulted: boolean;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  /** The assistant message content returned (null for errors). */
  answer: string | null;
  /** Epoch ms when the request arrived and when the answer was sent. */
  startedAt: number;
  endedAt: number;
}

export type TextMatch = string | RegExp;

export interface FaultRule {
  /**
   * Which requests: a string or RegExp over the messages' text, or fields to match. Omitted:
   * every chat completion.
   */
  match?: TextMatch | { content?: TextMatch; model?: string; idempotencyKey?: TextMatch; lastUser?: TextMatch };
  /** HTTP status to answer with. 200 answers normally but with `content` as the message. */
  status: number;
  /** Fault only the first N matching requests. Omitted: every one. */
  times?: number;
  message?: string;
  /** For status 200: the assistant content to return instead of the generated one. */
  content?: string;
  delayMs?: number;
}

/** Fault rules as JSON (string matches only) for POST /__standin/faults. */
const HttpFaults = z.object({
  rules: z.array(
    z
      .object({
        match: z
          .union([
            z.string(),
            z
              .object({
                content: z.string().optional(),
                model: z.string().optional(),
                idempotencyKey: z.string().optional(),
                lastUser: z.string().optional(),
              })
              .strict(),
          ])
          .optional(),
        status: z.number().int().min(200).max(599),
        times: z.number().int().positive().optional(),
        message: z.string().optional(),
        content: z.string().optional(),
        delayMs: z.number().int().min(0).max(120_000).optional(),
      })
      .strict(),
  ),
});

interface StoredFault extends FaultRule {
  hits: number;
}

export interface OpenAiStandIn {
  /** Base URL for the openai client, ending in /v1. */
  url: string;
  requests: RecordedRequest[];
  addFaults(rules: FaultRule | FaultRule[]): void;
  clearFaults(): void;
  /** Forgets requests and faults. */
  reset(): void;
  setLatency(ms: number | { min: number; max: number }): void;
  close(): Promise<void>;
}

export interface OpenAiStandInOptions {
  port?: number;
  host?: string;
  /** When set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  latencyMs?: number | { min: number; max: number };
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;

const contentPart = z.object({ type: z.string(), text: z.string().optional() }).passthrough();
const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  })
  .passthrough();

const requestSchema = z
  .object({
    model: z.string().min(1, 'model is required'),
    messages: z.array(messageSchema).min(1, 'messages must not be empty'),
    stream: z.boolean().optional(),
    response_format: z
      .union([
        z.object({ type: z.literal('text') }),
        z.object({ type: z.literal('json_object') }),
        z.object({
          type: z.literal('json_schema'),
          json_schema: z
            .object({
              name: z.string().min(1).max(64),
              schema: z.record(z.string(), z.unknown()).optional(),
              strict: z.boolean().nullish(),
            })
            .passthrough(),
        }),
      ])
      .optional(),
  })
  .passthrough();

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

function textOf(content: z.infer<typeof messageSchema>['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('\n');
  return '';
}

const tokens = (chars: number) => Math.ceil(chars / 4);

function matches(m: TextMatch | undefined, text: string): boolean {
  if (m === undefined) return true;
  return typeof m === 'string' ? text.includes(m) : new RegExp(m.source, m.flags.replace('g', '')).test(text);
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          new HttpError(
            413,
            'invalid_request_error',
            'request_too_large',
            `request body exceeds ${MAX_BODY_BYTES} bytes`,
          ),
        );
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startOpenAiStandIn(opts: OpenAiStandInOptions = {}): Promise<OpenAiStandIn> {
  const requests: RecordedRequest[] = [];
  let faults: StoredFault[] = [];
  let latency = opts.latencyMs ?? 0;
  let counter = 0;

  const faultFor = (
    model: string,
    messages: RecordedRequest['messages'],
    headers: Record<string, string>,
  ): StoredFault | undefined => {
    const all = messages.map((m) => m.content).join('\n');
    const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    return faults.find((f) => {
      if (f.times !== undefined && f.hits >= f.times) return false;
      const m = f.match;
      if (m === undefined) return true;
      if (typeof m === 'string' || m instanceof RegExp) return matches(m, all);
      return (
        (m.model === undefined || m.model === model) &&
        matches(m.content, all) &&
        matches(m.lastUser, lastUser) &&
        (m.idempotencyKey === undefined || matches(m.idempotencyKey, headers['idempotency-key'] ?? ''))
      );
    });
  };

  const completions = async (body: unknown, entry: RecordedRequest): Promise<unknown> => {
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HttpError(
        400,
        'invalid_request_error',
        'invalid_request',
        `Invalid request: ${issue?.path.join('.') || 'body'}: ${issue?.message}`,
        issue?.path.join('.') || null,
      );
    }
    const reqBody = parsed.data;
    entry.model = reqBody.model;
    entry.messages = reqBody.messages.map((m) => ({ role: m.role, content: textOf(m.content) }));
    entry.responseFormat = reqBody.response_format ?? null;
    if (reqBody.stream)
      throw new HttpError(
        400,
        'invalid_request_error',
        'unsupported_parameter',
        'the stand-in does not stream; send stream: false',
        'stream',
      );

    const fault = faultFor(reqBody.model, entry.messages, entry.headers);
    let forcedContent: string | undefined;
    if (fault) {
      fault.hits++;
      await sleep(fault.delayMs ?? 0);
      if (fault.status !== 200) {
        entry.faulted = true;
        const type =
          fault.status === 429 ? 'rate_limit_error' : fault.status >= 500 ? 'server_error' : 'invalid_request_error';
        const code =
          fault.status === 429
            ? 'rate_limit_exceeded'
            : fault.status >= 500
              ? 'server_error'
              : fault.status === 401
                ? 'invalid_api_key'
                : 'injected_fault';
        throw new HttpError(fault.status, type, code, fault.message ?? `injected fault (${fault.status})`);
      }
      entry.faulted = true;
      forcedContent = fault.content ?? '';
    }

    const lastUser = [...entry.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    let answer: string;
    if (forcedContent !== undefined) {
      answer = forcedContent;
    } else if (reqBody.response_format?.type === 'json_schema') {
      const schema = (reqBody.response_format.json_schema.schema ?? { type: 'object', properties: {} }) as JsonSchema;
      try {
        answer = JSON.stringify(structuredAnswer(schema, lastUser));
      } catch (err) {
        throw new HttpError(
          400,
          'invalid_request_error',
          'invalid_json_schema',
          `Invalid schema for response_format '${reqBody.response_format.json_schema.name}': ${(err as Error).message}`,
          'response_format',
        );
      }
    } else if (reqBody.response_format?.type === 'json_object') {
      answer = JSON.stringify({
        answer: plainAnswer(lastUser, entry.messages.filter((m) => m.role === 'assistant').length),
      });
    } else {
      answer = plainAnswer(lastUser, entry.messages.filter((m) => m.role === 'assistant').length);
    }
    const promptChars = entry.messages.reduce((n, m) => n + m.content.length, 0);
    const usage = { prompt_tokens: tokens(promptChars), completion_tokens: tokens(answer.length), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    entry.usage = usage;
    entry.answer = answer;
    return {
      id: `chatcmpl-standin-${entry.n}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: reqBody.model,
      system_fingerprint: 'fp_standin',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: answer, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
    };
  };

  const server = http.createServer(
    asyncHandler(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
      const entry: RecordedRequest = {
        n: ++counter,
        method: req.method ?? 'GET',
        path: url.pathname,
        model: null,
        messages: [],
        headers,
        responseFormat: null,
        status: 0,
        faulted: false,
        usage: null,
        answer: null,
        startedAt: Date.now(),
        endedAt: 0,
      };
      const send = (status: number, body: unknown) => {
        entry.status = status;
        entry.endedAt = Date.now();
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(text),
          ...(status === 429 ? { 'Retry-After': '1' } : {}),
        });
        res.end(text);
      };
      try {
        if (url.pathname === '/healthz') return send(200, { ok: true, service: 'openai-stand-in' });
        // Fault injection over HTTP, for a running `npm start` (tests call addFaults directly).
        if (url.pathname === '/__standin/faults') {
          if (req.method === 'DELETE') {
            faults = [];
            return send(200, { rules: [] });
          }
          if (req.method === 'POST') {
            const parsed = HttpFaults.safeParse(JSON.parse((await readBody(req)) || '{}'));
            if (!parsed.success)
              throw new HttpError(
                400,
                'invalid_request_error',
                'invalid_faults',
                `invalid fault rules: ${parsed.error.issues[0]?.message}`,
              );
            for (const r of parsed.data.rules) faults.push({ ...r, hits: 0 });
            return send(201, { rules: faults });
          }
        }
        if (!url.pathname.startsWith('/v1/'))
          throw new HttpError(
            404,
            'invalid_request_error',
            'unknown_url',
            `Unknown request URL: ${req.method} ${url.pathname}`,
          );
        requests.push(entry);
        if (opts.apiKey && headers.authorization !== `Bearer ${opts.apiKey}`) {
          throw new HttpError(401, 'invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.');
        }
        const min = typeof latency === 'number' ? latency : latency.min;
        const max = typeof latency === 'number' ? latency : Math.max(latency.min, latency.max);
        await sleep(min + Math.random() * (max - min));
        if (req.method === 'GET' && url.pathname === '/v1/models') {
          return send(200, {
            object: 'list',
            data: ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini'].map((id) => ({
              id,
              object: 'model',
              owned_by: 'stand-in',
            })),
          });
        }
        if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
          const raw = await readBody(req);
          let body: unknown;
          try {
            body = JSON.parse(raw);
          } catch {
            throw new HttpError(
              400,
              'invalid_request_error',
              'invalid_json',
              'We could not parse the JSON body of your request.',
            );
          }
          return send(200, await completions(body, entry));
        }
        throw new HttpError(
          404,
          'invalid_request_error',
          'unknown_url',
          `Unknown request URL: ${req.method} ${url.pathname}`,
        );
      } catch (err) {
        const e =
          err instanceof HttpError
            ? err
            : new HttpError(500, 'server_error', 'internal_error', `stand-in error: ${(err as Error).message}`);
        send(e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } });
      }
    }),
  );

  await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  return {
    url: `${baseUrlOf(server)}/v1`,
    requests,
    addFaults: (rules) => {
      for (const r of Array.isArray(rules) ? rules : [rules]) faults.push({ ...r, hits: 0 });
    },
    clearFaults: () => {
      faults = [];
    },
    reset: () => {
      requests.length = 0;
      faults = [];
    },
    setLatency: (ms) => {
      latency = ms;
    },
    close: () => closeServer(server),
  };
}

if (require.main === module) {
  const port = Number(process.env.OPENAI_STANDIN_PORT ?? 4020);
  const apiKey = process.env.OPENAI_API_KEY ?? 'stand-in-key';
  runFromCli(
    'OpenAI stand-in',
    () => startOpenAiStandIn({ port, apiKey, latencyMs: { min: 50, max: 400 } }),
    (s) => ({ url: s.url }),
  );
}
