// `sweep start` on a spec whose sweep already runs: found by name (or, unnamed, by its spec file) among the
// owner's running sweeps, and grown by what the file adds instead of duplicated.
import { createInterface } from 'node:readline/promises';
import type { Client } from '@temporalio/client';
import { ConfigError } from '../errors.js';
import type { SweepSpec } from '../sweep-spec/spec-types.js';
import { sweepOwnerKey } from '../temporal/search-attributes.js';
import type { SweepChangeRecord } from '../workflows/sweep-changes.js';
import { extensionSteps } from './spec-extension.js';
import { sweepMemo, type SweepMemo } from './sweep-client.js';
import { changeSweep } from './sweep-steering.js';

/**
 * The owner's running sweep that `spec` would duplicate: the same `name:`, or for an unnamed spec one started
 * from the same file. Visibility lags a second or so, so a sweep started a moment ago may not be found yet.
 */
export async function runningTwin(
  client: Client,
  spec: SweepSpec,
  specFile: string,
  owner: string,
): Promise<string | undefined> {
  const query = `WorkflowType = "sweepWorkflow" AND ExecutionStatus = "Running" AND ${sweepOwnerKey.name} = "${owner}"`;
  for await (const execution of client.workflow.list({ query })) {
    const memo = execution.memo as SweepMemo | undefined;
    if (!memo?.spec) continue;
    const same =
      spec.name !== undefined
        ? memo.spec.name === spec.name
        : memo.spec.name === undefined && memo.specFile === specFile;
    if (same) return execution.workflowId;
  }
  return undefined;
}

/** On a terminal, asks whether to extend `sweepId`; elsewhere the answer is no (scripts say --extend). */
export async function askToExtend(sweepId: string, file: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(
    `sweep ${sweepId} from ${file} is running: extend it with what ${file} adds? [y/N] `,
  );
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** Grows `sweepId` by what `spec` adds; undefined when it adds nothing. Refused: every reason, by key. */
export async function extendSweep(
  client: Client,
  sweepId: string,
  spec: SweepSpec,
  file: string,
): Promise<SweepChangeRecord | undefined> {
  const memo = await sweepMemo(client, sweepId);
  const extension = extensionSteps(memo.spec, spec);
  if ('problems' in extension) {
    throw new ConfigError([
      ...extension.problems.map((problem) => `${file}: ${problem}`),
      `nothing changed: sweep ${sweepId} can only grow (start another with --new)`,
    ]);
  }
  if (extension.steps.length === 0) return undefined;
  return changeSweep(client, sweepId, { kind: 'grow', steps: extension.steps });
}
