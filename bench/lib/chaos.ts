// The chaos run: trials on one-slot workers while a random worker is SIGKILLed and restarted at once on the same
// queue every few seconds, and the server is SIGKILLed and restarted. The trials' own records are the evidence:
// what ran, how often, and whether two attempts of one trial ever ran at once. Shared by `npm run bench --
// --only chaos` and the test suite's small version.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { startSweep } from '../../src/cli/sweep-client.js';
import { startDevServer, type DevServer } from '../../src/server/dev-server.js';
import { resolveTemporalBinary } from '../../src/server/temporal-binary.js';
import { parseSpec } from '../../src/sweep-spec/load-spec.js';
import { connectClient } from '../../src/temporal/connection-config.js';
import type { SweepResult } from '../../src/workflows/sweep-workflow.js';
import { processAlive } from '../../test/helpers/cluster.js';
import { peakConcurrency } from './records.js';
import { restartablePort } from '../../test/helpers/free-port.js';
import { SWEEP_BIN } from '../../test/helpers/processes.js';

export interface ChaosOptions {
  readonly trials: number;
  readonly trialSeconds: number;
  readonly workers: number;
  /** A random worker is SIGKILLed (and restarted at once) this often. */
  readonly killEverySeconds: number;
  readonly serverRestarts: number;
  readonly heartbeatTimeoutSeconds: number;
  /** Where the server's history, the workers' data and the records live. */
  readonly dir: string;
}

export interface ChaosResult {
  readonly trials: number;
  readonly succeeded: number;
  /** Trials that did not succeed. */
  readonly lost: number;
  /** Trials whose command ran to its end more than once. */
  readonly completedMoreThanOnce: number;
  /** The most attempts of one trial alive at one moment (a killed attempt ends at its last beat). */
  readonly mostConcurrentAttempts: number;
  /** Trial processes still alive once the sweep ended and the workers stopped. */
  readonly orphans: number;
  readonly wallSeconds: number;
  readonly workerKills: number;
  readonly serverRestarts: number;
  /** Attempts started, over all trials (more than `trials` when killed attempts ran again). */
  readonly attemptsStarted: number;
  /** Worker exits that no kill of ours caused (a crash during an outage, say). */
  readonly unexpectedWorkerExits: number;
}

const TRIAL_SCRIPT = fileURLToPath(new URL('../chaos-trial.sh', import.meta.url));

interface Span {
  readonly pid: number;
  readonly start: number;
  last: number;
  ended: boolean;
}

/** Each trial's attempts as the trial processes recorded them. */
function readSpans(file: string): Map<number, Span[]> {
  const byTrial = new Map<number, Span[]>();
  const byPid = new Map<number, Span>();
  if (!existsSync(file)) return byTrial;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [event, index, pid, time] = line.split(' ');
    if (!event || index === undefined || pid === undefined || time === undefined) continue;
    if (event === 'start') {
      const span: Span = { pid: Number(pid), start: Number(time), last: Number(time), ended: false };
      byPid.set(span.pid, span);
      byTrial.set(Number(index), [...(byTrial.get(Number(index)) ?? []), span]);
      continue;
    }
    const span = byPid.get(Number(pid));
    if (!span) continue;
    span.last = Number(time);
    if (event === 'end') span.ended = true;
  }
  return byTrial;
}

/** The most attempts of one trial alive at once: a killed attempt (no end) counts until its last beat. */
function mostConcurrent(spans: readonly Span[]): number {
  return peakConcurrency(spans.map((span) => ({ index: 0, start: span.start, end: span.last, pid: span.pid })));
}

