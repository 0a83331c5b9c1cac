/**
 * company-enrichment through the whole engine: the HTTP API starts a batch, the real worker runs
 * the five steps per company on the real Temporal dev server, fetching pages from the
 * company-sites stand-in and calling the OpenAI stand-in over real HTTP through the real
 * `openai` client. Checks results, skipped steps, retries, and that the costs add up: item cost
 * = its AI calls at list price from the usage the API reported; batch cost = sum of items.
 */
import {
  createCompanyEnrichmentPipeline,
  type ClassifyOutput,
  type FindContactsOutput,
  type SummariseOutput,
} from '../pipelines/company-enrichment';
import { demoCompanies } from '../pipelines/company-enrichment/demo-data';
import type { PipelineDefinition } from '../pipelines/types';
import { startCompanySites, type CompanySitesStandIn } from '../sandbox/company-sites/server';
import { startOpenAiStandIn, type OpenAiStandIn } from '../sandbox/openai/server';
import { batchEnded, startBatch } from './support/api';
import { allowStandIns } from './support/egress';
import { startStack, uid } from './support/stack';
import { gpt4oMiniCost } from './support/step-context';

const KEY = 'sk-e2e-enrich';
let stack: Awaited<ReturnType<typeof startStack>>;
let sites: CompanySitesStandIn;
let openai: OpenAiStandIn;

interface ApiItem {
  key: string;
  status: string;
  costUsd: number;
  error: { step: string; type: string; message: string; attempts: number } | null;
  steps: Array<{ step: string; status: string; attempts: number; output?: unknown; costUsd?: number }>;
}

beforeAll(async () => {
  [sites, openai] = await Promise.all([
    startCompanySites({ port: 0 }),
    startOpenAiStandIn({ port: 0, apiKey: KEY, latencyMs: { min: 5, max: 40 } }),
  ]);
  const pipelines = [
    createCompanyEnrichmentPipeline({
      ai: { baseUrl: openai.url, apiKey: KEY, model: 'gpt-4o-mini' },
      sitesBaseUrl: sites.url,
      egress: allowStandIns(sites.url),
    }),
  ] as unknown as PipelineDefinition[];
  stack = await startStack({ name: 'enrich', pipelines });
});

afterAll(async () => {
  await stack?.close();
  await Promise.all([sites?.close(), openai?.close()]);
});

async function runBatch(companies: unknown[], settings: Record<string, unknown>) {
  const id = await startBatch(stack.api, {
    pipeline: 'company-enrichment',
    name: uid('companies'),
    items: companies,
    settings,
    concurrency: 6,
  });
  const batch = await batchEnded(stack.api, id, { what: `company batch ${id} to finish` });
  const items: ApiItem[] = (await stack.api.call('GET', `/api/batches/${id}/items?limit=100`)).body.items;
  return { id, batch, items, byKey: new Map(items.map((i) => [i.key, i])) };
}

const output = <T>(item: ApiItem, step: string) => item.steps.find((s) => s.step === step)?.output as T;

/** The AI calls the stand-in answered for one item of one batch, found by their idempotency keys. */
const aiCallsOf = (batchId: string, key: string) =>
  openai.requests.filter((r) => r.status === 200 && r.headers['idempotency-key']?.startsWith(`${batchId}/${key}/`));

test('enrich the twelve demo companies: results per item, a gone site fails alone, costs add up', async () => {
  const { id, batch, items, byKey } = await runBatch(demoCompanies(sites.url), { operation: 'enrich' });
  expect(batch.progress).toMatchObject({ status: 'completed_with_errors', total: 12, succeeded: 11, failed: 1 });
  expect(batch.progress.steps['find-contacts']).toMatchObject({ succeeded: 11, skipped: 1 });

  // Atlas Legal's site is gone: a 404 is not retried.
  const gone = byKey.get('atlas-legal')!;
  expect(gone).toMatchObject({
    status: 'failed',
    error: { step: 'fetch-website', type: 'WebsiteNotFound', attempts: 1 },
  });
  expect(gone.costUsd).toBe(0);

  const northwind = byKey.get('northwind-robotics')!;
  expect(output<ClassifyOutput>(northwind, 'classify')).toMatchObject({
    industry: 'manufacturing',
    segment: 'enterprise',
    relevance: null,
  });
  expect(output<SummariseOutput>(northwind, 'summarise').summary).toMatch(
    /^Collaborative robots for manufacturing lines/,
  );
  expect(output<FindContactsOutput>(northwind, 'find-contacts').contacts).toHaveLength(3);
  expect(output<ClassifyOutput>(byKey.get('brightpath-academy')!, 'classify')).toMatchObject({
    industry: 'education',
    segment: 'public-sector',
  });
  expect(output<{ finalUrl: string }>(byKey.get('nimbus-cloud')!, 'fetch-website').finalUrl).toBe(
    `${sites.url}/nimbus-cloudworks/`,
  );
  expect(output<FindContactsOutput>(byKey.get('quiet-harbour-holdings')!, 'find-contacts')).toMatchObject({
    contacts: [],
    source: null,
  });

  // Item cost = its AI calls priced from the usage the stand-in reported (3 calls, 2 for the parked domain).
  let sum = 0;
  for (const item of items) {
    const calls = aiCallsOf(id, item.key);
    expect([item.key, calls.length]).toEqual([
      item.key,
      item.key === 'atlas-legal' ? 0 : item.key === 'quiet-harbour-holdings' ? 2 : 3,
    ]);
    const expected = calls.reduce((s, r) => s + gpt4oMiniCost(r.usage!), 0);
    expect(item.costUsd).toBeCloseTo(expected, 12);
    // Each AI step shows its own tokens and cost.
    for (const r of calls) {
      const step = r.headers['idempotency-key']!.split('/').pop()!;
      expect(output<{ tokens: { prompt: number }; costUsd: number }>(item, step)).toMatchObject({
        tokens: { prompt: r.usage!.prompt_tokens },
        costUsd: expect.closeTo(gpt4oMiniCost(r.usage!), 12),
      });
    }
    sum += item.costUsd;
  }
  expect(sum).toBeGreaterThan(0);
  // Batch cost = the sum of its items (the progress rounds to a millionth of a dollar).
  expect(batch.progress.estimatedCostUsd).toBeCloseTo(sum, 5);

  // The export carries the pipeline's columns.
  const csv = await fetch(`${stack.api.base}/api/batches/${id}/export?format=csv`, { headers: stack.api.headers });
  const header = (await csv.text()).split('\r\n')[0]!;
  expect(header.split(',').slice(-7)).toEqual([
    'cost_usd',
    'industry',
    'segment',
    'relevance',
    'summary',
    'contacts',
    'contact_emails',
  ]);
  const json = (await stack.api.call('GET', `/api/batches/${id}/export?format=json`)).body as Array<
    Record<string, unknown>
  >;
  expect(json.find((r) => r.key === 'northwind-robotics')).toMatchObject({
    industry: 'manufacturing',
    contacts: 3,
    status: 'succeeded',
    cost_usd: northwind.costUsd,
  });
  expect(json.find((r) => r.key === 'atlas-legal')).toMatchObject({
    status: 'failed',
    industry: null,
    error_type: 'WebsiteNotFound',
  });
});

