import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ConfigError } from '../errors.js';
import { checkSweepId } from './sweep-client.js';

/** How many matching sweeps an ambiguous prefix lists. */
const SHOWN_CANDIDATES = 5;

/** The one sweep that `prefix` names among the sweep IDs starting with it; a ConfigError for none or several. */
export function pickSweep(prefix: string, candidates: readonly string[]): string {
  const [only, ...others] = candidates;
  if (only === undefined) throw new ConfigError([`${prefix}: no such sweep`]);
  if (others.length === 0) return only;
  const many = candidates.length > SHOWN_CANDIDATES;
  const shown = candidates.slice(0, SHOWN_CANDIDATES).join(', ');
  throw new ConfigError([
    `${prefix}: ambiguous: it matches ${many ? `more than ${SHOWN_CANDIDATES}` : candidates.length} sweeps ` +
      `(${shown}${many ? ', …' : ''}); give more of the ID`,
  ]);
}

/** Whether `id` is the ID of a workflow that is a sweep (a trial's workflow ID is not). */
async function isSweep(client: Client, id: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(id).describe()).type === 'sweepWorkflow';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/**
 * The full ID of the sweep that `given` names: the sweep of exactly that ID (visibility may not list a sweep
 * started a moment ago), else the only sweep whose ID starts with it.
 */
export async function resolveSweepId(client: Client, given: string): Promise<string> {
  if (await isSweep(client, checkSweepId(given))) return given;
  const query = `WorkflowType = "sweepWorkflow" AND WorkflowId STARTS_WITH "${given}"`;
  // One past what is shown, to tell "these" from "these and more"; the runs of one sweep are one candidate.
  const ids = new Set<string>();
  for await (const execution of client.workflow.list({ query, pageSize: SHOWN_CANDIDATES + 1 })) {
    ids.add(execution.workflowId);
    if (ids.size > SHOWN_CANDIDATES) break;
  }
  return pickSweep(given, [...ids]);
}
