/**
 * The egress guard through the real stack (API, Temporal, worker): issue 12's reproduction — a
 * signed-in operator's dry run of a company whose website is a metrics endpoint on the worker's
 * loopback — plus a redirect from an allowed stand-in to a refused address, a batch item failing
 * EgressBlocked once and for good, and a webhook delivery refused at send time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { egressRequest } from '../lib/egress';
import { createCompanyEnrichmentPipeline } from '../pipelines/company-enrichment';
import { definePipeline, type PipelineDefinition } from '../pipelines/types';
import { startCompanySites, type CompanySitesStandIn } from '../sandbox/company-sites/server';
import { startOpenAiStandIn, type OpenAiStandIn } from '../sandbox/openai/server';
import { batchEnded, startBatch, waitFor } from './support/api';
import { allowStandIns } from './support/egress';
import { fixturePipeline } from './support/fixture-pipeline';
import { startStack, uid } from './support/stack';

const KEY = 'sk-egress-test';
const METRICS_BODY = '# HELP flotilla_worker_secret a worker-internal metric\nflotilla_worker_secret 42\n';

let stack: Awaited<ReturnType<typeof startStack>>;
let sites: CompanySitesStandIn;
let openai: OpenAiStandIn;
/** Stands in for the worker's Prometheus endpoint (WORKER_METRICS_PORT) on loopback. */
let metrics: http.Server;
let metricsUrl: string;
let metricsHits = 0;
/** A webhook receiver on loopback that the worker's policy does not allow. */
let hooks: http.Server;
let hookUrl: string;
let hookHits = 0;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A step "added later" that calls the guard itself, knowing nothing of step errors. */
const probePipeline = definePipeline({
  name: 'egress-probe',
  title: 'Egress probe',
  description: 'Fetches a URL through the egress guard.',
  version: 1,
  itemNoun: 'URL',
  itemSchema: z.object({ key: z.string(), url: z.string() }),
  settingsSchema: z.object({}),
  itemKey: (item) => item.key,
  steps: [
    {
      name: 'probe',
      run: async (ctx) => {
        const res = await egressRequest(ctx.item.url, { allow: [] }, { signal: ctx.signal });
        res.body.resume();
        return { status: res.status };
      },
    },
  ],
});

