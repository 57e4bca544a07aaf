// What a worker owns, published where any CLI can read it: the task-queue name of one more Temporal worker, which
// Temporal's worker heartbeats carry to ListWorkers (the heartbeat's identity is the process's, not this worker's,
// so the name is the one field of our own it carries). That worker never polls (its slot supplier grants no
// permit); it exists to be heartbeated, so the registry needs nothing of ours on the server and forgets a dead
// worker by itself (its heartbeats stop).
import { z } from 'zod';
import { capacityQueuePrefix } from '../temporal/names.js';
import type { WorkerCapacity } from './placement-fit.js';

const publishedSchema = z.object({
  name: z.string(),
  /** GPUs grouped by model and memory: [name, total MiB or null, count]. */
  gpus: z.array(z.tuple([z.string(), z.number().nullable(), z.int().min(1)])),
  slotsPerGpu: z.int().min(1),
  cpuSlots: z.int().min(0),
  cores: z.number(),
  memoryMib: z.number(),
  ownsHost: z.boolean(),
  labels: z.record(z.string(), z.string()),
});

/** `sweep-pool-default/capacity/{"name":"hostb","gpus":[["NVIDIA A100-SXM4-80GB",81920,2]],…}`. */
export function capacityQueueName(pool: string, capacity: WorkerCapacity): string {
  const groups = new Map<string, [string, number | null, number]>();
  for (const gpu of capacity.gpus) {
    const key = `${gpu.name}\n${gpu.memoryTotalMib}`;
    const group = groups.get(key);
    if (group) group[2]++;
    else groups.set(key, [gpu.name, gpu.memoryTotalMib ?? null, 1]);
  }
  const published: z.infer<typeof publishedSchema> = {
    name: capacity.name,
    gpus: [...groups.values()],
    slotsPerGpu: capacity.slotsPerGpu,
    cpuSlots: capacity.cpuSlots,
    cores: capacity.cores,
    memoryMib: Math.round(capacity.memoryTotalMib),
    ownsHost: capacity.ownsHost,
    labels: { ...capacity.labels },
  };
  return `${capacityQueuePrefix(pool)}${JSON.stringify(published)}`;
}

/** The capacity a worker of the pool published, or undefined for a queue that is not such a name. */
export function capacityFromQueueName(pool: string, queue: string): WorkerCapacity | undefined {
  const prefix = capacityQueuePrefix(pool);
  if (!queue.startsWith(prefix)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(queue.slice(prefix.length));
  } catch {
    return undefined;
  }
  const parsed = publishedSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { gpus, memoryMib, ...rest } = parsed.data;
  let index = 0;
  return {
    gpus: gpus.flatMap(([name, mib, count]) =>
      Array.from({ length: count }, () => {
        const gpu = { index, device: String(index), name, memoryTotalMib: mib ?? undefined };
        index++;
        return gpu;
      }),
    ),
    memoryTotalMib: memoryMib,
    ...rest,
  };
}
