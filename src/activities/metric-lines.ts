import { decodeMetric, encodeMetric, type MetricValues } from '../workflows/metric-values.js';
import type { Checkpoint, TrialProgress } from '../workflows/types.js';
import { MetricCurve } from './metric-curve.js';

/**
 * The metric line protocol on a trial's stdout:
 *   `@sweep {"step": 3, "val_loss": 0.25}`   a JSON object after the `@sweep ` prefix (what report() prints)
 *   `step=3 val_loss=0.25 acc=0.91`          a line made only of key=value pairs
 *   `@sweep-checkpoint {"step": 3}`           not metrics: the trial saved its state (readCheckpointLine)
 * `step` is the trial's step; every other value is a metric. NaN and ±Infinity are values (`nan`, `inf`, `-inf`,
 * `NaN`, `Infinity`, as strings in JSON or as the bare tokens Python's json.dumps writes). Anything else is a log
 * line, except a line that is plainly meant as metrics but holds something that is not a number: that one is
 * unparseable, and says why (an `@sweep` line still gives the numbers it has; a key=value line gives none).
 */
export interface MetricReport {
  readonly step?: number;
  /** Non-finite values encoded (see metric-values.ts), so the report can go straight into JSON. */
  readonly metrics: MetricValues;
}

/** A line meant as metrics: what could be read of it, and why the rest could not. */
export interface MetricLine {
  readonly report?: MetricReport;
  readonly problem?: string;
}

export const METRIC_PREFIX = '@sweep ';
const KEY = '[A-Za-z_][\\w./-]*';
const KEY_VALUE_LINE = new RegExp(`^\\s*(?:${KEY}=[^\\s,]*(?:\\s+|,\\s*|$))+$`);
const PAIR = new RegExp(`(${KEY})=([^\\s,]*)`, 'g');
const FINITE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const NON_FINITE = /^([-+]?)(nan|inf|infinity)$/i;
// A JSON string is matched whole, so a token inside one is left alone.
const BARE_NON_FINITE = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g;
const SHOWN_LINE_CHARS = 120;
const SHOWN_VALUE_CHARS = 40;

function clip(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

/** A metric written as text: a decimal number, or nan / inf / infinity in any case, with an optional sign. */
function parseNumber(text: string): number | undefined {
  if (FINITE.test(text)) return Number(text);
  const nonFinite = NON_FINITE.exec(text);
  if (!nonFinite) return undefined;
  if (nonFinite[2]?.toLowerCase() === 'nan') return NaN;
  return nonFinite[1] === '-' ? -Infinity : Infinity;
}

function fromEntries(entries: Iterable<readonly [string, unknown]>): MetricLine {
  const metrics: MetricValues = {};
  let step: number | undefined;
  const problems: string[] = [];
  for (const [key, raw] of entries) {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseNumber(raw) : undefined;
    const shown = clip(JSON.stringify(raw), SHOWN_VALUE_CHARS);
    if (value === undefined) problems.push(`${key}: ${shown} is not a number`);
    else if (key !== 'step') metrics[key] = encodeMetric(value);
    else if (Number.isFinite(value)) step = value;
    else problems.push(`step: ${shown} is not a finite number`);
  }
  const report = step === undefined ? { metrics } : { step, metrics };
  const hasValues = step !== undefined || Object.keys(metrics).length > 0;
  return {
    ...(hasValues ? { report } : {}),
    ...(problems.length > 0 ? { problem: problems.join('; ') } : hasValues ? {} : { problem: 'no metrics' }),
  };
}

function parseJsonObject(text: string): MetricLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      value = JSON.parse(text.replace(BARE_NON_FINITE, (match, bare?: string) => (bare ? `"${bare}"` : match)));
    } catch {
      return { problem: 'not JSON' };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'not a JSON object' };
  return fromEntries(Object.entries(value));
}

/** Reads one stdout line; undefined for a log line. */
export function readMetricLine(line: string): MetricLine | undefined {
  if (line.startsWith(METRIC_PREFIX)) return parseJsonObject(line.slice(METRIC_PREFIX.length));
  if (!KEY_VALUE_LINE.test(line)) return undefined;
  const read = fromEntries([...line.matchAll(PAIR)].map((match) => [match[1] ?? '', match[2] ?? ''] as const));
  // Unlike an `@sweep` line, pairs may just be a log line (`model=resnet lr=0.1`): all numbers, or none is read.
  return read.problem === undefined ? read : { problem: read.problem };
}

