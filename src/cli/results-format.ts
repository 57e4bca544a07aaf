import { UsageError } from '../errors.js';
import { countedParameters, varyingParameterNames } from '../sweep-spec/expand.js';
import { formatValue } from '../sweep-spec/render.js';
import type { SweepSpec } from '../sweep-spec/spec-types.js';
import { decodeMetric } from '../workflows/metric-values.js';
import { csvField } from './output.js';
import type { TrialRow } from './sweep-client.js';
import { elide, fitTable, formatDuration, formatTable, type ColumnFit } from './table.js';

export type ResultsFormat = 'table' | 'csv' | 'json';
export type SortDirection = 'asc' | 'desc';

/**
 * What `sweep results` sorts on, always a column it shows: the trial index, the sweep metric's best value
 * (`best`), or a metric's last value (its own column).
 */
export type SortKey =
  { readonly kind: 'index' } | { readonly kind: 'best' } | { readonly kind: 'metric'; readonly name: string };
export interface SortOrder {
  readonly key: SortKey;
  readonly direction: SortDirection;
}

/** Columns that are not parameters or metrics; a parameter or metric named like one gets a prefix. */
const FIXED_COLUMNS = new Set([
  'trial',
  'name',
  'state',
  'exit',
  'best',
  'best_step',
  'runtime',
  'runtime_s',
  'attempts',
  'worker',
  'error',
]);

/** Metric names in order: the sweep's metric first, then the others as trials first reported them. */
function metricNames(rows: readonly TrialRow[], spec: SweepSpec): string[] {
  const byIndex = [...rows].sort((a, b) => a.index - b.index);
  const names = new Set(spec.metric ? [spec.metric.name] : []);
  for (const row of byIndex) for (const name of Object.keys(row.metrics)) names.add(name);
  return [...names];
}

/**
 * `--sort`, `--asc`, `--desc` against this sweep. `best` is the sweep metric's best value; any other name is a
 * metric (`lr` or `metric.lr`: --sort only names metrics), sorted on its last value. The default is best first
 * (by the metric's goal) on the sweep metric's columns, ascending on any other, and by index without a metric.
 */
export function sortOrder(
  rows: readonly TrialRow[],
  spec: SweepSpec,
  options: { readonly sort?: string; readonly direction?: SortDirection } = {},
): SortOrder {
  const objective = spec.metric;
  const names = metricNames(rows, spec);
  const sort = options.sort ?? (objective ? 'best' : undefined);
  let key: SortKey;
  if (sort === undefined) key = { kind: 'index' };
  else if (sort === 'best') {
    if (!objective) throw new UsageError('--sort best: this sweep has no metric (its spec sets none), so no best');
    key = { kind: 'best' };
  } else {
    const name = names.includes(sort) ? sort : sort.replace(/^metric\./, '');
    if (!names.includes(name)) {
      const known = objective ? ['best', ...names] : names;
      throw new UsageError(
        known.length > 0
          ? `--sort ${sort}: not a metric of this sweep; sort on one of: ${known.join(', ')}`
          : `--sort ${sort}: not a metric of this sweep; no trial has reported a metric yet`,
      );
    }
    key = { kind: 'metric', name };
  }
  const onObjective = key.kind === 'best' || (key.kind === 'metric' && key.name === objective?.name);
  const bestFirst = onObjective && objective?.goal === 'maximize' ? 'desc' : 'asc';
  return { key, direction: options.direction ?? bestFirst };
}

function sortValue(row: TrialRow, key: SortKey): number | undefined {
  if (key.kind === 'index') return row.index;
  if (key.kind === 'best') return row.best;
  return decodeMetric(row.metrics[key.name]);
}

/** Sorted on the column named: numbers (±inf among them) in the order asked, then NaN, then no value; ties by index. */
export function sortRows(rows: readonly TrialRow[], order: SortOrder): TrialRow[] {
  const rank = (value: number | undefined) => (value === undefined ? 2 : Number.isNaN(value) ? 1 : 0);
  const sign = order.direction === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const [x, y] = [sortValue(a, order.key), sortValue(b, order.key)];
    const byRank = rank(x) - rank(y);
    if (byRank !== 0) return byRank;
    if (x !== undefined && y !== undefined && x !== y && rank(x) === 0) return x < y ? -sign : sign;
    return a.index - b.index;
  });
}

/** `nan`, `inf`, `-inf`, or the number; in a table rounded to 12 significant digits, in CSV exact. */
export function formatMetric(value: number | undefined, exact = false): string {
  if (value === undefined) return '';
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return exact ? String(value) : formatValue(value);
}

const SIGNAL_DEATH = /^(?:exit (\d+)|signal \w+): (.+?)(?: on \S+)?(?:; stderr ends:)?$/;

/**
 * Why a trial failed, in one line: its `cause`, else the last line of the stderr its failure quotes (after the
 * meaning of the signal that killed it, if one did), else the failure's first line.
 */
export function trialCause(row: Pick<TrialRow, 'cause' | 'error'>): string {
  if (row.cause) return row.cause;
  const error = row.error ?? '';
  const [first = '', ...rest] = error.split('\n');
  const quoted = first.endsWith('stderr ends:');
  const last = quoted ? rest.map((line) => line.trim()).findLast((line) => line !== '') : undefined;
  if (!last) return first.replace(/; stderr ends:$/, '');
  const death = SIGNAL_DEATH.exec(first);
  const bySignal = death && (death[1] === undefined || Number(death[1]) > 128);
  return bySignal ? `${death[2]}: ${last}` : last;
}

interface Column {
  readonly header: string;
  /** What a cell shows; in CSV, numbers are plain numbers. */
  readonly cell: (row: TrialRow, csv: boolean) => string;
  /** How a table narrower than its natural width may cut or leave out this column. */
  readonly fit?: ColumnFit;
}

