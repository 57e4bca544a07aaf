// Whether a trial fits a worker now: from what the worker owns, what its trials hold, and what was last measured.
// Pure, so every rule is a unit test. Says why when it does not fit, in the words `sweep status` shows.
import { formatMib, shapeOf, type ResourceRequest, type TrialShape } from '../workflows/resource-request.js';

export interface OwnedGpu {
  readonly index: number;
  /** What CUDA_VISIBLE_DEVICES names it by: the index, or the `MIG-…` uuid of a MIG device. */
  readonly device: string;
  readonly name: string;
  readonly memoryTotalMib: number | undefined;
}

/** What a worker owns: fixed for its life. */
export interface WorkerCapacity {
  /** The worker's name (`hostB`, `hostB-gpu1`), and the host part of its GPUs' names. */
  readonly name: string;
  readonly gpus: readonly OwnedGpu[];
  /** Trials that ask for no particular hardware, per GPU (`--slots`). */
  readonly slotsPerGpu: number;
  readonly cpuSlots: number;
  readonly cores: number;
  readonly memoryTotalMib: number;
  /** It owns every GPU of its host (or the host has none), so it may reserve the host. */
  readonly ownsHost: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

/** What one running trial holds. */
export interface Allocation {
  readonly shape: TrialShape;
  readonly gpus: readonly number[];
  readonly cpuSlot: boolean;
  /** Others may share its GPUs (gpu_share). */
  readonly shared: boolean;
  /** The GPU memory it was promised on each of its GPUs (0: none asked). */
  readonly gpuMemoryMib: number;
  readonly cpus: number;
  readonly memoryMib: number;
  readonly reserveHost: boolean;
  readonly startedAt: number;
  /** GPU memory its processes use now, by GPU index, as last measured. */
  readonly usedMib: ReadonlyMap<number, number>;
}

/** The last measurement; undefined figures were not reported (`[N/A]`) or not measured yet. */
export interface Measured {
  readonly gpuFreeMib: ReadonlyMap<number, number | undefined>;
  readonly gpuUtilizationPercent: ReadonlyMap<number, number | undefined>;
  readonly memoryAvailableMib: number | undefined;
}

export type Fit =
  | { readonly kind: 'fits'; readonly gpus: readonly number[]; readonly cpuSlot: boolean }
  /** Not now. `ours`: it would fit if this worker's own trials ended (then nothing may overtake it here). */
  | { readonly kind: 'wait'; readonly reason: string; readonly ours: boolean }
  | { readonly kind: 'never'; readonly reason: string };

/** Memory a trial claimed counts against measured free RAM for this long: until its process can have taken it. */
export const MEMORY_CLAIM_SETTLES_MS = 30_000;

/** Trials that ask for nothing in particular still fit on a GPU: its `--slots`, unless others hold it. */
export function anySlotsLeft(onGpu: readonly Pick<Allocation, 'shape'>[], slotsPerGpu: number): number {
  return onGpu.every((allocation) => allocation.shape === 'any') ? slotsPerGpu - onGpu.length : 0;
}

export function gpuName(capacity: WorkerCapacity, index: number): string {
  return capacity.gpus.length === 1 ? capacity.name : `${capacity.name}-gpu${index}`;
}

/** `gpu_model: A100` matches any GPU whose name contains it, ignoring case, spaces and dashes. */
function modelMatches(gpu: OwnedGpu, model: string): boolean {
  const plain = (text: string) => text.toLowerCase().replace(/[\s_-]+/g, '');
  return plain(gpu.name).includes(plain(model));
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A request's trial, as the worker would place it; `request` undefined asks for one slot of anything. */
export function fit(
  request: ResourceRequest | undefined,
  capacity: WorkerCapacity,
  allocations: readonly Allocation[],
  measured: Measured,
  now: number,
): Fit {
  const never = neverFits(request, capacity);
  if (never) return { kind: 'never', reason: never };
  const verdict = fitNow(request, capacity, allocations, measured, now);
  if (verdict.kind !== 'wait' || allocations.length === 0) return verdict;
  // Blocked by this worker's own trials, or by something else (another user's memory, a busy GPU)?
  const alone = fitNow(request, capacity, [], measured, now);
  return { ...verdict, ours: alone.kind === 'fits' };
}

function candidateGpus(request: ResourceRequest | undefined, capacity: WorkerCapacity): readonly OwnedGpu[] {
  const model = request?.labels?.gpu_model;
  return model === undefined ? capacity.gpus : capacity.gpus.filter((gpu) => modelMatches(gpu, model));
}

/** Why this worker could never hold the trial, whatever ends or frees; undefined if it could. */
export function neverFits(request: ResourceRequest | undefined, capacity: WorkerCapacity): string | undefined {
  const name = capacity.name;
  for (const [label, value] of Object.entries(request?.labels ?? {})) {
    if (label === 'gpu_model') continue;
    const has = capacity.labels[label];
    if (has !== value)
      return `needs ${label}=${value}; ${name} has ${has === undefined ? `no ${label}` : `${label}=${has}`}`;
  }
  const shape = shapeOf(request);
  const gpus = candidateGpus(request, capacity);
  const model = request?.labels?.gpu_model;
  if (model !== undefined && gpus.length === 0 && shape !== 'cpu') {
    const names = [...new Set(capacity.gpus.map((gpu) => gpu.name))];
    return `needs gpu_model=${model}; ${name} has ${names.length ? names.join(', ') : 'no GPU'}`;
  }
  if (shape === 'cpu' && capacity.cpuSlots === 0) {
    return `needs a CPU slot; ${name} has none (start it with --cpu-slots N)`;
  }
  if (shape === 'any' && capacity.gpus.length === 0 && capacity.cpuSlots === 0) return `${name} has no slot`;
  const wanted = request?.gpus ?? 0;
  if (wanted > gpus.length) return `needs ${plural(wanted, 'GPU')} on one host; ${name} has ${gpus.length}`;
  if (request?.reserveHost && !capacity.ownsHost) {
    return `needs the whole host; ${name} owns only part of it (run one worker for the host: sweep worker --all-gpus)`;
  }
  if (request?.cpus !== undefined && request.cpus > capacity.cores) {
    return `needs ${plural(request.cpus, 'CPU')}; ${name} has ${capacity.cores}`;
  }
  if (request?.memoryMib !== undefined && request.memoryMib > capacity.memoryTotalMib) {
    return `needs ${formatMib(request.memoryMib)} RAM; ${name} has ${formatMib(capacity.memoryTotalMib)}`;
  }
  const memory = request?.gpuMemoryMib;
  if (memory !== undefined && gpus.length > 0 && gpus.every((gpu) => (gpu.memoryTotalMib ?? Infinity) < memory)) {
    const largest = Math.max(...gpus.map((gpu) => gpu.memoryTotalMib ?? 0));
    return `needs ${formatMib(memory)} GPU memory; the largest GPU of ${name} has ${formatMib(largest)}`;
  }
  return undefined;
}

function wait(reason: string): Fit {
  return { kind: 'wait', reason, ours: false };
}

function fitNow(
  request: ResourceRequest | undefined,
  capacity: WorkerCapacity,
  allocations: readonly Allocation[],
  measured: Measured,
  now: number,
): Fit {
  const name = capacity.name;
  if (allocations.some((allocation) => allocation.reserveHost)) return wait(`${name} is reserved by another trial`);
  if (request?.reserveHost && allocations.length > 0) {
    return wait(`needs the whole host; ${plural(allocations.length, 'other trial')} run on ${name}`);
  }
  const sum = (pick: (allocation: Allocation) => number) => allocations.reduce((total, a) => total + pick(a), 0);
  if (request?.cpus !== undefined) {
    const free = capacity.cores - sum((a) => a.cpus);
    if (request.cpus > free)
      return wait(`needs ${plural(request.cpus, 'CPU')}; ${free} of ${name}'s ${capacity.cores} are free`);
  }
  if (request?.memoryMib !== undefined) {
    const unclaimed = capacity.memoryTotalMib - sum((a) => a.memoryMib);
    // What the host has free now, less what trials that just started were promised but may not have taken yet.
    const settling = sum((a) => (now - a.startedAt < MEMORY_CLAIM_SETTLES_MS ? a.memoryMib : 0));
    const free = Math.min(unclaimed, (measured.memoryAvailableMib ?? unclaimed) - settling);
    if (request.memoryMib > free) {
      return wait(`needs ${formatMib(request.memoryMib)} RAM; ${name} has ${formatMib(Math.max(0, free))} free`);
    }
  }
  const shape = shapeOf(request);
  if (shape === 'cpu' || (shape === 'any' && capacity.gpus.length === 0)) {
    const used = allocations.filter((allocation) => allocation.cpuSlot).length;
    if (used >= capacity.cpuSlots) return wait(`every CPU slot of ${name} is busy`);
    return { kind: 'fits', gpus: [], cpuSlot: true };
  }
  return placeOnGpus(request, capacity, allocations, measured);
}

/** Free GPU memory now, less what this worker's trials were promised there and have not taken yet. */
function effectiveFreeMib(gpu: OwnedGpu, allocations: readonly Allocation[], measured: Measured): number {
  const on = allocations.filter((allocation) => allocation.gpus.includes(gpu.index));
  const promised = on.reduce((total, a) => total + Math.max(0, a.gpuMemoryMib - (a.usedMib.get(gpu.index) ?? 0)), 0);
  const free = measured.gpuFreeMib.get(gpu.index);
  if (free !== undefined) return free - promised;
  return (gpu.memoryTotalMib ?? Infinity) - on.reduce((total, a) => total + a.gpuMemoryMib, 0);
}

function placeOnGpus(
  request: ResourceRequest | undefined,
  capacity: WorkerCapacity,
  allocations: readonly Allocation[],
  measured: Measured,
): Fit {
  const anySlot = request?.gpus === undefined && !request?.reserveHost;
  const gpus = candidateGpus(request, capacity);
  // A whole-host trial without a GPU count sees every GPU of the host.
  const wanted = request?.reserveHost && request.gpus === undefined ? gpus.length : (request?.gpus ?? 1);
  const memory = request?.gpuMemoryMib;
  const utilization = request?.gpuUtilization;
  const chosen: number[] = [];
  let busy = 0;
  let mostFree: { mib: number; gpu: OwnedGpu } | undefined;
  let leastBusy: { percent: number; gpu: OwnedGpu } | undefined;
  for (const gpu of gpus) {
    const on = allocations.filter((allocation) => allocation.gpus.includes(gpu.index));
    const free = anySlot
      ? anySlotsLeft(on, capacity.slotsPerGpu) > 0
      : request?.gpuShare
        ? on.every((a) => a.shared)
        : on.length === 0;
    if (!free) {
      busy++;
      continue;
    }
    if (memory !== undefined) {
      const mib = effectiveFreeMib(gpu, allocations, measured);
      if (mib < memory) {
        if (!mostFree || mib > mostFree.mib) mostFree = { mib, gpu };
        continue;
      }
    }
    if (utilization !== undefined) {
      const percent = measured.gpuUtilizationPercent.get(gpu.index);
      if (percent !== undefined && percent > utilization * 100) {
        if (!leastBusy || percent < leastBusy.percent) leastBusy = { percent, gpu };
        continue;
      }
    }
    chosen.push(gpu.index);
    if (chosen.length === wanted) return { kind: 'fits', gpus: chosen, cpuSlot: false };
  }
  if (memory !== undefined && mostFree) {
    const most = `${formatMib(Math.max(0, mostFree.mib))} on ${gpuName(capacity, mostFree.gpu.index)}`;
    return wait(`needs ${formatMib(memory)} GPU memory; the most free is ${most}`);
  }
  if (utilization !== undefined && leastBusy) {
    return wait(
      `needs a GPU at most ${Math.round(utilization * 100)}% busy; the least busy is ${leastBusy.percent}% on ${gpuName(capacity, leastBusy.gpu.index)}`,
    );
  }
  if (wanted > 1)
    return wait(`needs ${wanted} GPUs together; ${gpus.length - busy} of ${capacity.name}'s ${gpus.length} are free`);
  return wait(`every GPU of ${capacity.name} is busy`);
}
