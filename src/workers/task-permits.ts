import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';

/**
 * When the worker may poll for another trial. With prefetch it holds up to two per slot: the running one and the
 * next, ready to start the moment the first exits. A ready trial that waited too long and went back to the pool
 * withholds one permit until a trial here ends, so the same trial is not fetched again and again while every
 * slot is busy with long trials.
 */
export class TaskPermits implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom';
  private issued = 0;
  private withheld = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly slots: number,
    private readonly prefetch: boolean,
  ) {}

  private get limit(): number {
    return this.prefetch ? 2 * this.slots - this.withheld : this.slots;
  }

  reserveSlot(_context: unknown, abortSignal: AbortSignal): Promise<SlotPermit> {
    if (this.issued < this.limit) {
      this.issued++;
      return Promise.resolve({});
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        abortSignal.removeEventListener('abort', abandon);
        this.issued++;
        resolve({});
      };
      const abandon = () => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        // The SDK expects its own abort reason back, whatever it is.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(abortSignal.reason);
      };
      this.waiting.push(grant);
      abortSignal.addEventListener('abort', abandon, { once: true });
    });
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

  trialEnded(): void {
    if (this.withheld > 0) this.withheld--;
    this.wake();
  }

  private wake(): void {
    while (this.issued < this.limit && this.waiting.length > 0) this.waiting.shift()?.();
  }
}
