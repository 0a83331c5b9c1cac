/**
 * Typed HTTP client of the partner ordering platform (in development and tests: the stand-in in
 * sandbox/partner-platform/server.ts). Every write sends an `Idempotency-Key`; every call has a
 * timeout and honours the caller's AbortSignal.
 *
 * Error mapping, which decides whether Temporal retries the step:
 * - network failure, timeout, 5xx, 429, 408, 409 "idempotency_key_in_use" -> PartnerUnavailableError
 *   (a plain Error: retried with the step's backoff);
 * - 401/403 -> NonRetryableStepError('PartnerAuthError');
 * - any other 4xx -> NonRetryableStepError('PartnerRejectedError') with the partner's message;
 * - the caller's signal aborting -> the abort reason is rethrown as is (cancellation, not failure).
 */
import { NonRetryableStepError } from '../types';

export class PartnerUnavailableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'PartnerUnavailableError';
  }
}

export interface PartnerErrorDetails {
  status: number;
  code: string | null;
  method: string;
  path: string;
  details?: unknown;
}

export interface PartnerClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Per request. Default 15 s. */
  timeoutMs?: number;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

export interface WriteOptions extends ReadOptions {
  idempotencyKey: string;
}

// ---------------------------------------------------------------------------------------------
// Wire types

export interface PartnerAddress {
  street: string;
  city: string;
  postcode: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface DuplicateMatch {
  merchantId: string;
  storeId: string | null;
  externalRef: string;
  name: string;
  postcode: string;
  status: 'draft' | 'live';
  matchedOn: string[];
}

export interface SearchMerchantsQuery {
  name: string;
  postcode: string;
  externalRef?: string;
}

export interface CreateMerchantRequest {
  externalRef: string;
  legalName: string;
  email: string;
  phone: string;
  address: PartnerAddress;
  region?: string;
}

export interface MerchantResponse {
  merchantId: string;
  externalRef: string;
  legalName: string;
  status: 'pending_verification' | 'verified';
  createdAt: string;
}

export type VerificationMethod = 'registry-lookup' | 'document-review' | 'phone-call';

export interface VerificationRequest {
  method: VerificationMethod;
  registrationNumber?: string;
  phone?: string;
}

export interface VerificationResponse {
  verificationId: string;
  merchantId: string;
  method: VerificationMethod;
  status: 'verified';
  verifiedAt: string;
}

export interface CreateStoreRequest {
  name: string;
  cuisine: string;
  phone: string;
  address: PartnerAddress;
  pickupOnly: boolean;
  region?: string;
}

export interface StoreResponse {
  storeId: string;
  merchantId: string;
  name: string;
  status: 'draft' | 'live';
  createdAt: string;
}

export type WeekdayKey = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export type WeeklyHours = Partial<Record<WeekdayKey, Array<{ open: string; close: string }>>>;

export interface OpeningHoursResponse {
  storeId: string;
  timezone: string | null;
  weekly: WeeklyHours;
  updatedAt: string;
}

export interface MenuUploadResponse {
  menuId: string;
  storeId: string;
  itemCount: number;
  categories: string[];
  uploadedAt: string;
}

export interface ImageUploadRequest {
  url: string;
  kind?: 'logo' | 'cover' | 'dish';
  position?: number;
}

export interface ImageResponse {
  imageId: string;
  storeId: string;
  url: string;
  kind: 'logo' | 'cover' | 'dish';
  position: number;
  status: string;
}

export interface DeliveryZoneInput {
  name: string;
  radiusKm: number;
  feeCents: number;
  minOrderCents?: number;
}

export interface DeliveryZonesResponse {
  storeId: string;
  zones: Array<DeliveryZoneInput & { zoneId: string }>;
}

export interface PayoutAccountRequest {
  accountHolder: string;
  iban: string;
}

export interface PayoutAccountResponse {
  payoutAccountId: string;
  merchantId: string;
  ibanLast4: string;
  country: string;
  status: 'active';
}

export interface PublishResponse {
  storeId: string;
  status: 'live';
  publishedAt: string;
  publicUrl: string;
}

export interface SendEmailRequest {
  template: string;
  to: string;
  storeId?: string;
  variables?: Record<string, string>;
}

export interface EmailResponse {
  emailId: string;
  merchantId: string;
  template: string;
  to: string;
  status: 'queued';
  queuedAt: string;
}

// ---------------------------------------------------------------------------------------------

const RETRYABLE_4XX = new Set([408, 429]);

function isAbortError(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError')
  );
}

