import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';
import { WaitQueue } from '../activities/wait-queue.js';

/** What the worker has room for, of the one shape of trial a queue carries. */
export interface ShapeRoom {
  /** Trials of this shape that could start here now. */
  free(): number;
  /** Trials of this shape running here now. */
  used(): number;
}

/**
 * When the worker may poll one of its queues for another trial. A permit lasts from the poll to the trial's end,
 * so it polls only for trials it has room for: the ones running plus the ones that could start now. With
 * prefetch, once nothing more could start, it also holds one trial ready behind each running one, to start the
 * moment the first exits. It asks for those only then, so a trial never waits here while this worker, or another
 * that is still asking for work, has room. A ready trial that waited too long and went back to the pool
 * withholds one permit until a trial here ends, so the same trial is not fetched again and again while every
 * slot is busy with long trials.
 */
export class TaskPermits implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom';
  private issued = 0;
  private withheld = 0;
  private readonly queue = new WaitQueue();

  constructor(
    private readonly room: ShapeRoom,
    private readonly prefetch: boolean,
  ) {}

  private get limit(): number {
    const used = this.room.used();
    const free = this.room.free();
    if (free > 0) return used + free;
    return this.prefetch ? 2 * used - this.withheld : used;
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
    this.withheld = Math.min(this.room.used(), this.withheld + 1);
  }

  /** A trial of this queue ended: the hold of one hand-back lifts. */
  trialEnded(): void {
    if (this.withheld > 0) this.withheld--;
    this.wake();
  }

  /** What the worker holds changed: it may have room to ask for more, or to hold trials ready. */
  wake(): void {
    while (this.issued < this.limit && this.queue.admitNext()) this.issued++;
  }
}
