/**
 * Sign-in (session cookie + CSRF token), the caller's API tokens, and the super admin's
 * organisations and users (create, list, new password, disable/enable, sign out everywhere).
 */
import express, { type Response, type Router } from 'express';
import { denial, type AccessPhase } from '../../lib/auth/access';
import {
  CreateOrgBody,
  CreateTokenBody,
  CreateUserBody,
  ListUsersQuery,
  OrgIdParam,
  SetPasswordBody,
  SignInBody,
  TokenIdParam,
  UpdateOrgBody,
  UserIdParam,
} from '../../contract/auth';
import { requireSuperAdmin, SESSION_COOKIE, unauthenticated } from '../auth/middleware';
import type { RateLimiter } from '../auth/rate-limit';
import type { AuthService } from '../auth/service';

export interface AuthRouterDeps {
  auth: AuthService;
  limiter: RateLimiter;
  phase: AccessPhase;
  secureCookies: boolean;
  sessionTtlMs: number;
  signInPerMinute: number;
}

export function authRouter(deps: AuthRouterDeps): Router {
  const router = express.Router();
  const cookie = (res: Response, value: string, maxAgeMs: number) =>
    res.cookie(SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.secureCookies,
      path: '/',
      maxAge: maxAgeMs,
    });

  router.post('/auth/sign-in', async (req, res) => {
    const body = SignInBody.parse(req.body ?? {});
    const limit = { what: 'sign-in attempts', perMinute: deps.signInPerMinute };
    // Per address (one client guessing many accounts) and per account (many clients guessing one).
    await deps.limiter.hit(`sign-in:ip:${req.ip}`, { ...limit, perMinute: limit.perMinute * 3 });
    await deps.limiter.hit(`sign-in:email:${body.email.toLowerCase()}`, limit);
    const session = await deps.auth.signIn(body.email, body.password, { ip: req.ip, userAgent: req.get('user-agent') });
    if (!session) throw unauthenticated('wrong e-mail or password');
    cookie(res, session.token, deps.sessionTtlMs);
    res.json({ user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt });
  });

  router.post('/auth/sign-out', async (req, res) => {
    if (req.principal?.sessionId) await deps.auth.signOut(req.principal.sessionId);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });

  router.get('/auth/me', async (req, res) => {
    const p = req.principal!;
    const readDenied = denial(p, 'read', deps.phase);
    const runDenied = denial(p, 'run', deps.phase);
    res.json({
      user: await deps.auth.me(p.userId),
      via: p.via,
      ...(p.csrfToken ? { csrfToken: p.csrfToken } : {}),
      access: {
        phase: deps.phase,
        read: readDenied === null,
        run: runDenied === null,
        ...(runDenied ? { reason: runDenied } : {}),
      },
    });
  });

  router.get('/auth/tokens', async (req, res) => {
    res.json({ tokens: await deps.auth.listTokens(req.principal!.userId) });
  });

  router.post('/auth/tokens', async (req, res) => {
    const p = req.principal!;
    const mintedBy = p.via === 'token' ? { tokenExpiresAt: p.tokenExpiresAt ?? null } : undefined;
    res.status(201).json(await deps.auth.createToken(p.userId, CreateTokenBody.parse(req.body ?? {}), mintedBy));
  });

  router.delete('/auth/tokens/:id', async (req, res) => {
    const { id } = TokenIdParam.parse(req.params);
    res.json(await deps.auth.revokeToken(req.principal!.userId, id));
  });

  const admin = express.Router();
  admin.use(requireSuperAdmin());
  admin.get('/orgs', async (_req, res) => {
    res.json({ orgs: await deps.auth.listOrgs() });
  });
  admin.post('/orgs', async (req, res) => {
    res.status(201).json(await deps.auth.createOrg(CreateOrgBody.parse(req.body ?? {})));
  });
  admin.patch('/orgs/:id', async (req, res) => {
    const { id } = OrgIdParam.parse(req.params);
    res.json(await deps.auth.updateOrg(id, UpdateOrgBody.parse(req.body ?? {})));
  });
  admin.post('/users', async (req, res) => {
    res.status(201).json(await deps.auth.createUser(CreateUserBody.parse(req.body ?? {})));
  });
  admin.get('/users', async (req, res) => {
    res.json({ users: await deps.auth.listUsers(ListUsersQuery.parse(req.query).orgId) });
  });
  admin.put('/users/:id/password', async (req, res) => {
    const { id } = UserIdParam.parse(req.params);
    res.json(await deps.auth.setPassword(id, SetPasswordBody.parse(req.body ?? {}).password, req.principal!));
  });
  admin.post('/users/:id/disable', async (req, res) => {
    res.json(await deps.auth.setDisabled(UserIdParam.parse(req.params).id, true, req.principal!));
  });
  admin.post('/users/:id/enable', async (req, res) => {
    res.json(await deps.auth.setDisabled(UserIdParam.parse(req.params).id, false, req.principal!));
  });
  admin.post('/users/:id/revoke-sessions', async (req, res) => {
    res.json(await deps.auth.revokeSessions(UserIdParam.parse(req.params).id, req.principal!));
  });
  router.use('/admin', admin);

  return router;
}
