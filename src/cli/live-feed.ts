import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { renderTrial } from '../sweep-spec/render.js';
import type { SweepResult } from '../workflows/sweep-workflow.js';
import type { SweepProgress, TrialSummary } from '../workflows/types.js';
import type { LiveFrame } from './live-screen.js';
import { trialSummaries, liveTrials, type LiveTrial, type SweepMemo } from './sweep-client.js';

/** How often the live view describes the trials in flight (a describe each) and lists the finished ones. */
const REFRESH_EVERY_MS = 1000;
/** How often the final frame lists the finished trials again while visibility lags the final counts. */
const FINAL_TRIES = 10;

/**
 * Gathers what the live view shows besides the sweep's progress: the trials in flight, and the finished trials
 * (runtimes for the ETA, causes of failures), listed again only when the counts move or visibility lags them.
 */
export class LiveFeed {
  private live: LiveTrial[] = [];
  private liveAt = 0;
  private finished: TrialSummary[] = [];
  private finishedAt = 0;
  private progress: SweepProgress | undefined;

  constructor(
    private readonly client: Client,
    private readonly sweepId: string,
    private readonly memo: SweepMemo,
  ) {}

  async frame(progress: SweepProgress, notes: readonly string[]): Promise<LiveFrame> {
    this.progress = progress;
    const now = Date.now();
    if (now - this.liveAt >= REFRESH_EVERY_MS) {
      this.liveAt = now;
      this.live = await liveTrials(this.client, this.sweepId, progress.running, this.memo.spec).catch(() => this.live);
    }
    await this.refreshFinished(progress, false);
    return this.compose(progress, this.live, notes);
  }

  /** The last frame: the sweep's final counts, nothing in flight. */
  async final(result: SweepResult): Promise<LiveFrame> {
    const progress: SweepProgress = {
      ...(this.progress ?? { nextIndex: 0, startedAt: 0, runs: 0, updateVersion: 0 }),
      sweepId: result.sweepId,
      state: result.state,
      counts: result.counts,
      running: [],
      ...(result.best ? { best: result.best } : {}),
    };
    await this.refreshFinished(progress, true);
    // Visibility may lag the last trials by a moment: their causes belong on the final screen.
    for (let tries = 0; tries < FINAL_TRIES && this.lagging(progress); tries++) {
      await delay(REFRESH_EVERY_MS / 5);
      await this.refreshFinished(progress, true);
    }
    return this.compose(progress, [], []);
  }

  private async refreshFinished(progress: SweepProgress, force: boolean): Promise<void> {
    if (!force && (!this.lagging(progress) || Date.now() - this.finishedAt < REFRESH_EVERY_MS)) return;
    this.finishedAt = Date.now();
    this.finished = await trialSummaries(this.client, this.sweepId).catch(() => this.finished);
  }

  private lagging(progress: SweepProgress): boolean {
    const { succeeded, failed, cancelled } = progress.counts;
    return this.finished.length < succeeded + failed + cancelled;
  }

  private compose(progress: SweepProgress, live: readonly LiveTrial[], notes: readonly string[]): LiveFrame {
    const best = progress.best;
    return {
      progress,
      live,
      finished: this.finished,
      notes,
      now: Date.now(),
      ...(best ? { best: { ...best, params: renderTrial(this.memo.spec, best.index).params } } : {}),
    };
  }
}
