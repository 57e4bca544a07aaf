// The workflow bundle's entry: every workflow type Sweep registers, by its stable name.
export { sweepWorkflow } from './sweep-workflow.js';
export { trialWorkflow } from './trial-workflow.js';
