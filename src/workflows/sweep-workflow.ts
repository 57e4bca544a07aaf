import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  makeContinueAsNewFunc,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  ApplicationFailure,
} from '@temporalio/workflow';
import { trialCount } from '../sweep-spec/expand.js';
import type { JsonValue, SweepSpec } from '../sweep-spec/spec-types.js';
import { renderTrial } from '../sweep-spec/render.js';
import {
  gateHoldsAtCheckpoint,
  isGateMemo,
  SWEEP_GATE_MEMO,
  trialWorkflowId,
  UPDATE_VERSION_MEMO,
} from '../temporal/names.js';
import { sweepIdKey, sweepStateKey, trialIndexKey, trialStateKey } from '../temporal/search-attributes.js';
import {
  broadcastUpdate,
  changeSweepUpdate,
  claimStartUpdate,
  startGateOpenedSignal,
  sweepChangesQuery,
  sweepProgressQuery,
  trialFinishedSignal,
  trialStoppedSignal,
  updatesSinceQuery,
  type TrialFinished,
} from './messages.js';
import {
  applyChange,
  changeProblem,
  decideStart,
  gateIsUp,
  MAX_CHANGE_LOG,
  wakeCount,
  type SweepChangeRecord,
  type SweepChangeRequest,
  type SweepSettings,
  type TrialStanding,
} from './sweep-changes.js';
import { growGrid, type GridStep } from './grid-growth.js';
import { jsonBytes, updateProblem } from './update-limits.js';
import { planTrial } from './trial-plan.js';
import { trialWorkflow } from './trial-workflow.js';
import type { CacheUpdate, SweepCounts, SweepInput, SweepOptions, SweepProgress, SweepState } from './types.js';

export interface SweepResult {
  readonly sweepId: string;
  readonly state: SweepState;
  readonly counts: SweepCounts;
  readonly best?: SweepProgress['best'];
}

/**
 * The latest update's version, in the memo: workers read it with DescribeWorkflowExecution, which the server
 * answers from the sweep's state without a workflow worker, and query for the updates only when it moved.
 * It is committed with the update, so an update the CLI saw recorded is visible to every trial started after.
 */
function publishUpdateVersion(version: number): void {
  upsertMemo({ [UPDATE_VERSION_MEMO]: version });
}

/** How long a cancelled sweep waits for its trials to confirm they stopped. */
const CANCEL_CONFIRM_TIMEOUT = '2m';

/**
 * The state of one sweep run: which trial starts next, which are in flight, what has finished. Plain JSON, so
 * continue-as-new carries it to the next run.
 */
class SweepRun {
  /** The next trial to start, counted in this sweep's order (an index into `indices` for a retry). */
  nextIndex: number;
  readonly running: Set<number>;
  counts: SweepCounts;
  /** The spec as `sweep edit --add/--add-param/--samples` grew it (carried across continue-as-new). */
  spec: SweepSpec;
  best: SweepProgress['best'];
  readonly startedAt: number;
  readonly runs: number;
  readonly updates: CacheUpdate[];
  private updateBytes: number;
  private changed = false;
  settings: SweepSettings;
  readonly changes: SweepChangeRecord[];
  /** Trials in flight the start gate refused: they wait for `startGateOpened`. */
  readonly held: Set<number>;
  /** Trials stopped by the user before they started: never started, counted cancelled. */
  readonly skipped: Set<number>;
  /** What the memo says (it may come from the run before continue-as-new), so it is written only when it moves. */
  private gateUp = isGateMemo(workflowInfo().memo?.[SWEEP_GATE_MEMO]);
  private gateHolds = gateHoldsAtCheckpoint(workflowInfo().memo?.[SWEEP_GATE_MEMO]);

  constructor(private readonly input: SweepInput) {
    const carried = input.carried;
    this.spec = input.spec;
    const share = input.options.share;
    const carriedSettings =
      // A run carried from before `--priority/--weight` could be edited: its share is the start's.
      carried?.settings && share && carried.settings.priority === undefined
        ? { ...carried.settings, priority: share.priority, weight: share.weight }
        : carried?.settings;
    this.settings = carriedSettings ?? {
      paused: false,
      maxParallel: input.options.window,
      retries: input.spec.retries,
      ...(input.spec.timeoutSeconds === undefined ? {} : { timeoutSeconds: input.spec.timeoutSeconds }),
      ...(share ? { priority: share.priority, weight: share.weight } : {}),
    };
    this.changes = [...(carried?.changes ?? [])];
    this.held = new Set(carried?.held ?? []);
    this.skipped = new Set(carried?.skipped ?? []);
    this.nextIndex = carried?.nextIndex ?? 0;
    this.running = new Set(carried?.running ?? []);
    const total = input.indices?.length ?? trialCount(input.spec);
    this.counts = carried?.counts ?? { total, succeeded: 0, failed: 0, cancelled: 0 };
    this.best = carried?.best;
    this.startedAt = carried?.startedAt ?? Date.now();
    this.runs = (carried?.runs ?? 0) + 1;
    this.updates = [...(carried?.updates ?? [])];
    this.updateBytes = this.updates.reduce((total, update) => total + jsonBytes(update.data), 0);
  }

