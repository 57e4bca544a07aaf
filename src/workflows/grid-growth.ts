// Growing a running sweep's grid (`sweep edit --add / --add-param / --samples`). The trials it has keep their
// indices, parameters and names; each step appends a block of exactly the combinations the step makes new:
// new values on an axis times every value of the other axes, a new axis's later values times the whole grid
// (the trials so far count as its first value), or more random draws per grid point. Steps apply in order, so
// `--add lr=… --add bs=…` adds the new product's missing corner once. `sweep rerun` appends a block of one: a
// trial's parameters, fixed. Pure and deterministic: the sweep runs it in its Update's validator and handler.
import { axisSize, axisValues, firstBlock, trialCount, trialParameters } from '../sweep-spec/expand.js';
import { isParameterName } from '../sweep-spec/parameter-name.js';
import { formatValue } from '../sweep-spec/render.js';
import type { JsonValue, ParameterSpec, Scalar, SweepSpec } from '../sweep-spec/spec-types.js';

export type GridStep =
  /** `--add lr=0.3,0.5`: new values on an existing grid axis. */
  | { readonly kind: 'add-values'; readonly parameter: string; readonly values: readonly Scalar[] }
  /** `--add-param seed=1,2`: a new axis; the trials so far count as its first value, the rest are new. */
  | { readonly kind: 'add-parameter'; readonly parameter: string; readonly values: readonly Scalar[] }
  /** `--samples 8`: this many more random draws per grid point. */
  | { readonly kind: 'add-samples'; readonly samples: number }
  /** `sweep rerun`: one more trial with trial `index`'s very parameters (random draws included), from scratch. */
  | { readonly kind: 'rerun'; readonly index: number };

/** Each edit adds a block to the sweep's spec (and memo): a bound on what a sweep carries. */
export const MAX_BLOCKS = 100;
/** An axis that grows is listed value by value from then on. */
export const MAX_AXIS_VALUES = 10_000;

/** A value an axis can grow by: plain JSON, a finite number. */
export const isScalar = (value: unknown): value is Scalar =>
  value === null ||
  ['string', 'boolean'].includes(typeof value) ||
  (typeof value === 'number' && Number.isFinite(value));

// Array.isArray narrows to any[]; the steps are JSON from any client, so their elements stay unknown.
const isList = (value: unknown): value is readonly unknown[] => Array.isArray(value);
const valuesAxis = (values: readonly JsonValue[]) => ({ kind: 'values', values }) as const;
const key = (value: JsonValue) => JSON.stringify(value);

/** Why `values` cannot be added to an axis that holds `existing`; undefined when they can. */
function newValuesProblem(
  flag: string,
  values: readonly unknown[],
  existing: readonly JsonValue[],
): string | undefined {
  if (!isList(values) || values.length === 0) return `${flag}: expected at least one value`;
  const bad = values.find((value) => !isScalar(value));
  if (bad !== undefined) return `${flag}: expected numbers, strings, true, false or null, got ${JSON.stringify(bad)}`;
  const seen = new Set(existing.map(key));
  for (const value of values as Scalar[]) {
    if (seen.has(key(value))) return `${flag}: ${formatValue(value)} is already on the axis`;
    seen.add(key(value));
  }
  if (seen.size > MAX_AXIS_VALUES) return `${flag}: an axis that grows may hold at most ${MAX_AXIS_VALUES} values`;
  return undefined;
}

type Grown = { readonly spec: SweepSpec } | { readonly problem: string };

