// The report's plots, drawn with Observable Plot into SVG: every trial, attempt and idle gap is one element of the
// page, which a test can count. Each mark's group has a class naming what it draws.
import * as Plot from '@observablehq/plot';
import type { ReportData, ReportParameter, ReportTrial } from '../report-data.js';
import { formatDuration, formatValue } from './format.js';

const OUTCOME_COLOURS: Record<string, string> = {
  succeeded: '#2f9e44',
  failed: '#e03131',
  lost: '#f08c00',
  held: '#0c8599',
  'timed-out': '#9c36b5',
  cancelled: '#868e96',
  running: '#1c7ed6',
};

/** The trials that have the sweep's metric, best first. */
export function rankedTrials(data: ReportData): ReportTrial[] {
  const sign = data.metric?.goal === 'maximize' ? -1 : 1;
  return data.trials
    .filter((trial) => trial.value !== undefined && Number.isFinite(trial.value))
    .sort((a, b) => sign * ((a.value ?? 0) - (b.value ?? 0)));
}

function metricLabel(data: ReportData): string {
  return data.metric
    ? `${data.metric.name} (best, ${data.metric.goal === 'minimize' ? 'lower' : 'higher'} is better)`
    : '';
}

/** Better is brighter, whichever way the metric goes. */
function metricColour(data: ReportData, values: readonly number[]): Plot.ScaleOptions {
  return {
    type: 'linear',
    scheme: 'viridis',
    domain: [Math.min(...values), Math.max(...values)],
    reverse: data.metric?.goal === 'minimize',
    legend: true,
    label: metricLabel(data),
  };
}

interface Axis {
  readonly name: string;
  readonly scale: ReportParameter['scale'];
  /** Where a value sits on the axis, 0 (bottom) to 1 (top). */
  readonly position: (value: unknown) => number;
  readonly ticks: readonly { readonly at: number; readonly label: string }[];
}

function axisOf(name: string, scale: ReportParameter['scale'], values: readonly unknown[]): Axis {
  if (scale === 'category') {
    const categories = [...new Set(values.map((value) => formatValue(value)))].sort();
    const at = (label: string) => (categories.length > 1 ? categories.indexOf(label) / (categories.length - 1) : 0.5);
    return {
      name,
      scale,
      position: (value) => at(formatValue(value)),
      ticks: categories.map((label) => ({ at: at(label), label })),
    };
  }
  const log = scale === 'log';
  const numbers = values.filter((value): value is number => typeof value === 'number');
  const transform = (value: number) => (log ? Math.log(value) : value);
  const low = Math.min(...numbers.map(transform));
  const high = Math.max(...numbers.map(transform));
  const at = (value: number) => (high > low ? (transform(value) - low) / (high - low) : 0.5);
  const extremes = [...new Set([Math.min(...numbers), Math.max(...numbers)])];
  return {
    name,
    scale,
    position: (value) => (typeof value === 'number' ? at(value) : NaN),
    ticks: extremes.map((value) => ({ at: at(value), label: formatValue(value) })),
  };
}

