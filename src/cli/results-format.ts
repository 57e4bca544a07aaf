import { formatValue } from '../spec/render.js';
import type { SweepSpec } from '../spec/spec-types.js';
import { csvField } from './output.js';
import type { TrialRow } from './sweep-client.js';
import { formatDuration, formatTable } from './table.js';

export type ResultsFormat = 'table' | 'csv' | 'json';

/** Best first when the sweep has a metric (trials without a value last), else by index. */
export function sortRows(rows: readonly TrialRow[], spec: SweepSpec, sortMetric?: string): TrialRow[] {
  const metric = sortMetric ?? spec.metric?.name;
  if (!metric) return [...rows].sort((a, b) => a.index - b.index);
  const maximize = !sortMetric && spec.metric?.goal === 'maximize';
  const value = (row: TrialRow) =>
    metric === spec.metric?.name ? (row.best ?? row.metrics[metric]) : row.metrics[metric];
  return [...rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x === undefined || y === undefined)
      return (x === undefined ? 1 : 0) - (y === undefined ? 1 : 0) || a.index - b.index;
    return maximize ? y - x : x - y;
  });
}

function metricNames(rows: readonly TrialRow[]): string[] {
  return [...new Set(rows.flatMap((row) => Object.keys(row.metrics)))];
}

export function formatResults(rows: readonly TrialRow[], spec: SweepSpec, format: ResultsFormat): string {
  if (format === 'json') return rows.map((row) => JSON.stringify(row)).join('\n');
  const parameters = spec.parameters.map((parameter) => parameter.name);
  const metrics = metricNames(rows);
  const header = [
    'trial',
    'name',
    ...parameters,
    'state',
    'exit',
    ...metrics,
    'runtime',
    'attempts',
    'worker',
    'error',
  ];
  const cells = rows.map((row) => [
    String(row.index),
    row.name,
    ...parameters.map((name) => formatValue(row.params[name] ?? null)),
    row.state,
    row.exitCode === undefined ? '' : String(row.exitCode),
    ...metrics.map((name) => (row.metrics[name] === undefined ? '' : formatValue(row.metrics[name] ?? null))),
    formatDuration(row.runtimeMs),
    String(row.attempts.length),
    row.worker ?? '',
    (row.error ?? '').split('\n')[0] ?? '',
  ]);
  if (format === 'csv') return [header, ...cells].map((line) => line.map(csvField).join(',')).join('\n');
  return formatTable(header, cells);
}
