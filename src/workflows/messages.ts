import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JsonValue } from '../spec/spec-types.js';
import type { AttemptRecord, CacheUpdate, SweepProgress, TrialState } from './types.js';

/** A trial tells its sweep it has ended; sent by workflow ID, so it reaches the sweep's current run. */
export const trialFinishedSignal = defineSignal<[TrialFinished]>('trialFinished');
export interface TrialFinished {
  readonly index: number;
  readonly state: Exclude<TrialState, 'queued' | 'running'>;
  readonly best?: number;
  readonly metrics?: Record<string, number>;
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

/** The updates after `version`, in order: how a running trial's worker fetches what it has not delivered yet. */
export const updatesSinceQuery = defineQuery<CacheUpdate[], [number]>('updatesSince');
