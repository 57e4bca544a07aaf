// Changes to a running sweep (`sweep pause`, `resume`, `edit`, `stop`): what each may be, whether it is valid now,
// and what it does to the sweep's settings. Pure and deterministic: the sweep workflow runs it, in its Update's
// validator (a refused change never enters history) and its handler (an accepted one is recorded with who asked).
import { PRIORITY_RANGE, WEIGHT_RANGE } from '../sweep-spec/spec-schema.js';
import type { GridStep } from './grid-growth.js';

/** A change as the CLI or the TypeScript API asks for it. */
export type SweepChange =
  /** No new trial starts; running ones finish, or with `hold` go back to the queue at their next checkpoint. */
  | { readonly kind: 'pause'; readonly hold?: boolean }
  | { readonly kind: 'resume' }
  /** For trials not started yet (`maxParallel` at once: lowering it lets running trials finish). */
  | {
      readonly kind: 'set';
      readonly maxParallel?: number;
      readonly retries?: number;
      /** Seconds per attempt; null: no timeout. */
      readonly timeoutSeconds?: number | null;
      /** 1 (most urgent) … 5, and the owner's share: for the trials the sweep hands out from now on. */
      readonly priority?: number;
      readonly weight?: number;
    }
  /** One trial ends as cancelled, recorded as stopped by the user: running, it is cancelled; not started, skipped. */
  | { readonly kind: 'stop-trial'; readonly index: number }
  /** More trials: new values, a new axis, more draws (`growGrid`); the trials so far keep indices and names. */
  | { readonly kind: 'grow'; readonly steps: readonly GridStep[] }
  /** A trial that has ended runs again from scratch, as a new trial with its parameters (its record stays). */
  | { readonly kind: 'rerun-trial'; readonly index: number };

export interface SweepChangeRequest {
  /** Chosen by the client and kept with the change: a retried request returns the first one's record. */
  readonly id: string;
  /** `$USER@host`, or the API client's identity. */
  readonly by: string;
  readonly change: SweepChange;
}

export interface SweepChangeRecord {
  readonly id: string;
  readonly by: string;
  /** When the sweep accepted it (workflow time, ms). */
  readonly at: number;
  readonly change: SweepChange;
  /** What it changed, in words: `max parallel 4 → 1`. */
  readonly result: string;
}

/** What a sweep's changes have set; the spec's values until a change says otherwise. */
export interface SweepSettings {
  readonly paused: boolean;
  /** While paused: running trials are stopped at their next checkpoint (`pause --hold`), not left to finish. */
  readonly hold?: boolean;
  readonly maxParallel: number;
  readonly retries: number;
  readonly timeoutSeconds?: number;
  /** The sweep's priority and weight; absent for a sweep started before sharing (it has none to change). */
  readonly priority?: number;
  readonly weight?: number;
}

/** Where a trial is, as far as the sweep knows: what `stop-trial` may do to it. */
export type TrialStanding = 'running' | 'not-started' | 'ended' | 'no-such-trial';

/** The most changes a sweep keeps in its log (each is small, and the log is carried across continue-as-new). */
export const MAX_CHANGE_LOG = 500;
export const MAX_PARALLEL_LIMIT = 10_000;
export const MAX_RETRIES_LIMIT = 100;

const isWhole = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** What a change is checked against: the sweep as it is now. */
export interface SweepNow {
  readonly settings: SweepSettings;
  readonly standing: (index: number) => TrialStanding;
  /** Why its grid cannot grow by `steps` (`growGrid`'s problem); undefined when it can. */
  readonly growthProblem: (steps: readonly GridStep[]) => string | undefined;
}

