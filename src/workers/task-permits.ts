import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';
import { WaitQueue } from '../activities/wait-queue.js';

/**
 * When the worker may poll for another trial. With prefetch it holds up to two per slot: the running one and the
 * next, ready to start the moment the first exits. It asks for the next ones only once every slot is taken, so a
 * trial never waits here while this worker, or another that is still asking for work, has a slot free. A ready
 * trial that waited too long and went back to the pool withholds one permit until a trial here ends, so the same
 * trial is not fetched again and again while every slot is busy with long trials.
 */
export class TaskPermits implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom';
  private issued = 0;
  private withheld = 0;
  private readonly queue = new WaitQueue();

  constructor(
    private readonly slots: number,
    private readonly prefetch: boolean,
    /** Whether every slot of the worker runs a trial now. */
    private readonly slotsFull: () => boolean,
  ) {}

  private get limit(): number {
    return this.prefetch && this.slotsFull() ? 2 * this.slots - this.withheld : this.slots;
  }

  async reserveSlot(_context: unknown, abortSignal: AbortSignal): Promise<SlotPermit> {
    if (this.issued < this.limit) this.issued++;
    // Counted by `wake` as it admits; the SDK expects its own abort reason back, whatever it is.
    else if (!(await this.queue.enter(abortSignal))) throw abortSignal.reason;
    return {};
  }

  tryReserveSlot(): SlotPermit | null {
    if (this.issued >= this.limit) return null;
    this.issued++;
    return {};
  }

  markSlotUsed(): void {}

  releaseSlot(): void {
    this.issued--;
    this.wake();
  }

  /** A ready trial went back to the pool: poll for one trial fewer until a trial here ends. */
  handedBack(): void {
    this.withheld = Math.min(this.slots, this.withheld + 1);
  }

  /** A slot was taken: once all are, the worker may ask for the trials to hold ready. */
  slotTaken(): void {
    this.wake();
  }

  /** A trial here ended: the hold of one hand-back lifts. */
  slotFreed(): void {
    if (this.withheld > 0) this.withheld--;
    this.wake();
  }

  private wake(): void {
    while (this.issued < this.limit && this.queue.admitNext()) this.issued++;
  }
}
