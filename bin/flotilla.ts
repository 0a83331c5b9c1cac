/**
 * `flotilla`: the operator's command line over the HTTP API (`npm run cli -- <command>`).
 * The one place of the CLI that reads the process: its environment, arguments and terminals.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { bearerOf, type Bearer } from '../cli/api-client';
import { runCli } from '../cli/main';

const Env = z.object({
  FLOTILLA_API_URL: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : 'http://127.0.0.1:3000')),
  /** Set by `npm run`: the directory the operator ran it from (npm itself runs in the package root). */
  INIT_CWD: z.string().optional(),
  /** API token (create one on the page's Account tab); `npm start` saves one for the local CLI in DATA_DIR/cli-token. */
  FLOTILLA_TOKEN: z.string().optional(),
  DATA_DIR: z.string().default('.data'),
});

/** FLOTILLA_TOKEN, else the local stack's saved token (which the client sends only to the API it was saved for). */
function tokenOf(e: z.infer<typeof Env>): Bearer | undefined {
  return bearerOf(e.FLOTILLA_TOKEN, path.resolve(__dirname, '..', e.DATA_DIR));
}

function currentUser(): string | undefined {
  try {
    return os.userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

// `flotilla export … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const env = Env.parse(process.env);
runCli(process.argv.slice(2), {
  out: process.stdout,
  err: process.stderr,
  apiUrl: env.FLOTILLA_API_URL,
  user: currentUser(),
  token: tokenOf(env),
  cwd: env.INIT_CWD || process.cwd(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`flotilla: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
