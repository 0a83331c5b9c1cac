/**
 * restaurant-registration against the real partner sandbox (an HTTP server on a random port):
 * the real client and the real step handlers, called directly with a hand-built StepContext.
 * No Temporal here; the engine's own tests cover retries and ordering through workflows.
 */
import { planOf } from '../pipelines/plan';
import { PartnerPlatformClient, PartnerUnavailableError } from '../pipelines/restaurant-registration/client';
import { demoRestaurants } from '../pipelines/restaurant-registration/demo-data';
import {
  createRestaurantRegistrationPipeline,
  restaurantItemSchema,
  restaurantRegistrationPipeline,
  restaurantRegistrationSettingsSchema,
  STEP_NAMES,
  type RestaurantItem,
  type RestaurantRegistrationPipeline,
  type RestaurantRegistrationSettings,
} from '../pipelines/restaurant-registration';
import { isSkipItem, NonRetryableStepError, type StepContext } from '../pipelines/types';
import { startPartnerSandbox, type PartnerSandbox } from '../sandbox/partner-platform/server';

const API_KEY = 'test-key';

let sandbox: PartnerSandbox;
let pipeline: RestaurantRegistrationPipeline;

beforeAll(async () => {
  sandbox = await startPartnerSandbox({ port: 0, apiKey: API_KEY, latencyMs: { min: 0, max: 0 } });
  pipeline = createRestaurantRegistrationPipeline({
    partnerBaseUrl: sandbox.url,
    partnerApiKey: API_KEY,
    timeoutMs: 2_000,
  });
});

afterAll(async () => {
  await sandbox.close();
});

beforeEach(() => {
  sandbox.reset();
});

const defaultSettings: RestaurantRegistrationSettings = restaurantRegistrationSettingsSchema.parse({});

function byId(id: string): RestaurantItem {
  const item = demoRestaurants.find((r) => r.externalId === id);
  if (!item) throw new Error(`no demo restaurant ${id}`);
  return structuredClone(item);
}

interface CtxOptions {
  batchId?: string;
  previous?: Record<string, unknown>;
  settings?: RestaurantRegistrationSettings;
  signal?: AbortSignal;
  pipelineDef?: RestaurantRegistrationPipeline;
}

function makeCtx(item: RestaurantItem, step: string, opts: CtxOptions = {}) {
  const batchId = opts.batchId ?? 'batch-test';
  const heartbeats: unknown[] = [];
  const logs: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];
  const ctx: StepContext<RestaurantItem, RestaurantRegistrationSettings> = {
    batchId,
    itemKey: item.externalId,
    item,
    settings: opts.settings ?? defaultSettings,
    previous: opts.previous ?? {},
    idempotencyKey: `${batchId}/${item.externalId}/${step}`,
    signal: opts.signal ?? new AbortController().signal,
    attempt: 1,
    heartbeat: (d) => void heartbeats.push(d),
    addCost: () => undefined,
    predecessors: async () => [],
    log: {
      info: (message, meta) => void logs.push({ level: 'info', message, meta }),
      warn: (message, meta) => void logs.push({ level: 'warn', message, meta }),
      error: (message, meta) => void logs.push({ level: 'error', message, meta }),
    },
  };
  return { ctx, heartbeats, logs };
}

function stepDef(name: string, def: RestaurantRegistrationPipeline = pipeline) {
  const step = def.steps.find((s) => s.name === name);
  if (!step) throw new Error(`no step ${name}`);
  return step;
}

/** Runs one step as the engine would: picks the handler by item type when the step has several. */
async function runStep(name: string, item: RestaurantItem, opts: CtxOptions = {}) {
  const step = stepDef(name, opts.pipelineDef);
  const { ctx, heartbeats } = makeCtx(item, name, opts);
  let handler = step.run;
  if (step.handlersByItemType) {
    const value = String(
      step.handlersByItemType.path
        .split('.')
        .slice(1)
        .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], item),
    );
    handler = step.handlersByItemType.handlers[value] ?? step.run;
  }
  const output = await handler(ctx);
  return { output, heartbeats };
}

