import type { NativeConnection } from '@temporalio/worker';

/**
 * How long before the server's heartbeat deadline a trial is fenced. The server's clock for an attempt restarts
 * at each heartbeat it receives; the worker heartbeats every second and the SDK flushes at least every second,
 * so when a ping sent at T succeeded, the server had a heartbeat from no earlier than T − 2 s. One more second
 * is for the kill itself (SIGKILL to the group, and its exit seen).
 */
export const FENCE_MARGIN_MS = 3000;

/** A single lost ping is noise; this many in a row is an outage worth a line. */
const OUTAGE_AFTER_FAILED_PINGS = 3;

/**
 * A trial is fenced when the server has been out of reach this long: at the server's heartbeat deadline less
 * the margin, so any outage shorter than that disturbs nothing, and a real partition still stops the trial
 * before the server can give it to another worker. Never less than half the timeout (short test timeouts).
 */
export function fenceAfterMs(heartbeatTimeoutSeconds: number): number {
  const timeoutMs = heartbeatTimeoutSeconds * 1000;
  return Math.max(timeoutMs / 2, timeoutMs - FENCE_MARGIN_MS);
}

/**
 * Knows when this worker last reached the Temporal server, by a cheap RPC every `pingEveryMs`. A trial fences
 * itself (stops) when the server has been out of reach for long enough that the server may already be timing
 * the trial out and giving it to another worker.
 */
export class ServerWatch {
  private lastContact = Date.now();
  private readonly waiters = new Set<{ readonly afterMs: number; readonly wake: () => void }>();
  private pingTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;

  private failedPings = 0;

  constructor(
    private readonly connection: NativeConnection,
    private readonly pingEveryMs: number,
    /** Told when pings keep failing and when one gets through again (one line each, not one per ping). */
    private readonly outage: { down(reason: string): void; up(): void } = { down: () => {}, up: () => {} },
    /** How often waiters are checked: apart from the pings, which take up to their deadline when they fail. */
    private readonly checkEveryMs = 250,
  ) {}

  start(): void {
    const ping = async () => {
      // The time the ping was sent, not answered: the server was reached no earlier than that.
      const sentAt = Date.now();
      const ok = await this.connection
        .withDeadline(sentAt + this.pingEveryMs, () => this.connection.workflowService.getSystemInfo({}))
        .then(
          () => true,
          () => false,
        );
      if (ok) {
        this.lastContact = sentAt;
        this.failedPings = 0;
        this.outage.up();
      } else if (++this.failedPings === OUTAGE_AFTER_FAILED_PINGS) {
        this.outage.down(`no answer to ${OUTAGE_AFTER_FAILED_PINGS} pings`);
      }
      this.pingTimer = setTimeout(() => void ping(), Math.max(0, sentAt + this.pingEveryMs - Date.now()));
    };
    this.pingTimer = setTimeout(() => void ping(), this.pingEveryMs);
    this.checkTimer = setInterval(() => this.wakeWaiters(), this.checkEveryMs);
  }

  stop(): void {
    clearTimeout(this.pingTimer);
    clearInterval(this.checkTimer);
  }

  /** Milliseconds since a ping last reached the server. */
  get outOfReachMs(): number {
    return Date.now() - this.lastContact;
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

  private wakeWaiters(): void {
    for (const waiter of this.waiters) {
      if (this.outOfReachMs <= waiter.afterMs) continue;
      this.waiters.delete(waiter);
      waiter.wake();
    }
  }
}
