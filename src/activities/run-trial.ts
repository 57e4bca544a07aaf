import {
  appendFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import { CancelledFailure, Context, log } from '@temporalio/activity';
import { lineSplitter } from '../host/line-splitter.js';
import { fillTrialDir } from '../sweep-spec/render.js';
import { logFileName, trialWorkflowId } from '../temporal/names.js';
import { attemptFailure, FAILURE_TYPES } from '../workflows/attempt-failures.js';
import type { AttemptStarted, StartClaim } from '../workflows/messages.js';
import type {
  CacheUpdate,
  Checkpoint,
  LegacyRunTrialInput,
  RunTrialInput,
  RunTrialResult,
  TrialProgress,
} from '../workflows/types.js';
import { planTrial } from '../workflows/trial-plan.js';
import {
  attemptFiles,
  readOutcome,
  readReturnedValue,
  reportOutcome,
  writeOutcome,
  type AttemptOutcome,
} from './attempt-outcome.js';
import { ClassAttempt } from '../worker-class/class-attempt.js';
import type { WorkerClassHost } from '../worker-class/class-process.js';
import { trialProcessEnv } from './trial-env.js';
import { exitCodeOf } from './exit-status.js';
import { MetricTracker, readCheckpointLine } from './metric-lines.js';
import { TrialProcess, type TrialExit } from './trial-process.js';
import { fenceAfterMs, type ServerWatch } from './server-watch.js';
import type { TrialRegistry } from './trial-registry.js';
import type { SweepUpdates } from './sweep-updates.js';
import { DoesNotFit, type Placement, type Placer } from '../workers/placer.js';
import { shapeOf, type TrialShape } from '../workflows/resource-request.js';

export interface TrialRunnerDeps {
  /** This worker's queue name, e.g. `hostB-gpu1`: shown in status and heartbeats. */
  readonly workerName: string;
  readonly host: string;
  /** Root of the per-trial directories: `<trialsDir>/<sweep>/<trial>/`. */
  readonly trialsDir: string;
  /** The project copy this worker's trials run in (`sweep hosts up` syncs it): where the sweep started does not count. */
  readonly projectDir?: string;
  /** How long a cancelled trial gets between SIGTERM and SIGKILL. */
  readonly killGraceMs: number;
  /** How often progress is heartbeated (the SDK throttles what reaches the server). */
  readonly heartbeatEveryMs: number;
  readonly serverWatch: ServerWatch;
  readonly registry: TrialRegistry;
  /** The sweeps' cache updates; reads reject when the server is unreachable. */
  readonly updates: SweepUpdates;
  /** The worker's hardware: a trial starts once it is placed, and gives it back the moment its process exits. */
  readonly placer: Placer;
  /** The permits of the queue a shape's trials come from: told of hand-backs and of trials that ended. */
  readonly permits: (shape: TrialShape) => { handedBack(): void; trialEnded(): void };
  /** A `--python module:Class` worker's class process: its class's trials are `run(**params)` calls in it. */
  readonly workerClass?: WorkerClassHost;
  /** Asks the sweep whether a trial may start now, while its start gate is up (`claimStart` Update). */
  readonly claimStart: (sweepId: string, index: number) => Promise<StartClaim>;
  /** Tells the trial workflow its attempt has been running for a heartbeat (Web UI state); fire and forget. */
  readonly announceStart: (trialId: string, runId: string, started: AttemptStarted) => void;
}

const STDERR_TAIL_LINES = 20;
const UPDATE_FETCH_TRIES = 10;
/** A trial that fits nowhere now waits this long on a worker at first, twice as long at each hand-back. */
const FIT_PATIENCE_MS = 30_000;
const MAX_FIT_PATIENCE_MS = 300_000;

/** One line of the SWEEP_UPDATES file: the update with its version, written in a single append. */
function updateLine(update: CacheUpdate): string {
  return `${JSON.stringify({ version: update.version, at: update.at, data: update.data })}\n`;
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}

/**
 * An attempt scheduled by a trial that started before the trial plan existed carries the spec instead: plan it
 * here, as that trial's workflow now does, so an upgrade of the workers while sweeps run loses nothing.
 */
function attemptInput(given: RunTrialInput | LegacyRunTrialInput): RunTrialInput {
  if ('plan' in given) return given;
  const plan = planTrial(given.spec, given.index, given.sweepId, {
    heartbeatTimeoutSeconds: given.heartbeatTimeoutSeconds,
    origin: given.directorySweepId,
    // Only the trial workflow uses these; the attempt does not.
    pool: '',
    window: 1,
    controlQueue: '',
    continueAsNewAfterEvents: 0,
    maxLostAttempts: 0,
  });
  return { plan, attempt: given.attempt, ...(given.resume ? { resume: given.resume } : {}) };
}

/** `["python","train.py","--lr=0.1"]`: what was run, for a command that could not run at all. */
function shownArgv(argv: readonly string[]): string {
  return JSON.stringify(argv);
}

export function createTrialActivities(deps: TrialRunnerDeps) {
  async function runTrial(given: RunTrialInput | LegacyRunTrialInput): Promise<RunTrialResult> {
    const input = attemptInput(given);
    const context = Context.current();
    const { plan, attempt } = input;
    const { sweepId, index, policy } = plan;
    const trialId = trialWorkflowId(sweepId, index);
    // The trial workflow's run: an outcome recorded for another run of the trial (a retry) is never adopted.
    const runId = context.info.workflowExecution?.runId ?? '';
    const trialDir = join(deps.trialsDir, plan.directorySweepId, plan.name);
    const logsDir = join(trialDir, 'logs');
    mkdirSync(logsDir, { recursive: true });
    const argv = fillTrialDir(plan.argv, trialDir);
    // The spec's workdir (relative to the project copy on a synced host), else the project copy, else where the
    // sweep was started when this host has it, else the worker's directory.
    const cwd = deps.projectDir
      ? resolve(deps.projectDir, plan.workdir ?? '.')
      : (plan.workdir ?? (plan.startDir && existsSync(plan.startDir) ? plan.startDir : process.cwd()));
    const how = { command: shownArgv(argv), cwd };

    // The previous attempt's worker died while its process ran: if the process finished and its outcome was
    // recorded here (same host, or a shared trials directory), that outcome stands and nothing runs again.
    if (input.adoptable !== undefined) {
      const earlier = readOutcome(
        attemptFiles(trialDir, sweepId, input.adoptable),
        runId,
        input.adoptable,
        policy.metric,
      );
      if (earlier) {
        log.info(`adopting the recorded outcome of attempt ${input.adoptable} of ${plan.name}`);
        return reportOutcome(earlier, policy.metric, { ...how, adoptedFrom: input.adoptable });
      }
    }
    // A worker-class trial on a worker that runs no class (it named this worker) goes back before any file opens.
    const classHost = plan.workerClass ? classHostFor(plan.workerClass) : undefined;
    const files = attemptFiles(trialDir, sweepId, attempt);
    /** The worker's own stop is no outcome of the command: its exit status must never be adopted. */
    const stopOwnProcess = async (stop: () => Promise<TrialExit>) => {
      await stop();
      rmSync(files.exit, { force: true });
    };
    const updatesFile = join(trialDir, 'updates.jsonl');
    let updateVersion = 0;

    const stdoutLog = createWriteStream(join(logsDir, logFileName(sweepId, attempt, 'stdout')));
    const stderrLog = createWriteStream(join(logsDir, logFileName(sweepId, attempt, 'stderr')));
    const metricsLog = createWriteStream(join(trialDir, 'metrics.jsonl'), { flags: 'a' });
    const tracker = new MetricTracker(policy.metric);
    const stderrTail: string[] = [];
    let startedAt = Date.now();
    let placement: Placement | undefined;
    let checkpoint: Checkpoint | undefined;
    const progress = (): TrialProgress => ({
      ...tracker.snapshot(),
      pid: running.pgid,
      worker: placement?.label ?? deps.workerName,
      startedAt,
      updateVersion,
      attempt,
      ...(checkpoint ? { checkpoint } : {}),
    });
    /** Resolves when the trial reports a checkpoint while its sweep holds running trials (`pause --hold`). */
    let holdNow = () => {};
    const heldAtCheckpoint = new Promise<'held'>((resolve) => (holdNow = () => resolve('held')));

    const stdoutLines = lineSplitter((line) => {
      const saved = readCheckpointLine(line);
      if (saved) {
        checkpoint = { ...saved, at: Date.now() };
        context.heartbeat(progress());
        if (deps.updates.holdsAtCheckpoint(sweepId)) holdNow();
        return;
      }
      const report = tracker.read(line);
      if (!report) return;
      metricsLog.write(`${JSON.stringify({ attempt, time: Date.now(), ...report })}\n`);
      context.heartbeat(progress());
    });
    const stderrLines = lineSplitter((line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });

    /** What this trial's process sees besides the worker's own environment. */
    const trialEnv: Record<string, string> = {
      ...plan.env,
      SWEEP_SWEEP_ID: sweepId,
      SWEEP_TRIAL_ID: trialId,
      SWEEP_TRIAL_INDEX: String(index),
      SWEEP_TRIAL_NAME: plan.name,
      SWEEP_ATTEMPT: String(attempt),
      SWEEP_TRIAL_DIR: trialDir,
      SWEEP_WORKER: deps.workerName,
      SWEEP_UPDATES: updatesFile,
      ...(input.resume ? { SWEEP_RESUME: JSON.stringify(input.resume) } : {}),
    };
    const output = {
      onStdout: (chunk: string) => {
        stdoutLog.write(chunk);
        stdoutLines.push(chunk);
      },
      onStderr: (chunk: string) => {
        stderrLog.write(chunk);
        stderrLines.push(chunk);
      },
    };
    let initialUpdates: readonly CacheUpdate[] = [];
    const running =
      plan.workerClass && classHost
        ? new ClassAttempt(classHost, {
            init: plan.workerClass.init === undefined ? classHost.defaultInit : { data: plan.workerClass.init },
            sweepId,
            params: plan.params,
            env: trialEnv,
            exitFile: files.exit,
            valueFile: files.value,
            runId,
            worker: deps.workerName,
            updates: () => initialUpdates,
            sink: output,
          })
        : // Forked now and held at the door: forking this large worker process takes milliseconds, and they are
          // spent while the trial waits for its slot rather than while the GPU waits for the trial.
          TrialProcess.prepare({
            argv,
            // No GPU until the trial is placed, after the fork: the supervisor sets them before the command runs.
            env: trialProcessEnv('', trialEnv),
            cwd,
            exitFile: files.exit,
            runId,
            worker: deps.workerName,
            // The GPUs are known only once the trial is placed, after the fork: the supervisor sets them.
            ...output,
          });
    const deliverUpdates = (all: readonly CacheUpdate[]) => {
      for (const update of all.slice(updateVersion)) {
        appendFileSync(updatesFile, updateLine(update));
        updateVersion = update.version;
        context.heartbeat(progress());
        if (running instanceof ClassAttempt) running.deliver(update);
        else if (policy.updateSignal) running.signal(policy.updateSignal);
      }
    };

    /**
     * Stops the command that has just saved its state, for `pause --hold`: it goes back to the pool and resumes
     * from its checkpoint. A process that exited on its own before it was told to stop keeps that exit as its
     * outcome; whatever it does after the SIGTERM is the hold's doing, never a result (its exit record goes).
     */
    const stopAtCheckpoint = async (): Promise<TrialExit> => {
      const signalledAt = Date.now();
      const stopped = await running.terminate(deps.killGraceMs);
      if (stopped.endedAt !== undefined && stopped.endedAt < signalledAt) return stopped;
      rmSync(files.exit, { force: true });
      const at = checkpoint?.step === undefined ? '' : ` (step ${checkpoint.step})`;
      throw attemptFailure.heldAtCheckpoint(
        `stopped at its checkpoint${at}: the sweep is paused with --hold; it resumes from there when resumed`,
        { progress: progress(), startedAt, endedAt: stopped.endedAt ?? Date.now() },
      );
    };

    let fence: ReturnType<ServerWatch['whenLost']> | undefined;
    let beat: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let stopFollowing = () => {};
    let freeSlot = () => {};
    let exit: TrialExit;
    let endedAt = 0;
    let metricWarning: string | undefined;
    try {
      const placed = await waitForPlacement(context, input);
      placement = placed.placement;
      const shapePermits = deps.permits(shapeOf(policy.resources));
      freeSlot = () => {
        placed.placement.release();
        shapePermits.trialEnded();
      };
      // Every attempt starts with all updates so far, before its command starts: a fresh file, so a process
      // never sees an update twice and a rescheduled attempt sees them all again.
      initialUpdates = await fetchAllUpdates(sweepId);
      // Read with the updates: a paused sweep, or one over its max parallel, says whether this trial starts now.
      if (deps.updates.gateUp(sweepId)) await claimStart(sweepId, index);
      writeFileSync(updatesFile, initialUpdates.map(updateLine).join(''));
      updateVersion = initialUpdates.at(-1)?.version ?? 0;
      // Registered before the command starts, so a successor on this queue knows of every attempt that ran.
      deps.registry.add(running.pgid, {
        taskToken: Buffer.from(context.info.taskToken).toString('base64'),
        trialId,
        runId,
        sweepId,
        attempt,
        trialDir,
        ...(policy.metric ? { metric: policy.metric } : {}),
      });
      placed.placement.attach(running.pgid);
      startedAt = Date.now();
      running.start(placed.placement.visibleDevices);
      if (running instanceof TrialProcess) void running.commandStarted.then((at) => (startedAt = at ?? startedAt));
      // The next trial held ready here starts the moment this one exits, while its result is still reported.
      void running.exited.then(freeSlot);
      // Trials heartbeat from their first second on; one shown as waiting says at once that it runs now.
      if (placed.shownWaiting) context.heartbeat(progress());
      // The trial is told it runs (Web UI state) with the first heartbeat: a trial over within a second goes
      // from queued to its outcome and costs its workflow no extra task.
      let announced = false;
      beat = setInterval(() => {
        context.heartbeat(progress());
        if (announced) return;
        announced = true;
        deps.announceStart(trialId, runId, { attempt, worker: placed.placement.label, startedAt });
      }, deps.heartbeatEveryMs);
      stopFollowing = deps.updates.follow(sweepId, deliverUpdates);
      // Self-fencing: a worker that cannot reach the server may be presumed dead, and its trial given to
      // another GPU. Kill the trial just before that can happen, so two attempts never run at once, while an
      // outage shorter than that disturbs nothing.
      fence = deps.serverWatch.whenLost(fenceAfterMs(policy.heartbeatTimeoutSeconds));
      const fenced = fence.lost.then(() => 'fenced' as const);
      // `timeout` is per attempt of the command: from its process start, not from the wait for a slot.
      const timedOut = new Promise<'timed-out'>((resolve) => {
        if (policy.timeoutSeconds) deadline = setTimeout(() => resolve('timed-out'), policy.timeoutSeconds * 1000);
      });
      let outcome = await Promise.race([running.exited, context.cancelled, fenced, timedOut, heldAtCheckpoint]);
      if (outcome === 'held') outcome = await stopAtCheckpoint();
      if (outcome === 'fenced') {
        await stopOwnProcess(() => running.kill());
        throw attemptFailure.lost(
          FAILURE_TYPES.fenced,
          `lost the Temporal server for too long; the trial was stopped so it can move to another worker`,
          progress(),
        );
      }
      if (outcome === 'timed-out') {
        await stopOwnProcess(() => running.terminate(deps.killGraceMs));
        throw attemptFailure.timedOut({
          timeoutSeconds: policy.timeoutSeconds ?? 0,
          startedAt,
          endedAt: Date.now(),
          ...(tracker.step === undefined ? {} : { step: tracker.step }),
          ...(tracker.curve.values().length ? { curve: tracker.curve.values() } : {}),
        });
      }
      if ('lost' in outcome && outcome.lost) {
        rmSync(files.exit, { force: true });
        throw attemptFailure.lost(
          FAILURE_TYPES.workerLost,
          `${deps.workerName}: ${outcome.lost}; it was started again, and the trial goes back to the pool`,
          progress(),
        );
      }
      exit = outcome;
      // The command's own times where its supervisor recorded them: the worker learns of the exit later.
      startedAt = outcome.startedAt ?? startedAt;
      endedAt = outcome.endedAt ?? Date.now();
    } catch (error) {
      if (error instanceof CancelledFailure) {
        await stopOwnProcess(() => running.terminate(deps.killGraceMs));
        if (error.message === 'WORKER_SHUTDOWN') {
          // Handed back at once: the workflow schedules the trial again without waiting for a timeout.
          throw attemptFailure.lost(
            FAILURE_TYPES.workerShutdown,
            `worker ${deps.workerName} is shutting down; the trial was stopped at step ${tracker.step ?? 0}`,
            progress(),
          );
        }
      }
      throw error;
    } finally {
      clearInterval(beat);
      clearTimeout(deadline);
      stopFollowing();
      fence?.cancel();
      // Never started (handed back, cancelled while waiting, no updates): the held process goes unrun.
      if (!running.started) await running.kill();
      freeSlot();
      // An attempt that ends by an exception has no outcome to leave behind.
      if (endedAt === 0) deps.registry.remove(running.pgid);
      stdoutLines.end();
      stderrLines.end();
      metricWarning = tracker.unparseableWarning();
      if (metricWarning) stderrLog.write(`[sweep] ${metricWarning}\n`);
      await Promise.all([closeStream(stdoutLog), closeStream(stderrLog), closeStream(metricsLog)]);
    }

    const returned = plan.workerClass && exit.code === 0 ? readReturnedValue(files, runId, tracker) : undefined;
    // Recorded before it is reported, and before the registry forgets the attempt: a worker that dies from here
    // on leaves an outcome that its successor or the next attempt reports instead of running the command again.
    const outcome: AttemptOutcome = {
      runId,
      attempt,
      exitCode: exitCodeOf(exit.code, exit.signal),
      signal: exit.signal,
      ...tracker.snapshot(),
      curve: tracker.curve.values(),
      startedAt,
      endedAt,
      worker: placement?.label ?? deps.workerName,
      host: deps.host,
      stderrTail: stderrTail.join('\n').trim(),
      ...(metricWarning === undefined ? {} : { metricWarning }),
      ...(returned ?? {}),
    };
    writeOutcome(files, outcome);
    deps.registry.remove(running.pgid);
    return reportOutcome(outcome, policy.metric, how);
  }

  /**
   * Waits until the trial fits here, heartbeating what it waits for. A trial that waits for this worker's own
   * trials goes back to the pool after the worker's patience (a GPU elsewhere may free first); one that waits for
   * memory or a GPU that others use waits longer, the more often it was handed back. One this worker could
   * never hold goes back at once. `shownWaiting`: a heartbeat told the server it waits.
   */
  async function waitForPlacement(
    context: Context,
    input: RunTrialInput,
  ): Promise<{ placement: Placement; shownWaiting: boolean }> {
    const request = input.plan.policy.resources;
    const abort = new AbortController();
    const why = (reason: 'patience' | 'fenced' | 'cancelled') => () => abort.abort(reason);
    let waitingFor: string | undefined;
    let patience: NodeJS.Timeout | undefined;
    let patienceMs = 0;
    const onWaiting = (reason: string, ours: boolean) => {
      waitingFor = reason;
      if (patience) return;
      patienceMs = ours
        ? deps.placer.patienceMs()
        : Math.min(MAX_FIT_PATIENCE_MS, FIT_PATIENCE_MS * 2 ** (input.handBacks ?? 0));
      patience = setTimeout(why('patience'), patienceMs);
    };
    const waiting = (): TrialProgress => ({
      metrics: {},
      worker: deps.workerName,
      attempt: input.attempt,
      waiting: true,
      ...(waitingFor === undefined ? {} : { waitingFor }),
    });
    // No heartbeat for a short wait: each costs the server a write, and most waits end within a second.
    let shownWaiting = false;
    const beat = setInterval(() => {
      shownWaiting = true;
      context.heartbeat(waiting());
    }, deps.heartbeatEveryMs);
    const fence = deps.serverWatch.whenLost(fenceAfterMs(input.plan.policy.heartbeatTimeoutSeconds));
    void fence.lost.then(why('fenced'));
    context.cancelled.catch(why('cancelled'));
    try {
      const placement = await deps.placer.acquire(request, abort.signal, onWaiting);
      if (placement) return { placement, shownWaiting };
    } catch (error) {
      if (!(error instanceof DoesNotFit)) throw error;
      throw attemptFailure.handedBack(`${deps.workerName}: ${error.reason}; back to the pool`, {
        reason: error.reason,
        never: error.never,
      });
    } finally {
      clearTimeout(patience);
      clearInterval(beat);
      fence.cancel();
    }
    if (abort.signal.reason === 'cancelled') {
      const cancellation = await context.cancelled.catch((error: unknown) => error);
      if (!(cancellation instanceof CancelledFailure) || cancellation.message !== 'WORKER_SHUTDOWN') throw cancellation;
    }
    deps.permits(shapeOf(request)).handedBack();
    if (abort.signal.reason !== 'patience') {
      throw attemptFailure.handedBack(
        `${deps.workerName} is ${abort.signal.reason === 'fenced' ? 'cut off from the server' : 'shutting down'}; back to the pool`,
      );
    }
    // Trials that ask for particular hardware say what they waited for; plain ones only that the worker was busy.
    throw attemptFailure.handedBack(
      `${deps.workerName} was still busy after ${patienceMs} ms${waitingFor ? ` (${waitingFor})` : ''}; back to the pool`,
      request && waitingFor ? { reason: waitingFor, never: false } : undefined,
    );
  }

  /** This worker's class process for a worker-class trial; a worker of no class hands the trial back for good. */
  function classHostFor(workerClass: NonNullable<RunTrialInput['plan']['workerClass']>): WorkerClassHost {
    if (deps.workerClass) return deps.workerClass;
    const reason = `runs no Python worker class (start one with --python ${workerClass.ref})`;
    throw attemptFailure.handedBack(`${deps.workerName} ${reason}; back to the pool`, { reason, never: true });
  }

  /** Asks the sweep whether trial `index` may start; refused (or unanswered), the trial waits to be woken. */
  async function claimStart(sweepId: string, index: number): Promise<void> {
    let claim: StartClaim;
    try {
      claim = await deps.claimStart(sweepId, index);
    } catch (error) {
      throw attemptFailure.held(`could not ask sweep ${sweepId} whether it may start: ${(error as Error).message}`);
    }
    if (!claim.granted) throw attemptFailure.held(claim.reason);
  }

  async function fetchAllUpdates(sweepId: string): Promise<readonly CacheUpdate[]> {
    for (let tries = 1; ; tries++) {
      try {
        return await deps.updates.current(sweepId);
      } catch (error) {
        if (tries >= UPDATE_FETCH_TRIES) {
          throw attemptFailure.lost(
            FAILURE_TYPES.fenced,
            `could not fetch the sweep's cache updates before starting: ${(error as Error).message}`,
          );
        }
        await delay(1000);
      }
    }
  }

  return { runTrial };
}