/** One vertical axis per parameter and one for the metric; one line per trial that has the metric. */
export function parallelCoordinates(data: ReportData, width: number): Element | undefined {
  const trials = rankedTrials(data);
  if (!data.metric || trials.length === 0) return undefined;
  const metricName = data.metric.name;
  const axes = [
    ...data.parameters.map((parameter) =>
      axisOf(
        parameter.name,
        parameter.scale,
        trials.map((trial) => trial.params[parameter.name]),
      ),
    ),
    axisOf(
      metricName,
      'linear',
      trials.map((trial) => trial.value),
    ),
  ];
  const points = trials.flatMap((trial) =>
    axes.map((axis, i) => ({
      trial: trial.index,
      axis: axis.name,
      y: axis.position(i < data.parameters.length ? trial.params[axis.name] : trial.value),
      value: trial.value ?? 0,
      title: `${trial.name}: ${metricName} ${formatValue(trial.value)}`,
    })),
  );
  const ticks = axes.flatMap((axis) => axis.ticks.map((tick) => ({ axis: axis.name, y: tick.at, label: tick.label })));
  return Plot.plot({
    width,
    height: 320,
    marginTop: 30,
    marginLeft: 40,
    marginRight: 60,
    ariaLabel: 'parallel coordinates',
    x: { type: 'point', domain: axes.map((axis) => axis.name), axis: 'top', label: null, padding: 0.1 },
    y: { domain: [0, 1], axis: null },
    color: metricColour(
      data,
      trials.map((trial) => trial.value ?? 0),
    ),
    marks: [
      Plot.ruleX(axes, { x: 'name', stroke: '#adb5bd' }),
      Plot.line(points, {
        x: 'axis',
        y: 'y',
        z: 'trial',
        stroke: 'value',
        strokeOpacity: 0.8,
        strokeWidth: 1.5,
        title: 'title',
        className: 'trial-lines',
      }),
      Plot.text(ticks, { x: 'axis', y: 'y', text: 'label', dx: 4, textAnchor: 'start', fontSize: 10, fill: '#495057' }),
    ],
  });
}

/** The metric against one parameter: a dot per trial, on a log axis where the parameter is log-scaled. */
export function metricAgainst(data: ReportData, parameter: ReportParameter, width: number): Element | undefined {
  const trials = rankedTrials(data);
  if (!data.metric || trials.length === 0) return undefined;
  const best = trials[0]?.index;
  const rows = trials.map((trial) => ({
    x: parameter.scale === 'category' ? formatValue(trial.params[parameter.name]) : trial.params[parameter.name],
    y: trial.value,
    best: trial.index === best,
    title: `${trial.name}: ${parameter.name} ${formatValue(trial.params[parameter.name])}, ${data.metric?.name} ${formatValue(trial.value)}`,
  }));
  const x: Plot.ScaleOptions =
    parameter.scale === 'category'
      ? { type: 'point', label: parameter.name, padding: 0.5 }
      : { type: parameter.scale, label: parameter.name, nice: true };
  return Plot.plot({
    width,
    height: 240,
    marginLeft: 56,
    ariaLabel: `${data.metric.name} against ${parameter.name}`,
    x,
    y: { label: data.metric.name, grid: true },
    marks: [
      Plot.dot(rows, {
        x: 'x',
        y: 'y',
        fill: '#1c7ed6',
        fillOpacity: 0.7,
        r: 4,
        title: 'title',
        className: 'trial-dots',
      }),
      Plot.dot(
        rows.filter((row) => row.best),
        { x: 'x', y: 'y', r: 8, stroke: '#e8590c', strokeWidth: 2, className: 'best-trial' },
      ),
    ],
  });
}

/** How many of the best trials a learning-curve plot draws in colour. */
export const HIGHLIGHTED_CURVES = 3;

