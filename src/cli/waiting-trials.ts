// What trials that do not fit are waiting for, as `sweep status` and `sweep watch` say it: by reason, with the
// trials that wait for it, instead of a silent queue.
import type { Client } from '@temporalio/client';
import type { SweepSpec } from '../sweep-spec/spec-types.js';
import { resourceRequest } from '../workflows/resource-request.js';
import type { SweepOptions } from '../workflows/types.js';
import { registeredWorkers, whyFitsNowhere } from './pool-capacity.js';
import type { LiveTrial } from './sweep-client.js';

/** `t4, t5 and 3 more`. */
function trialList(indices: readonly number[]): string {
  const shown = indices.slice(0, 3).map((index) => `t${index}`);
  return indices.length > 3 ? `${shown.join(', ')} and ${indices.length - 3} more` : shown.join(', ');
}

/** One line per reason: `t4: needs 40 GiB GPU memory; the most free is 24 GiB on hostb-gpu1`. */
export function waitingLines(live: readonly LiveTrial[]): string[] {
  const byReason = new Map<string, number[]>();
  for (const trial of live) {
    if (trial.state !== 'queued' || !trial.waitingFor) continue;
    byReason.set(trial.waitingFor, [...(byReason.get(trial.waitingFor) ?? []), trial.index]);
  }
  return [...byReason].map(([reason, indices]) => `${trialList(indices)}: ${reason}`);
}

/**
 * Why the sweep's trials can run on no live worker of the pool, if that is so: its resources against what the
 * workers published. Undefined for sweeps that ask for nothing in particular, or when no worker is known.
 */
export async function fitsNowhere(client: Client, spec: SweepSpec, options: SweepOptions): Promise<string | undefined> {
  if (!options.honourResources) return undefined;
  const request = resourceRequest(spec.resources);
  if (!request) return undefined;
  return whyFitsNowhere(request, options.pool, await registeredWorkers(client, options.pool));
}
