// The rules that span keys, checked once every key and parameter has passed its own check: the command and
// its placeholders, method vs distributions, environment names and their collisions, the trial cap. Pure.
import { BUILTIN_PLACEHOLDERS, placeholderNames } from './command-template.js';
import type { Problems } from './diagnostics.js';
import { checkParameterName } from './parameter-grammar.js';
import { round12 } from './number-format.js';
import type { KeyPath } from './problems.js';
import { paramEnvName } from './render.js';
import { splitShellWords } from './shell-words.js';
import type { DocumentFields } from './spec-schema.js';
import type { ParameterSpec, Resources, SpecOverrides, SweepSpec, WorkerClassSpec } from './spec-types.js';

export const DEFAULT_MAX_TRIALS = 1_000_000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The argv template: the one after "--" wins over the document's `command:`. */
export function resolveCommand(
  raw: DocumentFields['command'],
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

/** Every `{name}` in the command must be a parameter (valid or not) or a built-in placeholder. */
export function checkPlaceholders(
  command: readonly string[],
  parameterNames: readonly string[],
  source: { readonly fromOverride: boolean; readonly documentCommand: DocumentFields['command'] },
  problems: Problems,
): void {
  const known = new Set<string>([...parameterNames, ...BUILTIN_PLACEHOLDERS]);
  for (const [i, element] of command.entries()) {
    for (const placeholder of placeholderNames([element])) {
      if (known.has(placeholder)) continue;
      const where = source.fromOverride
        ? []
        : typeof source.documentCommand === 'string'
          ? ['command']
          : ['command', i];
      problems.add(
        where,
        `unknown placeholder {${placeholder}} in ${JSON.stringify(element)}: not a parameter or one of ` +
          `${BUILTIN_PLACEHOLDERS.join(', ')} (write {{ and }} for literal braces)`,
      );
    }
  }
}

/** The method (random as soon as a parameter has a distribution, unless set); a grid cannot sample. */
export function resolveMethod(
  declared: SweepSpec['method'] | undefined,
  parameters: readonly ParameterSpec[],
  parametersPath: KeyPath,
  problems: Problems,
): SweepSpec['method'] {
  const random = parameters.filter((parameter) => parameter.type === 'random');
  const method = declared ?? (random.length > 0 ? 'random' : 'grid');
  if (method === 'grid') {
    for (const parameter of random) {
      problems.add(
        [...parametersPath, parameter.name, 'distribution'],
        `a distribution needs method: random (with samples: N); this sweep's method is grid`,
      );
    }
  }
  return method;
}

/** Draws per grid point: 1 for a grid; a random search must say how many. */
export function resolveSamples(
  method: SweepSpec['method'],
  declared: number | undefined,
  isDocument: boolean,
  problems: Problems,
): number | undefined {
  const samples = declared ?? (method === 'grid' ? 1 : undefined);
  if (samples === undefined) {
    problems.add(isDocument ? ['method'] : [], 'random search needs samples: N (draws per grid point)');
  }
  return samples;
}

/** The document's `env:` as strings; a key that is no variable name is a problem. */
export function resolveEnv(raw: DocumentFields['env'], problems: Problems): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (!ENV_NAME.test(key)) problems.add(['env', key], 'not a valid environment variable name', { key: true });
    else env[key] = typeof value === 'string' ? value : String(value);
  }
  return env;
}

/** With `param_env`, two parameters must not become the same SWEEP_PARAM_* variable. */
export function checkParamEnvCollisions(
  names: readonly string[],
  pathOf: (name: string) => KeyPath,
  problems: Problems,
): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const variable = paramEnvName(name);
    const other = seen.get(variable);
    if (other) {
      problems.add(pathOf(name), `both "${other}" and this parameter become ${variable}`, { key: true });
    }
    seen.set(variable, name);
  }
}

/**
 * A `trials:` list: each key is a parameter name, each placeholder of the command is in every trial (else it
 * would reach the command as `{x}`), and with `param_env` no two keys become one variable.
 */
