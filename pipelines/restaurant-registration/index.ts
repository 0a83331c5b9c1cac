/**
 * restaurant-registration: registers one restaurant on the partner ordering platform in 12
 * ordered steps (the "YoloMode" flow of 001, one item = one restaurant). Every write carries
 * `ctx.idempotencyKey` so a retried step never applies its side effect twice; later steps take the
 * ids the earlier ones returned from `ctx.previous`.
 *
 * The partner's base URL and API key are injected (`createRestaurantRegistrationPipeline`); the
 * worker builds them from its environment. This module never reads process.env.
 */
import { z } from 'zod';
import {
  definePipeline,
  NonRetryableStepError,
  skipItem,
  type StepContext,
  type StepDefinition,
  type StepHandler,
} from '../types';
import { PartnerPlatformClient, type DuplicateMatch, type VerificationRequest, type WeeklyHours } from './client';

// ---------------------------------------------------------------------------------------------
// Schemas

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'time must be HH:MM (24 h)');

export const openingHoursSchema = z.partialRecord(
  z.enum(WEEKDAYS),
  z.array(z.object({ open: hhmm, close: hhmm })).max(4),
);

export const deliveryZoneSchema = z.object({
  name: z.string().trim().min(1).max(60),
  radiusKm: z.number().positive().max(30),
  feeCents: z.number().int().min(0),
  minOrderCents: z.number().int().min(0).default(0),
});

export const restaurantTypes = ['inbound', 'outbound'] as const;

export const restaurantItemSchema = z.object({
  /** Id in the source system (CRM); the item key within a batch. */
  externalId: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'externalId may contain letters, digits and . _ : - only'),
  name: z.string().trim().min(1).max(120),
  address: z.object({
    street: z.string().trim().min(1),
    city: z.string().trim().min(1),
    postcode: z.string().trim().min(1).max(12),
    country: z.string().regex(/^[A-Z]{2}$/, 'country must be an ISO 3166-1 alpha-2 code, e.g. GB'),
  }),
  phone: z.string().regex(/^\+[1-9][0-9 ()-]{6,20}$/, 'phone must be in international format, e.g. +44 20 7946 0958'),
  email: z.email(),
  cuisine: z.string().trim().min(1).max(60),
  /** inbound: the restaurant applied itself; outbound: sales approached it. */
  type: z.enum(restaurantTypes),
  /** Company registration number; inbound restaurants verified by registry lookup when present. */
  businessRegistrationNumber: z.string().trim().min(4).max(20).optional(),
  pickupOnly: z.boolean().default(false),
  /** IANA time zone of the opening hours, e.g. Europe/London. */
  timezone: z.string().optional(),
  openingHours: openingHoursSchema,
  /** CSV with at least the columns name,price (optional: category, description). */
  menuCsv: z.string().min(1),
  images: z
    .array(z.url({ protocol: /^https?$/ }))
    .max(20)
    .default([]),
  deliveryZones: z.array(deliveryZoneSchema).max(10).default([]),
  payment: z.object({
    accountHolder: z.string().trim().min(1),
    iban: z.string().trim().min(15).max(42),
  }),
});

export type RestaurantItem = z.infer<typeof restaurantItemSchema>;
export type RestaurantItemInput = z.input<typeof restaurantItemSchema>;

export const restaurantRegistrationSettingsSchema = z.object({
  /** Platform region the merchant and store are created in (e.g. "eu-west"). */
  platformRegion: z.string().min(1).optional(),
  sendWelcomeEmail: z.boolean().default(true),
  welcomeEmailTemplate: z.string().min(1).default('merchant-welcome'),
});

export type RestaurantRegistrationSettings = z.infer<typeof restaurantRegistrationSettingsSchema>;

export const STEP_NAMES = [
  'validate-data',
  'check-duplicates',
  'create-merchant-account',
  'verify-business',
  'create-store',
  'set-opening-hours',
  'upload-menu',
  'upload-images',
  'configure-delivery-zones',
  'setup-payments',
  'publish-store',
  'send-welcome-email',
] as const;

