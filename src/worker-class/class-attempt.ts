// One trial of a worker-class sweep, shaped like a TrialProcess so run-trial.ts drives both the same way: its
// `start` is `run(**params)` in the worker's class process, and its stop kills that process (started again next).
import { readExitRecord } from '../activities/exit-record.js';
import { commandTimes, type TrialExit } from '../activities/trial-process.js';
import type { JsonValue } from '../sweep-spec/spec-types.js';
import type { CacheUpdate } from '../workflows/types.js';
import { describeProcessExit, type OutputSink, type RunOutcome, type WorkerClassHost } from './class-process.js';

export interface ClassAttemptExit extends TrialExit {
  /** The class process died during the trial: not the trial's fault, so the attempt is lost, not failed. */
  readonly lost?: string;
}

export interface ClassAttemptOptions {
  readonly sweepId: string;
  readonly init: { readonly data?: JsonValue };
  readonly params: Record<string, JsonValue>;
  /** The trial's own variables (SWEEP_TRIAL_DIR, SWEEP_PARAMS, the spec's env…), set in the process for `run`. */
  readonly env: Readonly<Record<string, string>>;
  /** Where the class process records the outcome before it reports it (see attempt-outcome.ts). */
  readonly exitFile: string;
  readonly valueFile: string;
  readonly runId: string;
  readonly worker: string;
  /** Every update so far: `handle_update` gets those this instance has not had before `run` starts. */
  readonly updates: () => readonly CacheUpdate[];
  readonly sink: OutputSink;
}

function exitOf(outcome: RunOutcome, sink: OutputSink, { exitFile, runId }: ClassAttemptOptions): ClassAttemptExit {
  switch (outcome.kind) {
    case 'ended':
      return { code: outcome.status, signal: null, ...commandTimes(readExitRecord(exitFile), runId) };
    case 'died':
      return {
        ...outcome.exit,
        lost: `the class process died during the trial (${describeProcessExit(outcome.exit)})`,
      };
    case 'unusable':
      // The reason becomes the trial's cause, as a command's last stderr line does.
      sink.onStderr(`[sweep] ${outcome.reason}\n`);
      return { code: 1, signal: null };
  }
}

export class ClassAttempt {
  readonly exited: Promise<ClassAttemptExit>;
  private resolveExit!: (exit: ClassAttemptExit) => void;
  private launched = false;
  private running = false;

  constructor(
    private readonly host: WorkerClassHost,
    private readonly options: ClassAttemptOptions,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get pgid(): number {
    return this.host.pgid;
  }

  get started(): boolean {
    return this.launched;
  }

  /** Calls `run(**params)`; the process already sees only the worker's GPU. */
  start(): void {
    this.launched = true;
    this.running = true;
    const { options } = this;
    const message = {
      sweep: options.sweepId,
      params: options.params,
      // SWEEP_RESUME is cleared when this attempt has none: the process outlives trials.
      env: { SWEEP_RESUME: '', ...options.env },
      updates: options.updates().map((update) => ({ version: update.version, data: update.data })),
      exit_file: options.exitFile,
      value_file: options.valueFile,
      run_id: options.runId,
      worker: options.worker,
    };
    void this.host.run(options.init, message, options.sink).then((outcome) => {
      this.running = false;
      this.resolveExit(exitOf(outcome, options.sink, options));
    });
  }

  /** A cache update that arrived while `run` goes on: `handle_update` is called now, on another thread. */
  deliver(update: CacheUpdate): void {
    if (this.running) this.host.update(this.options.sweepId, update.version, update.data);
  }

  terminate(graceMs: number): Promise<ClassAttemptExit> {
    return this.stop('SIGTERM', graceMs);
  }

  kill(): Promise<ClassAttemptExit> {
    return this.stop('SIGKILL');
  }

  private async stop(signal: 'SIGTERM' | 'SIGKILL', graceMs = 0): Promise<ClassAttemptExit> {
    // Never started: the process belongs to whichever trial runs now, or to none.
    if (!this.launched) return { code: null, signal: null };
    if (this.running) await this.host.stop(signal, graceMs);
    return this.exited;
  }
}
