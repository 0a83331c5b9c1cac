/** The AI client pipelines use (OpenAI-compatible API), its error mapping and its price table. */
export {
  AiClient,
  type AiCallContext,
  type AiCallOptions,
  type AiClientOptions,
  type AiMessage,
  type AiUsage,
} from './client';
export { AiInvalidOutputError, AiUnavailableError, mapAiError, notConfiguredError } from './errors';
export { costOf, DEFAULT_PRICES, priceOf, type ModelPrice, type PriceTable, type TokenUsage } from './prices';
