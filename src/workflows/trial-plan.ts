// The trial contract: everything one trial needs, resolved once by its sweep. The trial workflow and each attempt
// take a plan instead of the whole spec, so a trial's input (and its Web UI page) is its own parameters and
// command, and the rules an attempt follows are decided in one place. Pure: workflows import it.
import { renderTrialTemplate } from '../sweep-spec/render.js';
import type { JsonValue, SweepSpec, WorkerClassSpec } from '../sweep-spec/spec-types.js';
import { resourceRequest, type ResourceRequest } from './resource-request.js';
import type { SweepShare } from './sweep-share.js';
import type { SweepOptions } from './types.js';

/** How a trial's attempts run and what ends them. */
export interface TrialPolicy {
  /** The pool whose workers run the trial (their shared task queue). */
  readonly pool: string;
  /** Seconds without a heartbeat before the worker counts as lost; the worker fences itself just before. */
  readonly heartbeatTimeoutSeconds: number;
  /** Per attempt of the command, from its process start. */
  readonly timeoutSeconds?: number;
  /** Re-runs of a failing command; lost workers never count. */
  readonly retries: number;
  /** Exit codes that fail the trial at once (126 and 127 always do). */
  readonly nonRetryableExitCodes: readonly number[];
  /** A trial whose worker is lost this many times fails. */
  readonly maxLostAttempts: number;
  readonly metric?: { readonly name: string; readonly goal: 'minimize' | 'maximize' };
  /** Sent to the trial's process group after each cache update. */
  readonly updateSignal?: 'SIGUSR1' | 'SIGUSR2' | 'SIGHUP';
  /** What each attempt needs of its worker's hardware; absent: one slot of whatever the worker has. */
  readonly resources?: ResourceRequest;
  /** Whose trial it is and how it competes for slots (absent in sweeps started before sharing: first in, first out). */
  readonly share?: SweepShare;
}

export interface TrialPlan {
  readonly sweepId: string;
  readonly index: number;
  /** `t007_lr=0.001_batch_size=64`: its directory's name and its summary. */
  readonly name: string;
  readonly params: Record<string, JsonValue>;
  /** The argv with only `{trial_dir}` left to fill (see `fillTrialDir`). */
  readonly argv: readonly string[];
  /** The spec's env and SWEEP_PARAMS (and SWEEP_PARAM_*), before the worker adds its own. */
  readonly env: Readonly<Record<string, string>>;
  /** Where the command runs, as the spec says (it must exist). */
  readonly workdir?: string;
  /** Where `sweep start` ran: where the command runs without a workdir, if it exists on the worker's host. */
  readonly startDir?: string;
  /** The sweep whose trial directory the trial uses: its own, or the one a retry continues. */
  readonly directorySweepId: string;
  /** Run as `run(**params)` by a worker of this class and version instead of as a command. */
  readonly workerClass?: WorkerClassSpec & { readonly version: string };
  readonly policy: TrialPolicy;
}

export function planTrial(spec: SweepSpec, index: number, sweepId: string, options: SweepOptions): TrialPlan {
  const { name, params, argv, env } = renderTrialTemplate(spec, index, sweepId);
  return {
    sweepId,
    index,
    name,
    params,
    argv,
    env,
    ...(spec.workdir === undefined ? {} : { workdir: spec.workdir }),
    ...(options.startDir === undefined ? {} : { startDir: options.startDir }),
    directorySweepId: options.origin ?? sweepId,
    ...(spec.workerClass ? { workerClass: { ...spec.workerClass, version: spec.workerClass.version ?? '' } } : {}),
    policy: {
      pool: options.pool,
      heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
      ...(spec.timeoutSeconds === undefined ? {} : { timeoutSeconds: spec.timeoutSeconds }),
      retries: spec.retries,
      nonRetryableExitCodes: spec.nonRetryableExitCodes ?? [],
      maxLostAttempts: options.maxLostAttempts,
      ...(spec.metric ? { metric: spec.metric } : {}),
      ...(spec.updateSignal ? { updateSignal: spec.updateSignal } : {}),
      ...(options.honourResources ? resourcesOf(spec) : {}),
      ...(options.share ? { share: options.share } : {}),
    },
  };
}

function resourcesOf(spec: SweepSpec): { resources?: ResourceRequest } {
  const request = resourceRequest(spec.resources);
  return request ? { resources: request } : {};
}
