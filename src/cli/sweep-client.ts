import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ConfigError } from '../errors.js';
import { trialCount } from '../sweep-spec/expand.js';
import { renderTrial } from '../sweep-spec/render.js';
import type { SweepSpec } from '../sweep-spec/spec-types.js';
import { heartbeatProgress } from '../temporal/heartbeat-progress.js';
import { isSweepId, newSweepId, queueOfIdentity, trialWorkflowId } from '../temporal/names.js';
import { DEFAULT_PRIORITY, DEFAULT_WEIGHT, type SweepShare } from '../workflows/sweep-share.js';
import { ownerName } from './identity.js';
import { sweepIdKey, sweepOwnerKey, sweepStateKey } from '../temporal/search-attributes.js';
import { withClassVersion } from '../worker-class/class-version.js';
import { sweepProgressQuery } from '../workflows/messages.js';
import type { SweepResult } from '../workflows/sweep-workflow.js';
import type { SweepInput, SweepOptions, SweepProgress, TrialProgress, TrialSummary } from '../workflows/types.js';

/** What the sweep keeps in its memo, so any CLI can show and retry it without its history. */
// A type alias, not an interface: the memo option wants an index-signature-compatible record.
/**
 * What `sweep start` defaults to, and the sweeps other commands start on their own (batch, queue, a Pool, the
 * hosts echo) take: a 30 s heartbeat timeout, 64 trials in flight, continue-as-new after 5000 events, a trial
 * failed after 10 lost workers.
 */
export const DEFAULT_SWEEP_OPTIONS = {
  heartbeatTimeoutSeconds: 30,
  window: 64,
  continueAsNewAfterEvents: 5000,
  maxLostAttempts: 10,
} as const;

export type SweepMemo = {
  readonly spec: SweepSpec;
  readonly options: SweepOptions;
  readonly retryOf?: string;
  /** The trial indices this sweep runs, when not all of them (a retry of failed trials). */
  readonly indices?: readonly number[];
  /** The spec file `sweep start` read, absolute: how `start --extend` finds an unnamed sweep again. */
  readonly specFile?: string;
};

export async function startSweep(
  client: Client,
  spec: SweepSpec,
  options: SweepOptions,
  extra: {
    readonly indices?: readonly number[];
    readonly retryOf?: string;
    readonly sweepId?: string;
    readonly specFile?: string;
  } = {},
): Promise<string> {
  // A caller that must find its sweep again after a crash (the folder queue) names it before starting it.
  const sweepId = extra.sweepId ?? newSweepId(spec.name, new Date(), randomBytes(2).toString('hex'));
  const share = options.share ?? defaultShare(spec);
  options = { ...options, honourResources: true, startDir: options.startDir ?? process.cwd(), share };
  // A worker class is pinned to the version of its file here, so its trials reach only workers that run it.
  spec = withClassVersion(spec, options.startDir ?? process.cwd());
  const input: SweepInput = { sweepId, spec, options, ...(extra.indices ? { indices: extra.indices } : {}) };
  const memo: SweepMemo = {
    spec,
    options,
    ...(extra.retryOf ? { retryOf: extra.retryOf } : {}),
    ...(extra.indices ? { indices: extra.indices } : {}),
    ...(extra.specFile ? { specFile: extra.specFile } : {}),
  };
  const count = extra.indices?.length ?? trialCount(spec);
  await client.workflow.start('sweepWorkflow', {
    workflowId: sweepId,
    taskQueue: options.controlQueue,
    args: [input],
    memo,
    typedSearchAttributes: [
      { key: sweepIdKey, value: sweepId },
      { key: sweepStateKey, value: 'running' },
      { key: sweepOwnerKey, value: share.owner },
    ],
    staticSummary: `${spec.name ?? 'sweep'}: ${count} trials${extra.retryOf ? ` (retry of ${extra.retryOf})` : ''}`,
  });
  return sweepId;
}

/** The owner's (the user's by default), at the spec's priority and weight or the defaults. */
export function defaultShare(spec: SweepSpec, owner = ownerName()): SweepShare {
  return {
    owner,
    priority: spec.priority ?? DEFAULT_PRIORITY,
    weight: spec.weight ?? DEFAULT_WEIGHT,
  };
}

/** The ID as given, or a ConfigError: it goes into visibility queries, so it must hold no quotes. */
export function checkSweepId(id: string): string {
  if (!isSweepId(id)) throw new ConfigError([`${id}: not a sweep ID (letters, digits, ".", "_", "-")`]);
  return id;
}