/** Waits for a sweep's result across server restarts (the long poll fails while the server is down). */
async function resultAcrossRestarts(client: Client, sweepId: string): Promise<SweepResult> {
  for (;;) {
    try {
      return (await client.workflow.getHandle(sweepId).result()) as SweepResult;
    } catch (error) {
      if ((error as Error).name === 'WorkflowFailedError') throw error;
      await delay(500);
    }
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  mkdirSync(options.dir, { recursive: true });
  const binary = await resolveTemporalBinary();
  const serverOptions = {
    binary: binary.path,
    ip: '127.0.0.1',
    port: await restartablePort(),
    dbFile: join(options.dir, 'temporal.db'),
    logFile: join(options.dir, 'temporal.log'),
  };
  let server: DevServer = await startDevServer(serverOptions);
  const client = await connectClient({ address: server.address, namespace: 'default', tls: false });
  const pool = `chaos-${process.pid}`;
  const records = join(options.dir, 'records.txt');
  const workers = new Map<string, ChildProcess>();
  let stopping = false;
  let kills = 0;
  let unexpectedExits = 0;
  const killed = new Set<ChildProcess>();

  const startWorker = (name: string): Promise<void> => {
    const worker = spawn(
      process.execPath,
      [SWEEP_BIN, 'worker', '--cpu-slots', '1', '--queue', name, '--pool', pool, '--data-dir', options.dir],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TEMPORAL_ADDRESS: server.address } },
    );
    workers.set(name, worker);
    // A worker that dies by itself is restarted too, and counted: under chaos that must not happen.
    worker.once('exit', () => {
      if (stopping || killed.has(worker)) return;
      unexpectedExits++;
      void startWorker(name);
    });
    return new Promise((resolve) => {
      worker.stdout?.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('ready') && resolve());
      worker.once('exit', () => resolve());
    });
  };
  const names = Array.from({ length: options.workers }, (_, i) => `${pool}-w${i + 1}`);
  await Promise.all(names.map(startWorker));

  const spec = parseSpec(
    [
      'name: chaos',
      `command: [bash, ${JSON.stringify(TRIAL_SCRIPT)}, "{i}", "${options.trialSeconds}", ${JSON.stringify(records)}]`,
      'args: none',
      'parameters:',
      `  i: { range: [0, ${options.trials}] }`,
    ].join('\n'),
    { pool },
  );
  if (!spec.ok) throw new Error('chaos spec is invalid');
  const started = performance.now();
  const sweepId = await startSweep(client, spec.spec, {
    heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
    window: 64,
    pool,
    controlQueue: 'sweep-control',
    continueAsNewAfterEvents: 5000,
    maxLostAttempts: 10,
  });

  // The faults: a worker every `killEverySeconds`; the server spread evenly over the sweep's ideal time.
  const idealSeconds = (options.trials * options.trialSeconds) / options.workers;
  const restartAt = Array.from(
    { length: options.serverRestarts },
    (_, i) => (started + ((i + 1) * idealSeconds * 1000) / (options.serverRestarts + 1)) | 0,
  );
  let restarts = 0;
  const result = resultAcrossRestarts(client, sweepId);
  let done = false;
  void result.finally(() => (done = true));
  const faults = (async () => {
    let nextKill = performance.now() + options.killEverySeconds * 1000;
    while (!done) {
      await delay(100);
      if (done) break;
      if (restarts < restartAt.length && performance.now() >= (restartAt[restarts] ?? Infinity)) {
        await server.kill();
        server = await startDevServer(serverOptions);
        restarts++;
      }
      if (performance.now() >= nextKill) {
        nextKill += options.killEverySeconds * 1000;
        const name = names[Math.floor(Math.random() * names.length)] ?? '';
        const victim = workers.get(name);
        if (!victim) continue;
        killed.add(victim);
        const exited = new Promise((resolve) => victim.once('exit', resolve));
        victim.kill('SIGKILL');
        await exited;
        kills++;
        await startWorker(name);
      }
    }
  })();

  const outcome = await result;
  await faults;
  const wallSeconds = (performance.now() - started) / 1000;
  stopping = true;
  await Promise.all(
    [...workers.values()].map(async (worker) => {
      if (worker.exitCode !== null || worker.signalCode !== null) return;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }),
  );
  await client.connection.close();
  await server.stop();

  const spans = readSpans(records);
  const all = [...spans.values()];
  return {
    trials: options.trials,
    succeeded: outcome.counts.succeeded,
    lost: options.trials - outcome.counts.succeeded,
    completedMoreThanOnce: all.filter((attempts) => attempts.filter((span) => span.ended).length > 1).length,
    mostConcurrentAttempts: Math.max(0, ...all.map(mostConcurrent)),
    orphans: all.flat().filter((span) => processAlive(span.pid)).length,
    wallSeconds,
    workerKills: kills,
    serverRestarts: restarts,
    attemptsStarted: all.flat().length,
    unexpectedWorkerExits: unexpectedExits,
  };
}
