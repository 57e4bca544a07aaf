/**
 * Metrics as they travel and are stored. A diverged trial reports NaN or ±Infinity, and those are values, but
 * JSON has no such numbers: `JSON.stringify` writes `null` for them, and so would every heartbeat, activity
 * result, memo, signal and metrics.jsonl line. So from the moment a line is parsed, a non-finite metric is one of
 * three strings, which are also how Sweep prints them; only code that compares metrics decodes them.
 */
export type NonFiniteMetric = 'nan' | 'inf' | '-inf';
export type MetricValue = number | NonFiniteMetric;
export type MetricValues = Record<string, MetricValue>;

export function encodeMetric(value: number): MetricValue {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return value;
}

/**
 * The number a stored metric stands for; undefined for anything that is not one. `null` reads as NaN: it is
 * what `JSON.stringify` made of a non-finite number that reached a payload unencoded.
 */
export function decodeMetric(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === null || value === 'nan') return NaN;
  if (value === 'inf') return Infinity;
  if (value === '-inf') return -Infinity;
  return undefined;
}
