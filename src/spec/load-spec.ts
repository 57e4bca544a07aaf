import { z } from 'zod';
import { BUILTIN_PLACEHOLDERS, placeholderNames } from './command-template.js';
import { gridSize } from './expand.js';
import { loadYaml, PythonTuple, UnknownTag, type LoadedYaml } from './load-yaml.js';
import { round12 } from './number-format.js';
import { describeValue, type SpecProblem } from './problems.js';
import { parseDurationSeconds, parseSizeMb } from './quantities.js';
import { paramEnvName } from './render.js';
import { splitShellWords } from './shell-words.js';
import type { ArgStyle, Distribution, GridAxis, JsonValue, ParameterSpec, SweepSpec } from './spec-types.js';

/** What the command line may set or override. */
export interface SpecOverrides {
  readonly command?: readonly string[];
  readonly args?: ArgStyle;
  readonly seed?: number;
  readonly samples?: number;
  readonly maxTrials?: number;
  readonly pool?: string;
}

export type SpecResult =
  | { readonly ok: true; readonly spec: SweepSpec; readonly shape: 'parameters' | 'document' }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

export const DEFAULT_MAX_TRIALS = 1_000_000;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys that only a sweep document has; in a bare mapping they mean `parameters:` was forgotten. */
const DOCUMENT_ONLY_KEYS = ['command', 'method', 'metric', 'max_parallel', 'resources', 'param_env', 'max_trials'];

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

const size = z.union([z.string(), z.number()]).transform((value, context) => {
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

const documentSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected up to 63 letters, digits, ".", "_" or "-"')
    .optional(),
  command: z.union([z.string(), z.array(z.union([z.string(), z.number()]))]).optional(),
  method: z.enum(['grid', 'random']).optional(),
  samples: z.int().min(1).optional(),
  seed: z.int().min(0).optional(),
  metric: z
    .strictObject({ name: z.string().min(1), goal: z.enum(['minimize', 'maximize']).default('minimize') })
    .optional(),
  max_parallel: z.int().min(1).optional(),
  retries: z.int().min(0).max(100).optional(),
  non_retryable_exit_codes: z.array(z.int().min(1).max(255)).optional(),
  pool: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected up to 63 letters, digits, ".", "_" or "-"')
    .optional(),
  timeout: duration.optional(),
  resources: z
    .strictObject({
      gpus: z.number().min(0).optional(),
      gpu_memory: size.optional(),
      cpus: z.number().positive().optional(),
      memory: size.optional(),
    })
    .optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  workdir: z.string().min(1).optional(),
  args: z.enum(['equals', 'space', 'hydra', 'none']).optional(),
  param_env: z.boolean().optional(),
  max_trials: z.int().min(1).optional(),
  update_signal: z.enum(['SIGUSR1', 'SIGUSR2', 'SIGHUP']).optional(),
  parameters: z.record(z.string(), z.unknown()),
});

const quantum = z.number().positive().optional();
const distributionSchemas = {
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
type DistributionName = keyof typeof distributionSchemas;
const DISTRIBUTIONS = Object.keys(distributionSchemas) as DistributionName[];

const formSchemas = {
  value: z.strictObject({ value: z.unknown() }),
  values: z.strictObject({ values: z.array(z.unknown()).min(1) }),
  range: z.strictObject({ range: z.array(z.number()).min(2).max(3), inclusive: z.boolean().optional() }),
  linspace: z.strictObject({ linspace: z.tuple([z.number(), z.number(), z.int().min(1)]) }),
  logspace: z.strictObject({ logspace: z.tuple([z.number().positive(), z.number().positive(), z.int().min(1)]) }),
} as const;
const FORMS = [...Object.keys(formSchemas), 'distribution'];

const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  tuple: 'a list',
};

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

