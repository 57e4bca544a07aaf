import { ConfigError } from '../errors.js';
import { trialCount } from '../sweep-spec/expand.js';
import { renderTrial } from '../sweep-spec/render.js';
import type { SweepSpec } from '../sweep-spec/spec-types.js';

/** How far a trial given by name is looked for: names are rendered one by one. */
const NAME_SEARCH_LIMIT = 100_000;

/** A trial given on the command line by index (`7`) or name (`t007_lr=0.1`): its index in the sweep. */
export function trialIndexOf(spec: SweepSpec, sweepId: string, trial: string): number {
  const total = trialCount(spec);
  const index = /^\d+$/.test(trial)
    ? Number(trial)
    : Array.from({ length: Math.min(total, NAME_SEARCH_LIMIT) }, (_, i) => i).find(
        (i) => renderTrial(spec, i).name === trial,
      );
  if (index === undefined || index >= total) {
    throw new ConfigError([`${trial}: no such trial in ${sweepId} (0..${total - 1})`]);
  }
  return index;
}