/** Why `request` cannot be applied now; undefined when it can. The request is JSON from any client. */
export function changeProblem(request: SweepChangeRequest, now: SweepNow): string | undefined {
  const { settings, standing } = now;
  if (typeof request?.id !== 'string' || request.id === '' || request.id.length > 200) {
    return 'change id: expected a non-empty string of at most 200 characters';
  }
  if (typeof request.by !== 'string' || request.by === '' || request.by.length > 200) {
    return 'by: expected who asks for the change, e.g. alice@hostA';
  }
  const change = request.change;
  switch (change?.kind) {
    case 'pause':
      if (change.hold !== undefined && typeof change.hold !== 'boolean') {
        return `hold: expected true or false, got ${JSON.stringify(change.hold)}`;
      }
      // A paused sweep may still be told to hold its running trials; nothing else about a pause can change.
      if (settings.paused && (settings.hold === true || change.hold !== true)) {
        return settings.hold ? 'the sweep is already paused with --hold' : 'the sweep is already paused';
      }
      return undefined;
    case 'resume':
      return settings.paused ? undefined : 'the sweep is not paused';
    case 'set': {
      const { maxParallel, retries, timeoutSeconds, priority, weight } = change;
      const given = [maxParallel, retries, timeoutSeconds, priority, weight];
      if (given.every((value) => value === undefined)) {
        return 'nothing to change: give max parallel, retries, timeout, priority or weight';
      }
      if ((priority !== undefined || weight !== undefined) && settings.priority === undefined) {
        return 'the sweep was started before sharing: it has no priority or weight to change';
      }
      if (priority !== undefined && !isWhole(priority, PRIORITY_RANGE.min, PRIORITY_RANGE.max)) {
        return `priority: expected a whole number from ${PRIORITY_RANGE.min} to ${PRIORITY_RANGE.max}, got ${JSON.stringify(priority)}`;
      }
      if (
        weight !== undefined &&
        !(typeof weight === 'number' && weight >= WEIGHT_RANGE.min && weight <= WEIGHT_RANGE.max)
      ) {
        return `weight: expected a number from ${WEIGHT_RANGE.min} to ${WEIGHT_RANGE.max}, got ${JSON.stringify(weight)}`;
      }
      if (maxParallel !== undefined && !isWhole(maxParallel, 1, MAX_PARALLEL_LIMIT)) {
        return `max parallel: expected a whole number from 1 to ${MAX_PARALLEL_LIMIT}, got ${JSON.stringify(maxParallel)}`;
      }
      if (retries !== undefined && !isWhole(retries, 0, MAX_RETRIES_LIMIT)) {
        return `retries: expected a whole number from 0 to ${MAX_RETRIES_LIMIT}, got ${JSON.stringify(retries)}`;
      }
      if (
        timeoutSeconds !== undefined &&
        timeoutSeconds !== null &&
        !(typeof timeoutSeconds === 'number' && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)
      ) {
        return `timeout: expected a positive duration, got ${JSON.stringify(timeoutSeconds)}`;
      }
      const same =
        (maxParallel === undefined || maxParallel === settings.maxParallel) &&
        (retries === undefined || retries === settings.retries) &&
        (timeoutSeconds === undefined || (timeoutSeconds ?? undefined) === settings.timeoutSeconds) &&
        (priority === undefined || priority === settings.priority) &&
        (weight === undefined || weight === settings.weight);
      if (same) return `nothing would change: ${describeSettings(settings)}`;
      return undefined;
    }
    case 'stop-trial': {
      if (!isWhole(change.index, 0, Number.MAX_SAFE_INTEGER)) {
        return `trial: expected a trial index, got ${JSON.stringify(change.index)}`;
      }
      const where = standing(change.index);
      if (where === 'no-such-trial') return `trial ${change.index}: the sweep has no such trial`;
      if (where === 'ended') return `trial ${change.index} has already ended`;
      return undefined;
    }
    case 'grow':
      return now.growthProblem(change.steps);
    case 'rerun-trial': {
      if (!isWhole(change.index, 0, Number.MAX_SAFE_INTEGER)) {
        return `trial: expected a trial index, got ${JSON.stringify(change.index)}`;
      }
      const where = standing(change.index);
      if (where === 'no-such-trial') return `trial ${change.index}: the sweep has no such trial`;
      if (where === 'running') return `trial ${change.index} is running: rerun it once it has ended (or stop it)`;
      if (where === 'not-started') return `trial ${change.index} has not started yet: it will run anyway`;
      return now.growthProblem([{ kind: 'rerun', index: change.index }]);
    }
    default:
      return `change: expected one of pause, resume, set, stop-trial, grow, rerun-trial; got ${JSON.stringify((change as { kind?: unknown })?.kind)}`;
  }
}

function seconds(value: number | undefined): string {
  return value === undefined ? 'none' : `${value}s`;
}