function suggestion(key: string, known: readonly string[]): string {
  const best = known
    .map((candidate) => ({ candidate, distance: editDistance(key, candidate) }))
    .sort((a, b) => a.distance - b.distance)[0];
  if (best && best.distance <= Math.max(1, Math.floor(best.candidate.length / 3)))
    return `; did you mean "${best.candidate}"?`;
  return `; expected one of: ${known.join(', ')}`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Collects problems and locates each one in the YAML source. */
class Problems {
  readonly list: SpecProblem[] = [];
  constructor(private readonly yaml: LoadedYaml | undefined) {}

  /** In file order, so the list reads top to bottom. */
  sorted(): SpecProblem[] {
    return [...this.list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  }

  add(path: readonly (string | number)[], message: string, options: { key?: boolean } = {}): void {
    // A problem of the whole file (no command, empty file) has no useful position.
    const position = path.length === 0 ? undefined : this.yaml?.locate(path, options);
    this.list.push({ path, message, ...position });
  }

  addZod(base: readonly (string | number)[], error: z.ZodError, schema: z.ZodType): void {
    for (const issue of error.issues) {
      const relative = issue.path as (string | number)[];
      const path = [...base, ...relative];
      if (issue.code === 'unrecognized_keys') {
        const known = objectKeysAt(schema, relative);
        for (const key of issue.keys) this.add([...path, key], `unknown key${suggestion(key, known)}`, { key: true });
        continue;
      }
      this.add(path, zodMessage(issue, path));
    }
  }
}

/** The keys a (possibly optional or defaulted) object schema allows at `path`, for "did you mean" hints. */
function objectKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  const unwrap = (node: z.core.$ZodType | undefined): z.core.$ZodType | undefined => {
    let current = node;
    while (current && 'innerType' in current._zod.def) current = current._zod.def.innerType as z.core.$ZodType;
    return current;
  };
  let node = unwrap(schema);
  for (const part of path) {
    const def = node?._zod.def;
    node = unwrap(def && 'shape' in def ? (def.shape as Record<string, z.core.$ZodType>)[String(part)] : undefined);
  }
  const def = node?._zod.def;
  return def && 'shape' in def ? Object.keys(def.shape as object) : [];
}

function zodMessage(issue: z.core.$ZodIssue, path: readonly (string | number)[]): string {
  const got = 'input' in issue ? `, got ${describeValue(issue.input)}` : '';
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'missing' : `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}${got}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} items${got}`;
      if (issue.origin === 'string') return `must not be empty`;
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}${got}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${String(issue.maximum)} items${got}`;
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}${got}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map((value) => String(value)).join(', ')}${got}`;
    case 'invalid_union':
      return path.at(-1) === 'command' ? `expected a string or a list of strings${got}` : `invalid value${got}`;
    case 'custom':
      return issue.message;
    default:
      return `${issue.message}${got}`;
  }
}

type DocumentFields = Partial<z.infer<typeof documentSchema>>;

/**
 * Checks each top-level key on its own, so that one bad key neither hides the others' problems nor the
 * valid values that later checks (placeholders, counts) need.
 */
function parseDocumentFields(root: Record<string, unknown>, problems: Problems): DocumentFields {
  const shape = documentSchema.shape;
  const known = Object.keys(shape);
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(root)) {
    if (!known.includes(key)) problems.add([key], `unknown key${suggestion(key, known)}`, { key: true });
  }
  for (const [key, schema] of Object.entries(shape)) {
    const parsed = (schema as z.ZodType).safeParse(root[key], { reportInput: true });
    if (parsed.success) fields[key] = parsed.data;
    else problems.addZod([key], parsed.error, schema as z.ZodType);
  }
  return fields;
}

/** A value must be plain JSON to reach a trial: no tuples nested inside lists or mappings. */
function checkJson(value: unknown, path: readonly (string | number)[], problems: Problems): value is JsonValue {
  if (value instanceof PythonTuple) {
    problems.add(path, "!!python/tuple is an interval and may only be a parameter's whole value");
    return false;
  }
  if (value instanceof UnknownTag) {
    problems.add(path, `unknown tag ${value.shortTag}: Sweep accepts YAML's standard tags and !!python/tuple`);
    return false;
  }
  if (Array.isArray(value)) return value.every((item, i) => checkJson(item, [...path, i], problems));
  if (isMapping(value)) return Object.entries(value).every(([key, item]) => checkJson(item, [...path, key], problems));
  if (typeof value === 'number' && !Number.isFinite(value)) {
    problems.add(path, `expected a finite number, got ${value}`);
    return false;
  }
  return ['string', 'number', 'boolean'].includes(typeof value) || value === null;
}

