/**
 * Item keys: what names an item within its batch (its child workflow's ID is `<batch>/<key>`)
 * and a stored entity within its organisation and kind. One rule for both, so every stored
 * entity can become a batch item under the key it was stored with.
 */
import type { PipelineDefinition } from '../pipelines/types';

export const ITEM_KEY_PATTERN = /^[A-Za-z0-9._:@-][A-Za-z0-9._:@ -]{0,199}$/;

/** Why a key was refused, for `item key "…" must be …`. */
export const ITEM_KEY_RULE = 'must be 1-200 letters, digits, spaces or ._:@-';

/**
 * An item's key: the pipeline's own rule (`itemKey`), else the item's `key` field as given
 * (`raw`, before the schema may have dropped it), else its 1-based position.
 */
export function itemKeyOf(def: PipelineDefinition, item: unknown, index: number, raw: unknown = item): string {
  if (def.itemKey) return def.itemKey(item as never, index);
  const k = (raw as { key?: unknown } | null)?.key;
  return typeof k === 'string' ? k : String(index + 1);
}

/** A stored entity's ID: unique across organisations and kinds. */
export function entityIdOf(orgId: string, kind: string, key: string): string {
  return `${orgId}/${kind}/${key}`;
}
