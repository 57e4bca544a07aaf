// Plain-JSON shapes shared by workflows, activities and the CLI (workflow inputs must be plain JSON).
import type { JsonValue, SweepSpec } from '../sweep-spec/spec-types.js';
import type { TrialPlan } from './trial-plan.js';
import type { MetricValues } from './metric-values.js';
import type { SweepChangeRecord, SweepSettings } from './sweep-changes.js';
import type { SweepShare } from './sweep-share.js';

export type TrialState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type SweepState = 'running' | 'completed' | 'failed' | 'cancelled';

/** What a running trial reports in each heartbeat; also what a rescheduled attempt resumes from. */
export interface TrialProgress {
  readonly step?: number;
  readonly metrics: MetricValues;
  /** Best value of the sweep's metric so far in this trial (always finite). */
  readonly best?: number;
  /** The step at which `best` was reported, when the trial reports steps. */
  readonly bestStep?: number;
  readonly pid?: number;
  readonly worker?: string;
  readonly startedAt?: number;
  /** The latest cache update this attempt's process has been given. */
  readonly updateVersion?: number;
  readonly attempt?: number;
  /** Held ready on `worker` behind a running trial; nothing to resume from (the process has not started). */
  readonly waiting?: boolean;
  /** While waiting: what it needs that its worker lacks now (`needs 40 GiB GPU memory; …`). */
  readonly waitingFor?: string;
  /** The last checkpoint the trial reported (`@sweep-checkpoint`): where a next attempt picks up. */
  readonly checkpoint?: Checkpoint;
}

/** A trial's report that it has saved its state: it may be stopped now and lose nothing. */
export interface Checkpoint {
  readonly step?: number;
  /** Where the trial saved it, as it said (Sweep does not read it). */
  readonly path?: string;
  /** When the worker read the report (the worker's clock). */
  readonly at: number;
}

/** One attempt of a trial: its plan, which attempt this is, and what the previous attempts left. */
export interface RunTrialInput {
  readonly plan: TrialPlan;
  readonly attempt: number;
  /** Progress of the previous attempt, when it was lost mid-run (its last heartbeat). */
  readonly resume?: TrialProgress;
  /**
   * The previous attempt, when its worker was lost while its process ran: if that process finished and its
   * outcome is recorded in the trial's directory, this attempt reports that outcome instead of running again.
   */
  readonly adoptable?: number;
  /** How often this attempt has been handed back for not fitting: a worker waits longer for it each time. */
  readonly handBacks?: number;
}

export interface RunTrialResult {
  readonly exitCode: number;
  readonly metrics: MetricValues;
  readonly best?: number;
  readonly bestStep?: number;
  readonly step?: number;
  /** The sweep's metric over the steps, `[step, value]`, at most a few hundred points. */
  readonly curve?: readonly (readonly [number, number])[];
  readonly runtimeMs: number;
  readonly worker: string;
  readonly host: string;
  /** When the command's process started and exited (ms since the epoch, the worker's clock). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** The earlier attempt whose recorded outcome this is: its worker died before reporting it. */
  readonly adoptedFrom?: number;
  /** The worker that reported this outcome for a dead predecessor on its queue. */
  readonly reportedBy?: string;
  /** What a worker class's `run` returned (`null` for None). */
  readonly value?: JsonValue;
}

/** Why one attempt ended, for the trial's history. */
export interface AttemptRecord {
  readonly attempt: number;
  /** `held`: stopped at a checkpoint by `sweep pause --hold`; the next attempt resumes from it. */
  readonly outcome: 'succeeded' | 'failed' | 'lost' | 'held' | 'timed-out' | 'cancelled';
  readonly reason?: string;
  readonly worker?: string;
  readonly exitCode?: number;
  /** When its process started and exited (the worker's clock), where known: the GPU timeline's bars. */
  readonly startedAt?: number;
  readonly exitedAt?: number;
  /** When the trial workflow learnt how it ended (workflow time). */
  readonly endedAt?: number;
  /** How the outcome reached the trial when not by its own worker (`adopted the result of attempt 1, …`). */
  readonly note?: string;
}

