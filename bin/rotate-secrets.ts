/**
 * `npm run secrets:rotate`: seals every stored webhook secret with SECRETS_KEY, opening those
 * sealed with a retired key of SECRETS_KEY_PREVIOUS, in the database of DATABASE_URL (or of the
 * embedded PostgreSQL `npm start` runs). Run it after moving the old key to SECRETS_KEY_PREVIOUS
 * and restarting the API and workers with the new SECRETS_KEY; once it reports nothing
 * unreadable, drop SECRETS_KEY_PREVIOUS. Exit 1 while any secret opens with no configured key.
 */
import { createDb } from '../lib/db';
import { databaseUrlOrEmbedded } from '../lib/env';
import { migrate } from '../lib/migrate';
import { secretBoxFromEnv } from '../lib/secret-box';
import { resealStoredSecrets } from '../services/secret-rotation';

async function main(): Promise<number> {
  let box;
  try {
    box = secretBoxFromEnv();
  } catch (err) {
    process.stderr.write(`secrets:rotate: ${(err as Error).message}\n`);
    return 2;
  }
  const url = databaseUrlOrEmbedded;
  const db = createDb(url, { poolSize: 2 });
  try {
    await migrate(url);
    const report = await resealStoredSecrets(db, box);
    const rows = Object.entries(report.rows)
      .map(([table, n]) => `${n} ${table}`)
      .join(', ');
    process.stdout.write(
      `secrets:rotate: looked at ${rows} with notification targets; ${report.resealed} secrets resealed under SECRETS_KEY, ${report.current} already were\n`,
    );
    for (const u of report.unreadable)
      process.stdout.write(`  unreadable: ${u.table} ${u.id} webhook ${u.url} (sealed with no configured key)\n`);
    if (report.unreadable.length > 0) {
      process.stdout.write(
        `secrets:rotate: ${report.unreadable.length} secrets open with no configured key: add the key they were sealed with to SECRETS_KEY_PREVIOUS, or save those webhooks again with a new secret\n`,
      );
      return 1;
    }
    return 0;
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(
      /ECONNREFUSED|connect/i.test(msg)
        ? `secrets:rotate: no database at ${url.replace(/\/\/[^@]*@/, '//')}: start the stack (npm start) or set DATABASE_URL\n`
        : `secrets:rotate: ${msg}\n`,
    );
    return 1;
  } finally {
    await db.$disconnect();
  }
}

void main().then((code) => (process.exitCode = code));
