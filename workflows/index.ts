/** Entry point of the workflow bundle: every workflow type the worker registers. */
export { batchWorkflow } from './batch';
export { itemWorkflow } from './item';
export { baselineItemWorkflow, naiveFanOutWorkflow } from './bench';
