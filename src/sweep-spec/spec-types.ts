// The normalized sweep spec: plain JSON only, so it can be a workflow input and be replayed.
import type { z } from 'zod';
import type { argStyleSchema, methodSchema, metricSchema, updateSignalSchema } from './spec-schema.js';

export type Scalar = string | number | boolean | null;
export type JsonValue = Scalar | JsonValue[] | { [key: string]: JsonValue };

/** A finite, ordered set of values; never materialized, so a million-point axis costs nothing. */
export type GridAxis =
  | { readonly kind: 'values'; readonly values: readonly JsonValue[] }
  /** start + k·step for k in [0, count) */
  | { readonly kind: 'range'; readonly start: number; readonly step: number; readonly count: number }
  /** `count` evenly spaced values from start to stop inclusive */
  | { readonly kind: 'linspace'; readonly start: number; readonly stop: number; readonly count: number }
  /** `count` geometrically spaced values from start to stop inclusive (numpy's geomspace) */
  | { readonly kind: 'logspace'; readonly start: number; readonly stop: number; readonly count: number };

export type Distribution =
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number; readonly q?: number }
  | { readonly kind: 'loguniform'; readonly min: number; readonly max: number; readonly q?: number }
  | { readonly kind: 'normal'; readonly mu: number; readonly sigma: number; readonly q?: number }
  /** uniform integer, both ends included */
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'choice'; readonly values: readonly JsonValue[]; readonly weights?: readonly number[] }
  | { readonly kind: 'poisson'; readonly lambda: number }
  | { readonly kind: 'chisquare'; readonly df: number };

export type ParameterSpec =
  | { readonly name: string; readonly type: 'grid'; readonly axis: GridAxis }
  | { readonly name: string; readonly type: 'random'; readonly distribution: Distribution };

/** How parameters become arguments: `--lr=0.1`, `--lr 0.1`, `lr=0.1` (Hydra), or only through placeholders. */
export type ArgStyle = z.infer<typeof argStyleSchema>;

/** What one trial needs of a worker; `{}` when the spec asks for nothing. */
export interface Resources {
  /**
   * GPUs per trial, all on one host. Absent: one slot of whatever the worker has (a GPU on a GPU worker, a CPU
   * slot on a CPU worker). 0: CPU only, never a GPU.
   */
  readonly gpus?: number;
  /** Free memory each of its GPUs must have, in MB (decimal, as parseSizeMb gives today). */
  readonly gpuMemoryMb?: number;
  /** Other trials may share its GPUs while memory allows (ml-scheduler's --no-reserve-gpu). */
  readonly gpuShare?: true;
  /** The most a GPU may already be busy, 0 < x <= 1 (ml-scheduler's 0.75). */
  readonly gpuUtilization?: number;
  readonly cpus?: number;
  readonly memoryMb?: number;
  /** The whole host: nothing else of Sweep's runs on it meanwhile. */
  readonly reserveHost?: true;
  /** Worker labels a worker must have, e.g. { gpu_model: 'A100' }. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A persistent Python worker class (distributed_computing's): `__init__(init)` once per GPU, `run(**params)` per trial. */
export interface WorkerClassSpec {
  /** `train_worker:Trainer` */
  readonly ref: string;
  /**
   * The sha256 (12 hex) of the class's module file where the sweep was started, set by `sweep start`: only
   * workers that load that very file take its trials.
   */
  readonly version?: string;
  /** Handed to `__init__`; `{args: [...], kwargs: {...}}` spreads them. Absent: the worker's `--init`. */
  readonly init?: JsonValue;
}

/**
 * A run of trials with consecutive indices from `first`: the grid of `parameters` times `samples`. A sweep that
 * `sweep edit --add/--add-param/--samples` grew lists them in order (the first is the spec as started), so the
 * trials it had keep their indices, parameters and names, and each edit's trials follow.
 */
export interface TrialBlock {
  readonly first: number;
  readonly parameters: readonly ParameterSpec[];
  readonly samples: number;
}

export interface SweepSpec {
  readonly name?: string;
  /** argv template; `{name}` placeholders are filled per trial. Empty for a worker-class sweep. */
  readonly command: readonly string[];
  readonly workerClass?: WorkerClassSpec;
  /** The trials' parameters one by one (a Pool's `map`, a `trials:` list), instead of a grid. */
  readonly trials?: readonly Readonly<Record<string, JsonValue>>[];
  readonly method: z.infer<typeof methodSchema>;
  /** Random samples per grid point (1 for a pure grid). */
  readonly samples: number;
  readonly seed: number;
  /** In file order: the first varies slowest. A grown sweep's: every axis with every value added so far. */
  readonly parameters: readonly ParameterSpec[];
  /** Absent until the sweep is grown; then its trials, block by block (`parameters` and `samples` are the sum). */
  readonly blocks?: readonly TrialBlock[];
  readonly metric?: Readonly<z.infer<typeof metricSchema>>;
  readonly maxParallel?: number;
  readonly retries: number;
  /** 1 (most urgent) … 5; absent: 3. How its trials compete with other sweeps' for slots. */
  readonly priority?: number;
  /** Its owner's share of slots against other owners of the same priority; absent: 1. */
  readonly weight?: number;
  /** Exit codes that mean "retrying cannot help" (bad arguments, say): the trial fails at once. */
  readonly nonRetryableExitCodes?: readonly number[];
  /** The worker pool trials run on: workers started with `--pool NAME` (default "default"). */
  readonly pool: string;
  readonly timeoutSeconds?: number;
  readonly resources: Resources;
  readonly env: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly args: ArgStyle;
  /** Also export each parameter as SWEEP_PARAM_<NAME>. */
  readonly paramEnv: boolean;
  readonly maxTrials: number;
  /** Names for the trials by index, instead of `t007_lr=…` (a batch file's job names); never from YAML. */
  readonly trialNames?: readonly string[];
  /** The batch file this sweep runs (`sweep batch`), absolute, so a rerun finds the sweep again. */
  readonly batchFile?: string;
  /** Sent to a running trial's process group after each cache update is appended (off by default). */
  readonly updateSignal?: z.infer<typeof updateSignalSchema>;
}

/** What the command line may set or override. */
export interface SpecOverrides {
  readonly command?: readonly string[];
  readonly args?: ArgStyle;
  readonly seed?: number;
  readonly samples?: number;
  readonly maxTrials?: number;
  readonly pool?: string;
  readonly priority?: number;
  readonly weight?: number;
  /** Each field given replaces the file's (`labels` label by label). */
  readonly resources?: Resources;
}
