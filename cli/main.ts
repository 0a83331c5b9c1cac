/**
 * The `flotilla` command line: dispatch, flags (node:util parseArgs), and the exit-code contract
 * scripts rely on: 0 done, 1 the API said no (or could not be reached), 2 the command line is wrong.
 * Writes only to the terminals it is given.
 */
import { parseArgs } from 'node:util';
import { ApiError } from '../contract/api-error';
import { ApiClient, type Bearer } from './api-client';
import { ApiUrl, UsageError, parseCommandArgs } from './args';
import type { Command } from './command';
import { batchCommands } from './commands/batches';
import { exportCommand } from './commands/export';
import { importCommand } from './commands/import';
import { schedulesCommand } from './commands/schedules';
import { usersCommand } from './commands/users';
import { apiErrorText, ItemsFileError } from './format';
import type { Terminal } from './progress-view';

export const EXIT = { ok: 0, api: 1, usage: 2 } as const;

export const COMMANDS: Command[] = [...batchCommands, exportCommand, importCommand, schedulesCommand, usersCommand];

const GLOBAL_OPTIONS = {
  api: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CliIo {
  out: Terminal;
  err: Terminal;
  /** FLOTILLA_API_URL, else the default; `--api` wins over both. */
  apiUrl: string;
  /** Sent as X-Flotilla-User (the API records who asked for a retry round, say). */
  user?: string;
  /** API token (FLOTILLA_TOKEN, or the one `npm start` saved for the local CLI, sent only to its API), sent as a bearer token. */
  token?: string | Bearer;
  /** Where relative paths point: `npm run cli` runs in the package root, the operator was elsewhere. */
  cwd: string;
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: flotilla <command> [arguments] [--api URL] [--json]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    ...COMMANDS.map((c) => `  flotilla ${c.usage}`),
    '',
    'global flags: --api URL (default $FLOTILLA_API_URL or http://127.0.0.1:3000), --json (print the API JSON), --help',
    'exit codes: 0 ok, 1 API error, 2 usage error',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let command: Command | undefined;
  try {
    const allOptions = Object.assign({}, ...COMMANDS.map((c) => c.options), GLOBAL_OPTIONS);
    const loose = parseArgs({ args: argv, options: allOptions, strict: false, allowPositionals: true });
    const name = loose.positionals[0];
    if (!name || name === 'help') {
      const topic = COMMANDS.find((c) => c.name === loose.positionals[1]);
      if (!name && !loose.values.help) {
        io.err.write(`${helpText()}\n`);
        return EXIT.usage;
      }
      io.out.write(`${topic ? `usage: flotilla ${topic.usage}\n  ${topic.summary}` : helpText()}\n`);
      return EXIT.ok;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command "${name}" (see flotilla --help)`);

    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...command.options, ...GLOBAL_OPTIONS },
        strict: true,
        allowPositionals: true,
      });
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
    }
    if (parsed.values.help) {
      io.out.write(`usage: flotilla ${command.usage}\n  ${command.summary}\n`);
      return EXIT.ok;
    }
    const positionals = parsed.positionals.slice(1);
    if (positionals.length > command.positionals.length)
      throw new UsageError(`unexpected argument "${positionals[command.positionals.length]}"`);

    const apiUrl = ApiUrl.safeParse(parsed.values.api ?? io.apiUrl);
    if (!apiUrl.success)
      throw new UsageError(`--api: ${apiUrl.error.issues[0].message} (got "${parsed.values.api ?? io.apiUrl}")`);

    const { api: _api, json, help: _help, ...values } = parsed.values;
    const input: Record<string, unknown> = { ...values };
    command.positionals.forEach((p, i) => (input[p] = positionals[i]));
    const args = parseCommandArgs(command.args, input, command.positionals);

    const bearer = typeof io.token === 'string' ? { token: io.token } : io.token;
    const api = new ApiClient(apiUrl.data, io.user ? { 'x-flotilla-user': io.user } : {}, bearer);
    await command.run(args, { api, out: io.out, err: io.err, json: json === true, cwd: io.cwd });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`flotilla${command ? ` ${command.name}` : ''}: ${err.message}\n`);
      io.err.write(command ? `usage: flotilla ${command.usage}\n` : 'see flotilla --help\n');
      return EXIT.usage;
    }
    if (err instanceof ApiError || err instanceof ItemsFileError) {
      io.err.write(`${apiErrorText(err)}\n`);
      return EXIT.api;
    }
    io.err.write(`flotilla: ${(err as Error)?.message ?? String(err)}\n`);
    return EXIT.api;
  }
}
