import type { CacheUpdate } from '../workflows/types.js';

/** Where a worker reads a sweep's cache updates from. */
export interface UpdateSource {
  /** The latest version, from the sweep's memo: the server answers it without waking a workflow worker. */
  latestVersion(sweepId: string): Promise<number>;
  /** The updates after `version`, in order (a query to the sweep). */
  updatesSince(sweepId: string, version: number): Promise<CacheUpdate[]>;
}

type Listener = (updates: readonly CacheUpdate[]) => void;

/**
 * A worker's copy of each sweep's cache updates. Checking for new ones costs one describe (a few ms) and no query
 * while nothing changed, so a trial can check right before it starts without delaying its GPU, and the running
 * trials of one sweep share one periodic check instead of each querying the sweep.
 */
export class SweepUpdates {
  private readonly known = new Map<string, readonly CacheUpdate[]>();
  private readonly followers = new Map<string, { readonly notify: Set<Listener>; readonly timer: NodeJS.Timeout }>();

  constructor(
    private readonly source: UpdateSource,
    private readonly checkEveryMs: number,
  ) {}

  /** Every update recorded before this call: what a trial must have before its command starts. */
  current(sweepId: string): Promise<readonly CacheUpdate[]> {
    return this.fetch(sweepId);
  }

  /**
   * Calls `listener` with all updates after each periodic check (one per sweep, however many of its trials run
   * here; a failed check is skipped). Returns the unsubscribe.
   */
  follow(sweepId: string, listener: Listener): () => void {
    let entry = this.followers.get(sweepId);
    if (!entry) {
      let checking = false;
      const notify = new Set<Listener>();
      const timer = setInterval(() => {
        if (checking) return;
        checking = true;
        this.fetch(sweepId)
          .then((updates) => notify.forEach((each) => each(updates)))
          .catch(() => undefined)
          .finally(() => (checking = false));
      }, this.checkEveryMs);
      entry = { notify, timer };
      this.followers.set(sweepId, entry);
    }
    entry.notify.add(listener);
    const following = entry;
    return () => {
      following.notify.delete(listener);
      if (following.notify.size > 0) return;
      clearInterval(following.timer);
      this.followers.delete(sweepId);
      // Nobody here runs its trials any more; a later trial reads afresh.
      this.known.delete(sweepId);
    };
  }

  private async fetch(sweepId: string): Promise<readonly CacheUpdate[]> {
    const latest = await this.source.latestVersion(sweepId);
    const have = this.known.get(sweepId) ?? [];
    if (latest <= have.length) return have;
    const fresh = await this.source.updatesSince(sweepId, have.length);
    // Another read may have extended the list meanwhile; keep the longer, contiguous one.
    const extended = [...(this.known.get(sweepId) ?? [])];
    for (const update of fresh) {
      if (update.version === extended.length + 1) extended.push(update);
    }
    this.known.set(sweepId, extended);
    return extended;
  }
}
