// The worker's one persistent Python process for a `--python module:Class` worker (python/sweep_worker_class.py):
// loaded once, `__init__` once per init data, then a `run(**params)` per trial. A process that dies or is killed
// (timeout, cancellation, fencing) is started again, `__init__` included, before the next trial needs it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { trialProcessEnv } from '../activities/trial-env.js';
import { lineSplitter } from '../host/line-splitter.js';
import type { JsonValue } from '../sweep-spec/spec-types.js';
import { fileVersion } from './class-version.js';

const ADAPTER = fileURLToPath(new URL('../../python/sweep_worker_class.py', import.meta.url));

const eventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('loaded'), file: z.string() }),
  z.object({ event: z.literal('load-failed'), traceback: z.string() }),
  z.object({ event: z.literal('ready') }),
  z.object({ event: z.literal('init-failed'), traceback: z.string() }),
  z.object({ event: z.literal('ended'), status: z.number().int() }),
]);
type ClassEvent = z.infer<typeof eventSchema>;

export interface ClassHostOptions {
  /** `train_worker:Trainer` */
  readonly ref: string;
  /** Where Python imports the module from (the project copy). */
  readonly cwd: string;
  /** The worker's GPUs, fixed for the process's life: set before any user code loads. */
  readonly visibleDevices: string;
  /** `__init__`'s data when a trial brings none (`--init init.json`); absent: `__init__()` with no argument. */
  readonly defaultInit?: JsonValue;
  readonly python: string;
  readonly worker: string;
}

/** Where one trial's output goes while it owns the process; between trials, the worker's stderr. */
export interface OutputSink {
  readonly onStdout: (chunk: string) => void;
  readonly onStderr: (chunk: string) => void;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One generation of the Python process. */
class ClassProcess {
  readonly exited: Promise<ProcessExit>;
  private readonly waiting: ((event: ClassEvent) => void)[] = [];
  alive = true;