/** The final record of a trial: its workflow result and memo, and a row of `sweep results`. */
export interface TrialSummary {
  readonly sweepId: string;
  readonly index: number;
  readonly name: string;
  readonly params: Record<string, JsonValue>;
  readonly state: TrialState;
  readonly attempts: readonly AttemptRecord[];
  readonly exitCode?: number;
  readonly metrics: MetricValues;
  readonly best?: number;
  readonly bestStep?: number;
  /**
   * Its learning curve: the sweep's metric over the steps of the attempt that succeeded or, for a trial that
   * failed, of its last attempt whose command exited with a curve.
   */
  readonly curve?: readonly (readonly [number, number])[];
  readonly runtimeMs?: number;
  readonly worker?: string;
  readonly error?: string;
  /** Why it failed, in one line (the last line of the command's stderr); `error` holds the whole story. */
  readonly cause?: string;
  /** What a worker class's `run` returned (`null` for None). */
  readonly value?: JsonValue;
}

export interface TrialInput {
  readonly plan: TrialPlan;
}

/**
 * What trials of sweeps started before the trial plan took: the whole spec and the sweep's options. A trial
 * workflow still running from then plans itself from these (`planTrial` is pure), so it goes on as it was.
 */
export interface LegacyTrialInput {
  readonly sweepId: string;
  readonly spec: SweepSpec;
  readonly index: number;
  readonly options: SweepOptions;
}

/** An attempt scheduled by such a trial before its worker was upgraded. */
export interface LegacyRunTrialInput {
  readonly sweepId: string;
  readonly spec: SweepSpec;
  readonly index: number;
  readonly attempt: number;
  readonly heartbeatTimeoutSeconds: number;
  readonly directorySweepId: string;
  readonly resume?: TrialProgress;
}

export interface SweepOptions {
  /** Seconds without a heartbeat before a trial's worker counts as lost and the trial moves on. */
  readonly heartbeatTimeoutSeconds: number;
  /** Trials started ahead of free slots, so a GPU that frees takes the next one at once. */
  readonly window: number;
  readonly pool: string;
  /** The queue of sweep and trial workflow tasks (default sweep-control); a separate one isolates a cluster. */
  readonly controlQueue: string;
  /** Continue-as-new after this many history events (Temporal also suggests it by itself). */
  readonly continueAsNewAfterEvents: number;
  /** A trial whose worker is lost this many times fails instead of moving on again. */
  readonly maxLostAttempts: number;
  /** Broadcast each finished trial's result as a cache update to the running and later trials. */
  readonly broadcastResults?: boolean;
  /** For a retry: the sweep whose trial directories (checkpoints, outputs) the trials continue in. */
  readonly origin?: string;
  /**
   * Trials ask for their spec's resources. Absent in sweeps started before resources were honoured: their
   * specs carry `gpus: 1` whether or not anyone wrote it, so their trials keep the pool's own queue.
   */
  readonly honourResources?: true;
  /**
   * The directory `sweep start` ran in: a relative command resolves there, on the worker's host when it exists
   * there (the same machine, or shared storage), as a researcher means `python train.py`.
   */
  readonly startDir?: string;
  /** Owner, priority and weight; absent in sweeps started before sharing. */
  readonly share?: SweepShare;
}

export interface SweepCounts {
  readonly total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** One broadcast cache update, as recorded in the sweep: versions count from 1 without gaps. */
export interface CacheUpdate {
  readonly version: number;
  readonly data: Record<string, JsonValue>;
  /** When the sweep recorded it (workflow time, ms since the epoch). */
  readonly at: number;
}

export interface SweepProgress {
  readonly sweepId: string;
  readonly state: SweepState;
  readonly counts: SweepCounts;
  readonly running: readonly number[];
  /** Of `running`, those the start gate refused: they wait for it, no process of theirs runs. */
  readonly held?: readonly number[];
  readonly nextIndex: number;
  readonly best?: { readonly index: number; readonly value: number };
  readonly startedAt: number;
  readonly runs: number;
  /** The latest cache update's version (0: none yet). */
  readonly updateVersion: number;
  /** What `sweep pause|resume|edit` have set (absent from sweeps started before they existed). */
  readonly settings?: SweepSettings;
  /** How many changes the sweep has accepted (`sweep status` lists them). */
  readonly changeCount?: number;
}

export interface SweepInput {
  readonly sweepId: string;
  readonly spec: SweepSpec;
  readonly options: SweepOptions;
  /** Only these trial indices (a retry of failed trials); all of the spec's when absent. */
  readonly indices?: readonly number[];
  /** Carried across continue-as-new. */
  readonly carried?: Omit<SweepProgress, 'sweepId' | 'state'> & {
    readonly updates: readonly CacheUpdate[];
    readonly changes?: readonly SweepChangeRecord[];
    readonly held?: readonly number[];
    readonly skipped?: readonly number[];
  };
}
