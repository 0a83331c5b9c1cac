/**
 * ai-prompt's `answer` step called directly (hand-built StepContext with hand-built
 * predecessors, no Temporal) against the OpenAI stand-in over real HTTP; the template rules; the
 * CSV row and settings schemas.
 */
import { toStepFailure } from '../activities/steps';
import {
  aiPromptSettingsSchema,
  createAiPromptPipeline,
  historyOf,
  promptRowSchema,
  type AiPromptPipeline,
  type AiPromptSettings,
  type AnswerOutput,
  type PromptRow,
} from '../pipelines/ai-prompt';
import { demoPromptRows } from '../pipelines/ai-prompt/demo-data';
import { placeholders, renderTemplate, templateProblems } from '../pipelines/ai-prompt/template';
import { NonRetryableStepError, type SequencePredecessor, type SettledItem } from '../pipelines/types';
import { startOpenAiStandIn, type OpenAiStandIn } from '../sandbox/openai/server';
import { gpt4oMiniCost, stepContext } from './support/step-context';

const KEY = 'sk-prompt-test';
let openai: OpenAiStandIn;
let pipeline: AiPromptPipeline;

beforeAll(async () => {
  openai = await startOpenAiStandIn({ port: 0, apiKey: KEY });
  pipeline = createAiPromptPipeline({ ai: { baseUrl: openai.url, apiKey: KEY, model: 'gpt-4o-mini' } });
});
afterAll(async () => {
  await openai.close();
});
beforeEach(() => openai.reset());

const settings = (over: Partial<AiPromptSettings> = {}) => aiPromptSettingsSchema.parse(over);
const row = (raw: Record<string, unknown>) => promptRowSchema.parse(raw);

async function answer(item: PromptRow, s: AiPromptSettings, predecessors: SequencePredecessor[] = [], def = pipeline) {
  const rec = stepContext({ item, settings: s, step: 'answer', itemKey: String(item.row ?? 1), predecessors });
  const output = (await def.steps[0]!.run(rec.ctx)) as AnswerOutput;
  return { output, ...rec };
}

const done = (
  key: string,
  prompt: string,
  answerText: string,
  status: SequencePredecessor['status'] = 'succeeded',
): SequencePredecessor => ({
  itemKey: key,
  item: {},
  status,
  outputs:
    status === 'succeeded'
      ? {
          answer: {
            prompt,
            answer: answerText,
            chatId: 'c',
            turn: 1,
            model: 'gpt-4o-mini',
            tokens: { prompt: 1, completion: 1 },
            costUsd: 0,
          },
        }
      : {},
});

