// How one attempt of a trial can end badly: the failure types `runTrial` throws, their details, and the one
// function that tells the trial workflow what an attempt's failure means. Pure (workflows import it).
import {
  ActivityFailure,
  ApplicationFailure,
  ApplicationFailureCategory,
  CancelledFailure,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { queueOfIdentity } from '../temporal/names.js';
import type { TrialProgress } from './types.js';

export const FAILURE_TYPES = {
  /** The command exited non-zero or was killed by a signal. */
  commandFailed: 'TrialCommandFailed',
  /** The command exited 0 without reporting the sweep's metric. */
  metricMissing: 'TrialMetricMissing',
  /** The command ran past the spec's `timeout`, counted from its process start; it was stopped. */
  timedOut: 'TrialTimedOut',
  /** The worker was stopped (SIGTERM, SIGINT) and stopped the trial with it: not the trial's fault. */
  workerShutdown: 'WorkerShutdown',
  /** The worker lost the server for so long that it stopped the trial before the server could give it away. */
  fenced: 'WorkerFenced',
  /** Reported by the worker that took over a dead one's queue: the attempt's process died with its worker. */
  workerLost: 'WorkerLost',
  /** A trial held ready on a busy worker went back to the pool before its process started: not an attempt. */
  handedBack: 'TrialHandedBack',
  /** The sweep's start gate said not now (paused, or at its max parallel): the trial waits to be woken. */
  held: 'TrialHeld',
  /** `sweep pause --hold`: the running command was stopped right after it reported a checkpoint. */
  heldAtCheckpoint: 'TrialHeldAtCheckpoint',
} as const;

export interface CommandFailedDetails {
  readonly exitCode: number;
  readonly signal: string | null;
  /** The last lines of the command's stderr. */
  readonly stderrTail: string;
  /** The last non-empty stderr line, or the exit described: what a person reads first. */
  readonly cause: string;
  /** When the command's process started and exited (the worker's clock). */
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** The sweep's metric over the steps it ran: where a diverging run went wrong. */
  readonly curve?: readonly (readonly [number, number])[];
}

export interface TimedOutDetails {
  readonly timeoutSeconds: number;
  readonly step?: number;
  readonly startedAt?: number;
  /** When the stopped process was gone (the worker's clock). */
  readonly endedAt?: number;
  readonly curve?: readonly (readonly [number, number])[];
}

/** Exit codes the shell uses for "cannot run this at all": retrying cannot help. */
export const NOT_RUNNABLE_EXIT_CODES: readonly number[] = [126, 127];

export const attemptFailure = {
  commandFailed(message: string, details: CommandFailedDetails): ApplicationFailure {
    const nonRetryable = NOT_RUNNABLE_EXIT_CODES.includes(details.exitCode);
    return ApplicationFailure.create({ type: FAILURE_TYPES.commandFailed, message, details: [details], nonRetryable });
  },
  metricMissing(message: string, exitCode: number): ApplicationFailure {
    return ApplicationFailure.create({ type: FAILURE_TYPES.metricMissing, message, details: [{ exitCode }] });
  },
  timedOut(details: TimedOutDetails): ApplicationFailure {
    const message = `timed out after ${details.timeoutSeconds}s of running${details.step === undefined ? '' : ` (step ${details.step})`}`;
    return ApplicationFailure.create({ type: FAILURE_TYPES.timedOut, message, details: [details] });
  },
  /** A lost attempt: the worker stopped, fenced itself, or died. `progress` is what a next attempt resumes from. */
  lost(
    type: typeof FAILURE_TYPES.workerShutdown | typeof FAILURE_TYPES.fenced | typeof FAILURE_TYPES.workerLost,
    message: string,
    progress?: TrialProgress,
  ): ApplicationFailure {
    return ApplicationFailure.create({ type, message, details: progress ? [progress] : [] });
  },
  /** Benign: routine scheduling, which the SDK then logs at debug level instead of as a failed activity. */
  /** `fit`: the trial did not fit the worker (and why); absent for a busy worker or one shutting down. */
  handedBack(message: string, fit?: HandedBackDetails): ApplicationFailure {
    return ApplicationFailure.create({
      type: FAILURE_TYPES.handedBack,
      message,
      category: ApplicationFailureCategory.BENIGN,
      ...(fit ? { details: [fit] } : {}),
    });
  },
  /** Benign: the user paused the sweep with `--hold`, and the trial saved its state before it was stopped. */
  heldAtCheckpoint(message: string, details: HeldAtCheckpointDetails): ApplicationFailure {
    return ApplicationFailure.create({
      type: FAILURE_TYPES.heldAtCheckpoint,
      message,
      category: ApplicationFailureCategory.BENIGN,
      details: [details],
    });
  },
  /** Benign as a hand-back: the sweep held the trial before its process started. */
  held(message: string): ApplicationFailure {
    return ApplicationFailure.create({
      type: FAILURE_TYPES.held,
      message,
      category: ApplicationFailureCategory.BENIGN,
    });
  },
};

/** A process stopped at its checkpoint: what the next attempt resumes from, and when it ran. */
export interface HeldAtCheckpointDetails {
  readonly progress: TrialProgress;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Why a worker gave a trial back without running it: what it needs that the worker lacks. */
export interface HandedBackDetails {
  /** `needs 40 GiB GPU memory; the most free is 24 GiB on hostB-gpu1`. */
  readonly reason: string;
  /** The worker could never hold it (too few GPUs, too little memory in all), not just not now. */
  readonly never: boolean;
}

/** What an attempt's failure means for the trial. */
export type AttemptVerdict =
  /** Never started: the same attempt goes back to the pool; `fit` says why, when it did not fit. */
  | { readonly kind: 'handed-back'; readonly fit?: HandedBackDetails }
  /** Never started: the sweep holds it (paused, or at its max parallel) until it says a slot may be free. */
  | { readonly kind: 'held'; readonly reason: string }
  /**
   * Stopped at a checkpoint by `pause --hold`: the next attempt goes back to the pool (where the paused sweep
   * holds it) and resumes from `resume`; neither a retry nor a lost worker.
   */
  | {
      readonly kind: 'held-at-checkpoint';
      readonly reason: string;
      readonly resume?: TrialProgress;
      readonly worker?: string;
      readonly startedAt?: number;
      readonly exitedAt?: number;
    }
  /** The worker went away: the next attempt starts at once from `resume` and does not count as a retry. */
  | {
      readonly kind: 'lost';
      readonly reason: string;
      readonly resume?: TrialProgress;
      readonly worker?: string;
      readonly startedAt?: number;
      /** The attempt's process may have finished before its worker died: a next attempt may adopt its outcome. */
      readonly mayHaveFinished: boolean;
    }
  /** The command's own failure: counts against `retries`, with backoff. */
  | {
      readonly kind: 'failed' | 'timed-out';
      readonly reason: string;
      readonly exitCode?: number;
      /** What a person reads first: the last stderr line, when the command left one. */
      readonly cause?: string;
      /** The exit code says retrying cannot help (126, 127). */
      readonly notRunnable: boolean;
      readonly worker?: string;
      readonly startedAt?: number;
      /** When its process exited (the worker's clock). */
      readonly exitedAt?: number;
      readonly curve?: readonly (readonly [number, number])[];
    }
  | { readonly kind: 'cancelled' };

export interface ClassifyContext {
  readonly heartbeatTimeoutSeconds: number;
  /** The spec's `timeout`, for attempts of older sweeps that the server's start-to-close timeout ended. */
  readonly timeoutSeconds?: number;
}

function isWaiting(progress: TrialProgress | undefined): boolean {
  return progress?.waiting === true;
}

/** Heartbeat details are JSON from another process: take them only when they look like progress. */
function progressIn(details: unknown): TrialProgress | undefined {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return undefined;
  const progress = details as TrialProgress;
  return typeof progress.metrics === 'object' ? progress : undefined;
}

function lostVerdict(
  reason: string,
  progress: TrialProgress | undefined,
  identity: string | undefined,
  silently: boolean,
): AttemptVerdict {
  const worker = progress?.worker ?? identity;
  return {
    kind: 'lost',
    reason,
    // A trial still waiting for its slot has nothing to resume from.
    ...(progress && !isWaiting(progress) ? { resume: progress } : {}),
    ...(worker ? { worker } : {}),
    ...(progress?.startedAt === undefined || isWaiting(progress) ? {} : { startedAt: progress.startedAt }),
    // Only a worker that went silent can have left an outcome unreported; one that said why it stopped did not.
    mayHaveFinished: silently && !isWaiting(progress),
  };
}

/** Reads an attempt's failure (what `await runTrial(...)` threw) as what it means for the trial. */
export function classifyAttempt(error: unknown, context: ClassifyContext): AttemptVerdict {
  if (error instanceof CancelledFailure) return { kind: 'cancelled' };
  if (!(error instanceof ActivityFailure)) throw error;
  const cause = error.cause;
  const identity = error.identity ? queueOfIdentity(error.identity) : undefined;
  if (cause instanceof CancelledFailure) return { kind: 'cancelled' };
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === TimeoutType.HEARTBEAT) {
      const progress = progressIn(cause.lastHeartbeatDetails);
      return lostVerdict(`no heartbeat for ${context.heartbeatTimeoutSeconds}s`, progress, identity, true);
    }
    const seconds = context.timeoutSeconds;
    return {
      kind: 'timed-out',
      reason: seconds === undefined ? (cause.message ?? 'timed out') : `timed out after ${seconds}s`,
      notRunnable: false,
      ...(identity ? { worker: identity } : {}),
    };
  }
  if (!(cause instanceof ApplicationFailure)) {
    return { kind: 'failed', reason: cause?.message ?? error.message, notRunnable: false };
  }
  const first: unknown = cause.details?.[0];
  switch (cause.type) {
    case FAILURE_TYPES.held:
      return { kind: 'held', reason: cause.message };
    case FAILURE_TYPES.heldAtCheckpoint: {
      const details = first as Partial<HeldAtCheckpointDetails> | undefined;
      const resume = progressIn(details?.progress);
      const worker = resume?.worker ?? identity;
      return {
        kind: 'held-at-checkpoint',
        reason: cause.message,
        ...(resume ? { resume } : {}),
        ...(worker ? { worker } : {}),
        ...(typeof details?.startedAt === 'number' ? { startedAt: details.startedAt } : {}),
        ...(typeof details?.endedAt === 'number' ? { exitedAt: details.endedAt } : {}),
      };
    }
    case FAILURE_TYPES.handedBack: {
      const fit = first as Partial<HandedBackDetails> | undefined;
      return typeof fit?.reason === 'string'
        ? { kind: 'handed-back', fit: { reason: fit.reason, never: fit.never === true } }
        : { kind: 'handed-back' };
    }
    case FAILURE_TYPES.workerShutdown:
    case FAILURE_TYPES.fenced:
    case FAILURE_TYPES.workerLost:
      return lostVerdict(cause.message, progressIn(first), identity, false);
    case FAILURE_TYPES.timedOut: {
      const details = first as Partial<TimedOutDetails> | undefined;
      return {
        kind: 'timed-out',
        reason: cause.message,
        notRunnable: false,
        ...(identity ? { worker: identity } : {}),
        ...(typeof details?.startedAt === 'number' ? { startedAt: details.startedAt } : {}),
        ...(typeof details?.endedAt === 'number' ? { exitedAt: details.endedAt } : {}),
        ...(isCurve(details?.curve) ? { curve: details.curve } : {}),
      };
    }
    default: {
      const details = first as Partial<CommandFailedDetails> | undefined;
      const exitCode = typeof details?.exitCode === 'number' ? details.exitCode : undefined;
      const shown = typeof details?.cause === 'string' && details.cause !== '' ? details.cause : undefined;
      return {
        kind: 'failed',
        reason: cause.message,
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(shown === undefined ? {} : { cause: shown }),
        notRunnable: exitCode !== undefined && NOT_RUNNABLE_EXIT_CODES.includes(exitCode),
        ...(identity ? { worker: identity } : {}),
        ...(typeof details?.startedAt === 'number' ? { startedAt: details.startedAt } : {}),
        ...(typeof details?.endedAt === 'number' ? { exitedAt: details.endedAt } : {}),
        ...(isCurve(details?.curve) ? { curve: details.curve } : {}),
      };
    }
  }
}

/** Failure details are JSON from another process: a curve is a list of `[step, value]` number pairs. */
function isCurve(value: unknown): value is readonly (readonly [number, number])[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((point) => Array.isArray(point) && point.length === 2 && point.every((n) => typeof n === 'number'))
  );
}