  /** Rejects an update that breaks a cap (nothing is recorded); runs before the update enters history. */
  validateUpdate(data: Record<string, JsonValue>): void {
    const problem = updateProblem(data, this.updates.length, this.updateBytes);
    if (problem) throw new Error(problem);
  }

  recordUpdate(data: Record<string, JsonValue>): number {
    const update: CacheUpdate = { version: this.updates.length + 1, data, at: Date.now() };
    this.updates.push(update);
    this.updateBytes += jsonBytes(data);
    publishUpdateVersion(update.version);
    return update.version;
  }

  get done(): boolean {
    return this.nextIndex >= this.counts.total && this.running.size === 0;
  }

  progress(state: SweepState): SweepProgress {
    return {
      sweepId: this.input.sweepId,
      state,
      counts: this.counts,
      running: [...this.running],
      held: [...this.held],
      nextIndex: this.nextIndex,
      ...(this.best ? { best: this.best } : {}),
      startedAt: this.startedAt,
      runs: this.runs,
      updateVersion: this.updates.length,
      settings: this.settings,
      changeCount: this.changes.length,
    };
  }

  /** What the next run after continue-as-new starts from. */
  carried(): NonNullable<SweepInput['carried']> {
    const { sweepId: _sweepId, state: _state, changeCount: _count, ...carried } = this.progress('running');
    return {
      ...carried,
      updates: this.updates,
      changes: this.changes,
      held: [...this.held],
      skipped: [...this.skipped],
    };
  }

  /** Where trial `index` is: in flight, not started yet, ended, or not one of this sweep's. */
  standing(index: number): TrialStanding {
    if (this.running.has(index)) return 'running';
    if (this.skipped.has(index)) return 'ended';
    const ordinal = this.input.indices ? this.input.indices.indexOf(index) : index < this.counts.total ? index : -1;
    if (ordinal < 0) return 'no-such-trial';
    return ordinal >= this.nextIndex ? 'not-started' : 'ended';
  }

  validateChange(request: SweepChangeRequest): void {
    if (this.changes.some((record) => record.id === request?.id)) return;
    const problem = changeProblem(request, {
      settings: this.settings,
      standing: (index) => this.standing(index),
      growthProblem: (steps) => {
        const grown = growGrid(this.spec, steps, this.input.indices !== undefined);
        return 'problem' in grown ? grown.problem : undefined;
      },
    });
    if (problem) throw new Error(problem);
  }

  /** Applies an accepted change and records it with who asked; a repeated ID gets the first record back. */
  async change(request: SweepChangeRequest): Promise<SweepChangeRecord> {
    const earlier = this.changes.find((record) => record.id === request.id);
    if (earlier) return earlier;
    const { change } = request;
    let result: string;
    if (change.kind === 'stop-trial') {
      result = await this.stopTrial(change.index, request.by);
    } else if (change.kind === 'grow') {
      result = this.grow(change.steps);
    } else if (change.kind === 'rerun-trial') {
      const rerun = this.grow([{ kind: 'rerun', index: change.index }]);
      result = `${rerun} (a rerun of ${renderTrial(this.spec, change.index).name})`;
    } else {
      const applied = applyChange(this.settings, change);
      this.settings = applied.settings;
      result = applied.result;
      // `sweep status`, `status --by-owner` and a retry read the share from the memo.
      if (change.kind === 'set' && (change.priority !== undefined || change.weight !== undefined)) {
        upsertMemo({ options: this.options() });
      }
    }
    const record: SweepChangeRecord = { id: request.id, by: request.by, at: Date.now(), change, result };
    this.changes.push(record);
    if (this.changes.length > MAX_CHANGE_LOG) this.changes.splice(0, this.changes.length - MAX_CHANGE_LOG);
    this.changed = true;
    await this.refreshGate();
    return record;
  }

  /** The sweep's options with the share as `sweep edit --priority/--weight` left it. */
  options(): SweepOptions {
    const { share } = this.input.options;
    const { priority, weight } = this.settings;
    if (!share || priority === undefined || weight === undefined) return this.input.options;
    return { ...this.input.options, share: { ...share, priority, weight } };
  }

