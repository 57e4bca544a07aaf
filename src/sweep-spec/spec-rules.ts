// The rules that span keys, checked once every key and parameter has passed its own check: the command and
// its placeholders, method vs distributions, environment names and their collisions, the trial cap. Pure.
import { BUILTIN_PLACEHOLDERS, placeholderNames } from './command-template.js';
import type { Problems } from './diagnostics.js';
import { gridSize } from './expand.js';
import { round12 } from './number-format.js';
import type { KeyPath } from './problems.js';
import { paramEnvName } from './render.js';
import { splitShellWords } from './shell-words.js';
import type { DocumentFields } from './spec-schema.js';
import type { ParameterSpec, SpecOverrides, SweepSpec } from './spec-types.js';

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
  parameters: readonly ParameterSpec[],
  parametersPath: KeyPath,
  problems: Problems,
): void {
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

/** A sweep may not have more trials than `max_trials`; counted only for a spec that is otherwise valid. */
export function checkTrialCap(
  parameters: readonly ParameterSpec[],
  samples: number,
  maxTrials: number,
  parametersPath: KeyPath,
  problems: Problems,
): void {
  const count = gridSize({ parameters }) * samples;
  if (count > maxTrials) {
    problems.add(
      parametersPath,
      `the sweep has ${count.toLocaleString('en-US')} trials, more than max_trials ` +
        `(${maxTrials.toLocaleString('en-US')}); raise max_trials or narrow the grid`,
    );
  }
}
