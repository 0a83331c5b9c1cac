/**
 * Secrets the app must read back (webhook signing keys) are stored sealed with AES-256-GCM under
 * a key from the environment (SECRETS_KEY / SECRETS_KEY_FILE), so a copy of the database alone
 * does not give them away. A sealed value is `enc:v1:<base64url(iv | tag | ciphertext)>`: the
 * version names the algorithm, so a later key or cipher can be told apart from this one.
 *
 * Keys rotate: a box opens values sealed with its key or with a retired one (SECRETS_KEY_PREVIOUS)
 * and seals with its key only; `npm run secrets:rotate` (services/secret-rotation.ts) reseals the
 * stored values under the current key so the retired ones can be dropped.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { previousSecretsKeys, secretsKey } from './env';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRETS_KEY_BYTES = 32;

export interface SecretBox {
  /** A fresh random IV each time: sealing the same secret twice gives two different values. */
  seal(plain: string): string;
  /** Throws SecretOpenError when the value was sealed with none of the box's keys or was altered. */
  open(sealed: string): string;
  /** Whether the value opens with the current key (a value sealed with a retired one needs resealing). */
  isCurrent(sealed: string): boolean;
}

/** No key is configured where one is needed: a configuration error, never a plaintext fallback. */
export class SecretsKeyMissingError extends Error {
  constructor() {
    super(
      'SECRETS_KEY (32 bytes, base64) or SECRETS_KEY_FILE must be set: webhook secrets are stored encrypted with it (`npm start` generates one in DATA_DIR/secrets.key)',
    );
    this.name = 'SecretsKeyMissingError';
  }
}

export class SecretOpenError extends Error {
  constructor(reason: string) {
    super(`a stored secret cannot be decrypted: ${reason}`);
    this.name = 'SecretOpenError';
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function createSecretBox(key: Buffer, previous: readonly Buffer[] = []): SecretBox {
  for (const k of [key, ...previous])
    if (k.length !== SECRETS_KEY_BYTES)
      throw new Error(`a secrets key is ${SECRETS_KEY_BYTES} bytes (got ${k.length})`);
  const openWith = (k: Buffer, sealed: string): string | undefined => {
    if (!isSealed(sealed)) throw new SecretOpenError(`not an ${PREFIX} value`);
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretOpenError('too short');
    const decipher = crypto.createDecipheriv('aes-256-gcm', k, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return undefined; // GCM's tag does not match: another key, or an altered value
    }
  };
  return {
    seal(plain) {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
    },
    open(sealed) {
      for (const k of [key, ...previous]) {
        const plain = openWith(k, sealed);
        if (plain !== undefined) return plain;
      }
      throw new SecretOpenError(
        previous.length > 0
          ? 'sealed with neither SECRETS_KEY nor a key of SECRETS_KEY_PREVIOUS, or altered'
          : 'wrong SECRETS_KEY or altered value',
      );
    },
    isCurrent(sealed) {
      return openWith(key, sealed) !== undefined;
    },
  };
}

/** The process's box; throws SecretsKeyMissingError when no key is configured. */
export function secretBoxFromEnv(): SecretBox {
  if (!secretsKey) throw new SecretsKeyMissingError();
  return createSecretBox(secretsKey, previousSecretsKeys);
}

/**
 * `npm start`'s key: `<dir>/secrets.key` (mode 0600), generated on first start and reused after,
 * so secrets stored by an earlier run still open. Returns the file's path.
 */
export function ensureSecretsKeyFile(dir: string): string {
  const file = path.join(dir, 'secrets.key');
  try {
    fs.writeFileSync(file, `${crypto.randomBytes(SECRETS_KEY_BYTES).toString('base64')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fs.chmodSync(file, 0o600);
  }
  return file;
}
