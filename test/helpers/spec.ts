import { parseSpec, type SpecOverrides } from '../../src/sweep-spec/load-spec.js';
import { formatProblem } from '../../src/sweep-spec/problems.js';
import type { SweepSpec } from '../../src/sweep-spec/spec-types.js';

export const TRAIN = ['python', 'train.py'];

/** Parses YAML that must be valid; a failure shows the problems. */
export function specOf(yaml: string, overrides: SpecOverrides = { command: TRAIN }): SweepSpec {
  const result = parseSpec(yaml, overrides);
  if (!result.ok) throw new Error(result.problems.map((problem) => formatProblem('spec.yml', problem)).join('\n'));
  return result.spec;
}

/** The formatted problems of YAML that must be invalid. */
export function problemsOf(yaml: string, overrides: SpecOverrides = { command: TRAIN }): string[] {
  const result = parseSpec(yaml, overrides);
  if (result.ok) throw new Error(`expected problems, got a valid spec: ${JSON.stringify(result.spec)}`);
  return result.problems.map((problem) => formatProblem('parameters.yml', problem));
}
