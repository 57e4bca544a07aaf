import type { JsonValue } from '../sweep-spec/spec-types.js';
import { decodeMetric } from '../workflows/metric-values.js';
import type { SweepProgress, TrialSummary } from '../workflows/types.js';
import { formatMetric } from './results-format.js';
import type { LiveTrial } from './sweep-client.js';
import { formatDuration } from './table.js';

/** Everything one frame of `sweep watch`'s terminal view shows. */
export interface LiveSnapshot {
  readonly progress: SweepProgress;
  /** The trials in flight, as last described. */
  readonly live: readonly LiveTrial[];
  /** Finished trials' summaries known so far, newest first (visibility's order; it may lag the counts). */
  readonly finished: readonly Pick<TrialSummary, 'index' | 'name' | 'state' | 'runtimeMs' | 'cause'>[];
  readonly best?: { readonly index: number; readonly value: number; readonly params: Record<string, JsonValue> };
  /** Lines about the sweep's surroundings: no worker polling, trials that wait for hardware. */
  readonly notes: readonly string[];
  readonly now: number;
  readonly columns: number;
  /** The terminal's height: log-update would cut a taller frame from the top, header first. */
  readonly rows: number;
  readonly colour: boolean;
}

/** How many failures the view lists. */
const RECENT_FAILURES = 3;
const BAR_WIDTH = 30;

type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan';
const SGR: Record<Style, number> = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 };
/** A piece of a line, coloured only when the view is. */
type Segment = readonly [text: string, style?: Style];

/**
 * The frame's lines, none wider than `columns`. Text is made ASCII (anything else becomes `?`) so that its length
 * is its display width and truncation is exact.
 */
export function liveViewLines(snapshot: LiveSnapshot): string[] {
  const { progress, columns, colour } = snapshot;
  const { total, succeeded, failed, cancelled } = progress.counts;
  const finished = succeeded + failed + cancelled;
  const running = snapshot.live.filter((trial) => trial.state !== 'queued');
  const queued = Math.max(0, total - finished - running.length);
  const ended = progress.state !== 'running';
  const lines: Segment[][] = [
    [
      [`sweep ${progress.sweepId}`, 'bold'],
      [ended ? ` ${progress.state}` : '', progress.state === 'completed' ? 'green' : 'red'],
    ],
    [...bar(succeeded, failed + cancelled, total), [` ${finished}/${total}`]],
    [
      [`${succeeded} done`, 'green'],
      ['  '],
      [`${running.length} running`, 'cyan'],
      [`  ${queued} queued  `],
      [`${failed} failed`, failed > 0 ? 'red' : undefined],
      [cancelled > 0 ? '  ' : ''],
      [cancelled > 0 ? `${cancelled} cancelled` : '', 'yellow'],
    ],
    [[timing(snapshot, running.length, total - finished)]],
  ];
  if (snapshot.best) {
    const params = Object.entries(snapshot.best.params).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
    lines.push([
      ['best ', 'bold'],
      [`${formatMetric(snapshot.best.value)} (trial ${snapshot.best.index}) ${params.join(' ')}`.trimEnd()],
    ]);
  }
  for (const note of snapshot.notes) lines.push([[note, 'yellow']]);
  const failures: Segment[][] = snapshot.finished
    .filter((trial) => trial.state === 'failed')
    .slice(0, RECENT_FAILURES)
    .map((trial) => [
      ['failed ', 'red'],
      [`trial ${trial.index} ${trial.name}: ${trial.cause ?? 'no cause recorded'}`],
    ]);
  const laneLines = lanes(running).flatMap(([worker, trials]) =>
    trials.map((trial): Segment[] => [[`${worker} `, 'cyan'], [laneText(trial)]]),
  );
  // One row stays free for the cursor; lanes give way first, to a line that counts them.
  const height = Math.max(1, snapshot.rows - 1);
  const room = height - lines.length - failures.length;
  const kept = Math.max(0, room - 1);
  const shown: Segment[][] =
    laneLines.length <= room
      ? laneLines
      : [...laneLines.slice(0, kept), [[`... ${laneLines.length - kept} more running`]]];
  return [...lines, ...shown, ...failures].slice(0, height).map((line) => fit(line, columns, colour));
}

/** `[####xx------]`: succeeded, then failed or cancelled, then the rest. */
function bar(succeeded: number, unsuccessful: number, total: number): Segment[] {
  const cells = (count: number) => (total === 0 ? 0 : Math.round((count / total) * BAR_WIDTH));
  const ok = cells(succeeded);
  const bad = Math.min(BAR_WIDTH - ok, cells(unsuccessful));
  return [['['], ['#'.repeat(ok), 'green'], ['x'.repeat(bad), 'red'], ['-'.repeat(BAR_WIDTH - ok - bad), 'dim'], [']']];
}

/**
 * `elapsed 1m5s, ETA 40.0s`. The ETA assumes the trials left take as long as the finished ones did on average and
 * run as many at a time as run now (at least one): mean runtime x ceil(left / slots). Unknown until one finished.
 */
function timing(snapshot: LiveSnapshot, slots: number, left: number): string {
  const { progress, now } = snapshot;
  const elapsed = progress.startedAt > 0 ? `elapsed ${formatDuration(now - progress.startedAt)}` : 'elapsed ?';
  if (progress.state !== 'running' || left <= 0) return elapsed;
  const runtimes = snapshot.finished.flatMap((trial) => (trial.runtimeMs === undefined ? [] : [trial.runtimeMs]));
  if (runtimes.length === 0) return `${elapsed}, ETA ?`;
  const mean = runtimes.reduce((sum, ms) => sum + ms, 0) / runtimes.length;
  return `${elapsed}, ETA ${formatDuration(mean * Math.ceil(left / Math.max(1, slots)))}`;
}

/** The running trials by the worker that holds them, workers in name order. */
function lanes(running: readonly LiveTrial[]): [string, LiveTrial[]][] {
  const byWorker = new Map<string, LiveTrial[]>();
  for (const trial of running) {
    // A trial recording its outcome no longer has a worker.
    const worker = trial.worker ?? '-';
    byWorker.set(worker, [...(byWorker.get(worker) ?? []), trial]);
  }
  return [...byWorker].sort(([a], [b]) => a.localeCompare(b));
}

function laneText(trial: LiveTrial): string {
  const step = trial.progress?.step === undefined ? '' : ` step ${trial.progress.step}`;
  const metrics = Object.entries(trial.progress?.metrics ?? {}).map(
    ([name, value]) => ` ${name}=${formatMetric(decodeMetric(value))}`,
  );
  return `trial ${trial.index} ${trial.name}${trial.state === 'finishing' ? ' finishing' : step}${metrics.join('')}`;
}

/** The line cut to `columns` characters; styles wrap only the text that is kept. */
function fit(line: readonly Segment[], columns: number, colour: boolean): string {
  let room = Math.max(0, columns);
  let out = '';
  for (const [text, style] of line) {
    const kept = ascii(text).slice(0, room);
    room -= kept.length;
    out += colour && style && kept ? `\x1b[${SGR[style]}m${kept}\x1b[0m` : kept;
  }
  return out;
}

function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
