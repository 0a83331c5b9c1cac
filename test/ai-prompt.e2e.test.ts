/**
 * ai-prompt through the whole engine: CSV rows of three chats, interleaved as in a spreadsheet,
 * go in through the HTTP API; the real worker answers them via the OpenAI stand-in. What the
 * stand-in received proves the chat ordering: the k-th row of a chat was sent with exactly the
 * earlier rows' prompts and answers, in order, and only after the previous row was answered;
 * rows of different chats were in flight at the same time.
 */
import { createAiPromptPipeline, type AnswerOutput } from '../pipelines/ai-prompt';
import type { PipelineDefinition } from '../pipelines/types';
import { startOpenAiStandIn, type OpenAiStandIn, type RecordedRequest } from '../sandbox/openai/server';
import { batchEnded, startBatch } from './support/api';
import { recordHistory } from './support/histories';
import { startStack, uid } from './support/stack';
import { gpt4oMiniCost } from './support/step-context';

const KEY = 'sk-e2e-prompt';
const SYSTEM = 'You are a concise assistant.';
let stack: Awaited<ReturnType<typeof startStack>>;
let openai: OpenAiStandIn;

beforeAll(async () => {
  // Latency makes the overlap of parallel chats visible.
  openai = await startOpenAiStandIn({ port: 0, apiKey: KEY, latencyMs: { min: 800, max: 1000 } });
  const pipelines = [
    createAiPromptPipeline({ ai: { baseUrl: openai.url, apiKey: KEY, model: 'gpt-4o-mini' } }),
  ] as unknown as PipelineDefinition[];
  stack = await startStack({ name: 'prompt', pipelines });
});

afterAll(async () => {
  await stack?.close();
  await openai?.close();
});

/** As parsed from a CSV: every cell a string, blanks empty. */
const CSV_ROWS = [
  { row: '1', chatId: 'trip', question: 'Three days in Lisbon in October. Where should I stay?', topic: 'travel' },
  {
    row: '2',
    chatId: 'pitch',
    question: 'Write a one-line pitch for a mobile bike repair service.',
    topic: 'marketing',
  },
  { row: '3', chatId: 'sql', question: 'How do I find duplicate e-mails in a users table?', topic: 'databases' },
  { row: '4', chatId: 'trip', question: 'Which of those works without a car?', topic: 'travel' },
  { row: '5', chatId: 'pitch', question: 'FAIL-ME Make it shorter.', topic: 'marketing' },
  { row: '6', chatId: 'sql', question: 'How do I keep only the oldest of each duplicate?', topic: 'databases' },
  { row: '7', chatId: '', question: 'What is the capital of Australia?', topic: 'trivia' },
  { row: '8', chatId: 'trip', question: 'Suggest a day trip by train.', topic: 'travel' },
  { row: '9', chatId: 'pitch', question: 'Now translate it into Spanish.', topic: 'marketing' },
  { row: '10', chatId: 'sql', question: 'Will that lock the table?', topic: 'databases' },
  { row: '11', chatId: 'trip', question: 'And where to eat pastéis de nata?', topic: 'travel' },
];

const promptOf = (r: (typeof CSV_ROWS)[number]) => `[${r.topic}] ${r.question}`;

