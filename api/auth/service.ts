/**
 * Users, organisations, sessions and API tokens. Secrets are random and stored only as their
 * SHA-256; passwords as scrypt hashes (lib/auth/secrets.ts). A session lives SESSION_TTL_HOURS
 * after its last use; an API token until it is revoked (or its optional expiry).
 */
import type { Db } from '../../lib/db';
import { Prisma } from '../../lib/db';
import { PLAN_LIMITS, type Plan, type Principal, type UserRole } from '../../lib/auth/access';
import { hashPassword, newId, newSecret, sha256, verifyPassword } from '../../lib/auth/secrets';
import { ApiError, conflict, notFound } from '../errors';

/** Sliding sessions are extended at most this often (one write per active user per 5 minutes). */
const TOUCH_EVERY_MS = 5 * 60_000;

export interface AuthServiceDeps {
  db: Db;
  sessionTtlMs: number;
}

type UserWithOrg = Prisma.UserGetPayload<{ include: { org: true } }>;

function principalOf(u: UserWithOrg, via: Principal['via'], extra: Partial<Principal> = {}): Principal {
  return {
    userId: u.id,
    email: u.email,
    orgId: u.orgId,
    role: u.role as UserRole,
    canRunBatch: u.canRunBatch,
    plan: (u.org.plan in PLAN_LIMITS ? u.org.plan : 'free') as Plan,
    maxUploadRows: u.org.maxUploadRows,
    via,
    ...extra,
  };
}

export const publicUser = (u: UserWithOrg) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  canRunBatch: u.canRunBatch,
  org: { id: u.org.id, name: u.org.name, plan: u.org.plan },
});

