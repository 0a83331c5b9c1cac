/**
 * What an uploaded file is, judged before any parser sees it (seed 000 D4: type by extension AND
 * by content). The extension must be on the allowlist and the first bytes must be what that
 * extension promises: a renamed executable, PDF or archive is refused here and never parsed.
 * Also the file-name sanitiser, so a name from the client can never leave the uploads folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import yauzl from 'yauzl';

import { UPLOAD_TYPES, type UploadType } from '../contract/uploads';

/** How many bytes of the head the CSV checks look at (NUL bytes, UTF-8, signatures). */
export const SNIFF_BYTES = 64 * 1024;
/** A workbook names its parts early; a ZIP with more entries than this before them is not one we read. */
const MAX_ZIP_ENTRIES_SCANNED = 10_000;
const MAX_NAME_CHARS = 120;

const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Binary formats a CSV must not start with, and how the refusal names them. */
const SIGNATURES: Array<{ bytes: Buffer; what: string }> = [
  { bytes: Buffer.from('MZ'), what: 'a Windows executable' },
  { bytes: Buffer.from('%PDF'), what: 'a PDF document' },
  { bytes: Buffer.from([0x7f, 0x45, 0x4c, 0x46]), what: 'an ELF executable' },
  { bytes: OLE2, what: 'an OLE2 compound file (a legacy Office document such as .xls)' },
  { bytes: Buffer.from('PK'), what: 'a ZIP archive (an .xlsx workbook is one)' },
  { bytes: Buffer.from([0x1f, 0x8b]), what: 'a gzip archive' },
  { bytes: Buffer.from('Rar!'), what: 'a RAR archive' },
  { bytes: Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]), what: 'a 7-Zip archive' },
  { bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]), what: 'a PNG image' },
  { bytes: Buffer.from([0xff, 0xd8, 0xff]), what: 'a JPEG image' },
  { bytes: Buffer.from('GIF8'), what: 'a GIF image' },
  { bytes: Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), what: 'a Mach-O executable' },
  { bytes: Buffer.from([0xca, 0xfe, 0xba, 0xbe]), what: 'a Java class or Mach-O executable' },
  { bytes: Buffer.from([0x00, 0x61, 0x73, 0x6d]), what: 'a WebAssembly module' },
];

const LABEL: Record<UploadType, string> = { csv: 'CSV', xlsx: 'an XLSX workbook', xls: 'an XLS workbook' };

/**
 * A file name safe to put in a path: the basename only (either slash style), control characters
 * and anything outside [A-Za-z0-9._ -] replaced, runs collapsed, no leading dot or dash, at most
 * 120 characters with the extension kept. `../../etc/passwd.csv` becomes `passwd.csv`.
 */
export function sanitizeFilename(original: string): string {
  // The basename under either slash style: "../../etc/passwd.csv" -> "passwd.csv".
  const segments = original.split(/[\\/]+/).filter((s) => s && s !== '.' && s !== '..');
  let name = (segments[segments.length - 1] ?? '')
    // eslint-disable-next-line no-control-regex -- control characters are what this strips from the name
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._ -]+/g, '_')
    .replace(/\s+/g, ' ')
    .replace(/_+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[\s._-]+/, '')
    .trim();
  const ext = path.extname(name);
  let base = ext ? name.slice(0, -ext.length) : name;
  base = base.replace(/[\s._-]+$/, '');
  const safeExt = ext.length <= 10 ? ext : '';
  if (!base) base = 'upload';
  name = base.slice(0, MAX_NAME_CHARS - safeExt.length) + safeExt;
  return name;
}

/** The upload type an extension promises, or undefined when it is not on the allowlist. */
export function typeOfName(name: string): UploadType | undefined {
  const ext = path.extname(name).toLowerCase().slice(1);
  return (UPLOAD_TYPES as readonly string[]).includes(ext) ? (ext as UploadType) : undefined;
}

/** Whether the content is what the extension says; if not, what it is instead (`unreadable`: a damaged workbook). */
export type SniffVerdict = { ok: true } | { ok: false; found: string; unreadable?: boolean };

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function describeBinary(head: Buffer): string | undefined {
  return SIGNATURES.find((s) => head.subarray(0, s.bytes.length).equals(s.bytes))?.what;
}

/**
 * Walks a ZIP's central directory (nothing is inflated): `visit` sees each entry and returns an
 * answer to stop there, or undefined to go on; `atEnd` answers when every entry was seen.
 */
function scanZipDirectory<T>(file: string, visit: (entry: yauzl.Entry) => T | undefined, atEnd: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: true, validateEntrySizes: false, strictFileNames: false },
      (err, zip) => {
        if (err || !zip) return reject(err ?? new Error('cannot open the ZIP archive'));
        zip.on('entry', (entry: yauzl.Entry) => {
          const answer = visit(entry);
          if (answer === undefined) return zip.readEntry();
          zip.close();
          resolve(answer);
        });
        zip.on('end', () => resolve(atEnd()));
        zip.on('error', reject);
        zip.readEntry();
      },
    );
  });
}

