import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { parseMillis, readExitRecord, type ExitRecord } from './exit-record.js';

/**
 * Runs the trial under a tiny sh supervisor, in a process group of its own (the supervisor leads it), so a
 * cancellation reaches every process the trial started. The supervisor's stdin is a pipe whose only writer is
 * the worker: when the worker dies for any reason (SIGKILL, the OOM killer), the pipe closes, the watcher's
 * `read` returns at once, and it SIGKILLs the whole group. No polling: the kernel delivers the EOF.
 * The supervisor is started ahead and runs the command only when the worker writes a first line: the trial's
 * CUDA_VISIBLE_DEVICES, known only once it is placed; an end of file instead (the worker died, or the trial went
 * elsewhere) exits without running it.
 * The moment the command exits, the supervisor writes its exit record to the exit file (exit-record.ts): a worker
 * that dies before it has recorded the outcome itself leaves that much for whoever takes over (attempt-outcome.ts).
 */
const SUPERVISOR = [
  // A SIGTERM (or an update's signal) to the group reaches the trial, while the supervisor stays to report its
  // exit status: ignored here from the first moment, and restored in the trial's own subshell.
  'trap "" TERM USR1 USR2 HUP',
  'exit_file=$1 run=$2 worker=$3',
  'shift 3',
  'IFS= read -r devices || exit 0',
  'CUDA_VISIBLE_DEVICES=${devices#go:}',
  'export CUDA_VISIBLE_DEVICES',
  'exec 5<&0',
  '( exec 3>&-; read -r _ <&5; kill -KILL 0 ) &',
  'watcher=$!',
  'exec 5<&-',
  // The trial's own subshell reads the clock as the last thing before the command, so that the command's first
  // reading is never earlier and seldom much later, and tells the worker on fd 3 (signals for the trial wait
  // for it) and the supervisor through a file (for the exit record).
  'start_file="$exit_file.start"',
  '( trap - TERM USR1 USR2 HUP; started=$(date +%s%3N 2>/dev/null); echo "$started" >"$start_file"; echo "$started" >&3; exec "$@" 3>&- ) </dev/null &',
  'trial=$!',
  'exec 3>&-',
  'wait "$trial"',
  'status=$?',
  // Recorded at once, with builtins only: a worker SIGKILLed now takes the supervisor with it (the watcher), and
  // reading the clock forks, which on a loaded host took long enough for CI to lose the outcome. The timed record
  // then replaces it whole, or not at all.
  'printf "%s %s %s\\n" "$status" "$run" "$worker" >"$exit_file"',
  'ended=$(date +%s%3N 2>/dev/null)',
  'started=',
  '[ -f "$start_file" ] && read -r started <"$start_file"',
  'rm -f "$start_file"',
  'printf "%s %s %s %s %s\\n" "$status" "$run" "$worker" "$started" "$ended" >"$exit_file.timed"',
  'mv -f "$exit_file.timed" "$exit_file"',
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
  /** When the command itself started and exited, as recorded beside it; absent where no record was left. */
  readonly startedAt?: number;
  readonly endedAt?: number;
}

/** The command's own start and end from its exit record, when it left one with times. */
export function commandTimes(record: ExitRecord | undefined, runId: string): Pick<TrialExit, 'startedAt' | 'endedAt'> {
  return record?.runId !== runId || record.startedAt === undefined || record.endedAt === undefined
    ? {}
    : { startedAt: record.startedAt, endedAt: record.endedAt };
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
  /** When the command started, once it has; undefined if the supervisor ended without running it. */
  readonly commandStarted: Promise<number | undefined>;
  private launched = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly pgid: number,
    record: { readonly file: string; readonly runId: string },
  ) {
    const supervisorExit = new Promise<TrialExit>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const streamsClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.commandStarted = new Promise((resolve) => {
      let line = '';
      const report = child.stdio[3] as Readable;
      report.setEncoding('utf8').on('data', (chunk: string) => {
        line += chunk;
        // Without GNU date the line is not a time: the worker's clock stands in.
        if (line.includes('\n')) resolve(parseMillis(line.slice(0, line.indexOf('\n'))) ?? Date.now());
      });
      void supervisorExit.then(() => resolve(undefined));
    });
    this.exited = supervisorExit.then(async (exit) => {
      // Stragglers the trial left in its group (data loader workers, a forgotten `&`) die with it.
      signalGroup(pgid, 'SIGKILL');
      await streamsClosed;
      return { ...exit, ...commandTimes(readExitRecord(record.file), record.runId) };
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
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      },
    );
    const { pid, stdin, stdout, stderr } = child;
    if (pid === undefined || !stdin || !stdout || !stderr) throw new Error(`could not start /bin/sh for ${command}`);
    stdout.setEncoding('utf8').on('data', options.onStdout);
    stderr.setEncoding('utf8').on('data', options.onStderr);
    // The pipe must stay open while the worker lives; an error on it means the supervisor is already gone.
    stdin.on('error', () => {});
    return new TrialProcess(child, pid, { file: options.exitFile, runId: options.runId });
  }

  /** Runs the command now, seeing only `visibleDevices` (`2,3`; '' for none). */
  start(visibleDevices: string): void {
    this.launched = true;
    this.child.stdin?.write(`go:${visibleDevices}\n`);
  }

  get started(): boolean {
    return this.launched;
  }

  /** `signal` to the command's group once the command runs, so that it is the command's to handle. */
  signal(signal: NodeJS.Signals): void {
    void this.commandStarted.then((at) => {
      if (at !== undefined) signalGroup(this.pgid, signal);
    });
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the group is gone. */
  async terminate(graceMs: number): Promise<TrialExit> {
    // Held at the door, the supervisor ignores SIGTERM: there is nothing to end gracefully yet.
    if (!this.launched) return this.kill();
    this.signal('SIGTERM');
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
