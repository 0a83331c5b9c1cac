/**
 * Passwords and bearer secrets. Passwords are hashed with scrypt (a salt each, parameters stored
 * with the hash so they can be raised: a hash made with weaker ones is replaced at the next
 * sign-in, `needsRehash`); session and API tokens are random 256-bit secrets stored only as their
 * SHA-256 (a stolen database does not sign anyone in).
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (
  password: crypto.BinaryLike,
  salt: crypto.BinaryLike,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;
/** OWASP Password Storage Cheat Sheet: scrypt with N=2^17, r=8, p=1 (128 MiB, ~0.2-0.5 s a check). */
const N = 131_072;
const R = 8;
const P = 1;
const KEY_LEN = 32;

/** scrypt needs about 128·N·r bytes; Node refuses above `maxmem` (32 MiB by default), so allow twice that. */
const options = (n: number, r: number, p: number): crypto.ScryptOptions => ({ N: n, r, p, maxmem: 256 * n * r });

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, KEY_LEN, options(N, R, P));
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parts = (stored ?? '').split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    // Same work as a real check, so a missing user cannot be told apart by timing.
    await scrypt(password, 'flotilla-no-user', KEY_LEN, options(N, R, P));
    return false;
  }
  const [, n, r, p, salt, hash] = parts;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(
    password.normalize('NFKC'),
    Buffer.from(salt, 'base64url'),
    expected.length,
    options(Number(n), Number(r), Number(p)),
  );
  return crypto.timingSafeEqual(key, expected);
}

/** True when a (verified) hash was made with other parameters than today's: hash the password again. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(`scrypt$${N}$${R}$${P}$`);
}

/** A new bearer secret with a readable prefix: `flt_…` (API token) or `fls_…` (session). */
export function newSecret(prefix: 'flt' | 'fls'): string {
  return `${prefix}_${crypto.randomBytes(32).toString('base64url')}`;
}

export function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomBytes(9).toString('base64url')}`;
}

/** Constant-time string comparison (CSRF tokens). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
