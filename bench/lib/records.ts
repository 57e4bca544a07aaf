import { existsSync, readFileSync } from 'node:fs';

/** One run of bench/trial.sh, as it recorded itself: index, start and end (epoch seconds), pid. */
export interface TrialRun {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly pid: number;
}

export function readTrialRuns(file: string): TrialRun[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [index, start, end, pid] = line.split(' ').map(Number);
      return { index: index ?? -1, start: start ?? 0, end: end ?? 0, pid: pid ?? 0 };
    });
}

/**
 * The time from a slot freeing to the next trial starting, in ms, while trials were waiting: each process end
 * is paired with the first start after it that no earlier end claimed. Needs no slot IDs, so it works the same
 * for every tool; ends after the last start (the sweep draining) have no successor and are left out.
 */
export function slotGapsMs(runs: readonly TrialRun[]): number[] {
  const starts = runs.map((run) => run.start).sort((a, b) => a - b);
  const ends = runs.map((run) => run.end).sort((a, b) => a - b);
  const firstWave = Math.min(starts.length, countStartsBefore(starts, ends[0] ?? Infinity));
  const gaps: number[] = [];
  let next = firstWave;
  for (const end of ends) {
    while (next < starts.length && (starts[next] ?? 0) < end) next++;
    if (next >= starts.length) break;
    gaps.push(((starts[next] ?? 0) - end) * 1000);
    next++;
  }
  return gaps;
}

function countStartsBefore(sortedStarts: readonly number[], time: number): number {
  let count = 0;
  while (count < sortedStarts.length && (sortedStarts[count] ?? 0) < time) count++;
  return count;
}

/** The most trial processes alive at one moment. */
export function peakConcurrency(runs: readonly TrialRun[]): number {
  const events = runs.flatMap((run) => [
    { time: run.start, delta: 1 },
    { time: run.end, delta: -1 },
  ]);
  // Ends before starts at the same instant: a slot handed over is not two processes at once.
  events.sort((a, b) => a.time - b.time || a.delta - b.delta);
  let alive = 0;
  let peak = 0;
  for (const event of events) {
    alive += event.delta;
    peak = Math.max(peak, alive);
  }
  return peak;
}