test('clean: contacts skipped by the settings condition, the parked domain is IRRELEVANT, a rate limit is retried and paid once', async () => {
  const companies = demoCompanies(sites.url).filter((c) =>
    ['fintrail-payments', 'quiet-harbour-holdings', 'lumen-health'].includes(c.key!),
  );
  // The first classify call for Lumen Health is rate limited.
  openai.addFaults({ match: { content: 'Lumen Health', idempotencyKey: /\/classify$/ }, status: 429, times: 1 });
  const { id, batch, byKey } = await runBatch(companies, {
    operation: 'clean',
    targetSegment: 'companies that could buy our software',
  });
  expect(batch.progress).toMatchObject({ status: 'completed', succeeded: 3 });
  expect(batch.progress.steps['find-contacts']).toMatchObject({ skipped: 3, succeeded: 0 });

  expect(output<ClassifyOutput>(byKey.get('quiet-harbour-holdings')!, 'classify')).toMatchObject({
    relevance: 'IRRELEVANT',
  });
  expect(output<ClassifyOutput>(byKey.get('fintrail-payments')!, 'classify')).toMatchObject({
    relevance: 'RELEVANT',
    industry: 'finance',
  });

  const lumen = byKey.get('lumen-health')!;
  expect(lumen.steps.find((s) => s.step === 'classify')).toMatchObject({ status: 'succeeded', attempts: 2 });
  const faulted = openai.requests.filter((r) => r.headers['idempotency-key'] === `${id}/lumen-health/classify`);
  expect(faulted.map((r) => r.status)).toEqual([429, 200]);
  // Only the answered call is paid: classify + summarise.
  const calls = aiCallsOf(id, 'lumen-health');
  expect(calls).toHaveLength(2);
  expect(lumen.costUsd).toBeCloseTo(
    calls.reduce((s, r) => s + gpt4oMiniCost(r.usage!), 0),
    12,
  );
});

test('without AI settings the batch fails its items at classify, once each, naming the missing setting', async () => {
  const offline = [
    createCompanyEnrichmentPipeline({
      ai: { model: 'gpt-4o-mini' },
      sitesBaseUrl: sites.url,
      egress: allowStandIns(sites.url),
    }),
  ] as unknown as PipelineDefinition[];
  const offlineStack = await startStack({ name: 'enrich-offline', pipelines: offline });
  try {
    const res = await offlineStack.api.call('POST', '/api/batches', {
      pipeline: 'company-enrichment',
      name: uid('offline'),
      items: demoCompanies(sites.url).slice(0, 2),
      settings: {},
    });
    expect(res.status).toBe(202);
    const progress = (
      await batchEnded(offlineStack.api, res.body.id, {
        statuses: ['completed', 'completed_with_errors', 'failed'],
        timeoutMs: 60_000,
        what: 'offline batch to finish',
      })
    ).progress;
    expect(progress).toMatchObject({ failed: 2, succeeded: 0 });
    const items: ApiItem[] = (await offlineStack.api.call('GET', `/api/batches/${res.body.id}/items`)).body.items;
    for (const item of items) {
      expect(item.error).toMatchObject({ step: 'classify', type: 'AiNotConfigured', attempts: 1 });
      expect(item.error!.message).toMatch(/OPENAI_BASE_URL and OPENAI_API_KEY/);
    }
  } finally {
    await offlineStack.close();
  }
});
