/**
 * Argument values the CLI accepts, as zod schemas: a wrong value is a usage error (exit 2) that
 * names the flag, before anything is sent to the API.
 */
import { z } from 'zod';

/** Misuse of the command line: exit code 2, with the command's usage. */
export class UsageError extends Error {}

export const BatchId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/, 'expected a batch ID such as batch-0mb3k2x9q-1a2b3c4d');
export const ScheduleId = z.string().regex(/^[A-Za-z0-9._:@-]{1,200}$/, 'expected a schedule ID');
export const UserId = z
  .string()
  .regex(/^usr_[A-Za-z0-9_-]{1,40}$/, 'expected a user ID such as usr_AbC123xyz (flotilla users list)');
export const OrgId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,49}$/, 'expected an organisation ID such as acme');
export const ApiUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:3000' });

/** `--settings '{"model":"gpt-4o"}'`: a JSON object. */
export const SettingsJson = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), z.unknown(), { error: 'expected a JSON object such as {"label":"x"}' }));

/** `--keys a,b,c` */
export const KeyList = z
  .string()
  .transform((s) => [
    ...new Set(
      s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    ),
  ])
  .pipe(z.array(z.string().max(200)).min(1, 'expected one or more item keys, comma-separated'));

export const Concurrency = z.coerce
  .number({ error: 'expected a whole number' })
  .int('expected a whole number')
  .min(1)
  .max(1000);
export const Limit = z.coerce
  .number({ error: 'expected a whole number' })
  .int('expected a whole number')
  .min(1)
  .max(200);

/**
 * Parses the command's positionals and flags with its schema. Keys of the schema are option
 * names (`created-by`) or positional names (shown as `<pipeline>`).
 */
export function parseCommandArgs<S extends z.ZodType>(
  schema: S,
  input: Record<string, unknown>,
  positionalNames: readonly string[],
): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = String(issue.path[0] ?? '');
  const name = positionalNames.includes(key) ? `<${key}>` : `--${key}`;
  const missing = input[key] === undefined;
  throw new UsageError(missing ? `${name} is required` : `${name}: ${issue.message}`);
}