function intervalAxis(
  items: readonly unknown[],
  inclusive: boolean,
  path: readonly (string | number)[],
  problems: Problems,
): GridAxis | undefined {
  if (
    items.length < 2 ||
    items.length > 3 ||
    !items.every((item) => typeof item === 'number' && Number.isFinite(item))
  ) {
    problems.add(
      path,
      `expected [start, end] or [start, end, step] numbers, got [${items.map(describeValue).join(', ')}]`,
    );
    return undefined;
  }
  const [start, end, step = 1] = items as number[];
  if (start === undefined || end === undefined) return undefined;
  if (step <= 0) {
    problems.add(path, `interval step must be > 0, got ${step}`);
    return undefined;
  }
  if (inclusive ? start > end : start >= end) {
    problems.add(path, `reversed interval: start ${start} must be ${inclusive ? 'at most' : 'below'} end ${end}`);
    return undefined;
  }
  // Rounding the quotient first keeps 0.1-steps from gaining a phantom last value.
  const steps = round12((end - start) / step);
  const count = inclusive ? Math.floor(steps) + 1 : Math.ceil(steps);
  return { kind: 'range', start, step, count };
}

function parseDistribution(
  raw: Record<string, unknown>,
  path: readonly (string | number)[],
  problems: Problems,
): Distribution | undefined {
  const name = raw.distribution;
  if (typeof name !== 'string' || !(DISTRIBUTIONS as string[]).includes(name)) {
    problems.add(
      [...path, 'distribution'],
      `unknown distribution ${describeValue(name)}${suggestion(String(name), DISTRIBUTIONS)}`,
    );
    return undefined;
  }
  const schema = distributionSchemas[name as DistributionName];
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    problems.addZod(path, parsed.error, schema);
    return undefined;
  }
  const d = parsed.data;
  switch (d.distribution) {
    case 'uniform':
    case 'loguniform':
    case 'int':
      if (d.min >= d.max) {
        problems.add(path, `min must be below max, got min ${d.min} and max ${d.max}`);
        return undefined;
      }
      return d.distribution === 'int'
        ? { kind: 'int', min: d.min, max: d.max }
        : { kind: d.distribution, min: d.min, max: d.max, ...(d.q === undefined ? {} : { q: d.q }) };
    case 'normal':
      return { kind: 'normal', mu: d.mu, sigma: d.sigma, ...(d.q === undefined ? {} : { q: d.q }) };
    case 'choice': {
      if (!d.values.every((value, i) => checkJson(value, [...path, 'values', i], problems))) return undefined;
      if (d.weights && d.weights.length !== d.values.length) {
        problems.add(
          [...path, 'weights'],
          `expected ${d.values.length} weights, one per value, got ${d.weights.length}`,
        );
        return undefined;
      }
      if (d.weights && !d.weights.some((weight) => weight > 0)) {
        problems.add([...path, 'weights'], 'at least one weight must be > 0');
        return undefined;
      }
      return { kind: 'choice', values: d.values, ...(d.weights ? { weights: d.weights } : {}) };
    }
    case 'poisson':
      return { kind: 'poisson', lambda: d.lambda };
    case 'chisquare':
      return { kind: 'chisquare', df: d.df };
  }
}

function parseExplicitForm(
  name: string,
  raw: Record<string, unknown>,
  path: readonly (string | number)[],
  problems: Problems,
): ParameterSpec | undefined {
  // A distribution may have its own `values` (choice), so `distribution` decides first.
  const present = 'distribution' in raw ? ['distribution'] : FORMS.filter((form) => form in raw);
  if (present.length !== 1) {
    const message =
      present.length === 0
        ? `expected one of the keys ${FORMS.join(', ')} (or a value, a list or !!python/tuple)`
        : `use only one of ${present.join(', ')}`;
    problems.add(path, message);
    return undefined;
  }
  const form = present[0] as keyof typeof formSchemas | 'distribution';
  if (form === 'distribution') {
    const distribution = parseDistribution(raw, path, problems);
    return distribution && { name, type: 'random', distribution };
  }
  const schema = formSchemas[form];
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    problems.addZod(path, parsed.error, schema);
    return undefined;
  }
  const data = parsed.data as Record<string, unknown>;
  switch (form) {
    case 'value':
      return checkJson(data.value, [...path, 'value'], problems)
        ? { name, type: 'grid', axis: { kind: 'values', values: [data.value] } }
        : undefined;
    case 'values': {
      const values = data.values as unknown[];
      return values.every((value, i) => checkJson(value, [...path, 'values', i], problems))
        ? { name, type: 'grid', axis: { kind: 'values', values } }
        : undefined;
    }
    case 'range': {
      const axis = intervalAxis(data.range as number[], data.inclusive === true, [...path, 'range'], problems);
      return axis && { name, type: 'grid', axis };
    }
    case 'linspace':
    case 'logspace': {
      const [start, stop, count] = data[form] as [number, number, number];
      return { name, type: 'grid', axis: { kind: form, start, stop, count } };
    }
  }
}

