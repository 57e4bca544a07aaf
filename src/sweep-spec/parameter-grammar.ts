// The parameter forms: a value, a list, a !!python/tuple interval, or a mapping with one of value, values,
// range, linspace, logspace or distribution. The second validation step; pure.
import { parseAt, suggestion, type Problems } from './diagnostics.js';
import { round12 } from './number-format.js';
import { isParameterName } from './parameter-name.js';
import { describeValue, type KeyPath } from './problems.js';
import {
  DISTRIBUTIONS,
  distributionSchemas,
  FORMS,
  formSchemas,
  type DistributionName,
  type FormName,
} from './spec-schema.js';
import type { Distribution, GridAxis, JsonValue, ParameterSpec } from './spec-types.js';
import { isMapping, PythonTuple, UnknownTag } from './yaml-values.js';

/** A value must be plain JSON to reach a trial: no tuples nested inside lists or mappings. */
function checkJson(value: unknown, path: KeyPath, problems: Problems): value is JsonValue {
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
  path: KeyPath,
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

function parseDistribution(raw: Record<string, unknown>, path: KeyPath, problems: Problems): Distribution | undefined {
  const name = raw.distribution;
  if (typeof name !== 'string' || !(DISTRIBUTIONS as string[]).includes(name)) {
    problems.add(
      [...path, 'distribution'],
      `unknown distribution ${describeValue(name)}${suggestion(String(name), DISTRIBUTIONS)}`,
    );
    return undefined;
  }
  const d = parseAt(distributionSchemas[name as DistributionName], raw, path, problems);
  if (!d) return undefined;
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
  path: KeyPath,
  problems: Problems,
): ParameterSpec | undefined {
  // A distribution may have its own `values` (choice), so `distribution` decides first.
  const present: FormName[] = 'distribution' in raw ? ['distribution'] : FORMS.filter((form) => form in raw);
  if (present.length !== 1) {
    const message =
      present.length === 0
        ? `expected one of the keys ${FORMS.join(', ')} (or a value, a list or !!python/tuple)`
        : `use only one of ${present.join(', ')}`;
    problems.add(path, message);
    return undefined;
  }
  switch (present[0]) {
    case 'distribution': {
      const distribution = parseDistribution(raw, path, problems);
      return distribution && { name, type: 'random', distribution };
    }
    case 'value': {
      const data = parseAt(formSchemas.value, raw, path, problems);
      return data && checkJson(data.value, [...path, 'value'], problems)
        ? { name, type: 'grid', axis: { kind: 'values', values: [data.value] } }
        : undefined;
    }
    case 'values': {
      const values = parseAt(formSchemas.values, raw, path, problems)?.values;
      return values?.every((value, i) => checkJson(value, [...path, 'values', i], problems))
        ? { name, type: 'grid', axis: { kind: 'values', values } }
        : undefined;
    }
    case 'range': {
      const data = parseAt(formSchemas.range, raw, path, problems);
      const axis = data && intervalAxis(data.range, data.inclusive === true, [...path, 'range'], problems);
      return axis && { name, type: 'grid', axis };
    }
    case 'linspace': {
      const data = parseAt(formSchemas.linspace, raw, path, problems);
      if (!data) return undefined;
      const [start, stop, count] = data.linspace;
      return { name, type: 'grid', axis: { kind: 'linspace', start, stop, count } };
    }
    case 'logspace': {
      const data = parseAt(formSchemas.logspace, raw, path, problems);
      if (!data) return undefined;
      const [start, stop, count] = data.logspace;
      return { name, type: 'grid', axis: { kind: 'logspace', start, stop, count } };
    }
  }
}

/** A parameter's name becomes an option (`--lr`) and a keyword argument: the same rule wherever it is written. */
export function checkParameterName(name: string, path: KeyPath, problems: Problems): boolean {
  if (isParameterName(name)) return true;
  problems.add(
    path,
    'parameter name cannot be an option name: use letters, digits, "_", "-" and ".", starting with a letter or "_"',
    { key: true },
  );
  return false;
}

/** One entry of the parameters mapping, in any form; undefined (with its problems reported) if it is invalid. */
export function parseParameter(
  name: string,
  raw: unknown,
  path: KeyPath,
  problems: Problems,
): ParameterSpec | undefined {
  if (!checkParameterName(name, path, problems)) return undefined;
  if (raw instanceof PythonTuple) {
    const axis = intervalAxis(raw.items, false, path, problems);
    return axis && { name, type: 'grid', axis };
  }
  if (Array.isArray(raw)) {
    if (raw.length === 0) {
      problems.add(path, 'empty list: give at least one value');
      return undefined;
    }
    return raw.every((value, i) => checkJson(value, [...path, i], problems))
      ? { name, type: 'grid', axis: { kind: 'values', values: raw } }
      : undefined;
  }
  if (isMapping(raw)) return parseExplicitForm(name, raw, path, problems);
  return checkJson(raw, path, problems) ? { name, type: 'grid', axis: { kind: 'values', values: [raw] } } : undefined;
}
