/**
 * Live progress of running batches, shared by every reader: however many browsers watch a batch
 * (SSE) or poll it (GET), Temporal sees at most one progress query per batch per interval.
 * Finished batches are answered from the database snapshot the workflow wrote last.
 */
import type { BatchProgress } from '../common/types';
import { deriveProgress, isFinalBatchStatus } from '../common/types';
import type { Logger } from '../lib/logger';

export interface ProgressSource {
  /** The Temporal progress query. */
  query(batchId: string): Promise<BatchProgress>;
  /** The batch row's status and last snapshot. */
  snapshot(batchId: string): Promise<{ status: string; progress: unknown } | null>;
}

type Listener = (p: BatchProgress) => void;

interface Entry {
  value?: BatchProgress;
  at: number;
  lastRead: number;
  inFlight?: Promise<BatchProgress>;
  /** Bumped when the cached value turns out stale: a fetch begun before then stores nothing. */
  epoch: number;
  listeners: Set<Listener>;
  timer?: NodeJS.Timeout;
}

export class ProgressHub {
  private readonly entries = new Map<string, Entry>();
  /** Temporal queries issued, for tests and metrics. */
  queries = 0;

  constructor(
    private readonly source: ProgressSource,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  private readonly sweeper: NodeJS.Timeout;

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) {
      e = { at: 0, epoch: 0, lastRead: Date.now(), listeners: new Set() };
      this.entries.set(id, e);
    }
    e.lastRead = Date.now();
    return e;
  }

  /** Forget batches nobody has read for a minute. */
  private sweep(): void {
    const cutoff = Date.now() - 60_000;
    for (const [id, e] of this.entries)
      if (e.lastRead < cutoff && e.listeners.size === 0 && !e.inFlight) this.entries.delete(id);
  }

  /**
   * Current progress. Never waits on a busy workflow: a cached value is answered at once (and
   * refreshed in the background when older than the interval); with nothing cached yet, it waits
   * up to `firstAnswerMs` for the query and otherwise answers the database snapshot.
   */
  async get(id: string, opts: { knownStatus?: string; firstAnswerMs?: number } = {}): Promise<BatchProgress | null> {
    const e = this.entry(id);
    // The database already says the batch ended: the final snapshot is one cheap read away (and
    // the latest one: a batch that a retry round reopened ends again with other counts).
    if (opts.knownStatus && isFinalBatchStatus(opts.knownStatus)) {
      // A fetch already in flight may have started before the batch ended: read again then.
      const p = await this.refresh(id);
      return p && !isFinalBatchStatus(p.status) ? this.refresh(id) : p;
    }
    const firstAnswerMs = opts.firstAnswerMs ?? 1_000;
    if (!opts.knownStatus) return this.current(id, e, firstAnswerMs);
    // The database says it runs (again: a retry round reopened it), so a final value cached or
    // brought by a fetch begun before the reopening is stale: forget it and read again. (Right
    // after the batch ends, its row can say running a moment longer: the new read says so too.)
    if (e.value && isFinalBatchStatus(e.value.status)) this.forget(e);
    const answer = await this.current(id, e, firstAnswerMs);
    if (!answer || !isFinalBatchStatus(answer.status)) return answer;
    this.forget(e);
    return this.current(id, e, firstAnswerMs);
  }

  /**
   * The cached value (refreshed in the background when older than the interval), or the first
   * answer of a fetch within `firstAnswerMs`, or else the database snapshot.
   */
  private async current(id: string, e: Entry, firstAnswerMs: number): Promise<BatchProgress | null> {
    const fresh = e.value && (isFinalBatchStatus(e.value.status) || Date.now() - e.at < this.intervalMs);
    if (!fresh) {
      // Observed here so a failed fetch nobody awaits is no unhandled rejection; the callers below get its error.
      this.fetching(id, e).catch(() => undefined);
    }
    if (e.value) return e.value;
    try {
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), firstAnswerMs).unref());
      const first = await Promise.race([this.fetching(id, e), timeout]);
      if (first !== 'timeout') return first;
      const snap = await this.source.snapshot(id);
      return snap ? ({ ...normaliseSnapshot(id, snap), stale: true } as BatchProgress) : null;
    } catch (err) {
      if ((err as { code?: string }).code === 'not_found') return null;
      throw err;
    }
  }

  /** Drops the cached value and the fetch in flight: what that fetch brings is not kept. */
  private forget(e: Entry): void {
    e.value = undefined;
    e.inFlight = undefined;
    e.epoch += 1;
  }

  /**
   * The progress a new stream opens with: the batch row's status says whether a cached final
   * value still holds (a retry round may have reopened the batch since).
   */
  async opening(id: string): Promise<BatchProgress | null> {
    const snap = await this.source.snapshot(id);
    return snap ? this.get(id, { knownStatus: snap.status }) : null;
  }

  /** The fetch in flight for this batch, or a new one; concurrent readers share it. */
  private fetching(id: string, e: Entry): Promise<BatchProgress> {
    if (!e.inFlight) {
      const p = this.fetch(id, e).finally(() => {
        if (e.inFlight === p) e.inFlight = undefined;
      });
      e.inFlight = p;
    }
    return e.inFlight;
  }

  /** Waits for a fresh value (the SSE ticker), sharing the query with concurrent readers. */
  private async refresh(id: string): Promise<BatchProgress | null> {
    const e = this.entry(id);
    try {
      return await this.fetching(id, e);
    } catch (err) {
      if ((err as { code?: string }).code === 'not_found') return null;
      throw err;
    }
  }

  private async fetch(id: string, e: Entry): Promise<BatchProgress> {
    const epoch = e.epoch;
    const snap = await this.source.snapshot(id);
    if (!snap) throw Object.assign(new Error(`batch ${id} not found`), { code: 'not_found' });
    let value: BatchProgress;
    if (isFinalBatchStatus(snap.status) || snap.status === 'pending') {
      value = normaliseSnapshot(id, snap);
    } else {
      try {
        this.queries += 1;
        value = await this.source.query(id);
      } catch (err) {
        // A worker restart or an overloaded server: show the last snapshot rather than nothing.
        this.log.warn({ batchId: id, err: (err as Error).message }, 'progress query failed; serving snapshot');
        value = { ...normaliseSnapshot(id, snap), stale: true } as BatchProgress;
      }
    }
    if (epoch === e.epoch) {
      e.value = value;
      e.at = Date.now();
    }
    return value;
  }

  /** Calls `listener` with progress every interval until the batch is final; returns an unsubscribe. */
  subscribe(id: string, listener: Listener): () => void {
    const e = this.entry(id);
    e.listeners.add(listener);
    if (!e.timer) {
      const tick = async () => {
        try {
          const p = await this.refresh(id);
          if (p) for (const l of e.listeners) l(p);
          if (!p || isFinalBatchStatus(p.status)) return this.stop(id);
        } catch (err) {
          this.log.warn({ batchId: id, err: (err as Error).message }, 'progress tick failed');
        }
        if (e.listeners.size > 0) e.timer = setTimeout(() => void tick(), this.intervalMs);
      };
      e.timer = setTimeout(() => void tick(), 0);
    }
    return () => {
      e.listeners.delete(listener);
      if (e.listeners.size === 0) this.stop(id);
    };
  }

  private stop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.entries.keys()]) {
      const e = this.entries.get(id)!;
      e.listeners.clear();
      this.stop(id);
    }
  }
}

function normaliseSnapshot(id: string, snap: { status: string; progress: unknown }): BatchProgress {
  const p = (snap.progress ?? {}) as Partial<BatchProgress>;
  if (typeof p.total === 'number') return { ...(p as BatchProgress), status: snap.status as BatchProgress['status'] };
  return deriveProgress({
    batchId: id,
    pipeline: p.pipeline ?? '',
    status: snap.status as BatchProgress['status'],
    counters: { total: 0, started: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, costUsd: 0, steps: {} },
    running: 0,
    startedAtMs: null,
    finishedAtMs: null,
    nowMs: Date.now(),
    generation: 0,
  });
}
