import type { NativeConnection } from '@temporalio/worker';

/**
 * Knows when this worker last reached the Temporal server, by a cheap RPC every `pingEveryMs`. A trial fences
 * itself (stops) when the server has been out of reach for long enough that the server may already be timing
 * the trial out and giving it to another worker.
 */
export class ServerWatch {
  private lastContact = Date.now();
  private readonly waiters = new Set<{ readonly afterMs: number; readonly wake: () => void }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: NativeConnection,
    private readonly pingEveryMs: number,
  ) {}

  start(): void {
    const tick = async () => {
      const ok = await this.connection
        .withDeadline(Date.now() + this.pingEveryMs, () => this.connection.workflowService.getSystemInfo({}))
        .then(
          () => true,
          () => false,
        );
      if (ok) this.lastContact = Date.now();
      for (const waiter of this.waiters) {
        if (Date.now() - this.lastContact <= waiter.afterMs) continue;
        this.waiters.delete(waiter);
        waiter.wake();
      }
      this.timer = setTimeout(() => void tick(), this.pingEveryMs);
    };
    this.timer = setTimeout(() => void tick(), this.pingEveryMs);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Resolves once the server has been unreachable for `afterMs`; never rejects. `cancel` drops the wait. */
  whenLost(afterMs: number): { readonly lost: Promise<void>; cancel(): void } {
    let waiter: { afterMs: number; wake: () => void } | undefined;
    const lost = new Promise<void>((resolve) => {
      waiter = { afterMs, wake: resolve };
      this.waiters.add(waiter);
    });
    return { lost, cancel: () => waiter && this.waiters.delete(waiter) };
  }
}