  /** Appends the trials `steps` make new; the memo's spec follows, so every CLI sees them. */
  private grow(steps: readonly GridStep[]): string {
    const grown = growGrid(this.spec, steps, this.input.indices !== undefined);
    // The validator ran against this very state: a problem now is a bug, and it fails the Update, not the sweep.
    if ('problem' in grown) throw ApplicationFailure.nonRetryable(grown.problem);
    this.spec = grown.spec;
    this.counts = { ...this.counts, total: trialCount(grown.spec) };
    upsertMemo({ spec: grown.spec });
    const { from, to } = grown.added;
    const name = (index: number) => renderTrial(grown.spec, index).name.split('_')[0];
    const which = to - from === 1 ? name(from) : `${name(from)}..${name(to - 1)}`;
    return `added ${to - from} trial${to - from === 1 ? '' : 's'}: ${which}`;
  }

  private async stopTrial(index: number, by: string): Promise<string> {
    if (this.standing(index) === 'not-started') {
      this.skipped.add(index);
      this.counts.cancelled++;
      return `trial ${index} will not start (stopped by ${by})`;
    }
    const trial = getExternalWorkflowHandle(trialWorkflowId(this.input.sweepId, index));
    // The reason first, then the cancellation: the trial records who stopped it, and it is not a failure.
    await trial.signal(trialStoppedSignal, { by });
    await trial.cancel();
    // Asked, not yet done: a trial that exits first keeps its own outcome.
    return `trial ${index} stopping (asked by ${by})`;
  }

  /** A worker asks to start trial `index` while the gate is up. */
  claimStart(index: number): { granted: true } | { granted: false; reason: string } {
    // Decided by the state now, not by what the memo said when the worker read it.
    if (!gateIsUp(this.settings, this.running.size)) {
      this.held.delete(index);
      return { granted: true };
    }
    const decision = decideStart(this.settings, index, this.running, this.held);
    if (decision.granted) this.held.delete(index);
    else if (this.running.has(index)) this.held.add(index);
    return decision;
  }

  /**
   * Raises or lowers the start gate as the trials in flight and the settings change, tells workers through the
   * memo when it moves, and wakes as many held trials as may start now.
   */
  async refreshGate(): Promise<void> {
    for (const index of this.held) if (!this.running.has(index)) this.held.delete(index);
    const up = gateIsUp(this.settings, this.running.size);
    const holds = up && this.settings.hold === true;
    // Written only when up or hold moves (not when max parallel does), as runs from before the hold did.
    if (up !== this.gateUp || holds !== this.gateHolds) {
      this.gateUp = up;
      this.gateHolds = holds;
      const { paused, maxParallel } = this.settings;
      upsertMemo({ [SWEEP_GATE_MEMO]: up ? { paused, maxParallel, ...(holds ? { hold: true } : {}) } : null });
    }
    const wake = [...this.held].slice(0, wakeCount(this.settings, this.running.size, this.held.size));
    if (!up) this.held.clear();
    await Promise.all(
      wake.map((index) =>
        getExternalWorkflowHandle(trialWorkflowId(this.input.sweepId, index))
          .signal(startGateOpenedSignal)
          .catch(() => undefined),
      ),
    );
  }

  onTrialFinished(message: TrialFinished): void {
    // A repeated signal (or one for a trial of a previous sweep run) is ignored: each trial counts once.
    if (!this.running.delete(message.index)) return;
    this.counts[message.state]++;
    const metric = this.spec.metric;
    if (metric && message.best !== undefined) {
      const better =
        !this.best || (metric.goal === 'minimize' ? message.best < this.best.value : message.best > this.best.value);
      if (better) this.best = { index: message.index, value: message.best };
    }
    if (this.input.options.broadcastResults) this.broadcastResult(message);
    this.changed = true;
  }

  /** `--broadcast-results`: the trial's result becomes a cache update, unless that would break a cap. */
  private broadcastResult(message: TrialFinished): void {
    const { name, params } = renderTrial(this.spec, message.index);
    const result: Record<string, JsonValue> = { index: message.index, name, params, state: message.state };
    if (message.metrics) result.metrics = message.metrics;
    if (message.best !== undefined) result.best = message.best;
    const data = { result };
    if (!updateProblem(data, this.updates.length, this.updateBytes)) this.recordUpdate(data);
  }

