import {
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import { trialCount } from '../sweep-spec/expand.js';
import { renderTrial } from '../sweep-spec/render.js';
import { trialWorkflowId, UPDATE_VERSION_MEMO } from '../temporal/names.js';
import { sweepIdKey, sweepStateKey, trialIndexKey, trialStateKey } from '../temporal/search-attributes.js';
import {
  broadcastUpdate,
  sweepProgressQuery,
  trialFinishedSignal,
  updatesSinceQuery,
  type TrialFinished,
} from './messages.js';
import { jsonBytes, updateProblem } from './update-limits.js';
import { planTrial } from './trial-plan.js';
import { trialWorkflow } from './trial-workflow.js';
import type { JsonValue } from '../sweep-spec/spec-types.js';
import type { CacheUpdate, SweepCounts, SweepInput, SweepProgress, SweepState } from './types.js';

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
  readonly counts: SweepCounts;
  best: SweepProgress['best'];
  readonly startedAt: number;
  readonly runs: number;
  readonly updates: CacheUpdate[];
  private updateBytes: number;
  private changed = false;

  constructor(private readonly input: SweepInput) {
    const carried = input.carried;
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
      nextIndex: this.nextIndex,
      ...(this.best ? { best: this.best } : {}),
      startedAt: this.startedAt,
      runs: this.runs,
      updateVersion: this.updates.length,
    };
  }

  /** What the next run after continue-as-new starts from. */
  carried(): NonNullable<SweepInput['carried']> {
    const { sweepId: _sweepId, state: _state, ...carried } = this.progress('running');
    return { ...carried, updates: this.updates };
  }

  onTrialFinished(message: TrialFinished): void {
    // A repeated signal (or one for a trial of a previous sweep run) is ignored: each trial counts once.
    if (!this.running.delete(message.index)) return;
    this.counts[message.state]++;
    const metric = this.input.spec.metric;
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
    const { name, params } = renderTrial(this.input.spec, message.index);
    const result: Record<string, JsonValue> = { index: message.index, name, params, state: message.state };
    if (message.metrics) result.metrics = message.metrics;
    if (message.best !== undefined) result.best = message.best;
    const data = { result };
    if (!updateProblem(data, this.updates.length, this.updateBytes)) this.recordUpdate(data);
  }

  /** Starts trials until the window is full; children outlive this run (ABANDON) so continue-as-new keeps them. */
  async fillWindow(): Promise<void> {
    const starting: Promise<unknown>[] = [];
    while (this.running.size < this.input.options.window && this.nextIndex < this.counts.total) {
      const ordinal = this.nextIndex++;
      const index = this.input.indices ? (this.input.indices[ordinal] ?? ordinal) : ordinal;
      this.running.add(index);
      const plan = planTrial(this.input.spec, index, this.input.sweepId, this.input.options);
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
    const best = this.best
      ? ` · best ${this.input.spec.metric?.name} ${this.best.value} (trial ${this.best.index})`
      : '';
    return (
      `**${state}** · ${total} trials: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled, ` +
      `${this.running.size} in flight, ${queued} not started${best}`
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
      setCurrentDetails(run.describe('running'));
      if (run.shouldContinueAsNew()) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof sweepWorkflow>({ ...input, carried: run.carried() });
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