/** `max parallel 4, retries 0, timeout none` (and `paused`). */
export function describeSettings(settings: SweepSettings): string {
  const paused = settings.paused
    ? settings.hold
      ? 'paused, holding running trials at checkpoints, '
      : 'paused, '
    : '';
  const share = settings.priority === undefined ? '' : `, priority ${settings.priority}, weight ${settings.weight}`;
  return `${paused}max parallel ${settings.maxParallel}, retries ${settings.retries}, timeout ${seconds(settings.timeoutSeconds)}${share}`;
}

/** The settings after `change` (valid by `changeProblem`), and what changed in words. */
export function applyChange(
  settings: SweepSettings,
  change: Exclude<SweepChange, { kind: 'stop-trial' | 'grow' | 'rerun-trial' }>,
): { settings: SweepSettings; result: string } {
  switch (change.kind) {
    case 'pause': {
      const holding = 'running trials go back to the queue at their next checkpoint';
      if (settings.paused) return { settings: { ...settings, hold: true }, result: `still paused: ${holding}` };
      const next = { ...settings, paused: true, ...(change.hold ? { hold: true } : {}) };
      return { settings: next, result: `paused: no new trial starts${change.hold ? `; ${holding}` : ''}` };
    }
    case 'resume': {
      const { hold: _hold, ...rest } = settings;
      return { settings: { ...rest, paused: false }, result: 'resumed' };
    }
    case 'set': {
      const said: string[] = [];
      let next: SweepSettings = settings;
      if (change.maxParallel !== undefined) {
        said.push(`max parallel ${settings.maxParallel} → ${change.maxParallel}`);
        next = { ...next, maxParallel: change.maxParallel };
      }
      if (change.retries !== undefined) {
        said.push(`retries ${settings.retries} → ${change.retries}`);
        next = { ...next, retries: change.retries };
      }
      if (change.timeoutSeconds !== undefined) {
        const timeout = change.timeoutSeconds ?? undefined;
        said.push(`timeout ${seconds(settings.timeoutSeconds)} → ${seconds(timeout)}`);
        const { timeoutSeconds: _old, ...rest } = next;
        next = timeout === undefined ? rest : { ...rest, timeoutSeconds: timeout };
      }
      if (change.priority !== undefined) {
        said.push(`priority ${settings.priority} → ${change.priority}`);
        next = { ...next, priority: change.priority };
      }
      if (change.weight !== undefined) {
        said.push(`weight ${settings.weight} → ${change.weight}`);
        next = { ...next, weight: change.weight };
      }
      return { settings: next, result: said.join(', ') };
    }
  }
}

/**
 * The start gate: while a sweep is paused, or has more trials in flight than its max parallel (it was lowered),
 * each trial asks before its process starts. In flight are trial workflows the sweep started, running or still
 * queued for a slot; those it refused (`held`) wait. Unset otherwise: a trial then starts without asking.
 */
export function gateIsUp(settings: SweepSettings, inFlight: number): boolean {
  return settings.paused || inFlight > settings.maxParallel;
}

/**
 * Whether trial `index` may start now. `active` counts the trials in flight that were not refused: running, or
 * on their way to a slot (the sweep cannot tell which), so the figure errs on the side of fewer at once.
 */
export function decideStart(
  settings: SweepSettings,
  index: number,
  inFlight: ReadonlySet<number>,
  held: ReadonlySet<number>,
): { granted: true } | { granted: false; reason: string } {
  if (!inFlight.has(index)) return { granted: false, reason: `trial ${index} is not in flight` };
  if (settings.paused) return { granted: false, reason: 'the sweep is paused' };
  let others = 0;
  for (const each of inFlight) if (each !== index && !held.has(each)) others++;
  return others < settings.maxParallel
    ? { granted: true }
    : { granted: false, reason: `the sweep runs at most ${settings.maxParallel} at once` };
}

/** How many held trials to wake now: as many as could start, or all once the gate is down. */
export function wakeCount(settings: SweepSettings, inFlight: number, held: number): number {
  if (!gateIsUp(settings, inFlight)) return held;
  if (settings.paused) return 0;
  return Math.max(0, Math.min(held, settings.maxParallel - (inFlight - held)));
}
