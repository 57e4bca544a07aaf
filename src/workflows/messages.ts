import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AttemptRecord, SweepProgress, TrialState } from './types.js';

/** A trial tells its sweep it has ended; sent by workflow ID, so it reaches the sweep's current run. */
export const trialFinishedSignal = defineSignal<[TrialFinished]>('trialFinished');
export interface TrialFinished {
  readonly index: number;
  readonly state: Exclude<TrialState, 'queued' | 'running'>;
  readonly best?: number;
}

export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');

export interface TrialStatus {
  readonly index: number;
  readonly name: string;
  readonly attempt: number;
  readonly attempts: readonly AttemptRecord[];
}
export const trialStatusQuery = defineQuery<TrialStatus>('trialStatus');
