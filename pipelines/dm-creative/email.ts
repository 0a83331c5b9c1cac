/**
 * The e-mail a campaign owner gets when a dm-creative batch ends, worded as in the product
 * brief (seed 002, "Batch Complete" / "Batch Failed"): counts, success rate, a link to the ZIP of
 * all creatives and one to the batch page. Plain text: it is read in every client and cannot
 * carry markup from the batch name.
 */
import type { BatchEndContext } from '../types';

export interface CompletionEmailInput {
  batchId: string;
  batchName: string;
  status: BatchEndContext<unknown>['status'];
  counts: BatchEndContext<unknown>['counts'];
  appUrl: string;
  /** The ZIP, when one was built. */
  zip?: { name: string; bytes: number; entries: number };
  /** Signature line, e.g. the company name of the campaign. */
  signature: string;
}

export interface CompletionEmail {
  subject: string;
  text: string;
}

const n = (v: number) => v.toLocaleString('en-US');

/** `99.96%`; two decimals, trailing zeros dropped (`100%`, `50%`). */
export function percent(part: number, total: number): string {
  if (total <= 0) return '0%';
  return `${Number(((part / total) * 100).toFixed(2))}%`;
}

/** `245 MB`, `12.3 KB`. */
export function humanBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v >= 100 ? Math.round(v) : Number(v.toFixed(1))} ${units[u]}`;
}

export function zipDownloadUrl(appUrl: string, batchId: string, zipName: string): string {
  return `${appUrl.replace(/\/+$/, '')}/api/batches/${encodeURIComponent(batchId)}/files/${encodeURIComponent(zipName)}`;
}

export function batchPageUrl(appUrl: string, batchId: string): string {
  return `${appUrl.replace(/\/+$/, '')}/batches/${encodeURIComponent(batchId)}`;
}

export function completionEmail(input: CompletionEmailInput): CompletionEmail {
  const { counts: c, batchName } = input;
  const done = c.succeeded + c.failed + c.skipped;
  const details = batchPageUrl(input.appUrl, input.batchId);
  const download = input.zip
    ? [
        '📥 Download your DMs:',
        `Download ZIP (${humanBytes(input.zip.bytes)}, ${n(input.zip.entries)} PDFs): ${zipDownloadUrl(input.appUrl, input.batchId, input.zip.name)}`,
        '',
      ]
    : [];
  const footer = ['---', input.signature];

  if (input.status === 'failed' || input.status === 'cancelled') {
    const failed = input.status === 'failed';
    return {
      subject: failed ? `❌ Batch job failed: ${batchName}` : `⏹ Batch job cancelled: ${batchName}`,
      text: [
        'Hi there,',
        '',
        failed
          ? `Unfortunately, your batch job "${batchName}" has failed.`
          : `Your batch job "${batchName}" was cancelled before it finished.`,
        '',
        `📊 Progress before ${failed ? 'failure' : 'cancellation'}:`,
        `- Processed: ${n(done)} / ${n(c.total)} (${percent(done, c.total)})`,
        `- Success: ${n(c.succeeded)}`,
        `- Failed: ${n(c.failed)}`,
        ...(c.cancelled ? [`- Cancelled: ${n(c.cancelled)}`] : []),
        '',
        ...download,
        '🔧 What to do next:',
        '1. Check the failed recipients and their errors on the batch page',
        '2. Retry the failed recipients of the batch',
        '3. Contact support if the issue persists',
        '',
        '🔗 View Details:',
        details,
        '',
        ...footer,
      ].join('\n'),
    };
  }

  const clean = input.status === 'completed' && c.failed === 0;
  return {
    subject: `✅ Your batch of ${n(c.total)} DMs is ready!`,
    text: [
      'Hi there,',
      '',
      clean
        ? `Great news! Your batch job "${batchName}" has been completed successfully.`
        : `Your batch job "${batchName}" has finished; ${n(c.failed)} of ${n(c.total)} recipients could not be rendered.`,
      '',
      '📊 Summary:',
      `- Total: ${n(c.total)} recipients`,
      `- Success: ${n(c.succeeded)} (${percent(c.succeeded, c.total)})`,
      `- Failed: ${n(c.failed)} (${percent(c.failed, c.total)})`,
      ...(c.skipped ? [`- Skipped: ${n(c.skipped)} (${percent(c.skipped, c.total)})`] : []),
      '',
      ...download,
      '🔗 View Details:',
      details,
      '',
      ...footer,
    ].join('\n'),
  };
}