beforeAll(async () => {
  metrics = http.createServer((_req, res) => {
    metricsHits++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(METRICS_BODY);
  });
  metricsUrl = `${await listen(metrics)}/metrics`;
  hooks = http.createServer((req, res) => {
    hookHits++;
    req.resume();
    res.writeHead(200).end();
  });
  hookUrl = `${await listen(hooks)}/hooks/flotilla`;
  [sites, openai] = await Promise.all([startCompanySites({ port: 0 }), startOpenAiStandIn({ port: 0, apiKey: KEY })]);
  const pipelines = [
    // Only the sites stand-in is allowed: the metrics endpoint on the same host is not.
    createCompanyEnrichmentPipeline({
      ai: { baseUrl: openai.url, apiKey: KEY, model: 'gpt-4o-mini' },
      sitesBaseUrl: sites.url,
      egress: allowStandIns(sites.url),
    }),
    fixturePipeline,
    probePipeline,
  ] as unknown as PipelineDefinition[];
  stack = await startStack({
    name: 'egress',
    pipelines,
    jobGuard: false,
    // The API accepts the receiver (as if EGRESS_ALLOW had listed it when the batch was created);
    // the worker's policy, checked at each delivery, does not list it.
    egress: allowStandIns(hookUrl),
    notifications: {
      smtp: { port: 587, secure: false, from: 'Flotilla <flotilla@localhost>' },
      appUrl: 'http://flotilla.test',
      egress: { allow: [] },
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await Promise.all([sites?.close(), openai?.close()]);
  await Promise.all([new Promise((r) => metrics?.close(r)), new Promise((r) => hooks?.close(r))]);
});

interface DryRunStep {
  name: string;
  outcome: string;
  output?: unknown;
  error?: string;
}

async function dryRun(website: string) {
  const res = await stack.api.call('POST', '/api/pipelines/company-enrichment/dry-run', {
    item: { name: 'x', website },
    settings: { operation: 'enrich' },
  });
  expect(res.status).toBe(200);
  return { body: res.body as { ok: boolean; steps: DryRunStep[] }, text: JSON.stringify(res.body) };
}

test("issue 12's reproduction: a dry run of a loopback metrics URL returns no metrics, only EgressBlocked naming 127.0.0.1", async () => {
  const hitsBefore = metricsHits;
  const { body, text } = await dryRun(metricsUrl);
  expect(text).not.toContain('flotilla_worker_secret');
  expect(body.ok).toBe(false);
  expect(body.steps[0]).toMatchObject({
    name: 'fetch-website',
    outcome: 'failed',
    error: 'EgressBlocked: 127.0.0.1 is a loopback address',
  });
  expect(body.steps.slice(1).every((s) => s.outcome === 'not-reached')).toBe(true);
  expect(metricsHits).toBe(hitsBefore);
});

test('an allowed stand-in that redirects to a refused address is refused at the redirect', async () => {
  const hitsBefore = metricsHits;
  const sitesBefore = sites.requests.length;
  const { body, text } = await dryRun(`${sites.url}/__test/redirect-to?url=${encodeURIComponent(metricsUrl)}`);
  expect(text).not.toContain('flotilla_worker_secret');
  expect(body.steps[0]).toMatchObject({
    name: 'fetch-website',
    outcome: 'failed',
    error: 'EgressBlocked: 127.0.0.1 is a loopback address',
  });
  // The first hop went to the allowed stand-in; the second never left the worker.
  expect(sites.requests.slice(sitesBefore).map((r) => r.path)).toEqual(['/__test/redirect-to']);
  expect(metricsHits).toBe(hitsBefore);
});

test('a batch item whose website is internal fails EgressBlocked after one attempt; an allowed site beside it succeeds', async () => {
  const hitsBefore = metricsHits;
  // 2130706433 is 127.0.0.1 spelled as one decimal number.
  const internal = metricsUrl.replace('127.0.0.1', '2130706433');
  const items = [
    { key: 'internal', name: 'Internal', website: internal },
    { key: 'allowed', name: 'Northwind', website: `${sites.url}/northwind-robotics/` },
  ];
  const id = await startBatch(stack.api, {
    pipeline: 'company-enrichment',
    name: uid('egress'),
    items,
    settings: { operation: 'enrich' },
  });
  const batch = await batchEnded(stack.api, id);
  expect(batch.progress).toMatchObject({ status: 'completed_with_errors', succeeded: 1, failed: 1 });
  const list = (await stack.api.call('GET', `/api/batches/${id}/items?limit=10`)).body.items as Array<{
    key: string;
    status: string;
    error: unknown;
    steps: DryRunStep[];
  }>;
  const byKey = new Map(list.map((i) => [i.key, i]));
  expect(byKey.get('internal')).toMatchObject({
    status: 'failed',
    error: { step: 'fetch-website', type: 'EgressBlocked', message: '127.0.0.1 is a loopback address', attempts: 1 },
  });
  expect(byKey.get('allowed')?.status).toBe('succeeded');
  expect(JSON.stringify(list)).not.toContain('flotilla_worker_secret');
  expect(metricsHits).toBe(hitsBefore);
});

test('a webhook target the worker may not reach is a final EgressBlocked failure of that delivery, sent nowhere', async () => {
  const id = await startBatch(stack.api, {
    pipeline: 'fixture',
    name: uid('hooked'),
    items: [{ key: 'a' }],
    notify: { webhooks: [{ url: hookUrl, secret: 'egress-test-secret-0123456789' }] },
  });
  const delivery = await waitFor(
    async () => {
      const d = (await stack.api.call('GET', `/api/batches/${id}/notifications`)).body.deliveries as
        Array<{ channel: string; status: string }> | undefined;
      return d?.find((x) => x.channel === 'webhook' && ['failed', 'delivered'].includes(x.status));
    },
    { timeoutMs: 60_000, what: 'the webhook delivery to settle' },
  );
  expect(delivery).toMatchObject({
    status: 'failed',
    attempts: 1,
    target: hookUrl,
    lastError: 'EgressBlocked: 127.0.0.1 is a loopback address',
  });
  expect(hookHits).toBe(0);
});

test('a step added later that meets the guard itself fails once, not after the default retries', async () => {
  const hitsBefore = metricsHits;
  const id = await startBatch(stack.api, {
    pipeline: 'egress-probe',
    name: uid('probe'),
    items: [{ key: 'p', url: metricsUrl }],
  });
  await waitFor(
    async () =>
      ['completed', 'completed_with_errors', 'failed'].includes(
        (await stack.api.call('GET', `/api/batches/${id}`)).body.status,
      ),
    { timeoutMs: 60_000, what: `probe batch ${id} to finish` },
  );
  const [item] = (await stack.api.call('GET', `/api/batches/${id}/items?limit=10`)).body.items;
  expect(item).toMatchObject({
    status: 'failed',
    error: { step: 'probe', type: 'EgressBlocked', message: '127.0.0.1 is a loopback address', attempts: 1 },
  });
  expect(metricsHits).toBe(hitsBefore);
});