/** The sweep's metric over the steps, a line per trial; the best few in colour, the rest in grey. */
export function learningCurves(data: ReportData, width: number): Element | undefined {
  const withCurves = data.trials.filter((trial) => trial.curve && trial.curve.length > 0);
  if (!data.metric || withCurves.length === 0) return undefined;
  const highlighted = new Set(
    rankedTrials(data)
      .filter((trial) => trial.curve?.length)
      .slice(0, HIGHLIGHTED_CURVES)
      .map((trial) => trial.index),
  );
  const points = withCurves.flatMap((trial) =>
    (trial.curve ?? []).map(([step, value]) => ({
      trial: trial.index,
      name: `${trial.name}${trial.state === 'failed' ? ` (failed: ${trial.cause ?? 'no cause'})` : ''}`,
      failed: trial.state === 'failed',
      step,
      value,
    })),
  );
  // A failed trial's curve shows where it went wrong (a loss that diverged), dashed in the failure colour.
  const failed = points.filter((point) => point.failed);
  const others = points.filter((point) => !point.failed && !highlighted.has(point.trial));
  const best = points.filter((point) => highlighted.has(point.trial));
  const lastOfFailed = failed.filter((point, i) => failed[i + 1]?.trial !== point.trial);
  return Plot.plot({
    width,
    height: 300,
    marginLeft: 56,
    ariaLabel: 'learning curves',
    x: { label: 'step', grid: true },
    y: { label: data.metric.name, grid: true },
    color: { type: 'categorical', legend: best.length > 0 },
    marks: [
      Plot.line(others, {
        x: 'step',
        y: 'value',
        z: 'trial',
        stroke: '#adb5bd',
        strokeOpacity: 0.7,
        title: 'name',
        className: 'trial-curves',
      }),
      Plot.line(failed, {
        x: 'step',
        y: 'value',
        z: 'trial',
        stroke: OUTCOME_COLOURS.failed,
        strokeDasharray: '4 3',
        strokeOpacity: 0.8,
        title: 'name',
        className: 'failed-trial-curves',
      }),
      Plot.dot(lastOfFailed, {
        x: 'step',
        y: 'value',
        symbol: 'times',
        stroke: OUTCOME_COLOURS.failed,
        r: 4,
        title: 'name',
        className: 'failed-trial-ends',
      }),
      Plot.line(best, {
        x: 'step',
        y: 'value',
        z: 'trial',
        stroke: 'name',
        strokeWidth: 2.5,
        title: 'name',
        className: 'best-trial-curves',
      }),
    ],
  });
}

/** A lane per worker, a bar per attempt coloured by how it ended, and the idle gaps between them in red hatching. */
export function gpuTimeline(data: ReportData, width: number): Element | undefined {
  if (data.attempts.length === 0) return undefined;
  const origin = data.startedAt;
  const seconds = (ms: number) => (ms - origin) / 1000;
  const workers = [...new Set(data.attempts.map((span) => span.worker))].sort();
  const names = new Map(data.trials.map((trial) => [trial.index, trial.name]));
  const bars = data.attempts.map((span) => ({
    worker: span.worker,
    start: seconds(span.start),
    end: seconds(span.end),
    outcome: span.outcome,
    title: `${names.get(span.trial) ?? `trial ${span.trial}`} · attempt ${span.attempt} · ${span.outcome} · ${formatDuration(span.end - span.start)}`,
  }));
  const gaps = data.idle.gaps.map((gap) => ({
    worker: gap.worker,
    start: seconds(gap.start),
    end: seconds(gap.end),
    title: `${gap.worker} idle ${formatDuration(gap.end - gap.start)} while trials waited`,
  }));
  const outcomes = Object.keys(OUTCOME_COLOURS).filter((outcome) => bars.some((bar) => bar.outcome === outcome));
  return Plot.plot({
    width,
    height: 60 + workers.length * 34,
    marginLeft: Math.min(220, 12 + 7 * Math.max(...workers.map((worker) => worker.length))),
    ariaLabel: 'GPU timeline',
    x: { label: 'seconds since the sweep started', grid: true },
    y: { domain: workers, label: null },
    color: {
      domain: [...outcomes, 'idle'],
      range: [...outcomes.map((outcome) => OUTCOME_COLOURS[outcome] ?? '#000'), '#ff8787'],
      legend: true,
    },
    marks: [
      Plot.barX(gaps, {
        x1: 'start',
        x2: 'end',
        y: 'worker',
        fill: () => 'idle',
        fillOpacity: 0.45,
        insetTop: 10,
        insetBottom: 10,
        title: 'title',
        className: 'idle-gaps',
      }),
      Plot.barX(bars, {
        x1: 'start',
        x2: 'end',
        y: 'worker',
        fill: 'outcome',
        stroke: 'white',
        strokeWidth: 0.5,
        insetTop: 3,
        insetBottom: 3,
        title: 'title',
        className: 'attempts',
      }),
    ],
  });
}
