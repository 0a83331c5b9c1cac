/**
 * ai-prompt: seed 003's batch chat. One item = one CSV row; the batch's `promptTemplate` turns
 * the row's columns into a prompt (`{{question}}`), the model answers, the answer is the row's
 * result. Rows sharing a `chatId` are one conversation: the engine runs them one after another
 * in CSV order (`sequenceKey`) and each row is sent with the earlier rows' prompts and answers
 * as history (`ctx.predecessors()`); different chats and rows without a chatId run in parallel.
 * A row that failed is left out of its chat's history (seed 003: log it and go on).
 *
 * The AI settings are injected (`createAiPromptPipeline`); this module never reads process.env.
 */
import { z } from 'zod';
import { AiClient, type AiMessage, type AiUsage } from '../../lib/ai';
import type { AiSettings } from '../deps';
import { definePipeline, NonRetryableStepError, type SequencePredecessor, type SettledItem } from '../types';
import { demoPromptRows } from './demo-data';
import { cellText, placeholders, renderTemplate, templateProblems } from './template';
import { promptRowSchema, type PromptRow, type PromptRowInput } from './item';

export { promptRowSchema, type PromptRow, type PromptRowInput };

// ---------------------------------------------------------------------------------------------
// Schemas

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

export const aiPromptSettingsSchema = z.object({
  /** The prompt per row: `{{column}}` is replaced by the row's value of that column. */
  promptTemplate: z
    .string()
    .min(1)
    .max(20_000)
    .superRefine((t, ctx) => {
      for (const p of templateProblems(t)) ctx.addIssue({ code: 'custom', message: p.message });
    })
    .default('{{question}}'),
  systemPrompt: z.string().trim().max(10_000).optional(),
  /** Overrides the deployment's model (OPENAI_MODEL) for this batch. */
  model: z.string().trim().regex(MODEL_NAME, 'model must be a model name like gpt-4o-mini').optional(),
});
export type AiPromptSettings = z.infer<typeof aiPromptSettingsSchema>;

/** What `answer` returns, and what a later row of the chat reads back from its predecessors. */
export const AnswerOutput = z.object({
  prompt: z.string(),
  answer: z.string(),
  chatId: z.string().nullable(),
  /** 1 for the first row of a chat (or a row without one). */
  turn: z.number().int().positive(),
  model: z.string(),
  tokens: z.object({ prompt: z.number(), completion: z.number() }),
  costUsd: z.number(),
});
export type AnswerOutput = z.infer<typeof AnswerOutput>;

// ---------------------------------------------------------------------------------------------

/** The conversation so far: each earlier row that succeeded as its prompt and its answer. */
export function historyOf(predecessors: SequencePredecessor[]): AiMessage[] {
  const messages: AiMessage[] = [];
  for (const p of predecessors) {
    if (p.status !== 'succeeded') continue;
    const out = AnswerOutput.pick({ prompt: true, answer: true }).safeParse(p.outputs['answer']);
    if (!out.success) continue;
    messages.push({ role: 'user', content: out.data.prompt }, { role: 'assistant', content: out.data.answer });
  }
  return messages;
}

export function promptItemKey(row: PromptRow, index: number): string {
  return row.row !== undefined ? String(row.row) : String(index + 1);
}

export interface AiPromptDeps {
  ai: AiSettings;
  aiTimeoutMs?: number;
}

export function createAiPromptPipeline(deps: AiPromptDeps) {
  const ai = new AiClient(deps.ai, { timeoutMs: deps.aiTimeoutMs });

  return definePipeline({
    name: 'ai-prompt',
    title: 'AI prompt over CSV rows',
    description:
      'Sends a prompt built from each CSV row to the AI model. Rows with the same chatId are one conversation, answered in order with the earlier answers as history.',
    version: 1,
    itemNoun: 'row',
    itemSchema: promptRowSchema,
    settingsSchema: aiPromptSettingsSchema,
    itemKey: promptItemKey,
    sequenceKey: (row) => row.chatId,
    demoItems: () => demoPromptRows,
    exportColumns: (row: SettledItem) => {
      const out = AnswerOutput.safeParse(row.outputs['answer']);
      return { answer: out.success ? out.data.answer : null, chat_turn: out.success ? out.data.turn : null };
    },
    // AI calls go through a queue of their own so the provider's rate limit holds across workers.
    queues: {
      ai: { concurrency: 20, ...(deps.ai.requestsPerMinute ? { ratePerMinute: deps.ai.requestsPerMinute } : {}) },
    },
    steps: [
      {
        name: 'answer',
        result: 'answers',
        queue: 'ai',
        description: 'Renders the prompt from the row, sends it with the chat history so far, keeps the answer.',
        run: async (ctx): Promise<AnswerOutput> => {
          const { prompt, missing } = renderTemplate(ctx.settings.promptTemplate, ctx.item);
          if (missing.length) {
            const columns = Object.keys(ctx.item);
            throw new NonRetryableStepError(
              `the prompt template uses ${missing.map((m) => `{{${m}}}`).join(', ')} but this row has no such column (columns: ${columns.join(', ') || 'none'})`,
              'ValidationError',
              { missing, columns },
            );
          }
          if (!prompt.trim()) {
            const used = placeholders(ctx.settings.promptTemplate).filter((p) => !cellText(ctx.item[p]).trim());
            throw new NonRetryableStepError(
              `the prompt for this row is empty (blank: ${used.join(', ')})`,
              'ValidationError',
              { blank: used },
            );
          }
          const history = historyOf(await ctx.predecessors());
          const messages: AiMessage[] = [
            ...(ctx.settings.systemPrompt ? [{ role: 'system' as const, content: ctx.settings.systemPrompt }] : []),
            ...history,
            { role: 'user', content: prompt },
          ];
          const { text, usage } = await ai.chat(ctx, { messages, model: ctx.settings.model });
          return {
            prompt,
            answer: text,
            chatId: ctx.item.chatId ?? null,
            turn: history.length / 2 + 1,
            ...usageOf(usage),
          };
        },
      },
    ],
  });
}

const usageOf = (u: AiUsage) => ({ model: u.model, tokens: u.tokens, costUsd: u.costUsd });

export type AiPromptPipeline = ReturnType<typeof createAiPromptPipeline>;
