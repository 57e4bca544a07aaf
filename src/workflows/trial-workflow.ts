import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { createTrialActivities } from '../activities/run-trial.js';
import { FAILURE_TYPES } from '../activities/failure-types.js';
import { renderTrial } from '../spec/render.js';
import { poolQueue } from '../temporal/names.js';
import { trialStateKey } from '../temporal/search-attributes.js';
import { trialFinishedSignal, trialStatusQuery, type TrialFinished } from './messages.js';
import type { AttemptRecord, RunTrialResult, TrialInput, TrialProgress, TrialSummary } from './types.js';

type TrialActivities = ReturnType<typeof createTrialActivities>;

const MAX_BACKOFF_SECONDS = 60;

interface FailureDetails {
  readonly exitCode?: number;
}

/** A lost attempt's last heartbeat, unless it was still waiting for a slot (then there is nothing to resume). */
function progressOf(details: unknown): TrialProgress | undefined {
  const progress = details as TrialProgress | undefined;
  return progress?.waiting ? undefined : progress;
}

/**
 * One trial: runs attempts on the pool's queue until one succeeds, the command has failed more than the spec's
 * `retries`, or the trial is cancelled. A lost worker (no heartbeat, shutdown, fenced) is not the trial's fault:
 * the attempt moves to another worker at once, resuming from its last heartbeat, and does not count as a retry.
 * The server closes an attempt before the workflow schedules the next, so two attempts never overlap.
 */
export async function trialWorkflow(input: TrialInput): Promise<TrialSummary> {
  const { spec, sweepId, index, options } = input;
  const { name, params } = renderTrial(spec, index);
  const attempts: AttemptRecord[] = [];
  let attempt = 1;
  setHandler(trialStatusQuery, () => ({ index, name, attempt, attempts }));

  let resume: TrialProgress | undefined;
  let failures = 0;
  let lost = 0;
  for (; ; attempt++) {
    const { runTrial } = proxyActivities<TrialActivities>({
      taskQueue: poolQueue(options.pool),
      heartbeatTimeout: `${options.heartbeatTimeoutSeconds}s`,
      startToCloseTimeout: spec.timeoutSeconds ? `${spec.timeoutSeconds}s` : '3650d',
      // Retries are decided here, not by the server, so a lost worker and a failing command differ.
      retry: { maximumAttempts: 1 },
      // Explicit: left unset, the cancellation type reaches core as TRY_CANCEL (measured, despite the documented
      // default), and a cancelled trial would report "cancelled" while its process still runs.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      summary: `${name} · attempt ${attempt}`,
    });
    try {
      const result = await runTrial({
        sweepId,
        spec,
        index,
        attempt,
        heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
        directorySweepId: options.origin ?? sweepId,
        ...(resume ? { resume } : {}),
      });
      attempts.push({ attempt, outcome: 'succeeded', worker: result.worker, exitCode: 0 });
      return await finish('succeeded', result);
    } catch (error) {
      if (isCancellation(error)) {
        attempts.push({ attempt, outcome: 'cancelled' });
        return await finish('cancelled');
      }
      if (!(error instanceof ActivityFailure)) throw error;
      const cause = error.cause;
      const worker = error.identity ?? undefined;
      if (cause instanceof ApplicationFailure && cause.type === FAILURE_TYPES.handedBack) {
        // Never started: the same attempt goes back to the pool, for whichever slot frees first.
        attempt--;
        continue;
      }
      if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.HEARTBEAT) {
        lost++;
        resume = progressOf(cause.lastHeartbeatDetails) ?? resume;
        attempts.push({
          attempt,
          outcome: 'lost',
          reason: `no heartbeat for ${options.heartbeatTimeoutSeconds}s`,
          worker,
        });
      } else if (
        cause instanceof ApplicationFailure &&
        (cause.type === FAILURE_TYPES.workerShutdown || cause.type === FAILURE_TYPES.fenced)
      ) {
        lost++;
        resume = progressOf(cause.details?.[0]) ?? resume;
        attempts.push({ attempt, outcome: 'lost', reason: cause.message, worker });
      } else {
        failures++;
        const timedOut = cause instanceof TimeoutFailure;
        const exitCode =
          cause instanceof ApplicationFailure ? (cause.details?.[0] as FailureDetails)?.exitCode : undefined;
        const reason = timedOut ? `timed out after ${spec.timeoutSeconds}s` : (cause?.message ?? error.message);
        attempts.push({
          attempt,
          outcome: timedOut ? 'timed-out' : 'failed',
          reason,
          worker,
          ...(exitCode === undefined ? {} : { exitCode }),
        });
        const retryable = exitCode === undefined || !(spec.nonRetryableExitCodes ?? []).includes(exitCode);
        if (failures > spec.retries || !retryable) return await finish('failed', undefined, reason, exitCode);
        await sleep(`${Math.min(MAX_BACKOFF_SECONDS, 2 ** (failures - 1))}s`);
        continue;
      }
      if (lost > options.maxLostAttempts) {
        return await finish('failed', undefined, `lost its worker ${lost} times; giving up`);
      }
    }
  }

  /** Records the outcome (memo, search attribute, the sweep's signal) even when the trial was cancelled. */
  async function finish(
    state: TrialFinished['state'],
    result?: RunTrialResult,
    error?: string,
    exitCode?: number,
  ): Promise<TrialSummary> {
    const summary: TrialSummary = {
      sweepId,
      index,
      name,
      params,
      state,
      attempts,
      metrics: result?.metrics ?? {},
      ...(result ? { exitCode: result.exitCode, runtimeMs: result.runtimeMs, worker: result.worker } : {}),
      ...(result?.best === undefined ? {} : { best: result.best }),
      ...(exitCode === undefined ? {} : { exitCode }),
      ...(error ? { error } : {}),
    };
    await CancellationScope.nonCancellable(async () => {
      upsertMemo({ summary });
      upsertSearchAttributes([{ key: trialStateKey, value: state }]);
      // Awaited on purpose: the server drops a signal whose sender closed before it was delivered (measured).
      const sweep = getExternalWorkflowHandle(sweepId);
      await sweep
        .signal(trialFinishedSignal, {
          index,
          state,
          metrics: summary.metrics,
          ...(summary.best === undefined ? {} : { best: summary.best }),
        })
        .catch(() => {
          // The sweep was terminated: nobody is waiting for this trial any more.
        });
    });
    return summary;
  }
}
