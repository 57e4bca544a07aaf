// What `sweep report` puts into its page: a sweep's trials, attempts and idle time as plain JSON. Pure; the page
// (src/report/page) draws it, and a test can check every plot against it.
import type { JsonValue, ParameterSpec, SweepSpec } from '../sweep-spec/spec-types.js';
import type { MetricValues } from '../workflows/metric-values.js';
import type { AttemptRecord, SweepProgress, TrialState, TrialSummary } from '../workflows/types.js';
import type { AttemptSpan, GpuIdle } from './gpu-idle.js';

/** How a parameter's axis is drawn: a log axis for a log-scaled one, points for values that are not numbers. */
export type ParameterScale = 'log' | 'linear' | 'category';

export interface ReportParameter {
  readonly name: string;
  readonly scale: ParameterScale;
}

export interface ReportTrial {
  readonly index: number;
  readonly name: string;
  readonly params: Record<string, JsonValue>;
  readonly state: TrialState;
  readonly metrics: MetricValues;
  /** The sweep's metric as the sweep ranks it (the trial's best value); absent without one. */
  readonly value?: number;
  readonly runtimeMs?: number;
  readonly worker?: string;
  readonly attempts: number;
  readonly lostAttempts: number;
  readonly cause?: string;
  readonly curve?: readonly (readonly [number, number])[];
}

export interface ReportData {
  readonly sweepId: string;
  readonly name?: string;
  /** The sweep workflow's status, lower case: running, completed, failed, cancelled, terminated, … */
  readonly status: string;
  /** Served by `sweep report --live`: the page asks for fresh data while this is true. */
  readonly live: boolean;
  readonly generatedAt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly metric?: { readonly name: string; readonly goal: 'minimize' | 'maximize' };
  readonly parameters: readonly ReportParameter[];
  readonly counts: Readonly<Record<TrialState, number>> & { readonly total: number };
  readonly best?: { readonly index: number; readonly value: number };
  readonly trials: readonly ReportTrial[];
  readonly attempts: readonly AttemptSpan[];
  readonly idle: GpuIdle;
}

/** Positive numbers over two decades or more read best on a log axis, as a learning rate's do. */
const LOG_SPAN = 100;

function declaredLog(parameter: ParameterSpec): boolean {
  return parameter.type === 'grid' ? parameter.axis.kind === 'logspace' : parameter.distribution.kind === 'loguniform';
}

export function parameterScale(values: readonly JsonValue[], declared: boolean): ParameterScale {
  const numbers = values.filter((value): value is number => typeof value === 'number');
  if (numbers.length === 0 || numbers.length < values.length) return 'category';
  const min = Math.min(...numbers);
  const max = Math.max(...numbers);
  if (min > 0 && (declared || max / min >= LOG_SPAN)) return 'log';
  return 'linear';
}

/** The spec's parameters in file order, or, for a sweep of listed trials, the names its trials have. */
function reportParameters(spec: SweepSpec, trials: readonly TrialSummary[]): ReportParameter[] {
  const declared = new Map(spec.parameters.map((parameter) => [parameter.name, declaredLog(parameter)]));
  const names = spec.parameters.length
    ? spec.parameters.map((parameter) => parameter.name)
    : [...new Set(trials.flatMap((trial) => Object.keys(trial.params)))];
  return names.map((name) => ({
    name,
    scale: parameterScale(
      trials.flatMap((trial) => (name in trial.params ? [trial.params[name] ?? null] : [])),
      declared.get(name) ?? false,
    ),
  }));
}

function reportTrial(trial: TrialSummary): ReportTrial {
  const lost = trial.attempts.filter((attempt: AttemptRecord) => attempt.outcome === 'lost').length;
  return {
    index: trial.index,
    name: trial.name,
    params: trial.params,
    state: trial.state,
    metrics: trial.metrics,
    ...(trial.best === undefined ? {} : { value: trial.best }),
    ...(trial.runtimeMs === undefined ? {} : { runtimeMs: trial.runtimeMs }),
    ...(trial.worker ? { worker: trial.worker } : {}),
    // A running trial's summary lists the attempts that ended: the one that runs counts too.
    attempts: trial.attempts.length + (trial.state === 'running' ? 1 : 0),
    lostAttempts: lost,
    ...(trial.cause ? { cause: trial.cause } : {}),
    ...(trial.curve?.length ? { curve: trial.curve } : {}),
  };
}

export interface ReportSource {
  readonly sweepId: string;
  readonly status: string;
  readonly live: boolean;
  readonly now: number;
  readonly spec: SweepSpec;
  readonly progress: Pick<SweepProgress, 'best'>;
  readonly trials: readonly TrialSummary[];
  readonly attempts: readonly AttemptSpan[];
  readonly idle: GpuIdle;
  readonly start: number;
  readonly end: number;
}

export function reportData(source: ReportSource): ReportData {
  const counts = { total: source.trials.length, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const trial of source.trials) counts[trial.state]++;
  return {
    sweepId: source.sweepId,
    ...(source.spec.name ? { name: source.spec.name } : {}),
    status: source.status.toLowerCase(),
    live: source.live,
    generatedAt: source.now,
    startedAt: source.start,
    endedAt: source.end,
    ...(source.spec.metric ? { metric: { name: source.spec.metric.name, goal: source.spec.metric.goal } } : {}),
    parameters: reportParameters(source.spec, source.trials),
    counts,
    ...(source.progress.best ? { best: source.progress.best } : {}),
    trials: source.trials.map(reportTrial),
    attempts: source.attempts,
    idle: source.idle,
  };
}
