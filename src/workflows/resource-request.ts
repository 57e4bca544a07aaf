// What one trial asks of the hardware, in the worker's units (MiB, as nvidia-smi reports), and the shape that
// routes it: Temporal matches tasks to pollers by queue only, so the number of GPUs a trial needs picks its
// queue and only workers that could ever hold it poll there. Pure: workflows import it.
import type { Resources } from '../sweep-spec/spec-types.js';

export interface ResourceRequest {
  /** GPUs on one host; absent: one slot of whatever the worker has (a GPU slot, or a CPU slot). 0: CPU only. */
  readonly gpus?: number;
  /** Free memory each of its GPUs must have. */
  readonly gpuMemoryMib?: number;
  /** Other trials that share may run on its GPUs while memory allows. */
  readonly gpuShare?: true;
  /** The most a GPU may already be busy, 0 < x <= 1. */
  readonly gpuUtilization?: number;
  readonly cpus?: number;
  readonly memoryMib?: number;
  /** Nothing else of Sweep's on the host while it runs. */
  readonly reserveHost?: true;
  /** Labels its worker must have; `gpu_model` matches part of the GPU's name (`A100`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The routing class of a request: which of the pool's queues it waits on. */
export type TrialShape = 'any' | 'cpu' | 'host' | `gpus-${number}`;

const MIB_PER_MB = 1_000_000 / 1_048_576;

/** The spec's resources (decimal MB) as a request; undefined when the spec asks for nothing in particular. */
export function resourceRequest(resources: Resources): ResourceRequest | undefined {
  const mib = (mb: number | undefined) => (mb === undefined ? undefined : Math.round(mb * MIB_PER_MB));
  // Asking for GPU memory, sharing or utilisation is asking for a GPU.
  const asksGpu =
    resources.gpuMemoryMb !== undefined || resources.gpuShare === true || resources.gpuUtilization !== undefined;
  const gpus = resources.gpus ?? (asksGpu && !resources.reserveHost ? 1 : undefined);
  const request: ResourceRequest = {
    ...(gpus === undefined ? {} : { gpus }),
    ...(resources.gpuMemoryMb === undefined ? {} : { gpuMemoryMib: mib(resources.gpuMemoryMb) }),
    ...(resources.gpuShare ? { gpuShare: true } : {}),
    ...(resources.gpuUtilization === undefined ? {} : { gpuUtilization: resources.gpuUtilization }),
    ...(resources.cpus === undefined ? {} : { cpus: resources.cpus }),
    ...(resources.memoryMb === undefined ? {} : { memoryMib: mib(resources.memoryMb) }),
    ...(resources.reserveHost ? { reserveHost: true } : {}),
    ...(resources.labels && Object.keys(resources.labels).length > 0 ? { labels: resources.labels } : {}),
  };
  return Object.keys(request).length === 0 ? undefined : request;
}

export function shapeOf(request: ResourceRequest | undefined): TrialShape {
  if (request?.reserveHost) return 'host';
  if (request?.gpus === undefined) return 'any';
  return request.gpus === 0 ? 'cpu' : `gpus-${request.gpus}`;
}

/** `40 GiB`, `1.5 GiB`, `512 MiB`. */
export function formatMib(mib: number): string {
  if (mib < 1024) return `${Math.round(mib)} MiB`;
  const gib = mib / 1024;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
}

/** `2 GPUs on one host, 40 GiB free on each GPU, 4 CPUs, 16 GiB RAM`: what a trial asks for, as people read it. */
export function describeRequest(request: ResourceRequest | undefined): string {
  if (!request) return 'one slot of whatever the worker has (a GPU, or a CPU slot on a CPU worker)';
  const { gpus, gpuMemoryMib, gpuUtilization, cpus, memoryMib, labels } = request;
  const parts = [
    request.reserveHost ? 'the whole host' : '',
    gpus === undefined ? '' : gpus === 0 ? 'CPU only' : `${gpus} GPU${gpus === 1 ? '' : 's'} on one host`,
    gpuMemoryMib === undefined ? '' : `${formatMib(gpuMemoryMib)} free on each GPU`,
    request.gpuShare ? 'GPUs shared while memory allows' : '',
    gpuUtilization === undefined ? '' : `GPUs at most ${Math.round(gpuUtilization * 1000) / 10}% busy`,
    cpus === undefined ? '' : `${cpus} CPU${cpus === 1 ? '' : 's'}`,
    memoryMib === undefined ? '' : `${formatMib(memoryMib)} RAM`,
    labels
      ? `labels ${Object.entries(labels)
          .map(([name, value]) => `${name}=${value}`)
          .join(' ')}`
      : '',
  ];
  return parts.filter(Boolean).join(', ');
}