test('rows of a chat run in order with the conversation so far; chats run in parallel; a failed row drops out of its chat', async () => {
  // Row 5 is rejected by the API (400: not retried); its chat goes on without it.
  openai.addFaults({
    match: { lastUser: 'FAIL-ME' },
    status: 400,
    message: 'This prompt was rejected by the stand-in.',
  });
  const id = await startBatch(stack.api, {
    pipeline: 'ai-prompt',
    name: uid('chats'),
    items: CSV_ROWS,
    settings: { promptTemplate: '[{{topic}}] {{question}}', systemPrompt: SYSTEM },
    concurrency: 10,
  });
  const batch = await batchEnded(stack.api, id, {
    statuses: ['completed', 'completed_with_errors', 'failed'],
    what: 'prompt batch to finish',
  });
  expect(batch.progress).toMatchObject({ status: 'completed_with_errors', total: 11, succeeded: 10, failed: 1 });

  const items: Array<{
    key: string;
    status: string;
    costUsd: number;
    error: { type: string; attempts: number } | null;
    steps: Array<{ output?: AnswerOutput }>;
  }> = (await stack.api.call('GET', `/api/batches/${id}/items?limit=20`)).body.items;
  const byKey = new Map(items.map((i) => [i.key, i]));
  expect(byKey.get('5')).toMatchObject({ status: 'failed', error: { type: 'AiRejectedError', attempts: 1 } });

  const requestOf = (row: string): RecordedRequest => {
    const found = openai.requests.filter((r) => r.headers['idempotency-key'] === `${id}/${row}/answer`);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  for (const chat of ['trip', 'pitch', 'sql']) {
    const rows = CSV_ROWS.filter((r) => r.chatId === chat);
    const history: Array<{ role: string; content: string }> = [];
    let previous: RecordedRequest | undefined;
    for (const row of rows) {
      const req = requestOf(row.row);
      // Exactly the earlier rows of this chat (that succeeded), in order, then this row's prompt.
      expect(req.messages).toEqual([
        { role: 'system', content: SYSTEM },
        ...history,
        { role: 'user', content: promptOf(row) },
      ]);
      // Sent only after the previous row of the chat was answered.
      if (previous) expect(req.startedAt).toBeGreaterThanOrEqual(previous.endedAt);
      previous = req;
      if (req.status !== 200) continue;
      const out = byKey.get(row.row)!.steps[0]!.output!;
      expect(out).toMatchObject({
        prompt: promptOf(row),
        answer: req.answer,
        chatId: chat,
        turn: history.length / 2 + 1,
      });
      history.push({ role: 'user', content: promptOf(row) }, { role: 'assistant', content: req.answer! });
    }
  }
  // The row without a chat had no history.
  expect(requestOf('7').messages).toEqual([
    { role: 'system', content: SYSTEM },
    { role: 'user', content: '[trivia] What is the capital of Australia?' },
  ]);
  // The stand-in's answers count the turns it was sent: the fourth trip row saw three earlier turns.
  expect(byKey.get('11')!.steps[0]!.output!.answer).toBe(
    'Reply #4 (3 earlier turns): [travel] And where to eat pastéis de nata?',
  );
  expect(byKey.get('9')!.steps[0]!.output!.turn).toBe(2); // row 5 failed, so row 9 is the pitch chat's second turn

  // Different chats were answered at the same time, not one after another.
  const first = ['1', '2', '3'].map(requestOf);
  const overlapping = first.some((a) =>
    first.some((b) => a !== b && a.startedAt < b.endedAt && b.startedAt < a.endedAt),
  );
  expect(overlapping).toBe(true);

  // Costs: each row's answer at list price; the batch is the sum.
  let sum = 0;
  for (const item of items) {
    const req = requestOf(item.key);
    const expected = req.status === 200 ? gpt4oMiniCost(req.usage!) : 0;
    expect(item.costUsd).toBeCloseTo(expected, 12);
    sum += item.costUsd;
  }
  expect(batch.progress.estimatedCostUsd).toBeCloseTo(sum, 5);

  // The export has the answer per row, joined to the CSV columns.
  const json = (await stack.api.call('GET', `/api/batches/${id}/export?format=json`)).body as Array<
    Record<string, unknown>
  >;
  expect(json.map((r) => r.key)).toEqual(CSV_ROWS.map((r) => r.row));
  expect(json[0]).toMatchObject({
    status: 'succeeded',
    answer: requestOf('1').answer,
    chat_turn: 1,
    input: { question: CSV_ROWS[0]!.question, chatId: 'trip' },
  });
  expect(json[4]).toMatchObject({ status: 'failed', answer: null, error_type: 'AiRejectedError' });
  // Row 4 started while row 1 of its chat was being answered (0.8 s and more): it waited for it.
  await recordHistory(stack.client, 'item-ai-prompt-waits-for-predecessor', `${id}/4`);
});

test('a template column missing from the rows fails each row with a ValidationError naming it, without calling the API', async () => {
  const before = openai.requests.length;
  const res = await stack.api.call('POST', '/api/batches', {
    pipeline: 'ai-prompt',
    name: uid('bad-template'),
    items: [
      { chatId: 'x', question: 'one' },
      { chatId: 'x', question: 'two' },
    ],
    settings: { promptTemplate: '{{question}} — context: {{context}}' },
  });
  expect(res.status).toBe(202);
  const progress = (
    await batchEnded(stack.api, res.body.id, {
      statuses: ['completed', 'completed_with_errors', 'failed'],
      timeoutMs: 60_000,
      what: 'bad-template batch to finish',
    })
  ).progress;
  expect(progress).toMatchObject({ failed: 2 });
  const items = (await stack.api.call('GET', `/api/batches/${res.body.id}/items`)).body.items;
  for (const item of items) {
    expect(item.error).toMatchObject({ type: 'ValidationError', attempts: 1 });
    expect(item.error.message).toMatch(/\{\{context\}\}/);
  }
  expect(openai.requests.length).toBe(before);
});

test('a template without any column is refused when the batch is created', async () => {
  const res = await stack.api.call('POST', '/api/batches', {
    pipeline: 'ai-prompt',
    name: uid('no-columns'),
    items: [{ question: 'q' }],
    settings: { promptTemplate: 'Tell me a joke.' },
  });
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body)).toMatch(/promptTemplate.*at least one \{\{column\}\}|at least one \{\{column\}\}/);
});
