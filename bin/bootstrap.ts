/**
 * `npm run bootstrap -- --email you@example.com [--password …] [--org-name …] [--force]`: creates
 * the first super admin (and the default organisation) in the database of DATABASE_URL, or of the
 * embedded PostgreSQL that `npm start` runs. Without --password (or FLOTILLA_ADMIN_PASSWORD) a
 * strong one is generated and printed once. Run again with the same e-mail to reset the password.
 */
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { bootstrapSuperAdmin } from '../api/auth/service';
import { ApiError } from '../contract/api-error';
import { createDb } from '../lib/db';
import { databaseUrlOrEmbedded, env } from '../lib/env';
import { migrate } from '../lib/migrate';

const Args = z.object({
  email: z.email('--email must be an e-mail address'),
  password: z.string().min(12, '--password needs at least 12 characters').optional(),
  'org-name': z.string().trim().min(1).max(200).optional(),
  force: z.boolean().optional(),
});

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      'org-name': { type: 'string' },
      force: { type: 'boolean' },
    },
    strict: true,
  });
  const parsed = Args.safeParse({ ...values, password: values.password ?? env.FLOTILLA_ADMIN_PASSWORD });
  if (!parsed.success) {
    process.stderr.write(
      `bootstrap: ${parsed.error.issues.map((i) => i.message).join('; ')}\nusage: npm run bootstrap -- --email you@example.com [--password …] [--org-name …] [--force]\n`,
    );
    return 2;
  }
  const url = databaseUrlOrEmbedded;
  const db = createDb(url, { poolSize: 2 });
  try {
    await migrate(url);
    const password = parsed.data.password ?? crypto.randomBytes(18).toString('base64url');
    const user = await bootstrapSuperAdmin(db, {
      email: parsed.data.email,
      password,
      ...(parsed.data['org-name'] ? { orgName: parsed.data['org-name'] } : {}),
      force: parsed.data.force,
    });
    process.stdout.write(
      `super admin ${user.email} of organisation ${user.org.id} is ready${parsed.data.password ? '' : `; password: ${password}`}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`bootstrap: ${err.message}\n`);
      return 1;
    }
    const msg = (err as Error).message;
    process.stderr.write(
      /ECONNREFUSED|connect/i.test(msg)
        ? `bootstrap: no database at ${url.replace(/\/\/[^@]*@/, '//')}: start the stack (npm start) or set DATABASE_URL\n`
        : `bootstrap: ${msg}\n`,
    );
    return 1;
  } finally {
    await db.$disconnect();
  }
}

void main().then((code) => (process.exitCode = code));