/** All steps in order, carrying outputs; honours skipIf on item paths; stops at a skipItem. */
async function runAll(item: RestaurantItem, opts: CtxOptions = {}) {
  const previous: Record<string, unknown> = {};
  const executed: string[] = [];
  const skipped: string[] = [];
  for (const step of (opts.pipelineDef ?? pipeline).steps) {
    if (step.skipIf) {
      const value = step.skipIf.path
        .split('.')
        .slice(1)
        .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], item);
      if (value === step.skipIf.equals) {
        skipped.push(step.name);
        continue;
      }
    }
    const { output } = await runStep(step.name, item, { ...opts, previous: { ...previous } });
    executed.push(step.name);
    if (isSkipItem(output)) return { previous, executed, skipped, skippedItem: output };
    previous[step.name] = output;
  }
  return { previous, executed, skipped, skippedItem: undefined };
}

async function sandboxRequests(query: Record<string, string> = {}) {
  const res = await fetch(`${sandbox.url}/__sandbox/requests?${new URLSearchParams(query).toString()}`);
  return (await res.json()) as {
    count: number;
    replayed: number;
    requests: Array<{
      method: string;
      path: string;
      idempotencyKey: string | null;
      replayed: boolean;
      faulted: boolean;
      status: number;
    }>;
  };
}

async function expectRejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('pipeline definition', () => {
  it('has the 12 ordered steps, the item-type handlers and the pickup skip rule', () => {
    expect(pipeline.name).toBe('restaurant-registration');
    expect(pipeline.steps.map((s) => s.name)).toEqual([...STEP_NAMES]);
    expect(STEP_NAMES).toHaveLength(12);
    expect(Object.keys(stepDef('verify-business').handlersByItemType!.handlers).sort()).toEqual([
      'inbound',
      'outbound',
    ]);
    expect(stepDef('configure-delivery-zones').skipIf).toEqual({
      path: 'item.pickupOnly',
      equals: true,
      reason: 'pickup only',
    });

    const plan = planOf(restaurantRegistrationPipeline);
    expect(plan.steps.map((s) => s.activity)[0]).toBe('restaurant-registration.validate-data');
    const verify = plan.steps.find((s) => s.name === 'verify-business')!;
    expect(verify.activityByItemType).toEqual({
      path: 'item.type',
      activities: {
        inbound: 'restaurant-registration.verify-business.inbound',
        outbound: 'restaurant-registration.verify-business.outbound',
      },
    });
    // default retry policy (3 retries, 2 s/4 s/8 s) on every step
    for (const s of plan.steps)
      expect(s.retry).toMatchObject({ maximumAttempts: 4, initialIntervalMs: 2_000, backoffCoefficient: 2 });
  });

  it('keys items by externalId and accepts every demo restaurant', async () => {
    expect(demoRestaurants.length).toBeGreaterThanOrEqual(12);
    expect(new Set(demoRestaurants.map((r) => r.externalId)).size).toBe(demoRestaurants.length);
    expect(demoRestaurants.some((r) => r.pickupOnly)).toBe(true);
    expect(new Set(demoRestaurants.map((r) => r.type))).toEqual(new Set(['inbound', 'outbound']));
    for (const [i, r] of demoRestaurants.entries()) {
      expect(restaurantItemSchema.safeParse(r).success).toBe(true);
      expect(pipeline.itemKey!(r, i)).toBe(r.externalId);
      const { output } = await runStep('validate-data', structuredClone(r));
      expect(output).toMatchObject({ valid: true });
    }
  });

  it('applies schema defaults (pickupOnly false, images and zones empty, welcome email on)', () => {
    const { pickupOnly, images, deliveryZones, ...rest } = byId('crm-1001');
    void pickupOnly;
    void images;
    void deliveryZones;
    const parsed = restaurantItemSchema.parse(rest);
    expect(parsed.pickupOnly).toBe(false);
    expect(parsed.images).toEqual([]);
    expect(parsed.deliveryZones).toEqual([]);
    expect(defaultSettings.sendWelcomeEmail).toBe(true);
  });
});

