// Part of `npm run build`: bundles the workflow code once, so every worker process loads it instead of
// running webpack at start.
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE } from '../src/workers/workflow-bundle.js';

const { code } = await bundleWorkflowCode({
  workflowsPath: new URL('../dist/workflows/index.js', import.meta.url).pathname,
  logger: { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: console.warn, error: console.error },
});
writeFileSync(WORKFLOW_BUNDLE, code);