  constructor(
    private readonly child: ChildProcess & { stdin: Writable },
    readonly pgid: number,
    sink: () => OutputSink,
  ) {
    const [stdout, stderr, events] = [child.stdout, child.stderr, child.stdio[3]] as Readable[];
    stdout?.setEncoding('utf8').on('data', (chunk: string) => sink().onStdout(chunk));
    stderr?.setEncoding('utf8').on('data', (chunk: string) => sink().onStderr(chunk));
    const lines = lineSplitter((line) => {
      const parsed = eventSchema.safeParse(JSON.parse(line));
      if (parsed.success) for (const resolve of this.waiting.splice(0)) resolve(parsed.data);
    });
    events?.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk));
    child.stdin.on('error', () => {});
    const exit = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.exited = exit.then(async (result) => {
      this.alive = false;
      signalGroup(pgid, 'SIGKILL');
      await closed;
      return result;
    });
  }

  send(message: Record<string, unknown>): void {
    if (this.alive) this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** The next event, or the process's exit, whichever is first. */
  next(): Promise<ClassEvent | ProcessExit> {
    return Promise.race([new Promise<ClassEvent>((resolve) => this.waiting.push(resolve)), this.exited]);
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

function isExit(event: ClassEvent | ProcessExit): event is ProcessExit {
  return !('event' in event);
}

/** Says how the process ended: `exit 1`, `signal SIGKILL (killed: out of memory?)`. */
export function describeProcessExit(exit: ProcessExit): string {
  if (exit.signal === 'SIGKILL') return 'signal SIGKILL (killed: out of memory, or by hand)';
  return exit.signal ? `signal ${exit.signal}` : `exit ${exit.code ?? '?'}`;
}

export type RunOutcome =
  | { readonly kind: 'ended'; readonly status: number }
  /** The process died during the trial (a crash, the OOM killer, a kill by hand): the attempt is lost. */
  | { readonly kind: 'died'; readonly exit: ProcessExit }
  /** Its class could not be loaded or constructed, or the file changed under the worker: the traceback is in the trial's stderr. */
  | { readonly kind: 'unusable'; readonly reason: string };

export class WorkerClassHost {
  private current?: ClassProcess;
  private loading?: Promise<ClassProcess | string>;
  /** JSON of the init data the current process was constructed with, once `ready`. */
  private initialisedWith?: string;
  private lastInit?: { readonly data?: JsonValue };
  /** An `__init__` under way: a second trial waits for it rather than sending its own. */
  private initialising?: Promise<ClassProcess | RunOutcome | string>;
  private sink?: OutputSink;
  private readonly idleSink: OutputSink;

  private constructor(
    private readonly options: ClassHostOptions,
    /** The module file and its version when the worker started: what it advertises and polls for. */
    readonly file: string,
    readonly version: string,
  ) {
    const prefix = lineSplitter((line) => process.stderr.write(`[${options.ref}] ${line}\n`));
    this.idleSink = { onStdout: (chunk) => prefix.push(chunk), onStderr: (chunk) => prefix.push(chunk) };
  }

  /** Loads the class (a bad module or class name fails here, before the worker polls), and builds it ahead if it can. */
  static async start(options: ClassHostOptions): Promise<WorkerClassHost> {
    const made: { host?: WorkerClassHost } = {};
    const spawned = spawnClass(options, () => made.host?.sink ?? made.host?.idleSink ?? stderrSink);
    const loaded = await spawned.next();
    if (isExit(loaded) || loaded.event !== 'loaded') {
      const why = isExit(loaded)
        ? describeProcessExit(loaded)
        : 'traceback' in loaded
          ? (loaded.traceback.trim().split('\n').at(-1) ?? loaded.event)
          : loaded.event;
      throw new Error(`could not load the class: ${why}`);
    }
    const host = new WorkerClassHost(options, loaded.file, fileVersion(loaded.file));
    made.host = host;
    host.current = spawned;
    host.watch(spawned);
    // `__init__` (the expensive part) runs now, while no trial waits for it.
    if (options.defaultInit !== undefined) void host.initialised({ data: options.defaultInit });
    return host;
  }

  /** `train_worker:Trainer` */
  get ref(): string {
    return this.options.ref;
  }

  /** `__init__`'s data for a trial whose sweep brings none: the worker's `--init`, or no argument. */
  get defaultInit(): { readonly data?: JsonValue } {
    return this.options.defaultInit === undefined ? {} : { data: this.options.defaultInit };
  }

  /** The process group trials of this worker run in now (for GPU memory accounting and cleanup). */
  get pgid(): number {
    return this.current?.pgid ?? 0;
  }

  /** Runs one trial: (re)starts the process, constructs the class with `init` if it has not been, then `run`. */
  async run(
    init: { readonly data?: JsonValue },
    message: Record<string, unknown>,
    sink: OutputSink,
  ): Promise<RunOutcome> {
    this.sink = sink;
    try {
      const ready = await this.initialised(init);
      if (typeof ready === 'string') return { kind: 'unusable', reason: ready };
      if ('kind' in ready) return ready;
      ready.send({ op: 'run', ...message });
      for (;;) {
        const event = await ready.next();
        if (isExit(event)) return { kind: 'died', exit: event };
        if (event.event === 'ended') return { kind: 'ended', status: event.status };
      }
    } finally {
      this.sink = undefined;
    }
  }

  /** A cache update for the trial running now: `handle_update` is called at once, beside `run`. */
  update(sweepId: string, version: number, data: JsonValue): void {
    this.current?.send({ op: 'update', sweep: sweepId, version, data });
  }

  /** Stops the process (a trial's timeout, cancellation or fencing); the next one is started and built at once. */
  async stop(signal: 'SIGTERM' | 'SIGKILL', graceMs = 0): Promise<ProcessExit> {
    const python = this.current;
    if (!python) return { code: null, signal: null };
    signalGroup(python.pgid, signal);
    const timer = signal === 'SIGTERM' ? setTimeout(() => signalGroup(python.pgid, 'SIGKILL'), graceMs) : undefined;
    const exit = await python.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Kills the process for good (the worker is stopping). */
  async close(): Promise<void> {
    const python = this.current;
    this.current = undefined;
    this.lastInit = undefined;
    if (python) {
      signalGroup(python.pgid, 'SIGKILL');
      await python.exited;
    }
  }

  /** A dead process is replaced at once, and built with the last init data, so the next trial finds it ready. */
  private watch(python: ClassProcess): void {
    void python.exited.then((exit) => {
      if (this.current !== python) return;
      // One that died in `__init__` waits for the next trial: starting it again at once could loop forever.
      const wasReady = this.initialisedWith !== undefined;
      this.current = undefined;
      this.initialisedWith = undefined;
      if (!this.lastInit) return;
      this.idleSink.onStderr(
        `[sweep] the class process ended (${describeProcessExit(exit)})${wasReady ? '; starting it again' : ''}\n`,
      );
      if (wasReady) void this.initialised(this.lastInit);
    });
  }

  private async loaded(): Promise<ClassProcess | string> {
    if (this.current?.alive) return this.current;
    this.loading ??= (async () => {
      const python = spawnClass(this.options, () => this.sink ?? this.idleSink);
      const event = await python.next();
      if (isExit(event) || event.event !== 'loaded') {
        return `could not load ${this.options.ref} again (${isExit(event) ? describeProcessExit(event) : event.event})`;
      }
      const version = fileVersion(event.file);
      if (version !== this.version) {
        signalGroup(python.pgid, 'SIGKILL');
        return `${event.file} changed since the worker started (version ${this.version}, now ${version}): restart the worker to run the new class`;
      }
      this.current = python;
      this.watch(python);
      return python;
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** The live process, constructed with `init`'s data; a failed `__init__` is a string (its traceback went to the sink). */
  private async initialised(init: { readonly data?: JsonValue }): Promise<ClassProcess | RunOutcome | string> {
    this.lastInit = init;
    const key = JSON.stringify(init.data ?? null) + (init.data === undefined ? '#none' : '');
    while (this.initialising) await this.initialising.catch(() => undefined);
    const python = await this.loaded();
    if (typeof python === 'string') return python;
    if (this.initialisedWith === key) return python;
    this.initialising = (async () => {
      python.send({ op: 'init', ...(init.data === undefined ? {} : { data: init.data }) });
      const event = await python.next();
      if (isExit(event)) return { kind: 'died' as const, exit: event };
      if (event.event === 'init-failed') {
        this.initialisedWith = undefined;
        return `${this.options.ref}.__init__ raised: ${event.traceback.trim().split('\n').at(-1) ?? ''}`;
      }
      this.initialisedWith = key;
      return python;
    })().finally(() => {
      this.initialising = undefined;
    });
    return this.initialising;
  }
}

const stderrSink: OutputSink = {
  onStdout: (chunk) => process.stderr.write(chunk),
  onStderr: (chunk) => process.stderr.write(chunk),
};

function spawnClass(options: ClassHostOptions, sink: () => OutputSink): ClassProcess {
  const child = spawn(options.python, ['-u', ADAPTER, options.ref], {
    cwd: options.cwd,
    // The worker's GPUs for the process's whole life; the class's module imports from the project copy.
    env: trialProcessEnv(options.visibleDevices, { SWEEP_WORKER: options.worker }, [options.cwd]),
    // Its own process group, so a stop reaches whatever the class started (data loader workers and the like).
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  // A python that cannot start says so through `pid` below; its 'error' event must not crash the worker.
  child.on('error', () => {});
  if (child.pid === undefined) throw new Error(`could not start ${options.python} for ${options.ref}`);
  return new ClassProcess(child, child.pid, sink);
}
