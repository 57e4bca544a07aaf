// The last step: a checked document (or bare parameters) with its overrides and defaults, as a SweepSpec. Pure.
import type { DocumentFields } from './spec-schema.js';
import type { SpecOverrides, SweepSpec } from './spec-types.js';

/** What the cross-key rules resolved: the values they had to settle in order to check them. */
export interface ResolvedFields {
  readonly command: string[];
  readonly method: SweepSpec['method'];
  readonly samples: number;
  readonly parameters: SweepSpec['parameters'];
  readonly env: Record<string, string>;
  readonly paramEnv: boolean;
  readonly maxTrials: number;
  readonly resources: SweepSpec['resources'];
  readonly workerClass?: SweepSpec['workerClass'];
  readonly trials?: SweepSpec['trials'];
}

/** Fills every default and renames the document's keys; the key order stays fixed, as the spec is sent as JSON. */
export function normaliseSpec(document: DocumentFields, resolved: ResolvedFields, overrides: SpecOverrides): SweepSpec {
  return {
    ...(document.name === undefined ? {} : { name: document.name }),
    command: resolved.command,
    ...(resolved.workerClass ? { workerClass: resolved.workerClass } : {}),
    ...(resolved.trials ? { trials: resolved.trials } : {}),
    method: resolved.method,
    samples: resolved.samples,
    seed: overrides.seed ?? document.seed ?? 0,
    parameters: resolved.parameters,
    ...(document.metric ? { metric: document.metric } : {}),
    ...(document.max_parallel === undefined ? {} : { maxParallel: document.max_parallel }),
    retries: document.retries ?? 0,
    ...withDefined('priority', overrides.priority ?? document.priority),
    ...withDefined('weight', overrides.weight ?? document.weight),
    ...(document.non_retryable_exit_codes ? { nonRetryableExitCodes: document.non_retryable_exit_codes } : {}),
    pool: overrides.pool ?? document.pool ?? 'default',
    ...(document.timeout === undefined ? {} : { timeoutSeconds: document.timeout }),
    resources: resolved.resources,
    env: resolved.env,
    ...(document.workdir === undefined ? {} : { workdir: document.workdir }),
    args: overrides.args ?? document.args ?? 'equals',
    paramEnv: resolved.paramEnv,
    maxTrials: resolved.maxTrials,
    ...(document.update_signal ? { updateSignal: document.update_signal } : {}),
  };
}

/** `{key: value}`, or nothing when the value is absent: an optional key stays out of the spec's JSON. */
function withDefined<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: number });
}
