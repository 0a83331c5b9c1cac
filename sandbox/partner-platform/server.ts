/**
 * STAND-IN for a third-party partner ordering platform (the marketplace restaurants are
 * registered on). It is NOT the real platform and NOT part of the Flotilla engine: it exists so
 * the `restaurant-registration` pipeline can be developed, demoed and tested end to end against
 * a real HTTP API with the properties a real partner has and an engine must cope with:
 *
 * - Bearer API key auth (401 otherwise).
 * - Every write (POST/PUT) requires an `Idempotency-Key` header. A repeated key on the same route
 *   returns the stored response and does not apply the side effect again; only successful (2xx)
 *   responses are stored, so a failed or faulted call can be retried with the same key.
 * - Random latency per request.
 * - Failure injection per step (`/__sandbox/faults`), e.g. "503 on verify-business twice, then
 *   succeed" or "422 for every restaurant whose name matches /burger/i".
 * - A request log (`/__sandbox/requests`) that proves whether a side effect happened once.
 *
 * All state lives in memory. Usable from tests via `startPartnerSandbox()` or as a script:
 *   tsx sandbox/partner-platform/server.ts   (PARTNER_SANDBOX_PORT=4010, PARTNER_API_KEY=sandbox-key)
 *
 * Public API (all under /v1, JSON unless noted; `step` is the pipeline step a fault rule names):
 *   GET  /v1/merchants/search?name=&postcode=&externalRef=   check-duplicates
 *   POST /v1/merchants                                       create-merchant-account
 *   POST /v1/merchants/:merchantId/verifications             verify-business
 *   POST /v1/merchants/:merchantId/stores                    create-store
 *   PUT  /v1/stores/:storeId/opening-hours                   set-opening-hours
 *   PUT  /v1/stores/:storeId/menu        (text/csv body)     upload-menu
 *   POST /v1/stores/:storeId/images                          upload-images
 *   PUT  /v1/stores/:storeId/delivery-zones                  configure-delivery-zones
 *   PUT  /v1/merchants/:merchantId/payout-account            setup-payments
 *   POST /v1/stores/:storeId/publish                         publish-store
 *   POST /v1/merchants/:merchantId/emails                    send-welcome-email
 *   GET  /v1/merchants/:merchantId, GET /v1/stores/:storeId  (reads, no step)
 * Sandbox control plane (no auth, no idempotency key):
 *   GET /__sandbox/requests   POST|GET|DELETE /__sandbox/faults   DELETE /__sandbox/faults/:id
 *   POST /__sandbox/reset     GET /__sandbox/state             GET /healthz
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { unitHash } from '../hash';
import { baseUrlOf, closeServer, listen, runFromCli } from '../serve';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// State

export interface PartnerAddress {
  street: string;
  city: string;
  postcode: string;
  country: string;
}

export interface Merchant {
  merchantId: string;
  externalRef: string;
  legalName: string;
  email: string;
  phone: string;
  address: PartnerAddress;
  region: string | null;
  status: 'pending_verification' | 'verified';
  createdAt: string;
}

export interface Verification {
  verificationId: string;
  merchantId: string;
  method: 'registry-lookup' | 'document-review' | 'phone-call';
  registrationNumber: string | null;
  status: 'verified';
  verifiedAt: string;
}

export interface Store {
  storeId: string;
  merchantId: string;
  name: string;
  cuisine: string;
  phone: string;
  address: PartnerAddress;
  pickupOnly: boolean;
  region: string | null;
  status: 'draft' | 'live';
  createdAt: string;
}

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export interface OpeningHoursRecord {
  storeId: string;
  timezone: string | null;
  weekly: Partial<Record<Weekday, Array<{ open: string; close: string }>>>;
  updatedAt: string;
}

export interface MenuItem {
  name: string;
  priceCents: number;
  category: string | null;
  description: string | null;
}
export interface Menu {
  menuId: string;
  storeId: string;
  items: MenuItem[];
  uploadedAt: string;
}

export interface StoreImage {
  imageId: string;
  storeId: string;
  url: string;
  kind: 'logo' | 'cover' | 'dish';
  position: number;
  status: 'processed';
}

export interface DeliveryZone {
  zoneId: string;
  name: string;
  radiusKm: number;
  feeCents: number;
  minOrderCents: number;
}

export interface PayoutAccount {
  payoutAccountId: string;
  merchantId: string;
  accountHolder: string;
  ibanLast4: string;
  country: string;
  status: 'active';
  updatedAt: string;
}

export interface PublishRecord {
  storeId: string;
  publishedAt: string;
  publicUrl: string;
}

export interface SentEmail {
  emailId: string;
  merchantId: string;
  storeId: string | null;
  template: string;
  to: string;
  variables: Record<string, string>;
  status: 'queued';
  queuedAt: string;
}

export interface SandboxRequestLogEntry {
  method: string;
  path: string;
  /** Step name of the route (the `endpoint` fault rules match), null for unnamed routes. */
  endpoint: string | null;
  idempotencyKey: string | null;
  /** True when the stored response of an earlier call with this key was returned. */
  replayed: boolean;
  /** True when a fault rule answered instead of the platform. */
  faulted: boolean;
  status: number;
  at: string;
}

