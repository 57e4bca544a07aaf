import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ConfigError } from '../errors.js';
import { poolQueue } from '../temporal/names.js';

/**
 * How long a pool may go without a poll, with trials waiting and none running, before the CLI says no worker
 * serves it. A live worker with a free slot always has a poll open, and a waiting trial is handed to it at
 * once, so silence with work waiting means no worker (or only busy ones): usually a typo'd pool.
 */
export const DEFAULT_NO_WORKER_AFTER_S = 60;

/** `SWEEP_NO_WORKER_AFTER` (seconds) overrides the default, e.g. for tests. */
export function noWorkerAfterMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.SWEEP_NO_WORKER_AFTER;
  if (value === undefined || value === '') return DEFAULT_NO_WORKER_AFTER_S * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new ConfigError([`SWEEP_NO_WORKER_AFTER=${value}: expected a number of seconds > 0`]);
  }
  return seconds * 1000;
}

/**
 * Milliseconds since a worker last polled the pool's activity queue, by DescribeTaskQueue. A poller's
 * `lastAccessTime` is when its current poll began (an idle long poll lasts up to a minute) and the server
 * forgets it 5 minutes after its last poll, or when it restarts: with no poller listed, the silence counts
 * from `since` (e.g. the sweep's start), the longest it can be known to have lasted.
 */
export async function poolSilenceMs(client: Client, pool: string, since: number, now = Date.now()): Promise<number> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: poolQueue(pool), kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const polls = (response.pollers ?? []).map((poller) => {
    const time = poller.lastAccessTime;
    return time?.seconds ? Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;
  });
  const latest = Math.max(since, ...polls);
  return Math.max(0, now - latest);
}

/** `no worker has polled pool "gpu-a100" for 75 s`. */
export function noWorkerLine(pool: string, silentMs: number): string {
  return `no worker has polled pool "${pool}" for ${Math.floor(silentMs / 1000)} s`;
}

/**
 * The no-worker line for a sweep, or undefined. Only when trials are in flight and none of them runs (a worker
 * busy with running trials does not poll, which is not a problem), and the pool has been silent for at least
 * `thresholdMs` since the sweep started (0: unknown, then the threshold itself is all that is known).
 */
export async function noWorkerProblem(
  client: Client,
  pool: string,
  sweep: { readonly startedAt: number; readonly inFlight: number; readonly running: () => Promise<number> },
  thresholdMs: number,
  now = Date.now(),
): Promise<string | undefined> {
  if (sweep.inFlight === 0) return undefined;
  const since = sweep.startedAt > 0 ? sweep.startedAt : now - thresholdMs;
  const silent = await poolSilenceMs(client, pool, since, now);
  if (silent < thresholdMs) return undefined;
  return (await sweep.running()) > 0 ? undefined : noWorkerLine(pool, silent);
}