function parseParameter(name: string, raw: unknown, path: readonly (string | number)[], problems: Problems) {
  if (!PARAMETER_NAME.test(name) || name === '__proto__') {
    problems.add(
      path,
      'parameter name cannot be an option name: use letters, digits, "_", "-" and ".", starting with a letter or "_"',
      { key: true },
    );
    return undefined;
  }
  if (raw instanceof PythonTuple) {
    const axis = intervalAxis(raw.items, false, path, problems);
    return axis && ({ name, type: 'grid', axis } satisfies ParameterSpec);
  }
  if (Array.isArray(raw)) {
    if (raw.length === 0) {
      problems.add(path, 'empty list: give at least one value');
      return undefined;
    }
    return raw.every((value, i) => checkJson(value, [...path, i], problems))
      ? ({ name, type: 'grid', axis: { kind: 'values', values: raw } } satisfies ParameterSpec)
      : undefined;
  }
  if (isMapping(raw)) return parseExplicitForm(name, raw, path, problems);
  return checkJson(raw, path, problems)
    ? ({ name, type: 'grid', axis: { kind: 'values', values: [raw] } } satisfies ParameterSpec)
    : undefined;
}

function parseCommand(
  raw: string | (string | number)[] | undefined,
  hasCommandKey: boolean,
  overrides: SpecOverrides,
  problems: Problems,
): string[] | undefined {
  if (overrides.command) {
    if (overrides.command.length === 0) problems.add([], 'empty command after "--"');
    return [...overrides.command];
  }
  if (raw === undefined) {
    // A command that is present but malformed has its own problem already.
    if (hasCommandKey) return undefined;
    problems.add(
      [],
      'no command: give it after "--" (sweep start parameters.yml -- python train.py) or as command: in a sweep document',
    );
    return undefined;
  }
  if (typeof raw === 'string') {
    const split = splitShellWords(raw);
    if ('error' in split) problems.add(['command'], split.error);
    else if (split.words.length === 0) problems.add(['command'], 'must not be empty');
    else return split.words;
    return undefined;
  }
  if (raw.length === 0) {
    problems.add(['command'], 'must not be empty');
    return undefined;
  }
  return raw.map((part) => (typeof part === 'number' ? String(round12(part)) : part));
}

/**
 * Parses a spec: a bare mapping of parameters (mlframework's parameters.yml) or a sweep document with a
 * `parameters:` section. Every problem is reported, each located; nothing is partially accepted.
 */
