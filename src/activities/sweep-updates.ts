import type { CacheUpdate } from '../workflows/types.js';

/** Where a worker reads a sweep's cache updates from. */
export interface UpdateSource {
  /** The latest version, from the sweep's memo: the server answers it without waking a workflow worker. */
  latestVersion(sweepId: string): Promise<number>;
  /** The updates after `version`, in order (a query to the sweep). */
  updatesSince(sweepId: string, version: number): Promise<CacheUpdate[]>;
}

interface Read {
  readonly startedAt: number;
  readonly updates: Promise<readonly CacheUpdate[]>;
}

/** Sweeps whose updates a worker keeps; a worker seldom serves more at once, and one evicted is re-read. */
const SWEEPS_KEPT = 16;

/**
 * A worker's copy of each sweep's cache updates. Checking for new ones costs one describe (a few ms) and no query
 * while nothing changed, so a trial can check right before it starts without delaying its GPU, and the running
 * trials of one sweep share one check instead of each querying the sweep.
 */
export class SweepUpdates {
  private readonly known = new Map<string, readonly CacheUpdate[]>();
  private readonly lastRead = new Map<string, Read>();

  constructor(
    private readonly source: UpdateSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every update recorded before this call: what a trial must have before its command starts. */
  current(sweepId: string): Promise<readonly CacheUpdate[]> {
    return this.read(sweepId).updates;
  }

  /** Every update as of a check at most `maxAgeMs` old: how running trials poll without multiplying reads. */
  recent(sweepId: string, maxAgeMs: number): Promise<readonly CacheUpdate[]> {
    const last = this.lastRead.get(sweepId);
    if (last && this.now() - last.startedAt <= maxAgeMs) return last.updates;
    return this.read(sweepId).updates;
  }

  private read(sweepId: string): Read {
    const read: Read = { startedAt: this.now(), updates: this.fetch(sweepId) };
    this.lastRead.delete(sweepId);
    this.lastRead.set(sweepId, read);
    // A failed read is not reused: the next caller tries again.
    read.updates.catch(() => {
      if (this.lastRead.get(sweepId) === read) this.lastRead.delete(sweepId);
    });
    if (this.lastRead.size > SWEEPS_KEPT) this.evictOldest();
    return read;
  }

  private async fetch(sweepId: string): Promise<readonly CacheUpdate[]> {
    const latest = await this.source.latestVersion(sweepId);
    const have = this.known.get(sweepId) ?? [];
    if (latest <= have.length) return have;
    const fresh = await this.source.updatesSince(sweepId, have.length);
    // Another read may have extended the list meanwhile; keep the longer, contiguous one.
    const base = this.known.get(sweepId) ?? [];
    const extended = [...base];
    for (const update of fresh) {
      if (update.version === extended.length + 1) extended.push(update);
    }
    this.known.set(sweepId, extended);
    return extended;
  }

  private evictOldest(): void {
    const oldest = this.lastRead.keys().next().value;
    if (oldest === undefined) return;
    this.lastRead.delete(oldest);
    this.known.delete(oldest);
  }
}
