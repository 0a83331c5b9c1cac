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
import { restaurantItemSchema, validateRestaurant, type RestaurantItem } from './item';

export {
  deliveryZoneSchema,
  isValidIban,
  openingHoursSchema,
  restaurantItemSchema,
  restaurantTypes,
  validateRestaurant,
  WEEKDAYS,
  type RestaurantItem,
  type RestaurantItemInput,
  type ValidateDataOutput,
} from './item';

// ---------------------------------------------------------------------------------------------
// Settings and steps

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
      result: 'merchants created',
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
      skipIf: { path: 'item.pickupOnly', equals: true, reason: 'pickup only' },
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
      result: 'stores published',
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
      result: 'welcome e-mails sent',
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
    exportColumns: (item) => {
      const out = (step: string, field: string) => {
        const v = (item.outputs[step] as Record<string, unknown> | undefined)?.[field];
        return typeof v === 'string' ? v : null;
      };
      return {
        merchant_id: out('create-merchant-account', 'merchantId'),
        store_id: out('create-store', 'storeId'),
        store_url: out('publish-store', 'publicUrl'),
      };
    },
  });
}

export type RestaurantRegistrationPipeline = ReturnType<typeof createRestaurantRegistrationPipeline>;

/**
 * The definition wired to the local partner sandbox. Enough for the registry, plans and item
 * validation; a worker that talks to a real platform builds its own with
 * `createRestaurantRegistrationPipeline(depsFromEnv)`.
 */
export const restaurantRegistrationPipeline = createRestaurantRegistrationPipeline(SANDBOX_PARTNER_DEPS);
