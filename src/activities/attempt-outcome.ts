import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../host/json-file.js';
import { logFileName } from '../temporal/names.js';
import { attemptFailure } from '../workflows/attempt-failures.js';
import type { RunTrialResult } from '../workflows/types.js';
import { describeExit } from './exit-status.js';
import { readExitRecord } from './exit-record.js';
import type { JsonValue } from '../sweep-spec/spec-types.js';
import { decodeMetric, encodeMetric, type MetricValues } from '../workflows/metric-values.js';
import { MetricTracker, type MetricReport } from './metric-lines.js';

type Objective = ConstructorParameters<typeof MetricTracker>[0];

/**
 * What an attempt's process did, written into the trial's directory the moment it exits and before it is
 * reported: Temporal is at-least-once, and a worker can die between the two. Whoever finds the record (the
 * worker that takes over the queue, or the next attempt of the trial on a host that sees the directory)
 * reports it instead of running the command again.
 */
export const attemptOutcomeSchema = z.object({
  /** The trial workflow's run: a record of another run of the same trial (a retry sweep) is never adopted. */
  runId: z.string(),
  attempt: z.number().int().positive(),
  exitCode: z.number().int(),
  signal: z.string().nullable(),
  metrics: z.record(z.string(), z.union([z.number(), z.enum(['nan', 'inf', '-inf'])])),
  best: z.number().optional(),
  bestStep: z.number().optional(),
  step: z.number().optional(),
  /** The sweep's metric over the steps, thinned (metric-curve.ts). */
  curve: z.array(z.tuple([z.number(), z.number()])).optional(),
  startedAt: z.number(),
  endedAt: z.number(),
  worker: z.string(),
  host: z.string(),
  stderrTail: z.string(),
  /** Metric lines that could not be read, said once. */
  metricWarning: z.string().optional(),
  /** What a worker class's `run` returned (`null` for None is a result too); absent for a command. */
  value: z.json().optional(),
});
export type AttemptOutcome = z.infer<typeof attemptOutcomeSchema>;

/** Where one attempt's records live, beside its logs: `logs/<sweep>.attempt-N.{outcome.json,exit}`. */
export interface AttemptFiles {
  readonly outcome: string;
  /** Written by the trial's supervisor (`<status> <runId> <worker>`), which outlives the worker by the exit itself. */
  readonly exit: string;
  readonly stdout: string;
  /** A worker class's `run` return value, `{"run": <runId>, "value": …}`, written by its process before it says so. */
  readonly value: string;
}

export function attemptFiles(trialDir: string, sweepId: string, attempt: number): AttemptFiles {
  const logs = join(trialDir, 'logs');
  const base = join(logs, `${sweepId}.attempt-${attempt}`);
  return {
    outcome: `${base}.outcome.json`,
    exit: `${base}.exit`,
    stdout: join(logs, logFileName(sweepId, attempt, 'stdout')),
    value: `${base}.value.json`,
  };
}

const valueFileSchema = z.object({ run: z.string(), value: z.json() });

/**
 * What the attempt's `run` returned, as its class process recorded it (undefined for a command or another run);
 * a returned mapping's numbers go into `tracker` as the trial's final metrics.
 */
export function readReturnedValue(
  files: AttemptFiles,
  runId: string,
  tracker: MetricTracker,
): { value: JsonValue } | undefined {
  if (!existsSync(files.value)) return undefined;
  const recorded = readJsonFile(files.value, valueFileSchema);
  if (recorded?.run !== runId) return undefined;
  const metrics = metricsOfValue(recorded.value);
  if (metrics) tracker.record(metrics);
  return { value: recorded.value };
}

/** A returned mapping's numbers are the trial's final metrics (`step` its step), as if printed last. */
function metricsOfValue(value: JsonValue): MetricReport | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const metrics: MetricValues = {};
  let step: number | undefined;
  for (const [key, entry] of Object.entries(value)) {
    const number = decodeMetric(entry === null ? undefined : entry);
    if (number === undefined) continue;
    if (key === 'step') step = number;
    else metrics[key] = encodeMetric(number);
  }
  if (Object.keys(metrics).length === 0 && step === undefined) return undefined;
  return { ...(step === undefined ? {} : { step }), metrics };
}

/** Written whole or not at all (rename), so a reader never sees half a record. */
export function writeOutcome(files: AttemptFiles, outcome: AttemptOutcome): void {
  writeFileSync(`${files.outcome}.tmp`, JSON.stringify(outcome));
  renameSync(`${files.outcome}.tmp`, files.outcome);
}

/**
 * The recorded outcome of attempt `files` of trial run `runId`, if its process finished. Falls back to the
 * supervisor's exit status when the worker died before writing the record: the metrics are then read back
 * from the attempt's stdout log, which may lack the lines still in the pipe when the worker died.
 */
