/**
 * What a pipeline is: a name, an item schema, a settings schema and an ordered list of steps.
 * Each step becomes a Temporal activity (`<pipeline>.<step>`) with its own timeouts and retry
 * policy. Adding a pipeline means adding a module to pipelines/ and one line to the registry; the
 * engine (workflows/) never changes.
 */
import type { z } from 'zod';
import type { StepCondition, StepRetryPolicy } from '../common/types';

export interface StepLogger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface StepContext<Item, Settings> {
  batchId: string;
  itemKey: string;
  item: Item;
  settings: Settings;
  /** Outputs of the steps that ran before this one, by step name. */
  previous: Record<string, unknown>;
  /** `<batchId>/<itemKey>/<step>`: send it with every external write. */
  idempotencyKey: string;
  /** Fires when Temporal cancels the activity (batch cancelled) or the worker shuts down. */
  signal: AbortSignal;
  attempt: number;
  /**
   * Progress to resume from (`activityInfo().heartbeatDetails` on the next attempt). Optional:
   * the engine heartbeats for the step anyway, repeating the last details given here.
   */
  heartbeat(details?: unknown): void;
  /** Adds to the item's estimated cost (e.g. an AI call's token cost). */
  addCost(usd: number): void;
  /**
   * For pipelines with a `sequenceKey`: the earlier items of the same sequence (same chatId,
   * say) in batch order, each with its final status and step outputs. Empty otherwise. The
   * engine guarantees they have all settled before this item's first step starts.
   */
  predecessors(): Promise<SequencePredecessor[]>;
  log: StepLogger;
}

export interface SequencePredecessor {
  itemKey: string;
  item: unknown;
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  /** Step outputs by step name (steps that did not succeed are absent). */
  outputs: Record<string, unknown>;
}

/** One settled item, as the batch-end hook and exports see it. */
export interface SettledItem {
  itemKey: string;
  seq: number;
  item: unknown;
  status: string;
  outputs: Record<string, unknown>;
  error: { step: string; type: string; message: string } | null;
  costUsd: number;
}

/** What a pipeline's `onBatchEnd` hook gets. */
export interface BatchEndContext<Settings> {
  batchId: string;
  batchName: string;
  pipeline: string;
  /** The status the batch is about to end with. */
  status: 'completed' | 'completed_with_errors' | 'failed' | 'cancelled';
  settings: Settings;
  counts: { total: number; succeeded: number; failed: number; skipped: number; cancelled: number; costUsd: number };
  /** Every item of the batch in order, read a page at a time (constant memory). */
  items(filter?: { status?: string }): AsyncIterable<SettledItem>;
  /** `<batchId>/__batch-end/<round>`: send it with every external write (e-mail, webhook). */
  idempotencyKey: string;
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
  log: StepLogger;
}

export type StepHandler<Item, Settings> = (ctx: StepContext<Item, Settings>) => Promise<unknown>;

export interface StepDefinition<Item, Settings> {
  name: string;
  description?: string;
  run: StepHandler<Item, Settings>;
  /** Alternative handlers chosen by the item's value at `path` (e.g. restaurant type). */
  handlersByItemType?: { path: string; handlers: Record<string, StepHandler<Item, Settings>> };
  skipIf?: StepCondition;
  /** What a success of this step produced, counted on the batch's Results ("merchants created"). */
  result?: string;
  /** Default 60 s. */
  startToCloseTimeoutMs?: number;
  /**
   * Default 5 s (DEFAULT_STEP_HEARTBEAT_TIMEOUT_MS): the engine heartbeats while the step runs,
   * so this is how long a step of a dead worker waits before it is retried elsewhere. Keep the
   * event loop free (no long synchronous work) or a live step times out.
   */
  heartbeatTimeoutMs?: number;
  retry?: Partial<StepRetryPolicy>;
  /**
   * Run this step on one of the pipeline's named `queues` (its own task queue with its own
   * concurrency, e.g. a pool of browsers) instead of the item task queue.
   */
  queue?: string;
  /**
   * What this step changes outside Flotilla, in words ("creates the merchant account on the
   * partner platform"). A dry run stops before the first such step; steps without it only read
   * or compute (an AI call or a rendered PDF counts as compute).
   */
  writes?: string;
}

export interface PipelineDefinition<
  ItemSchema extends z.ZodType = z.ZodType,
  SettingsSchema extends z.ZodType = z.ZodType,