export const CHECKPOINT_PREFIX = '@sweep-checkpoint';

/**
 * A checkpoint report: `@sweep-checkpoint`, optionally followed by a JSON object with `step` (a number) and
 * `path` (a string), which `sweep_helper.checkpoint()` prints right after the trial saved its state. Undefined for
 * any other line; a report whose JSON cannot be read still counts, without step or path (the state is saved
 * either way, and that is what matters to a hold).
 */
export function readCheckpointLine(line: string): Omit<Checkpoint, 'at'> | undefined {
  if (!line.startsWith(CHECKPOINT_PREFIX)) return undefined;
  const rest = line.slice(CHECKPOINT_PREFIX.length);
  if (rest !== '' && !/^\s/.test(rest)) return undefined;
  let value: unknown;
  try {
    value = rest.trim() === '' ? {} : JSON.parse(rest);
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null) return {};
  const { step, path } = value as { step?: unknown; path?: unknown };
  return {
    ...(typeof step === 'number' && Number.isFinite(step) ? { step } : {}),
    ...(typeof path === 'string' ? { path } : {}),
  };
}

/** The values of a metric line, if it has any; what it could not read is dropped (MetricTracker counts it). */
export function parseMetricLine(line: string): MetricReport | undefined {
  return readMetricLine(line)?.report;
}

/** What heartbeats, the activity's result and recorded outcomes carry of a trial's metrics. */
export type MetricSnapshot = Pick<TrialProgress, 'step' | 'metrics' | 'best' | 'bestStep'>;

/**
 * Keeps the last value of each metric, the step, and the best value of the sweep's objective with the step it was
 * reached at; counts the lines meant as metrics that could not be read, so the trial can say so once.
 */
export class MetricTracker {
  step: number | undefined;
  readonly metrics: MetricValues = {};
  /** Always finite: NaN compares false with everything, and an infinite loss or accuracy is a blow-up, not a result. */
  best: number | undefined;
  bestStep: number | undefined;
  /** The sweep's metric over the steps (finite values only: a plot has no place for NaN). */
  readonly curve = new MetricCurve();
  unparseable = 0;
  /** The first unparseable line, where it was and why: `stdout line 12: @sweep {"loss": } (not JSON)`. */
  firstUnparseable: string | undefined;
  private lines = 0;

  constructor(private readonly objective?: { readonly name: string; readonly goal: 'minimize' | 'maximize' }) {}

  /** Reads one stdout line: records its metrics and returns them (undefined when it has none). */
  read(line: string): MetricReport | undefined {
    this.lines++;
    const parsed = readMetricLine(line);
    if (parsed?.problem !== undefined) {
      this.unparseable++;
      this.firstUnparseable ??= `stdout line ${this.lines}: ${clip(line, SHOWN_LINE_CHARS)} (${parsed.problem})`;
    }
    if (parsed?.report) this.record(parsed.report);
    return parsed?.report;
  }

  record(report: MetricReport): void {
    if (report.step !== undefined) this.step = report.step;
    Object.assign(this.metrics, report.metrics);
    if (!this.objective) return;
    const value = decodeMetric(report.metrics[this.objective.name]);
    if (value === undefined || !Number.isFinite(value)) return;
    this.curve.add(report.step ?? this.curve.reportCount + 1, value);
    const best = this.best;
    if (best === undefined || (this.objective.goal === 'minimize' ? value < best : value > best)) {
      this.best = value;
      this.bestStep = this.step;
    }
  }

  snapshot(): MetricSnapshot {
    return {
      ...(this.step === undefined ? {} : { step: this.step }),
      metrics: { ...this.metrics },
      ...(this.best === undefined ? {} : { best: this.best }),
      ...(this.bestStep === undefined ? {} : { bestStep: this.bestStep }),
    };
  }

  /** One line for the trial's stderr log and its failure message; undefined when every metric line was read. */
  unparseableWarning(): string | undefined {
    if (this.unparseable === 0) return undefined;
    const lines = this.unparseable === 1 ? '1 metric line' : `${this.unparseable} metric lines`;
    return `${lines} could not be read in full; the first, ${this.firstUnparseable}`;
  }
}
