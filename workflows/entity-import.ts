/**
 * One entity import (services/entity-import-service.ts starts it, ID = the import's): a single
 * heartbeating activity that reads the stored file into `entities`. A worker that dies mid-file
 * loses its attempt, not its progress: the next attempt resumes from the last page heartbeated.
 * Should every attempt fail, the import is marked failed with the last error, so the page
 * never shows one running forever.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { EntityImportActivities, ImportOutcome } from '../activities/entity-import';

const { importEntities } = proxyActivities<EntityImportActivities>({
  // A million rows take minutes; the heartbeat (every 1,000 rows) is what notices a lost worker.
  startToCloseTimeout: '4h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 10 },
});

const { failEntityImport } = proxyActivities<EntityImportActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '1m' },
});

export async function entityImportWorkflow(importId: string): Promise<ImportOutcome> {
  try {
    return await importEntities(importId);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause instanceof ApplicationFailure ? err.cause.message : (err.cause?.message ?? err.message);
    return failEntityImport(importId, `the import stopped after repeated errors: ${cause}`);
  }
}
