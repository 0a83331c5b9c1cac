/**
 * What an AI call costs, from the token counts the API reports and a price table per model. The
 * batch's "estimated cost" (seed 000: "each AI call's estimated_cost is summed") is the sum of
 * these; a model missing from the table costs 0 and the caller is told, so an unpriced model
 * shows up as a warning rather than as a silently wrong total.
 */

/** USD per one million tokens. `cachedInput` applies to `prompt_tokens_details.cached_tokens`. */
export interface ModelPrice {
  input: number;
  output: number;
  cachedInput?: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** OpenAI list prices (standard tier) per 1M tokens. Dated snapshots match their base name. */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'gpt-5': { input: 1.25, output: 10, cachedInput: 0.125 },
  'gpt-5-mini': { input: 0.25, output: 2, cachedInput: 0.025 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cachedInput: 0.005 },
  'o3-mini': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
};

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Part of promptTokens served from the prompt cache (cheaper). */
  cachedPromptTokens?: number;
}

/** A snapshot name is its base name plus a date: `gpt-4o-mini-2024-07-18`, `gpt-4o-2024-08-06`. */
const SNAPSHOT_SUFFIX = /^-\d{4}-\d{2}-\d{2}$/;

/**
 * The price entry of `model`: exact name first, then the base name of a dated snapshot. Matching
 * is deliberately strict (`gpt-4o-mini` never falls back to `gpt-4o`), so a new variant is
 * reported as unpriced instead of being billed at a neighbour's rate.
 */
export function priceOf(model: string, prices: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  const name = model.trim().toLowerCase();
  const exact = prices[name];
  if (exact) return exact;
  for (const [base, price] of Object.entries(prices)) {
    if (name.startsWith(base) && SNAPSHOT_SUFFIX.test(name.slice(base.length))) return price;
  }
  return undefined;
}

/** USD cost of one call; `priced: false` when the model is not in the table (cost 0). */
export function costOf(
  model: string,
  usage: TokenUsage,
  prices: PriceTable = DEFAULT_PRICES,
): { costUsd: number; priced: boolean } {
  const price = priceOf(model, prices);
  if (!price) return { costUsd: 0, priced: false };
  const cached = Math.min(Math.max(usage.cachedPromptTokens ?? 0, 0), usage.promptTokens);
  const cachedRate = price.cachedInput ?? price.input;
  const usd =
    ((usage.promptTokens - cached) * price.input + cached * cachedRate + usage.completionTokens * price.output) /
    1_000_000;
  // Round away float noise below a millionth of a cent; totals are summed over many items.
  return { costUsd: Math.round(usd * 1e10) / 1e10, priced: true };
}