export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  /** Email + password; null when either is wrong (the caller answers one message for both). */
  async signIn(email: string, password: string, meta: { ip?: string; userAgent?: string } = {}) {
    const user = await this.deps.db.user.findUnique({ where: { email: email.trim().toLowerCase() }, include: { org: true } });
    const ok = await verifyPassword(password, user?.passwordHash);
    if (!user || !ok || user.disabledAt) return null;
    const token = newSecret('fls');
    const csrfToken = newSecret('fls').slice(4);
    const now = new Date();
    await this.deps.db.session.create({
      data: {
        id: sha256(token),
        userId: user.id,
        csrfToken,
        expiresAt: new Date(now.getTime() + this.deps.sessionTtlMs),
        lastSeenAt: now,
        ip: meta.ip?.slice(0, 100) ?? null,
        userAgent: meta.userAgent?.slice(0, 300) ?? null,
      },
    });
    return { token, csrfToken, user: publicUser(user), expiresAt: new Date(now.getTime() + this.deps.sessionTtlMs) };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.deps.db.session.deleteMany({ where: { id: sessionId } });
  }

  async fromSession(token: string): Promise<Principal | null> {
    const id = sha256(token);
    const s = await this.deps.db.session.findUnique({ where: { id }, include: { user: { include: { org: true } } } });
    if (!s) return null;
    const now = Date.now();
    if (s.expiresAt.getTime() <= now || s.user.disabledAt) {
      await this.deps.db.session.deleteMany({ where: { id } });
      return null;
    }
    if (now - s.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await this.deps.db.session.update({ where: { id }, data: { lastSeenAt: new Date(now), expiresAt: new Date(now + this.deps.sessionTtlMs) } });
    }
    return principalOf(s.user, 'session', { csrfToken: s.csrfToken, sessionId: id });
  }

  async fromApiToken(token: string): Promise<Principal | null> {
    const t = await this.deps.db.apiToken.findUnique({ where: { tokenHash: sha256(token) }, include: { user: { include: { org: true } } } });
    if (!t || t.revokedAt || t.user.disabledAt || (t.expiresAt && t.expiresAt.getTime() <= Date.now())) return null;
    // Last use to the minute is enough to spot an unused token; no write per request.
    if (!t.lastUsedAt || Date.now() - t.lastUsedAt.getTime() > 60_000) {
      await this.deps.db.apiToken.update({ where: { id: t.id }, data: { lastUsedAt: new Date() } });
    }
    return principalOf(t.user, 'token', { tokenId: t.id });
  }

  async me(userId: string) {
    const u = await this.deps.db.user.findUnique({ where: { id: userId }, include: { org: true } });
    if (!u) throw notFound('user', userId);
    return publicUser(u);
  }

  /** A new API token for the user; the secret is returned once and never stored. */
  async createToken(userId: string, body: { name: string; expiresInDays?: number }) {
    const secret = newSecret('flt');
    const row = await this.deps.db.apiToken.create({
      data: {
        id: newId('tok'),
        userId,
        name: body.name,
        tokenHash: sha256(secret),
        prefix: secret.slice(0, 10),
        ...(body.expiresInDays ? { expiresAt: new Date(Date.now() + body.expiresInDays * 86_400_000) } : {}),
      },
    });
    return { ...tokenView(row), token: secret };
  }

  async listTokens(userId: string) {
    const rows = await this.deps.db.apiToken.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
    return rows.map(tokenView);
  }

  async revokeToken(userId: string, id: string) {
    const res = await this.deps.db.apiToken.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } });
    if (res.count === 0) {
      const exists = await this.deps.db.apiToken.findFirst({ where: { id, userId } });
      if (!exists) throw notFound('token', id);
    }
    const row = await this.deps.db.apiToken.findFirstOrThrow({ where: { id, userId } });
    return tokenView(row);
  }

  async createOrg(body: { id: string; name: string; plan: Plan; maxUploadRows?: number }) {
    try {
      return await this.deps.db.organization.create({ data: { id: body.id, name: body.name, plan: body.plan, maxUploadRows: body.maxUploadRows ?? null } });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw conflict(`organisation ${body.id} exists`, { field: 'id' });
      throw err;
    }
  }

  async updateOrg(id: string, body: { name?: string; plan?: Plan; maxUploadRows?: number | null }) {
    const found = await this.deps.db.organization.findUnique({ where: { id } });
    if (!found) throw notFound('organisation', id);
    return this.deps.db.organization.update({ where: { id }, data: body });
  }

  async listOrgs() {
    return this.deps.db.organization.findMany({ orderBy: { id: 'asc' }, include: { _count: { select: { users: true } } } });
  }

  async createUser(body: { email: string; password: string; name?: string; orgId: string; role: UserRole; canRunBatch: boolean }) {
    const org = await this.deps.db.organization.findUnique({ where: { id: body.orgId } });
    if (!org) throw new ApiError(400, 'validation_error', `orgId: no organisation ${body.orgId}`, { issues: [{ path: 'orgId', message: `no organisation ${body.orgId}` }] });
    try {
      const u = await this.deps.db.user.create({
        data: {
          id: newId('usr'),
          email: body.email.trim().toLowerCase(),
          name: body.name ?? null,
          passwordHash: await hashPassword(body.password),
          orgId: body.orgId,
          role: body.role,
          canRunBatch: body.canRunBatch,
        },
        include: { org: true },
      });
      return publicUser(u);
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw conflict(`a user with e-mail ${body.email} exists`, { field: 'email' });
      throw err;
    }
  }
}

function tokenView(t: { id: string; name: string; prefix: string; createdAt: Date; lastUsedAt: Date | null; revokedAt: Date | null; expiresAt: Date | null }) {
  return { id: t.id, name: t.name, prefix: t.prefix, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt, revokedAt: t.revokedAt, expiresAt: t.expiresAt };
}

/**
 * The first super admin (and the default organisation) of a deployment: `npm run cli -- bootstrap`.
 * Idempotent for the same e-mail (the password is reset); refuses when another super admin exists
 * unless `force`.
 */
export async function bootstrapSuperAdmin(db: Db, opts: { email: string; password: string; orgId?: string; orgName?: string; force?: boolean }) {
  const orgId = opts.orgId ?? 'default';
  const email = opts.email.trim().toLowerCase();
  await db.organization.upsert({ where: { id: orgId }, create: { id: orgId, name: opts.orgName ?? 'Flotilla', plan: 'enterprise' }, update: {} });
  const other = await db.user.findFirst({ where: { role: 'super_admin', NOT: { email } } });
  if (other && !opts.force) throw new ApiError(409, 'conflict', `a super admin exists already (${other.email}); pass --force to add another`);
  const passwordHash = await hashPassword(opts.password);
  const user = await db.user.upsert({
    where: { email },
    create: { id: newId('usr'), email, passwordHash, orgId, role: 'super_admin', canRunBatch: true },
    update: { passwordHash, role: 'super_admin', canRunBatch: true, disabledAt: null },
    include: { org: true },
  });
  return publicUser(user);
}
