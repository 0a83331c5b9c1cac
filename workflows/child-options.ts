/**
 * The options every child of a batch shares: notifications, partitions and items alike outlive
 * the run that started them (ABANDON: a continue-as-new or a cancelled parent does not take them
 * down), start again only where an earlier run failed or was terminated, and carry the batch's
 * search attributes so Temporal Web finds every level of a batch by `FlotillaBatchId`.
 */
import { ParentClosePolicy, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { BatchIdKey, ItemKeyKey, PipelineKey } from '../common/search-attributes';

export function batchChildOptions(batchId: string, pipeline: string, itemKey?: string) {
  return {
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    typedSearchAttributes: [
      { key: BatchIdKey, value: batchId },
      { key: PipelineKey, value: pipeline },
      ...(itemKey !== undefined ? [{ key: ItemKeyKey, value: itemKey }] : []),
    ],
  };
}
