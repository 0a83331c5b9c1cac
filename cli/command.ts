/** What a CLI command is: its usage, flags, a zod schema for its values, and what it does. */
import type { z } from 'zod';
import type { ApiClient } from './api-client';
import type { Terminal } from './progress-view';

export interface CommandContext {
  api: ApiClient;
  out: Terminal;
  err: Terminal;
  /** `--json`: print the API's JSON instead of text (for scripts). */
  json: boolean;
  /** Directory relative file arguments are resolved against (the operator's, not npm's). */
  cwd: string;
}

export interface Command<S extends z.ZodType = z.ZodType> {
  name: string;
  /** One line: `status <batchId> [--watch]`. */
  usage: string;
  summary: string;
  /** Names of the positional arguments, in order (the last ones may be optional in `args`). */
  positionals: readonly string[];
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  /** Keys are option names and positional names. */
  args: S;
  run(args: z.infer<S>, ctx: CommandContext): Promise<void>;
}

/** Keeps each command's `args` and `run` typed together while the table holds them all. */
export const defineCommand = <S extends z.ZodType>(c: Command<S>): Command => c as unknown as Command;

export const printJson = (ctx: CommandContext, v: unknown) => ctx.out.write(`${JSON.stringify(v, null, 2)}\n`);
