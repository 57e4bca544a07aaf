import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createTrialActivities } from '../activities/run-trial.js';
import { trialQueue } from '../temporal/names.js';
import { gpuQueueKey, trialStateKey } from '../temporal/search-attributes.js';
import { attemptPriority } from './sweep-share.js';
import { classifyAttempt } from './attempt-failures.js';
import {
  attemptStartedSignal,
  startGateOpenedSignal,
  trialFinishedSignal,
  trialStatusQuery,
  trialStoppedSignal,
  type TrialFinished,
} from './messages.js';
import { planTrial } from './trial-plan.js';
import { shapeOf } from './resource-request.js';
import type {
  AttemptRecord,
  LegacyTrialInput,
  RunTrialResult,
  TrialInput,
  TrialProgress,
  TrialSummary,
} from './types.js';

type TrialActivities = ReturnType<typeof createTrialActivities>;

const MAX_BACKOFF_SECONDS = 60;
/** A trial the sweep held asks again when woken, or after this long in case the wake-up went astray. */
const HELD_RECHECK = '30s';
/** The memo key saying what a trial that does not fit waits for (cleared once an attempt runs). */
const WAITING_FOR_MEMO = 'waitingFor';
/** Older runs retried exits 126 and 127 like any failure; runs that pass this marker do not. */
const NOT_RUNNABLE_IS_FINAL = 'exit-126-127-not-retried';
/** Older runs gave up after one lost attempt more than `maxLostAttempts`; runs that pass this marker do not. */
const MAX_LOST_IS_EXACT = 'max-lost-counts-exactly';

/** What an attempt that did not succeed leaves in the trial's history (keys in the order older runs wrote them). */
function attemptRecord(
  attempt: number,
  outcome: AttemptRecord['outcome'],
  verdict: { reason: string; worker?: string; exitCode?: number; startedAt?: number; exitedAt?: number },
  endedAt: number,
): AttemptRecord {
  return {
    attempt,
    outcome,
    reason: verdict.reason,
    ...(verdict.worker ? { worker: verdict.worker } : {}),
    ...(verdict.exitCode === undefined ? {} : { exitCode: verdict.exitCode }),
    ...(verdict.startedAt === undefined ? {} : { startedAt: verdict.startedAt }),
    ...(verdict.exitedAt === undefined ? {} : { exitedAt: verdict.exitedAt }),
    endedAt,
  };
}

/**
 * One trial: runs attempts on the pool's queue until one succeeds, the command has failed more than the spec's
 * `retries`, or the trial is cancelled. A lost worker (no heartbeat, shutdown, fenced) is not the trial's fault:
 * the attempt moves to another worker at once, resuming from its last heartbeat, and does not count as a retry.
 * The server closes an attempt before the workflow schedules the next, so two attempts never overlap.
 */
