import { WaitQueue } from './wait-queue.js';

export interface SlotListener {
  slotTaken(): void;
  slotFreed(): void;
}

/** How many recent trial runtimes set the patience of a trial waiting for a slot. */
const RUNTIMES_KEPT = 16;
const MIN_PATIENCE_MS = 1000;
const MAX_PATIENCE_MS = 30_000;
/** Before any trial has ended here, nothing is known of runtimes. */
const FIRST_PATIENCE_MS = 5000;

/**
 * The trial processes a worker runs at once (its GPU's slots). A worker holds one more trial ready behind each
 * running one; that trial waits here and starts the moment a process exits, so the GPU never waits for the
 * scheduler. The wait is bounded by `patienceMs`: a trial stuck behind a long one goes back to the pool, where
 * a GPU that frees first can take it.
 */
export class SlotGate {
  private free: number;
  private readonly queue = new WaitQueue();
  private readonly runtimes: number[] = [];

  /** `listener` hears of every slot taken and given back (the worker decides when to poll from them). */
  constructor(
    readonly slots: number,
    private readonly listener: SlotListener = { slotTaken: () => {}, slotFreed: () => {} },
  ) {
    this.free = slots;
  }

  /** Whether every slot runs a trial. */
  get full(): boolean {
    return this.free === 0;
  }

  /**
   * Resolves with the slot's release once one is free; `undefined` when `signal` fires first (the caller then
   * never holds the slot). Release as soon as the trial's process has exited; a second call does nothing.
   */
  async acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
    if (this.free > 0) this.free--;
    else if (!(await this.queue.enter(signal))) return undefined;
    this.listener.slotTaken();
    const heldSince = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.recordRuntime(Date.now() - heldSince);
      // The slot passes straight to the next waiter, so no newcomer can overtake it.
      if (!this.queue.admitNext()) this.free++;
      this.listener.slotFreed();
    };
  }

  /** How long a ready trial waits for a slot before going back: twice the typical runtime here, within bounds. */
  patienceMs(): number {
    if (this.runtimes.length === 0) return FIRST_PATIENCE_MS;
    const sorted = [...this.runtimes].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    return Math.min(MAX_PATIENCE_MS, Math.max(MIN_PATIENCE_MS, 2 * median));
  }

  private recordRuntime(ms: number): void {
    this.runtimes.push(ms);
    if (this.runtimes.length > RUNTIMES_KEPT) this.runtimes.shift();
  }
}