export function checkTrials(
  trials: readonly Readonly<Record<string, unknown>>[],
  command: readonly string[] | undefined,
  paramEnv: boolean,
  problems: Problems,
): void {
  // A placeholder in no trial at all is the command's unknown placeholder, reported there.
  const used = [...placeholderNames(command ?? [])].filter((name) =>
    trials.some((trial) => Object.hasOwn(trial, name)),
  );
  trials.forEach((trial, i) => {
    for (const key of Object.keys(trial)) checkParameterName(key, ['trials', i, key], problems);
    const missing = used.filter((name) => !Object.hasOwn(trial, name));
    if (missing.length > 0) {
      problems.add(
        ['trials', i],
        `has no ${missing.join(', ')}, which the command uses as ${missing.map((name) => `{${name}}`).join(', ')}`,
      );
    }
  });
  if (!paramEnv) return;
  const firstWith = (name: string) => trials.findIndex((trial) => Object.hasOwn(trial, name));
  const names = [...new Set(trials.flatMap((trial) => Object.keys(trial)))];
  checkParamEnvCollisions(names, (name) => ['trials', firstWith(name), name], problems);
}

/** A sweep may not have more trials than `max_trials`; counted only for a spec that is otherwise valid. */
export function checkTrialCap(count: number, maxTrials: number, path: KeyPath, problems: Problems): void {
  if (count > maxTrials) {
    problems.add(
      path,
      `the sweep has ${count.toLocaleString('en-US')} trials, more than max_trials ` +
        `(${maxTrials.toLocaleString('en-US')}); raise max_trials or narrow the grid`,
    );
  }
}

/** `worker_class:` (and its `init:`); `init:` alone is a mistake. */
export function resolveWorkerClass(
  document: DocumentFields,
  hasClassKey: boolean,
  problems: Problems,
): WorkerClassSpec | undefined {
  if (document.init !== undefined && !hasClassKey) {
    problems.add(['init'], "the data for a worker class's __init__: it needs worker_class: module:Class beside it", {
      key: true,
    });
  }
  if (!document.worker_class) return undefined;
  return { ref: document.worker_class, ...(document.init === undefined ? {} : { init: document.init }) };
}

/** A worker-class trial is a call of `run(**params)` in the worker's class process: there is no command to give. */
export function classSweepCommand(
  document: DocumentFields,
  hasCommandKey: boolean,
  overrides: SpecOverrides,
  problems: Problems,
): string[] {
  const why = "a worker_class sweep calls run(**params) in each worker's class process; it has no command";
  if (hasCommandKey || document.command !== undefined) problems.add(['command'], why, { key: true });
  else if (overrides.command) problems.add([], `${why} (drop what follows "--")`);
  return [];
}

/** The resources as a spec file spells them. */
const RESOURCE_KEYS: Partial<Record<keyof Resources, string>> = {
  gpuMemoryMb: 'gpu_memory',
  gpuShare: 'gpu_share',
  gpuUtilization: 'gpu_utilization',
  memoryMb: 'memory',
  reserveHost: 'reserve',
};

/** One class process per GPU runs one trial at a time: of the resources, only worker labels mean anything. */
export function checkClassResources(resources: Resources, fromFlags: boolean, problems: Problems): void {
  const asked = Object.keys(resources)
    .filter((key) => key !== 'labels')
    .map((key) => RESOURCE_KEYS[key as keyof Resources] ?? key);
  if (asked.length > 0) {
    const why = `a worker_class trial runs in its worker's class process, one per GPU`;
    const flags = asked.map((key) => (key === 'reserve' ? '--reserve-host' : `--${key.replaceAll('_', '-')}`));
    if (fromFlags) problems.add([], `${why}; of the resource flags only --label applies: drop ${flags.join(', ')}`);
    else problems.add(['resources'], `${why}; only resources.labels apply, not ${asked.join(', ')}`);
  }
}
