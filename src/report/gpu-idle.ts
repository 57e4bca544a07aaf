// A sweep's GPU timeline and idle time, from its trials' attempt records. Pure.
//
// Idle time: the time a worker had none of the sweep's trials running while the sweep had trials waiting (not yet
// started, or lost and not yet started again), counted between the worker's first attempt and its last one. A
// worker busy with another sweep's trial counts as idle here; a pause between retries of a failed trial is not
// waiting (the trial asked for it).
import type { AttemptRecord, TrialSummary } from '../workflows/types.js';

/** One attempt on one worker, a bar of the timeline (ms since the epoch, the worker's clock). */
export interface AttemptSpan {
  readonly trial: number;
  readonly attempt: number;
  readonly worker: string;
  readonly start: number;
  readonly end: number;
  readonly outcome: AttemptRecord['outcome'] | 'running';
}

export interface IdleGap {
  readonly worker: string;
  readonly start: number;
  readonly end: number;
}

export interface WorkerIdle {
  readonly worker: string;
  readonly busyMs: number;
  readonly idleMs: number;
}

export interface GpuIdle {
  /** From the sweep's start to its end (or now). */
  readonly wallMs: number;
  readonly idleMs: number;
  /** Idle time over the workers' wall time (each worker's wall time is the sweep's). */
  readonly idleShare: number;
  readonly workers: readonly WorkerIdle[];
  readonly gaps: readonly IdleGap[];
}

interface Interval {
  readonly start: number;
  readonly end: number;
}

/** An attempt running now, as its heartbeats tell it: a trial's summary lists only attempts that ended. */
export interface RunningAttempt {
  readonly trial: number;
  readonly attempt: number;
  readonly worker: string;
  readonly start: number;
}

/** Every attempt that ran on a worker, with its bar; those still running end `now`. */
export function attemptSpans(
  trials: readonly TrialSummary[],
  now: number,
  running: readonly RunningAttempt[] = [],
): AttemptSpan[] {
  const spans: AttemptSpan[] = running.map((attempt) => ({
    ...attempt,
    end: Math.max(attempt.start, now),
    outcome: 'running' as const,
  }));
  for (const trial of trials) {
    for (const record of trial.attempts) {
      if (record.worker === undefined || record.startedAt === undefined) continue;
      const end = record.exitedAt ?? record.endedAt ?? now;
      spans.push({
        trial: trial.index,
        attempt: record.attempt,
        worker: record.worker,
        start: record.startedAt,
        end: Math.max(record.startedAt, end),
        outcome: record.outcome,
      });
    }
  }
  return spans.sort((a, b) => a.start - b.start || a.trial - b.trial);
}

/** When trials waited: from the sweep's start until their first attempt, and from a lost attempt to the next. */
export function waitingIntervals(
  trials: readonly TrialSummary[],
  spans: readonly AttemptSpan[],
  sweep: Interval,
): Interval[] {
  const waits: Interval[] = [];
  for (const trial of trials) {
    const own = spans.filter((span) => span.trial === trial.index);
    const finished = trial.state === 'succeeded' || trial.state === 'failed' || trial.state === 'cancelled';
    const first = own[0];
    if (!first) {
      // Never ran: it waited the whole sweep, unless it ended without running (cancelled).
      if (!finished) waits.push({ start: sweep.start, end: sweep.end });
      continue;
    }
    waits.push({ start: sweep.start, end: first.start });
    own.forEach((span, i) => {
      if (span.outcome !== 'lost') return;
      const next = own[i + 1];
      waits.push({ start: span.end, end: next ? next.start : finished ? span.end : sweep.end });
    });
  }
  return merge(waits);
}

function merge(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((interval) => interval.end > interval.start).sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const interval of sorted) {
    const last = merged.at(-1);
    if (last && interval.start <= last.end) last.end = Math.max(last.end, interval.end);
    else merged.push({ ...interval });
  }
  return merged;
}

/** The parts of `gap` that fall inside the (merged, sorted) `waiting` intervals. */
function intersect(gap: Interval, waiting: readonly Interval[]): Interval[] {
  return waiting
    .map((wait) => ({ start: Math.max(gap.start, wait.start), end: Math.min(gap.end, wait.end) }))
    .filter((part) => part.end > part.start);
}

function total(intervals: readonly Interval[]): number {
  return intervals.reduce((sum, interval) => sum + interval.end - interval.start, 0);
}

export function gpuIdle(
  trials: readonly TrialSummary[],
  sweep: Interval,
  running: readonly RunningAttempt[] = [],
): GpuIdle {
  const spans = attemptSpans(trials, sweep.end, running);
  const waiting = waitingIntervals(trials, spans, sweep);
  const byWorker = new Map<string, AttemptSpan[]>();
  for (const span of spans) byWorker.set(span.worker, [...(byWorker.get(span.worker) ?? []), span]);
  const workers: WorkerIdle[] = [];
  const gaps: IdleGap[] = [];
  for (const [worker, own] of [...byWorker].sort(([a], [b]) => a.localeCompare(b))) {
    const busy = merge(own);
    const idle = busy.slice(1).flatMap((interval, i) => {
      const before = busy[i];
      return before ? intersect({ start: before.end, end: interval.start }, waiting) : [];
    });
    gaps.push(...idle.map((gap) => ({ worker, ...gap })));
    workers.push({ worker, busyMs: total(busy), idleMs: total(idle) });
  }
  const wallMs = Math.max(0, sweep.end - sweep.start);
  const idleMs = total(gaps);
  return {
    wallMs,
    idleMs,
    idleShare: workers.length && wallMs ? idleMs / (wallMs * workers.length) : 0,
    workers,
    gaps,
  };
}

/** Per trial, the idle time its worker had between its previous attempt and the one that finished this trial. */
export function idleBefore(idle: GpuIdle, trials: readonly TrialSummary[]): Map<number, number> {
  const before = new Map<number, number>();
  const spans = attemptSpans(trials, Number.MAX_SAFE_INTEGER);
  for (const trial of trials) {
    const last = spans.filter((span) => span.trial === trial.index).at(-1);
    if (!last) continue;
    const previousEnd = Math.max(
      -Infinity,
      ...spans.filter((span) => span.worker === last.worker && span.end <= last.start).map((span) => span.end),
    );
    const gaps = idle.gaps.filter(
      (gap) => gap.worker === last.worker && gap.start >= previousEnd && gap.end <= last.start,
    );
    before.set(trial.index, total(gaps));
  }
  return before;
}