function grownBy(spec: SweepSpec, step: GridStep): Grown {
  const has = (name: string) => spec.parameters.find((parameter) => parameter.name === name);
  const names = spec.parameters.map((parameter) => parameter.name).join(', ') || 'none';
  let parameters: readonly ParameterSpec[];
  let block: readonly ParameterSpec[];
  let samples = spec.samples;
  let blockSamples = spec.samples;
  switch (step?.kind) {
    case 'add-values': {
      const flag = `--add ${step.parameter}`;
      const axis = has(step.parameter);
      if (!axis) return { problem: `${flag}: the sweep has no parameter ${step.parameter} (its parameters: ${names})` };
      if (axis.type !== 'grid') {
        return { problem: `${flag}: a random parameter has no values to add; --samples draws more of it` };
      }
      if (axisSize(axis.axis) > MAX_AXIS_VALUES) {
        return { problem: `${flag}: the axis has more than ${MAX_AXIS_VALUES} values already` };
      }
      const existing = axisValues(axis.axis);
      const problem = newValuesProblem(flag, step.values, existing);
      if (problem) return { problem };
      const swap = (axisOf: (parameter: ParameterSpec) => readonly JsonValue[]) =>
        spec.parameters.map((parameter) =>
          parameter.name === step.parameter ? { ...parameter, axis: valuesAxis(axisOf(parameter)) } : parameter,
        );
      parameters = swap(() => [...existing, ...step.values]);
      block = swap(() => step.values);
      break;
    }
    case 'add-parameter': {
      const flag = `--add-param ${step.parameter}`;
      if (typeof step.parameter !== 'string' || !isParameterName(step.parameter)) {
        return { problem: `${flag}: a parameter name is letters, digits, "_", "-" and ".", starting with a letter` };
      }
      if (has(step.parameter)) return { problem: `${flag}: the sweep has it already; --add adds values to it` };
      const problem = newValuesProblem(flag, step.values, []);
      if (problem) return { problem };
      if (step.values.length < 2) {
        return {
          problem: `${flag}: give the value the trials so far count as, then the new ones (${step.parameter}=1,2)`,
        };
      }
      const axis = (values: readonly JsonValue[]) =>
        ({ name: step.parameter, type: 'grid', axis: valuesAxis(values) }) as const;
      parameters = [...spec.parameters, axis(step.values)];
      block = [...spec.parameters, axis(step.values.slice(1))];
      break;
    }
    case 'add-samples': {
      if (!Number.isInteger(step.samples) || step.samples < 1) {
        return {
          problem: `--samples: expected a whole number of draws to add, at least 1, got ${JSON.stringify(step.samples)}`,
        };
      }
      if (!spec.parameters.some((parameter) => parameter.type === 'random')) {
        return { problem: '--samples: the sweep has no random parameter, so more draws would repeat its trials' };
      }
      parameters = spec.parameters;
      block = spec.parameters;
      samples = spec.samples + step.samples;
      blockSamples = step.samples;
      break;
    }
    case 'rerun': {
      if (!Number.isInteger(step.index) || step.index < 0 || step.index >= trialCount(spec)) {
        return { problem: `trial ${JSON.stringify(step.index)}: the sweep has no such trial` };
      }
      // Every parameter fixed at the trial's value: a block of one, whatever the grid looks like by now.
      const params = trialParameters(spec, step.index);
      parameters = spec.parameters;
      block = Object.entries(params).map(([name, value]) => ({ name, type: 'grid', axis: valuesAxis([value]) }));
      blockSamples = 1;
      break;
    }
    default:
      return {
        problem: `grid step: expected add-values, add-parameter, add-samples or rerun, got ${JSON.stringify(step)}`,
      };
  }
  const blocks = [
    ...(spec.blocks ?? [firstBlock(spec)]),
    { first: trialCount(spec), parameters: block, samples: blockSamples },
  ];
  return { spec: { ...spec, parameters, samples, blocks } };
}

/** The sweep's spec grown by `steps`, and the indices of the trials they add; or why it cannot grow. */
export function growGrid(
  spec: SweepSpec,
  steps: readonly GridStep[],
  subset: boolean,
):
  | { readonly spec: SweepSpec; readonly added: { readonly from: number; readonly to: number } }
  | { readonly problem: string } {
  if (spec.trials) return { problem: 'a sweep of listed trials (trials:) has no grid to grow' };
  if (spec.trialNames) return { problem: 'a sweep of named jobs (a batch file or a folder queue) has no grid to grow' };
  if (subset) return { problem: 'a sweep that retries some trials of another has no grid to grow' };
  if (!isList(steps) || steps.length === 0) return { problem: 'nothing to add: give --add, --add-param or --samples' };
  if ((spec.blocks?.length ?? 1) + steps.length > MAX_BLOCKS) {
    return { problem: `a sweep may grow at most ${MAX_BLOCKS - 1} times; start another for the rest` };
  }
  const from = trialCount(spec);
  let grown = spec;
  for (const step of steps) {
    const next = grownBy(grown, step);
    if ('problem' in next) return next;
    grown = next.spec;
  }
  const to = trialCount(grown);
  if (to > spec.maxTrials) {
    return { problem: `it would make ${to} trials, more than the sweep's max_trials (${spec.maxTrials})` };
  }
  return { spec: grown, added: { from, to } };
}