describe('validate-data', () => {
  const cases: Array<[string, (r: RestaurantItem) => void, RegExp]> = [
    ['bad IBAN checksum', (r) => (r.payment.iban = 'GB31NWBK60161331926801'), /payment\.iban/],
    [
      'overlapping opening hours',
      (r) =>
        (r.openingHours.mon = [
          { open: '11:00', close: '15:00' },
          { open: '14:00', close: '22:00' },
        ]),
      /overlaps/,
    ],
    [
      'closing before opening',
      (r) => (r.openingHours.tue = [{ open: '22:00', close: '11:00' }]),
      /closes before it opens/,
    ],
    ['never open', (r) => (r.openingHours = {}), /at least one day/],
    ['delivery without zones', (r) => (r.deliveryZones = []), /at least one delivery zone/],
    ['pickup-only with zones', (r) => (r.pickupOnly = true), /pickup-only restaurant must not define/],
    ['menu without items', (r) => (r.menuCsv = 'name,price\n'), /menuCsv/],
    ['malformed email (schema)', (r) => (r.email = 'not-an-email'), /email/],
  ];
  it.each(cases)('rejects %s with a non-retryable ValidationError', async (_label, mutate, pattern) => {
    const item = byId('crm-1001');
    mutate(item);
    const err = await expectRejection(runStep('validate-data', item));
    expect(err).toBeInstanceOf(NonRetryableStepError);
    expect((err as NonRetryableStepError).errorType).toBe('ValidationError');
    expect(err.message).toMatch(pattern);
    // nothing was sent to the platform
    expect((await sandboxRequests()).count).toBe(0);
  });
});

