import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { startSweep } from '../../src/cli/sweep-client.js';
import { startDevServer, type DevServer } from '../../src/server/dev-server.js';
import { resolveTemporalBinary } from '../../src/server/temporal-binary.js';
import { parseSpec } from '../../src/sweep-spec/load-spec.js';
import { formatProblem } from '../../src/sweep-spec/problems.js';
import { connectClient } from '../../src/temporal/connection-config.js';
import type { SweepResult } from '../../src/workflows/sweep-workflow.js';
import type { SweepOptions } from '../../src/workflows/types.js';
import { freePort } from '../../test/helpers/free-port.js';
import { SWEEP_BIN } from '../../test/helpers/processes.js';

export interface SweepRun {
  readonly sweepId: string;
  readonly result: SweepResult;
  /** From asking the server to start the sweep to its result, in seconds. */
  readonly wallSeconds: number;
}

/** A real Temporal dev server and real `sweep worker` processes, as a researcher would run them. */
export class SweepCluster {
  private readonly workers = new Set<ChildProcess>();
  private pools = 0;

  private constructor(
    readonly server: DevServer,
    readonly client: Client,
    readonly dir: string,
  ) {}

  static async start(dir: string): Promise<SweepCluster> {
    mkdirSync(dir, { recursive: true });
    const binary = await resolveTemporalBinary();
    const server = await startDevServer({
      binary: binary.path,
      ip: '127.0.0.1',
      port: await freePort(),
      dbFile: join(dir, 'temporal.db'),
      logFile: join(dir, 'temporal.log'),
    });
    const client = await connectClient({ address: server.address, namespace: 'default', tls: false });
    return new SweepCluster(server, client, dir);
  }

  /** A fresh pool name, so one workload's leftovers never reach the next. */
  newPool(): string {
    return `bench${++this.pools}`;
  }

  /** Starts `sweep worker --cpu-slots <slots>` and resolves once it is polling. */
  async startWorker(pool: string, name: string, slots: number, flags: readonly string[] = []): Promise<ChildProcess> {
    const worker = spawn(
      process.execPath,
      [
        SWEEP_BIN,
        'worker',
        '--cpu-slots',
        String(slots),
        '--queue',
        name,
        '--pool',
        pool,
        '--data-dir',
        this.dir,
        ...flags,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TEMPORAL_ADDRESS: this.server.address } },
    );
    this.workers.add(worker);
    worker.once('exit', () => this.workers.delete(worker));
    await new Promise<void>((resolve, reject) => {
      worker.stdout?.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('ready') && resolve());
      worker.once('exit', (code) => reject(new Error(`worker ${name} exited before it was ready (code ${code})`)));
    });
    return worker;
  }

  async stopWorker(worker: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (worker.exitCode !== null || worker.signalCode !== null) return;
    const exited = once(worker, 'exit');
    worker.kill(signal);
    await exited;
  }

  /** Starts a sweep from spec text; resolves with its ID at once. */
  async startSweep(specText: string, pool: string, options: Partial<SweepOptions> = {}): Promise<string> {
    const parsed = parseSpec(specText, { pool });
    if (!parsed.ok) throw new Error(parsed.problems.map((problem) => formatProblem('bench spec', problem)).join('\n'));
    return startSweep(this.client, parsed.spec, {
      heartbeatTimeoutSeconds: 30,
      window: 64,
      pool,
      controlQueue: 'sweep-control',
      continueAsNewAfterEvents: 5000,
      maxLostAttempts: 10,
      ...options,
    });
  }

  /** Runs a sweep to its end. */
  async runSweep(specText: string, pool: string, options: Partial<SweepOptions> = {}): Promise<SweepRun> {
    const started = performance.now();
    const sweepId = await this.startSweep(specText, pool, options);
    const result = (await this.client.workflow.getHandle(sweepId).result()) as SweepResult;
    return { sweepId, result, wallSeconds: (performance.now() - started) / 1000 };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => this.stopWorker(worker)));
    await this.client.connection.close();
    await this.server.stop();
  }
}

/** Spec text for `trials` runs of bench/trial.sh sleeping `seconds`, recording into `records`. */
export function sleepSpec(trials: number, seconds: number, records: string, extra = ''): string {
  const script = fileURLToPath(new URL('../trial.sh', import.meta.url));
  return [
    'name: bench',
    `command: [bash, ${JSON.stringify(script)}, "{i}", "${seconds}", ${JSON.stringify(records)}]`,
    'args: none',
    extra,
    'parameters:',
    `  i: { range: [0, ${trials}] }`,
    '',
  ].join('\n');
}
