// `sweep start FILE --extend`: what a spec file adds to a running sweep of the same name, as grow steps. The file
// may only add (values to an axis, axes, draws); anything it would take away or change is refused, with the
// key, since the trials that ran cannot be unrun. Pure.
import { axisValues } from '../sweep-spec/expand.js';
import { formatValue } from '../sweep-spec/render.js';
import type { Scalar, SweepSpec } from '../sweep-spec/spec-types.js';
import { isScalar, type GridStep } from '../workflows/grid-growth.js';

/**
 * What must be the same for the file's trials to be the running sweep's: everything but the parameters (and the
 * method, which follows from them). Retries, timeout and max parallel stay as the sweep has them (`sweep edit`).
 */
const SAME_KEYS = [
  'command',
  'workerClass',
  'args',
  'env',
  'workdir',
  'paramEnv',
  'resources',
  'metric',
  'seed',
  'pool',
  'trials',
] as const satisfies readonly (keyof SweepSpec)[];

const key = (value: unknown) => JSON.stringify(value);

/** The steps that make the running sweep's trials those of `file`, or the problems (each naming its key). */
export function extensionSteps(
  running: SweepSpec,
  file: SweepSpec,
): { readonly steps: GridStep[] } | { readonly problems: string[] } {
  const problems: string[] = [];
  for (const name of SAME_KEYS) {
    if (key(running[name]) !== key(file[name])) problems.push(`${name}: differs from the running sweep's`);
  }
  const steps: GridStep[] = [];
  const inFile = new Map(file.parameters.map((parameter) => [parameter.name, parameter]));
  for (const had of running.parameters) {
    const now = inFile.get(had.name);
    if (!now) {
      problems.push(`parameters.${had.name}: the running sweep has it; a sweep only grows`);
    } else if (had.type === 'random' || now.type === 'random') {
      if (key(had) !== key(now)) problems.push(`parameters.${had.name}: differs from the running sweep's`);
    } else {
      const before = axisValues(had.axis);
      const have = new Set(before.map(key));
      const wanted = axisValues(now.axis);
      const wantedKeys = new Set(wanted.map(key));
      const gone = before.filter((value) => !wantedKeys.has(key(value)));
      if (gone.length > 0) {
        problems.push(
          `parameters.${had.name}: ${gone.map(formatValue).join(', ')} ran in the sweep but is not in the file`,
        );
      }
      const fresh = wanted.filter((value) => !have.has(key(value)));
      if (fresh.some((value) => !isScalar(value))) {
        problems.push(`parameters.${had.name}: only plain values can be added to a running axis`);
      } else if (fresh.length > 0) {
        steps.push({ kind: 'add-values', parameter: had.name, values: fresh as Scalar[] });
      }
    }
  }
  const had = new Set(running.parameters.map((parameter) => parameter.name));
  for (const parameter of file.parameters) {
    if (had.has(parameter.name)) continue;
    const added = parameter.type === 'grid' ? axisValues(parameter.axis) : [];
    if (parameter.type === 'random' || added.length < 2 || !added.every(isScalar)) {
      problems.push(
        `parameters.${parameter.name}: a new parameter needs two or more plain values (the trials so far count ` +
          'as the first)',
      );
    } else {
      steps.push({ kind: 'add-parameter', parameter: parameter.name, values: added });
    }
  }
  if (file.samples < running.samples)
    problems.push(`samples: ${file.samples}, fewer than the sweep's ${running.samples}`);
  else if (file.samples > running.samples) steps.push({ kind: 'add-samples', samples: file.samples - running.samples });
  return problems.length > 0 ? { problems } : { steps };
}