describe('happy path', () => {
  it('registers a delivering outbound restaurant through all 12 steps, carrying ids forward', async () => {
    const item = byId('crm-1001');
    const { previous, executed, skipped, skippedItem } = await runAll(item);
    expect(skippedItem).toBeUndefined();
    expect(skipped).toEqual([]);
    expect(executed).toEqual([...STEP_NAMES]);

    const merchantId = (previous['create-merchant-account'] as { merchantId: string }).merchantId;
    const storeId = (previous['create-store'] as { storeId: string }).storeId;
    expect(merchantId).toMatch(/^mer_/);
    expect(storeId).toMatch(/^sto_/);
    expect(previous['check-duplicates']).toEqual({ exists: false, matches: 0 });
    expect(previous['verify-business']).toMatchObject({ method: 'phone-call', status: 'verified' });
    expect(previous['upload-menu']).toMatchObject({ itemCount: 5, categories: ['Pizza', 'Sides', 'Desserts'] });
    expect(previous['upload-images']).toMatchObject({ count: 2 });
    expect(previous['configure-delivery-zones']).toMatchObject({ zoneCount: 2 });
    expect(previous['setup-payments']).toMatchObject({ ibanLast4: '6801', status: 'active' });
    expect(previous['publish-store']).toMatchObject({
      storeId,
      status: 'live',
      publicUrl: expect.stringContaining(storeId),
    });
    expect(previous['send-welcome-email']).toMatchObject({
      sent: true,
      emailId: expect.stringMatching(/^eml_/),
      to: item.email,
    });

    // the platform's own state agrees
    const s = sandbox.state;
    expect(s.merchants.get(merchantId)).toMatchObject({ externalRef: 'crm-1001', status: 'verified' });
    expect(s.stores.get(storeId)).toMatchObject({ merchantId, status: 'live', pickupOnly: false });
    expect(s.openingHours.get(storeId)!.weekly.sat).toEqual([{ open: '11:30', close: '23:30' }]);
    expect(s.menus.get(storeId)!.items[0]).toEqual({
      name: 'Margherita',
      priceCents: 950,
      category: 'Pizza',
      description: 'Tomato, mozzarella, basil',
    });
    expect(s.images.get(storeId)!.map((i) => i.kind)).toEqual(['cover', 'dish']);
    expect(s.deliveryZones.get(storeId)).toHaveLength(2);
    expect(s.payments.get(merchantId)).toMatchObject({ country: 'GB' });
    expect(s.published.has(storeId)).toBe(true);
    expect(s.emails).toEqual([
      expect.objectContaining({ merchantId, storeId, to: item.email, template: 'merchant-welcome' }),
    ]);

    // every write carried the step's idempotency key (images: one derived key per image)
    const log = await sandboxRequests();
    const writes = log.requests.filter((r) => r.method !== 'GET');
    expect(writes.every((r) => r.idempotencyKey?.startsWith('batch-test/crm-1001/'))).toBe(true);
    expect(writes.map((r) => r.idempotencyKey)).toContain('batch-test/crm-1001/upload-images/image-2');
    expect(log.replayed).toBe(0);
  });

  it('registers a pickup-only inbound restaurant: zones skipped, registry-lookup verification, still published', async () => {
    const item = byId('crm-1003');
    const { previous, executed, skipped } = await runAll(item);
    expect(skipped).toEqual(['configure-delivery-zones']);
    expect(executed).toEqual(STEP_NAMES.filter((n) => n !== 'configure-delivery-zones'));
    expect(previous['verify-business']).toMatchObject({ method: 'registry-lookup' });
    expect(previous['upload-images']).toEqual({ count: 0, imageIds: [] });
    const storeId = (previous['create-store'] as { storeId: string }).storeId;
    expect(sandbox.state.published.has(storeId)).toBe(true);
    expect(sandbox.state.deliveryZones.has(storeId)).toBe(false);
    expect((await sandboxRequests({ endpoint: 'configure-delivery-zones' })).count).toBe(0);
    expect((await sandboxRequests({ endpoint: 'upload-images' })).count).toBe(0);
  });

  it('picks the verify-business handler by item.type', async () => {
    const outbound = byId('crm-1002');
    const inboundNoNumber = byId('crm-1004');
    const results: unknown[] = [];
    for (const item of [outbound, inboundNoNumber]) {
      const { output: m } = await runStep('create-merchant-account', item);
      const { output } = await runStep('verify-business', item, { previous: { 'create-merchant-account': m } });
      results.push(output);
    }
    expect(results).toEqual([
      expect.objectContaining({ method: 'phone-call' }),
      expect.objectContaining({ method: 'document-review' }),
    ]);
  });

  it('sends no welcome email when the batch settings turn it off', async () => {
    const item = byId('crm-1005');
    const { previous } = await runAll(item, { settings: { ...defaultSettings, sendWelcomeEmail: false } });
    expect(previous['send-welcome-email']).toEqual({ sent: false, reason: expect.any(String) });
    expect(sandbox.state.emails).toHaveLength(0);
    expect((await sandboxRequests({ endpoint: 'send-welcome-email' })).count).toBe(0);
  });

  it('heartbeats once per uploaded image', async () => {
    const item = byId('crm-1004');
    const { output: m } = await runStep('create-merchant-account', item);
    const { output: s } = await runStep('create-store', item, { previous: { 'create-merchant-account': m } });
    const { output, heartbeats } = await runStep('upload-images', item, { previous: { 'create-store': s } });
    expect(output).toMatchObject({ count: 3 });
    expect(heartbeats).toEqual([
      { uploaded: 1, total: 3 },
      { uploaded: 2, total: 3 },
      { uploaded: 3, total: 3 },
    ]);
  });
});

