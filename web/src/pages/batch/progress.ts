import type { BatchDetail, Progress } from '../../api.ts';

/** Progress to show before the first snapshot arrives: everything pending. */
export function fallbackProgress(b: BatchDetail): Progress {
  return {
    batchId: b.id,
    pipeline: b.pipeline,
    status: b.status,
    pauseReason: b.pauseReason ?? undefined,
    total: b.total,
    pending: b.total,
    running: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    cancelled: 0,
    processed: 0,
    steps: {},
    estimatedCostUsd: 0,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    elapsedMs: 0,
    pausedMs: 0,
    pausedSince: null,
    waitingMs: 0,
    throughputPerSec: 0,
    etaMs: null,
    generation: 0,
  };
}
