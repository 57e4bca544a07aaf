import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JsonValue } from '../sweep-spec/spec-types.js';
import type { MetricValues } from './metric-values.js';
import type { AttemptRecord, CacheUpdate, SweepProgress, TrialState } from './types.js';
import type { SweepChangeRecord, SweepChangeRequest, SweepSettings } from './sweep-changes.js';

/** A trial tells its sweep it has ended; sent by workflow ID, so it reaches the sweep's current run. */
export const trialFinishedSignal = defineSignal<[TrialFinished]>('trialFinished');
export interface TrialFinished {
  readonly index: number;
  readonly state: Exclude<TrialState, 'queued' | 'running'>;
  readonly best?: number;
  readonly metrics?: MetricValues;
}

/**
 * A worker tells a trial that an attempt's process has started, so the Web UI and visibility say `running`
 * and name the worker (`GpuQueue`). Sent by the worker, not awaited by the trial: it starts nothing.
 */
export const attemptStartedSignal = defineSignal<[AttemptStarted]>('attemptStarted');
export interface AttemptStarted {
  readonly attempt: number;
  /** The worker's queue, e.g. `hostB-gpu1`. */
  readonly worker: string;
  readonly startedAt: number;
}

export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');

export interface TrialStatus {
  readonly index: number;
  readonly name: string;
  readonly attempt: number;
  readonly attempts: readonly AttemptRecord[];
}
export const trialStatusQuery = defineQuery<TrialStatus>('trialStatus');

/** `sweep signal update`: records a cache update durably and returns its version once it is recorded. */
export const broadcastUpdate = defineUpdate<number, [Record<string, JsonValue>]>('broadcastUpdate');

/** `sweep pause|resume|edit|stop`: a validated change; returns its record (the first one's, for a repeated ID). */
export const changeSweepUpdate = defineUpdate<SweepChangeRecord, [SweepChangeRequest]>('changeSweep');

/** The sweep's settings now and every change that made them, oldest first. */
export const sweepChangesQuery = defineQuery<{ settings: SweepSettings; changes: SweepChangeRecord[] }>('sweepChanges');

/**
 * A worker asks whether trial `index` may start now, while the sweep's start gate is up (paused, or more trials
 * in flight than its max parallel). Refused, the trial goes back to wait for `startGateOpened`.
 */
export const claimStartUpdate = defineUpdate<StartClaim, [{ index: number }]>('claimStart');
export type StartClaim = { readonly granted: true } | { readonly granted: false; readonly reason: string };

/** The sweep to a trial it held: a slot may be free for it now; ask again. */
export const startGateOpenedSignal = defineSignal('startGateOpened');

/** The sweep to one of its trials: the user stopped it (`sweep stop`); a cancellation follows. */
export const trialStoppedSignal = defineSignal<[{ by: string }]>('trialStopped');

/** The updates after `version`, in order: how a running trial's worker fetches what it has not delivered yet. */
export const updatesSinceQuery = defineQuery<CacheUpdate[], [number]>('updatesSince');
