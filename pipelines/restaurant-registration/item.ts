/**
 * The restaurant-registration item: one restaurant as the batch's input lists it, and the rules it
 * must meet before anything is sent to the partner platform (the validate-data step).
 */
import { z } from 'zod';

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

// ---------------------------------------------------------------------------------------------
// Step output of validate-data

export interface ValidateDataOutput {
  valid: true;
  openDays: number;
  menuRows: number;
  warnings: string[];
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
