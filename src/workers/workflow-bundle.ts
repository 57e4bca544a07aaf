import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from '@temporalio/worker';

/** Built by `npm run build` (scripts/bundle-workflows.ts): workers start in a second instead of bundling. */
export const WORKFLOW_BUNDLE = fileURLToPath(new URL('../../dist/workflow-bundle.js', import.meta.url));
export const WORKFLOWS_ENTRY = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

/** The prebuilt bundle when there is one; otherwise the SDK bundles the workflows at start (a few seconds). */
export function workflowCode(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  return existsSync(WORKFLOW_BUNDLE)
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE } }
    : { workflowsPath: WORKFLOWS_ENTRY.replace(/\.js$/, existsSync(WORKFLOWS_ENTRY) ? '.js' : '.ts') };
}
