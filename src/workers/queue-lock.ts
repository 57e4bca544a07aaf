import { join } from 'node:path';
import { ExitError } from '../errors.js';
import { describeHolder, ExclusiveLock } from '../host/exclusive-lock.js';

/** How many default CPU queue names (`host-cpu`, `host-cpu-2`, …) a worker tries before giving up. */
const DEFAULT_NAME_TRIES = 64;

export interface QueueLock {
  readonly name: string;
  readonly lock: ExclusiveLock;
}

/**
 * Locks a queue's state (its trial registry) for as long as this worker lives: a second worker on the same
 * queue and data directory would otherwise take the first one's live trials for a dead predecessor's. The
 * first free of `names` is taken; with one name, a held lock refuses the start and touches nothing (exit 2).
 */
export function lockQueue(stateDir: string, names: readonly string[]): QueueLock {
  let holder: string | undefined;
  for (const name of names) {
    const taken = ExclusiveLock.acquire(join(stateDir, `${name}.lock`), `worker ${name}`);
    if (taken instanceof ExclusiveLock) return { name, lock: taken };
    holder ??= describeHolder(taken.heldBy, `another worker on queue ${name}`);
  }
  const only = names.length === 1 ? names[0] : undefined;
  throw new ExitError(
    only
      ? `queue ${only} is already served by ${holder} with data directory ${stateDir}; stop it first, or give this worker another --queue`
      : `every default queue name from ${names[0]} on is taken in ${stateDir}; give this worker a --queue`,
    2,
  );
}

/** `host-cpu`, then `host-cpu-2`, …: two default CPU workers on one host each get a queue of their own. */
export function defaultCpuQueueNames(base: string): string[] {
  return [base, ...Array.from({ length: DEFAULT_NAME_TRIES - 1 }, (_, i) => `${base}-${i + 2}`)];
}
