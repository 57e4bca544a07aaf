import { execFile, type ChildProcess } from 'node:child_process';
import { describeExit } from '../activities/exit-status.js';
import {
  COMPUTE_APPS_QUERY_ARGS,
  GPU_QUERY_ARGS,
  parseComputeApps,
  parseNvidiaSmi,
  type GpuInfo,
  type GpuProcess,
} from './gpu-probe.js';
import { readHostLoad, type CpuTicks, type HostLoad } from './host-load.js';

/** Why the latest measurement of the GPUs failed; the figures beside it are the last good ones. */
export interface MeasureError {
  readonly at: number;
  readonly message: string;
}

/** What a host has free, as last measured. */
export interface MonitorSnapshot {
  /** When `gpus` and `processes` were read; undefined until nvidia-smi first answered. */
  readonly at: number | undefined;
  /** Undefined where the host has no nvidia-smi (CPU only), or before nvidia-smi first answered (`error` says why). */
  readonly gpus: readonly GpuInfo[] | undefined;
  readonly processes: readonly GpuProcess[];
  /** Read on every round, whatever nvidia-smi does. */
  readonly host: HostLoad;
  /** Set while nvidia-smi fails or hangs; cleared by its next answer. */
  readonly error: MeasureError | undefined;
}

export interface GpuMonitorOptions {
  /** Between the end of one measurement and the start of the next. */
  readonly intervalMs?: number;
  /** How long one nvidia-smi may take before it is killed and the round counts as failed. */
  readonly timeoutMs?: number;
  readonly command?: string;
  /** false: a host measured for RAM and CPU only (a CPU worker), without running nvidia-smi at all. */
  readonly gpus?: boolean;
  /** The environment nvidia-smi runs in (tests put a fake first on PATH). */
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
}

type Listener = (snapshot: MonitorSnapshot) => void;

interface GpuReading {
  readonly gpus: GpuInfo[] | undefined;
  readonly processes: GpuProcess[];
}

/** nvidia-smi failed; `message` names the command, how it ended and the tail of what it said. */
class NvidiaSmiError extends Error {
  override readonly name = 'NvidiaSmiError';
}

/** The spawn error code that means there is no such program. */
const NOT_FOUND = 'ENOENT';

/**
 * Measures this host's GPUs (through nvidia-smi), free RAM and CPU load every `intervalMs`, without ever
 * blocking the event loop: nvidia-smi runs as an asynchronous child with a timeout. A failing or hanging
 * nvidia-smi leaves the last good figures in place and sets `error`; nothing is thrown at the caller.
 */
export class GpuMonitor {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly command: string;
  private readonly withGpus: boolean;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly now: () => number;
  private readonly listeners = new Set<Listener>();
  /** nvidia-smi children not yet exited, including killed ones that have not gone (stuck in the driver). */
  private readonly children = new Set<ChildProcess>();
  private latest: MonitorSnapshot | undefined;
  private ticks: CpuTicks | undefined;
  private round: Promise<MonitorSnapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping = false;

  constructor(options: GpuMonitorOptions = {}) {
    this.intervalMs = options.intervalMs ?? 3000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.command = options.command ?? 'nvidia-smi';
    this.withGpus = options.gpus ?? true;
    this.env = options.env;
    this.now = options.now ?? Date.now;
  }

  /** The latest snapshot; undefined until the first round has finished. */
  get snapshot(): MonitorSnapshot | undefined {
    return this.latest;
  }

  /**
   * Calls `listener` with every snapshot that differs from the one before, times aside (on a busy host the load
   * figures move, so that is most rounds); returns an unsubscribe.
   */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts measuring; resolves with the first snapshot. */
  async start(): Promise<MonitorSnapshot> {
    this.running = true;
    this.stopping = false;
    return this.measure();
  }

