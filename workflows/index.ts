/** Entry point of the workflow bundle: every workflow type the worker registers. */
export { batchWorkflow } from './batch';
export { itemWorkflow } from './item';
export { scheduledBatchWorkflow } from './scheduled';
export { retentionWorkflow } from './retention';
export { dryRunWorkflow } from './dry-run';
export { notificationWorkflow } from './notification';
export { partitionWorkflow } from './partition';
export { entityImportWorkflow } from './entity-import';
export { baselineItemWorkflow, childrenBaselineWorkflow, naiveFanOutWorkflow } from './bench';
