import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SWEEP_BIN = fileURLToPath(new URL('../../bin/sweep.js', import.meta.url));

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A real child process whose output a test can await line by line. */
export class RunningProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<ProcessExit>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    const onData = (stream: 'stdout' | 'stderr') => (chunk: string) => {
      this[stream] += chunk;
      for (const wake of this.waiters) wake();
    };
    child.stdout?.setEncoding('utf8').on('data', onData('stdout'));
    child.stderr?.setEncoding('utf8').on('data', onData('stderr'));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        for (const wake of this.waiters) wake();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('process did not start');
    return this.child.pid;
  }

  /** Resolves with the first match of `pattern` in stdout (or stderr); rejects if the process exits first or time runs out. */
  async waitForOutput(
    pattern: RegExp,
    timeoutMs = 60_000,
    stream: 'stdout' | 'stderr' = 'stdout',
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const match = pattern.exec(this[stream]);
      if (match) return match;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `${exited ? 'process exited' : 'timed out'} before ${stream} matched ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
        this.waiters.add(wake);
      });
    }
  }

  async signal(signal: NodeJS.Signals): Promise<ProcessExit> {
    this.child.kill(signal);
    return this.exited;
  }
}

export function startProcess(command: string, args: readonly string[], options: SpawnOptions = {}): RunningProcess {
  return new RunningProcess(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** Starts the built `sweep` CLI exactly as a user runs it. */
export function startSweep(args: readonly string[], options: SpawnOptions = {}): RunningProcess {
  return startProcess(process.execPath, [SWEEP_BIN, ...args], options);
}

export interface CliResult extends ProcessExit {
  readonly stdout: string;
  readonly stderr: string;
}

export async function runSweep(args: readonly string[], options: SpawnOptions = {}): Promise<CliResult> {
  const run = startSweep(args, options);
  const exit = await run.exited;
  return { ...exit, stdout: run.stdout, stderr: run.stderr };
}