  /** Stops measuring and kills a running nvidia-smi; resolves once the round in progress has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const child of this.children) child.kill('SIGKILL');
    await this.round;
  }

  /** Measures now (joining a round already in progress), e.g. just before placing a trial. */
  measure(): Promise<MonitorSnapshot> {
    this.round ??= this.measureOnce().finally(() => {
      this.round = undefined;
      this.schedule();
    });
    return this.round;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.running) return;
    // Unref'd: measuring never keeps a process alive on its own.
    this.timer = setTimeout(() => {
      // measureOnce turns every failure into a snapshot; this is for a bug, which must not crash the worker.
      this.measure().catch((error: unknown) =>
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'GpuMonitor'),
      );
    }, this.intervalMs).unref();
  }

  private async measureOnce(): Promise<MonitorSnapshot> {
    const [gpu, host] = await Promise.all([
      this.readGpus().then(
        (reading) => ({ reading, error: undefined }),
        (error: unknown) => ({ reading: undefined, error: error instanceof Error ? error.message : String(error) }),
      ),
      readHostLoad(this.ticks, this.now),
    ]);
    this.ticks = host.ticks ?? this.ticks;
    const previous = this.latest;
    // An nvidia-smi that stop() killed did not fail.
    if (this.stopping && previous && !gpu.reading) return previous;
    const at = this.now();
    const snapshot: MonitorSnapshot = gpu.reading
      ? { at, ...gpu.reading, host: host.load, error: undefined }
      : {
          at: previous?.at,
          gpus: previous?.gpus,
          processes: previous?.processes ?? [],
          host: host.load,
          error: { at, message: gpu.error ?? 'nvidia-smi failed' },
        };
    this.latest = snapshot;
    if (!previous || changed(previous, snapshot)) {
      for (const listener of this.listeners) {
        try {
          listener(snapshot);
        } catch (error) {
          // A listener's bug must not stop the measuring, nor go unseen.
          process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'GpuMonitorListener');
        }
      }
    }
    return snapshot;
  }

  private async readGpus(): Promise<GpuReading> {
    if (!this.withGpus) return { gpus: undefined, processes: [] };
    // Children leave the set when they exit, so any still here is left from an earlier round.
    const stuck = [...this.children];
    if (stuck.length > 0) {
      // A child that ignores SIGKILL is stuck in the driver; starting more would only pile them up.
      throw new NvidiaSmiError(
        `${this.command}: an earlier run (pid ${stuck.map((child) => child.pid).join(', ')}) has not exited ` +
          'after being killed: the GPU driver may be hung',
      );
    }
    // Both settle before the round ends, so that no child of this round outlives it.
    const [gpuRun, appsRun] = await Promise.allSettled([this.run(GPU_QUERY_ARGS), this.run(COMPUTE_APPS_QUERY_ARGS)]);
    if (gpuRun.status === 'rejected') throw gpuRun.reason;
    if (appsRun.status === 'rejected') throw appsRun.reason;
    const [gpus, apps] = [gpuRun.value, appsRun.value];
    if (gpus === undefined || apps === undefined) {
      if (this.latest?.gpus !== undefined) {
        throw new NvidiaSmiError(`${this.command}: no longer found (it answered before)`);
      }
      return { gpus: undefined, processes: [] };
    }
    return { gpus: parseNvidiaSmi(gpus), processes: parseComputeApps(apps) };
  }

  /** nvidia-smi's stdout; undefined when there is no nvidia-smi; throws when it fails or takes too long. */
  private run(args: readonly string[]): Promise<string | undefined> {
    const what = `${this.command} ${args[0] ?? ''}`;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        finish();
      };
      const child = execFile(
        this.command,
        args,
        { encoding: 'utf8', env: this.env, maxBuffer: 4 * 1024 * 1024 },
        (error, stdout, stderr) =>
          settle(() => {
            if (!error) return resolve(stdout);
            if ((error as NodeJS.ErrnoException).code === NOT_FOUND) return resolve(undefined);
            const code = typeof error.code === 'number' ? error.code : null;
            const said = tail(`${stderr}\n${stdout}`);
            const how = code === null && !error.signal ? error.message : describeExit(code, error.signal ?? null);
            reject(new NvidiaSmiError(`${what}: ${how}${said ? `: ${said}` : ''}`));
          }),
      );
      this.children.add(child);
      child.once('exit', () => this.children.delete(child));
      // Our own timer rather than execFile's: its callback waits for the child to close its output, which a
      // child stuck in the driver never does.
      const timer = setTimeout(
        () =>
          settle(() => {
            child.kill('SIGKILL');
            reject(new NvidiaSmiError(`${what}: no answer in ${this.timeoutMs} ms (killed)`));
          }),
        this.timeoutMs,
      );
    });
  }
}

/** The last few lines of what a command said, on one line. */
function tail(output: string): string {
  return output.trim().split(/\r?\n/).slice(-3).join(' / ').slice(-500);
}

function changed(before: MonitorSnapshot, after: MonitorSnapshot): boolean {
  const strip = ({ at: _at, error, host: { at: _hostAt, ...host }, ...rest }: MonitorSnapshot) =>
    JSON.stringify({ ...rest, host, error: error?.message });
  return strip(before) !== strip(after);
}
