import { shapeOf, type ResourceRequest, type TrialShape } from '../workflows/resource-request.js';
import {
  anySlotsLeft,
  fit,
  gpuName,
  type Allocation,
  type Fit,
  type Measured,
  type WorkerCapacity,
} from './placement-fit.js';

/** Where the last measurement comes from (the GPU monitor), and how to ask for a fresh one. */
export interface MeasurementSource {
  current(): Measured;
  /** GPU memory a trial's process group uses now, by GPU index. */
  usedByGroup(pgid: number): ReadonlyMap<number, number>;
  /** Measure again soon: something this worker held was just given back. */
  refresh(): void;
}

/** What a trial holds while it runs. */
export interface Placement {
  readonly gpus: readonly number[];
  /** CUDA_VISIBLE_DEVICES: `2,3` in PCI bus order, or '' for a CPU slot. */
  readonly visibleDevices: string;
  /** How status and the Web UI name where it runs: the worker, or its GPUs (`hostB-gpu2+3`). */
  readonly label: string;
  /** The trial's process group, whose GPU memory counts against what it was promised. */
  attach(pgid: number): void;
  /** Gives everything back; a second call does nothing. */
  release(): void;
}

/** The trial cannot be placed on this worker; `never`: not even once its trials end. */
export class DoesNotFit extends Error {
  constructor(
    readonly reason: string,
    readonly never: boolean,
  ) {
    super(reason);
  }
}

interface Waiter {
  readonly request: ResourceRequest | undefined;
  verdict: Fit;
  readonly admit: (placement: Placement) => void;
  readonly onWaiting: WaitListener;
}

/** Hears why a trial waits; `ours`: for this worker's own trials to end (not for memory others use). */
export type WaitListener = (reason: string, ours: boolean) => void;

interface Held extends Omit<Allocation, 'usedMib'> {
  pgid?: number;
}

const RUNTIMES_KEPT = 16;
const MIN_PATIENCE_MS = 1000;
const MAX_PATIENCE_MS = 30_000;
/** Before any trial has ended here, nothing is known of runtimes. */
const FIRST_PATIENCE_MS = 5000;

/**
 * The worker's hardware and who holds what of it. A trial starts only where everything it asks for is free at
 * that moment (by what this worker's trials hold and by the last measurement, which sees other users' jobs), and
 * takes all of it at once or waits holding nothing: two 2-GPU trials on three GPUs never hold one each. A trial
 * that waits for this worker's own trials to end is served first: nothing placed later may overtake it, so a
 * large trial is not starved by small ones.
 */
