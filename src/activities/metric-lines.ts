/**
 * The metric line protocol on a trial's stdout:
 *   `@sweep {"step": 3, "val_loss": 0.25}`   a JSON object after the `@sweep ` prefix (what report() prints)
 *   `step=3 val_loss=0.25 acc=0.91`          a line made only of key=number pairs
 * `step` is the trial's step; every other numeric value is a metric. Anything else is a log line.
 */
export interface MetricReport {
  readonly step?: number;
  readonly metrics: Record<string, number>;
}

export const METRIC_PREFIX = '@sweep ';
const KEY_VALUE_LINE = /^\s*(?:[A-Za-z_][\w./-]*=[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\s+|,\s*|$))+$/;
const PAIR = /([A-Za-z_][\w./-]*)=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/g;

function fromEntries(entries: Iterable<[string, unknown]>): MetricReport | undefined {
  const metrics: Record<string, number> = {};
  let step: number | undefined;
  for (const [key, value] of entries) {
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    if (key === 'step') step = value;
    else metrics[key] = value;
  }
  if (step === undefined && Object.keys(metrics).length === 0) return undefined;
  return step === undefined ? { metrics } : { step, metrics };
}

export function parseMetricLine(line: string): MetricReport | undefined {
  if (line.startsWith(METRIC_PREFIX)) {
    try {
      const value: unknown = JSON.parse(line.slice(METRIC_PREFIX.length));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      return fromEntries(Object.entries(value));
    } catch {
      return undefined;
    }
  }
  if (!KEY_VALUE_LINE.test(line)) return undefined;
  return fromEntries([...line.matchAll(PAIR)].map((match) => [match[1] ?? '', Number(match[2])]));
}

/** Keeps the last value of each metric, the step, and the best value of the sweep's objective. */
export class MetricTracker {
  step: number | undefined;
  readonly metrics: Record<string, number> = {};
  best: number | undefined;

  constructor(private readonly objective?: { readonly name: string; readonly goal: 'minimize' | 'maximize' }) {}

  record(report: MetricReport): void {
    if (report.step !== undefined) this.step = report.step;
    Object.assign(this.metrics, report.metrics);
    const value = this.objective ? report.metrics[this.objective.name] : undefined;
    if (value === undefined || !this.objective) return;
    const better =
      this.objective.goal === 'minimize' ? value < (this.best ?? Infinity) : value > (this.best ?? -Infinity);
    if (better) this.best = value;
  }
}