/** The sweep's memo (spec and options); a ConfigError when there is no such sweep. */
export async function sweepMemo(client: Client, sweepId: string): Promise<SweepMemo & { status: string }> {
  try {
    const description = await client.workflow.getHandle(checkSweepId(sweepId)).describe();
    const memo = description.memo as SweepMemo | undefined;
    if (!memo?.spec || description.type !== 'sweepWorkflow') throw new ConfigError([`${sweepId}: not a sweep`]);
    return { ...memo, status: description.status.name };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new ConfigError([`${sweepId}: no such sweep`]);
    throw error;
  }
}

export async function sweepProgress(client: Client, sweepId: string): Promise<SweepProgress> {
  return client.workflow.getHandle(sweepId).query(sweepProgressQuery);
}

/** How long a query may wait for a worker to answer before the CLI falls back to visibility. */
const QUERY_DEADLINE_MS = 5000;

/**
 * The sweep's own progress (a query, which a worker answers); when no worker answers in time, the counts that
 * visibility knows (trials in flight are then unknown).
 */
export async function sweepProgressOrCounts(
  client: Client,
  sweepId: string,
  memo: SweepMemo & { status: string },
): Promise<{ readonly progress: SweepProgress; readonly fromVisibility: boolean }> {
  try {
    const progress = await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      sweepProgress(client, sweepId),
    );
    return { progress, fromVisibility: false };
  } catch {
    const count = async (state: string) =>
      (
        await client.workflow.count(
          `SweepId = "${sweepId}" AND WorkflowType = "trialWorkflow" AND TrialState = "${state}"`,
        )
      ).count;
    const [succeeded, failed, cancelled] = await Promise.all([count('succeeded'), count('failed'), count('cancelled')]);
    const total = memo.indices?.length ?? trialCount(memo.spec);
    const state =
      memo.status === 'RUNNING'
        ? 'running'
        : memo.status === 'CANCELLED'
          ? 'cancelled'
          : failed > 0
            ? 'failed'
            : 'completed';
    const progress: SweepProgress = {
      sweepId,
      state,
      counts: { total, succeeded, failed, cancelled },
      running: [],
      nextIndex: 0,
      startedAt: 0,
      runs: 0,
      updateVersion: 0,
    };
    return { progress, fromVisibility: true };
  }
}

export async function sweepResult(client: Client, sweepId: string): Promise<SweepResult> {
  return (await client.workflow.getHandle(sweepId).result()) as SweepResult;
}

/** The summary a finished trial keeps in its memo; none while it runs. */
export function summaryOf(execution: { readonly memo?: Record<string, unknown> }): TrialSummary | undefined {
  return (execution.memo as { summary?: TrialSummary } | undefined)?.summary;
}

/** The summaries of the sweep's finished trials, as visibility knows them (it may lag a moment). */
export async function trialSummaries(client: Client, sweepId: string): Promise<TrialSummary[]> {
  const summaries: TrialSummary[] = [];
  const query = `SweepId = "${sweepId}" AND WorkflowType = "trialWorkflow"`;
  for await (const execution of client.workflow.list({ query, pageSize: 1000 })) {
    const summary = summaryOf(execution);
    if (summary) summaries.push(summary);
  }
  return summaries;
}

/** A row of `sweep results`: a finished trial's summary, or what is known of one still to finish. */
export type TrialRow = TrialSummary & {
  /** Shown by `sweep results`, never stored: the idle time its worker had just before it (see gpu-idle.ts). */
  readonly idleBeforeMs?: number;
};

/**
 * Every trial of a sweep, by index: finished ones from their memo, the rest from the spec; while the sweep runs,
 * a trial in flight shows as running when its attempt has started.
 */
export async function trialRows(
  client: Client,
  sweepId: string,
  memo: SweepMemo & { status: string },
): Promise<TrialRow[]> {
  const rows = new Map<number, TrialRow>((await trialSummaries(client, sweepId)).map((row) => [row.index, row]));
  const indices = memo.indices ?? Array.from({ length: trialCount(memo.spec) }, (_, index) => index);
  const started = new Map<number, LiveTrial>();
  if (memo.status === 'RUNNING') {
    const { progress } = await sweepProgressOrCounts(client, sweepId, memo);
    const live = await Promise.all(
      progress.running.filter((index) => !rows.has(index)).map((index) => liveTrial(client, sweepId, index, memo.spec)),
    );
    for (const trial of live) if (trial.state === 'running') started.set(trial.index, trial);
  }
  const now = Date.now();
  const result: TrialRow[] = [];
  for (const index of indices) {
    const known = rows.get(index);
    if (known) {
      result.push(known);
      continue;
    }
    const trial = renderTrial(memo.spec, index);
    const row: TrialRow = {
      sweepId,
      index,
      name: trial.name,
      params: trial.params,
      state: 'queued',
      attempts: [],
      metrics: {},
    };
    const live = started.get(index);
    result.push(live ? runningRow(row, live, now) : row);
  }
  return result;
}

