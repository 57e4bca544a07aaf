// Parses a spec file: YAML, then the schema, the parameter grammar and the cross-key rules, then normalisation.
import { parseEachKey, Problems } from './diagnostics.js';
import { loadYaml } from './load-yaml.js';
import { normaliseSpec } from './normalise-spec.js';
import { parseParameter } from './parameter-grammar.js';
import { describeValue, type SpecProblem } from './problems.js';
import { resolveResources } from './resource-rules.js';
import { DOCUMENT_ONLY_KEYS, documentSchema, type DocumentFields } from './spec-schema.js';
import { gridSize } from './expand.js';
import {
  checkClassResources,
  checkParamEnvCollisions,
  checkPlaceholders,
  checkTrialCap,
  checkTrials,
  classSweepCommand,
  DEFAULT_MAX_TRIALS,
  resolveCommand,
  resolveEnv,
  resolveMethod,
  resolveSamples,
  resolveWorkerClass,
} from './spec-rules.js';
import type { ParameterSpec, SpecOverrides, SweepSpec } from './spec-types.js';
import { isMapping } from './yaml-values.js';

export type { SpecOverrides } from './spec-types.js';
export { DEFAULT_MAX_TRIALS } from './spec-rules.js';

export type SpecResult =
  | { readonly ok: true; readonly spec: SweepSpec; readonly shape: 'parameters' | 'document' }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

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

  // `trials:` that is no list is a document's key gone wrong when other document keys are there too.
  const listsTrials = Array.isArray(root.trials) || ('trials' in root && DOCUMENT_ONLY_KEYS.some((key) => key in root));
  const shape = isMapping(root.parameters) || listsTrials ? 'document' : 'parameters';
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
  const document: DocumentFields = shape === 'document' ? parseEachKey(documentSchema, root, problems) : {};
  const parametersRoot = (shape === 'document' ? (root.parameters ?? {}) : root) as Record<string, unknown>;
  if (shape === 'document' && 'parameters' in root && 'trials' in root) {
    problems.add(['trials'], 'give parameters: (a grid or a search space) or trials: (each trial listed), not both', {
      key: true,
    });
  }
  const parametersPath = shape === 'document' ? ['parameters'] : [];

  const parameters: ParameterSpec[] = [];
  for (const [name, raw] of Object.entries(parametersRoot)) {
    const parameter = parseParameter(name, raw, [...parametersPath, name], problems);
    if (parameter) parameters.push(parameter);
  }

  const workerClass = resolveWorkerClass(document, 'worker_class' in root, problems);
  // A worker_class that is present but malformed has its own problem; it still means "no command wanted".
  const command =
    'worker_class' in root
      ? classSweepCommand(document, 'command' in root, overrides, problems)
      : resolveCommand(document.command, shape === 'document' && 'command' in root, overrides, problems);
  if (command && !workerClass) {
    const source = { fromOverride: overrides.command !== undefined, documentCommand: document.command };
    const names = document.trials
      ? [...new Set(document.trials.flatMap((trial) => Object.keys(trial)))]
      : Object.keys(parametersRoot);
    checkPlaceholders(command, names, source, problems);
  }
  const trials = document.trials;
  if (trials && (document.method === 'random' || document.samples !== undefined || overrides.samples !== undefined)) {
    problems.add(['trials'], 'trials: lists every trial itself; it takes no method: random or samples:');
  }
  const method = resolveMethod(document.method, parameters, parametersPath, problems);
  const samples = trials
    ? 1
    : resolveSamples(method, overrides.samples ?? document.samples, shape === 'document', problems);
  const env = resolveEnv(document.env, problems);
  const paramEnv = document.param_env ?? false;
  if (document.trials) checkTrials(document.trials, command, paramEnv, problems);
  else if (paramEnv) {
    const names = parameters.map((parameter) => parameter.name);
    checkParamEnvCollisions(names, (name) => [...parametersPath, name], problems);
  }
  const maxTrials = overrides.maxTrials ?? document.max_trials ?? DEFAULT_MAX_TRIALS;
  const resourcesMalformed = shape === 'document' && 'resources' in root && document.resources === undefined;
  const resources = resolveResources(document.resources, overrides.resources, !resourcesMalformed, problems);
  if (workerClass) {
    const flagged = Object.keys(overrides.resources ?? {}).some((key) => key !== 'labels');
    checkClassResources(resources, flagged && !isMapping(root.resources), problems);
  }
  if (problems.list.length === 0 && samples !== undefined) {
    const count = trials ? trials.length : gridSize({ parameters }) * samples;
    checkTrialCap(count, maxTrials, trials ? ['trials'] : parametersPath, problems);
  }

  if (problems.list.length > 0 || !command || samples === undefined) {
    return { ok: false, problems: problems.sorted() };
  }
  const resolved = {
    command,
    method,
    samples,
    parameters,
    env,
    paramEnv,
    maxTrials,
    resources,
    ...(workerClass ? { workerClass } : {}),
    ...(trials ? { trials } : {}),
  };
  const spec = normaliseSpec(document, resolved, overrides);
  return { ok: true, spec, shape };
}