export interface FaultRule {
  /** Step name of the route (e.g. "verify-business"), or "*" for every /v1 route. */
  endpoint: string;
  match?: {
    externalId?: string;
    /** Regular expression (case-insensitive) over the restaurant name. */
    namePattern?: string;
    /** 0..1: share of idempotency keys that fail, decided by hashing the key (deterministic). */
    rate?: number;
  };
  /** HTTP status to answer with, e.g. 503 (transient) or 422 (rejected). */
  status: number;
  /** Fail only the first N matching calls, then let calls through. Omitted: always. */
  times?: number;
  message?: string;
  /** Extra delay before the faulted answer (to exercise client timeouts). */
  delayMs?: number;
}

export interface StoredFaultRule extends FaultRule {
  id: string;
  /** Calls this rule has failed so far. */
  hits: number;
}

interface StoredResponse {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export interface SandboxState {
  merchants: Map<string, Merchant>;
  stores: Map<string, Store>;
  verifications: Map<string, Verification>;
  /** By storeId. */
  openingHours: Map<string, OpeningHoursRecord>;
  /** By storeId. */
  menus: Map<string, Menu>;
  /** By storeId. */
  images: Map<string, StoreImage[]>;
  /** By storeId. */
  deliveryZones: Map<string, DeliveryZone[]>;
  /** Payout accounts by merchantId. */
  payments: Map<string, PayoutAccount>;
  /** Published flags by storeId. */
  published: Map<string, PublishRecord>;
  emails: SentEmail[];
  requests: SandboxRequestLogEntry[];
  /** Stored responses by Idempotency-Key. */
  idempotency: Map<string, StoredResponse>;
  faults: StoredFaultRule[];
}

function emptyState(): SandboxState {
  return {
    merchants: new Map(),
    stores: new Map(),
    verifications: new Map(),
    openingHours: new Map(),
    menus: new Map(),
    images: new Map(),
    deliveryZones: new Map(),
    payments: new Map(),
    published: new Map(),
    emails: [],
    requests: [],
    idempotency: new Map(),
    faults: [],
  };
}

function resetState(state: SandboxState): void {
  const fresh = emptyState();
  state.merchants = fresh.merchants;
  state.stores = fresh.stores;
  state.verifications = fresh.verifications;
  state.openingHours = fresh.openingHours;
  state.menus = fresh.menus;
  state.images = fresh.images;
  state.deliveryZones = fresh.deliveryZones;
  state.payments = fresh.payments;
  state.published = fresh.published;
  state.emails = fresh.emails;
  state.requests = fresh.requests;
  state.idempotency = fresh.idempotency;
  state.faults = fresh.faults;
}

// ---------------------------------------------------------------------------------------------
// Helpers

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

function now(): string {
  return new Date().toISOString();
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** ISO 13616 mod-97 check. */
export function isValidIban(raw: string): boolean {
  const iban = raw.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new HttpError(
      422,
      'invalid_request',
      `invalid request: ${where}${issue?.message ?? 'invalid body'}`,
      parsed.error.issues,
    );
  }
  return parsed.data;
}

/** RFC 4180-ish CSV: quoted fields, doubled quotes, CRLF or LF line ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      inQuotes = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      if (ch === '\r' && text[i + 1] === '\n') i++;
    } else {
      field += ch;
    }
    i++;
  }
  if (inQuotes) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

const MAX_MENU_ITEMS = 1000;

function parseMenuCsv(text: string): MenuItem[] {
  const reject = (why: string): never => {
    throw new HttpError(422, 'menu_rejected', `menu CSV rejected: ${why}`);
  };
  if (!text.trim()) reject('empty body');
  let rows: string[][] = [];
  try {
    rows = parseCsv(text);
  } catch (err) {
    reject((err as Error).message);
  }
  const header = rows[0]!.map((h) => h.trim().toLowerCase());
  const missing = ['name', 'price'].filter((c) => !header.includes(c));
  if (missing.length)
    reject(`header must include name,price (missing ${missing.join(',')}; got "${header.join(',')}")`);
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) reject(`duplicate column "${dup}" in header`);
  const col = (name: string) => header.indexOf(name);
  const items: MenuItem[] = [];
  for (let r = 1; r < rows.length; r++) {
    const cells = rows[r]!;
    const line = r + 1;
    if (cells.length !== header.length) reject(`line ${line}: expected ${header.length} columns, got ${cells.length}`);
    const name = cells[col('name')]!.trim();
    if (!name) reject(`line ${line}: name is empty`);
    const price = cells[col('price')]!.trim();
    if (!/^\d{1,6}(\.\d{1,2})?$/.test(price) || Number(price) <= 0)
      reject(`line ${line}: price "${price}" is not a positive amount`);
    const category = col('category') >= 0 ? cells[col('category')]!.trim() || null : null;
    const description = col('description') >= 0 ? cells[col('description')]!.trim() || null : null;
    items.push({ name, priceCents: Math.round(Number(price) * 100), category, description });
  }
  if (items.length === 0) reject('no menu items after the header');
  if (items.length > MAX_MENU_ITEMS) reject(`too many items (${items.length} > ${MAX_MENU_ITEMS})`);
  return items;
}

// ---------------------------------------------------------------------------------------------
// Request schemas

const addressSchema = z.object({
  street: z.string().min(1),
  city: z.string().min(1),
  postcode: z.string().min(1),
  country: z.string().regex(/^[A-Z]{2}$/, 'country must be an ISO 3166-1 alpha-2 code'),
});

const createMerchantBody = z.object({
  externalRef: z.string().min(1).max(100),
  legalName: z.string().min(1).max(200),
  email: z.email(),
  phone: z.string().min(5),
  address: addressSchema,
  region: z.string().min(1).optional(),
});

const verificationBody = z.object({
  method: z.enum(['registry-lookup', 'document-review', 'phone-call']),
  registrationNumber: z.string().optional(),
  phone: z.string().optional(),
});

const createStoreBody = z.object({
  name: z.string().min(1).max(200),
  cuisine: z.string().min(1),
  phone: z.string().min(5),
  address: addressSchema,
  pickupOnly: z.boolean().default(false),
  region: z.string().min(1).optional(),
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'time must be HH:MM');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const openingHoursBody = z.object({
  timezone: z.string().optional(),
  weekly: z.partialRecord(weekday, z.array(z.object({ open: hhmm, close: hhmm })).max(4)),
});

const imageBody = z.object({
  url: z.url({ protocol: /^https?$/ }),
  kind: z.enum(['logo', 'cover', 'dish']).default('dish'),
  position: z.number().int().min(0).optional(),
});

const deliveryZonesBody = z.object({
  zones: z
    .array(
      z.object({
        name: z.string().min(1),
        radiusKm: z.number().positive().max(30),
        feeCents: z.number().int().min(0),
        minOrderCents: z.number().int().min(0).default(0),
      }),
    )
    .min(1)
    .max(10),
});

const payoutBody = z.object({
  accountHolder: z.string().min(1),
  iban: z.string().min(1),
});

const emailBody = z.object({
  template: z.string().min(1),
  to: z.email(),
  storeId: z.string().optional(),
  variables: z.record(z.string(), z.string()).default({}),
});

const faultRuleSchema = z.object({
  endpoint: z.string().min(1),
  match: z
    .object({
      externalId: z.string().optional(),
      namePattern: z.string().optional(),
      rate: z.number().min(0).max(1).optional(),
    })
    .optional(),
  status: z.number().int().min(400).max(599),
  times: z.number().int().positive().optional(),
  message: z.string().optional(),
  delayMs: z.number().int().min(0).max(120_000).optional(),
});

// ---------------------------------------------------------------------------------------------
// Server

export interface PartnerSandboxOptions {
  /** 0 = random free port. Default 0. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  apiKey: string;
  /** Random delay per /v1 request. Default 5-30 ms. */
  latencyMs?: { min: number; max: number };
  /** Fault rules active from the start. */
  faults?: FaultRule[];
}