export function parseSpec(text: string, overrides: SpecOverrides = {}): SpecResult {
  const loaded = loadYaml(text);
  if (!loaded.ok) return { ok: false, problems: [loaded.problem] };
  const root = loaded.document.value;
  const problems = new Problems(loaded.document);
  if (!isMapping(root)) {
    problems.add(
      [],
      root === undefined || root === null
        ? 'empty file: expected a mapping of parameters or a sweep document with parameters:'
        : `expected a mapping of parameters or a sweep document with parameters:, got ${describeValue(root)}`,
    );
    return { ok: false, problems: problems.list };
  }

  const shape = isMapping(root.parameters) ? 'document' : 'parameters';
  if (shape === 'parameters') {
    const documentKey = DOCUMENT_ONLY_KEYS.find((key) => key in root);
    if (documentKey) {
      problems.add(
        [documentKey],
        `"${documentKey}" belongs to a sweep document, which needs a parameters: section for the parameters`,
        { key: true },
      );
      return { ok: false, problems: problems.list };
    }
  }
  const document = shape === 'document' ? parseDocumentFields(root, problems) : {};
  const parametersRoot = (shape === 'document' ? root.parameters : root) as Record<string, unknown>;
  const parametersPath = shape === 'document' ? ['parameters'] : [];

  const parameters: ParameterSpec[] = [];
  for (const [name, raw] of Object.entries(parametersRoot)) {
    const parameter = parseParameter(name, raw, [...parametersPath, name], problems);
    if (parameter) parameters.push(parameter);
  }

  const command = parseCommand(document.command, shape === 'document' && 'command' in root, overrides, problems);
  if (command) {
    const known = new Set<string>([...Object.keys(parametersRoot), ...BUILTIN_PLACEHOLDERS]);
    for (const [i, element] of command.entries()) {
      for (const placeholder of placeholderNames([element])) {
        if (known.has(placeholder)) continue;
        const where = overrides.command ? [] : typeof document.command === 'string' ? ['command'] : ['command', i];
        problems.add(
          where,
          `unknown placeholder {${placeholder}} in ${JSON.stringify(element)}: not a parameter or one of ` +
            `${BUILTIN_PLACEHOLDERS.join(', ')} (write {{ and }} for literal braces)`,
        );
      }
    }
  }

  const random = parameters.filter((parameter) => parameter.type === 'random');
  const method = document.method ?? (random.length > 0 ? 'random' : 'grid');
  if (method === 'grid') {
    for (const parameter of random) {
      problems.add(
        [...parametersPath, parameter.name, 'distribution'],
        `a distribution needs method: random (with samples: N); this sweep's method is grid`,
      );
    }
  }
  const samples = overrides.samples ?? document.samples ?? (method === 'grid' ? 1 : undefined);
  if (samples === undefined) {
    problems.add(shape === 'document' ? ['method'] : [], 'random search needs samples: N (draws per grid point)');
  }

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(document.env ?? {})) {
    if (!ENV_NAME.test(key)) problems.add(['env', key], 'not a valid environment variable name', { key: true });
    else env[key] = typeof value === 'string' ? value : String(value);
  }
  const paramEnv = document.param_env ?? false;
  if (paramEnv) {
    const seen = new Map<string, string>();
    for (const parameter of parameters) {
      const variable = paramEnvName(parameter.name);
      const other = seen.get(variable);
      if (other) {
        problems.add([...parametersPath, parameter.name], `both "${other}" and this parameter become ${variable}`, {
          key: true,
        });
      }
      seen.set(variable, parameter.name);
    }
  }

  const maxTrials = overrides.maxTrials ?? document.max_trials ?? DEFAULT_MAX_TRIALS;
  if (problems.list.length === 0 && samples !== undefined) {
    const count = gridSize({ parameters }) * samples;
    if (count > maxTrials) {
      problems.add(
        parametersPath,
        `the sweep has ${count.toLocaleString('en-US')} trials, more than max_trials ` +
          `(${maxTrials.toLocaleString('en-US')}); raise max_trials or narrow the grid`,
      );
    }
  }

  if (problems.list.length > 0 || !command || samples === undefined) {
    return { ok: false, problems: problems.sorted() };
  }
  const resources = document.resources;
  const spec: SweepSpec = {
    ...(document.name === undefined ? {} : { name: document.name }),
    command,
    method,
    samples,
    seed: overrides.seed ?? document.seed ?? 0,
    parameters,
    ...(document.metric ? { metric: document.metric } : {}),
    ...(document.max_parallel === undefined ? {} : { maxParallel: document.max_parallel }),
    retries: document.retries ?? 0,
    ...(document.non_retryable_exit_codes ? { nonRetryableExitCodes: document.non_retryable_exit_codes } : {}),
    pool: overrides.pool ?? document.pool ?? 'default',
    ...(document.timeout === undefined ? {} : { timeoutSeconds: document.timeout }),
    resources: {
      gpus: resources?.gpus ?? 1,
      ...(resources?.gpu_memory === undefined ? {} : { gpuMemoryMb: resources.gpu_memory }),
      ...(resources?.cpus === undefined ? {} : { cpus: resources.cpus }),
      ...(resources?.memory === undefined ? {} : { memoryMb: resources.memory }),
    },
    env,
    ...(document.workdir === undefined ? {} : { workdir: document.workdir }),
    args: overrides.args ?? document.args ?? 'equals',
    paramEnv,
    maxTrials,
    ...(document.update_signal ? { updateSignal: document.update_signal } : {}),
  };
  return { ok: true, spec, shape };
}
