// The real sweep and trial workflows on an in-process Worker, with `runTrial` replaced by a script per test:
// the workflows' decisions (retries, lost workers, the window, continue-as-new) without spawned processes.
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { parseSpec } from '../../src/sweep-spec/load-spec.js';
import { formatProblem } from '../../src/sweep-spec/problems.js';
import type { SweepSpec } from '../../src/sweep-spec/spec-types.js';
import { poolQueue } from '../../src/temporal/names.js';
import type { RunTrialInput, RunTrialResult, SweepOptions } from '../../src/workflows/types.js';
import { sharedServerClient, sharedServerConfig, uniqueName } from './temporal.js';

const WORKFLOWS = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

/** The activity worker's identity, `<queue>#<pid>` as a real worker's: failures carry it. */
export const MOCK_WORKER_IDENTITY = 'w1#42';

/** One call of the mocked `runTrial`, as the worker saw it (times on this process's clock). */
export interface MockCall {
  readonly input: RunTrialInput;
  readonly startedAt: number;
  endedAt?: number;
}

/** What one test's `runTrial` does: return a result or throw what the real activity throws. */
export type TrialScript = (input: RunTrialInput, call: number) => RunTrialResult | Promise<RunTrialResult>;

interface Scripted {
  readonly script: TrialScript;
  readonly calls: MockCall[];
}

/**
 * Workers log at WARN, minus the failed activities and workflows these tests cause on purpose. Installs the
 * process's Runtime: use it instead of quietWorkerRuntime, never beside it.
 */
let runtimeInstalled = false;

function quietMockRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const expected = /^(Activity failed|Workflow failed|No (workflows|activities) registered)/;
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!expected.test(entry.message)) process.stderr.write(`[${entry.level}] ${entry.message}\n`);
    }),
  });
}

/** A workflow worker on a unique control queue and an activity worker on a unique pool, for one test file. */
export class MockTrialWorkers {
  private constructor(
    /** Scripts by the spec's `name`, which each test makes unique; the mocked activity reads them. */
    private readonly scripts: Map<string, Scripted>,
    readonly client: Client,
    readonly pool: string,
    readonly controlQueue: string,
    private readonly connection: NativeConnection,
    private readonly workers: readonly Worker[],
    private readonly running: Promise<unknown>,
  ) {}

  static async start(): Promise<MockTrialWorkers> {
    quietMockRuntime();
    const pool = uniqueName('mock');
    const controlQueue = uniqueName('mock-control');
    const connection = await NativeConnection.connect({ address: sharedServerConfig().address });
    const scripts = new Map<string, Scripted>();
    const runTrial = async (input: RunTrialInput): Promise<RunTrialResult> => {
      // Sweep IDs start with the spec's name (`<name>-<time>-<suffix>`), which each test makes unique.
      const name = [...scripts.keys()].find((key) => input.plan.sweepId.startsWith(`${key}-`));
      const scripted = name === undefined ? undefined : scripts.get(name);
      if (!scripted) throw new Error(`no script for sweep ${input.plan.sweepId}`);
      const call: MockCall = { input, startedAt: Date.now() };
      scripted.calls.push(call);
      try {
        return await scripted.script(input, scripted.calls.length);
      } finally {
        call.endedAt = Date.now();
      }
    };
    const workers = [
      await Worker.create({
        connection,
        taskQueue: poolQueue(pool),
        identity: MOCK_WORKER_IDENTITY,
        activities: { runTrial },
        // As the real worker: a heartbeat reaches the server within half a second.
        maxHeartbeatThrottleInterval: '500ms',
        defaultHeartbeatThrottleInterval: '500ms',
        shutdownForceTime: '5s',
      }),
      await Worker.create({ connection, taskQueue: controlQueue, workflowsPath: WORKFLOWS }),
    ];
    const running = Promise.all(workers.map((worker) => worker.run()));
    return new MockTrialWorkers(scripts, await sharedServerClient(), pool, controlQueue, connection, workers, running);
  }

  /** Registers the script for trials of the spec named `name`; returns its call log, filled as calls arrive. */
  script(name: string, script: TrialScript): MockCall[] {
    const calls: MockCall[] = [];
    this.scripts.set(name, { script, calls });
    return calls;
  }

  options(overrides: Partial<SweepOptions> = {}): SweepOptions {
    return {
      heartbeatTimeoutSeconds: 30,
      window: 4,
      pool: this.pool,
      controlQueue: this.controlQueue,
      continueAsNewAfterEvents: 5000,
      maxLostAttempts: 10,
      ...overrides,
    };
  }

  async stop(): Promise<void> {
    for (const worker of this.workers) worker.shutdown();
    await this.running;
    await this.client.connection.close();
    await this.connection.close();
  }
}

/** A spec named `name` (unique per test) with the given YAML keys and `parameters:` section. */
export function mockSpec(name: string, keys: string, parameters = '  x: [1]'): SweepSpec {
  const parsed = parseSpec(`name: ${name}\n${keys}\nparameters:\n${parameters}\n`, { command: ['train'] });
  if (!parsed.ok) throw new Error(parsed.problems.map((problem) => formatProblem('spec.yml', problem)).join('\n'));
  return parsed.spec;
}

/** A successful attempt's result; `overrides` set what a test asserts. */
export function resultOf(overrides: Partial<RunTrialResult> = {}): RunTrialResult {
  const now = Date.now();
  return {
    exitCode: 0,
    metrics: {},
    runtimeMs: 10,
    worker: 'w1',
    host: 'host1',
    startedAt: now - 10,
    endedAt: now,
    ...overrides,
  };
}

/** Resolves when `released` does, or rejects once the worker cancels the activity (its shutdown, say). */
export async function blockUntil(released: Promise<void>): Promise<void> {
  await Promise.race([released, Context.current().cancelled]);
}

/** A promise the test resolves when it chooses. */
export class Gate {
  readonly opened: Promise<void>;
  open!: () => void;

  constructor() {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
}

/** Polls `check` (cheap server reads, or state the mock keeps) until it returns a value, or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
