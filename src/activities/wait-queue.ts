/**
 * A first-come, first-served line of waiters who may give up. `enter` resolves true when `admitNext` reaches the
 * waiter, false when its signal fires first (it then leaves the line). Admission is synchronous, so a caller can
 * count what it admits before anyone else runs.
 */
export class WaitQueue {
  private readonly waiting: Array<() => void> = [];

  enter(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const admit = () => {
        signal.removeEventListener('abort', leave);
        resolve(true);
      };
      const leave = () => {
        this.waiting.splice(this.waiting.indexOf(admit), 1);
        resolve(false);
      };
      this.waiting.push(admit);
      signal.addEventListener('abort', leave, { once: true });
    });
  }

  /** Admits the oldest waiter; false when nobody waits. */
  admitNext(): boolean {
    const next = this.waiting.shift();
    next?.();
    return next !== undefined;
  }
}
