/**
 * The AI client pipeline steps use: the official `openai` package against any OpenAI-compatible
 * base URL (in development and tests: the stand-in in sandbox/openai/server.ts).
 *
 * Two calls: `structured` (response_format json_schema built from a zod schema; the answer is
 * JSON-parsed and zod-validated here, so a malformed answer is a retryable AiInvalidOutputError,
 * never a ZodError that the engine would read as invalid *input*) and `chat` (plain completion
 * over a message history). Every call:
 * - sends the step's idempotency key as `Idempotency-Key`, so a provider or proxy that
 *   deduplicates can, and so requests can be traced to `<batch>/<item>/<step>`;
 * - passes the step's AbortSignal, so cancelling a batch aborts calls in flight;
 * - prices its token usage (./prices.ts) and adds it to the item's cost with `ctx.addCost`, so
 *   no step can forget to; the usage is also returned for the step output.
 * The client never retries by itself (see ./errors.ts).
 */
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { z } from 'zod';
import type { AiSettings } from '../../pipelines/deps';
import { NonRetryableStepError, type StepLogger } from '../../pipelines/types';
import { AiInvalidOutputError, AiUnavailableError, mapAiError, notConfiguredError } from './errors';
import { costOf, DEFAULT_PRICES, type PriceTable } from './prices';

export interface AiMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The part of a StepContext an AI call needs. */
export interface AiCallContext {
  idempotencyKey: string;
  signal: AbortSignal;
  addCost(usd: number): void;
  log: StepLogger;
}

/** What one call used and cost; steps put it in their output. */
export interface AiUsage {
  /** The model that answered (as the API reports it). */
  model: string;
  tokens: { prompt: number; completion: number };
  costUsd: number;
}

export interface AiCallOptions {
  messages: AiMessage[];
  /** Overrides the deployment's model (a batch setting, say). */
  model?: string;
  temperature?: number;
  maxTokens?: number;
}

export interface AiClientOptions {
  /** Per request. Default 45 s (steps default to a 60 s start-to-close timeout). */
  timeoutMs?: number;
  prices?: PriceTable;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

export class AiClient {
  private openai?: OpenAI;
  private readonly timeoutMs: number;
  private readonly prices: PriceTable;

  constructor(
    private readonly settings: AiSettings,
    opts: AiClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 45_000;
    this.prices = opts.prices ?? DEFAULT_PRICES;
  }

  /** The settings a call would miss, as environment variable names (empty: configured). */
  missingSettings(): string[] {
    const missing: string[] = [];
    if (!this.settings.baseUrl?.trim()) missing.push('OPENAI_BASE_URL');
    if (!this.settings.apiKey?.trim()) missing.push('OPENAI_API_KEY');
    return missing;
  }

  /** A JSON answer matching `schema`, validated. */
  async structured<S extends z.ZodType>(
    ctx: AiCallContext,
    opts: AiCallOptions & { schema: S; name: string },
  ): Promise<{ value: z.infer<S>; usage: AiUsage }> {
    const format = zodResponseFormat(opts.schema, opts.name);
    const completion = await this.complete(ctx, opts, { type: 'json_schema', json_schema: format.json_schema });
    const { content, usage } = this.account(ctx, completion, opts);
    let json: unknown;
    try {
      json = JSON.parse(content);
    } catch {
      throw new AiInvalidOutputError(
        `model answered ${opts.name} with text that is not JSON: ${JSON.stringify(content.slice(0, 120))}`,
      );
    }
    const parsed = opts.schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new AiInvalidOutputError(
        `model answer does not match ${opts.name}: ${issues.slice(0, 5).join('; ')}`,
        parsed.error.issues,
      );
    }
    return { value: parsed.data, usage };
  }

  /** A plain text answer to the conversation in `messages`. */
  async chat(ctx: AiCallContext, opts: AiCallOptions): Promise<{ text: string; usage: AiUsage }> {
    const completion = await this.complete(ctx, opts);
    const { content, usage } = this.account(ctx, completion, opts);
    return { text: content, usage };
  }

  private client(): OpenAI {
    const missing = this.missingSettings();
    if (missing.length) throw notConfiguredError(missing);
    this.openai ??= new OpenAI({
      baseURL: this.settings.baseUrl!.trim().replace(/\/+$/, ''),
      apiKey: this.settings.apiKey!.trim(),
      maxRetries: 0,
      timeout: this.timeoutMs,
    });
    return this.openai;
  }

  private modelFor(opts: AiCallOptions): string {
    const model = (opts.model ?? this.settings.model).trim();
    if (!MODEL_NAME.test(model))
      throw new NonRetryableStepError(`invalid model name ${JSON.stringify(model.slice(0, 100))}`, 'AiRejectedError');
    return model;
  }

  private async complete(
    ctx: AiCallContext,
    opts: AiCallOptions,
    responseFormat?: ChatCompletionCreateParamsNonStreaming['response_format'],
  ): Promise<ChatCompletion> {
    const client = this.client();
    const model = this.modelFor(opts);
    if (!opts.messages.length)
      throw new NonRetryableStepError('an AI call needs at least one message', 'AiRejectedError');
    ctx.signal.throwIfAborted();
    const body: ChatCompletionCreateParamsNonStreaming = {
      model,
      messages: opts.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(responseFormat ? { response_format: responseFormat } : {}),
      ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
      ...(opts.maxTokens !== undefined ? { max_completion_tokens: opts.maxTokens } : {}),
    };
    try {
      return await client.chat.completions.create(body, {
        signal: ctx.signal,
        headers: { 'Idempotency-Key': ctx.idempotencyKey },
      });
    } catch (err) {
      throw mapAiError(err, ctx.signal, `chat.completions ${model}`);
    }
  }

  /** Prices the call and adds it to the item's cost, then checks the answer is usable. */
  private account(
    ctx: AiCallContext,
    completion: ChatCompletion,
    opts: AiCallOptions,
  ): { content: string; usage: AiUsage } {
    const model = completion.model || this.modelFor(opts);
    const promptTokens = completion.usage?.prompt_tokens ?? 0;
    const completionTokens = completion.usage?.completion_tokens ?? 0;
    if (!completion.usage) ctx.log.warn('AI answer has no token usage; its cost counts as 0', { model });
    const { costUsd, priced } = costOf(
      model,
      { promptTokens, completionTokens, cachedPromptTokens: completion.usage?.prompt_tokens_details?.cached_tokens },
      this.prices,
    );
    if (!priced) ctx.log.warn('no price for AI model; its cost counts as 0', { model, promptTokens, completionTokens });
    ctx.addCost(costUsd);
    const usage: AiUsage = { model, tokens: { prompt: promptTokens, completion: completionTokens }, costUsd };

    const choice = completion.choices?.[0];
    if (!choice) throw new AiUnavailableError(`AI API answered without a choice (model ${model})`);
    if (choice.message?.refusal) {
      throw new NonRetryableStepError(`model refused: ${choice.message.refusal.slice(0, 300)}`, 'AiRefusedError', {
        usage,
      });
    }
    if (choice.finish_reason === 'content_filter')
      throw new NonRetryableStepError('the answer was withheld by the content filter', 'AiRefusedError', { usage });
    if (choice.finish_reason === 'length')
      throw new AiInvalidOutputError(`the answer was cut off at the token limit (${completionTokens} tokens)`);
    const content = choice.message?.content ?? '';
    if (!content.trim()) throw new AiInvalidOutputError(`model ${model} answered with empty content`);
    return { content, usage };
  }
}