/**
 * What a table that must fit a terminal leaves out first (lowest first): the columns a researcher comparing
 * trials needs least. The trial, its parameters, state, the sweep metric and the cause of a failure stay.
 */
const DROP_ORDER = { attempts: 1, worker: 2, exit: 3, name: 4, best_step: 5, metric: 6, runtime: 7 } as const;

/** `x=3 seed=1`: the parameters that vary between trials (all of them when none does), for a narrow table. */
function paramsColumn(spec: SweepSpec, parameters: readonly string[]): Column {
  const varying = varyingParameterNames(spec).filter((name) => parameters.includes(name));
  const shown = varying.length > 0 ? varying : parameters;
  return {
    header: 'params',
    cell: (row) => {
      const params = countedParameters(spec, row.params);
      return shown.map((name) => `${name}=${formatValue(params[name] ?? null)}`).join(' ');
    },
    fit: { minWidth: 12 },
  };
}

/** The columns of `sweep results`; `narrow`: one `params` column instead of one per parameter. */
function columns(rows: readonly TrialRow[], spec: SweepSpec, csv: boolean, narrow = false): Column[] {
  const parameters = spec.parameters.map((parameter) => parameter.name);
  const metrics = metricNames(rows, spec);
  const taken = new Set([...FIXED_COLUMNS, ...parameters]);
  const parameterColumns = narrow
    ? [paramsColumn(spec, parameters)]
    : parameters.map((name): Column => ({
        header: FIXED_COLUMNS.has(name) ? `param.${name}` : name,
        cell: (row) => formatValue(countedParameters(spec, row.params)[name] ?? null),
      }));
  const metricColumn = (name: string): Column => ({
    header: taken.has(name) ? `metric.${name}` : name,
    cell: (row, exact) => formatMetric(decodeMetric(row.metrics[name]), exact),
  });
  const objective = spec.metric?.name;
  const objectiveColumns: Column[] = [];
  if (objective !== undefined) {
    objectiveColumns.push(metricColumn(objective), {
      header: 'best',
      cell: (row, exact) => formatMetric(row.best, exact),
    });
    if (rows.some((row) => row.bestStep !== undefined))
      objectiveColumns.push({
        header: 'best_step',
        cell: (row) => (row.bestStep === undefined ? '' : String(row.bestStep)),
        fit: { dropOrder: DROP_ORDER.best_step },
      });
  }
  return [
    { header: 'trial', cell: (row) => String(row.index) },
    { header: 'name', cell: (row) => row.name, fit: { minWidth: 10, dropOrder: DROP_ORDER.name } },
    ...parameterColumns,
    { header: 'state', cell: (row) => row.state },
    {
      header: 'exit',
      cell: (row) => (row.exitCode === undefined ? '' : String(row.exitCode)),
      fit: { dropOrder: DROP_ORDER.exit },
    },
    ...objectiveColumns,
    ...metrics
      .filter((name) => name !== objective)
      .map((name) => ({ ...metricColumn(name), fit: { dropOrder: DROP_ORDER.metric } })),
    csv
      ? { header: 'runtime_s', cell: (row) => (row.runtimeMs === undefined ? '' : String(row.runtimeMs / 1000)) }
      : { header: 'runtime', cell: (row) => formatDuration(row.runtimeMs), fit: { dropOrder: DROP_ORDER.runtime } },
    { header: 'attempts', cell: (row) => String(row.attempts.length), fit: { dropOrder: DROP_ORDER.attempts } },
    { header: 'worker', cell: (row) => row.worker ?? '', fit: { minWidth: 8, dropOrder: DROP_ORDER.worker } },
    { header: 'error', cell: (row) => trialCause(row), fit: { minWidth: 12 } },
  ];
}

/**
 * The table in at most `width` characters a line, for a terminal: as it is when it fits, else with one `params`
 * column, cells cut with `…` and the columns least needed left out (a last line names them).
 */
function fittedTable(rows: readonly TrialRow[], spec: SweepSpec, width: number): string {
  const full = formatResults(rows, spec, 'table');
  if (full.split('\n').every((line) => line.length <= width)) return full;
  const layout = columns(rows, spec, false, true);
  const { text, leftOut } = fitTable(
    layout.map((column) => column.header),
    rows.map((row) => layout.map((column) => column.cell(row, false))),
    layout.map((column) => column.fit ?? {}),
    width,
  );
  return leftOut.length === 0
    ? text
    : `${text}\n${elide(`(not shown at ${width} columns: ${leftOut.join(', ')})`, width)}`;
}

/**
 * The rows as given (sort them first). JSON Lines carry each row as stored (non-finite metrics as `"nan"`,
 * `"inf"`, `"-inf"`) with its one-line `cause`; CSV has plain numbers and the runtime in seconds. A table given a
 * `width` (a terminal's) fits it.
 */
export function formatResults(
  rows: readonly TrialRow[],
  spec: SweepSpec,
  format: ResultsFormat,
  width?: number,
): string {
  if (format === 'table' && width !== undefined) return fittedTable(rows, spec, width);
  if (format === 'json')
    return rows
      .map((row) => {
        const cause = trialCause(row);
        return JSON.stringify(cause && !row.cause ? { ...row, cause } : row);
      })
      .join('\n');
  const csv = format === 'csv';
  const layout = columns(rows, spec, csv);
  const header = layout.map((column) => column.header);
  const cells = rows.map((row) => layout.map((column) => column.cell(row, csv)));
  if (csv) return [header, ...cells].map((line) => line.map(csvField).join(',')).join('\n');
  return formatTable(header, cells);
}