/** Whether a ZIP's central directory names a workbook's parts; nothing is inflated. */
function zipHasWorkbookParts(file: string): Promise<{ contentTypes: boolean; xl: boolean }> {
  const found = { contentTypes: false, xl: false };
  let seen = 0;
  return scanZipDirectory(
    file,
    (entry) => {
      seen += 1;
      if (entry.fileName === '[Content_Types].xml') found.contentTypes = true;
      if (entry.fileName.startsWith('xl/')) found.xl = true;
      return (found.contentTypes && found.xl) || seen >= MAX_ZIP_ENTRIES_SCANNED ? found : undefined;
    },
    () => found,
  );
}

/** How far a workbook may expand: the total its entries declare, and per byte of the file. */
export interface ZipLimits {
  maxUncompressedBytes: number;
  maxCompressionRatio: number;
}

/** Below this a workbook may compress as well as it likes (a sheet of repeated cells does). */
const RATIO_FLOOR_BYTES = 10 * 1024 * 1024;

/**
 * Why a ZIP would expand too far, from its central directory alone (nothing is inflated), or
 * undefined. The declared sizes can lie; the parser thread bounds what it really inflates too.
 */
export function zipExpansionProblem(file: string, fileBytes: number, limits: ZipLimits): Promise<string | undefined> {
  let total = 0;
  let entries = 0;
  // `null`: scanned to the end with no problem (undefined means "go on" to the scan).
  const problem = scanZipDirectory<string | null>(
    file,
    (entry) => {
      entries += 1;
      total += entry.uncompressedSize;
      if (entries > MAX_ZIP_ENTRIES_SCANNED)
        return `it has more than ${MAX_ZIP_ENTRIES_SCANNED.toLocaleString('en-US')} entries`;
      if (total > limits.maxUncompressedBytes) {
        return `it expands to more than ${mb(limits.maxUncompressedBytes)} (the limit; its entries declare ${mb(total)} so far)`;
      }
      return undefined;
    },
    () => {
      const ratio = total / Math.max(fileBytes, 1);
      if (total > RATIO_FLOOR_BYTES && ratio > limits.maxCompressionRatio) {
        return `it expands ${Math.round(ratio)} times (${mb(total)} from ${mb(fileBytes)}; the limit is ${limits.maxCompressionRatio}:1)`;
      }
      return null;
    },
  );
  return problem.then((p) => p ?? undefined);
}

const mb = (bytes: number) => `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;

/**
 * Does the file's content match its type? CSV: no NUL byte in the first 64 KB, valid UTF-8 there
 * (a BOM is fine), and no known binary signature at the start. XLSX: a ZIP whose entries include
 * `[Content_Types].xml` and `xl/`. XLS: the OLE2 signature.
 */
export async function sniffContent(file: string, type: UploadType): Promise<SniffVerdict> {
  const head = await readHead(file, SNIFF_BYTES);
  const binary = describeBinary(head);
  if (type === 'xls') {
    if (head.subarray(0, OLE2.length).equals(OLE2)) return { ok: true };
    return { ok: false, found: binary ?? (looksLikeText(head) ? 'plain text' : 'not an OLE2 compound file') };
  }
  if (type === 'xlsx') {
    if (!head.subarray(0, ZIP.length).equals(ZIP)) {
      if (head.subarray(0, OLE2.length).equals(OLE2))
        return { ok: false, found: 'an OLE2 compound file (a legacy .xls or a password-protected workbook)' };
      return { ok: false, found: binary ?? (looksLikeText(head) ? 'plain text' : 'not a ZIP archive') };
    }
    try {
      const parts = await zipHasWorkbookParts(file);
      if (parts.contentTypes && parts.xl) return { ok: true };
      return { ok: false, found: 'a ZIP archive without an Excel workbook in it (no [Content_Types].xml and xl/)' };
    } catch (err) {
      return { ok: false, found: `a damaged ZIP archive (${(err as Error).message})`, unreadable: true };
    }
  }
  if (binary) return { ok: false, found: binary };
  if (head.includes(0)) return { ok: false, found: 'binary data (it contains NUL bytes)' };
  if (!isUtf8Prefix(head)) return { ok: false, found: 'text that is not UTF-8 (save the CSV as UTF-8)' };
  return { ok: true };
}

/** Valid UTF-8, allowing a multi-byte character cut off at the end of the sample. */
function isUtf8Prefix(head: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

function looksLikeText(head: Buffer): boolean {
  return head.length > 0 && !head.includes(0) && isUtf8Prefix(head);
}

/** `content of "x.csv" is a Windows executable, not CSV` */
export function mismatchMessage(name: string, type: UploadType, found: string): string {
  return `content of "${name}" is ${found}, not ${LABEL[type]}`;
}