> {
  name: string;
  title: string;
  description: string;
  /** Bumped when the step list changes; recorded with each batch. */
  version: number;
  /** What one item is called ("restaurant", "recipient", ...). */
  itemNoun: string;
  itemSchema: ItemSchema;
  settingsSchema: SettingsSchema;
  /** The item's key within a batch; the item's `key` field or its 1-based row number otherwise. */
  itemKey?: (item: z.infer<ItemSchema>, index: number) => string;
  steps: Array<StepDefinition<z.infer<ItemSchema>, z.infer<SettingsSchema>>>;
  /** Sample items a new user can start a batch with from the web page. */
  demoItems?: () => Array<z.input<ItemSchema>>;
  /**
   * The kind of stored entity an item is (`restaurant`, `recipient`, `company`): demo items are
   * seeded as entities of this kind on first start, and the web page picks items from them.
   */
  entityKind?: string;
  /**
   * Named activity pools. Each gets a task queue of its own (`<item queue>-<pipeline>-<name>`)
   * that every worker polls with at most `concurrency` activities at a time (overridable by the
   * env var `env`, e.g. PDF_RENDER_CONCURRENCY).
   */
  queues?: Record<
    string,
    {
      concurrency: number;
      env?: string;
      /**
       * At most this many of the queue's activities start per minute across ALL workers (Temporal
       * enforces it on the task queue), e.g. requests per minute to an AI provider.
       */
      ratePerMinute?: number;
    }
  >;
  /**
   * Items with the same sequence key (a CSV row's chatId, say) run one after another in batch
   * order; items without one, or with different keys, run in parallel.
   */
  sequenceKey?: (item: z.infer<ItemSchema>) => string | null | undefined;
  /**
   * Runs once when the batch reaches its final status (again after a retry round settles), as a
   * retried activity `<pipeline>.__batch-end`, before the batch shows the final status. Its
   * result is kept with the batch (`outputs`) and shown by the API; e.g. build a ZIP and e-mail.
   */
  onBatchEnd?: {
    run: (ctx: BatchEndContext<z.infer<SettingsSchema>>) => Promise<BatchEndResult>;
    startToCloseTimeoutMs?: number;
  };
  /** Result columns for exports (CSV/JSON), joined to the item's input fields. */
  exportColumns?: (item: SettledItem) => Record<string, string | number | boolean | null>;
  /**
   * Runs where a batch is created, once its settings parsed: completes the settings (freezes
   * what they refer to, e.g. a template's current content, so that a later edit never changes
   * the batch or a retry of it) and may give a rule every item must also pass. Problems are
   * reported like any invalid setting or item (a 400 naming the field).
   */
  prepareBatch?: (ctx: {
    orgId: string;
    settings: z.infer<SettingsSchema>;
  }) => Promise<PreparedBatch<z.infer<ItemSchema>, z.infer<SettingsSchema>>>;
}

/** A field at fault, its path within the settings or the item. */
export interface FieldProblem {
  path: PropertyKey[];
  message: string;
}

export type PreparedBatch<Item, Settings> =
  { settings: Settings; checkItem?: (item: Item) => FieldProblem[] } | { problems: FieldProblem[] };

/** What an `onBatchEnd` hook returns: files it wrote (under the batch's file directory) and anything else to show. */
export interface BatchEndResult {
  files?: Array<{ name: string; bytes: number; contentType: string }>;
  [key: string]: unknown;
}

/** A step returns this to end its item as skipped (e.g. "already registered"). */
export interface SkipItem {
  __flotillaSkipItem: true;
  reason: string;
  output?: unknown;
}

export function skipItem(reason: string, output?: unknown): SkipItem {
  return { __flotillaSkipItem: true, reason, output };
}

export function isSkipItem(value: unknown): value is SkipItem {
  return typeof value === 'object' && value !== null && (value as SkipItem).__flotillaSkipItem === true;
}

/** Thrown by a step for a business failure that retrying cannot fix. */
export class NonRetryableStepError extends Error {
  constructor(
    message: string,
    readonly errorType = 'NonRetryableStepError',
    readonly details?: unknown,
  ) {
    super(message);
    this.name = errorType;
  }
}

export function definePipeline<I extends z.ZodType, S extends z.ZodType>(
  def: PipelineDefinition<I, S>,
): PipelineDefinition<I, S> {
  return def;
}
