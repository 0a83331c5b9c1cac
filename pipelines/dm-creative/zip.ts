/**
 * Builds a ZIP of files already on disk, streaming: each file is opened only when yazl reaches
 * it and piped through to the archive on disk, so memory does not grow with file sizes. (The
 * central directory needs a few hundred bytes per entry until the end; that is the only part
 * that grows with the number of files.) The archive is written atomically, so a retried
 * batch-end hook rebuilds it under the same name and nobody downloads half an archive.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { streamToFileAtomic } from './files';

export interface ZipSource {
  /** Path inside the archive. */
  name: string;
  /** File on disk. */
  file: string;
}

export interface ZipResult {
  bytes: number;
  entries: number;
  /** Sources whose file was missing (skipped). */
  missing: ZipSource[];
}

/**
 * Writes `dest` with every source that exists. PDFs are stored, not deflated: Chromium already
 * compresses their content, and deflating again costs CPU the renderers need for little gain.
 */
export async function writeZipAtomic(
  dest: string,
  sources: AsyncIterable<ZipSource>,
  opts: { signal?: AbortSignal; onEntry?: (entries: number) => void } = {},
): Promise<ZipResult> {
  const zip = new yazl.ZipFile();
  const output = zip.outputStream as Readable;
  zip.on('error', (err: Error) => output.destroy(err));
  const written = streamToFileAtomic(dest, output, opts.signal);
  // Keep the rejection observed while sources are still being listed (it is awaited below).
  written.catch(() => undefined);

  const missing: ZipSource[] = [];
  const names = new Set<string>();
  let entries = 0;
  try {
    for await (const src of sources) {
      opts.signal?.throwIfAborted();
      if (names.has(src.name)) throw new Error(`duplicate ZIP entry name ${src.name}`);
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(src.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        missing.push(src);
        continue;
      }
      names.add(src.name);
      zip.addReadStreamLazy(
        src.name,
        { size: stat.size, mtime: stat.mtime, mode: 0o100644, compressionLevel: 0 },
        (cb) => cb(null, fs.createReadStream(src.file)),
      );
      entries++;
      opts.onEntry?.(entries);
    }
    zip.end();
  } catch (err) {
    output.destroy(err as Error);
    // The file write fails too once its stream is destroyed; the listing's error is the cause.
    await written.catch(() => undefined);
    throw err;
  }
  const bytes = await written;
  return { bytes, entries, missing };
}