export function readOutcome(
  files: AttemptFiles,
  runId: string,
  attempt: number,
  objective: Objective,
): AttemptOutcome | undefined {
  if (existsSync(files.outcome)) {
    const recorded = readJsonFile(files.outcome, attemptOutcomeSchema);
    return recorded?.runId === runId && recorded.attempt === attempt ? recorded : undefined;
  }
  const record = readExitRecord(files.exit);
  if (record?.runId !== runId) return undefined;
  // Death by a signal may have been the worker's own kill, cut short before it could say so: run again.
  if (record.status > 128) return undefined;
  const tracker = new MetricTracker(objective);
  const stdout = existsSync(files.stdout) ? readFileSync(files.stdout, 'utf8') : '';
  for (const line of stdout.split('\n')) tracker.read(line);
  const returned = readReturnedValue(files, runId, tracker);
  // A sweep metric missing from the log may only have been lost with the worker's pipe: run again instead.
  if (objective && tracker.metrics[objective.name] === undefined) return undefined;
  return {
    runId,
    attempt,
    exitCode: record.status,
    signal: null,
    ...tracker.snapshot(),
    curve: tracker.curve.values(),
    // A record without times (a host without GNU date) dates the attempt by its files.
    startedAt:
      record.startedAt ??
      (existsSync(files.stdout) ? statSync(files.stdout).birthtimeMs : statSync(files.exit).mtimeMs),
    endedAt: record.endedAt ?? statSync(files.exit).mtimeMs,
    worker: record.worker,
    host: '',
    stderrTail: '',
    ...(returned ?? {}),
  };
}

/**
 * The last non-empty stderr line, or the exit described: what a person reads first about a failure. A death by
 * signal says so first, since the last line then is only where it was.
 */
function causeOf(outcome: AttemptOutcome): string {
  const exit = describeExit(outcome.exitCode, outcome.signal as NodeJS.Signals | null);
  const last = outcome.stderrTail
    .split('\n')
    .reverse()
    .find((line) => line.trim() !== '')
    ?.trim();
  if (!last) return exit;
  return outcome.exitCode > 128 || outcome.signal ? `${exit.replace(/^(exit|signal) \S+: /, '')}: ${last}` : last;
}

/**
 * The attempt's report: its result when the command succeeded and reported the sweep's metric; otherwise the
 * failure is thrown. One function for the live attempt, an adopted one and one reported by a successor.
 */
export function reportOutcome(
  outcome: AttemptOutcome,
  objective: Objective,
  how: {
    readonly adoptedFrom?: number;
    readonly reportedBy?: string;
    readonly command?: string;
    readonly cwd?: string;
  },
): RunTrialResult {
  const note = how.adoptedFrom
    ? ` (the outcome of attempt ${how.adoptedFrom}, whose worker died before reporting it)`
    : how.reportedBy
      ? ` (reported by ${how.reportedBy}, which took over the queue of the worker that died)`
      : '';
  const where = outcome.worker ? ` on ${outcome.worker}` : '';
  if (outcome.exitCode !== 0) {
    const exit = describeExit(outcome.exitCode, outcome.signal as NodeJS.Signals | null);
    const cause = causeOf(outcome);
    // 126 and 127 say the command could not run at all: say what was run, and where.
    const ran =
      (outcome.exitCode === 126 || outcome.exitCode === 127) && how.command ? `; ran ${how.command} in ${how.cwd}` : '';
    throw attemptFailure.commandFailed(`${exit}${where}${cause === exit ? '' : `: ${cause}`}${ran}${note}`, {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stderrTail: outcome.stderrTail,
      cause,
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
      ...(outcome.curve?.length ? { curve: outcome.curve } : {}),
    });
  }
  if (objective && outcome.metrics[objective.name] === undefined) {
    throw attemptFailure.metricMissing(
      `exited 0 but never reported the sweep's metric "${objective.name}" (print "@sweep {"${objective.name}": …}" or "${objective.name}=…")${outcome.metricWarning ? `; ${outcome.metricWarning}` : ''}${note}`,
      0,
    );
  }
  return {
    exitCode: 0,
    metrics: outcome.metrics,
    ...(outcome.best === undefined ? {} : { best: outcome.best }),
    ...(outcome.bestStep === undefined ? {} : { bestStep: outcome.bestStep }),
    ...(outcome.step === undefined ? {} : { step: outcome.step }),
    ...(outcome.curve?.length ? { curve: outcome.curve } : {}),
    runtimeMs: Math.max(0, Math.round(outcome.endedAt - outcome.startedAt)),
    startedAt: outcome.startedAt,
    endedAt: outcome.endedAt,
    worker: outcome.worker,
    host: outcome.host,
    ...(how.adoptedFrom ? { adoptedFrom: how.adoptedFrom } : {}),
    ...(how.reportedBy ? { reportedBy: how.reportedBy } : {}),
    ...('value' in outcome ? { value: outcome.value } : {}),
  };
}