  /** Starts trials until the window is full; children outlive this run (ABANDON) so continue-as-new keeps them. */
  async fillWindow(): Promise<void> {
    const starting: Promise<unknown>[] = [];
    if (this.settings.paused) return;
    const { retries, timeoutSeconds } = this.settings;
    // `sweep edit --retries/--timeout` apply to the trials that start from now on.
    const { timeoutSeconds: _spec, ...rest } = this.spec;
    const spec = { ...rest, retries, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) };
    const options = this.options();
    while (this.running.size < this.settings.maxParallel && this.nextIndex < this.counts.total) {
      const ordinal = this.nextIndex++;
      const index = this.input.indices ? (this.input.indices[ordinal] ?? ordinal) : ordinal;
      if (this.skipped.has(index)) continue;
      this.running.add(index);
      const plan = planTrial(spec, index, this.input.sweepId, options);
      starting.push(
        startChild(trialWorkflow, {
          workflowId: trialWorkflowId(this.input.sweepId, index),
          taskQueue: this.input.options.controlQueue,
          args: [{ plan }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: plan.name,
          typedSearchAttributes: [
            { key: sweepIdKey, value: this.input.sweepId },
            { key: trialIndexKey, value: index },
            { key: trialStateKey, value: 'queued' },
          ],
        }),
      );
    }
    await Promise.all(starting);
  }

  async waitForChange(): Promise<void> {
    await condition(() => this.changed);
    this.changed = false;
  }

  shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= this.input.options.continueAsNewAfterEvents;
  }

  describe(state: SweepState): string {
    const { total, succeeded, failed, cancelled } = this.counts;
    const queued = total - this.nextIndex;
    const best = this.best ? ` · best ${this.spec.metric?.name} ${this.best.value} (trial ${this.best.index})` : '';
    const { paused, maxParallel } = this.settings;
    const steering = state === 'running' ? `${paused ? ' · **paused**' : ''} · max parallel ${maxParallel}` : '';
    const last = this.changes.at(-1);
    const changed = last ? `\n\nlast change: ${last.result} (${last.by}, ${new Date(last.at).toISOString()})` : '';
    return (
      `**${state}** · ${total} trials: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled, ` +
      `${this.running.size} in flight, ${queued} not started${best}${steering}${changed}`
    );
  }

  /** Cancels every trial in flight and waits (bounded) for each to confirm. */
  async cancelTrials(): Promise<void> {
    await Promise.all(
      [...this.running].map((index) =>
        getExternalWorkflowHandle(trialWorkflowId(this.input.sweepId, index))
          .cancel()
          .catch(() => this.onTrialFinished({ index, state: 'cancelled' })),
      ),
    );
    this.nextIndex = this.counts.total;
    await condition(() => this.running.size === 0, CANCEL_CONFIRM_TIMEOUT);
  }
}

/** A sweep: keeps a window of trial workflows in flight until every trial has ended, across continue-as-new. */
export async function sweepWorkflow(input: SweepInput): Promise<SweepResult> {
  const run = new SweepRun(input);
  setHandler(trialFinishedSignal, (message) => run.onTrialFinished(message));
  setHandler(sweepProgressQuery, () => run.progress('running'));
  setHandler(updatesSinceQuery, (version) => run.updates.slice(Math.max(0, version)));
  let finished = false;
  setHandler(broadcastUpdate, (data) => run.recordUpdate(data), {
    validator: (data: Record<string, JsonValue>) => {
      if (finished) throw new Error('the sweep has ended; its trials can no longer receive updates');
      run.validateUpdate(data);
    },
  });
  setHandler(changeSweepUpdate, (request) => run.change(request), {
    validator: (request: SweepChangeRequest) => {
      if (finished) throw new Error('the sweep has ended; there is nothing left to change');
      run.validateChange(request);
    },
  });
  setHandler(sweepChangesQuery, () => ({ settings: run.settings, changes: run.changes }));
  setHandler(claimStartUpdate, ({ index }) => run.claimStart(index));
  if (run.updates.length > 0) publishUpdateVersion(run.updates.length);
  upsertSearchAttributes([
    { key: sweepIdKey, value: input.sweepId },
    { key: sweepStateKey, value: 'running' },
  ]);

  const finish = (state: SweepState): SweepResult => {
    finished = true;
    upsertSearchAttributes([{ key: sweepStateKey, value: state }]);
    setCurrentDetails(run.describe(state));
    setHandler(sweepProgressQuery, () => run.progress(state));
    return { sweepId: input.sweepId, state, counts: run.counts, ...(run.best ? { best: run.best } : {}) };
  };

  try {
    while (!run.done) {
      await run.fillWindow();
      await run.refreshGate();
      setCurrentDetails(run.describe('running'));
      if (run.shouldContinueAsNew()) {
        await condition(allHandlersFinished);
        // The memo as upserted (a grown spec): without it the next run would start from the start request's.
        await makeContinueAsNewFunc<typeof sweepWorkflow>({ memo: workflowInfo().memo })({
          ...input,
          spec: run.spec,
          carried: run.carried(),
        });
      }
      if (!run.done) await run.waitForChange();
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    await CancellationScope.nonCancellable(() => run.cancelTrials());
    return finish('cancelled');
  }
  return finish(run.counts.failed > 0 ? 'failed' : 'completed');
}
