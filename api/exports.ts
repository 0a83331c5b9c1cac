/**
 * A batch's results as a download: the export's chunks (services/batch-export.ts) written to the
 * response as the reader takes them, so a slow reader never piles rows up in memory.
 */
import type { Response } from 'express';
import type { Db } from '../lib/db';
import type { PipelineDefinition } from '../pipelines/types';
import { exportChunks, type ExportFormat } from '../services/batch-export';

export async function streamExport(opts: {
  db: Db;
  res: Response;
  batchId: string;
  batchName: string;
  def?: PipelineDefinition;
  format: ExportFormat;
  limit?: number;
}): Promise<void> {
  const { res, batchId, format } = opts;
  res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${batchId}.${format}"`);
  res.setHeader('Cache-Control', 'no-store');
  let closed = false;
  res.on('close', () => void (closed = true));
  for await (const chunk of exportChunks(opts)) {
    if (closed) return;
    if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
  }
  res.end();
}