describe('answer', () => {
  test('renders the prompt, sends it with the chat so far (succeeded rows only), returns answer, tokens and cost', async () => {
    const s = settings({ promptTemplate: 'Q: {{question}} (lang {{ Lang }})', systemPrompt: 'You answer briefly.' });
    const item = row({ row: '4', chatId: 'c', question: 'And in winter?', lang: 'en' });
    const predecessors = [
      done('1', 'Q: Best month for Lisbon? (lang en)', 'Reply #1 (0 earlier turns): Best month for Lisbon?'),
      done('2', 'Q: broken row', '', 'failed'),
      done('3', 'Q: Where to stay? (lang en)', 'Reply #2 (1 earlier turns): Where to stay?'),
    ];
    const { output, costs } = await answer(item, s, predecessors);

    const req = openai.requests[0]!;
    expect(req.messages).toEqual([
      { role: 'system', content: 'You answer briefly.' },
      { role: 'user', content: 'Q: Best month for Lisbon? (lang en)' },
      { role: 'assistant', content: 'Reply #1 (0 earlier turns): Best month for Lisbon?' },
      { role: 'user', content: 'Q: Where to stay? (lang en)' },
      { role: 'assistant', content: 'Reply #2 (1 earlier turns): Where to stay?' },
      { role: 'user', content: 'Q: And in winter? (lang en)' },
    ]);
    expect(req.headers['idempotency-key']).toBe('batch-unit/4/answer');
    expect(req.responseFormat).toBeNull();
    expect(output).toEqual({
      prompt: 'Q: And in winter? (lang en)',
      answer: 'Reply #3 (2 earlier turns): Q: And in winter?',
      chatId: 'c',
      turn: 3,
      model: 'gpt-4o-mini',
      tokens: { prompt: req.usage!.prompt_tokens, completion: req.usage!.completion_tokens },
      costUsd: expect.closeTo(gpt4oMiniCost(req.usage!), 12),
    });
    expect(costs).toEqual([output.costUsd]);
    expect(output.costUsd).toBeGreaterThan(0);
  });

  test('a row without a chat is a conversation of one', async () => {
    const { output } = await answer(row({ question: 'Capital of Australia?' }), settings());
    expect(output).toMatchObject({
      prompt: 'Capital of Australia?',
      chatId: null,
      turn: 1,
      answer: 'Reply #1 (0 earlier turns): Capital of Australia?',
    });
    expect(openai.requests[0]!.messages).toEqual([{ role: 'user', content: 'Capital of Australia?' }]);
  });

  test('a row missing a template column fails with a ValidationError naming it (not retried, no AI call)', async () => {
    const err = await answer(
      row({ row: 2, chatId: 'c', prompt: 'hello' }),
      settings({ promptTemplate: '{{question}} / {{context}}' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableStepError);
    expect(err).toMatchObject({ errorType: 'ValidationError', details: { missing: ['question', 'context'] } });
    expect((err as Error).message).toMatch(
      /\{\{question\}\}, \{\{context\}\}.*no such column.*columns: row, chatId, prompt/,
    );
    expect(toStepFailure(err, 1)).toMatchObject({ type: 'ValidationError', nonRetryable: true });
    expect(openai.requests).toHaveLength(0);
  });

  test('a row whose template columns are all blank fails (nothing to ask)', async () => {
    await expect(answer(row({ question: '   ' }), settings())).rejects.toMatchObject({
      errorType: 'ValidationError',
      message: expect.stringMatching(/empty.*question/),
    });
    expect(openai.requests).toHaveLength(0);
  });

  test('without AI settings: non-retryable AiNotConfigured naming the missing setting', async () => {
    const offline = createAiPromptPipeline({ ai: { baseUrl: openai.url, model: 'gpt-4o-mini' } });
    const err = await answer(row({ question: 'hi' }), settings(), [], offline).catch((e: unknown) => e);
    expect(err).toMatchObject({ errorType: 'AiNotConfigured', message: expect.stringMatching(/OPENAI_API_KEY/) });
    expect((err as Error).message).not.toMatch(/OPENAI_BASE_URL/);
  });

  test('the model setting is used', async () => {
    const { output } = await answer(row({ question: 'hi there' }), settings({ model: 'gpt-4.1-mini' }));
    expect(openai.requests[0]!.model).toBe('gpt-4.1-mini');
    expect(output.model).toBe('gpt-4.1-mini');
  });

  test('429 is retryable, 400 is not', async () => {
    openai.addFaults([
      { match: { lastUser: 'busy' }, status: 429 },
      { match: { lastUser: 'too long' }, status: 400, message: 'context_length_exceeded' },
    ]);
    const busy = await answer(row({ question: 'busy' }), settings()).catch((e: unknown) => e);
    expect(toStepFailure(busy, 1).nonRetryable).toBe(false);
    const tooLong = await answer(row({ question: 'too long' }), settings()).catch((e: unknown) => e);
    expect(toStepFailure(tooLong, 1)).toMatchObject({ type: 'AiRejectedError', nonRetryable: true });
  });

  test('history ignores predecessors without a usable answer output', () => {
    expect(
      historyOf([
        { itemKey: '1', item: {}, status: 'succeeded', outputs: { answer: { prompt: 'p1' } } },
        { itemKey: '2', item: {}, status: 'skipped', outputs: {} },
        { itemKey: '3', item: {}, status: 'cancelled', outputs: {} },
        done('4', 'p4', 'a4'),
      ]),
    ).toEqual([
      { role: 'user', content: 'p4' },
      { role: 'assistant', content: 'a4' },
    ]);
  });
});

describe('template', () => {
  test('placeholders and rendering', () => {
    expect(placeholders('{{a}} {{ b }} {{a}} {{First Name}}')).toEqual(['a', 'b', 'First Name']);
    expect(
      renderTemplate('Hi {{ First Name }}, {{n}} {{flag}} {{none}}', {
        'First Name': 'Ana',
        n: 3,
        flag: false,
        none: null,
      }),
    ).toEqual({ prompt: 'Hi Ana, 3 false ', missing: [] });
    // Case-insensitive only when it is unambiguous.
    expect(renderTemplate('{{question}}', { Question: 'q' })).toEqual({ prompt: 'q', missing: [] });
    expect(renderTemplate('{{question}}', { Question: 'q', QUESTION: 'Q' }).missing).toEqual(['question']);
  });

  test('a value that looks like a placeholder is not expanded again', () => {
    expect(renderTemplate('{{a}}', { a: '{{b}}', b: 'secret' }).prompt).toBe('{{b}}');
    expect(renderTemplate('{{__proto__}} {{constructor}}', {}).missing).toEqual(['__proto__', 'constructor']);
  });

  test('problems are caught when the batch is created (settings schema)', () => {
    expect(templateProblems('{{question}}')).toEqual([]);
    expect(
      aiPromptSettingsSchema.safeParse({ promptTemplate: 'no placeholders here' }).error?.issues[0]?.message,
    ).toMatch(/at least one \{\{column\}\}/);
    expect(aiPromptSettingsSchema.safeParse({ promptTemplate: 'broken {{question' }).error?.issues[0]?.message).toMatch(
      /unclosed/,
    );
    expect(aiPromptSettingsSchema.safeParse({ promptTemplate: '{{}} and {{q}}' }).error?.issues[0]?.message).toMatch(
      /unclosed or empty/,
    );
    expect(aiPromptSettingsSchema.safeParse({ promptTemplate: '{{q}}', model: 'bad model' }).success).toBe(false);
    expect(settings().promptTemplate).toBe('{{question}}');
  });
});

describe('definition', () => {
  test('CSV rows: strings coerced, blanks dropped, any columns kept', () => {
    expect(row({ row: '7', chatId: '', question: 'q', url: '', extra: 'x' })).toEqual({
      row: 7,
      question: 'q',
      extra: 'x',
    });
    expect(row({ chatId: 42, question: 'q' }).chatId).toBe('42');
    expect(promptRowSchema.safeParse({ row: '0', question: 'q' }).success).toBe(false);
    expect(promptRowSchema.safeParse({ question: { nested: true } }).success).toBe(false);
    expect(promptRowSchema.safeParse({ question: 'x'.repeat(20_001) }).success).toBe(false);
    expect(promptRowSchema.safeParse({ url: 'javascript:alert(1)', question: 'q' }).success).toBe(false);
    expect(
      promptRowSchema.safeParse(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`c${i}`, 'v']))).success,
    ).toBe(false);
  });

  test('sequence key is the chatId; item key the row number, else the position', () => {
    expect(pipeline.sequenceKey!(row({ chatId: 'trip', question: 'q' }))).toBe('trip');
    expect(pipeline.sequenceKey!(row({ question: 'q' }))).toBeUndefined();
    expect(pipeline.itemKey!(row({ row: 12, question: 'q' }), 0)).toBe('12');
    expect(pipeline.itemKey!(row({ question: 'q' }), 4)).toBe('5');
  });

  test('demo rows: ten valid rows in three interleaved chats plus one on its own', () => {
    const rows = pipeline.demoItems!().map((r) => promptRowSchema.parse(r));
    expect(rows).toHaveLength(10);
    expect([...new Set(rows.map((r) => r.chatId).filter(Boolean))]).toEqual(['trip', 'pitch', 'sql']);
    expect(rows.every((r) => renderTemplate(settings().promptTemplate, r).missing.length === 0)).toBe(true);
    expect(demoPromptRows.map((r) => r.row)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test('export columns: the answer and the turn', () => {
    const settled = (outputs: Record<string, unknown>) =>
      ({ itemKey: '1', seq: 1, item: {}, status: 'succeeded', outputs, error: null, costUsd: 0 }) as SettledItem;
    expect(
      pipeline.exportColumns!(
        settled({
          answer: {
            prompt: 'p',
            answer: 'a',
            chatId: null,
            turn: 2,
            model: 'm',
            tokens: { prompt: 1, completion: 1 },
            costUsd: 0,
          },
        }),
      ),
    ).toEqual({ answer: 'a', chat_turn: 2 });
    expect(pipeline.exportColumns!(settled({}))).toEqual({ answer: null, chat_turn: null });
  });
});
