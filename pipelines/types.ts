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
  heartbeat(details?: unknown): void;
  /** Adds to the item's estimated cost (e.g. an AI call's token cost). */
  addCost(usd: number): void;
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
  /** Defaults: 60 s start-to-close, heartbeat timeout unset. */
  startToCloseTimeoutMs?: number;
  heartbeatTimeoutMs?: number;
  retry?: Partial<StepRetryPolicy>;
  taskQueue?: string;
}

export interface PipelineDefinition<ItemSchema extends z.ZodType = z.ZodType, SettingsSchema extends z.ZodType = z.ZodType> {
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
  constructor(message: string, readonly errorType = 'NonRetryableStepError', readonly details?: unknown) {
    super(message);
    this.name = errorType;
  }
}

export function definePipeline<I extends z.ZodType, S extends z.ZodType>(def: PipelineDefinition<I, S>): PipelineDefinition<I, S> {
  return def;
}