export class Placer {
  private readonly held = new Map<number, Held>();
  private readonly waiters: Waiter[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly runtimes: number[] = [];
  private nextId = 0;

  constructor(
    readonly capacity: WorkerCapacity,
    private readonly measurements: MeasurementSource,
  ) {}

  /** `listener` hears of every change in what is held or waits (the worker decides when to poll from it). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /**
   * Resolves with the placement once the trial fits; `undefined` when `signal` fires first (it then holds
   * nothing). Throws `DoesNotFit` at once when this worker could never hold it. `onWaiting` hears why it waits,
   * each time that changes.
   */
  acquire(
    request: ResourceRequest | undefined,
    signal: AbortSignal,
    onWaiting: WaitListener = () => {},
  ): Promise<Placement | undefined> {
    const verdict = this.evaluate(request);
    if (verdict.kind === 'never') return Promise.reject(new DoesNotFit(verdict.reason, true));
    if (verdict.kind === 'fits' && !this.blocked()) return Promise.resolve(this.take(request, verdict));
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(undefined);
      const waiter: Waiter = {
        request,
        verdict,
        admit: (placement) => {
          signal.removeEventListener('abort', leave);
          resolve(placement);
        },
        onWaiting,
      };
      const leave = () => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve(undefined);
        this.recheck();
      };
      this.waiters.push(waiter);
      signal.addEventListener('abort', leave, { once: true });
      onWaiting(this.reasonOf(verdict), this.oursOf(verdict));
      this.notify();
    });
  }

  /** Why a trial waiting now would wait: its own reason, or the trials ahead of it. */
  private reasonOf(verdict: Fit): string {
    return verdict.kind === 'fits' ? `waiting behind a larger trial on ${this.capacity.name}` : verdict.reason;
  }

  private oursOf(verdict: Fit): boolean {
    return verdict.kind !== 'wait' || verdict.ours;
  }

  /** Whether a waiter is held up only by this worker's own trials: then it goes first. */
  private blocked(): boolean {
    return this.waiters.some((waiter) => waiter.verdict.kind === 'wait' && waiter.verdict.ours);
  }

  /** Whether the last verdict of a waiter needs a measurement (GPU memory, utilisation, RAM) to change. */
  private measuredWaiter(): boolean {
    return this.waiters.some(
      ({ request }) =>
        request?.gpuMemoryMib !== undefined ||
        request?.gpuUtilization !== undefined ||
        request?.memoryMib !== undefined,
    );
  }

  /** A new measurement came: waiters may fit now. */
  measurementsChanged(): void {
    if (this.waiters.length > 0) this.recheck();
  }

  /** How many more trials of a shape could start here now, counting only what this worker's trials hold. */
  freeFor(shape: TrialShape): number {
    const held = [...this.held.values()];
    if (this.blocked() || held.some((allocation) => allocation.reserveHost)) return 0;
    const { gpus, cpuSlots, slotsPerGpu, ownsHost } = this.capacity;
    const cpuFree = cpuSlots - held.filter((allocation) => allocation.cpuSlot).length;
    const on = (index: number) => held.filter((allocation) => allocation.gpus.includes(index));
    if (shape === 'host') return ownsHost && held.length === 0 ? 1 : 0;
    if (shape === 'cpu') return cpuFree;
    if (shape === 'any') {
      if (gpus.length === 0) return cpuFree;
      return gpus.reduce((total, gpu) => {
        const there = on(gpu.index);
        return total + anySlotsLeft(there, slotsPerGpu);
      }, 0);
    }
    const wanted = Number(shape.slice('gpus-'.length));
    const open = gpus.filter((gpu) => on(gpu.index).every((allocation) => allocation.shared)).length;
    return Math.floor(open / wanted);
  }

  /** Trials of a shape running here now. */
  usedBy(shape: TrialShape): number {
    return [...this.held.values()].filter((allocation) => allocation.shape === shape).length;
  }

  /** How long a trial held ready waits for this worker's trials: twice the typical runtime here, within bounds. */
  patienceMs(): number {
    if (this.runtimes.length === 0) return FIRST_PATIENCE_MS;
    const sorted = [...this.runtimes].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    return Math.min(MAX_PATIENCE_MS, Math.max(MIN_PATIENCE_MS, 2 * median));
  }

  private evaluate(request: ResourceRequest | undefined): Fit {
    const allocations: Allocation[] = [...this.held.values()].map((allocation) => ({
      ...allocation,
      usedMib: allocation.pgid === undefined ? new Map() : this.measurements.usedByGroup(allocation.pgid),
    }));
    return fit(request, this.capacity, allocations, this.measurements.current(), Date.now());
  }

  private take(request: ResourceRequest | undefined, verdict: Extract<Fit, { kind: 'fits' }>): Placement {
    const id = this.nextId++;
    const startedAt = Date.now();
    const allocation: Held = {
      shape: shapeOf(request),
      gpus: verdict.gpus,
      cpuSlot: verdict.cpuSlot,
      shared: request?.gpuShare === true,
      gpuMemoryMib: request?.gpuMemoryMib ?? 0,
      cpus: request?.cpus ?? 0,
      memoryMib: request?.memoryMib ?? 0,
      reserveHost: request?.reserveHost === true,
      startedAt,
    };
    this.held.set(id, allocation);
    this.notify();
    const devices = this.capacity.gpus.filter((gpu) => verdict.gpus.includes(gpu.index));
    return {
      gpus: verdict.gpus,
      visibleDevices: devices.map((gpu) => gpu.device).join(','),
      label:
        verdict.gpus.length === 0 || this.capacity.gpus.length === 1
          ? this.capacity.name
          : verdict.gpus.length === 1
            ? gpuName(this.capacity, verdict.gpus[0] ?? 0)
            : `${this.capacity.name}-gpu${verdict.gpus.join('+')}`,
      attach: (pgid) => {
        allocation.pgid = pgid;
      },
      release: () => {
        if (!this.held.delete(id)) return;
        this.recordRuntime(Date.now() - startedAt);
        // What it used may still show in the last measurement: measure again for trials that wait on figures.
        if (this.measuredWaiter()) this.measurements.refresh();
        this.recheck();
      },
    };
  }

  /** Admits waiters in order; none overtakes one that waits for this worker's own trials. */
  private recheck(): void {
    let barrier = false;
    for (const waiter of [...this.waiters]) {
      const verdict = this.evaluate(waiter.request);
      if (verdict.kind === 'fits' && !barrier) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.admit(this.take(waiter.request, verdict));
        continue;
      }
      const before = this.reasonOf(waiter.verdict);
      waiter.verdict = verdict;
      if (this.reasonOf(verdict) !== before) waiter.onWaiting(this.reasonOf(verdict), this.oursOf(verdict));
      if (verdict.kind === 'wait' && verdict.ours) barrier = true;
    }
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private recordRuntime(ms: number): void {
    this.runtimes.push(ms);
    if (this.runtimes.length > RUNTIMES_KEPT) this.runtimes.shift();
  }
}
