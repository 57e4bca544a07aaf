// Which workers a pool has and what they own, from Temporal's worker heartbeats (ListWorkers): whether a trial
// could run anywhere at all, said at `sweep start` and beside waiting trials, and the `sweep workers` table.
import type { Client } from '@temporalio/client';
import { capacityQueuePrefix, workerClassLabel } from '../temporal/names.js';
import { neverFits, type WorkerCapacity } from '../workers/placement-fit.js';
import { capacityFromQueueName } from '../workers/published-capacity.js';
import type { ResourceRequest } from '../workflows/resource-request.js';

/** Workers heartbeat every 5 s; one silent for this long is gone (the server keeps its last heartbeat a while). */
const HEARTBEAT_STALE_MS = 20_000;

export interface RegisteredWorker {
  readonly capacity: WorkerCapacity;
  readonly hostName: string;
  readonly heartbeatAt: number;
}

function millis(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return time?.seconds ? Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;
}

/**
 * The live workers of a pool with what each owns; undefined where the server does not list workers (an older
 * cluster, or one with worker heartbeats off): then nothing can be said either way.
 */
export async function registeredWorkers(
  client: Client,
  pool: string,
  now = Date.now(),
): Promise<RegisteredWorker[] | undefined> {
  const prefix = capacityQueuePrefix(pool);
  const found: RegisteredWorker[] = [];
  let nextPageToken: Uint8Array | undefined;
  try {
    do {
      const page = await client.workflowService.listWorkers({
        namespace: client.options.namespace,
        pageSize: 200,
        query: `TaskQueue STARTS_WITH "${prefix}"`,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      for (const info of page.workersInfo ?? []) {
        const beat = info.workerHeartbeat;
        const capacity = beat ? capacityFromQueueName(pool, beat.taskQueue ?? '') : undefined;
        const heartbeatAt = millis(beat?.heartbeatTime);
        if (!capacity || now - heartbeatAt > HEARTBEAT_STALE_MS) continue;
        found.push({ capacity, hostName: beat?.hostInfo?.hostName ?? '', heartbeatAt });
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
  } catch {
    return undefined;
  }
  return found.sort((a, b) => a.capacity.name.localeCompare(b.capacity.name));
}

/**
 * Why no live worker of the pool could ever hold a trial, or undefined when one could or none is known (a
 * sweep may start before its workers). `needs 4 GPUs on one host; the largest worker of pool "default" has 2`.
 */
export function whyFitsNowhere(
  request: ResourceRequest | undefined,
  pool: string,
  workers: readonly RegisteredWorker[] | undefined,
): string | undefined {
  if (!workers || workers.length === 0) return undefined;
  const reasons = workers.map((worker) => neverFits(request, worker.capacity));
  if (reasons.some((reason) => reason === undefined)) return undefined;
  const wanted = request?.gpus ?? 0;
  const largest = Math.max(...workers.map((worker) => worker.capacity.gpus.length));
  if (wanted > largest) {
    return `needs ${wanted} GPU${wanted === 1 ? '' : 's'} on one host; the largest worker of pool "${pool}" has ${largest}`;
  }
  const distinct = [...new Set(reasons)];
  return distinct.length === 1
    ? (distinct[0] ?? '')
    : `no worker of pool "${pool}" can hold it: ${distinct.join('; ')}`;
}

/**
 * Why a worker-class sweep would wait forever: live workers run its class, but none from the same file (it was
 * edited since they started). Undefined when one runs it, or none runs that class at all (they may be coming).
 */
export function whyNoClassWorker(
  workerClass: { readonly ref: string; readonly version: string },
  workers: readonly RegisteredWorker[] | undefined,
): string | undefined {
  const running = (workers ?? []).map((worker) => worker.capacity.labels.worker_class);
  const wanted = workerClassLabel(workerClass);
  if (running.includes(wanted)) return undefined;
  const other = [...new Set(running.filter((label) => label?.startsWith(`${workerClass.ref}@`)))];
  if (other.length === 0) return undefined;
  return (
    `needs a worker running ${wanted}, and the live ones run ${other.join(', ')}: the class file changed since ` +
    `they started; restart them to run it`
  );
}
