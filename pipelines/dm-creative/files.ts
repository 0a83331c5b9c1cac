/**
 * Where dm-creative keeps its files, `<filesDir>/<batchId>/<name>`, and how it writes them.
 *
 * Writes are atomic (a temporary file in the same directory, fsync, rename), so a reader, the
 * ZIP builder or the download endpoint, never sees half a file, and an activity retried after a
 * crash simply writes the same name again.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;

/**
 * A file name (without extension) for an item key or batch name: the key itself when it is
 * already plain, otherwise a readable slug plus a hash of the original, so two keys that slug
 * alike ("a b" and "a_b") still get different files and nothing can climb out of the directory.
 */
export function safeFileName(key: string): string {
  if (SAFE.test(key) && !key.includes('..')) return key;
  const slug = key
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+/, '')
    .slice(0, 80);
  const hash = crypto.createHash('sha256').update(key).digest('hex').slice(0, 10);
  return slug ? `${slug}-${hash}` : hash;
}

/** The directory of one batch's files. */
export function batchDirOf(filesDir: string, batchId: string): string {
  if (!SAFE.test(batchId)) throw new Error(`unexpected batch id ${JSON.stringify(batchId)}`);
  return path.join(filesDir, batchId);
}

function tmpPathOf(dest: string): string {
  return path.join(
    path.dirname(dest),
    `.${path.basename(dest)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Writes `data` to `dest` atomically (tmp + fsync + rename), creating the directory. */
export async function writeFileAtomic(dest: string, data: Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  const tmp = tmpPathOf(dest);
  try {
    const fh = await fs.promises.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, dest);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/** Streams `source` to `dest` atomically (constant memory); returns the bytes written. */
export async function streamToFileAtomic(dest: string, source: Readable, signal?: AbortSignal): Promise<number> {
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  const tmp = tmpPathOf(dest);
  try {
    await pipeline(source, fs.createWriteStream(tmp, { mode: 0o644 }), { signal });
    const fh = await fs.promises.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, dest);
    return (await fs.promises.stat(dest)).size;
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/** Size of a regular file, or undefined when it is missing. */
export async function fileSize(file: string): Promise<number | undefined> {
  try {
    const st = await fs.promises.stat(file);
    return st.isFile() ? st.size : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
