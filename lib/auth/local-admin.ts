/**
 * `npm start` on a fresh machine: a local super admin with a generated password (saved in
 * DATA_DIR/admin-credentials.txt, mode 0600) and an API token for the local CLI
 * (DATA_DIR/cli-token, with the API it is for: lib/auth/saved-token.ts). A deployment that
 * already has a super admin is left alone.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuthService, bootstrapSuperAdmin } from '../../api/auth/service';
import type { Db } from '../db';
import { readSavedToken, writeSavedToken, writeSavedTokenApi } from './saved-token';
import { sha256 } from './secrets';

export const LOCAL_ADMIN_EMAIL = 'admin@flotilla.local';

/** `apiUrls`: where the API that `npm start` runs answers; the CLI sends the saved token there only. */
export async function ensureLocalAdmin(
  db: Db,
  dataDir: string,
  apiUrls: string[],
): Promise<{ email: string; password: string | null; credentialsFile: string | null }> {
  const credentialsFile = path.join(dataDir, 'admin-credentials.txt');
  let admin = await db.user.findFirst({
    where: { role: 'super_admin', disabledAt: null },
    orderBy: { createdAt: 'asc' },
  });
  if (!admin) {
    const password = crypto.randomBytes(15).toString('base64url');
    await bootstrapSuperAdmin(db, { email: LOCAL_ADMIN_EMAIL, password });
    fs.writeFileSync(credentialsFile, `email: ${LOCAL_ADMIN_EMAIL}\npassword: ${password}\n`, { mode: 0o600 });
    admin = await db.user.findUniqueOrThrow({ where: { email: LOCAL_ADMIN_EMAIL } });
  }
  const saved = readSavedToken(dataDir)?.token;
  const valid = saved
    ? await db.apiToken.findFirst({ where: { tokenHash: sha256(saved), revokedAt: null, userId: admin.id } })
    : null;
  if (!valid) {
    const { token } = await new AuthService({ db, sessionTtlMs: 0 }).createToken(admin.id, {
      name: 'local CLI (npm start)',
    });
    writeSavedToken(dataDir, token);
  }
  writeSavedTokenApi(dataDir, apiUrls);
  let password: string | null = null;
  if (fs.existsSync(credentialsFile)) {
    const text = fs.readFileSync(credentialsFile, 'utf8');
    if (text.includes(`email: ${admin.email}`)) password = /password: (\S+)/.exec(text)?.[1] ?? null;
  }
  return { email: admin.email, password, credentialsFile: password ? credentialsFile : null };
}
