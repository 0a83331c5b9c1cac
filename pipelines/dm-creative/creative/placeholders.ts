/**
 * Placeholders in a template's texts: `{{name}}` is replaced by the recipient's field, a batch
 * setting or a value computed per recipient. Any other name is an extra column of the
 * recipients (a CSV column, an entity field), which every recipient of a batch must have.
 */
import { PLACEHOLDER_PATTERN } from '../../../contract/values';

/** `text` with each placeholder replaced by its value (an unknown one by nothing). */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER_PATTERN, (_m, name: string) => values[name] ?? '');
}

/** Filled from the batch settings, for every recipient alike. */
export const SETTINGS_PLACEHOLDERS = ['companyName', 'industry', 'brandVoice'] as const;

/** Computed per recipient (see `placeholderValuesOf`). */
export const COMPUTED_PLACEHOLDERS = ['greeting', 'fullName', 'addressBlock', 'trackingUrl'] as const;

/** Brand voices that read better with a first-name greeting. */
const INFORMAL_VOICE = /\b(friendly|casual|playful|warm|fun|informal)\b/i;

export interface PlaceholderSource {
  /** The recipient's fields, standard and extra columns alike. */
  recipient: Readonly<Record<string, unknown>>;
  settings: { companyName: string; industry?: string; brandVoice?: string };
  trackingUrl: string;
}

const textOf = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/** Every value a placeholder can take for one recipient. */
export function placeholderValuesOf({
  recipient: r,
  settings: s,
  trackingUrl,
}: PlaceholderSource): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) values[k] = textOf(v);
  for (const k of SETTINGS_PLACEHOLDERS) values[k] = textOf(s[k]);
  const name = textOf(r.name);
  const fullName = [name, textOf(r.lastname)].filter(Boolean).join(' ');
  const cityLine = [textOf(r.zip), textOf(r.city)].filter((v) => v.trim()).join(' ');
  values.fullName = fullName;
  values.addressBlock = [fullName, textOf(r.address), cityLine].filter((v) => v.trim()).join('\n');
  values.greeting = s.brandVoice && INFORMAL_VOICE.test(s.brandVoice) ? `Hi ${name},` : `Dear ${fullName},`;
  values.trackingUrl = trackingUrl;
  return values;
}

/**
 * The placeholders this recipient has no value for (a field that is absent or blank), ignoring
 * those filled from settings or computed.
 */
export function missingFieldsOf(
  placeholders: readonly string[],
  recipient: Readonly<Record<string, unknown>>,
): string[] {
  const filled = new Set<string>([...SETTINGS_PLACEHOLDERS, ...COMPUTED_PLACEHOLDERS]);
  return placeholders.filter((p) => !filled.has(p) && textOf(recipient[p]).trim() === '');
}