export async function trialWorkflow(input: TrialInput | LegacyTrialInput): Promise<TrialSummary> {
  const plan = 'plan' in input ? input.plan : planTrial(input.spec, input.index, input.sweepId, input.options);
  const { sweepId, index, name, params, policy } = plan;
  const attempts: AttemptRecord[] = [];
  let attempt = 1;
  setHandler(trialStatusQuery, () => ({ index, name, attempt, attempts }));
  let ended = false;
  /** Hand-backs of this attempt for not fitting its worker: the next worker waits longer for it. */
  let handBacks = 0;
  /** Hand-backs in a row by workers that could never hold it: the trial pauses before it asks again. */
  let neverFits = 0;
  let waitingFor: string | undefined;
  function noteWaitingFor(reason: string | undefined): void {
    if (reason === waitingFor) return;
    waitingFor = reason;
    upsertMemo({ [WAITING_FOR_MEMO]: reason ?? null });
  }
  setHandler(attemptStartedSignal, (started) => {
    // A late signal from an attempt that has already ended says nothing about the trial now.
    if (ended || started.attempt !== attempt) return;
    noteWaitingFor(undefined);
    upsertSearchAttributes([
      { key: trialStateKey, value: 'running' },
      { key: gpuQueueKey, value: started.worker },
    ]);
  });

  let resume: TrialProgress | undefined;
  let adoptable: number | undefined;
  let failures = 0;
  /** The curve of the last attempt that failed with one: a failed trial shows where it went wrong. */
  let failedCurve: TrialSummary['curve'];
  let lost = 0;
  /** Who stopped the trial (`sweep stop`): its cancellation is then theirs, and says so. */
  let stoppedBy: string | undefined;
  setHandler(trialStoppedSignal, ({ by }) => void (stoppedBy = by));
  let gateOpened = false;
  setHandler(startGateOpenedSignal, () => void (gateOpened = true));
  for (; ; attempt++) {
    const { runTrial } = proxyActivities<TrialActivities>({
      // Matching is by queue: the number of GPUs picks the queue, and only workers with that many poll it; a
      // trial that names its worker waits on that worker's own queue.
      taskQueue: trialQueue(policy.pool, shapeOf(policy.resources), policy.resources?.labels?.worker, plan.workerClass),
      heartbeatTimeout: `${policy.heartbeatTimeoutSeconds}s`,
      // The spec's `timeout` is enforced by the worker from the command's start (a slot wait is not running);
      // the server's own timeout only bounds a worker that stops heartbeating.
      startToCloseTimeout: '3650d',
      // Retries are decided here, not by the server, so a lost worker and a failing command differ.
      retry: { maximumAttempts: 1 },
      // Explicit: left unset, the cancellation type reaches core as TRY_CANCEL (measured, despite the documented
      // default), and a cancelled trial would report "cancelled" while its process still runs.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      summary: `${name} · attempt ${attempt}`,
      // Fair between owners, urgent sweeps first, a retry before fresh trials (see sweep-share.ts).
      ...(policy.share ? { priority: attemptPriority(policy.share, attempt) } : {}),
    });
    try {
      const result = await runTrial({
        plan,
        attempt,
        ...(resume ? { resume } : {}),
        ...(adoptable === undefined ? {} : { adoptable }),
        ...(handBacks === 0 ? {} : { handBacks }),
      });
      attempts.push({
        attempt,
        outcome: 'succeeded',
        worker: result.worker,
        exitCode: 0,
        ...(result.startedAt === undefined ? {} : { startedAt: result.startedAt }),
        ...(result.endedAt === undefined ? {} : { exitedAt: result.endedAt }),
        endedAt: Date.now(),
        ...noteOf(result),
      });
      return await finish('succeeded', result);
    } catch (error) {
      const verdict = classifyAttempt(error, policy);
      const endedAt = Date.now();
      if (verdict.kind === 'cancelled') {
        attempts.push({ attempt, outcome: 'cancelled', endedAt });
        return await finish('cancelled');
      }
      if (verdict.kind === 'held') {
        attempt--;
        noteWaitingFor(verdict.reason);
        if (await heldUntilCancelled()) return await finish('cancelled');
        continue;
      }
      if (verdict.kind === 'handed-back') {
        // Never started: the same attempt goes back to the pool, for whichever slot frees first.
        attempt--;
        if (verdict.fit) {
          handBacks++;
          noteWaitingFor(verdict.fit.reason);
          neverFits = verdict.fit.never ? neverFits + 1 : 0;
          // A worker that can never hold it answers at once; pausing keeps the trial from bouncing between such
          // workers while one that can is busy (the pool's queue for its shape has only workers big enough).
          if (neverFits > 0 && (await pausedUntilCancelled(Math.min(MAX_BACKOFF_SECONDS, 2 ** (neverFits - 1))))) {
            return await finish('cancelled');
          }
        }
        continue;
      }
      handBacks = 0;
      neverFits = 0;
      if (verdict.kind === 'held-at-checkpoint') {
        // Not the trial's fault and not a lost worker: back to the pool, where the paused sweep holds it.
        resume = verdict.resume ?? resume;
        adoptable = undefined;
        attempts.push(attemptRecord(attempt, 'held', verdict, endedAt));
        continue;
      }
      if (verdict.kind === 'lost') {
        lost++;
        resume = verdict.resume ?? resume;
        adoptable = verdict.mayHaveFinished ? attempt : undefined;
        attempts.push(attemptRecord(attempt, 'lost', verdict, endedAt));
        if (lost > policy.maxLostAttempts || (lost === policy.maxLostAttempts && patched(MAX_LOST_IS_EXACT))) {
          return await finish('failed', undefined, `lost its worker ${lost} times; giving up`);
        }
        continue;
      }
      failures++;
      adoptable = undefined;
      failedCurve = verdict.curve ?? failedCurve;
      attempts.push(attemptRecord(attempt, verdict.kind, verdict, endedAt));
      const nonRetryable =
        (verdict.exitCode !== undefined && policy.nonRetryableExitCodes.includes(verdict.exitCode)) ||
        (verdict.notRunnable && patched(NOT_RUNNABLE_IS_FINAL));
      if (failures > policy.retries || nonRetryable) {
        return await finish('failed', undefined, verdict.reason, verdict.exitCode, verdict.cause);
      }
      if (await pausedUntilCancelled(Math.min(MAX_BACKOFF_SECONDS, 2 ** (failures - 1)))) {
        return await finish('cancelled');
      }
    }
  }

  /** Waits until the sweep wakes it (or a while); true when the trial was cancelled meanwhile. */
  async function heldUntilCancelled(): Promise<boolean> {
    try {
      // A wake-up that came while the attempt was still on its way back counts: at worst one more ask.
      await condition(() => gateOpened, HELD_RECHECK);
      gateOpened = false;
      return false;
    } catch (error) {
      if (isCancellation(error)) return true;
      throw error;
    }
  }

  /** A pause between attempts; true when the trial was cancelled during it (it then ends like any other). */
  async function pausedUntilCancelled(seconds: number): Promise<boolean> {
    try {
      await sleep(`${seconds}s`);
      return false;
    } catch (error) {
      if (isCancellation(error)) return true;
      throw error;
    }
  }

  function lastWorker(): string | undefined {
    return attempts.findLast((record) => record.worker)?.worker;
  }

  /** How the outcome reached the trial, when its own worker did not report it. */
  function noteOf(result: RunTrialResult): Pick<AttemptRecord, 'note'> {
    if (result.adoptedFrom) {
      return { note: `adopted the result of attempt ${result.adoptedFrom}, whose worker died before reporting it` };
    }
    if (result.reportedBy) return { note: `reported by ${result.reportedBy} after its worker died` };
    return {};
  }

  /** Records the outcome (memo, search attribute, the sweep's signal) even when the trial was cancelled. */
  async function finish(
    state: TrialFinished['state'],
    result?: RunTrialResult,
    error?: string,
    exitCode?: number,
    cause?: string,
  ): Promise<TrialSummary> {
    if (state === 'cancelled' && stoppedBy) error = `stopped by ${stoppedBy}`;
    const summary: TrialSummary = {
      sweepId,
      index,
      name,
      params,
      state,
      attempts,
      metrics: result?.metrics ?? {},
      ...(result ? { exitCode: result.exitCode, runtimeMs: result.runtimeMs, worker: result.worker } : {}),
      // A trial that did not succeed names the worker of its last attempt that had one.
      ...(!result && lastWorker() ? { worker: lastWorker() } : {}),
      ...(result?.best === undefined ? {} : { best: result.best }),
      ...(result?.bestStep === undefined ? {} : { bestStep: result.bestStep }),
      ...(result?.curve ? { curve: result.curve } : state === 'failed' && failedCurve ? { curve: failedCurve } : {}),
      ...(result && 'value' in result ? { value: result.value ?? null } : {}),
      ...(exitCode === undefined ? {} : { exitCode }),
      ...(error ? { error } : {}),
      ...(cause ? { cause } : {}),
    };
    ended = true;
    await CancellationScope.nonCancellable(async () => {
      noteWaitingFor(undefined);
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
    // The Web UI shows a failed trial as failed; the summary stays in the memo for `sweep results`.
    if (state === 'failed') throw ApplicationFailure.nonRetryable(error ?? 'the trial failed', 'TrialFailed', summary);
    return summary;
  }
}