/** A trial whose attempt runs now: what its last heartbeat says (metrics so far, worker, runtime). */
export function runningRow(row: TrialRow, live: LiveTrial, now: number): TrialRow {
  const progress = live.progress;
  return {
    ...row,
    state: 'running',
    metrics: progress?.metrics ?? {},
    ...(progress?.best === undefined ? {} : { best: progress.best }),
    ...(progress?.bestStep === undefined ? {} : { bestStep: progress.bestStep }),
    ...(live.worker ? { worker: live.worker } : {}),
    ...(live.startedAt ? { runtimeMs: Math.max(0, now - live.startedAt.getTime()) } : {}),
  };
}

/** What a trial in flight is doing right now, from its workflow's pending activity. */
export interface LiveTrial {
  readonly index: number;
  readonly name: string;
  readonly state: 'queued' | 'running' | 'finishing';
  /** The attempt that runs, as its heartbeats tell it (hand-backs do not count); unknown until then. */
  readonly attempt?: number;
  readonly worker?: string;
  readonly startedAt?: Date;
  readonly heartbeatAt?: Date;
  readonly progress?: TrialProgress;
  /** A queued trial that does not fit where it was offered: what it needs (`needs 40 GiB GPU memory; …`). */
  readonly waitingFor?: string;
}

/** The trials in flight as they are now: a describe each, so asked at most once a second. */
export function liveTrials(
  client: Client,
  sweepId: string,
  inFlight: readonly number[],
  spec: SweepSpec,
): Promise<LiveTrial[]> {
  return Promise.all(inFlight.map((index) => liveTrial(client, sweepId, index, spec)));
}

export async function liveTrial(client: Client, sweepId: string, index: number, spec: SweepSpec): Promise<LiveTrial> {
  const description = await client.workflow
    .getHandle(trialWorkflowId(sweepId, index))
    .describe()
    .catch((error: unknown) => {
      // The sweep counts a trial as in flight from the moment it asks to start it.
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    });
  return liveTrialOf(index, renderTrial(spec, index).name, description);
}

/**
 * The events of a trial's history until its first workflow task completes (started, task scheduled, task
 * started): that task schedules the first attempt, so a trial this short has not asked for a worker yet.
 */
const EVENTS_BEFORE_FIRST_ATTEMPT = 3;

/** What a describe of a trial's workflow says about it (undefined: not started yet). */
export type TrialDescription = Pick<WorkflowExecutionDescription, 'historyLength' | 'memo'> & {
  readonly raw: Pick<WorkflowExecutionDescription['raw'], 'pendingActivities'>;
};

/**
 * A trial's state from its workflow's description. It runs only once a heartbeat of its attempt says so: until
 * then a started attempt may be one held ready behind a busy slot (it heartbeats `waiting` only after a second),
 * and a trial with no attempt pending is recording an outcome only if it ever scheduled one.
 */
export function liveTrialOf(index: number, name: string, description: TrialDescription | undefined): LiveTrial {
  if (!description) return { index, name, state: 'queued' };
  const pending = description.raw.pendingActivities?.[0];
  // What a worker holding it says now, else what the last worker that gave it back said.
  const memo = description.memo?.waitingFor;
  const remembered = typeof memo === 'string' ? memo : undefined;
  // No attempt pending: it is about to schedule its first, recording an outcome, or pausing after workers that
  // could never hold it.
  if (!pending) {
    if (remembered) return { index, name, state: 'queued', waitingFor: remembered };
    return { index, name, state: description.historyLength <= EVENTS_BEFORE_FIRST_ATTEMPT ? 'queued' : 'finishing' };
  }
  const progress = heartbeatProgress(pending);
  const waitingFor = progress?.waitingFor ?? remembered;
  const started =
    pending.state === proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
    progress !== undefined &&
    !progress.waiting;
  const toDate = (time: typeof pending.lastStartedTime) =>
    time?.seconds ? new Date(Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6)) : undefined;
  const startedAt = toDate(pending.lastStartedTime);
  const heartbeatAt = toDate(pending.lastHeartbeatTime);
  return {
    index,
    name,
    state: started ? 'running' : 'queued',
    ...(progress?.attempt === undefined ? {} : { attempt: progress.attempt }),
    ...(started && pending.lastWorkerIdentity ? { worker: queueOfIdentity(pending.lastWorkerIdentity) } : {}),
    ...(started && startedAt ? { startedAt } : {}),
    ...(heartbeatAt ? { heartbeatAt } : {}),
    ...(started ? { progress } : {}),
    ...(!started && waitingFor ? { waitingFor } : {}),
  };
}
