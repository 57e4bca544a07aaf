// What a spec file may say, as zod schemas: the first of the three validation steps. Pure (zod only).
import { z } from 'zod';
import { describeValue } from './problems.js';
import { parseDurationSeconds, parseFraction, parseSizeMb } from './quantities.js';

const duration = z.union([z.string(), z.number()]).transform((value, context) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) {
    context.addIssue({
      code: 'custom',
      message: `expected a duration like 90s, 30m or 2h, got ${describeValue(value)}`,
    });
    return z.NEVER;
  }
  return seconds;
});

/** A size as specs write it (`10GiB`, `512MB`, `8000`), in decimal MB. */
export const size = z.union([z.string(), z.number()]).transform((value, context) => {
  const mb = parseSizeMb(value);
  if (mb === undefined) {
    context.addIssue({
      code: 'custom',
      message: `expected a size like 16GiB, 512MB or 8000 (MB), got ${describeValue(value)}`,
    });
    return z.NEVER;
  }
  return mb;
});

const fraction = z.union([z.string(), z.number()]).transform((value, context) => {
  const parsed = parseFraction(value);
  if (parsed === undefined) {
    context.addIssue({
      code: 'custom',
      message: `expected a fraction 0 < x <= 1 or a percentage like 75%, got ${describeValue(value)}`,
    });
    return z.NEVER;
  }
  return parsed;
});

/** A worker label's value: a string, or a number taken as its text. */
const labelValue = z.unknown().transform((value, context) => {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  context.addIssue({ code: 'custom', message: `expected a string or a number, got ${describeValue(value)}` });
  return z.NEVER;
});

/** What one trial needs; the label names are checked with the other cross-key rules. */
const resourcesSchema = z.strictObject({
  gpus: z.int().min(0).optional(),
  gpu_memory: size.optional(),
  gpu_share: z.boolean().optional(),
  gpu_utilization: fraction.optional(),
  cpus: z.number().positive().optional(),
  memory: size.optional(),
  reserve: z.literal('host').optional(),
  labels: z.record(z.string(), labelValue).optional(),
});

/** Names of pools and sweeps (and of hosts in an inventory). */
export const shortName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected up to 63 letters, digits, ".", "_" or "-"');

export const methodSchema = z.enum(['grid', 'random']);
export const metricSchema = z.strictObject({
  name: z.string().min(1),
  goal: z.enum(['minimize', 'maximize']).default('minimize'),
});
export const argStyleSchema = z.enum(['equals', 'space', 'hydra', 'none']);
export const updateSignalSchema = z.enum(['SIGUSR1', 'SIGUSR2', 'SIGHUP']);
/** `train_worker:Trainer` or `lab.models:Trainer`: a Python module (importable from the project) and a class in it. */
export const workerClassSchema = z
  .string()
  .regex(
    /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$/,
    'expected module:Class, e.g. train_worker:Trainer (a module importable from the project, and a class in it)',
  );
/** Plain JSON: what crosses into Python and back, and into a workflow's history. */
const jsonValue = z.json();

/** `priority:` 1 (most urgent) … 5, and `weight:`, an owner's relative share of slots. */
export const PRIORITY_RANGE = { min: 1, max: 5 } as const;
export const WEIGHT_RANGE = { min: 0.01, max: 1000 } as const;

/** A sweep document; `parameters` is only a mapping here, each parameter has its own grammar. */
export const documentSchema = z.strictObject({
  name: shortName.optional(),
  command: z.union([z.string(), z.array(z.union([z.string(), z.number()]))]).optional(),
  method: methodSchema.optional(),
  samples: z.int().min(1).optional(),
  seed: z.int().min(0).optional(),
  metric: metricSchema.optional(),
  max_parallel: z.int().min(1).optional(),
  retries: z.int().min(0).max(100).optional(),
  priority: z.int().min(PRIORITY_RANGE.min).max(PRIORITY_RANGE.max).optional(),
  weight: z.number().min(WEIGHT_RANGE.min).max(WEIGHT_RANGE.max).optional(),
  non_retryable_exit_codes: z.array(z.int().min(1).max(255)).optional(),
  pool: shortName.optional(),
  timeout: duration.optional(),
  resources: resourcesSchema.optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  workdir: z.string().min(1).optional(),
  args: argStyleSchema.optional(),
  param_env: z.boolean().optional(),
  max_trials: z.int().min(1).optional(),
  update_signal: updateSignalSchema.optional(),
  worker_class: workerClassSchema.optional(),
  init: jsonValue.optional(),
  trials: z.array(z.record(z.string(), jsonValue)).min(1).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

/** The document's keys that passed their check; a key with a problem is absent. */
export type DocumentFields = Partial<z.infer<typeof documentSchema>>;

/** Keys that only a sweep document has; in a bare mapping they mean `parameters:` was forgotten. */
export const DOCUMENT_ONLY_KEYS = [
  'command',
  'method',
  'metric',
  'max_parallel',
  'resources',
  'param_env',
  'max_trials',
  'worker_class',
] as const;

const quantum = z.number().positive().optional();
export const distributionSchemas = {
  uniform: z.strictObject({ distribution: z.literal('uniform'), min: z.number(), max: z.number(), q: quantum }),
  loguniform: z.strictObject({
    distribution: z.literal('loguniform'),
    min: z.number().positive(),
    max: z.number().positive(),
    q: quantum,
  }),
  normal: z.strictObject({
    distribution: z.literal('normal'),
    mu: z.number(),
    sigma: z.number().positive(),
    q: quantum,
  }),
  int: z.strictObject({ distribution: z.literal('int'), min: z.int(), max: z.int() }),
  choice: z.strictObject({
    distribution: z.literal('choice'),
    values: z.array(z.unknown()).min(1),
    weights: z.array(z.number().min(0)).optional(),
  }),
  poisson: z.strictObject({ distribution: z.literal('poisson'), lambda: z.number().positive() }),
  chisquare: z.strictObject({ distribution: z.literal('chisquare'), df: z.number().positive() }),
} as const;
export type DistributionName = keyof typeof distributionSchemas;
export const DISTRIBUTIONS = Object.keys(distributionSchemas) as DistributionName[];

/** The explicit parameter forms besides `distribution`, each a mapping with one form key. */
export const formSchemas = {
  value: z.strictObject({ value: z.unknown() }),
  values: z.strictObject({ values: z.array(z.unknown()).min(1) }),
  range: z.strictObject({ range: z.array(z.number()).min(2).max(3), inclusive: z.boolean().optional() }),
  linspace: z.strictObject({ linspace: z.tuple([z.number(), z.number(), z.int().min(1)]) }),
  logspace: z.strictObject({ logspace: z.tuple([z.number().positive(), z.number().positive(), z.int().min(1)]) }),
} as const;
export type FormName = keyof typeof formSchemas | 'distribution';
export const FORMS = [...Object.keys(formSchemas), 'distribution'] as FormName[];