export interface PartnerSandbox {
  url: string;
  state: SandboxState;
  /** Adds fault rules (same as POST /__sandbox/faults); returns the stored rules. */
  addFaults(rules: FaultRule[]): StoredFaultRule[];
  clearFaults(): void;
  reset(): void;
  close(): Promise<void>;
}

interface RouteContext {
  req: Request;
  state: SandboxState;
  params: Record<string, string>;
}

interface RouteResult {
  status: number;
  body: unknown;
}

interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  /** Pipeline step name this route serves; what fault rules' `endpoint` matches. */
  step: string | null;
  handler(ctx: RouteContext): RouteResult;
}

function sendError(res: Response, err: HttpError): void {
  res.status(err.status).json({
    error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) },
  });
}

export async function startPartnerSandbox(opts: PartnerSandboxOptions): Promise<PartnerSandbox> {
  const host = opts.host ?? '127.0.0.1';
  const latency = opts.latencyMs ?? { min: 5, max: 30 };
  const state = emptyState();
  let faultSeq = 0;
  const inFlight = new Set<string>();

  const addFaults = (rules: FaultRule[]): StoredFaultRule[] => {
    for (const rule of rules) {
      const parsed = faultRuleSchema.parse(rule);
      if (parsed.match?.namePattern) new RegExp(parsed.match.namePattern, 'i'); // throws on a bad pattern
      state.faults.push({ ...parsed, id: `flt_${++faultSeq}`, hits: 0 });
    }
    return state.faults;
  };
  if (opts.faults?.length) addFaults(opts.faults);

  const getMerchant = (id: string): Merchant => {
    const m = state.merchants.get(id);
    if (!m) throw new HttpError(404, 'not_found', `merchant ${id} not found`);
    return m;
  };
  const getStore = (id: string): Store => {
    const s = state.stores.get(id);
    if (!s) throw new HttpError(404, 'not_found', `store ${id} not found`);
    return s;
  };

  /** The restaurant a request is about, for fault matching. */
  const subjectOf = (req: Request, params: Record<string, string>): { externalId?: string; name?: string } => {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const query = req.query as Record<string, unknown>;
    let merchant: Merchant | undefined;
    let store: Store | undefined;
    if (params.storeId) {
      store = state.stores.get(params.storeId);
      merchant = store ? state.merchants.get(store.merchantId) : undefined;
    }
    if (params.merchantId) merchant = state.merchants.get(params.merchantId);
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      externalId: merchant?.externalRef ?? str(body.externalRef) ?? str(query.externalRef),
      name: store?.name ?? merchant?.legalName ?? str(body.legalName) ?? str(body.name) ?? str(query.name),
    };
  };

  const matchFault = (
    spec: RouteSpec,
    req: Request,
    params: Record<string, string>,
    key: string | null,
  ): StoredFaultRule | undefined => {
    for (const rule of state.faults) {
      if (rule.endpoint !== '*' && rule.endpoint !== spec.step) continue;
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      const m = rule.match;
      if (m?.externalId !== undefined || m?.namePattern !== undefined) {
        const subject = subjectOf(req, params);
        if (m.externalId !== undefined && subject.externalId !== m.externalId) continue;
        if (
          m.namePattern !== undefined &&
          !(subject.name !== undefined && new RegExp(m.namePattern, 'i').test(subject.name))
        )
          continue;
      }
      if (m?.rate !== undefined && unitHash(key ?? req.originalUrl) >= m.rate) continue;
      return rule;
    }
    return undefined;
  };

  const routes: RouteSpec[] = [
    {
      method: 'GET',
      path: '/v1/merchants/search',
      step: 'check-duplicates',
      handler: ({ req }) => {
        const q = req.query as Record<string, unknown>;
        const name = typeof q.name === 'string' ? q.name : '';
        const postcode = typeof q.postcode === 'string' ? q.postcode : '';
        const externalRef = typeof q.externalRef === 'string' ? q.externalRef : undefined;
        if (!name || !postcode)
          throw new HttpError(400, 'invalid_request', 'query parameters name and postcode are required');
        const matches: unknown[] = [];
        for (const m of state.merchants.values()) {
          const stores = [...state.stores.values()].filter((s) => s.merchantId === m.merchantId);
          const candidates = stores.length ? stores : [undefined];
          for (const s of candidates) {
            const matchedOn: string[] = [];
            if (externalRef && m.externalRef === externalRef) matchedOn.push('externalRef');
            const storeName = s?.name ?? m.legalName;
            const storePostcode = (s?.address ?? m.address).postcode;
            if (normalise(storeName) === normalise(name) && normalise(storePostcode) === normalise(postcode))
              matchedOn.push('name+postcode');
            if (!matchedOn.length) continue;
            matches.push({
              merchantId: m.merchantId,
              storeId: s?.storeId ?? null,
              externalRef: m.externalRef,
              name: storeName,
              postcode: storePostcode,
              status: s?.status === 'live' ? 'live' : 'draft',
              matchedOn,
            });
          }
        }
        return { status: 200, body: { matches } };
      },
    },
    {
      method: 'POST',
      path: '/v1/merchants',
      step: 'create-merchant-account',
      handler: ({ req }) => {
        const body = parseBody(createMerchantBody, req.body);
        const existing = [...state.merchants.values()].find((m) => m.externalRef === body.externalRef);
        if (existing) {
          throw new HttpError(
            409,
            'duplicate_external_ref',
            `a merchant with externalRef ${body.externalRef} already exists (${existing.merchantId})`,
            {
              merchantId: existing.merchantId,
            },
          );
        }
        const merchant: Merchant = {
          merchantId: newId('mer'),
          externalRef: body.externalRef,
          legalName: body.legalName,
          email: body.email,
          phone: body.phone,
          address: body.address,
          region: body.region ?? null,
          status: 'pending_verification',
          createdAt: now(),
        };
        state.merchants.set(merchant.merchantId, merchant);
        return { status: 201, body: merchant };
      },
    },
    {
      method: 'POST',
      path: '/v1/merchants/:merchantId/verifications',
      step: 'verify-business',
      handler: ({ req, params }) => {
        const merchant = getMerchant(params.merchantId!);
        const body = parseBody(verificationBody, req.body);
        if (body.method === 'registry-lookup' && !/^[A-Z0-9-]{4,20}$/i.test(body.registrationNumber ?? '')) {
          throw new HttpError(
            422,
            'verification_failed',
            'business verification failed: registry lookup needs a valid registrationNumber',
          );
        }
        if (body.method === 'phone-call' && !body.phone) {
          throw new HttpError(
            422,
            'verification_failed',
            'business verification failed: phone-call verification needs a phone number',
          );
        }
        const existing = [...state.verifications.values()].find((v) => v.merchantId === merchant.merchantId);
        if (existing) return { status: 200, body: existing };
        const verification: Verification = {
          verificationId: newId('ver'),
          merchantId: merchant.merchantId,
          method: body.method,
          registrationNumber: body.registrationNumber ?? null,
          status: 'verified',
          verifiedAt: now(),
        };
        state.verifications.set(verification.verificationId, verification);
        merchant.status = 'verified';
        return { status: 201, body: verification };
      },
    },
    {
      method: 'POST',
      path: '/v1/merchants/:merchantId/stores',
      step: 'create-store',
      handler: ({ req, params }) => {
        const merchant = getMerchant(params.merchantId!);
        const body = parseBody(createStoreBody, req.body);
        const store: Store = {
          storeId: newId('sto'),
          merchantId: merchant.merchantId,
          name: body.name,
          cuisine: body.cuisine,
          phone: body.phone,
          address: body.address,
          pickupOnly: body.pickupOnly,
          region: body.region ?? merchant.region,
          status: 'draft',
          createdAt: now(),
        };
        state.stores.set(store.storeId, store);
        return { status: 201, body: store };
      },
    },
    {
      method: 'PUT',
      path: '/v1/stores/:storeId/opening-hours',
      step: 'set-opening-hours',
      handler: ({ req, params }) => {
        const store = getStore(params.storeId!);
        const body = parseBody(openingHoursBody, req.body);
        for (const [day, ranges] of Object.entries(body.weekly)) {
          for (const r of ranges ?? []) {
            if (r.close <= r.open)
              throw new HttpError(
                422,
                'invalid_request',
                `invalid request: ${day} ${r.open}-${r.close}: close must be after open`,
              );
          }
        }
        const record: OpeningHoursRecord = {
          storeId: store.storeId,
          timezone: body.timezone ?? null,
          weekly: body.weekly,
          updatedAt: now(),
        };
        state.openingHours.set(store.storeId, record);
        return { status: 200, body: record };
      },
    },
    {
      method: 'PUT',
      path: '/v1/stores/:storeId/menu',
      step: 'upload-menu',
      handler: ({ req, params }) => {
        const store = getStore(params.storeId!);
        if (typeof req.body !== 'string')
          throw new HttpError(415, 'unsupported_media_type', 'menu must be sent as text/csv');
        const items = parseMenuCsv(req.body);
        const menu: Menu = { menuId: newId('men'), storeId: store.storeId, items, uploadedAt: now() };
        state.menus.set(store.storeId, menu);
        const categories = [...new Set(items.map((i) => i.category).filter((c): c is string => c !== null))];
        return {
          status: 200,
          body: {
            menuId: menu.menuId,
            storeId: store.storeId,
            itemCount: items.length,
            categories,
            uploadedAt: menu.uploadedAt,
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/stores/:storeId/images',
      step: 'upload-images',
      handler: ({ req, params }) => {
        const store = getStore(params.storeId!);
        const body = parseBody(imageBody, req.body);
        const images = state.images.get(store.storeId) ?? [];
        if (images.length >= 20) throw new HttpError(422, 'too_many_images', 'a store may have at most 20 images');
        const image: StoreImage = {
          imageId: newId('img'),
          storeId: store.storeId,
          url: body.url,
          kind: body.kind,
          position: body.position ?? images.length,
          status: 'processed',
        };
        images.push(image);
        state.images.set(store.storeId, images);
        return { status: 201, body: image };
      },
    },
    {
      method: 'PUT',
      path: '/v1/stores/:storeId/delivery-zones',
      step: 'configure-delivery-zones',
      handler: ({ req, params }) => {
        const store = getStore(params.storeId!);
        if (store.pickupOnly)
          throw new HttpError(422, 'pickup_only', 'store is pickup-only and cannot have delivery zones');
        const body = parseBody(deliveryZonesBody, req.body);
        const zones: DeliveryZone[] = body.zones.map((z) => ({ zoneId: newId('zon'), ...z }));
        state.deliveryZones.set(store.storeId, zones);
        return { status: 200, body: { storeId: store.storeId, zones } };
      },
    },
    {
      method: 'PUT',
      path: '/v1/merchants/:merchantId/payout-account',
      step: 'setup-payments',
      handler: ({ req, params }) => {
        const merchant = getMerchant(params.merchantId!);
        const body = parseBody(payoutBody, req.body);
        const iban = body.iban.replace(/\s+/g, '').toUpperCase();
        if (!isValidIban(iban))
          throw new HttpError(422, 'invalid_iban', 'payout account rejected: IBAN failed validation');
        const account: PayoutAccount = {
          payoutAccountId: state.payments.get(merchant.merchantId)?.payoutAccountId ?? newId('pa'),
          merchantId: merchant.merchantId,
          accountHolder: body.accountHolder,
          ibanLast4: iban.slice(-4),
          country: iban.slice(0, 2),
          status: 'active',
          updatedAt: now(),
        };
        state.payments.set(merchant.merchantId, account);
        return { status: 200, body: account };
      },
    },
    {
      method: 'POST',
      path: '/v1/stores/:storeId/publish',
      step: 'publish-store',
      handler: ({ params }) => {
        const store = getStore(params.storeId!);
        const existing = state.published.get(store.storeId);
        if (existing) return { status: 200, body: { ...existing, status: 'live' } };
        const merchant = getMerchant(store.merchantId);
        const missing: string[] = [];
        if (merchant.status !== 'verified') missing.push('business verification');
        if (!state.openingHours.has(store.storeId)) missing.push('opening hours');
        if (!state.menus.has(store.storeId)) missing.push('menu');
        if (!store.pickupOnly && !state.deliveryZones.get(store.storeId)?.length) missing.push('delivery zones');
        if (!state.payments.has(merchant.merchantId)) missing.push('payout account');
        if (missing.length)
          throw new HttpError(409, 'store_not_ready', `store is not ready to publish: missing ${missing.join(', ')}`, {
            missing,
          });
        const record: PublishRecord = {
          storeId: store.storeId,
          publishedAt: now(),
          publicUrl: `https://order.partner.example/s/${store.storeId}`,
        };
        state.published.set(store.storeId, record);
        store.status = 'live';
        return { status: 200, body: { ...record, status: 'live' } };
      },
    },
    {
      method: 'POST',
      path: '/v1/merchants/:merchantId/emails',
      step: 'send-welcome-email',
      handler: ({ req, params }) => {
        const merchant = getMerchant(params.merchantId!);
        const body = parseBody(emailBody, req.body);
        if (body.storeId) getStore(body.storeId);
        const email: SentEmail = {
          emailId: newId('eml'),
          merchantId: merchant.merchantId,
          storeId: body.storeId ?? null,
          template: body.template,
          to: body.to,
          variables: body.variables,
          status: 'queued',
          queuedAt: now(),
        };
        state.emails.push(email);
        return { status: 202, body: email };
      },
    },
    {
      method: 'GET',
      path: '/v1/merchants/:merchantId',
      step: null,
      handler: ({ params }) => ({ status: 200, body: getMerchant(params.merchantId!) }),
    },
    {
      method: 'GET',
      path: '/v1/stores/:storeId',
      step: null,
      handler: ({ params }) => {
        const store = getStore(params.storeId!);
        return { status: 200, body: { ...store, published: state.published.get(store.storeId) ?? null } };
      },
    },
  ];

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: '1mb' }));
  app.use(express.text({ type: ['text/csv', 'text/plain'], limit: '2mb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, service: 'partner-platform-sandbox' });
  });

  const handle = async (spec: RouteSpec, req: Request, res: Response): Promise<void> => {
    const isWrite = spec.method !== 'GET';
    const key = req.get('Idempotency-Key') ?? null;
    const params = req.params as Record<string, string>;
    const entry: SandboxRequestLogEntry = {
      method: req.method,
      path: req.path,
      endpoint: spec.step,
      idempotencyKey: key,
      replayed: false,
      faulted: false,
      status: 0,
      at: now(),
    };
    state.requests.push(entry);
    let claimed = false;
    try {
      if (req.get('Authorization') !== `Bearer ${opts.apiKey}`) {
        throw new HttpError(401, 'unauthorized', 'missing or invalid API key');
      }
      if (isWrite && !key)
        throw new HttpError(400, 'idempotency_key_required', 'writes require an Idempotency-Key header');
      const min = Math.max(0, latency.min);
      const max = Math.max(min, latency.max);
      await sleep(min + Math.random() * (max - min));

      const fault = matchFault(spec, req, params, key);
      if (fault) {
        fault.hits++;
        entry.faulted = true;
        await sleep(fault.delayMs ?? 0);
        if (fault.status === 429 || fault.status === 503) res.set('Retry-After', '1');
        const code = fault.status >= 500 ? 'service_unavailable' : fault.status === 429 ? 'rate_limited' : 'rejected';
        throw new HttpError(
          fault.status,
          code,
          fault.message ?? `injected fault (${fault.id}) on ${spec.step ?? req.path}`,
          { injected: true, rule: fault.id },
        );
      }

      if (isWrite && key) {
        const stored = state.idempotency.get(key);
        if (stored) {
          if (stored.method !== req.method || stored.path !== req.path) {
            throw new HttpError(
              422,
              'idempotency_key_reused',
              `Idempotency-Key was already used for ${stored.method} ${stored.path}`,
            );
          }
          entry.replayed = true;
          entry.status = stored.status;
          res.status(stored.status).set('Idempotent-Replayed', 'true').json(stored.body);
          return;
        }
        if (inFlight.has(key))
          throw new HttpError(
            409,
            'idempotency_key_in_use',
            'a request with this Idempotency-Key is still being processed',
          );
        inFlight.add(key);
        claimed = true;
      }

      const result = spec.handler({ req, state, params });
      if (isWrite && key && result.status >= 200 && result.status < 300) {
        state.idempotency.set(key, { method: req.method, path: req.path, status: result.status, body: result.body });
      }
      entry.status = result.status;
      res.status(result.status).json(result.body);
    } catch (err) {
      const httpErr =
        err instanceof HttpError
          ? err
          : new HttpError(500, 'internal_error', `internal error: ${(err as Error).message}`);
      entry.status = httpErr.status;
      sendError(res, httpErr);
    } finally {
      if (claimed && key) inFlight.delete(key);
    }
  };

  for (const spec of routes) {
    const register =
      spec.method === 'GET' ? app.get.bind(app) : spec.method === 'POST' ? app.post.bind(app) : app.put.bind(app);
    register(spec.path, (req: Request, res: Response) => handle(spec, req, res));
  }

  // --- sandbox control plane -------------------------------------------------------------------
  app.get('/__sandbox/requests', (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const requests = state.requests.filter(
      (r) =>
        (!q.method || r.method === q.method.toUpperCase()) &&
        (!q.path || r.path === q.path) &&
        (!q.endpoint || r.endpoint === q.endpoint) &&
        (!q.idempotencyKey || r.idempotencyKey === q.idempotencyKey),
    );
    res.json({
      count: requests.length,
      replayed: requests.filter((r) => r.replayed).length,
      faulted: requests.filter((r) => r.faulted).length,
      requests,
    });
  });
  app.get('/__sandbox/faults', (_req, res) => {
    res.json({ rules: state.faults });
  });
  app.post('/__sandbox/faults', (req, res) => {
    const parsed = z.object({ rules: z.array(faultRuleSchema) }).safeParse(req.body ?? {});
    if (!parsed.success)
      return sendError(
        res,
        new HttpError(
          422,
          'invalid_request',
          `invalid fault rules: ${parsed.error.issues[0]?.message}`,
          parsed.error.issues,
        ),
      );
    try {
      res.status(201).json({ rules: addFaults(parsed.data.rules) });
    } catch (err) {
      sendError(res, new HttpError(422, 'invalid_request', `invalid fault rules: ${(err as Error).message}`));
    }
  });
  app.delete('/__sandbox/faults', (_req, res) => {
    state.faults = [];
    res.json({ rules: [] });
  });
  app.delete('/__sandbox/faults/:id', (req, res) => {
    state.faults = state.faults.filter((f) => f.id !== req.params.id);
    res.json({ rules: state.faults });
  });
  app.post('/__sandbox/reset', (_req, res) => {
    resetState(state);
    res.json({ ok: true });
  });
  app.get('/__sandbox/state', (_req, res) => {
    res.json({
      merchants: [...state.merchants.values()],
      stores: [...state.stores.values()],
      verifications: [...state.verifications.values()],
      openingHours: [...state.openingHours.values()],
      menus: [...state.menus.values()].map((m) => ({
        menuId: m.menuId,
        storeId: m.storeId,
        itemCount: m.items.length,
        uploadedAt: m.uploadedAt,
      })),
      images: Object.fromEntries(state.images),
      deliveryZones: Object.fromEntries(state.deliveryZones),
      payments: [...state.payments.values()],
      published: [...state.published.values()],
      emails: state.emails,
      counts: {
        merchants: state.merchants.size,
        stores: state.stores.size,
        published: state.published.size,
        emails: state.emails.length,
        requests: state.requests.length,
      },
    });
  });

  app.use((req: Request, res: Response) => {
    sendError(res, new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
  });
  // Body-parser failures (malformed JSON, too large) end up here.
  app.use(
    (err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: express.NextFunction) => {
      const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
      sendError(
        res,
        new HttpError(status, err.type === 'entity.parse.failed' ? 'invalid_json' : 'bad_request', err.message),
      );
    },
  );

  const server = http.createServer(app);
  await listen(server, opts.port ?? 0, host);
  return {
    url: baseUrlOf(server),
    state,
    addFaults,
    clearFaults: () => {
      state.faults = [];
    },
    reset: () => resetState(state),
    close: () => closeServer(server),
  };
}

if (require.main === module) {
  const port = Number(process.env.PARTNER_SANDBOX_PORT ?? 4010);
  const apiKey = process.env.PARTNER_API_KEY ?? 'sandbox-key';
  const host = process.env.PARTNER_SANDBOX_HOST ?? '127.0.0.1';
  runFromCli(
    'partner platform sandbox',
    () => startPartnerSandbox({ port, host, apiKey }),
    (sandbox) => ({ url: sandbox.url }),
  );
}
