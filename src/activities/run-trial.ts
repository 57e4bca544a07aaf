import { appendFileSync, createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { renderTrial } from '../spec/render.js';
import { logFileName, trialWorkflowId } from '../temporal/names.js';
import type { CacheUpdate, RunTrialInput, RunTrialResult, TrialProgress } from '../workflows/types.js';
import { describeExit, exitCodeOf } from './exit-status.js';
import { FAILURE_TYPES } from './failure-types.js';
import { MetricTracker, parseMetricLine } from './metric-lines.js';
import { TrialProcess, type TrialExit } from './trial-process.js';
import type { ServerWatch } from './server-watch.js';
import type { TrialRegistry } from './trial-registry.js';
import type { SweepUpdates } from './sweep-updates.js';
import type { SlotGate } from './slot-gate.js';

export interface TrialRunnerDeps {
  /** This worker's queue name, e.g. `hostB-gpu1`: shown in status and heartbeats. */
  readonly workerName: string;
  readonly host: string;
  /** The CUDA_VISIBLE_DEVICES value for trials: a GPU index, or '' for CPU-only slots. */
  readonly visibleDevices: string;
  /** Root of the per-trial directories: `<trialsDir>/<sweep>/<trial>/`. */
  readonly trialsDir: string;
  /** How long a cancelled trial gets between SIGTERM and SIGKILL. */
  readonly killGraceMs: number;
  /** How often progress is heartbeated (the SDK throttles what reaches the server). */
  readonly heartbeatEveryMs: number;
  readonly serverWatch: ServerWatch;
  readonly registry: TrialRegistry;
  /** The sweeps' cache updates; reads reject when the server is unreachable. */
  readonly updates: SweepUpdates;
  /** The worker's slots: a trial starts once it holds one, and frees it the moment its process exits. */
  readonly slots: SlotGate;
  /** Told when a trial held ready went back to the pool (the slot gate reports freed slots itself). */
  readonly permits: { handedBack(): void };
}

const STDERR_TAIL_LINES = 20;
const PYTHON_HELPER_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const UPDATE_FETCH_TRIES = 10;

/** One line of the SWEEP_UPDATES file: the update with its version, written in a single append. */
function updateLine(update: CacheUpdate): string {
  return `${JSON.stringify({ version: update.version, at: update.at, data: update.data })}\n`;
}

/** Splits a stream of chunks into lines; the last partial line waits for its end. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let partial = '';
  return {
    push(chunk) {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    },
    end() {
      if (partial) onLine(partial);
      partial = '';
    },
  };
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}

export function createTrialActivities(deps: TrialRunnerDeps) {
  async function runTrial(input: RunTrialInput): Promise<RunTrialResult> {
    const context = Context.current();
    const { spec, sweepId, index, attempt } = input;
    const trialDir = join(deps.trialsDir, input.directorySweepId, renderTrial(spec, index).name);
    const logsDir = join(trialDir, 'logs');
    mkdirSync(logsDir, { recursive: true });
    const trial = renderTrial(spec, index, { trialDir, sweepId });
    const updatesFile = join(trialDir, 'updates.jsonl');
    let updateVersion = 0;

    const stdoutLog = createWriteStream(join(logsDir, logFileName(sweepId, attempt, 'stdout')));
    const stderrLog = createWriteStream(join(logsDir, logFileName(sweepId, attempt, 'stderr')));
    const metricsLog = createWriteStream(join(trialDir, 'metrics.jsonl'), { flags: 'a' });
    const tracker = new MetricTracker(spec.metric);
    const stderrTail: string[] = [];
    let startedAt = Date.now();
    const progress = (): TrialProgress => ({
      ...(tracker.step === undefined ? {} : { step: tracker.step }),
      metrics: { ...tracker.metrics },
      ...(tracker.best === undefined ? {} : { best: tracker.best }),
      pid: running.pgid,
      worker: deps.workerName,
      startedAt,
      updateVersion,
      attempt,
    });

    const stdoutLines = lineSplitter((line) => {
      const report = parseMetricLine(line);
      if (!report) return;
      tracker.record(report);
      metricsLog.write(`${JSON.stringify({ attempt, time: Date.now(), ...report })}\n`);
      context.heartbeat(progress());
    });
    const stderrLines = lineSplitter((line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...trial.env,
      // Set before the trial starts, so no framework can grab another GPU first.
      CUDA_VISIBLE_DEVICES: deps.visibleDevices,
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      PYTHONUNBUFFERED: '1',
      SWEEP_SWEEP_ID: sweepId,
      SWEEP_TRIAL_ID: trialWorkflowId(sweepId, index),
      SWEEP_TRIAL_INDEX: String(index),
      SWEEP_TRIAL_NAME: trial.name,
      SWEEP_ATTEMPT: String(attempt),
      SWEEP_TRIAL_DIR: trialDir,
      SWEEP_WORKER: deps.workerName,
      SWEEP_UPDATES: updatesFile,
      // `import sweep_helper` works in every Python trial, with nothing to install.
      PYTHONPATH: [PYTHON_HELPER_DIR, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
      ...(input.resume ? { SWEEP_RESUME: JSON.stringify(input.resume) } : {}),
    };
    // Forked now and held at the door: forking this large worker process takes milliseconds, and they are spent
    // while the trial waits for its slot rather than while the GPU waits for the trial.
    const running = TrialProcess.prepare({
      argv: trial.argv,
      env,
      cwd: spec.workdir ?? process.cwd(),
      onStdout: (chunk) => {
        stdoutLog.write(chunk);
        stdoutLines.push(chunk);
      },
      onStderr: (chunk) => {
        stderrLog.write(chunk);
        stderrLines.push(chunk);
      },
    });
    deps.registry.add(running.pgid);
    const deliverUpdates = (all: readonly CacheUpdate[]) => {
      for (const update of all.slice(updateVersion)) {
        appendFileSync(updatesFile, updateLine(update));
        updateVersion = update.version;
        context.heartbeat(progress());
        if (spec.updateSignal) {
          try {
            process.kill(-running.pgid, spec.updateSignal);
          } catch {
            // The trial is exiting.
          }
        }
      }
    };

    let fence: ReturnType<ServerWatch['whenLost']> | undefined;
    let beat: NodeJS.Timeout | undefined;
    let stopFollowing = () => {};
    let freeSlot = () => {};
    let exit: TrialExit;
    try {
      const slot = await waitForSlot(context, input);
      freeSlot = slot.release;
      // Every attempt starts with all updates so far, before its command starts: a fresh file, so a process
      // never sees an update twice and a rescheduled attempt sees them all again.
      const initialUpdates = await fetchAllUpdates(sweepId);
      writeFileSync(updatesFile, initialUpdates.map(updateLine).join(''));
      updateVersion = initialUpdates.at(-1)?.version ?? 0;
      startedAt = Date.now();
      running.start();
      // The next trial held ready here starts the moment this one exits, while its result is still reported.
      void running.exited.then(freeSlot);
      // Trials heartbeat from their first second on; one shown as waiting says at once that it runs now.
      if (slot.shownWaiting) context.heartbeat(progress());
      beat = setInterval(() => context.heartbeat(progress()), deps.heartbeatEveryMs);
      stopFollowing = deps.updates.follow(sweepId, deliverUpdates);
      // Self-fencing: a worker that cannot reach the server may be presumed dead, and its trial given to
      // another GPU. Kill the trial before that can happen, so two attempts never run at once.
      // Fencing at half the heartbeat timeout leaves the other half for the kill, since heartbeats reach the
      // server at least every second (the worker's maxHeartbeatThrottleInterval).
      fence = deps.serverWatch.whenLost((input.heartbeatTimeoutSeconds * 1000) / 2);
      const fenced = fence.lost.then(() => 'fenced' as const);
      const outcome = await Promise.race([running.exited, context.cancelled, fenced]);
      if (outcome === 'fenced') {
        await running.kill();
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.fenced,
          message: `lost the Temporal server for too long; the trial was stopped so it can move to another worker`,
        });
      }
      exit = outcome;
    } catch (error) {
      if (error instanceof CancelledFailure) {
        await running.terminate(deps.killGraceMs);
        if (error.message === 'WORKER_SHUTDOWN') {
          // Handed back at once: the workflow schedules the trial again without waiting for a timeout.
          throw ApplicationFailure.create({
            type: FAILURE_TYPES.workerShutdown,
            message: `worker ${deps.workerName} is shutting down; the trial was stopped at step ${tracker.step ?? 0}`,
            details: [progress()],
          });
        }
      }
      throw error;
    } finally {
      clearInterval(beat);
      stopFollowing();
      fence?.cancel();
      // Never started (handed back, cancelled while waiting, no updates): the held process goes unrun.
      if (!running.started) await running.kill();
      freeSlot();
      deps.registry.remove(running.pgid);
      stdoutLines.end();
      stderrLines.end();
      await Promise.all([closeStream(stdoutLog), closeStream(stderrLog), closeStream(metricsLog)]);
    }

    const exitCode = exitCodeOf(exit.code, exit.signal);
    if (exitCode !== 0) {
      const tail = stderrTail.join('\n').trim();
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.commandFailed,
        message: `${describeExit(exit.code, exit.signal)} on ${deps.workerName}${tail ? `; stderr ends:\n${tail}` : ''}`,
        details: [{ exitCode, signal: exit.signal, stderrTail: tail }],
      });
    }
    if (spec.metric && tracker.metrics[spec.metric.name] === undefined) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.metricMissing,
        message: `exited 0 but never reported the sweep's metric "${spec.metric.name}" (print "@sweep {"${spec.metric.name}": …}" or "${spec.metric.name}=…")`,
        details: [{ exitCode }],
      });
    }
    return {
      exitCode,
      metrics: { ...tracker.metrics },
      ...(tracker.best === undefined ? {} : { best: tracker.best }),
      ...(tracker.step === undefined ? {} : { step: tracker.step }),
      runtimeMs: Date.now() - startedAt,
      worker: deps.workerName,
      host: deps.host,
    };
  }

  /**
   * Waits for a free slot, heartbeating; a trial not started within the gate's patience goes back to the pool.
   * `shownWaiting`: a heartbeat told the server it waits (so status shows it queued until the next heartbeat).
   */
  async function waitForSlot(
    context: Context,
    input: RunTrialInput,
  ): Promise<{ release: () => void; shownWaiting: boolean }> {
    const abort = new AbortController();
    const why = (reason: 'patience' | 'fenced' | 'cancelled') => () => abort.abort(reason);
    const patienceMs = deps.slots.patienceMs();
    const patience = setTimeout(why('patience'), patienceMs);
    const waiting: TrialProgress = { metrics: {}, worker: deps.workerName, attempt: input.attempt, waiting: true };
    // No heartbeat for a short wait: each costs the server a write, and most waits end within a second.
    let shownWaiting = false;
    const beat = setInterval(() => {
      shownWaiting = true;
      context.heartbeat(waiting);
    }, deps.heartbeatEveryMs);
    const fence = deps.serverWatch.whenLost((input.heartbeatTimeoutSeconds * 1000) / 2);
    void fence.lost.then(why('fenced'));
    context.cancelled.catch(why('cancelled'));
    try {
      const release = await deps.slots.acquire(abort.signal);
      if (release) return { release, shownWaiting };
    } finally {
      clearTimeout(patience);
      clearInterval(beat);
      fence.cancel();
    }
    if (abort.signal.reason === 'cancelled') {
      const cancellation = await context.cancelled.catch((error: unknown) => error);
      if (!(cancellation instanceof CancelledFailure) || cancellation.message !== 'WORKER_SHUTDOWN') throw cancellation;
    }
    deps.permits.handedBack();
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.handedBack,
      message:
        abort.signal.reason === 'patience'
          ? `${deps.workerName} was still busy after ${patienceMs} ms; back to the pool`
          : `${deps.workerName} is ${abort.signal.reason === 'fenced' ? 'cut off from the server' : 'shutting down'}; back to the pool`,
    });
  }

  async function fetchAllUpdates(sweepId: string): Promise<readonly CacheUpdate[]> {
    for (let tries = 1; ; tries++) {
      try {
        return await deps.updates.current(sweepId);
      } catch (error) {
        if (tries >= UPDATE_FETCH_TRIES) {
          throw ApplicationFailure.create({
            type: FAILURE_TYPES.fenced,
            message: `could not fetch the sweep's cache updates before starting: ${(error as Error).message}`,
          });
        }
        await delay(1000);
      }
    }
  }

  return { runTrial };
}
