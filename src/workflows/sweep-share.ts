// How a sweep shares the lab's GPUs: whose it is, how urgent, and how large a share its owner gets. Temporal's
// task-queue priority and fairness do the dispatching; this maps Sweep's terms onto theirs. Pure: workflows
// import it.

import { PRIORITY_RANGE } from '../sweep-spec/spec-schema.js';

/** Whose sweep this is and how its trials compete for slots with other sweeps' trials. */
export interface SweepShare {
  /** Trials are shared fairly between owners (`$USER` by default, `--user`). */
  readonly owner: string;
  /** 1 (most urgent) … 5; a free slot goes to the most urgent queued trial. */
  readonly priority: number;
  /** An owner's share of the slots, relative to other owners' of the same priority. */
  readonly weight: number;
}

export const DEFAULT_PRIORITY = 3;
export const DEFAULT_WEIGHT = 1;

/**
 * Temporal priority levels Sweep uses: two per Sweep priority, so a retry goes before every fresh trial of
 * its priority and after every trial of a more urgent one. The dev server is started with this many; a
 * production cluster needs `matching.priorityLevels` set to it (fewer levels clip the least urgent together).
 */
export const TEMPORAL_PRIORITY_LEVELS = 2 * PRIORITY_RANGE.max;

/** The `priority` of a trial attempt's activity: Temporal's key (1 first), fairness by owner and weight. */
export function attemptPriority(
  share: SweepShare,
  attempt: number,
): { priorityKey: number; fairnessKey: string; fairnessWeight: number } {
  const isRetry = attempt > 1;
  return {
    priorityKey: 2 * share.priority - (isRetry ? 1 : 0),
    fairnessKey: share.owner,
    fairnessWeight: share.weight,
  };
}
