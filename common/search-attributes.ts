/** Typed keys of the engine's custom search attributes (sandbox-safe). */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from './constants';

export const BatchIdKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.batchId, SearchAttributeType.KEYWORD);
export const PipelineKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.pipeline, SearchAttributeType.KEYWORD);
export const ItemKeyKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.itemKey, SearchAttributeType.KEYWORD);

/** All of them, for registering and checking them on a cluster. */
export const ENGINE_SEARCH_ATTRIBUTES = [BatchIdKey, PipelineKey, ItemKeyKey];
