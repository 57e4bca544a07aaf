// Task-queue names and workflow-ID formats, in one place: IDs are derived, never random where a retry or a
// later run must find the same thing.

/** Workflow tasks of every sweep and trial; any `sweep worker` serves it, so no head node is needed. */
export const CONTROL_QUEUE = 'sweep-control';

/** The queue trials of a pool wait on; every worker of the pool polls it with one poller per free slot. */
export function poolQueue(pool: string): string {
  return `sweep-pool-${pool}`;
}

export const DEFAULT_POOL = 'default';

/**
 * The queue a trial of this shape waits on: the pool's own queue for trials that ask for no particular
 * hardware (so sweeps from before resources, and every worker, keep using it), `…/gpus-2` and the like for the
 * rest. A worker polls only the shapes it could ever hold: matching is by queue, not by resources.
 */
export function shapeQueue(pool: string, shape: string): string {
  return shape === 'any' ? poolQueue(pool) : `${poolQueue(pool)}/${shape}`;
}

/**
 * One worker's own queue (`…/worker/hostb-gpu1`): trials that name it (`resources.labels.worker`) wait here, for
 * it alone, instead of on a shared queue that every other worker would take them from only to hand them back.
 */
export function workerQueue(pool: string, worker: string): string {
  return `${poolQueue(pool)}/worker/${worker}`;
}

/**
 * The queue of a Python worker class at one version of its module (`…/class/train_worker:Trainer@3f2a9c01b2d4`):
 * only workers that run that class from that very file poll it, so a changed class never gets the old one's trials.
 */
export function classQueue(pool: string, workerClass: { readonly ref: string; readonly version: string }): string {
  return `${poolQueue(pool)}/class/${workerClassLabel(workerClass)}`;
}

/** `train_worker:Trainer@3f2a9c01b2d4`: a class worker's `worker_class` label, and its queue's last part. */
export function workerClassLabel(workerClass: { readonly ref: string; readonly version: string }): string {
  return `${workerClass.ref}@${workerClass.version}`;
}

/** Where a trial waits: its worker's own queue where it names one, else its worker class's, else its shape's. */
export function trialQueue(
  pool: string,
  shape: string,
  worker: string | undefined,
  workerClass?: { readonly ref: string; readonly version: string },
): string {
  if (worker !== undefined) return workerQueue(pool, worker);
  return workerClass ? classQueue(pool, workerClass) : shapeQueue(pool, shape);
}

/** Workers publish what they own as queue names under this (see published-capacity.ts); nothing runs there. */
export function capacityQueuePrefix(pool: string): string {
  return `${poolQueue(pool)}/capacity/`;
}

export function trialWorkflowId(sweepId: string, index: number): string {
  return `${sweepId}/t${index}`;
}

const SWEEP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

export function isSweepId(value: string): boolean {
  return SWEEP_ID.test(value);
}

/** `lr-study-20261123-161500-a3f2`: readable, sortable, unique enough to never collide by accident. */
export function newSweepId(name: string | undefined, now: Date, suffix: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name ?? 'sweep'}-${stamp}-${suffix}`;
}

/** `<sweep>.attempt-2.stdout`: named by sweep too, since a retry sweep continues in the same trial directory. */
export function logFileName(sweepId: string, attempt: number, stream: 'stdout' | 'stderr'): string {
  return `${sweepId}.attempt-${attempt}.${stream}`;
}

/** The sweep memo key holding its latest cache update's version (0 or absent: none yet). */
export const UPDATE_VERSION_MEMO = 'updateVersion';

/**
 * The sweep memo key that tells workers to ask the sweep before a trial starts (`{paused, maxParallel, hold?}`),
 * set only while it is paused or has more trials in flight than its max parallel; absent, a trial starts unasked.
 * `hold: true` (`sweep pause --hold`): running trials stop at their next checkpoint too.
 */
export const SWEEP_GATE_MEMO = 'startGate';

/** The start gate's memo value: an object while it is up, null or absent while it is down. */
export function isGateMemo(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/** Whether the start gate's memo value says to stop running trials at their next checkpoint (`pause --hold`). */
export function gateHoldsAtCheckpoint(value: unknown): boolean {
  return isGateMemo(value) && (value as { hold?: unknown }).hold === true;
}

/** A worker's Temporal identity, `hostB-gpu1#4242`: its queue, and the process that serves it now. */
export function workerIdentity(queue: string, pid: number): string {
  return `${queue}#${pid}`;
}

/** The queue in a worker's identity: how attempts and `sweep status` name their worker, as heartbeats do. */
export function queueOfIdentity(identity: string): string {
  return identity.replace(/#\d+$/, '');
}
