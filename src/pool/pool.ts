// distributed_computing's Pool, durable: each `map` is a sweep of a worker class (one trial per item), so the
// script that drives it may die, and `Pool.attach(sweepId)` picks its results up again, each trial's once.
import type { Client } from '@temporalio/client';
import { connectClient, resolveConnectionConfig, type ConnectionConfig } from '../temporal/connection-config.js';
import { ConfigError } from '../errors.js';
import { parseSpec } from '../sweep-spec/load-spec.js';
import { formatProblem } from '../sweep-spec/problems.js';
import type { JsonValue } from '../sweep-spec/spec-types.js';
import { CONTROL_QUEUE, DEFAULT_POOL, workerClassLabel } from '../temporal/names.js';
import { fileVersion, classModuleFile } from '../worker-class/class-version.js';
import type { TrialSummary } from '../workflows/types.js';
import { sendUpdate } from '../cli/commands/signal.js';
import { registeredWorkers, type RegisteredWorker } from '../cli/pool-capacity.js';
import { DEFAULT_SWEEP_OPTIONS, startSweep, sweepMemo } from '../cli/sweep-client.js';
import { finishedTrials } from './finished-trials.js';

export interface PoolOptions {
  /** `trainer:Trainer`: the class the workers run (`sweep worker --python trainer:Trainer`). */
  readonly workerClass: string;
  /** Handed to each worker's `__init__`; absent: the workers' own `--init`. */
  readonly init?: JsonValue;
  readonly pool?: string;
  /** Per job: a `run` that takes longer is stopped, and its process started again. */
  readonly timeoutSeconds?: number;
  /** Retries of a job whose `run` raised (default 0: its exception is the job's answer). */
  readonly retries?: number;
  /** Where the class's module file lies, as the workers' project copy has it (default: the current directory). */
  readonly projectDir?: string;
  /** Only for a cluster isolated on its own workflow queue (`sweep worker --control-queue`). */
  readonly controlQueue?: string;
  /** Default: TEMPORAL_ADDRESS and the other TEMPORAL_* variables, as the CLI reads them. */
  readonly connection?: ConnectionConfig;
}

/** A job whose `run` raised (or that was cancelled): its trial says why. */
export class PoolJobError extends Error {
  constructor(readonly trial: TrialSummary) {
    super(`job ${trial.index} (${trial.name}) ${trial.state}: ${trial.cause ?? trial.error ?? ''}`);
  }
}

/** An item as a trial's parameters: a mapping is `run(**item)` (`{args, kwargs}` spreads), anything else `run(item)`. */
function trialParams(item: JsonValue): Record<string, JsonValue> {
  return item !== null && typeof item === 'object' && !Array.isArray(item) ? item : { args: [item] };
}

/** The results of one sweep of the pool, as they finish or in input order. */
export class PoolRun {
  constructor(
    private readonly client: Client,
    readonly sweepId: string,
  ) {}

  /** Results as jobs finish; a failed job throws when it is reached. */
  async *imapUnordered(): AsyncGenerator<JsonValue> {
    for await (const trial of finishedTrials(this.client, this.sweepId)) yield valueOf(trial);
  }

  /** Results in input order, each as soon as it and those before it are done. */
  async *imap(): AsyncGenerator<JsonValue> {
    const done = new Map<number, TrialSummary>();
    let next = 0;
    for await (const trial of finishedTrials(this.client, this.sweepId)) {
      done.set(trial.index, trial);
      for (let ready = done.get(next); ready; ready = done.get(next)) {
        done.delete(next++);
        yield valueOf(ready);
      }
    }
  }

  async results(): Promise<JsonValue[]> {
    const all: JsonValue[] = [];
    for await (const value of this.imap()) all.push(value);
    return all;
  }
}

function valueOf(trial: TrialSummary): JsonValue {
  if (trial.state !== 'succeeded') throw new PoolJobError(trial);
  return trial.value ?? null;
}

export class Pool {
  private readonly started: string[] = [];

  private constructor(
    private readonly client: Client,
    private readonly options: PoolOptions & { readonly version: string },
  ) {}

