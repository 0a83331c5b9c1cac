/**
 * Who is calling and may they: a session cookie (the web page) or an API token (scripts) on
 * every /api request except the few public ones; CSRF for cookie callers; the access phase and
 * plan rules of lib/auth/access.ts; security headers on every response.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { denial, type AccessPhase, type Principal } from '../../lib/auth/access';
import { sameSecret } from '../../lib/auth/secrets';
import { ApiError } from '../../contract/api-error';
import type { AuthService } from './service';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export const SESSION_COOKIE = 'flotilla_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Paths under /api anyone may call. */
const PUBLIC = new Set(['GET /health', 'POST /auth/sign-in', 'GET /openapi.json']);

export const unauthenticated = (
  message = 'sign in first (session cookie) or send an API token (Authorization: Bearer flt_…)',
) => new ApiError(401, 'unauthenticated', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The signed-in caller on req.principal (401 when there is none and the route is not public). */
export function authenticate(auth: AuthService): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const header = req.get('authorization');
      if (header) {
        const m = /^Bearer\s+(\S+)$/i.exec(header);
        const principal = m ? await auth.fromApiToken(m[1]) : null;
        // A wrong token is an error even on a public route: the caller meant to sign in.
        if (!principal) throw unauthenticated('the API token is unknown, revoked or expired');
        req.principal = principal;
        return next();
      }
      const cookie = cookieValue(req.get('cookie'), SESSION_COOKIE);
      if (cookie) {
        const principal = await auth.fromSession(cookie);
        if (principal) {
          req.principal = principal;
          if (!SAFE_METHODS.has(req.method)) checkCsrf(req, principal);
          return next();
        }
      }
      if (PUBLIC.has(`${req.method} ${req.path}`)) return next();
      throw unauthenticated(cookie ? 'your session has expired; sign in again' : undefined);
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Synchronizer token: a cookie is sent by the browser on any site's request, the token only by
 * our page (it reads it from GET /api/auth/me). A cross-site Origin is refused outright too.
 */
function checkCsrf(req: Request, p: Principal): void {
  const origin = req.get('origin');
  if (origin) {
    let host: string | null;
    try {
      host = new URL(origin).host;
    } catch {
      host = null; // not a URL: it matches no host
    }
    if (host !== req.get('host')) throw forbidden(`cross-site request from ${origin.slice(0, 100)} refused`);
  }
  const sent = req.get(CSRF_HEADER);
  if (!sent || !p.csrfToken || !sameSecret(sent, p.csrfToken))
    throw forbidden('missing or wrong X-CSRF-Token header (the page gets it from GET /api/auth/me)');
}

/** Batch operations: reading needs access to them, anything else `can_run_batch` (lib/auth/access.ts). */
export function requireBatchAccess(phase: AccessPhase): RequestHandler {
  return (req, _res, next) => {
    const p = req.principal;
    if (!p) return next(unauthenticated());
    const why = denial(p, SAFE_METHODS.has(req.method) ? 'read' : 'run', phase);
    next(why ? forbidden(why) : undefined);
  };
}

export function requireSuperAdmin(): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal) return next(unauthenticated());
    next(req.principal.role === 'super_admin' ? undefined : forbidden('only a super admin may do this'));
  };
}

/** The caller's organisation (routes behind authenticate() always have one). */
export function orgOf(req: Request): string {
  if (!req.principal) throw unauthenticated();
  return req.principal.orgId;
}

/** Standard hardening headers; the page loads only its own scripts and talks only to its origin. */
export function securityHeaders(opts: { hsts: boolean }): RequestHandler {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (opts.hsts) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  };
}
