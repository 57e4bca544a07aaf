import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * Runs the trial under a tiny sh supervisor, in a process group of its own (the supervisor leads it), so a
 * cancellation reaches every process the trial started. The supervisor's stdin is a pipe whose only writer is
 * the worker: when the worker dies for any reason (SIGKILL, the OOM killer), the pipe closes, the watcher's
 * `read` returns at once, and it SIGKILLs the whole group. No polling: the kernel delivers the EOF.
 * The supervisor is started ahead and runs the command only when the worker writes a first line: the trial's
 * CUDA_VISIBLE_DEVICES, known only once it is placed; an end of file instead (the worker died, or the trial went
 * elsewhere) exits without running it.
 * The moment the command exits, the supervisor writes `<status> <run> <worker>` to the exit file: a worker that dies
 * before it has recorded the outcome itself leaves that much for whoever takes over (attempt-outcome.ts).
 */
const SUPERVISOR = [
  'exit_file=$1 run=$2 worker=$3',
  'shift 3',
  'IFS= read -r devices || exit 0',
  'CUDA_VISIBLE_DEVICES=${devices#go:}',
  'export CUDA_VISIBLE_DEVICES',
  'exec 3<&0',
  '( trap "" TERM USR1 USR2 HUP; read -r _ <&3; kill -KILL 0 ) &',
  'watcher=$!',
  'exec 3<&-',
  '"$@" </dev/null &',
  'trial=$!',
  // Only now, so the trial does not inherit it: a SIGTERM (or an update's signal) to the group reaches the
  // trial, while the supervisor stays to report its exit status.
  'trap "" TERM USR1 USR2 HUP',
  'wait "$trial"',
  'status=$?',
  'printf "%s %s %s\\n" "$status" "$run" "$worker" >"$exit_file"',
  'kill -KILL "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

export interface TrialProcessOptions {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Where the supervisor records the command's exit status, tagged with `runId` and `worker`. */
  readonly exitFile: string;
  readonly runId: string;
  readonly worker: string;
  readonly onStdout: (chunk: string) => void;
  readonly onStderr: (chunk: string) => void;
}

export interface TrialExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

export class TrialProcess {
  /** Resolves when the command has exited and every process of its group is gone. */
  readonly exited: Promise<TrialExit>;
  private launched = false;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    readonly pgid: number,
  ) {
    const supervisorExit = new Promise<TrialExit>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const streamsClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.exited = supervisorExit.then(async (exit) => {
      // Stragglers the trial left in its group (data loader workers, a forgotten `&`) die with it.
      signalGroup(pgid, 'SIGKILL');
      await streamsClosed;
      return exit;
    });
  }

  /** Forks the supervisor, which waits for `start()` before it runs the command. */
  static prepare(options: TrialProcessOptions): TrialProcess {
    const [command, ...args] = options.argv;
    if (!command) throw new Error('empty command');
    const child = spawn(
      '/bin/sh',
      ['-c', SUPERVISOR, 'sweep-trial', options.exitFile, options.runId, options.worker, command, ...args],
      {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    if (child.pid === undefined) throw new Error(`could not start /bin/sh for ${command}`);
    child.stdout.setEncoding('utf8').on('data', options.onStdout);
    child.stderr.setEncoding('utf8').on('data', options.onStderr);
    // The pipe must stay open while the worker lives; an error on it means the supervisor is already gone.
    child.stdin.on('error', () => {});
    return new TrialProcess(child, child.pid);
  }

  /** Runs the command now, seeing only `visibleDevices` (`2,3`; '' for none). */
  start(visibleDevices: string): void {
    this.launched = true;
    this.child.stdin.write(`go:${visibleDevices}\n`);
  }

  get started(): boolean {
    return this.launched;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the group is gone. */
  async terminate(graceMs: number): Promise<TrialExit> {
    signalGroup(this.pgid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pgid, 'SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILL the group now: fencing, when the worker can no longer prove the trial is still its own. */
  async kill(): Promise<TrialExit> {
    signalGroup(this.pgid, 'SIGKILL');
    return this.exited;
  }
}