  static async open(options: PoolOptions): Promise<Pool> {
    const projectDir = options.projectDir ?? process.cwd();
    const file = classModuleFile(options.workerClass, projectDir);
    if (!file) throw new ConfigError([`Pool ${options.workerClass}: no module file for it under ${projectDir}`]);
    const client = await connectClient(options.connection ?? resolveConnectionConfig({}));
    return new Pool(client, { ...options, projectDir, version: fileVersion(file) });
  }

  /** The results of a sweep a Pool started, even one whose script has died since. */
  static async attach(sweepId: string, connection?: ConnectionConfig): Promise<PoolRun & { close(): Promise<void> }> {
    const client = await connectClient(connection ?? resolveConnectionConfig({}));
    await sweepMemo(client, sweepId);
    return Object.assign(new PoolRun(client, sweepId), { close: () => client.connection.close() });
  }

  /** Starts one sweep with a trial per item; what `map` and the `imap`s run. */
  async submit(items: readonly JsonValue[]): Promise<PoolRun> {
    const document = {
      name: `pool-${(this.options.workerClass.split(':')[1] ?? 'class').toLowerCase()}`.slice(0, 63),
      worker_class: this.options.workerClass,
      ...(this.options.init === undefined ? {} : { init: this.options.init }),
      pool: this.options.pool ?? DEFAULT_POOL,
      retries: this.options.retries ?? 0,
      ...(this.options.timeoutSeconds === undefined ? {} : { timeout: this.options.timeoutSeconds }),
      trials: items.map(trialParams),
    };
    const parsed = parseSpec(JSON.stringify(document));
    if (!parsed.ok) throw new ConfigError(parsed.problems.map((problem) => formatProblem('Pool', problem)));
    const sweepId = await startSweep(this.client, parsed.spec, {
      ...DEFAULT_SWEEP_OPTIONS,
      pool: parsed.spec.pool,
      controlQueue: this.options.controlQueue ?? CONTROL_QUEUE,
      startDir: this.options.projectDir ?? process.cwd(),
    });
    this.started.push(sweepId);
    return new PoolRun(this.client, sweepId);
  }

  /** The last sweep this pool started: what `Pool.attach` takes after a crash. */
  get sweepId(): string | undefined {
    return this.started.at(-1);
  }

  async map(items: readonly JsonValue[]): Promise<JsonValue[]> {
    return (await this.submit(items)).results();
  }

  async *imap(items: readonly JsonValue[]): AsyncGenerator<JsonValue> {
    yield* (await this.submit(items)).imap();
  }

  async *imapUnordered(items: readonly JsonValue[]): AsyncGenerator<JsonValue> {
    yield* (await this.submit(items)).imapUnordered();
  }

  /** A cache update to every running job of this pool's sweeps (`handle_update` now) and every later one. */
  async updateWorkers(data: JsonValue): Promise<void> {
    const payload = trialParams(data);
    for (const sweepId of this.started) {
      const memo = await sweepMemo(this.client, sweepId);
      if (memo.status === 'RUNNING') await sendUpdate(this.client, sweepId, payload);
    }
  }

  /** The live workers that run this class at this version. */
  async workers(): Promise<RegisteredWorker[]> {
    const label = workerClassLabel({ ref: this.options.workerClass, version: this.options.version });
    const all = (await registeredWorkers(this.client, this.options.pool ?? DEFAULT_POOL)) ?? [];
    return all.filter((worker) => worker.capacity.labels.worker_class === label);
  }

  async workerCount(): Promise<number> {
    return (await this.workers()).length;
  }

  /** Machines, not processes: workers on one host count once. */
  async nodeCount(): Promise<number> {
    return new Set((await this.workers()).map((worker) => worker.hostName)).size;
  }

  /** Resolves once `count` workers of this class are live; rejects after `timeoutMs`. */
  async waitForWorkers(count: number, timeoutMs = Infinity): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = await this.workerCount();
      if (live >= count) return live;
      if (Date.now() > deadline) throw new Error(`only ${live} of ${count} ${this.options.workerClass} worker(s) live`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** The sweeps go on (they are durable); only this connection ends. */
  async close(): Promise<void> {
    await this.client.connection.close();
  }
}
