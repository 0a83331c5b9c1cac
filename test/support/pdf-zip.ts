/** Reading what dm-creative writes: the text of a PDF (pdf-parse) and the entries of a ZIP (yauzl). */
import yauzl from 'yauzl';
import { runNodeScript } from './node-child';

/**
 * pdf-parse v2 (`new PDFParse({ data }).getText()` -> { text, total }) loads pdf.js with a dynamic
 * import, which jest's module sandbox refuses; so the text is extracted by a plain Node child.
 */
const EXTRACT = `
const { PDFParse } = require('pdf-parse');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c)).on('end', async () => {
  const out = [];
  for (const b64 of JSON.parse(Buffer.concat(chunks).toString())) {
    const parser = new PDFParse({ data: new Uint8Array(Buffer.from(b64, 'base64')) });
    try {
      const r = await parser.getText();
      out.push({ text: r.text, pages: r.total });
    } finally {
      await parser.destroy();
    }
  }
  process.stdout.write(JSON.stringify(out));
});`;

/** The text layer of each PDF (all pages joined) and its page count. */
export async function pdfTexts(pdfs: Uint8Array[]): Promise<Array<{ text: string; pages: number }>> {
  const input = JSON.stringify(pdfs.map((p) => Buffer.from(p).toString('base64')));
  return JSON.parse(await runNodeScript(EXTRACT, input, 'pdf-parse')) as Array<{ text: string; pages: number }>;
}

export async function pdfText(pdf: Uint8Array): Promise<{ text: string; pages: number }> {
  return (await pdfTexts([pdf]))[0]!;
}

export interface ZipEntryContent {
  name: string;
  size: number;
  compressedSize: number;
  data: Buffer;
}

/** Every entry of a ZIP file with its contents (CRC-checked by yauzl while reading). */
export function readZip(file: string): Promise<ZipEntryContent[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const out: ZipEntryContent[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(out));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            out.push({
              name: entry.fileName,
              size: entry.uncompressedSize,
              compressedSize: entry.compressedSize,
              data: Buffer.concat(chunks),
            });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
