/** Another organisation with a super admin who can run batches, and the headers to call as them. */
import { AuthService } from '../../api/auth/service';
import type { Db } from '../../lib/db';
import { uid } from './stack';

export async function otherOrganisation(
  db: Db,
  opts: { name?: string; maxImportRows?: number } = {},
): Promise<{ orgId: string; headers: { authorization: string } }> {
  const auth = new AuthService({ db, sessionTtlMs: 3_600_000 });
  const orgId = uid((opts.name ?? 'other').toLowerCase())
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  await auth.createOrg({
    id: orgId,
    name: opts.name ?? 'Other',
    plan: 'enterprise',
    maxImportRows: opts.maxImportRows,
  });
  const user = await auth.createUser({
    email: `${orgId}@other.test`,
    password: `${orgId} password`,
    orgId,
    role: 'super_admin',
    canRunBatch: true,
  });
  const { token } = await auth.createToken(user.id, { name: 'tests' });
  return { orgId, headers: { authorization: `Bearer ${token}` } };
}
