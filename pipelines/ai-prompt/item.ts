/** One ai-prompt item: a CSV row, its columns the prompt template's placeholders (the schema doubles as the type). */
import { z } from 'zod';

const MAX_COLUMNS = 100;
const MAX_CELL_CHARS = 20_000;

/** CSV cells arrive as strings; an empty cell means "not given". */
const blankToUndefined = (v: unknown) => (v === '' || v === null ? undefined : v);

const cell = z.union([
  z.string().max(MAX_CELL_CHARS, `a cell may hold at most ${MAX_CELL_CHARS} characters`),
  z.number(),
  z.boolean(),
  z.null(),
]);

export const promptRowSchema = z
  .object({
    /** Row number in the CSV; the item key when given. */
    row: z.preprocess(blankToUndefined, z.coerce.number().int().positive().max(10_000_000).optional()),
    /** Rows with the same chatId are one conversation. */
    chatId: z.preprocess(
      (v) => (typeof v === 'number' ? String(v) : blankToUndefined(typeof v === 'string' ? v.trim() : v)),
      z.string().max(200).optional(),
    ),
    url: z.preprocess(
      blankToUndefined,
      z
        .url({ protocol: /^https?$/ })
        .max(2000)
        .optional(),
    ),
  })
  .catchall(cell)
  .refine((row) => Object.keys(row).length <= MAX_COLUMNS, `a row may have at most ${MAX_COLUMNS} columns`);
export type PromptRow = z.infer<typeof promptRowSchema>;
export type PromptRowInput = z.input<typeof promptRowSchema>;
