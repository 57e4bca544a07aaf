import type { CacheUpdate } from '../workflows/types.js';

/** Where a worker reads a sweep's cache updates from. */
export interface UpdateSource {
  /**
   * From the sweep's memo, which the server answers without waking a workflow worker: the latest version, whether
   * its start gate is up (a trial must ask the sweep before it starts), and whether it holds running trials at
   * their next checkpoint (`sweep pause --hold`).
   */
  latest(sweepId: string): Promise<{ readonly version: number } & GateState>;
  /** The updates after `version`, in order (a query to the sweep). */
  updatesSince(sweepId: string, version: number): Promise<CacheUpdate[]>;
}

export interface GateState {
  readonly gateUp: boolean;
  readonly holdAtCheckpoint: boolean;
}

const GATE_DOWN: GateState = { gateUp: false, holdAtCheckpoint: false };

type Listener = (updates: readonly CacheUpdate[]) => void;

/**
 * A worker's copy of each sweep's cache updates. Checking for new ones costs one describe (a few ms) and no query
 * while nothing changed, so a trial can check right before it starts without delaying its GPU, and the running
 * trials of one sweep share one periodic check instead of each querying the sweep.
 */
export class SweepUpdates {
  private readonly known = new Map<string, readonly CacheUpdate[]>();
  private readonly gates = new Map<string, GateState>();
  private readonly followers = new Map<string, { readonly notify: Set<Listener>; readonly timer: NodeJS.Timeout }>();

  constructor(
    private readonly source: UpdateSource,
    private readonly checkEveryMs: number,
  ) {}

  /** Every update recorded before this call: what a trial must have before its command starts. */
  current(sweepId: string): Promise<readonly CacheUpdate[]> {
    return this.fetch(sweepId);
  }

  /** Whether the sweep's start gate was up at the last read (`current` reads it afresh). */
  gateUp(sweepId: string): boolean {
    return (this.gates.get(sweepId) ?? GATE_DOWN).gateUp;
  }

  /** Whether the sweep, at the last read, stops its running trials at their next checkpoint. */
  holdsAtCheckpoint(sweepId: string): boolean {
    return (this.gates.get(sweepId) ?? GATE_DOWN).holdAtCheckpoint;
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
      this.gates.delete(sweepId);
    };
  }

  private async fetch(sweepId: string): Promise<readonly CacheUpdate[]> {
    const { version: latest, ...gate } = await this.source.latest(sweepId);
    this.gates.set(sweepId, gate);
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