export type RestaurantStepName = (typeof STEP_NAMES)[number];

// ---------------------------------------------------------------------------------------------
// Step outputs (what `ctx.previous[step]` holds for later steps)

export interface ValidateDataOutput {
  valid: true;
  openDays: number;
  menuRows: number;
  warnings: string[];
}

export interface CheckDuplicatesOutput {
  exists: false;
  matches: number;
  /** Set when an earlier, unfinished registration of this same restaurant left a draft behind. */
  resumeMerchantId?: string;
  resumeStoreId?: string;
}

export interface CreateMerchantOutput {
  merchantId: string;
  resumed: boolean;
}

export interface CreateStoreOutput {
  storeId: string;
  resumed: boolean;
}

// ---------------------------------------------------------------------------------------------
// Business rules

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

/**
 * Rules a restaurant must meet before anything is sent to the platform. Returns the problems
 * found (empty: valid). The platform validates the menu rows itself (upload-menu).
 */
export function validateRestaurant(input: unknown): { problems: string[]; output?: ValidateDataOutput } {
  const parsed = restaurantItemSchema.safeParse(input);
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'item'}: ${i.message}`) };
  }
  const item = parsed.data;
  const problems: string[] = [];
  const warnings: string[] = [];

  let openDays = 0;
  for (const day of WEEKDAYS) {
    const ranges = [...(item.openingHours[day] ?? [])].sort((a, b) => a.open.localeCompare(b.open));
    if (ranges.length) openDays++;
    for (let i = 0; i < ranges.length; i++) {
      const r = ranges[i]!;
      if (r.close <= r.open) problems.push(`openingHours.${day}: ${r.open}-${r.close} closes before it opens`);
      const next = ranges[i + 1];
      if (next && next.open < r.close)
        problems.push(`openingHours.${day}: ${r.open}-${r.close} overlaps ${next.open}-${next.close}`);
    }
  }
  if (openDays === 0) problems.push('openingHours: the restaurant must be open on at least one day');

  if (item.pickupOnly && item.deliveryZones.length)
    problems.push('deliveryZones: a pickup-only restaurant must not define delivery zones');
  if (!item.pickupOnly && !item.deliveryZones.length)
    problems.push('deliveryZones: a delivering restaurant needs at least one delivery zone (or pickupOnly: true)');
  const zoneNames = item.deliveryZones.map((z) => z.name.toLowerCase());
  const dupZone = zoneNames.find((n, i) => zoneNames.indexOf(n) !== i);
  if (dupZone) problems.push(`deliveryZones: zone name "${dupZone}" is used twice`);

  if (!isValidIban(item.payment.iban)) problems.push('payment.iban: not a valid IBAN (checksum failed)');

  const menuLines = item.menuCsv.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (menuLines.length < 2) problems.push('menuCsv: needs a header line and at least one menu item');

  const dupImage = item.images.find((u, i) => item.images.indexOf(u) !== i);
  if (dupImage) problems.push(`images: ${dupImage} is listed twice`);
  if (!item.images.length) warnings.push('no images: the store will be listed without photos');

  if (problems.length) return { problems };
  return { problems, output: { valid: true, openDays, menuRows: menuLines.length - 1, warnings } };
}

// ---------------------------------------------------------------------------------------------
// Pipeline

type Ctx = StepContext<RestaurantItem, RestaurantRegistrationSettings>;
type Handler = StepHandler<RestaurantItem, RestaurantRegistrationSettings>;

function outputOf<T>(ctx: Ctx, step: RestaurantStepName): T | undefined {
  return ctx.previous[step] as T | undefined;
}

/** A field an earlier step must have produced (e.g. the merchantId of create-merchant-account). */
function requireId(ctx: Ctx, step: RestaurantStepName, field: string): string {
  const value = (ctx.previous[step] as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== 'string' || !value) {
    throw new NonRetryableStepError(`step ${step} did not provide ${field}; cannot continue`, 'MissingStepOutput');
  }
  return value;
}

export interface RestaurantRegistrationDeps {
  partnerBaseUrl: string;
  partnerApiKey: string;
  /** Per partner request. Default 15 s. */
  timeoutMs?: number;
}

/** Address of the local partner sandbox (`tsx sandbox/partner-platform/server.ts`) and its key. */
export const SANDBOX_PARTNER_DEPS: RestaurantRegistrationDeps = {
  partnerBaseUrl: 'http://127.0.0.1:4010',
  partnerApiKey: 'sandbox-key',
};

type Step = StepDefinition<RestaurantItem, RestaurantRegistrationSettings>;
/** Options of a partner write: the step's idempotency key (or one derived from it) and its cancellation signal. */
type Write = (ctx: Ctx, idempotencyKey?: string) => { idempotencyKey: string; signal: AbortSignal };

/** Up to a verified merchant: local checks, duplicates on the platform, the account, verification. */
function merchantSteps(partner: PartnerPlatformClient, write: Write): Step[] {
  const verifyWith =
    (pick: (item: RestaurantItem) => VerificationRequest): Handler =>
    async (ctx) => {
      const merchantId = requireId(ctx, 'create-merchant-account', 'merchantId');
      const request = pick(ctx.item);
      const v = await partner.verifyBusiness(merchantId, request, write(ctx));
      ctx.log.info('business verified', { merchantId, method: v.method });
      return { verificationId: v.verificationId, method: v.method, status: v.status };
    };

  return [
    {
      name: 'validate-data',
      description: 'Checks business rules locally before anything reaches the platform.',
      run: async (ctx) => {
        const { problems, output } = validateRestaurant(ctx.item);
        if (problems.length || !output) {
          throw new NonRetryableStepError(`invalid restaurant data: ${problems.join('; ')}`, 'ValidationError', {
            problems,
          });
        }
        return output;
      },
    },
    {
      name: 'check-duplicates',
      description: 'Skips the restaurant if the platform already has it.',
      run: async (ctx) => {
        const { item } = ctx;
        const { matches } = await partner.searchMerchants(
          { name: item.name, postcode: item.address.postcode, externalRef: item.externalId },
          { signal: ctx.signal },
        );
        const brief = (m: DuplicateMatch) => ({
          merchantId: m.merchantId,
          storeId: m.storeId,
          status: m.status,
          matchedOn: m.matchedOn,
        });
        const live = matches.find((m) => m.status === 'live');
        if (live) return skipItem('already registered on the platform', brief(live));
        const other = matches.find((m) => m.externalRef !== item.externalId);
        if (other) return skipItem('already registered on the platform (draft under another record)', brief(other));
        const own = matches.find((m) => m.externalRef === item.externalId);
        const output: CheckDuplicatesOutput = { exists: false, matches: matches.length };
        if (own) {
          output.resumeMerchantId = own.merchantId;
          if (own.storeId) output.resumeStoreId = own.storeId;
          ctx.log.info('resuming an unfinished registration', { merchantId: own.merchantId, storeId: own.storeId });
        }
        return output;
      },
    },
    {
      name: 'create-merchant-account',
      writes: 'creates the merchant account on the partner platform',
      run: async (ctx): Promise<CreateMerchantOutput> => {
        const resume = outputOf<CheckDuplicatesOutput>(ctx, 'check-duplicates')?.resumeMerchantId;
        if (resume) return { merchantId: resume, resumed: true };
        const { item } = ctx;
        const m = await partner.createMerchant(
          {
            externalRef: item.externalId,
            legalName: item.name,
            email: item.email,
            phone: item.phone,
            address: item.address,
            ...(ctx.settings.platformRegion ? { region: ctx.settings.platformRegion } : {}),
          },
          write(ctx),
        );
        ctx.log.info('merchant account created', { merchantId: m.merchantId });
        return { merchantId: m.merchantId, resumed: false };
      },
    },
    {
      name: 'verify-business',
      writes: 'submits the business for verification on the partner platform',
      description: 'Business verification; the method depends on how the restaurant came in (item.type).',
      run: verifyWith(() => ({ method: 'document-review' })),
      handlersByItemType: {
        path: 'item.type',
        handlers: {
          // Applied themselves: checked against the company registry when they gave a number.
          inbound: verifyWith((item) =>
            item.businessRegistrationNumber
              ? { method: 'registry-lookup', registrationNumber: item.businessRegistrationNumber }
              : { method: 'document-review' },
          ),
          // Approached by sales: the platform confirms by calling the restaurant.
          outbound: verifyWith((item) => ({ method: 'phone-call', phone: item.phone })),
        },
      },
    },
  ];
}

/** The store and what it shows: opening hours, menu, images, delivery zones. */
function storeSteps(partner: PartnerPlatformClient, write: Write): Step[] {
  return [
    {
      name: 'create-store',
      writes: 'creates the store on the partner platform',
      run: async (ctx): Promise<CreateStoreOutput> => {
        const resume = outputOf<CheckDuplicatesOutput>(ctx, 'check-duplicates')?.resumeStoreId;
        if (resume) return { storeId: resume, resumed: true };
        const merchantId = requireId(ctx, 'create-merchant-account', 'merchantId');
        const { item } = ctx;
        const s = await partner.createStore(
          merchantId,
          {
            name: item.name,
            cuisine: item.cuisine,
            phone: item.phone,
            address: item.address,
            pickupOnly: item.pickupOnly,
            ...(ctx.settings.platformRegion ? { region: ctx.settings.platformRegion } : {}),
          },
          write(ctx),
        );
        ctx.log.info('store created', { merchantId, storeId: s.storeId });
        return { storeId: s.storeId, resumed: false };
      },
    },
    {
      name: 'set-opening-hours',
      writes: "sets the store's opening hours on the partner platform",
      run: async (ctx) => {
        const storeId = requireId(ctx, 'create-store', 'storeId');
        const weekly: WeeklyHours = ctx.item.openingHours;
        const res = await partner.setOpeningHours(
          storeId,
          { weekly, ...(ctx.item.timezone ? { timezone: ctx.item.timezone } : {}) },
          write(ctx),
        );
        return { storeId, openDays: Object.values(res.weekly).filter((r) => r && r.length).length };
      },
    },
    {
      name: 'upload-menu',
      writes: 'uploads the menu to the partner platform',
      run: async (ctx) => {
        const storeId = requireId(ctx, 'create-store', 'storeId');
        const menu = await partner.uploadMenuCsv(storeId, ctx.item.menuCsv, write(ctx));
        ctx.log.info('menu uploaded', { storeId, items: menu.itemCount });
        return { menuId: menu.menuId, itemCount: menu.itemCount, categories: menu.categories };
      },
    },
    {
      name: 'upload-images',
      writes: 'uploads the images to the partner platform',
      description:
        'One upload per image, each with its own key derived from the step key; heartbeats its progress between images.',
      // The engine heartbeats through each upload, so the default heartbeat timeout holds.
      startToCloseTimeoutMs: 5 * 60_000,
      run: async (ctx) => {
        const storeId = requireId(ctx, 'create-store', 'storeId');
        const imageIds: string[] = [];
        for (const [i, url] of ctx.item.images.entries()) {
          const image = await partner.uploadImage(
            storeId,
            { url, kind: i === 0 ? 'cover' : 'dish', position: i },
            write(ctx, `${ctx.idempotencyKey}/image-${i + 1}`),
          );
          imageIds.push(image.imageId);
          ctx.heartbeat({ uploaded: i + 1, total: ctx.item.images.length });
        }
        return { count: imageIds.length, imageIds };
      },
    },
    {
      name: 'configure-delivery-zones',
      writes: 'configures delivery zones on the partner platform',
      skipIf: { path: 'item.pickupOnly', equals: true },
      run: async (ctx) => {
        const storeId = requireId(ctx, 'create-store', 'storeId');
        const res = await partner.setDeliveryZones(storeId, ctx.item.deliveryZones, write(ctx));
        return { zoneCount: res.zones.length, zoneIds: res.zones.map((z) => z.zoneId) };
      },
    },
  ];
}

/** Going live: payments, publishing, the welcome e-mail. */
function launchSteps(partner: PartnerPlatformClient, write: Write): Step[] {
  return [
    {
      name: 'setup-payments',
      writes: 'sets up payments on the partner platform',
      run: async (ctx) => {
        const merchantId = requireId(ctx, 'create-merchant-account', 'merchantId');
        const account = await partner.setPayoutAccount(
          merchantId,
          { accountHolder: ctx.item.payment.accountHolder, iban: ctx.item.payment.iban },
          write(ctx),
        );
        return { payoutAccountId: account.payoutAccountId, ibanLast4: account.ibanLast4, status: account.status };
      },
    },
    {
      name: 'publish-store',
      writes: 'publishes the store on the partner platform',
      run: async (ctx) => {
        const storeId = requireId(ctx, 'create-store', 'storeId');
        const published = await partner.publishStore(storeId, write(ctx));
        ctx.log.info('store published', { storeId, url: published.publicUrl });
        return {
          storeId,
          status: published.status,
          publicUrl: published.publicUrl,
          publishedAt: published.publishedAt,
        };
      },
    },
    {
      name: 'send-welcome-email',
      writes: 'sends the welcome e-mail through the partner platform',
      run: async (ctx) => {
        if (!ctx.settings.sendWelcomeEmail) return { sent: false, reason: 'welcome emails are off for this batch' };
        const merchantId = requireId(ctx, 'create-merchant-account', 'merchantId');
        const storeId = requireId(ctx, 'create-store', 'storeId');
        const publicUrl = outputOf<{ publicUrl?: string }>(ctx, 'publish-store')?.publicUrl ?? '';
        const email = await partner.sendEmail(
          merchantId,
          {
            template: ctx.settings.welcomeEmailTemplate,
            to: ctx.item.email,
            storeId,
            variables: { restaurantName: ctx.item.name, storeUrl: publicUrl },
          },
          write(ctx),
        );
        return { sent: true, emailId: email.emailId, to: email.to };
      },
    },
  ];
}

export function createRestaurantRegistrationPipeline(deps: RestaurantRegistrationDeps) {
  const timeoutMs = deps.timeoutMs ?? 15_000;
  const partner = new PartnerPlatformClient({ baseUrl: deps.partnerBaseUrl, apiKey: deps.partnerApiKey, timeoutMs });
  const write: Write = (ctx, idempotencyKey = ctx.idempotencyKey) => ({ idempotencyKey, signal: ctx.signal });

  return definePipeline({
    name: 'restaurant-registration',
    title: 'Restaurant registration',
    description:
      'Registers restaurants on the partner ordering platform: account, verification, store, hours, menu, images, delivery, payments, publish, welcome email.',
    version: 1,
    itemNoun: 'restaurant',
    itemSchema: restaurantItemSchema,
    settingsSchema: restaurantRegistrationSettingsSchema,
    itemKey: (item) => item.externalId,
    steps: [...merchantSteps(partner, write), ...storeSteps(partner, write), ...launchSteps(partner, write)],
  });
}

export type RestaurantRegistrationPipeline = ReturnType<typeof createRestaurantRegistrationPipeline>;

/**
 * The definition wired to the local partner sandbox. Enough for the registry, plans and item
 * validation; a worker that talks to a real platform builds its own with
 * `createRestaurantRegistrationPipeline(depsFromEnv)`.
 */
export const restaurantRegistrationPipeline = createRestaurantRegistrationPipeline(SANDBOX_PARTNER_DEPS);
