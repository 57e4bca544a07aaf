import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { procStat } from '../../src/activities/proc-stat.js';
import { runSweep, startSweep, type CliResult, type RunningProcess } from './processes.js';
import { tempDir, uniqueName } from './temporal.js';

export const TRIAL_SCRIPT = fileURLToPath(new URL('../fixtures/trial.mjs', import.meta.url));

export interface TrialRecord {
  readonly trial: number;
  readonly attempt: number;
  readonly sweep: string;
  readonly worker: string;
  readonly pid: number;
  readonly event: 'start' | 'end' | 'sigterm';
  readonly visibleDevices?: string;
  readonly time: number;
  readonly from?: number;
  /** The checkpoint step that SWEEP_RESUME said the previous attempt reported. */
  readonly resumedAt?: number;
  /** When the process began (a start record's `time` is its first line of JS, up to 300 ms later under load). */
  readonly launchedAt?: number;
  readonly code?: number;
}

/** One trial process's run, from its own start and end records (`to` is Infinity while it runs). */
export interface Span {
  readonly trial: number;
  readonly sweep: string;
  readonly devices: string;
  /** When the process began: from here on it holds its slot. */
  readonly launched: number;
  readonly from: number;
  readonly to: number;
  readonly code: number | undefined;
}

export function spans(records: readonly TrialRecord[]): Span[] {
  return records
    .filter((record) => record.event === 'start')
    .map((start) => {
      // A SIGTERM ends the fixture (it exits 143 at once).
      const end = records.find(
        (record) =>
          (record.event === 'end' || record.event === 'sigterm') &&
          record.pid === start.pid &&
          record.sweep === start.sweep,
      );
      return {
        trial: start.trial,
        sweep: start.sweep,
        devices: start.visibleDevices ?? '',
        launched: start.launchedAt ?? start.time,
        from: start.time,
        to: end?.time ?? Infinity,
        code: end?.event === 'sigterm' ? 143 : end?.code,
      };
    });
}

/** How many of `all` ran at the moment each of `these` started (itself included). */
export function concurrencyAtStarts(these: readonly Span[], all: readonly Span[]): number[] {
  return these.map((run) => all.filter((other) => other.from <= run.from && run.from < other.to).length);
}

/**
 * Real worker processes on their own pool and control queue, so test files share the dev server without
 * sharing work; and the records the trial fixture writes about what really ran.
 */
export class TestCluster {
  readonly pool = uniqueName('pool');
  readonly controlQueue = uniqueName('control');
  readonly dir = tempDir('cluster');
  readonly recordsFile = join(this.dir, 'records.jsonl');
  readonly workers = new Map<string, RunningProcess>();

  constructor(readonly address: string) {}

  private get env(): NodeJS.ProcessEnv {
    return { ...process.env, TEMPORAL_ADDRESS: this.address };
  }

  async startWorker(name: string, slots = 1): Promise<RunningProcess> {
    return this.startWorkerWith(name, ['--cpu-slots', String(slots), '--queue', name]);
  }

  /** A `sweep worker` with these mode flags, on this cluster's pool, control queue and data directory. */
  async startWorkerWith(
    label: string,
    flags: readonly string[],
    options: { env?: NodeJS.ProcessEnv; ready?: RegExp } = {},
  ): Promise<RunningProcess> {
    const common = [
      '--pool',
      this.pool,
      '--control-queue',
      this.controlQueue,
      '--data-dir',
      this.dir,
      '--kill-grace',
      '2',
    ];
    const worker = startSweep(['worker', ...flags, ...common], { env: { ...this.env, ...options.env } });
    this.workers.set(label, worker);
    await worker.waitForOutput(options.ready ?? /ready/);
    return worker;
  }

  /** Writes a spec for the trial fixture and starts it; returns the sweep ID. */
  async start(parameters: string, options: { settings?: string; args?: string[] } = {}): Promise<string> {
    const file = join(this.dir, `${uniqueName('spec')}.yml`);
    writeFileSync(
      file,
      `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(TRIAL_SCRIPT)}]\n` +
        `args: none\nenv: {RECORDS: ${JSON.stringify(this.recordsFile)}}\n${options.settings ?? ''}\nparameters:\n${parameters}\n`,
    );
    const result = await this.sweep(['start', file, ...(options.args ?? [])]);
    if (result.code !== 0) throw new Error(`sweep start failed (${result.code}):\n${result.stderr}`);
    return result.stdout.trim();
  }

  /** Runs the CLI against this cluster; start gets its pool and control queue. */
  sweep(args: readonly string[]): Promise<CliResult> {
    const extra = args[0] === 'start' ? ['--pool', this.pool, '--control-queue', this.controlQueue] : [];
    return runSweep([...args, ...extra], { env: this.env });
  }

  /** Waits until `sweep workers` lists the worker: its heartbeats (every 5 s) publish what it owns. */
  async waitUntilListed(worker: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const listed = await this.sweep(['workers', '--pool', this.pool]);
      if (new RegExp(`^${worker} `, 'm').test(listed.stdout)) return listed.stdout;
      if (Date.now() > deadline)
        throw new Error(`sweep workers never listed ${worker}:\n${listed.stdout}${listed.stderr}`);
      await delay(250);
    }
  }

  records(sweepId?: string): TrialRecord[] {
    if (!existsSync(this.recordsFile)) return [];
    return readFileSync(this.recordsFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as TrialRecord)
      .filter((record) => sweepId === undefined || record.sweep === sweepId);
  }

  /** Polls the records (written by other processes) until `predicate` holds. */
  async waitForRecords(predicate: (records: TrialRecord[]) => boolean, timeoutMs = 60_000): Promise<TrialRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const records = this.records();
      if (predicate(records)) return records;
      if (Date.now() > deadline) throw new Error(`records never matched:\n${JSON.stringify(records, null, 1)}`);
      await delay(50);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map((worker) => worker.signal('SIGTERM')));
  }
}

/** Alive and not a zombie: a killed process that nobody has reaped yet counts as gone. */
export function processAlive(pid: number): boolean {
  const state = procStat(pid)?.state;
  return state !== undefined && state !== 'Z';
}

/** For each trial, the [start, end] intervals of its attempts; an attempt without an end ends at `killedAt`. */
export function overlappingAttempts(records: readonly TrialRecord[], killedAt = Infinity): string[] {
  const problems: string[] = [];
  const byTrial = new Map<string, TrialRecord[]>();
  for (const record of records) {
    const key = `${record.sweep}/${record.trial}`;
    byTrial.set(key, [...(byTrial.get(key) ?? []), record]);
  }
  for (const [trial, events] of byTrial) {
    const intervals = events
      .filter((event) => event.event === 'start')
      .map((start) => {
        const end = events.find((event) => event.event !== 'start' && event.pid === start.pid);
        return { from: start.time, to: end?.time ?? killedAt, pid: start.pid };
      })
      .sort((a, b) => a.from - b.from);
    for (let i = 1; i < intervals.length; i++) {
      const [previous, current] = [intervals[i - 1], intervals[i]];
      if (previous && current && current.from < previous.to)
        problems.push(`${trial}: pid ${current.pid} started before pid ${previous.pid} ended`);
    }
  }
  return problems;
}