describe('idempotency', () => {
  it('the same key twice creates one merchant; the second answer is the stored one, logged as replayed', async () => {
    const item = byId('crm-1002');
    const first = await runStep('create-merchant-account', item);
    const second = await runStep('create-merchant-account', item);
    expect(second.output).toEqual(first.output);
    expect(sandbox.state.merchants.size).toBe(1);

    const log = await sandboxRequests({ method: 'POST', path: '/v1/merchants' });
    expect(log.count).toBe(2);
    expect(log.requests.map((r) => [r.idempotencyKey, r.replayed])).toEqual([
      ['batch-test/crm-1002/create-merchant-account', false],
      ['batch-test/crm-1002/create-merchant-account', true],
    ]);
  });

  it('a retried image upload step re-sends no image twice', async () => {
    const item = byId('crm-1004');
    const { output: m } = await runStep('create-merchant-account', item);
    const { output: s } = await runStep('create-store', item, { previous: { 'create-merchant-account': m } });
    const storeId = (s as { storeId: string }).storeId;
    const previous = { 'create-store': s };
    // attempt 1: the platform is down; attempt 2: all three upload; attempt 3 (as if attempt 2's
    // result was lost and Temporal retried): every upload is answered from the stored responses
    sandbox.addFaults([{ endpoint: 'upload-images', status: 503, times: 1 }]);
    await expect(runStep('upload-images', item, { previous })).rejects.toBeInstanceOf(PartnerUnavailableError);
    expect(sandbox.state.images.get(storeId)).toBeUndefined();
    const second = await runStep('upload-images', item, { previous });
    const third = await runStep('upload-images', item, { previous });
    expect(third.output).toEqual(second.output);
    expect(sandbox.state.images.get(storeId)).toHaveLength(3);
    const log = await sandboxRequests({ endpoint: 'upload-images' });
    expect(log.requests.filter((r) => r.faulted)).toHaveLength(1);
    expect(log.replayed).toBe(3);
    expect(log.count).toBe(7);
  });

  it('a different key is a different request', async () => {
    const item = byId('crm-1002');
    await runStep('create-merchant-account', item, { batchId: 'batch-a' });
    // another batch with the same restaurant: the platform refuses a second merchant with the same externalRef
    const err = await expectRejection(runStep('create-merchant-account', item, { batchId: 'batch-b' }));
    expect(err).toBeInstanceOf(NonRetryableStepError);
    expect((err as NonRetryableStepError).errorType).toBe('PartnerRejectedError');
    expect(err.message).toMatch(/already exists/);
    expect(sandbox.state.merchants.size).toBe(1);
  });

  it('the platform refuses writes without an Idempotency-Key and keys reused on another route', async () => {
    const headers = { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' };
    const item = byId('crm-1001');
    const body = JSON.stringify({
      externalRef: item.externalId,
      legalName: item.name,
      email: item.email,
      phone: item.phone,
      address: item.address,
    });
    const noKey = await fetch(`${sandbox.url}/v1/merchants`, { method: 'POST', headers, body });
    expect(noKey.status).toBe(400);
    expect(await noKey.json()).toEqual({ error: expect.objectContaining({ code: 'idempotency_key_required' }) });
    expect(sandbox.state.merchants.size).toBe(0);

    const ok = await fetch(`${sandbox.url}/v1/merchants`, {
      method: 'POST',
      headers: { ...headers, 'Idempotency-Key': 'k-1' },
      body,
    });
    expect(ok.status).toBe(201);
    const merchantId = ((await ok.json()) as { merchantId: string }).merchantId;
    const reused = await fetch(`${sandbox.url}/v1/merchants/${merchantId}/stores`, {
      method: 'POST',
      headers: { ...headers, 'Idempotency-Key': 'k-1' },
      body: '{}',
    });
    expect(reused.status).toBe(422);
    expect(((await reused.json()) as { error: { code: string } }).error.code).toBe('idempotency_key_reused');
    expect(sandbox.state.stores.size).toBe(0);
  });
});

describe('fault injection and error mapping', () => {
  it('503 twice then success (times: 2): retryable errors, no side effect until the call that succeeds', async () => {
    const item = byId('crm-1007');
    await fetch(`${sandbox.url}/__sandbox/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        rules: [{ endpoint: 'create-merchant-account', status: 503, times: 2, message: 'partner maintenance' }],
      }),
    });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const err = await expectRejection(runStep('create-merchant-account', item));
      expect(err).toBeInstanceOf(PartnerUnavailableError);
      expect(err).not.toBeInstanceOf(NonRetryableStepError);
      expect((err as PartnerUnavailableError).status).toBe(503);
      expect(err.message).toMatch(/partner maintenance/);
      expect(sandbox.state.merchants.size).toBe(0);
    }
    const { output } = await runStep('create-merchant-account', item);
    expect(output).toMatchObject({ merchantId: expect.stringMatching(/^mer_/) });
    expect(sandbox.state.merchants.size).toBe(1);

    const faults = (await (await fetch(`${sandbox.url}/__sandbox/faults`)).json()) as {
      rules: Array<{ hits: number }>;
    };
    expect(faults.rules[0]!.hits).toBe(2);
    const log = await sandboxRequests({ endpoint: 'create-merchant-account' });
    expect(log.requests.map((r) => [r.status, r.faulted, r.replayed])).toEqual([
      [503, true, false],
      [503, true, false],
      [201, false, false],
    ]);
  });

  it('422 on one restaurant -> NonRetryableStepError(PartnerRejectedError) with the partner message; others unaffected', async () => {
    const target = byId('crm-1002');
    const other = byId('crm-1001');
    sandbox.addFaults([
      {
        endpoint: 'verify-business',
        match: { externalId: 'crm-1002' },
        status: 422,
        message: 'business registration could not be confirmed',
      },
    ]);
    const verify = async (item: RestaurantItem) => {
      const { output: m } = await runStep('create-merchant-account', item);
      return runStep('verify-business', item, { previous: { 'create-merchant-account': m } });
    };
    const err = await expectRejection(verify(target));
    expect(err).toBeInstanceOf(NonRetryableStepError);
    expect((err as NonRetryableStepError).errorType).toBe('PartnerRejectedError');
    expect(err.name).toBe('PartnerRejectedError');
    expect(err.message).toBe('business registration could not be confirmed');
    expect((err as NonRetryableStepError).details).toMatchObject({ status: 422, code: 'rejected' });
    expect(sandbox.state.verifications.size).toBe(0);

    await expect(verify(other)).resolves.toMatchObject({ output: { status: 'verified' } });
    expect(sandbox.state.verifications.size).toBe(1);
  });

  it('matches faults by name pattern and by deterministic rate', async () => {
    sandbox.addFaults([{ endpoint: 'check-duplicates', match: { namePattern: '^burger' }, status: 503 }]);
    await expect(runStep('check-duplicates', byId('crm-1002'))).rejects.toBeInstanceOf(PartnerUnavailableError);
    await expect(runStep('check-duplicates', byId('crm-1001'))).resolves.toMatchObject({ output: { exists: false } });

    sandbox.clearFaults();
    sandbox.addFaults([{ endpoint: 'create-merchant-account', match: { rate: 0.5 }, status: 503 }]);
    const outcomes: boolean[] = [];
    for (const r of demoRestaurants) {
      const first = await runStep('create-merchant-account', structuredClone(r), { batchId: 'rate' }).then(
        () => true,
        () => false,
      );
      const again = await runStep('create-merchant-account', structuredClone(r), { batchId: 'rate' }).then(
        () => true,
        () => false,
      );
      expect(again).toBe(first); // same key, same verdict
      outcomes.push(first);
    }
    expect(outcomes).toContain(true);
    expect(outcomes).toContain(false);
    expect(sandbox.state.merchants.size).toBe(outcomes.filter(Boolean).length);
  });

  it('maps 429 to a retryable error and a publish of an unready store to a rejection', async () => {
    const item = byId('crm-1001');
    sandbox.addFaults([{ endpoint: 'create-merchant-account', status: 429, times: 1 }]);
    const err = await expectRejection(runStep('create-merchant-account', item));
    expect(err).toBeInstanceOf(PartnerUnavailableError);
    expect((err as PartnerUnavailableError).retryAfterMs).toBe(1000);

    const { output: m } = await runStep('create-merchant-account', item);
    const { output: s } = await runStep('create-store', item, { previous: { 'create-merchant-account': m } });
    const rejected = await expectRejection(runStep('publish-store', item, { previous: { 'create-store': s } }));
    expect(rejected).toBeInstanceOf(NonRetryableStepError);
    expect(rejected.message).toBe(
      'store is not ready to publish: missing business verification, opening hours, menu, delivery zones, payout account',
    );
    expect(sandbox.state.published.size).toBe(0);
  });

  it('times out slow calls as retryable, and honours the caller abort signal', async () => {
    const slow = createRestaurantRegistrationPipeline({
      partnerBaseUrl: sandbox.url,
      partnerApiKey: API_KEY,
      timeoutMs: 100,
    });
    sandbox.addFaults([{ endpoint: 'check-duplicates', status: 503, delayMs: 1_000 }]);
    const started = Date.now();
    const err = await expectRejection(runStep('check-duplicates', byId('crm-1001'), { pipelineDef: slow }));
    expect(err).toBeInstanceOf(PartnerUnavailableError);
    expect(err.message).toMatch(/within 100 ms/);
    expect(Date.now() - started).toBeLessThan(900);

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('activity cancelled')), 50);
    const aborted = await expectRejection(runStep('check-duplicates', byId('crm-1001'), { signal: controller.signal }));
    expect(aborted.message).toBe('activity cancelled');
    expect(aborted).not.toBeInstanceOf(PartnerUnavailableError);
  });

  it('maps an unreachable platform to a retryable error', async () => {
    const dead = await startPartnerSandbox({ apiKey: API_KEY, latencyMs: { min: 0, max: 0 } });
    const url = dead.url;
    await dead.close();
    const client = new PartnerPlatformClient({ baseUrl: url, apiKey: API_KEY, timeoutMs: 1_000 });
    const err = await expectRejection(client.searchMerchants({ name: 'x', postcode: 'y' }));
    expect(err).toBeInstanceOf(PartnerUnavailableError);
    expect(err.message).toMatch(/unreachable/);
  });
});

describe('menu upload', () => {
  async function storeFor(item: RestaurantItem) {
    const { output: m } = await runStep('create-merchant-account', item);
    const { output: s } = await runStep('create-store', item, { previous: { 'create-merchant-account': m } });
    return { 'create-store': s };
  }

  it.each([
    ['a header without price', 'name,cost\nMargherita,9.50', /menu CSV rejected: header must include name,price/],
    [
      'a price that is not a number',
      'name,price\nMargherita,9.50\nDiavola,eleven',
      /menu CSV rejected: line 3: price "eleven"/,
    ],
    [
      'a row with too many columns',
      'name,price\nMargherita,9.50,extra',
      /menu CSV rejected: line 2: expected 2 columns/,
    ],
    ['an unterminated quote', 'name,price\n"Margherita,9.50', /menu CSV rejected: unterminated quoted field/],
  ])('rejects %s as a non-retryable partner rejection, storing no menu', async (_label, csv, pattern) => {
    const item = byId('crm-1002');
    const previous = await storeFor(item);
    item.menuCsv = csv;
    const err = await expectRejection(runStep('upload-menu', item, { previous }));
    expect(err).toBeInstanceOf(NonRetryableStepError);
    expect((err as NonRetryableStepError).errorType).toBe('PartnerRejectedError');
    expect(err.message).toMatch(pattern);
    expect(sandbox.state.menus.size).toBe(0);
  });

  it('a rejected upload is not stored under its key: the fixed CSV goes through with the same key', async () => {
    const item = byId('crm-1002');
    const previous = await storeFor(item);
    const good = item.menuCsv;
    item.menuCsv = 'name\nMargherita';
    await expect(runStep('upload-menu', item, { previous })).rejects.toBeInstanceOf(NonRetryableStepError);
    item.menuCsv = good;
    await expect(runStep('upload-menu', item, { previous })).resolves.toMatchObject({ output: { itemCount: 5 } });
  });
});

describe('auth', () => {
  it('a wrong API key fails as a non-retryable PartnerAuthError; the platform answers 401 JSON', async () => {
    const wrong = createRestaurantRegistrationPipeline({ partnerBaseUrl: sandbox.url, partnerApiKey: 'wrong-key' });
    const err = await expectRejection(runStep('create-merchant-account', byId('crm-1001'), { pipelineDef: wrong }));
    expect(err).toBeInstanceOf(NonRetryableStepError);
    expect((err as NonRetryableStepError).errorType).toBe('PartnerAuthError');
    expect((err as NonRetryableStepError).details).toMatchObject({ status: 401 });
    expect(sandbox.state.merchants.size).toBe(0);

    const raw = await fetch(`${sandbox.url}/v1/merchants/search?name=a&postcode=b`);
    expect(raw.status).toBe(401);
    expect(await raw.json()).toEqual({ error: { code: 'unauthorized', message: 'missing or invalid API key' } });
  });
});

describe('duplicate detection', () => {
  it('skips a restaurant that is already live on the platform', async () => {
    const item = byId('crm-1009');
    const first = await runAll(item, { batchId: 'batch-1' });
    const storeId = (first.previous['create-store'] as { storeId: string }).storeId;
    const merchantId = (first.previous['create-merchant-account'] as { merchantId: string }).merchantId;

    const { output } = await runStep('check-duplicates', item, { batchId: 'batch-2' });
    expect(isSkipItem(output)).toBe(true);
    expect(output).toEqual({
      __flotillaSkipItem: true,
      reason: 'already registered on the platform',
      output: { merchantId, storeId, status: 'live', matchedOn: ['externalRef', 'name+postcode'] },
    });

    // a different record (other CRM id) of the same restaurant: matched by name + postcode
    const sameRestaurant = { ...byId('crm-1009'), externalId: 'crm-9999', name: 'LE PETIT BISTRO' };
    const second = await runAll(sameRestaurant, { batchId: 'batch-3' });
    expect(second.skippedItem?.reason).toBe('already registered on the platform');
    expect(second.executed).toEqual(['validate-data', 'check-duplicates']);
    expect(sandbox.state.merchants.size).toBe(1);
  });

  it('resumes its own unfinished draft instead of creating a second merchant', async () => {
    const item = byId('crm-1008');
    // batch-1 got as far as create-store, then died
    const { output: m } = await runStep('create-merchant-account', item, { batchId: 'batch-1' });
    const { output: s } = await runStep('create-store', item, {
      batchId: 'batch-1',
      previous: { 'create-merchant-account': m },
    });

    const { previous, executed, skippedItem } = await runAll(item, { batchId: 'batch-2' });
    expect(skippedItem).toBeUndefined();
    expect(executed).toHaveLength(12);
    expect(previous['check-duplicates']).toEqual({
      exists: false,
      matches: 1,
      resumeMerchantId: (m as { merchantId: string }).merchantId,
      resumeStoreId: (s as { storeId: string }).storeId,
    });
    expect(previous['create-merchant-account']).toEqual({
      merchantId: (m as { merchantId: string }).merchantId,
      resumed: true,
    });
    expect(sandbox.state.merchants.size).toBe(1);
    expect(sandbox.state.stores.size).toBe(1);
    expect(sandbox.state.published.size).toBe(1);
  });
});

describe('sandbox control plane', () => {
  it('reset clears state, faults and the request log', async () => {
    sandbox.addFaults([{ endpoint: '*', status: 503, times: 1 }]);
    await expect(runStep('create-merchant-account', byId('crm-1001'))).rejects.toBeInstanceOf(PartnerUnavailableError);
    await runStep('create-merchant-account', byId('crm-1001'));
    expect(sandbox.state.merchants.size).toBe(1);
    const res = await fetch(`${sandbox.url}/__sandbox/reset`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(sandbox.state.merchants.size).toBe(0);
    expect(sandbox.state.faults).toEqual([]);
    expect((await sandboxRequests()).count).toBe(0);
    const cleared = await fetch(`${sandbox.url}/__sandbox/faults`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ rules: [] });
  });

  it('takes fault rules at construction', async () => {
    const faulty = await startPartnerSandbox({
      apiKey: API_KEY,
      latencyMs: { min: 0, max: 0 },
      faults: [{ endpoint: 'check-duplicates', status: 503 }],
    });
    try {
      const client = new PartnerPlatformClient({ baseUrl: faulty.url, apiKey: API_KEY });
      await expect(client.searchMerchants({ name: 'a', postcode: 'b' })).rejects.toBeInstanceOf(
        PartnerUnavailableError,
      );
    } finally {
      await faulty.close();
    }
  });
});