export class PartnerPlatformClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;

  constructor(opts: PartnerClientOptions) {
    if (!opts.baseUrl) throw new Error('PartnerPlatformClient: baseUrl is required');
    if (!opts.apiKey) throw new Error('PartnerPlatformClient: apiKey is required');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  searchMerchants(query: SearchMerchantsQuery, opts: ReadOptions = {}): Promise<{ matches: DuplicateMatch[] }> {
    const qs = new URLSearchParams({ name: query.name, postcode: query.postcode });
    if (query.externalRef) qs.set('externalRef', query.externalRef);
    return this.request('GET', `/v1/merchants/search?${qs.toString()}`, undefined, opts);
  }

  createMerchant(body: CreateMerchantRequest, opts: WriteOptions): Promise<MerchantResponse> {
    return this.request('POST', '/v1/merchants', body, opts);
  }

  verifyBusiness(merchantId: string, body: VerificationRequest, opts: WriteOptions): Promise<VerificationResponse> {
    return this.request('POST', `/v1/merchants/${encodeURIComponent(merchantId)}/verifications`, body, opts);
  }

  createStore(merchantId: string, body: CreateStoreRequest, opts: WriteOptions): Promise<StoreResponse> {
    return this.request('POST', `/v1/merchants/${encodeURIComponent(merchantId)}/stores`, body, opts);
  }

  setOpeningHours(
    storeId: string,
    body: { timezone?: string; weekly: WeeklyHours },
    opts: WriteOptions,
  ): Promise<OpeningHoursResponse> {
    return this.request('PUT', `/v1/stores/${encodeURIComponent(storeId)}/opening-hours`, body, opts);
  }

  uploadMenuCsv(storeId: string, csv: string, opts: WriteOptions): Promise<MenuUploadResponse> {
    return this.request('PUT', `/v1/stores/${encodeURIComponent(storeId)}/menu`, csv, opts, 'text/csv; charset=utf-8');
  }

  uploadImage(storeId: string, body: ImageUploadRequest, opts: WriteOptions): Promise<ImageResponse> {
    return this.request('POST', `/v1/stores/${encodeURIComponent(storeId)}/images`, body, opts);
  }

  setDeliveryZones(storeId: string, zones: DeliveryZoneInput[], opts: WriteOptions): Promise<DeliveryZonesResponse> {
    return this.request('PUT', `/v1/stores/${encodeURIComponent(storeId)}/delivery-zones`, { zones }, opts);
  }

  setPayoutAccount(merchantId: string, body: PayoutAccountRequest, opts: WriteOptions): Promise<PayoutAccountResponse> {
    return this.request('PUT', `/v1/merchants/${encodeURIComponent(merchantId)}/payout-account`, body, opts);
  }

  publishStore(storeId: string, opts: WriteOptions): Promise<PublishResponse> {
    return this.request('POST', `/v1/stores/${encodeURIComponent(storeId)}/publish`, {}, opts);
  }

  sendEmail(merchantId: string, body: SendEmailRequest, opts: WriteOptions): Promise<EmailResponse> {
    return this.request('POST', `/v1/merchants/${encodeURIComponent(merchantId)}/emails`, body, opts);
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body: unknown,
    opts: ReadOptions & { idempotencyKey?: string },
    contentType = 'application/json',
  ): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.apiKey}`, Accept: 'application/json' };
    if (method !== 'GET') {
      if (!opts.idempotencyKey) throw new Error(`PartnerPlatformClient: ${method} ${path} needs an idempotency key`);
      headers['Idempotency-Key'] = opts.idempotencyKey;
      headers['Content-Type'] = contentType;
    }
    opts.signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const where = `${method} ${path.split('?')[0]}`;

    let res: Awaited<ReturnType<typeof fetch>>;
    let text: string;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body ?? {}),
        signal,
      });
      text = await res.text();
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      if (timeout.aborted || isAbortError(err)) {
        throw new PartnerUnavailableError(`partner platform did not answer ${where} within ${this.timeoutMs} ms`);
      }
      const cause = (err as Error & { cause?: Error }).cause;
      throw new PartnerUnavailableError(
        `partner platform unreachable (${where}): ${cause?.message ?? (err as Error).message}`,
      );
    }

    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (res.ok) {
      if (json === undefined)
        throw new PartnerUnavailableError(
          `partner platform returned a non-JSON ${res.status} answer to ${where}`,
          res.status,
        );
      return json as T;
    }

    const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    const code = error?.code ?? null;
    const message = error?.message ?? (text.slice(0, 200) || res.statusText || 'no message');
    const retryAfter = Number(res.headers.get('retry-after'));
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;

    if (res.status >= 500 || RETRYABLE_4XX.has(res.status) || code === 'idempotency_key_in_use') {
      throw new PartnerUnavailableError(
        `partner platform unavailable (${res.status} on ${where}): ${message}`,
        res.status,
        retryAfterMs,
      );
    }
    const details: PartnerErrorDetails = {
      status: res.status,
      code,
      method,
      path: path.split('?')[0]!,
      ...(error?.details !== undefined ? { details: error.details } : {}),
    };
    if (res.status === 401 || res.status === 403) {
      throw new NonRetryableStepError(
        `partner platform refused the API key (${res.status}): ${message}`,
        'PartnerAuthError',
        details,
      );
    }
    throw new NonRetryableStepError(message, 'PartnerRejectedError', details);
  }
}
